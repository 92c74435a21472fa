"""The scheduler that only applies curve rules (`scheduler="rules"`): it never compares
a trial with others, so the study never reads the history for it."""

from __future__ import annotations

from typing import Any

from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict
from tunelab.schedulers.rules import Divergence, rule_from_json


class CurveRules(Scheduler):
    """Only the curve rules, no comparison with other trials: `scheduler="rules"`.
    Without rules given, it watches for divergence."""

    name = "rules"
    multi_objective = True  # each rule watches one trial's own curve (rules.py)

    def __init__(self, rules: Any = ()) -> None:
        super().__init__([rule_from_json(r) for r in rules] or [Divergence()])

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return False

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return GO_ON
