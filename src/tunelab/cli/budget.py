"""The training budget of a `tunelab run` script: the most steps (epochs) a trial reports,
so that a scheduler sized in steps, Hyperband above all, fits the script it prunes.

A script states it as MAX_RESOURCE; a script that trains with the kit's fit() (it sets
FIT, or defines build_model(hp) without an objective) reports one step per epoch, so its
budget is the largest `epochs` FIT allows (the kit's default when FIT leaves it out)."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from tunelab.cli.script import ScriptError
from tunelab.schedulers.hyperband import DEFAULT_MAX_RESOURCE, HyperbandScheduler

BUDGET_NAME = "MAX_RESOURCE"


def script_steps(module: ModuleType, path: str) -> int | None:
    """The most steps a trial of the script reports, or None when the script does not say."""
    given = getattr(module, BUDGET_NAME, None)
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 1:
            raise ScriptError(
                f"{path}: {BUDGET_NAME} must be a positive int (the most steps a trial "
                f"reports), but it is {given!r}"
            )
        return given
    overrides = getattr(module, "FIT", None)
    kit = overrides is not None or (
        hasattr(module, "build_model") and not hasattr(module, "objective")
    )
    if not kit or not isinstance(overrides or {}, Mapping):
        return None
    try:
        from tunelab.torch.knobs import knob_domain
    except ImportError:  # no kit installed: the script fails on its own terms
        return None
    return _largest(knob_domain("epochs", dict(overrides or {})))


def _largest(domain: Any) -> int | None:
    top = getattr(domain, "max_value", None)
    if top is None:
        values = [v for v in domain.grid_values() if isinstance(v, (int, float))]
        top = max(values, default=None)
    return int(top) if isinstance(top, (int, float)) and top >= 1 else None


def scheduler_for(name: str | None, budget: int | None) -> str | dict[str, Any] | None:
    """What `--scheduler NAME` gives the study: Hyperband sized to the budget (its default
    max_resource when the budget is unknown, stated so that no warning follows)."""
    if name != HyperbandScheduler.name:
        return name
    return {"name": name, "max_resource": budget or DEFAULT_MAX_RESOURCE}


def warnings_for(
    scheduler_name: str | None, scheduler: Any, budget: int | None, path: str
) -> list[str]:
    """What to tell the user about the scheduler the study runs and the script's budget."""
    if budget is None and scheduler_name == HyperbandScheduler.name:
        return [
            f"--scheduler hyperband assumes trials report {DEFAULT_MAX_RESOURCE} steps "
            f"(its default max_resource); set {BUDGET_NAME} = <epochs> in {path} so its "
            "brackets fit the training: with fewer steps, brackets that start past the last "
            "one never prune and adaptive brackets never start"
        ]
    top = getattr(scheduler, "max_resource", None)
    if budget is not None and isinstance(top, int) and top > budget:
        return [
            f"the study's {scheduler.name} scheduler has max_resource={top}, but {path} "
            f"trains at most {budget} steps: its rungs past {budget} are never reached "
            f"(rerun with --scheduler {scheduler.name} to size it to the script)"
        ]
    return []
