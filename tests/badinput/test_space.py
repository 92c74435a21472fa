"""Bad hyperparameter definitions: each is refused when defined, with one line that names
the rule and the values that broke it; inside a study, the search stops with that line as
the trial's reason and nothing about the search space is stored."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import SearchSpaceError
from tunelab.space import Boolean, Choice, Fixed, Float, HyperParameters, Int
from tunelab.types import TrialState

from .helpers import STUDY, one_line, refused, sqlite_rows

Define = Callable[[HyperParameters], Any]


def _scoped(hp: HyperParameters, parent: str) -> None:
    with hp.conditional_scope(parent, ["a"]):
        hp.Int("child", 0, 1)


def _twice(first: Define, second: Define) -> Define:
    return lambda hp: (first(hp), second(hp))


SPACE: list[tuple[str, Define, str]] = [
    # names
    ("int name", lambda hp: hp.Int(5, 1, 3), "a hyperparameter name must be a string, but got 5"),
    ("none name", lambda hp: hp.Float(None, 0, 1), "must be a string, but got None"),
    ("bytes name", lambda hp: hp.Choice(b"act", ["a"]), "must be a string, but got b'act'"),
    ("tuple name", lambda hp: hp.Boolean(("a",)), "must be a string, but got ('a',) (tuple)"),
    ("list name", lambda hp: hp.Choice(["a"], [1, 2]), "must be a string, but got ['a'] (list)"),
    ("empty name", lambda hp: hp.Int("", 1, 3), "must be a non-empty string, but got ''"),
    ("long name", lambda hp: hp.Int("a" * 513, 1, 3), "at most 512 characters"),
    ("10k name", lambda hp: hp.Float("w" * 10_000, 0, 1), "but got 10000"),
    ("fixed name", lambda hp: hp.Fixed(3.5, 1), "must be a string, but got 3.5 (float)"),
    # Int bounds, steps, sampling, default
    ("int swapped", lambda hp: hp.Int("a", 3, 1), "`min_value <= max_value` must hold"),
    ("int str bound", lambda hp: hp.Int("a", "1", 3), "must be numbers, but got (min_value='1'"),
    ("int None bound", lambda hp: hp.Int("a", 0, None), "max_value=None"),
    ("int bool bound", lambda hp: hp.Int("a", True, 3), "min_value=True"),
    ("int inf", lambda hp: hp.Int("a", 0, math.inf), "must be finite, but got"),
    ("int nan", lambda hp: hp.Int("a", math.nan, 3), "must be finite, but got (min_value=nan"),
    ("int fraction", lambda hp: hp.Int("a", 1.5, 3), "Int needs integer bounds"),
    ("int 10**400", lambda hp: hp.Int("a", 0, 10**400), "max_value must fit a float"),
    ("int -10**400", lambda hp: hp.Int("a", -(10**400), 0), "an int of 401 digits"),
    ("int log 0", lambda hp: hp.Int("a", 0, 8, sampling="log"), "needs `min_value > 0`"),
    ("int rlog <0", lambda hp: hp.Int("a", -1, 8, sampling="reverse_log"), "min_value=-1"),
    ("int step 0", lambda hp: hp.Int("a", 0, 3, step=0), "step must be a positive number"),
    ("int step -1", lambda hp: hp.Int("a", 0, 3, step=-1), "but got step=-1"),
    ("int step 0.5", lambda hp: hp.Int("a", 0, 3, step=0.5), "Int needs an integer step"),
    ("int step big", lambda hp: hp.Int("a", 0, 3, step=10), "not be larger than the range"),
    ("int step str", lambda hp: hp.Int("a", 0, 3, step="1"), "but got step='1'"),
    ("int step 10**400", lambda hp: hp.Int("a", 0, 3, step=10**400), "step must fit a float"),
    ("log step 1", lambda hp: hp.Int("a", 1, 64, step=1, sampling="log"), "must be > 1"),
    ("log step big", lambda hp: hp.Int("a", 1, 8, step=16, sampling="log"), "must not exceed"),
    ("rlog step", lambda hp: hp.Float("a", 1, 2, step=0.5, sampling="reverse_log"), "no step"),
    ("sampling", lambda hp: hp.Int("a", 0, 3, sampling="cubic"), "sampling must be one of"),
    ("sampling int", lambda hp: hp.Float("a", 0, 3, sampling=3), "but got '3'"),
    ("int default out", lambda hp: hp.Int("a", 0, 3, default=9), "default=9 is outside"),
    ("default off step", lambda hp: hp.Int("a", 0, 10, step=5, default=3), "with step=5"),
    ("int default str", lambda hp: hp.Int("a", 0, 3, default="1"), "default='1' is outside"),
    ("int default huge", lambda hp: hp.Int("a", 0, 3, default=10**400), "default must fit"),
    # Float
    ("float swapped", lambda hp: hp.Float("b", 1, 0), "swap them"),
    ("float log <0", lambda hp: hp.Float("b", -1, 1, sampling="log"), "log sampling needs"),
    ("float nan", lambda hp: hp.Float("b", 0, math.nan), "max_value=nan"),
    ("float -inf", lambda hp: hp.Float("b", -math.inf, 0), "must be finite"),
    ("float complex", lambda hp: hp.Float("b", 0, 1j), "must be numbers"),
    ("float 10**400", lambda hp: hp.Float("b", 0, 10**400), "max_value must fit a float"),
    ("float step big", lambda hp: hp.Float("b", 0, 1, step=2), "use a smaller step"),
    ("float default", lambda hp: hp.Float("b", 0, 1, default=2), "default=2 is outside"),
    # Choice
    ("choice str", lambda hp: hp.Choice("c", "abc"), "Choice values must be a list, but got"),
    ("choice int", lambda hp: hp.Choice("c", 5), "must be a list, but got 5"),
    ("choice None", lambda hp: hp.Choice("c", None), "must be a list, but got None"),
    ("choice set", lambda hp: hp.Choice("c", {1, 2}), "must be a list, but got {1, 2}"),
    ("choice empty", lambda hp: hp.Choice("c", []), "needs at least one value"),
    ("choice nan", lambda hp: hp.Choice("c", [1, math.nan]), "must not be NaN"),
    ("choice dicts", lambda hp: hp.Choice("c", [{"a": 1}]), "(types: dict)"),
    ("choice mixed", lambda hp: hp.Choice("c", [1, "a"]), "(types: number, str)"),
    ("choice None in", lambda hp: hp.Choice("c", [None, 1]), "(types: NoneType, number)"),
    ("choice bool+int", lambda hp: hp.Choice("c", [True, 2]), "(types: bool, number)"),
    ("choice repeat", lambda hp: hp.Choice("c", [1, 1.0, 2]), "must be unique, but 1.0 repeat"),
    ("choice default", lambda hp: hp.Choice("c", [1, 2], default=3), "default=3 is not one of"),
    ("ordered str", lambda hp: hp.Choice("c", ["a"], ordered=True), "needs numeric values"),
    ("choice 10**400", lambda hp: hp.Choice("c", [10**400, 1]), "each value must fit a float"),
    # Boolean, Fixed
    ("bool default 1", lambda hp: hp.Boolean("d", default=1), "must be True or False"),
    ("bool default str", lambda hp: hp.Boolean("d", default="yes"), "but got 'yes'"),
    ("fixed list", lambda hp: hp.Fixed("e", [1]), "Fixed value must be a number, string"),
    ("fixed None", lambda hp: hp.Fixed("e", None), "but got None"),
    ("fixed nan", lambda hp: hp.Fixed("e", math.nan), "Fixed value must not be NaN"),
    # conditions and redefinitions
    (
        "parent alone",
        lambda hp: hp.Int("f", 0, 1, parent_name="g"),
        "parent_name and parent_values go together",
    ),
    (
        "unknown parent",
        lambda hp: hp.Int("f", 0, 1, parent_name="zz", parent_values=[1]),
        "conditional scope on 'zz', which has not been defined yet",
    ),
    ("unknown scope", lambda hp: _scoped(hp, "zz"), "define the parent hyperparameter before"),
    (
        "new range",
        _twice(lambda hp: hp.Int("g", 0, 3), lambda hp: hp.Int("g", 0, 4)),
        "a name keeps one domain within a study",
    ),
    (
        "new type",
        _twice(lambda hp: hp.Int("h", 0, 3), lambda hp: hp.Float("h", 0, 3)),
        "is now redefined as Float('h'",
    ),
    (
        "new choices",
        _twice(lambda hp: hp.Choice("k", ["a"]), lambda hp: hp.Choice("k", ["a", "b"])),
        "was defined as Choice('k'",
    ),
    ("define str", lambda hp: hp.define("lr"), "define() takes a tunelab.space parameter"),
]


@pytest.mark.parametrize(("define", "fragment"), [c[1:] for c in SPACE], ids=[c[0] for c in SPACE])
def test_a_bad_definition_is_refused_in_one_line(define: Define, fragment: str) -> None:
    refused(lambda: define(HyperParameters()), fragment)


CLASSES: list[tuple[str, Callable[[], Any], str]] = [
    ("Int(5, 1, 3)", lambda: Int(5, 1, 3), "a hyperparameter name must be a string"),
    ("Float name 600", lambda: Float("f" * 600, 0, 1), "at most 512 characters"),
    ("Choice()", lambda: Choice("c"), "needs at least one value"),
    ("Boolean(None)", lambda: Boolean(None), "must be a string, but got None"),
    ("Fixed name ''", lambda: Fixed("", 1), "must be a non-empty string"),
]


@pytest.mark.parametrize(
    ("make", "fragment"), [c[1:] for c in CLASSES], ids=[c[0] for c in CLASSES]
)
def test_a_bad_parameter_object_is_refused_when_made(
    make: Callable[[], Any], fragment: str
) -> None:
    refused(make, fragment)


IN_A_STUDY: list[tuple[str, Define, str]] = [
    ("hp.Int(5, …)", lambda hp: hp.Int(5, 1, 3), "a hyperparameter name must be a string"),
    ("10k name", lambda hp: hp.Int("p" * 10_000, 1, 3), "at most 512 characters"),
    ("stored x, new range", lambda hp: hp.Float("x", 0.0, 1.0), "was defined as Float('x'"),
    ("stored act, Int now", lambda hp: hp.Int("act", 0, 1), "a name keeps one domain"),
]


@pytest.mark.parametrize(
    ("define", "fragment"), [c[1:] for c in IN_A_STUDY], ids=[c[0] for c in IN_A_STUDY]
)
def test_in_a_study_the_search_stops_with_the_line_as_reason(
    work: Path, define: Define, fragment: str
) -> None:
    before = sqlite_rows(work / "tunelab.db")["tunelab_params"]
    study = tunelab.load_study(STUDY, "tunelab.db")
    error = refused(lambda: study.optimize(lambda t: define(t.hp), n_trials=10), fragment)
    assert isinstance(error, SearchSpaceError)
    last = study.trials[-1]
    assert last.state is TrialState.FAIL and len(study.trials) == 6  # the search stopped
    assert str(error) in one_line(last.reason or "")
    assert sqlite_rows(work / "tunelab.db")["tunelab_params"] == before
