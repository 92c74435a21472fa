"""Studies: the coordinator, its optimize loop and workers, and create/load/list/delete."""

from tunelab.study.api import create_study, delete_study, list_studies, load_study
from tunelab.study.pbt import found_schedule, schedule_of
from tunelab.study.replay import replay, replay_name
from tunelab.study.study import Study

__all__ = [
    "Study",
    "create_study",
    "delete_study",
    "found_schedule",
    "list_studies",
    "load_study",
    "replay",
    "replay_name",
    "schedule_of",
]
