"""tunelab.lightning against real Lightning on the CPU: reports per epoch, ASHA pruning that
stops the trainer mid-run, the bad-input errors, and the example."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

L = pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import tunelab  # noqa: E402
from tunelab import torch as tl_torch  # noqa: E402
from tunelab.lightning import TunelabCallback  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUIET = dict(
    accelerator="cpu",
    enable_progress_bar=False,
    logger=False,
    enable_checkpointing=False,
    enable_model_summary=False,
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def loaders() -> tuple[DataLoader, DataLoader]:
    data = tl_torch.load_digits()
    train = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=128, shuffle=True)
    return train, DataLoader(TensorDataset(data.x_val, data.y_val), batch_size=512)


class Digits(L.LightningModule):
    """A small digits classifier, written as Lightning's docs write one."""

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _study(**kwargs: Any) -> tunelab.Study:
    return tunelab.create_study(
        storage=":memory:", metric="val_acc", direction="maximize", sampler="random", **kwargs
    )


def test_asha_prunes_a_trial_mid_run_its_trainer_stops_cleanly_and_its_curve_is_kept(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    trainers: dict[int, Any] = {}

    def objective(trial: tunelab.Trial) -> float:
        callback = TunelabCallback(trial, monitor="val_acc")
        trainer = L.Trainer(max_epochs=4, callbacks=[callback], **QUIET)
        trainers[trial.number] = trainer
        trainer.fit(Digits(trial.hp.Choice("lr", [0.5, 1e-5])), *loaders)
        return callback.result()

    study = _study(scheduler=tunelab.ASHAScheduler(min_resource=1, reduction_factor=2))
    study.enqueue({"lr": 0.5})  # learns: goes on
    study.enqueue({"lr": 1e-5})  # barely moves: ranks last at the first rung
    study.optimize(objective, n_trials=2)
    good, bad = study.trials

    assert good.state is tunelab.TrialState.COMPLETE
    assert [r.step for r in good.reports] == [0, 1, 2, 3]  # step = epoch
    assert good.value == good.intermediate("val_acc")[3] > 0.5
    assert trainers[0].current_epoch == 4

    assert bad.state is tunelab.TrialState.PRUNED
    assert bad.end_cause is tunelab.EndCause.PRUNED
    assert trainers[1].current_epoch == 1 < 4  # the trainer stopped after one epoch
    assert trainers[1].state.status == "finished"  # by should_stop, not an exception
    assert list(bad.intermediate("val_acc")) == [0]
    # every scalar Lightning logged is kept, training metrics of the same epoch included
    assert set(bad.reports[0].metrics) == {"val_acc", "val_loss", "train_loss"}
    assert bad.reports[0].metrics["train_loss"] > good.reports[0].metrics["train_loss"]


def test_steps_are_the_validated_epochs_and_report_all_false_keeps_the_monitor(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    study = _study()
    trial = study.ask()
    callback = TunelabCallback(trial, monitor=["val_acc", "val_loss"], report_all=False)
    trainer = L.Trainer(max_epochs=4, check_val_every_n_epoch=2, callbacks=[callback], **QUIET)
    trainer.fit(Digits(0.5), *loaders)
    frozen = study.tell(trial, callback.result())
    assert [r.step for r in frozen.reports] == [1, 3]
    assert all(set(r.metrics) == {"val_acc", "val_loss"} for r in frozen.reports)
    assert frozen.value == callback.last["val_acc"] == frozen.intermediate("val_acc")[3]


def test_a_monitor_lightning_never_logs_fails_the_trial_and_stops_the_search(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    def objective(trial: tunelab.Trial) -> float:
        callback = TunelabCallback(trial, monitor="val_accuracy")
        L.Trainer(max_epochs=3, callbacks=[callback], **QUIET).fit(Digits(0.5), *loaders)
        return callback.result()

    study = _study()
    with pytest.raises(tunelab.ConfigurationError) as caught:
        study.optimize(objective, n_trials=3)
    message = str(caught.value)
    assert "\n" not in message
    assert "'val_accuracy'" in message and "['val_acc', 'val_loss']" in message
    (failed,) = study.trials  # the search stopped at the first trial
    assert failed.state is tunelab.TrialState.FAIL and "val_accuracy" in (failed.reason or "")
    assert failed.reports == ()


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no")
def test_a_fit_without_validation_has_nothing_to_report(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    callback = TunelabCallback(_study().ask(), monitor="val_acc")
    trainer = L.Trainer(max_epochs=1, callbacks=[callback], **QUIET)
    with pytest.raises(tunelab.ConfigurationError, match="saw no validation epoch"):
        trainer.fit(Digits(0.5), loaders[0])


def test_validating_twice_an_epoch_is_refused_since_a_step_is_an_epoch(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    callback = TunelabCallback(_study().ask(), monitor="val_acc")
    trainer = L.Trainer(max_epochs=2, val_check_interval=0.5, callbacks=[callback], **QUIET)
    with pytest.raises(tunelab.ConfigurationError, match="validation ran twice in epoch 0"):
        trainer.fit(Digits(0.5), *loaders)
    assert callback.epochs == []


def test_bad_arguments_are_refused_in_one_line() -> None:
    trial = _study().ask()
    with pytest.raises(tunelab.ConfigurationTypeError, match="monitor must be"):
        TunelabCallback(trial, monitor=[])
    with pytest.raises(tunelab.ConfigurationTypeError, match="takes the tunelab Trial"):
        TunelabCallback("trial", monitor="val_acc")  # type: ignore[arg-type]


def test_a_spawned_rank_0_reports_through_the_relay_to_the_objectives_process(
    loaders: tuple[DataLoader, DataLoader],
) -> None:
    study = _study(scheduler=tunelab.ASHAScheduler(min_resource=1, reduction_factor=2))
    first = study.ask()
    first.report(0, val_acc=0.99)  # a first trial the next one ranks below at the first rung
    study.tell(first, 0.99)
    trial = study.ask()
    callback = TunelabCallback(trial, monitor="val_acc")
    copy = pickle.loads(pickle.dumps(callback))  # what strategy='ddp_spawn' sends each rank
    assert copy.trial is None and copy._channel is not None
    trainer = L.Trainer(max_epochs=4, callbacks=[copy], **QUIET)
    trainer.fit(Digits(1e-5), *loaders)
    assert trainer.current_epoch == 1 and copy.pruned_epoch == 0
    assert callback.epochs == [0] and callback.pruned_epoch == 0  # learned through the relay
    assert callback.last == copy.last
    with pytest.raises(tunelab.TrialPruned):
        callback.result()
    frozen = study.tell(trial, state=tunelab.TrialState.PRUNED)
    assert list(frozen.intermediate("val_acc")) == [0]


def test_without_lightning_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "lightning" or name.startswith(("lightning.", "tunelab.lightning")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lightning", None)  # what a missing package looks like
    with pytest.raises(ImportError) as caught:
        import tunelab.lightning  # noqa: F401
    assert str(caught.value) == (
        "tunelab.lightning needs lightning, which is not installed: "
        "pip install 'tunelab[lightning]'"
    )


def test_the_example_tunes_with_asha(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import lightning_mlp

    study = lightning_mlp.main(n_trials=3, max_epochs=2, storage=":memory:")
    assert len(study.trials) == 3
    assert study.best_trial.value > 0.1
    assert all(
        [r.step for r in t.reports] == list(range(len(t.reports))) and t.reports
        for t in study.trials
    )


def test_forked_ranks_are_refused_in_one_line(loaders: tuple[DataLoader, DataLoader]) -> None:
    callback = TunelabCallback(_study().ask(), monitor="val_acc")
    trainer = L.Trainer(max_epochs=1, strategy="ddp_fork", devices=2, callbacks=[callback], **QUIET)
    with pytest.raises(Exception, match="strategy='ddp_spawn'"):
        trainer.fit(Digits(0.5), *loaders)
    assert callback.epochs == []
