"""Study behaviour: results, failures, budgets, enqueue, space registry, ask/tell."""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace

import pytest

import tunelab
from tunelab import SearchSpaceError, StudyConflictError, StudyNotFoundError, TrialState
from tunelab.errors import TunelabError
from tunelab.trial import FrozenTrial, Report
from tunelab.trial.frozen import evolve
from tunelab.types import EndCause


def quadratic(trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", -3.0, 3.0)
    return (x - 1.0) ** 2


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "study.db")


def test_optimize_stores_trials_and_best(db):
    study = tunelab.create_study("q", storage=db, metric="loss", direction="minimize", seed=3)
    study.optimize(quadratic, n_trials=15)
    trials = study.trials
    assert [t.number for t in trials] == list(range(15))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert study.best_value == min(t.value for t in trials)
    assert study.best_params == dict(study.best_trial.params)
    assert abs(study.best_params["x"] - 1.0) < 1.0


def test_n_trials_is_a_study_total_and_add_means_more(db):
    study = tunelab.create_study("q", storage=db, metric="loss", direction="minimize")
    study.optimize(quadratic, n_trials=5)
    study.optimize(quadratic, n_trials=5)
    assert len(study.trials) == 5
    reopened = tunelab.load_study("q", storage=db)
    reopened.optimize(quadratic, n_trials=3, add=True)
    assert len(reopened.trials) == 8


def test_objective_may_return_a_dict_of_metrics(db):
    study = tunelab.create_study("d", storage=db, metric="val_accuracy")
    study.optimize(lambda t: {"val_accuracy": t.hp.Float("a", 0, 1), "val_loss": 0.5}, n_trials=3)
    for t in study.trials:
        assert t.value == t.metrics["val_accuracy"]
        assert t.metrics["val_loss"] == 0.5


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        ({"val_loss": 0.1}, "without the study's metric 'val_accuracy'"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ("high", "not a number"),
        (None, "returned None"),
    ],
)
def test_bad_results_fail_the_trial_with_a_reason_and_the_study_goes_on(db, result, needle):
    calls = []

    def objective(trial):
        calls.append(trial.number)
        trial.hp.Int("n", 1, 4)
        return result if trial.number == 0 else 0.5

    study = tunelab.create_study("bad", storage=db)
    study.optimize(objective, n_trials=3)
    first, *rest = study.trials
    assert first.state is TrialState.FAIL
    assert needle in first.reason
    assert [t.state for t in rest] == [TrialState.COMPLETE] * 2
    assert calls == [0, 1, 2]


def test_an_objective_that_raises_is_recorded_with_where_it_raised(db):
    def objective(trial):
        if trial.hp.Boolean("explode") or trial.number == 0:
            raise RuntimeError("boom")
        return 1.0

    study = tunelab.create_study("raise", storage=db, seed=0)
    study.optimize(objective, n_trials=6, max_consecutive_failures=None)
    failed = study.get_trials([TrialState.FAIL])
    assert failed and all("RuntimeError: boom (at " in t.reason for t in failed)
    assert all("test_study.py" in t.reason for t in failed)
    assert len(study.trials) == 6


def test_many_failures_in_a_row_stop_the_search_with_the_last_reason(db):
    def objective(trial):
        raise FileNotFoundError("data.csv")

    study = tunelab.create_study("broken", storage=db)
    with pytest.raises(TunelabError, match=r"3 trials in a row failed.*data.csv"):
        study.optimize(objective, n_trials=20, max_consecutive_failures=3)
    assert len(study.trials) == 3
    assert {t.end_cause for t in study.trials} == {EndCause.RAISED}


@pytest.mark.parametrize("result", [float("nan"), None, "0.5", {"loss": 1.0}])
def test_every_kind_of_failure_counts_toward_the_stop_and_says_why(db, result, caplog):
    study = tunelab.create_study("bad-results", storage=db)
    with pytest.raises(TunelabError, match=r"3 trials in a row failed"):
        study.optimize(lambda t: result, n_trials=20, max_consecutive_failures=3)
    assert len(study.trials) == 3
    lines = [r.getMessage() for r in caplog.records if "failed:" in r.getMessage()]
    assert [line.split(" failed:")[0] for line in lines] == ["trial 0", "trial 1", "trial 2"]
    expected = EndCause.DIVERGED if result != result else EndCause.INVALID_RESULT
    assert {t.end_cause for t in study.trials} == {expected}


def test_catch_empty_reraises_after_recording(db):
    study = tunelab.create_study("strict", storage=db)
    with pytest.raises(ZeroDivisionError):
        study.optimize(lambda t: 1 / 0, n_trials=3, catch=())
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and "ZeroDivisionError" in trial.reason


def test_pruned_trials_keep_their_reports_and_last_value(db):
    def objective(trial):
        for step in range(3):
            trial.report(step, val_accuracy=0.1 * step)
        raise tunelab.TrialPruned("not promising")

    study = tunelab.create_study("prune", storage=db)
    study.optimize(objective, n_trials=2)
    for t in study.trials:
        assert t.state is TrialState.PRUNED
        assert t.reason == "not promising"
        assert t.intermediate("val_accuracy") == {0: 0.0, 1: 0.1, 2: 0.2}
        assert t.value == pytest.approx(0.2)


def test_reports_must_increase_and_nan_metrics_are_kept(db):
    def objective(trial):
        trial.report(0, loss=float("nan"))
        with pytest.raises(tunelab.TrialError, match="must increase"):
            trial.report(0, loss=1.0)
        return 1.0

    study = tunelab.create_study("rep", storage=db)
    study.optimize(objective, n_trials=1)
    assert math.isnan(study.trials[0].reports[0].metrics["loss"])


def test_enqueued_configurations_run_first_and_fill_in_missing_params(db):
    study = tunelab.create_study("enq", storage=db, seed=1)
    study.enqueue({"x": 2.5})
    study.enqueue({"x": -1.0, "y": "b"})

    def objective(trial):
        x = trial.hp.Float("x", -3.0, 3.0)
        y = trial.hp.Choice("y", ["a", "b", "c"])
        return x + len(y)

    study.optimize(objective, n_trials=4)
    trials = study.trials
    assert trials[0].params["x"] == 2.5 and trials[0].params["y"] in "abc"
    assert trials[1].params == {"x": -1.0, "y": "b"}
    assert len(trials) == 4


def test_an_enqueued_value_outside_the_domain_is_refused(db):
    study = tunelab.create_study("enq-bad", storage=db)
    study.optimize(quadratic, n_trials=1)
    with pytest.raises(SearchSpaceError, match=r"10\.0 is not a valid value"):
        study.enqueue({"x": 10.0})


def test_redefining_a_name_with_another_domain_stops_the_search(db):
    study = tunelab.create_study("redef", storage=db)
    study.optimize(lambda t: t.hp.Int("units", 32, 512, step=32) * 1.0, n_trials=2)
    reopened = tunelab.load_study("redef", storage=db)
    with pytest.raises(SearchSpaceError, match="'units' was defined as Int"):
        reopened.optimize(lambda t: t.hp.Int("units", 16, 128) * 1.0, n_trials=4)
    assert [t.state for t in reopened.trials][:2] == [TrialState.COMPLETE] * 2
    assert "redefined" in reopened.trials[2].reason


def test_an_existing_study_with_another_metric_is_refused_and_kept(db):
    study = tunelab.create_study("same", storage=db, metric="loss", direction="minimize")
    study.optimize(quadratic, n_trials=2)
    with pytest.raises(StudyConflictError, match=r"metric='loss'.*direction='minimize'"):
        tunelab.create_study("same", storage=db, metric="loss", direction="maximize")
    with pytest.raises(StudyConflictError, match="already exists"):
        tunelab.create_study(
            "same", storage=db, metric="loss", direction="minimize", load_if_exists=False
        )
    assert len(tunelab.load_study("same", storage=db).trials) == 2


def test_unknown_sampler_names_the_choices_and_creates_nothing(db):
    with pytest.raises(
        ValueError,
        match="unknown sampler 'bayes'; choose one of auto, gp, grid, random, sobol, tpe",
    ):
        tunelab.create_study("s", storage=db, sampler="bayes")
    assert not os.path.exists(db)


def test_load_list_delete(db):
    tunelab.create_study("a", storage=db).optimize(quadratic, n_trials=2)
    tunelab.create_study("b", storage=db, sampler="sobol", seed=5)
    summaries = {s.record.name: s for s in tunelab.list_studies(db)}
    assert summaries["a"].counts[TrialState.COMPLETE] == 2
    assert tunelab.load_study("b", storage=db).sampler.name == "sobol"
    assert tunelab.load_study("b", storage=db).sampler.seed == 5
    tunelab.delete_study("a", storage=db)
    with pytest.raises(StudyNotFoundError, match=r"no study named 'a'.*studies here: b"):
        tunelab.load_study("a", storage=db)


def test_ask_and_tell_for_external_loops():
    study = tunelab.create_study("ext", storage=":memory:", metric="loss", direction="minimize")
    for _ in range(4):
        trial = study.ask()
        x = trial.hp.Float("x", 0.0, 1.0)
        study.tell(trial, x)
    assert len(study.get_trials([TrialState.COMPLETE])) == 4
    trial = study.ask()
    frozen = study.tell(trial, state=TrialState.FAIL, reason="out of memory")
    assert frozen.state is TrialState.FAIL and frozen.reason == "out of memory"


def test_frozen_trials_do_not_change_under_later_writes():
    study = tunelab.create_study("frozen", storage=":memory:")
    trial = study.ask()
    trial.hp.Int("n", 1, 3)
    before = study.trials[0]
    trial.report(0, val_accuracy=0.5)
    study.tell(trial, 0.5)
    assert before.state is TrialState.RUNNING and before.reports == ()
    with pytest.raises(TypeError):
        before.params["n"] = 2  # type: ignore[index]


def test_evolve_equals_replace_and_freezes_what_it_changes():
    """The storages' cheap `replace`: same record as dataclasses.replace, mappings frozen
    (a caller's dict changed afterwards changes nothing), unknown fields refused."""
    base = FrozenTrial(1, 0, TrialState.RUNNING, {"x": 1.0}, system_attrs={"a": 1})
    params = {"x": 2.0, "y": "relu"}
    reports = [Report(0, {"loss": 1.0}, 0.0)]
    new = evolve(base, params=params, reports=reports, heartbeat=5.0)
    assert new == replace(base, params=params, reports=tuple(reports), heartbeat=5.0)
    params["x"] = 3.0
    assert new.params["x"] == 2.0 and new.reports == tuple(reports)
    assert base.params == {"x": 1.0} and new.system_attrs is base.system_attrs
    with pytest.raises(TypeError):
        new.params["x"] = 4.0  # type: ignore[index]
    with pytest.raises(TypeError, match="no field 'colour'"):
        evolve(base, colour="red")


def test_keyboard_interrupt_marks_the_trial_and_resume_tops_up(db):
    def objective(trial):
        trial.hp.Float("x", 0, 1)
        if trial.number == 2:
            raise KeyboardInterrupt
        return 1.0

    study = tunelab.create_study("ctrl-c", storage=db)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=5)
    interrupted = study.trials[2]
    assert interrupted.state is TrialState.FAIL
    assert interrupted.end_cause is EndCause.INTERRUPTED
    study.optimize(lambda t: 1.0, n_trials=5)
    counts = study.storage.count_trials(study.study_id)
    assert counts[TrialState.COMPLETE] == 5 and counts.budget_used == 5


def test_timeout_stops_starting_trials(db):
    import time

    study = tunelab.create_study("slow", storage=db)
    start = time.time()
    study.optimize(lambda t: time.sleep(0.05) or 1.0, timeout=0.3)
    assert 2 <= len(study.trials) <= 8
    assert time.time() - start < 2


def test_to_pandas(db):
    study = tunelab.create_study("pd", storage=db)
    study.optimize(
        lambda t: {"val_accuracy": t.hp.Float("lr", 1e-4, 1e-1, sampling="log")}, n_trials=3
    )
    frame = study.to_pandas()
    assert list(frame["number"]) == [0, 1, 2]
    assert {"params_lr", "metrics_val_accuracy", "value", "duration"} <= set(frame.columns)


def test_parallel_workers_need_a_shared_storage():
    study = tunelab.create_study("mem", storage=":memory:")
    with pytest.raises(ValueError, match="cannot share in-memory storage"):
        study.optimize(quadratic, n_trials=4, n_jobs=2)


def test_invalid_arguments_are_named():
    study = tunelab.create_study("args", storage=":memory:")
    with pytest.raises(ValueError, match="n_trials must be"):
        study.optimize(quadratic, n_trials=-1)
    with pytest.raises(ValueError, match="n_jobs must be"):
        study.optimize(quadratic, n_trials=1, n_jobs=0)
    with pytest.raises(ValueError, match="direction must be"):
        tunelab.create_study("x", storage=":memory:", direction="up")


def test_a_custom_sampler_works_in_worker_processes(db):
    from tunelab.samplers import RandomSampler

    class Lowest(RandomSampler):
        name = "lowest"

        def sample(self, request):
            return request.param.from_unit(0.0)

    study = tunelab.create_study("custom", storage=db, sampler=Lowest(seed=1))
    study.optimize(lambda t: t.hp.Float("x", 2.0, 3.0), n_trials=4, n_jobs=2)
    assert [t.params["x"] for t in study.trials] == [2.0] * 4


def test_callbacks_see_each_finished_trial(db):
    seen = []
    study = tunelab.create_study("cb", storage=db)
    study.optimize(
        quadratic, n_trials=3, callbacks=[lambda s, t: seen.append((s.name, t.number, t.state))]
    )
    assert seen == [("cb", n, TrialState.COMPLETE) for n in range(3)]


def test_optimize_runs_every_trial_through_the_public_ask_and_tell_once(db):
    """optimize() is a loop over the public API: the same code an ask/tell loop runs."""
    study = tunelab.create_study("public", storage=db, sampler="random")
    calls: list[tuple[str, int]] = []
    ask, tell = study.ask, study.tell

    def counted_ask(*args, **kwargs):
        trial = ask(*args, **kwargs)
        calls.append(("ask", trial.number))
        return trial

    def counted_tell(trial, *args, **kwargs):
        calls.append(("tell", trial.number))
        return tell(trial, *args, **kwargs)

    study.ask, study.tell = counted_ask, counted_tell  # type: ignore[method-assign]

    def objective(trial):
        x = trial.hp.Float("x", 0, 1)
        if trial.number == 1:
            raise ValueError("boom")
        if trial.number == 2:
            raise tunelab.TrialPruned()
        return x

    study.optimize(objective, n_trials=4)
    assert calls == [(kind, n) for n in range(4) for kind in ("ask", "tell")]
    causes = [t.end_cause for t in study.trials]
    assert causes == [EndCause.COMPLETED, EndCause.RAISED, EndCause.PRUNED, EndCause.COMPLETED]


def test_stop_from_a_callback_ends_the_run_cleanly_and_a_later_run_goes_on(db):
    study = tunelab.create_study("stop", storage=db, sampler="random")

    def stop_after_second(s, frozen):
        if frozen.number == 1:
            s.stop()

    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=10, callbacks=[stop_after_second])
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2  # nothing started and failed
    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=4)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4


def test_stop_in_one_worker_process_stops_the_others(db):
    study = tunelab.create_study("stop-jobs", storage=db, sampler="random")

    def objective(trial):
        x = trial.hp.Float("x", 0, 1)
        if trial.number == 3:
            tunelab.load_study("stop-jobs", db).stop()
        time.sleep(0.02)  # 400 trials take 4 s or more; workers look for a stop each second
        return x

    study.optimize(objective, n_trials=400, n_jobs=2)
    trials = study.trials
    assert 4 <= len(trials) < 300
    assert all(t.state is TrialState.COMPLETE for t in trials)
