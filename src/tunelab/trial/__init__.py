"""Trial records, read-only history, and the Trial handle objectives receive."""

from tunelab.trial.frozen import CONSTRAINTS_ATTR, FrozenTrial, Report, feasible_attrs
from tunelab.trial.handle import Trial, TrialHost
from tunelab.trial.history import best_trial, rank_key, sorted_by_value, with_state

__all__ = [
    "CONSTRAINTS_ATTR",
    "FrozenTrial",
    "Report",
    "Trial",
    "TrialHost",
    "best_trial",
    "feasible_attrs",
    "rank_key",
    "sorted_by_value",
    "with_state",
]
