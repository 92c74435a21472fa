"""Schedulers decide after each report whether a trial goes on; one algorithm a module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.errors import ConfigurationError, ConfigurationTypeError
from tunelab.schedulers.asha import ASHAScheduler
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.curve_rules import CurveRules
from tunelab.schedulers.decision import GO_ON, ExploitRequest, PruneRequest, ResumeRequest, Verdict
from tunelab.schedulers.extrapolate import ExtrapolateScheduler
from tunelab.schedulers.freeze_thaw import FreezeThawScheduler
from tunelab.schedulers.hyperband import Bracket, HyperbandScheduler
from tunelab.schedulers.median import MedianStoppingScheduler
from tunelab.schedulers.pb2 import PB2Scheduler
from tunelab.schedulers.pbt import PBTScheduler
from tunelab.schedulers.replay import ReplayScheduler
from tunelab.schedulers.rules import RULES, CurveRule, Divergence, Overfitting, Plateau

SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls
    for cls in (
        ASHAScheduler,
        HyperbandScheduler,
        MedianStoppingScheduler,
        ExtrapolateScheduler,
        FreezeThawScheduler,
        PBTScheduler,
        PB2Scheduler,
        ReplayScheduler,
        CurveRules,
    )
}
"""Scheduler classes by the name a study stores (`"asha"`, `"hyperband"`, `"median"`,
`"extrapolate"`, `"freeze-thaw"`, `"pbt"`, `"pb2"`, `"replay"`, `"rules"`)."""
NO_SCHEDULER = "none"
"""The scheduler name that means no pruning (`make_scheduler` returns None for it)."""


def make_scheduler(spec: str | Scheduler | Mapping[str, Any] | None) -> Scheduler | None:
    """A scheduler from a name (see SCHEDULERS; 'none' or None: no pruning), a stored
    JSON config such as {"name": "asha", "min_resource": 2}, or itself."""
    if spec is None or isinstance(spec, Scheduler):
        return spec
    if isinstance(spec, str):
        config: dict[str, Any] = {"name": spec.strip().lower()}
    elif isinstance(spec, Mapping):
        config = dict(spec)
    else:
        raise ConfigurationTypeError(
            f"scheduler must be a name, a dict or a Scheduler, but got {type(spec).__name__}"
        )
    name = str(config.get("name", "")).lower()
    if name == NO_SCHEDULER:
        return None
    cls = SCHEDULERS.get(name)
    if cls is None:
        raise ConfigurationError(
            f"unknown scheduler {config.get('name')!r}; choose one of "
            f"{', '.join([NO_SCHEDULER, *sorted(SCHEDULERS)])} or pass a Scheduler instance"
        )
    return cls.from_json(config)


def scheduler_to_json(scheduler: Scheduler | None) -> dict[str, Any]:
    """The JSON a study stores for its scheduler ({"name": "none"} when there is none)."""
    return {"name": NO_SCHEDULER} if scheduler is None else scheduler.to_json()


__all__ = [
    "GO_ON",
    "NO_SCHEDULER",
    "RULES",
    "SCHEDULERS",
    "ASHAScheduler",
    "Bracket",
    "CurveRule",
    "CurveRules",
    "Divergence",
    "ExploitRequest",
    "ExtrapolateScheduler",
    "FreezeThawScheduler",
    "HyperbandScheduler",
    "MedianStoppingScheduler",
    "Overfitting",
    "PB2Scheduler",
    "PBTScheduler",
    "Plateau",
    "PruneRequest",
    "ReplayScheduler",
    "ResumeRequest",
    "Scheduler",
    "Verdict",
    "make_scheduler",
    "scheduler_to_json",
]
