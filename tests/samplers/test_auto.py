"""sampler="auto": the documented rule that picks GP or TPE from the space and the history."""

from __future__ import annotations

from tunelab.samplers import SampleRequest
from tunelab.samplers.auto import MAX_GP_DIMS, MAX_GP_TRIALS, AutoSampler, prefers_tpe
from tunelab.samplers.gp import GPSampler
from tunelab.samplers.tpe import TPESampler
from tunelab.space import Boolean, Choice, Condition, Fixed, Float, Int, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


def _trial(number: int, params: dict, value: float | None = 1.0, state=TrialState.COMPLETE):
    return FrozenTrial(number, number, state, params, value)


def _numeric_space(n: int) -> SearchSpace:
    space = SearchSpace()
    for i in range(n):
        space.add(Float(f"x{i}", 0.0, 1.0))
    return space


def test_a_small_numeric_space_goes_to_the_gp():
    space = _numeric_space(3)
    history = [_trial(i, {"x0": 0.1, "x1": 0.2, "x2": 0.3}) for i in range(20)]
    assert not prefers_tpe(space, history)


def test_a_declared_conditional_branch_goes_to_the_gp():
    space = SearchSpace()
    space.add(Choice("opt", ("adam", "sgd")))
    space.add(Float("momentum", 0.0, 1.0), (Condition("opt", ("sgd",)),))
    space.add(Float("lr", 1e-4, 1e-1, sampling="log"))
    history = [
        _trial(0, {"opt": "adam", "lr": 0.01}),
        _trial(1, {"opt": "sgd", "momentum": 0.9, "lr": 0.01}),
    ]
    assert not prefers_tpe(space, history)
    # the same absence without a declared condition: the GP cannot model it, TPE can
    undeclared = SearchSpace()
    for entry in space:
        undeclared.add(entry.param)
    assert prefers_tpe(undeclared, history)


def test_absence_where_the_declared_condition_holds_goes_to_tpe():
    space = SearchSpace()
    space.add(Choice("opt", ("adam", "sgd")))
    space.add(Float("momentum", 0.0, 1.0), (Condition("opt", ("sgd",)),))
    history = [_trial(0, {"opt": "sgd", "momentum": 0.5}), _trial(1, {"opt": "sgd"})]
    assert prefers_tpe(space, history)


def test_a_pruned_trial_that_stopped_early_is_no_evidence_of_a_conditional_space():
    space = _numeric_space(2)
    history = [_trial(0, {"x0": 0.1, "x1": 0.2}), _trial(1, {"x0": 0.3}, None, TrialState.PRUNED)]
    assert not prefers_tpe(space, history)


def test_many_parameters_many_categories_or_many_trials_go_to_tpe():
    assert prefers_tpe(_numeric_space(MAX_GP_DIMS + 1), [])
    assert not prefers_tpe(_numeric_space(MAX_GP_DIMS), [])
    space = SearchSpace()
    space.add(Choice("act", ("relu", "tanh")))
    space.add(Boolean("bn"))
    space.add(Float("lr", 1e-4, 1e-1, sampling="log"))
    space.add(Fixed("epochs", 10))  # not tuned: does not count
    assert prefers_tpe(space, [])
    ordered = SearchSpace()
    ordered.add(Choice("batch", (32, 64, 128)))  # ordered numbers: not categorical
    ordered.add(Int("layers", 1, 4))
    assert not prefers_tpe(ordered, [])
    history = [_trial(i, {"x0": 0.5}) for i in range(MAX_GP_TRIALS + 1)]
    assert prefers_tpe(_numeric_space(1), history)
    assert not prefers_tpe(_numeric_space(1), history[:MAX_GP_TRIALS])


def test_the_auto_sampler_delegates_to_the_chosen_model():
    space = SearchSpace()
    space.add(Choice("opt", ("adam", "sgd")))
    space.add(Float("momentum", 0.0, 1.0), (Condition("opt", ("sgd",)),))
    history = [
        _trial(i, {"opt": "sgd", "momentum": i / 20} if i % 2 else {"opt": "adam"})
        for i in range(12)
    ]
    sampler = AutoSampler(seed=0)
    value = sampler.sample(SampleRequest(12, space["opt"], (), {}, space, history))
    assert value in ("adam", "sgd")
    assert isinstance(sampler.chosen_for(12), GPSampler)
    undeclared = SearchSpace()
    for entry in space:
        undeclared.add(entry.param)
    sampler.sample(SampleRequest(13, undeclared["opt"], (), {}, undeclared, history))
    assert isinstance(sampler.chosen_for(13), TPESampler)
