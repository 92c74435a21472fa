"""GridSampler: every cell exactly once, conditional spaces, enqueued cells, and admission."""

from __future__ import annotations

import itertools

import pytest

import tunelab
from tunelab.errors import GridExhausted, SearchSpaceError
from tunelab.samplers import Admission, GridSampler, SampleRequest, Wait
from tunelab.space import Boolean, Choice, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import EndCause, TrialState


def _study(name: str = "grid"):
    return tunelab.create_study(
        name, storage=":memory:", metric="loss", direction="minimize", sampler="grid"
    )


def _cells(study) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def flat(trial):
    hp = trial.hp
    hp.Int("a", 1, 3)
    hp.Choice("b", ["x", "y"])
    hp.Boolean("c")
    return 0.0


FLAT_CELLS = {
    (("a", a), ("b", b), ("c", c))
    for a, b, c in itertools.product([1, 2, 3], ["x", "y"], [False, True])
}


def test_each_cell_once_then_the_study_stops():
    study = _study()
    study.optimize(flat, n_trials=None)
    cells = _cells(study)
    assert len(cells) == 12
    assert set(cells) == FLAT_CELLS
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    with pytest.raises(GridExhausted):
        study.ask()
    study.optimize(flat, n_trials=None)  # nothing is left: no new trial
    assert len(study.trials) == 12


def test_first_trial_takes_the_first_values_and_the_last_param_varies_fastest():
    study = _study()
    study.optimize(flat, n_trials=3)
    assert [dict(t.params) for t in study.trials] == [
        {"a": 1, "b": "x", "c": False},
        {"a": 1, "b": "x", "c": True},
        {"a": 1, "b": "y", "c": False},
    ]


def test_a_budget_stops_early_and_a_rerun_finishes_without_repeats():
    study = _study()
    study.optimize(flat, n_trials=5)
    assert len(study.trials) == 5
    study.optimize(flat, n_trials=None)
    cells = _cells(study)
    assert len(cells) == 12 and set(cells) == FLAT_CELLS


def test_ask_tell_loop_ends_with_grid_exhausted():
    study = _study()
    seen = []
    for _ in range(20):
        try:
            trial = study.ask()
        except GridExhausted:
            break
        seen.append(
            (trial.hp.Choice("opt", ["adam", "sgd"]), trial.hp.Float("d", 0, 0.5, step=0.25))
        )
        study.tell(trial, 1.0)
    assert sorted(seen) == sorted(itertools.product(["adam", "sgd"], [0.0, 0.25, 0.5]))


def test_define_by_run_conditional_space():
    def objective(trial):
        n = trial.hp.Int("n", 1, 3)
        for i in range(n):
            trial.hp.Choice(f"u{i}", [8, 16])
        return 0.0

    study = _study()
    study.optimize(objective, n_trials=None)
    cells = _cells(study)
    assert len(cells) == len(set(cells)) == 2 + 4 + 8
    for n in (1, 2, 3):
        with_n = {c for c in cells if dict(c)["n"] == n}
        assert with_n == {
            (("n", n), *((f"u{i}", v) for i, v in enumerate(units)))
            for units in itertools.product([8, 16], repeat=n)
        }


def test_conditional_scope_space():
    def objective(trial):
        hp = trial.hp
        hp.Choice("model", ["mlp", "cnn"])
        with hp.conditional_scope("model", "mlp"):
            hp.Int("units", 32, 96, step=32)
        with hp.conditional_scope("model", ["cnn"]):
            hp.Choice("kernel", [3, 5])
            hp.Boolean("pool")
        hp.Float("dropout", 0.0, 0.2, step=0.1, parent_name="model", parent_values=["cnn"])
        return 0.0

    study = _study()
    study.optimize(objective, n_trials=None)
    cells = _cells(study)
    assert len(cells) == len(set(cells)) == 3 + 2 * 2 * 3
    assert {dict(c)["units"] for c in cells if dict(c)["model"] == "mlp"} == {32, 64, 96}
    assert all(set(dict(c)) == {"model", "units"} for c in cells if dict(c)["model"] == "mlp")
    assert all(
        set(dict(c)) == {"model", "kernel", "pool", "dropout"}
        for c in cells
        if dict(c)["model"] == "cnn"
    )


def test_log_stepped_params_enumerate_their_multipliers():
    def objective(trial):
        trial.hp.Int("batch", 16, 128, step=2, sampling="log")
        trial.hp.Float("lr", 1e-4, 1e-2, step=10, sampling="log")
        return 0.0

    study = _study()
    study.optimize(objective, n_trials=None)
    assert set(_cells(study)) == {
        (("batch", b), ("lr", lr)) for b in (16, 32, 64, 128) for lr in (1e-4, 1e-3, 1e-2)
    }


def test_float_without_step_is_a_clear_error():
    study = _study()
    with pytest.raises(
        SearchSpaceError, match=r"Float\('lr'.*continuous.*grid search needs a step"
    ):
        study.optimize(lambda t: t.hp.Float("lr", 1e-4, 1e-1, sampling="log"), n_trials=None)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL
    assert "grid search needs a step" in trial.reason


def test_enqueued_config_counts_as_a_visited_cell():
    study = _study()
    study.enqueue({"a": 2, "b": "y", "c": True})
    study.optimize(flat, n_trials=None)
    cells = _cells(study)
    assert cells[0] == (("a", 2), ("b", "y"), ("c", True))
    assert len(cells) == 12 and set(cells) == FLAT_CELLS


def test_partly_enqueued_config_is_completed_by_the_grid():
    study = _study()
    study.enqueue({"a": 3})
    study.optimize(flat, n_trials=None)
    cells = _cells(study)
    assert dict(cells[0])["a"] == 3
    assert len(cells) == 12 and set(cells) == FLAT_CELLS


def test_failed_cells_are_not_retried():
    def objective(trial):
        flat(trial)
        if trial.params["c"]:
            raise ValueError("diverged")
        return 0.0

    study = _study()
    study.optimize(objective, n_trials=None, max_consecutive_failures=None)
    assert len(study.trials) == 12 and set(_cells(study)) == FLAT_CELLS
    assert sum(t.state is TrialState.FAIL for t in study.trials) == 6


def test_an_interrupted_cell_runs_again_on_the_next_run():
    calls = []

    def objective(trial):
        flat(trial)
        calls.append(trial.number)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return 0.0

    study = _study()
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=None)
    interrupted = study.trials[-1]
    assert interrupted.state is TrialState.FAIL
    assert interrupted.end_cause is EndCause.INTERRUPTED
    study.optimize(objective, n_trials=None)
    complete = [
        tuple(sorted(t.params.items())) for t in study.trials if t.state is TrialState.COMPLETE
    ]
    assert len(complete) == len(set(complete)) == 12
    assert set(complete) == FLAT_CELLS
    assert tuple(sorted(interrupted.params.items())) in complete


# -- admission and Wait, with hand-made histories ---------------------------------------------


def _trial(number: int, state: TrialState, **params) -> FrozenTrial:
    return FrozenTrial(trial_id=number + 1, number=number, state=state, params=params)


@pytest.fixture
def space() -> SearchSpace:
    space = SearchSpace()
    space.add(Choice("opt", ["adam", "sgd"]))
    space.add(Boolean("bn"))
    return space


def test_admit_starts_while_cells_are_free(space):
    sampler = GridSampler()
    assert sampler.admit(space, []) is Admission.START
    done = [_trial(0, TrialState.COMPLETE, opt="adam", bn=False)]
    assert sampler.admit(space, done) is Admission.START


def test_admit_waits_while_running_trials_hold_the_last_cells(space):
    sampler = GridSampler()
    history = [
        _trial(0, TrialState.COMPLETE, opt="adam", bn=False),
        _trial(1, TrialState.COMPLETE, opt="adam", bn=True),
        _trial(2, TrialState.COMPLETE, opt="sgd", bn=False),
        _trial(3, TrialState.RUNNING, opt="sgd"),  # will take the last cell
    ]
    assert sampler.admit(space, history) is Admission.WAIT
    finished = [*history[:3], _trial(3, TrialState.COMPLETE, opt="sgd", bn=True)]
    assert sampler.admit(space, finished) is Admission.EXHAUSTED


def test_interrupted_and_waiting_trials_hold_no_cell(space):
    sampler = GridSampler()
    lost = FrozenTrial(
        trial_id=9,
        number=3,
        state=TrialState.FAIL,
        params={"opt": "sgd", "bn": True},
        end_cause=EndCause.LOST,
    )
    history = [
        _trial(0, TrialState.COMPLETE, opt="adam", bn=False),
        _trial(1, TrialState.FAIL, opt="adam", bn=True),  # failed for real: visited
        _trial(2, TrialState.COMPLETE, opt="sgd", bn=False),
        lost,
        _trial(4, TrialState.WAITING),
    ]
    assert sampler.admit(space, history) is Admission.START
    assert sampler.sample(SampleRequest(5, space["opt"], (), {}, space, history)) == "sgd"
    assert sampler.sample(SampleRequest(5, space["bn"], (), {"opt": "sgd"}, space, history)) is True


def test_a_running_trial_without_params_holds_one_cell(space):
    sampler = GridSampler()
    history = [
        _trial(0, TrialState.COMPLETE, opt="adam", bn=False),
        _trial(1, TrialState.COMPLETE, opt="adam", bn=True),
        _trial(2, TrialState.COMPLETE, opt="sgd", bn=False),
        _trial(3, TrialState.RUNNING),  # has chosen nothing yet
    ]
    assert sampler.admit(space, history) is Admission.WAIT


def test_sample_skips_cells_held_by_running_trials(space):
    sampler = GridSampler()
    history = [
        _trial(0, TrialState.COMPLETE, opt="adam", bn=False),
        _trial(1, TrialState.RUNNING, opt="adam"),  # takes (adam, True)
        _trial(2, TrialState.RUNNING),
    ]
    request = SampleRequest(2, space["opt"], (), {}, space, history)
    assert sampler.sample(request) == "sgd"
    request = SampleRequest(2, space["bn"], (), {"opt": "sgd"}, space, history)
    assert sampler.sample(request) is False


def test_sample_waits_for_an_earlier_trial_holding_the_last_cell_below(space):
    # Trials 1 and 2 both stand at opt=sgd (an enqueued value can force that), and one cell
    # is left below: the earlier trial takes it, the later one waits instead of duplicating.
    sampler = GridSampler()
    history = [
        _trial(0, TrialState.COMPLETE, opt="sgd", bn=False),
        _trial(1, TrialState.RUNNING, opt="sgd"),
        _trial(2, TrialState.RUNNING, opt="sgd"),
    ]
    later = SampleRequest(2, space["bn"], (), {"opt": "sgd"}, space, history)
    with pytest.raises(Wait):
        sampler.sample(later)
    earlier = SampleRequest(1, space["bn"], (), {"opt": "sgd"}, space, history)
    assert sampler.sample(earlier) is True
    taken = [history[0], _trial(1, TrialState.RUNNING, opt="sgd", bn=True), history[2]]
    with pytest.raises(Wait):  # trial 1 has taken the cell but may still fail
        sampler.sample(SampleRequest(2, space["bn"], (), {"opt": "sgd"}, space, taken))
    done = [history[0], _trial(1, TrialState.COMPLETE, opt="sgd", bn=True), history[2]]
    with pytest.raises(GridExhausted):
        sampler.sample(SampleRequest(2, space["bn"], (), {"opt": "sgd"}, space, done))


def test_sample_raises_grid_exhausted_when_nothing_is_left_below(space):
    sampler = GridSampler()
    history = [
        _trial(0, TrialState.COMPLETE, opt="sgd", bn=False),
        _trial(1, TrialState.COMPLETE, opt="sgd", bn=True),
        _trial(2, TrialState.RUNNING, opt="sgd"),
    ]
    request = SampleRequest(2, space["bn"], (), {"opt": "sgd"}, space, history)
    with pytest.raises(GridExhausted, match=r"every grid cell below \{'opt': 'sgd'\}"):
        sampler.sample(request)


def test_true_and_one_are_different_cells():
    space = SearchSpace()
    space.add(Choice("v", [0, 1]))
    sampler = GridSampler()
    history = [_trial(0, TrialState.COMPLETE, v=True)]  # not a value of v: another path
    request = SampleRequest(1, space["v"], (), {}, space, history)
    assert sampler.sample(request) == 0
    history = [_trial(0, TrialState.COMPLETE, v=0)]
    assert sampler.sample(SampleRequest(1, space["v"], (), {}, space, history)) == 1


def test_a_fixed_value_that_depends_on_an_earlier_choice_does_not_stall_the_grid():
    def objective(trial):
        remedy = trial.hp.Choice("remedy", ["none", "l1", "l2"])
        trial.hp.Fixed("l1", 1e-4 if remedy == "l1" else 0.0)
        trial.hp.Fixed("l2", 1e-3 if remedy == "l2" else 0.0)
        return 1.0

    study = tunelab.create_study("fixed", storage=":memory:", sampler="grid")
    study.optimize(objective, n_trials=20)
    assert [t.params for t in study.trials] == [
        {"remedy": "none", "l1": 0.0, "l2": 0.0},
        {"remedy": "l1", "l1": 1e-4, "l2": 0.0},
        {"remedy": "l2", "l1": 0.0, "l2": 1e-3},
    ]
