"""TunelabSampler inside real Optuna 5 studies: search quality, every distribution kind,
pruned, failed and enqueued trials, several objectives, threads, and bad input."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import tunelab  # noqa: E402
from tunelab.errors import ConfigurationError  # noqa: E402
from tunelab.optuna import TunelabSampler  # noqa: E402
from tunelab.types import TrialState  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(sampler: Any, **kwargs: Any) -> Any:
    return optuna.create_study(sampler=sampler, **kwargs)


def _mirror(sampler: TunelabSampler, study: Any) -> tunelab.Study:
    mirror = sampler.mirror_of(study)
    assert mirror is not None
    return mirror


def _as_optuna(record: Any, trial: tunelab.FrozenTrial) -> dict[str, Any]:
    """A mirror trial's parameters as Optuna values (categoricals are held as indices)."""
    return {k: record.distributions[k].to_external_repr(v) for k, v in trial.params.items()}


def quadratic(trial: Any) -> float:
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    return (x - 3) ** 2 + (y + 2) ** 2


@pytest.mark.slow
def test_it_beats_optuna_random_search_on_a_quadratic_over_seeds() -> None:
    """Median best value over 3 seeds at 20 trials: a tenth of random search's or less."""
    ours, theirs = [], []
    for seed in range(3):
        study = _study(TunelabSampler(seed=seed))
        study.optimize(quadratic, n_trials=20)
        ours.append(study.best_value)
        baseline = _study(optuna.samplers.RandomSampler(seed=seed))
        baseline.optimize(quadratic, n_trials=20)
        theirs.append(baseline.best_value)
    assert statistics.median(ours) < 0.1 * statistics.median(theirs), (ours, theirs)
    assert all(a < b for a, b in zip(ours, theirs, strict=True)), (ours, theirs)


def every_kind(trial: Any) -> float:
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    depth = trial.suggest_categorical("depth", [None, 2, "deep"])  # tunelab's Choice cannot
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    drop = trial.suggest_float("drop", 0.0, 0.5, step=0.1)
    units = trial.suggest_int("units", 16, 128, step=16)
    batch = trial.suggest_int("batch", 8, 256, log=True)
    trial.suggest_float("const", 2.0, 2.0)  # single-valued: Optuna never asks the sampler
    value = (math.log10(lr) + 3) ** 2 + (drop - 0.2) ** 2 + abs(units - 64) / 64
    value += abs(math.log2(batch) - 5) + (act == "tanh") + (depth != "deep")
    return value


def test_every_distribution_kind_is_sampled_inside_its_domain_and_mirrored_exactly() -> None:
    sampler = TunelabSampler("tpe", seed=0)
    study = _study(sampler)
    study.optimize(every_kind, n_trials=14)
    mirror = _mirror(sampler, study)
    trials = mirror.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 14
    for record, trial in zip(study.trials, trials, strict=True):
        assert _as_optuna(record, trial) == record.params
        assert trial.value == pytest.approx(record.value)
        assert round(record.params["drop"] * 10, 9) == round(record.params["drop"] * 10)
        assert record.params["units"] % 16 == 0
    seen = {t.params["depth"] for t in study.trials}
    assert seen == {None, 2, "deep"}  # mixed-type choices are searched, not refused


def test_auto_and_gp_take_over_from_their_start_points_and_find_the_basin() -> None:
    sampler = TunelabSampler("gp", seed=1)
    study = _study(sampler)
    study.optimize(quadratic, n_trials=14)
    assert study.best_value < 1.0
    assert len(_mirror(sampler, study).trials) == 14


def pruned_objective(trial: Any) -> float:
    x = trial.suggest_float("x", 0, 1)
    for step in range(3):
        trial.report(x + step, step)
    if trial.number == 3:
        raise ValueError("a crash in the objective")
    if x > 0.5:
        raise optuna.TrialPruned()
    return x


def test_pruned_and_failed_trials_reach_the_mirror_with_their_curves() -> None:
    sampler = TunelabSampler("tpe", seed=3)
    study = _study(sampler)
    study.optimize(pruned_objective, n_trials=10, catch=(ValueError,))
    trials = _mirror(sampler, study).trials
    for record, trial in zip(study.trials, trials, strict=True):
        assert trial.state.value == record.state.name
        if record.state is optuna.trial.TrialState.PRUNED:
            assert [r.step for r in trial.reports] == [0, 1, 2]
            assert trial.value == pytest.approx(record.params["x"] + 2)
    assert trials[3].state is TrialState.FAIL and trials[3].value is None
    assert {t.state for t in trials} >= {TrialState.COMPLETE, TrialState.PRUNED}


def test_enqueued_values_are_used_and_the_mirror_holds_them() -> None:
    sampler = TunelabSampler("auto", seed=0)
    study = _study(sampler)
    study.enqueue_trial({"x": 3.0, "y": -2.0})
    study.enqueue_trial({"x": 1.0})  # y comes from the sampler
    study.optimize(quadratic, n_trials=4)
    trials = _mirror(sampler, study).trials
    assert trials[0].params == {"x": 3.0, "y": -2.0} and trials[0].value == 0.0
    assert trials[1].params["x"] == 1.0 and trials[1].params["y"] == study.trials[1].params["y"]
    assert all(set(t.params) == {"x", "y"} for t in trials)


def test_a_study_with_trials_is_warm_started_and_other_workers_trials_are_mirrored() -> None:
    study = _study(optuna.samplers.RandomSampler(seed=0))
    study.optimize(quadratic, n_trials=5)
    sampler = TunelabSampler("tpe", seed=0)
    study.sampler = sampler
    study.optimize(quadratic, n_trials=1)
    assert len(_mirror(sampler, study).trials) == 6  # the first 5, then its own
    study.sampler = optuna.samplers.RandomSampler(seed=1)  # "another worker"
    study.optimize(quadratic, n_trials=2)
    study.sampler = sampler
    study.optimize(quadratic, n_trials=1)
    trials = _mirror(sampler, study).trials
    assert len(trials) == 9
    assert [t.value for t in trials] == pytest.approx([t.value for t in study.trials])


def two_objectives(trial: Any) -> tuple[float, float]:
    x = trial.suggest_float("x", 0, 1)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return x + (kind == "b"), (1 - x) ** 2 + (kind == "a") * 0.1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("name", ["auto", "tpe"])
def test_several_objectives_are_mirrored_with_their_directions(name: str) -> None:
    sampler = TunelabSampler(name, seed=0)
    study = _study(sampler, directions=["minimize", "maximize"])
    study.set_metric_names(["cost", "score"])
    study.optimize(two_objectives, n_trials=10)
    mirror = _mirror(sampler, study)
    assert mirror.metrics == ("cost", "score")
    assert [d.value for d in mirror.directions] == ["minimize", "maximize"]
    assert [t.values for t in mirror.trials] == [tuple(t.values) for t in study.trials]
    assert mirror.best_trials


def test_a_name_given_a_new_distribution_is_drawn_at_random_and_left_out() -> None:
    def objective(trial: Any) -> float:
        high = 1.0 if trial.number < 3 else 5.0
        return trial.suggest_float("x", 0.0, high) + trial.suggest_float("y", 0, 1)

    sampler = TunelabSampler("tpe", seed=0)
    study = _study(sampler)
    study.optimize(objective, n_trials=6)
    trials = _mirror(sampler, study).trials
    assert [set(t.params) for t in trials] == [{"x", "y"}] * 3 + [{"y"}] * 3
    assert all(0 <= t.params["x"] <= 5 for t in study.trials)


def test_optuna_threads_share_one_sampler() -> None:
    sampler = TunelabSampler("tpe", seed=0)
    study = _study(sampler)
    study.optimize(quadratic, n_trials=8, n_jobs=2)
    trials = _mirror(sampler, study).trials
    assert sorted(t.value for t in trials) == pytest.approx(sorted(t.value for t in study.trials))


@pytest.mark.parametrize(
    ("sampler", "message"),
    [
        ("grid", "cannot run tunelab's 'grid' sampler"),
        ("annealing", "unknown sampler 'annealing'"),
    ],
)
def test_a_sampler_it_cannot_run_is_one_clear_line(sampler: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        TunelabSampler(sampler)
    assert "\n" not in str(caught.value)


def test_a_tunelab_sampler_object_is_used_as_given() -> None:
    chosen = tunelab.RandomSampler(seed=5)
    sampler = TunelabSampler(chosen)
    study = _study(sampler)
    assert sampler.mirror_of(study) is None  # before its first trial
    study.optimize(quadratic, n_trials=2)
    assert _mirror(sampler, study).sampler is chosen
    assert "RandomSampler(seed=5)" in repr(sampler)
