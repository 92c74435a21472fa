"""Trial records, read-only history, and the Trial handle objectives receive."""

from tunelab.trial.frozen import FrozenTrial, Report
from tunelab.trial.handle import Trial, TrialHost
from tunelab.trial.history import best_trial, sorted_by_value, with_state

__all__ = [
    "FrozenTrial",
    "Report",
    "Trial",
    "TrialHost",
    "best_trial",
    "sorted_by_value",
    "with_state",
]
