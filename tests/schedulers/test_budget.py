"""Hyperband sized to the training budget: the warning when max_resource is assumed, and
how `tunelab run` reads a script's budget (tunelab/cli/budget.py)."""

from __future__ import annotations

import types
import warnings
from typing import Any

import pytest

from tunelab.cli.budget import scheduler_for, script_steps, warnings_for
from tunelab.cli.script import ScriptError
from tunelab.schedulers import ASHAScheduler, HyperbandScheduler, make_scheduler
from tunelab.space import Choice, Int


def script(**attrs: Any) -> types.ModuleType:
    module = types.ModuleType("tunelab_script_t")
    module.__dict__.update(attrs)
    return module


def objective(trial: Any) -> float:
    return 0.0


def build_model(hp: Any) -> None:
    return None


def test_hyperband_without_max_resource_assumes_27_with_a_warning_once_stored() -> None:
    with pytest.warns(UserWarning, match="max_resource not given, so trials are assumed to"):
        hb = make_scheduler("hyperband")
    assert isinstance(hb, HyperbandScheduler) and hb.max_resource == 27
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what the study stored names 27: rebuilt silently
        again = make_scheduler(hb.to_json())
        HyperbandScheduler(max_resource=10)
    assert isinstance(again, HyperbandScheduler) and again.max_resource == 27
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="min_resource <= max_resource"):
            HyperbandScheduler(min_resource=30)  # refused: no warning about 27 first


def test_a_script_states_its_budget_as_max_resource() -> None:
    assert script_steps(script(objective=objective, MAX_RESOURCE=12), "s.py") == 12
    assert script_steps(script(objective=objective, FIT={"epochs": 5}, MAX_RESOURCE=7), "") == 7
    for bad in (0, -3, "9", 2.5, True):
        with pytest.raises(
            ScriptError, match=f"s.py: MAX_RESOURCE must be a positive int.*{bad!r}"
        ):
            script_steps(script(objective=objective, MAX_RESOURCE=bad), "s.py")


def test_a_kit_script_trains_the_epochs_its_fit_allows() -> None:
    pytest.importorskip("torch")  # the kit's knobs live in tunelab.torch
    cases = [
        ({"epochs": 10}, 10),
        ({"epochs": [5, 15, 8]}, 15),
        ({"epochs": "tune"}, 50),  # the kit's searched range, 10..50
        ({"epochs": Int("e", 4, 8)}, 8),
        ({"epochs": Choice("e", [3, 6])}, 6),
        ({"optimizer": "adam"}, 20),  # epochs not named: the kit's default
    ]
    for fit, steps in cases:
        assert script_steps(script(objective=objective, FIT=fit), "s.py") == steps, fit
    assert script_steps(script(build_model=build_model), "s.py") == 20  # the kit, no FIT


def test_a_custom_objective_has_no_known_budget() -> None:
    assert script_steps(script(objective=objective), "s.py") is None
    assert script_steps(script(objective=objective, build_model=build_model), "s.py") is None
    assert script_steps(script(objective=objective, FIT=["epochs", 3]), "s.py") is None


def test_the_scheduler_a_run_asks_for() -> None:
    assert scheduler_for("hyperband", 10) == {"name": "hyperband", "max_resource": 10}
    assert scheduler_for("hyperband", None) == {"name": "hyperband", "max_resource": 27}
    assert scheduler_for("asha", 10) == "asha"
    assert scheduler_for("none", 10) == "none"
    assert scheduler_for(None, 10) is None


def test_what_a_run_warns_about() -> None:
    hb27 = HyperbandScheduler(max_resource=27)
    (assumed,) = warnings_for("hyperband", hb27, None, "s.py")
    assert (
        "assumes trials report 27 steps" in assumed and "MAX_RESOURCE = <epochs> in s.py" in assumed
    )
    (over,) = warnings_for(None, hb27, 10, "s.py")  # a stored study's explicit setting
    assert over.startswith("the study's hyperband scheduler has max_resource=27, but s.py")
    assert "rerun with --scheduler hyperband" in over
    assert warnings_for(None, hb27, 27, "s.py") == []
    assert warnings_for(None, hb27, None, "s.py") == []  # explicit, budget unknown: kept
    assert warnings_for("hyperband", HyperbandScheduler(max_resource=10), 10, "s.py") == []
    assert warnings_for(None, ASHAScheduler(), 10, "s.py") == []  # unbounded rungs
    (asha,) = warnings_for(None, ASHAScheduler(max_resource=30), 10, "s.py")
    assert "asha scheduler has max_resource=30" in asha
    assert warnings_for(None, None, 10, "s.py") == []
