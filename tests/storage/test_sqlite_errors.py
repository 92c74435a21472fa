"""Bad storage input gets a clear StorageError and loses nothing; everything stored is JSON."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path

import pytest

import tunelab
from tunelab.errors import SchemaVersionError, StorageError, StudyConflictError
from tunelab.storage import get_storage
from tunelab.storage.sql import SQLStorage
from tunelab.storage.sql import schema as sql_schema
from tunelab.types import TrialState


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused(url: str, error: type[StorageError] = StorageError) -> StorageError:
    """Every way in refuses `url` with `error`; return the error SQLStorage raised."""
    with pytest.raises(error) as caught:
        SQLStorage(url)
    with pytest.raises(error):
        get_storage(url)
    with pytest.raises(error):
        tunelab.create_study("s", storage=url)
    return caught.value


def _tunelab_db(path: Path) -> None:
    """A tunelab database with one study and one finished trial, closed."""
    study = tunelab.create_study("kept", storage=str(path), metric="loss", direction="minimize")
    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=2)
    study.storage.close()


def _set_meta(path: Path, sql: str, *args: object) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute(sql, args)
    con.close()


# -- URLs and paths --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["sqlite:/x.db", "sqlite:relative.db", "postgresql//nohost", "postgres:/h/db", "   "]
)
def test_malformed_url(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = _refused(url)
    assert "URL" in str(err) and "sqlite:///" in str(err)  # the rule and an example
    assert list(tmp_path.iterdir()) == []  # no file appeared under any name


def test_unknown_database_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = _refused("nosuchdb+nodriver://user@host/db")
    assert "nosuchdb" in str(err)


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    err = _refused(str(missing / "t.db"))
    assert str(missing) in str(err) and "does not exist" in str(err)
    _refused(f"sqlite:///{missing / 't.db'}")
    assert not (tmp_path / "no").exists()  # nothing was created on the way


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    err = _refused(str(tmp_path))
    assert "folder" in str(err)


def test_in_memory_sqlite_url_is_refused_with_a_hint() -> None:
    err = _refused("sqlite://")
    assert ":memory:" in str(err)


# -- files that are not (good) tunelab databases --------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        os.urandom(4096),
        b"epoch,loss\n1,0.5\n2,0.25\n",
        b"SQLite format 3\x00" + b"\xff" * 2000,  # the header, then garbage
    ],
    ids=["random-bytes", "text", "sqlite-header-then-garbage"],
)
def test_corrupted_file_is_refused_and_left_alone(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_bytes(content)
    err = _refused(str(path))
    assert "t.db" in str(err)
    assert _files(tmp_path) == {"t.db": content}


def test_damaged_tunelab_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _tunelab_db(path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page : 2 * page] = b"\x5a" * page  # scribble over the schema's second page
    data[100:page] = b"\xa5" * (page - 100)  # and over the schema table itself
    path.write_bytes(bytes(data))
    _refused(str(path))
    assert _files(tmp_path) == {"t.db": bytes(data)}


def test_other_sqlite_database_is_refused_byte_for_byte_intact(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    con = sqlite3.connect(path)  # the default rollback journal, as most programs leave it
    with con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        con.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("alan",)])
    con.close()
    before = _files(tmp_path)

    err = _refused(str(path), SchemaVersionError)
    assert "not a tunelab database" in str(err) and "users" in str(err)
    assert _files(tmp_path) == before  # same bytes (still not WAL), no -wal/-shm left
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert con.execute("SELECT name FROM users ORDER BY id").fetchall() == [("ada",), ("alan",)]
    con.close()


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _tunelab_db(path)
    newer = sql_schema.SCHEMA_VERSION + 1
    _set_meta(path, "UPDATE tunelab_meta SET value = ? WHERE key = 'schema_version'", str(newer))
    before = _files(tmp_path)
    err = _refused(str(path), SchemaVersionError)
    assert f"schema version {newer}" in str(err) and "upgrade tunelab" in str(err)
    with pytest.raises(SchemaVersionError):
        tunelab.load_study("kept", storage=str(path))
    assert _files(tmp_path) == before


def test_older_schema_is_not_upgraded_silently(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _tunelab_db(path)
    _set_meta(path, "UPDATE tunelab_meta SET value = '0' WHERE key = 'schema_version'")
    before = _files(tmp_path)
    err = _refused(str(path), SchemaVersionError)
    assert "tunelab db upgrade" in str(err)
    assert _files(tmp_path) == before


def test_missing_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _tunelab_db(path)
    _set_meta(path, "DELETE FROM tunelab_meta")
    before = _files(tmp_path)
    err = _refused(str(path), SchemaVersionError)
    assert "schema_version" in str(err)
    assert _files(tmp_path) == before


def test_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLStorage(str(path)).close()
    con = sqlite3.connect(path)
    assert con.execute(
        "SELECT value FROM tunelab_meta WHERE key = 'schema_version'"
    ).fetchone() == (str(sql_schema.SCHEMA_VERSION),)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


def test_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    study = tunelab.create_study("s", storage=str(path))
    assert study.storage.get_study("s") is not None


# -- an existing study with other settings --------------------------------------------------
@pytest.mark.parametrize(("metric", "direction"), [("acc", "minimize"), ("loss", "maximize")])
def test_existing_study_with_other_settings_conflicts(
    metric: str, direction: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.db"
    _tunelab_db(path)
    url = str(path)
    before = [(t.number, t.state, t.value) for t in tunelab.load_study("kept", url).trials]
    assert len(before) == 2

    with pytest.raises(StudyConflictError) as caught:
        tunelab.create_study("kept", storage=url, metric=metric, direction=direction)
    assert "'kept'" in str(caught.value) and "metric='loss'" in str(caught.value)
    with pytest.raises(StudyConflictError):
        tunelab.create_study(
            "kept", storage=url, metric="loss", direction="minimize", load_if_exists=False
        )

    kept = tunelab.load_study("kept", url)
    assert (kept.metric, kept.direction.value) == ("loss", "minimize")
    assert [(t.number, t.state, t.value) for t in kept.trials] == before
    same = tunelab.create_study("kept", storage=url, metric="loss", direction="min")
    assert len(same.trials) == 2  # the same settings load the study


# -- JSON only ---------------------------------------------------------------------------------
def _strict_json(text: str) -> object:
    def refuse(token: str) -> object:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_everything_stored_is_strict_json(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    study = tunelab.create_study("j", storage=str(path), metric="loss", direction="minimize")

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.hp.Choice("act", ["relu", "tanh"])
        trial.report(0, loss=math.nan, grad=math.inf)
        trial.report(1, loss=x)
        trial.set_user_attr("curve", [x, -math.inf, {"n": 1}])
        return x

    study.enqueue({"x": 0.5})
    study.optimize(objective, n_trials=3)
    study.storage.close()

    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert set(tables) == {t.name for t in sql_schema.metadata.sorted_tables}
    checked = 0
    for table in tables:
        columns = con.execute(f"PRAGMA table_info({table})").fetchall()
        assert not [c for c in columns if "BLOB" in c[2].upper()], f"{table} has a BLOB column"
        for name, notnull in [(c[1], c[3]) for c in columns if c[1].endswith("_json")]:
            for (text,) in con.execute(f"SELECT {name} FROM {table}"):
                if text is None and not notnull:  # values_json: NULL when there is no value
                    continue
                assert isinstance(text, str)
                _strict_json(text)  # parses as standard JSON: no pickle, no NaN tokens
                checked += 1
    con.close()
    assert checked >= 3 * 4 + 6  # trials x json columns + reports

    trials = tunelab.load_study("j", str(path)).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert trials[0].params["x"] == 0.5
    first = trials[0].reports[0].metrics
    assert math.isnan(first["loss"]) and first["grad"] == math.inf
    assert trials[0].user_attrs["curve"][1] == -math.inf
