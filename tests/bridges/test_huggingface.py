"""tunelab.huggingface against the real transformers Trainer: a tiny BERT built from a
config (no weights downloaded) learns whether token 7 appears in generated token ids."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

import tunelab
from tunelab import ConfigurationError, TrialState
from tunelab.huggingface import TunelabCallback, tune_trainer

torch.set_num_threads(1)
transformers.logging.set_verbosity_error()


def _load_example():
    path = Path(__file__).resolve().parents[2] / "examples" / "huggingface_tiny.py"
    spec = importlib.util.spec_from_file_location("huggingface_tiny", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()  # its data: token ids; the label says whether token 7 appears
Tokens, VOCAB, LENGTH = example.Tokens, example.VOCAB, example.LENGTH
TRAIN, VAL = Tokens(256, seed=0), Tokens(32, seed=1)  # 16 steps an epoch


def tiny_bert() -> torch.nn.Module:
    torch.manual_seed(0)  # the same start for every trial: runs differ by their settings
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=LENGTH,
        num_labels=2,
    )
    return transformers.BertForSequenceClassification(config)


def make_trainer(
    folder: Path,
    learning_rate: float,
    epochs: int = 4,
    callbacks: list | None = None,
    **overrides,
) -> transformers.Trainer:
    settings = {
        "eval_strategy": "epoch",
        "logging_strategy": "no",
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 32,
        **overrides,
    }
    args = transformers.TrainingArguments(
        output_dir=str(folder), num_train_epochs=epochs, learning_rate=learning_rate, **settings
    )
    return transformers.Trainer(
        model=tiny_bert(),
        args=args,
        train_dataset=TRAIN,
        eval_dataset=VAL,
        compute_metrics=example.compute_metrics,
        callbacks=callbacks,
    )


@pytest.mark.slow
def test_tune_trainer_prunes_a_poor_trial_mid_run_and_keeps_its_reports(tmp_path) -> None:
    study = tunelab.create_study(
        storage=":memory:",
        metric="eval_loss",
        direction="minimize",
        scheduler=tunelab.ASHAScheduler(min_resource=2, max_resource=3, reduction_factor=2),
    )
    # at the rung (epoch 2) the second beats the first and the third, which barely moves
    for lr in (1e-2, 3e-2, 1e-5):
        study.enqueue({"learning_rate": lr})

    def build(trial: tunelab.Trial) -> transformers.Trainer:
        lr = trial.hp.Float("learning_rate", 1e-7, 1e-1, sampling="log")
        return make_trainer(tmp_path / f"trial-{trial.number}", lr, epochs=3)

    assert tune_trainer(build, study=study, n_trials=3, step="epoch") is study

    first, second, poor = study.trials
    assert first.state is second.state is TrialState.COMPLETE
    assert [r.step for r in first.reports] == [0, 1, 2]  # three epochs, one report each
    assert {"eval_loss", "eval_accuracy", "epoch"} <= set(first.reports[-1].metrics)
    assert first.values == (first.reports[-1].metrics["eval_loss"],)  # the last evaluation
    assert poor.state is TrialState.PRUNED
    assert [r.step for r in poor.reports] == [0, 1]  # stopped before its last epoch
    assert poor.reason.startswith("asha: rung 0")  # the scheduler says why


def test_the_callback_in_a_plain_objective_reports_each_evaluation(tmp_path) -> None:
    study = tunelab.create_study(storage=":memory:", metric="val_loss", direction="minimize")

    def objective(trial: tunelab.Trial) -> float:
        callback = TunelabCallback(trial, monitor="eval_loss")
        trainer = make_trainer(tmp_path, 1e-2, epochs=2, callbacks=[callback])
        trainer.train()
        callback.check_pruned()
        return trainer.evaluate()["eval_loss"]  # a second evaluation at the last step

    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE, trial.reason
    # steps count optimizer steps: evaluations after 16 and 32, reported at 15 and 31
    assert [r.step for r in trial.reports] == [15, 31]
    last = trial.reports[-1].metrics
    assert last["val_loss"] == last["eval_loss"]  # monitored, under the study's metric too
    assert trial.values == (pytest.approx(last["eval_loss"]),)


def test_a_pruned_trial_stops_its_trainer_and_ends_pruned(tmp_path) -> None:
    study = tunelab.create_study(
        storage=":memory:",
        metric="eval_loss",
        direction="minimize",
        scheduler=tunelab.MedianStoppingScheduler(warmup_steps=0, min_trials=1),
    )
    study.enqueue({"learning_rate": 3e-2})
    study.enqueue({"learning_rate": 1e-5})
    stops: list[int] = []

    def objective(trial: tunelab.Trial) -> dict[str, float]:
        lr = trial.hp.Float("learning_rate", 1e-7, 1e-1, sampling="log")
        callback = TunelabCallback(trial, step="epoch")
        trainer = make_trainer(tmp_path, lr, epochs=3, callbacks=[callback])
        trainer.train()
        stops.append(int(trainer.state.global_step))
        assert not trainer.is_in_train  # train() ran to its end: no exception cut it short
        callback.check_pruned()
        return callback.metrics

    study.optimize(objective, n_trials=2)
    good, poor = study.trials
    assert good.state is TrialState.COMPLETE and stops[0] == 48
    assert poor.state is TrialState.PRUNED
    assert stops[1] < 48  # the Trainer itself stopped early, cleanly
    assert [r.step for r in poor.reports] == list(range(stops[1] // 16))


def test_several_eval_datasets_make_one_report_a_step(tmp_path) -> None:
    study = tunelab.create_study(storage=":memory:", metric="eval_b_loss", direction="minimize")

    def build(trial: tunelab.Trial) -> transformers.Trainer:
        trainer = make_trainer(tmp_path, 1e-2, epochs=1)
        trainer.eval_dataset = {"a": VAL, "b": Tokens(16, seed=2)}  # each evaluated in turn
        return trainer

    tune_trainer(build, study=study, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE, trial.reason
    (report,) = trial.reports
    assert {"eval_a_loss", "eval_b_loss", "eval_a_accuracy"} <= set(report.metrics)
    assert trial.values == (report.metrics["eval_b_loss"],)


def test_a_monitor_other_than_a_logged_study_metric_is_refused(tmp_path) -> None:
    study = tunelab.create_study(storage=":memory:", metric="eval_accuracy")
    with pytest.raises(ConfigurationError, match="the study judges 'eval_accuracy', which"):
        tune_trainer(
            lambda trial: make_trainer(tmp_path, 1e-2, epochs=1), study=study, monitor="eval_loss"
        )


def test_a_trainer_that_never_evaluates_is_refused_in_one_line(tmp_path) -> None:
    study = tunelab.create_study(storage=":memory:", metric="eval_loss", direction="minimize")

    def build(trial: tunelab.Trial) -> transformers.Trainer:
        return make_trainer(tmp_path, 1e-2, epochs=1, eval_strategy="no")

    with pytest.raises(ConfigurationError, match=r"never evaluates \(eval_strategy='no'\)") as e:
        tune_trainer(build, study=study, n_trials=2)
    assert "\n" not in str(e.value) and "eval_strategy='epoch'" in str(e.value)
    (trial,) = study.trials  # the first trial records why; the search stopped
    assert trial.state is TrialState.FAIL and not trial.reports


def test_a_monitor_never_logged_names_the_logged_metrics(tmp_path) -> None:
    def build(trial: tunelab.Trial) -> transformers.Trainer:
        return make_trainer(tmp_path, 1e-2, epochs=2)

    with pytest.raises(ConfigurationError) as e:
        tune_trainer(build, n_trials=1, monitor="accuracy", direction="maximize")
    message = str(e.value)
    assert "\n" not in message
    assert "'eval_accuracy'" in message and "'eval_loss'" in message
    assert "monitor='eval_accuracy'" in message  # the prefix the Trainer adds


def test_step_epoch_needs_evaluations_by_epoch(tmp_path) -> None:
    def build(trial: tunelab.Trial) -> transformers.Trainer:
        return make_trainer(tmp_path, 1e-2, epochs=1, eval_strategy="steps", eval_steps=5)

    with pytest.raises(
        ConfigurationError, match="needs TrainingArguments\\(eval_strategy='epoch'\\)"
    ):
        tune_trainer(build, n_trials=1, step="epoch")


@pytest.mark.slow
def test_the_example_tunes_a_tiny_bert() -> None:
    study = example.main(n_trials=2, epochs=2)
    assert len(study.trials) == 2
    assert all(len(t.reports) in (1, 2) for t in study.trials)
    assert 0.0 <= study.best_value <= 1.0


def test_bad_arguments_fail_before_any_trial() -> None:
    study = tunelab.create_study(storage=":memory:", metric="eval_loss", direction="minimize")
    with pytest.raises(ConfigurationError, match="step must be one of"):
        tune_trainer(lambda trial: None, study=study, step="batch")
    with pytest.raises(ConfigurationError, match="direction= is for the study"):
        tune_trainer(lambda trial: None, study=study, direction="maximize")
    with pytest.raises(TypeError, match="make_trainer must be a function"):
        tune_trainer("trainer", study=study)  # type: ignore[arg-type]
    assert study.trials == []


def test_without_transformers_the_import_names_the_extra(tmp_path) -> None:
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'transformers':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    src = Path(tunelab.__file__).parents[1]
    result = subprocess.run(
        [sys.executable, "-c", "import tunelab.huggingface"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{src}"},
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: tunelab.huggingface needs transformers, which is not installed: "
        "pip install 'tunelab[transformers]'"
    )
