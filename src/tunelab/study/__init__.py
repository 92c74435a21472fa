"""Studies: the coordinator, its optimize loop and workers, and create/load/list/delete."""

from tunelab.study.api import create_study, delete_study, list_studies, load_study
from tunelab.study.confirm import Config, confirm_runs, distinct_top, runs_of
from tunelab.study.confirm import plan as confirm_plan
from tunelab.study.study import Study

__all__ = [
    "Config",
    "Study",
    "confirm_plan",
    "confirm_runs",
    "create_study",
    "delete_study",
    "distinct_top",
    "list_studies",
    "load_study",
    "runs_of",
]
