"""Rows changed outside tunelab (a hand edit, another program, a bad restore): reading
them is refused in one line that names the study, the trial and the column, says what is
wrong with the value and what to do, through the API and the CLI alike, and nothing is
written back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import tunelab

from .helpers import STUDY, cli_refuses, files, refused

TRIAL = f"study '{STUDY}', trial 0, column tunelab_trials."
STUDY_ROW = f"study '{STUDY}', column tunelab_studies."
NOT_JSON = "it is not valid JSON ("
NOT_OBJECT = "but a JSON object is expected"
FIX = "the database was changed outside tunelab: restore it from a backup"


def _trial0(column: str, value: str) -> str:
    return f"UPDATE tunelab_trials SET {column} = {value} WHERE number = 0"


def _study(column: str, value: str) -> str:
    return f"UPDATE tunelab_studies SET {column} = {value}"


def _definition(value: str) -> str:
    return f"UPDATE tunelab_params SET definition_json = {value} WHERE name = 'x'"


TRIALS_WAYS = ("trials", "show")
STUDY_WAYS = ("list_studies", "studies")
SPACE_WAYS = ("load_study", "export")

DAMAGE: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("params not JSON", _trial0("params_json", "'{bad'"), f"{TRIAL}params_json: {NOT_JSON}", ()),
    (
        "params a list",
        _trial0("params_json", "'[1]'"),
        f"params_json: it holds '[1]', {NOT_OBJECT}",
        (),
    ),
    (
        "metrics cut",
        _trial0("metrics_json", """'{"loss": '"""),
        f"{TRIAL}metrics_json: {NOT_JSON}",
        (),
    ),
    (
        "metrics a blob",
        _trial0("metrics_json", "x'7b7d'"),
        "metrics_json: it holds bytes b'{}'",
        (),
    ),
    (
        "user attrs null",
        _trial0("user_attrs_json", "'null'"),
        f"user_attrs_json: it holds 'null', {NOT_OBJECT}",
        (),
    ),
    (
        "system attrs cut",
        _trial0("system_attrs_json", """'{"a":'"""),
        f"{TRIAL}system_attrs_json",
        (),
    ),
    (
        "enqueued a str",
        _trial0("enqueued_json", """'"x"'"""),
        f"{TRIAL}enqueued_json: it holds",
        (),
    ),
    (
        "values a str",
        _trial0("values_json", """'"ab"'"""),
        "values_json: it holds '\"ab\"', but a list of numbers",
        (),
    ),
    ("values a dict", _trial0("values_json", "'{}'"), "but a list of numbers is expected", ()),
    ("values cut", _trial0("values_json", "'[1,'"), f"{TRIAL}values_json: {NOT_JSON}Expecting", ()),
    (
        "bad $float",
        _trial0("values_json", """'[{"$float": "huge"}]'"""),
        "a $float marker must be one of",
        (),
    ),
    ("state", _trial0("state", "'BOGUS'"), "tunelab_trials.state: ", ()),
    ("end cause", _trial0("end_cause", "'X'"), f"{TRIAL}end_cause: it holds 'X', not one of", ()),
    (
        "report not JSON",
        "UPDATE tunelab_reports SET metrics_json = '{oops' WHERE step = 0 AND trial_id = 1",
        f"study '{STUDY}', trial 0, column tunelab_reports.metrics_json at step 0: {NOT_JSON}",
        (),
    ),
    (
        "report a list",
        "UPDATE tunelab_reports SET metrics_json = '[]' WHERE trial_id = 1",
        "tunelab_reports.metrics_json at step 0: it is not a JSON object",
        (),
    ),
    (
        "sampler cut",
        _study("sampler_json", "'[1'"),
        f"{STUDY_ROW}sampler_json: {NOT_JSON}",
        STUDY_WAYS,
    ),
    (
        "settings a list",
        _study("settings_json", "'[]'"),
        f"{STUDY_ROW}settings_json: it holds '[]'",
        STUDY_WAYS,
    ),
    (
        "study attrs",
        _study("user_attrs_json", "'nope'"),
        f"{STUDY_ROW}user_attrs_json: {NOT_JSON}",
        STUDY_WAYS,
    ),
    (
        "direction",
        _study("direction", "'up'"),
        f"{STUDY_ROW}direction: it holds 'up', not one of",
        STUDY_WAYS,
    ),
    (
        "objectives cut",
        _study("objectives_json", "'[{'"),
        f"{STUDY_ROW}objectives_json: {NOT_JSON}",
        STUDY_WAYS,
    ),
    (
        "objectives direction",
        _study("objectives_json", """'[{"metric": "loss", "direction": "up"}]'"""),
        f"{STUDY_ROW}objectives_json: it holds",
        STUDY_WAYS,
    ),
    (
        "constraints an object",
        _study("constraints_json", """'{"m": 1}'"""),
        f"{STUDY_ROW}constraints_json: it holds",
        STUDY_WAYS,
    ),
    (
        "constraint bound",
        _study("constraints_json", """'[{"metric": "m", "op": "<=", "bound": "x"}]'"""),
        f"{STUDY_ROW}constraints_json: it holds",
        STUDY_WAYS,
    ),
    (
        "definition cut",
        _definition("'{'"),
        f"study '{STUDY}', column tunelab_params.definition_json of 'x': {NOT_JSON}",
        SPACE_WAYS,
    ),
    (
        "definition type",
        _definition("""'{"type": "zz", "name": "x"}'"""),
        "study 'demo': the stored definition of hyperparameter 'x' cannot be read (unknown",
        SPACE_WAYS,
    ),
    (
        "definition range",
        _definition("""'{"type": "float", "name": "x", "min_value": 5, "max_value": 1}'"""),
        "cannot be read ('x': `min_value <= max_value` must hold",
        SPACE_WAYS,
    ),
    (
        "definition field",
        _definition("""'{"type": "float", "name": "x", "color": 5}'"""),
        "got an unexpected keyword argument 'color'",
        SPACE_WAYS,
    ),
]

WAYS: dict[str, Callable[[str], object]] = {
    "trials": lambda f: refused(lambda: tunelab.load_study(STUDY, "tunelab.db").trials, f),
    "show": lambda f: cli_refuses(["show", STUDY], f),
    "list_studies": lambda f: refused(lambda: tunelab.list_studies("tunelab.db"), f),
    "studies": lambda f: cli_refuses(["studies"], f),
    "load_study": lambda f: refused(lambda: tunelab.load_study(STUDY, "tunelab.db"), f),
    "export": lambda f: cli_refuses(["export", STUDY], f),
}

CASES = [
    (name, sql, fragment, way)
    for name, sql, fragment, ways in DAMAGE
    for way in ways or TRIALS_WAYS
]


@pytest.mark.parametrize(
    ("sql", "fragment", "way"), [c[1:] for c in CASES], ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_a_damaged_value_is_named_with_its_study_trial_and_column(
    work: Path, sql: str, fragment: str, way: str
) -> None:
    con = sqlite3.connect(work / "tunelab.db")
    with con:
        assert con.execute(sql).rowcount == 1 or "tunelab_params" in sql
    con.close()
    before = files(work)
    WAYS[way](fragment)
    assert files(work) == before


def test_the_line_says_what_to_do(work: Path) -> None:
    con = sqlite3.connect(work / "tunelab.db")
    with con:
        con.execute(_trial0("params_json", "'{bad'"))
    con.close()
    line = cli_refuses(["export", STUDY, "--format", "json"], TRIAL)
    assert line.endswith(f"{FIX} or correct that value")
