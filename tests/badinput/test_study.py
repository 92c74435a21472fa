"""Bad arguments to the study API (create_study, load_study, list_studies, delete_study,
optimize, enqueue, ask, tell, the readers): refused before anything is stored, in one
line that names the rule and the value, with the database file byte for byte as it was."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.samplers import RandomSampler
from tunelab.types import TrialState

from .helpers import METRIC, STUDY, files, refused

NEW = "fresh"  # a study name the copied database does not hold

CREATE: list[tuple[str, dict[str, Any], str]] = [
    ("name int", {"name": 123}, "a study name must be a string, but got 123 (int)"),
    ("name 0", {"name": 0}, "but got 0 (int)"),
    ("name list", {"name": ["a"]}, "but got ['a'] (list)"),
    ("name ''", {"name": ""}, "a study name must be a non-empty string"),
    ("name blank", {"name": "   "}, "must be a non-empty string"),
    ("name 513", {"name": "n" * 513}, "a study name must be at most 512 characters"),
    ("metric ''", {"metric": ""}, "metric must be a non-empty string"),
    ("metric int", {"metric": 5}, "metric must be a string, but got 5"),
    ("metric 256", {"metric": "m" * 256}, "metric must be at most 255 characters"),
    ("metric list", {"metric": ["a", "b"]}, "but got ['a', 'b'] (list)"),
    ("direction up", {"direction": "up"}, "direction must be 'minimize' or 'maximize'"),
    ("direction int", {"direction": 5}, "but got 5"),
    ("direction None", {"direction": None}, "but got None"),
    ("sampler name", {"sampler": "nope"}, "unknown sampler 'nope'; choose one of auto"),
    ("sampler int", {"sampler": 5}, "unknown sampler 5"),
    ("sampler dict", {"sampler": {"name": "zz"}}, "unknown sampler 'zz'"),
    ("sampler class", {"sampler": RandomSampler}, "pass a Sampler instance"),
    ("seed -1", {"seed": -1}, "seed must be a non-negative int, but got seed=-1"),
    ("seed str", {"seed": "x"}, "but got seed='x'"),
    ("seed 1.5", {"seed": 1.5}, "but got seed=1.5"),
    ("heartbeat 0", {"heartbeat_interval": 0}, "heartbeat_interval must be > 0 seconds"),
    ("heartbeat nan", {"heartbeat_interval": math.nan}, "got nan"),
    ("heartbeat str", {"heartbeat_interval": "1"}, "got '1'"),
    ("retries -1", {"max_retries": -1}, "max_retries must be a non-negative int, got -1"),
    ("retries True", {"max_retries": True}, "got True"),
    ("retries 1.5", {"max_retries": 1.5}, "got 1.5"),
    ("scheduler name", {"scheduler": "nope"}, "unknown scheduler 'nope'; choose one of none"),
    ("scheduler int", {"scheduler": 5}, "scheduler must be a name, a dict or a Scheduler"),
    ("scheduler key", {"scheduler": {"name": "asha", "foo": 1}}, "unexpected keyword argument"),
    ("asha factor", {"scheduler": {"name": "asha", "reduction_factor": 1}}, "an int >= 2"),
    (
        "exists, no load",
        {"name": STUDY, "metric": METRIC, "direction": "minimize", "load_if_exists": False},
        "a study named 'demo' already exists; pass load_if_exists=True",
    ),
    (
        "exists, metric",
        {"name": STUDY, "metric": "acc", "direction": "minimize"},
        "exists with metric='loss', direction='minimize', but metric='acc'",
    ),
    (
        "exists, direction",
        {"name": STUDY, "metric": METRIC, "direction": "maximize"},
        "direction='maximize' was asked for; a study keeps its objectives",
    ),
    ("storage int", {"storage": 123}, "storage must be a URL, a file path or a storage object"),
    ("storage bool", {"storage": True}, "but got True (bool)"),
    ("storage bytes", {"storage": b"x.db"}, "but got b'x.db' (bytes)"),
    ("storage list", {"storage": ["x.db"]}, "but got ['x.db'] (list)"),
    ("storage ''", {"storage": ""}, "the storage URL is empty"),
    ("sqlite:/x.db", {"storage": "sqlite:/x.db"}, "malformed storage URL 'sqlite:/x.db'"),
    ("postgres:/h", {"storage": "postgres:/h/db"}, "malformed storage URL"),
    ("bad port", {"storage": "postgresql+psycopg://u@h:abc/x"}, "malformed storage URL"),
    ("foo://", {"storage": "foo://x"}, "unknown database kind in 'foo://x'"),
    ("no folder", {"storage": "nodir/x.db"}, "the folder 'nodir' does not exist"),
    ("sqlite://", {"storage": "sqlite://"}, "an in-memory SQLite database cannot be shared"),
    ("a folder", {"storage": "."}, "is a folder, not a file"),
]


@pytest.mark.parametrize(
    ("kwargs", "fragment"), [c[1:] for c in CREATE], ids=[c[0] for c in CREATE]
)
def test_create_study_refuses_and_stores_nothing(
    work: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    before = files(work)
    args = {"name": NEW, "storage": "tunelab.db", **kwargs}
    refused(lambda: tunelab.create_study(**args), fragment)
    assert files(work) == before  # no file changed, none appeared (no file named 123)


OPEN: list[tuple[str, Callable[[], Any], str]] = [
    ("load int", lambda: tunelab.load_study(123, "tunelab.db"), "must be a string, but got 123"),
    ("load missing", lambda: tunelab.load_study("nope", "tunelab.db"), "studies here: demo"),
    ("load 600", lambda: tunelab.load_study("n" * 600, "tunelab.db"), "at most 512 characters"),
    ("load no file", lambda: tunelab.load_study(STUDY, "nofile.db"), "no database at 'nofile.db'"),
    ("load sampler", lambda: tunelab.load_study(STUDY, "tunelab.db", "zz"), "unknown sampler"),
    (
        "load scheduler",
        lambda: tunelab.load_study(STUDY, "tunelab.db", scheduler="zz"),
        "unknown scheduler 'zz'",
    ),
    ("load storage", lambda: tunelab.load_study(STUDY, 1.5), "but got 1.5 (float)"),
    ("delete missing", lambda: tunelab.delete_study("nope", "tunelab.db"), "no study named"),
    ("delete None", lambda: tunelab.delete_study(None, "tunelab.db"), "but got None"),
    ("list int", lambda: tunelab.list_studies(7), "storage must be a URL"),
    ("list no file", lambda: tunelab.list_studies("nofile.db"), "run a study first"),
]


@pytest.mark.parametrize(("action", "fragment"), [c[1:] for c in OPEN], ids=[c[0] for c in OPEN])
def test_opening_refuses_and_changes_nothing(
    work: Path, action: Callable[[], Any], fragment: str
) -> None:
    before = files(work)
    refused(action, fragment)
    assert files(work) == before


def _x(trial: Any) -> float:
    return float(trial.hp.Float("x", -2.0, 2.0))


OPTIMIZE: list[tuple[str, dict[str, Any], str]] = [
    ("n_trials -1", {"n_trials": -1}, "n_trials must be a non-negative int or None, got -1"),
    ("n_trials 1.5", {"n_trials": 1.5}, "got 1.5"),
    ("n_trials str", {"n_trials": "3"}, "got '3'"),
    ("n_trials True", {"n_trials": True}, "got True"),
    ("timeout 0", {"timeout": 0}, "timeout must be > 0 seconds or None, got 0"),
    ("timeout -1", {"timeout": -1}, "got -1"),
    ("timeout nan", {"timeout": math.nan}, "got nan"),
    ("timeout str", {"timeout": "5"}, "got '5'"),
    ("n_jobs 0", {"n_jobs": 0}, "n_jobs must be a positive int or -1 (all cores), got 0"),
    ("n_jobs 1.5", {"n_jobs": 1.5}, "got 1.5"),
    ("n_jobs str", {"n_jobs": "2"}, "got '2'"),
    ("gpus twice", {"gpus": [0, 1, 1]}, "GPU 1 is listed twice in gpus=[0, 1, 1]; list each"),
    ("gpus empty", {"gpus": []}, "gpus=[] names no GPU; give device indices, e.g. gpus=[0, 1]"),
    ("gpus str", {"gpus": "0,1"}, "gpus must be a list of GPU indices, e.g. gpus=[0, 1]"),
    ("gpus int", {"gpus": 2}, "gpus must be a list of GPU indices"),
    ("gpus x", {"gpus": [0, "x"]}, "gpus=[0, 'x']: 'x' is not a GPU index"),
    ("gpus -1", {"gpus": [-1]}, "-1 is not a GPU index"),
    ("gpus bool", {"gpus": [True]}, "True is not a GPU index"),
    ("gpus group", {"gpus": ["0,1", 1]}, "GPU 1 is listed twice"),
    ("per gpu 0", {"gpus": [0], "trials_per_gpu": 0}, "trials_per_gpu must be a positive int"),
    ("per gpu alone", {"trials_per_gpu": 2}, "trials_per_gpu goes with gpus"),
    (
        "gpus n_jobs",
        {"gpus": [0, 1], "trials_per_gpu": 2, "n_jobs": 2},
        "n_jobs=2 does not match gpus=[0, 1] with trials_per_gpu=2 (4 trials at a time); "
        "leave n_jobs out",
    ),
    ("objective None", {"objective": None}, "the objective must be a function objective(trial)"),
    ("objective str", {"objective": "objective"}, "but got 'objective'"),
    ("callback int", {"callbacks": [5]}, "each callback must be a function f(study, trial)"),
    ("callbacks fn", {"callbacks": lambda s, t: None}, "wrap a single one in a list"),
    ("catch int", {"catch": 5}, "catch must be a tuple of exception classes"),
    ("catch names", {"catch": ("ValueError",)}, "but got ('ValueError',)"),
    ("failures 0", {"max_consecutive_failures": 0}, "max_consecutive_failures must be a positive"),
    ("failures str", {"max_consecutive_failures": "x"}, "but got 'x'"),
]


@pytest.mark.parametrize(
    ("kwargs", "fragment"), [c[1:] for c in OPTIMIZE], ids=[c[0] for c in OPTIMIZE]
)
def test_optimize_refuses_before_any_trial(
    work: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    before = files(work)
    study = tunelab.load_study(STUDY, "tunelab.db")
    args = {"objective": _x, "n_trials": 8, **kwargs}
    refused(lambda: study.optimize(**args), fragment)
    assert files(work) == before
    assert len(study.trials) == 5


def test_worker_processes_cannot_share_memory_storage() -> None:
    study = tunelab.create_study(NEW, storage=":memory:")
    refused(lambda: study.optimize(_x, n_trials=2, n_jobs=2), "cannot share in-memory storage")
    refused(lambda: study.optimize(_x, n_trials=2, gpus=[0]), "cannot share in-memory storage")
    assert study.trials == []


CALLS: list[tuple[str, Callable[[tunelab.Study], Any], str]] = [
    ("enqueue list", lambda s: s.enqueue([1]), "enqueue() takes a dict of parameter values"),
    ("enqueue x=99", lambda s: s.enqueue({"x": 99}), "99 is not a valid value of Float('x'"),
    ("enqueue act", lambda s: s.enqueue({"act": "gelu"}), "'gelu' is not a valid value of Choice"),
    ("enqueue layers", lambda s: s.enqueue({"layers": 1.5}), "1.5 is not a valid value of Int"),
    ("enqueue key int", lambda s: s.enqueue({5: 1}), "each name enqueue() is given must be a str"),
    ("enqueue key 513", lambda s: s.enqueue({"k" * 513: 1}), "at most 512 characters"),
    ("enqueue object", lambda s: s.enqueue({"z": object()}), "must be JSON-serialisable"),
    ("ask budget -1", lambda s: s.ask(budget=-1), "budget must be a non-negative int or None"),
    ("ask budget str", lambda s: s.ask(budget="x"), "got 'x'"),
    ("tell unknown", lambda s: s.tell(999, 1.0), "trial 999 was not started by this study"),
    ("top_trials str", lambda s: s.top_trials("x"), "k must be a non-negative int"),
    ("top_trials -1", lambda s: s.top_trials(-1), "got -1"),
    ("get_trials", lambda s: s.get_trials(["DONE"]), "states are ['COMPLETE', 'FAIL'"),
]


@pytest.mark.parametrize(("call", "fragment"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_study_calls_refuse_and_store_nothing(
    work: Path, call: Callable[[tunelab.Study], Any], fragment: str
) -> None:
    before = files(work)
    study = tunelab.load_study(STUDY, "tunelab.db")
    refused(lambda: call(study), fragment)
    assert files(work) == before


def test_tell_with_a_state_that_does_not_finish_a_trial() -> None:
    study = tunelab.create_study(NEW, storage=":memory:")
    trial = study.ask()
    refused(lambda: study.tell(trial, 1.0, state=TrialState.RUNNING), "not TrialState.RUNNING")
    assert study.trials[0].state is TrialState.RUNNING


def test_the_best_trial_of_a_study_without_one() -> None:
    study = tunelab.create_study(NEW, storage=":memory:")
    refused(lambda: study.best_trial, "has no feasible complete trial yet; run some trials first")
