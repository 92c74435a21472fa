"""What an objective returns or does wrong. A result that is no number for the study's
metric fails its own trial with one line that says what to return, and the search goes on;
misusing the trial handle (report, set_user_attr) stops the search with that line as the
trial's reason. The trials stored before are left exactly as they were."""

from __future__ import annotations

import decimal
import fractions
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunelab
from tunelab.types import EndCause, TrialState

from .helpers import METRIC, STUDY, one_line, refused, sqlite_rows

HINT = f"return a number or a dict with '{METRIC}'"

RETURNS: list[tuple[str, Any, EndCause, str]] = [
    ("10**400", 10**400, EndCause.INVALID_RESULT, "a number too large for a float"),
    ("-10**400", -(10**400), EndCause.INVALID_RESULT, "too large for a float (about 1.8e308"),
    ("Fraction", fractions.Fraction(10**400, 3), EndCause.INVALID_RESULT, "too large for a float"),
    ("dict 10**400", {METRIC: 10**400}, EndCause.INVALID_RESULT, "too large for a float"),
    ("None", None, EndCause.INVALID_RESULT, f"the objective returned None; {HINT}"),
    ("str", "0.5", EndCause.INVALID_RESULT, "returned '0.5', which is not a number"),
    ("bytes", b"1", EndCause.INVALID_RESULT, "returned b'1', which is not a number"),
    ("True", True, EndCause.INVALID_RESULT, "returned True, which is not a number"),
    ("list", [1, 2], EndCause.INVALID_RESULT, "returned [1, 2], which is not a number"),
    ("tuple", (1.0,), EndCause.INVALID_RESULT, "returned (1.0,), which is not a number"),
    ("set", {1.0}, EndCause.INVALID_RESULT, "returned {1.0}, which is not a number"),
    ("complex", 1 + 2j, EndCause.INVALID_RESULT, "returned (1+2j), which is not a number"),
    ("object", object(), EndCause.INVALID_RESULT, "returned <object object at"),
    ("array", np.array([1.0, 2.0]), EndCause.INVALID_RESULT, "returned array([1., 2.])"),
    ("empty dict", {}, EndCause.INVALID_RESULT, "metrics [] without the study's metric 'loss'"),
    ("other metric", {"acc": 1}, EndCause.INVALID_RESULT, "or create the study with metric="),
    ("dict None", {METRIC: None}, EndCause.INVALID_RESULT, "the objective returned None"),
    ("dict str", {METRIC: "x"}, EndCause.INVALID_RESULT, "returned 'x', which is not a number"),
    ("long metric", {METRIC: 1.0, "k" * 300: 1}, EndCause.INVALID_RESULT, "at most 255"),
    ("nan", math.nan, EndCause.DIVERGED, "the objective returned loss=nan (diverged?)"),
    ("inf", math.inf, EndCause.DIVERGED, "returned loss=inf (diverged?)"),
    ("-inf", -math.inf, EndCause.DIVERGED, "returned loss=-inf"),
    ("float32 nan", np.float32("nan"), EndCause.DIVERGED, "loss=nan"),
    ("Decimal 1e400", decimal.Decimal("1e400"), EndCause.DIVERGED, "loss=inf"),
]


def _finished_rows(path: Path) -> list[tuple[Any, ...]]:
    return sqlite_rows(path)["tunelab_trials"][:5]  # the trials the copy came with


@pytest.mark.parametrize(
    ("result", "cause", "fragment"), [c[1:] for c in RETURNS], ids=[c[0] for c in RETURNS]
)
def test_a_result_that_is_no_number_fails_its_trial_and_the_search_goes_on(
    work: Path, result: Any, cause: EndCause, fragment: str
) -> None:
    before = _finished_rows(work / "tunelab.db")
    study = tunelab.load_study(STUDY, "tunelab.db")

    def objective(trial: tunelab.Trial) -> Any:
        trial.hp.Float("x", -2.0, 2.0)
        return result

    study.optimize(objective, n_trials=7)  # two more trials: both fail, neither raises
    new = study.trials[5:]
    assert [(t.state, t.end_cause) for t in new] == [(TrialState.FAIL, cause)] * 2
    assert fragment in one_line(new[-1].reason or "")
    assert _finished_rows(work / "tunelab.db") == before


MISUSE: list[tuple[str, Callable[[tunelab.Trial], Any], str]] = [
    ("step -1", lambda t: t.report(-1, loss=1.0), "report step must be a non-negative int"),
    ("step str", lambda t: t.report("1", loss=1.0), "but got step='1'"),
    ("step 1.5", lambda t: t.report(1.5, loss=1.0), "but got step=1.5"),
    ("step back", lambda t: (t.report(2, loss=1.0), t.report(1, loss=1.0)), "must increase"),
    ("no metric", lambda t: t.report(0), "report() needs at least one metric"),
    ("metric str", lambda t: t.report(0, loss="x"), "reported metric 'loss' must be a number"),
    ("metric None", lambda t: t.report(0, loss=None), "but got None"),
    ("metric 10**400", lambda t: t.report(0, loss=10**400), "that fits a float"),
    ("metric name", lambda t: t.report(0, **{"m" * 256: 1.0}), "a reported metric name must be"),
    ("attr key 256", lambda t: t.set_user_attr("k" * 256, 1), "a user attribute key must be at"),
    ("attr key int", lambda t: t.set_user_attr(5, 1), "a user attribute key must be a string"),
    ("attr object", lambda t: t.set_user_attr("k", object()), "must be JSON-serialisable"),
]


@pytest.mark.parametrize(
    ("misuse", "fragment"), [c[1:] for c in MISUSE], ids=[c[0] for c in MISUSE]
)
def test_misusing_the_trial_stops_the_search_with_one_line(
    work: Path, misuse: Callable[[tunelab.Trial], Any], fragment: str
) -> None:
    before = _finished_rows(work / "tunelab.db")
    study = tunelab.load_study(STUDY, "tunelab.db")

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", -2.0, 2.0)
        misuse(trial)
        return x

    error = refused(lambda: study.optimize(objective, n_trials=8), fragment)
    last = study.trials[-1]
    assert len(study.trials) == 6 and last.state is TrialState.FAIL
    assert str(error) in one_line(last.reason or "")
    assert _finished_rows(work / "tunelab.db") == before
