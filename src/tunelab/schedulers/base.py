"""The scheduler contract.

A scheduler decides whether a running trial goes on after each report. It sees the
trial's own curve and a read-only history of frozen trials, never storage, and
returns an explicit Verdict. Its configuration is JSON, so a study stores it the
way it stores its sampler, and every worker process rebuilds the same scheduler.
Curve rules (divergence, plateau, overfitting: see rules.py) read only the trial's
own curve and can ride along with any scheduler.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tunelab.errors import ConfigurationError
from tunelab.schedulers.decision import PruneRequest, ResumeRequest, Verdict
from tunelab.schedulers.rules import CurveRule, rule_from_json


class Scheduler(ABC):
    """Decides after each report whether a trial goes on. Subclasses set `name` and
    implement `rank_decision`; the curve rules run first and may stop a trial on their own."""

    name: ClassVar[str] = ""
    # Whether it ranks trials by every objective of a study of several (PruneRequest.objectives).
    multi_objective: ClassVar[bool] = False
    # Whether it pauses resumable trials and chooses which paused one goes on (freeze-thaw).
    pauses: ClassVar[bool] = False
    # Whether trials must be resumable (PBT): a trial that is not fails, naming the fix.
    requires_resume: ClassVar[bool] = False

    def __init__(self, rules: Sequence[CurveRule | str | Mapping[str, Any]] = ()) -> None:
        self.rules: tuple[CurveRule, ...] = tuple(rule_from_json(r) for r in rules)

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        """Whether deciding after a report at `step` compares with other trials. The
        study reads the history from storage only then; override to save reads."""
        return True

    def decide(self, request: PruneRequest) -> Verdict:
        """CONTINUE or STOP (with the reason) after the trial's latest report."""
        for rule in self.rules:
            verdict = rule.check(request)
            if verdict.stop:
                return verdict
        return self.rank_decision(request)

    @abstractmethod
    def rank_decision(self, request: PruneRequest) -> Verdict:
        """The decision from comparing this trial with others."""

    # -- freeze-thaw: schedulers that pause resumable trials and choose which go on --------
    def pause_due(self, steps_this_run: int) -> bool:
        """Whether a resumable trial that reported `steps_this_run` times since it started
        or was resumed should pause now. Only freeze-thaw schedulers pause: False."""
        return False

    def pause_after(self, step: int | None, steps_this_run: int) -> bool:
        """Whether a resumable trial whose last report was at `step`, its
        `steps_this_run`-th since it started or was resumed, should pause now."""
        return self.pause_due(steps_this_run)

    def choose_resume(self, request: ResumeRequest) -> int | None:
        """The number of the paused trial a free worker should resume, or None to start a
        new configuration (the only choice of schedulers that never pause)."""
        return None

    def trial_attrs(self, trial_number: int) -> dict[str, Any]:
        """System attributes to record on every trial (e.g. its Hyperband bracket)."""
        return {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON (without name and rules)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The scheduler's name, settings and rules as JSON, stored with the study."""
        out: dict[str, Any] = {"name": self.name, **self.config()}
        if self.rules:
            out["rules"] = [rule.to_json() for rule in self.rules]
        return out

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> Scheduler:
        """Rebuild from `to_json()` output."""
        args = {k: v for k, v in config.items() if k not in ("name", "rules")}
        try:
            return cls(rules=list(config.get("rules", ())), **args)
        except TypeError as e:
            raise ConfigurationError(f"bad settings for scheduler {cls.name!r}: {e}") from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        rules = f", rules={list(self.rules)!r}" if self.rules else ""
        return f"{type(self).__name__}({args}{rules})"
