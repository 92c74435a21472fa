"""Studies: the coordinator, its optimize loop and workers, and create/load/list/delete."""

from tunelab.study.api import create_study, delete_study, list_studies, load_study
from tunelab.study.confirm import Config, confirm_runs, distinct_top, runs_of
from tunelab.study.confirm import plan as confirm_plan
from tunelab.study.pbt import found_schedule, schedule_of
from tunelab.study.replay import replay, replay_name
from tunelab.study.study import Study

__all__ = [
    "Config",
    "Study",
    "confirm_plan",
    "confirm_runs",
    "create_study",
    "delete_study",
    "distinct_top",
    "found_schedule",
    "list_studies",
    "load_study",
    "replay",
    "replay_name",
    "runs_of",
    "schedule_of",
]
