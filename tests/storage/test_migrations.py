"""Schema v1 -> current on the committed v1 database (data/v1.db), in SQLite and PostgreSQL.

The new code refuses a v1 database, changing nothing, with one line naming `tunelab db
upgrade`; that command (run as a real process) copies a SQLite file first and upgrades
in one transaction; afterwards every study, trial, report and attribute reads back as
the v1 code read it (data/v1_expected.json), at the SQL level, and the new columns hold
what the v1 rows meant."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import inspect

import tunelab
from cli_process import run_tunelab, start_tunelab
from tunelab.errors import SchemaVersionError
from tunelab.storage.sql import SQLStorage, schema
from tunelab.storage.sql.engine import make_engine
from tunelab.storage.sql.migrations import ALEMBIC_DIR, SCHEMA_LOCK_KEY, ensure_schema

from .v1_fixture import (
    CAUSES,
    EXPECTED,
    MOVED,
    RETRIES,
    V1_FILE,
    V1Copy,
    postgres_copy,
    read_tables,
    sqlite_copy,
)

V = schema.SCHEMA_VERSION


@pytest.fixture(params=["sqlite", "postgresql"])
def v1(request: pytest.FixtureRequest, tmp_path: Path) -> V1Copy:
    if request.param == "sqlite":
        return sqlite_copy(tmp_path)
    return postgres_copy(request.getfixturevalue("postgres_url"), tmp_path)


def _upgrade(v1: V1Copy, *options: str) -> Any:
    return run_tunelab(
        "db",
        "upgrade",
        v1.url,
        *options,
        cwd=v1.file.parent if v1.file else Path.cwd(),
        timeout=120,
    )


def _files(v1: V1Copy) -> dict[str, bytes]:
    assert v1.file is not None
    return {p.name: p.read_bytes() for p in sorted(v1.file.parent.iterdir()) if p.is_file()}


def test_the_fixture_is_a_v1_database_holding_every_trial_kind() -> None:
    tables = read_tables(f"sqlite:///{V1_FILE}")
    assert set(tables) == {
        "tunelab_meta",
        "tunelab_studies",
        "tunelab_params",
        "tunelab_trials",
        "tunelab_reports",
    }
    assert tables["tunelab_meta"] == [{"key": "schema_version", "value": "1"}]
    studies = {s["name"]: s for s in EXPECTED["studies"]}
    assert {n: len(s["trials"]) for n, s in studies.items()} == {
        n: len(c) for n, c in CAUSES.items()
    }
    states = {t["state"] for s in EXPECTED["studies"] for t in s["trials"]}
    assert states == {"COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"}


def test_a_v1_database_is_refused_and_left_as_it_was(v1: V1Copy) -> None:
    before = _files(v1) if v1.file else read_tables(v1.url)
    for open_it in (
        lambda: tunelab.load_study("v1-mixed", v1.url),
        lambda: SQLStorage(v1.url),
        lambda: tunelab.create_study("v1-mixed", storage=v1.url),
    ):
        with pytest.raises(SchemaVersionError) as refused:
            open_it()
        message = str(refused.value)
        assert "\n" not in message and f"run `tunelab db upgrade {v1.url}`" in message
        assert "schema version 1, older" in message
    shown = run_tunelab("show", "v1-mixed", "--storage", v1.url, cwd=Path.cwd(), timeout=60)
    lines = shown.stderr.strip().splitlines()
    assert shown.returncode == 1 and len(lines) == 1 and "tunelab db upgrade" in lines[0]
    assert (_files(v1) if v1.file else read_tables(v1.url)) == before  # byte for byte


def test_upgrade_keeps_every_value_and_maps_v1_rows_to_v2_columns(v1: V1Copy) -> None:
    done = _upgrade(v1)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    if v1.file is not None:
        backup = v1.file.with_name("v1.db.v1-backup")
        assert lines == [f"copied the v1 database to {backup}", f"schema version 1 -> {V}"]
        assert backup.read_bytes() == V1_FILE.read_bytes()
    else:
        assert len(lines) == 2 and "one transaction" in lines[0] and "pg_dump" in lines[0]
        assert lines[1] == f"schema version 1 -> {V}"
    tables = read_tables(v1.url)
    assert tables["tunelab_meta"] == [{"key": "schema_version", "value": str(V)}]
    assert tables["tunelab_alembic_version"] == [{"version_num": schema.ALEMBIC_HEAD}]
    assert_reads_back_as_v1(tables)
    assert_v2_columns(tables)

    again = _upgrade(v1)
    assert again.returncode == 0 and again.stdout.strip() == f"schema is current (v{V})"
    assert read_tables(v1.url) == tables
    tunelab.load_study("v1-mixed", v1.url).storage.close()  # the new code opens it


def assert_reads_back_as_v1(tables: dict[str, list[dict[str, Any]]]) -> None:
    """Every study, parameter, trial and report equals what the v1 code read."""
    assert len(tables["tunelab_studies"]) == len(EXPECTED["studies"])
    for row, study in zip(tables["tunelab_studies"], EXPECTED["studies"], strict=True):
        assert (row["study_id"], row["name"], row["metric"], row["direction"]) == (
            study["study_id"], study["name"], study["metric"], study["direction"],
        )  # fmt: skip
        for column, key in (
            ("sampler_json", "sampler"),
            ("settings_json", "settings"),
            ("user_attrs_json", "user_attrs"),
        ):
            assert json.loads(row[column]) == study[key], (study["name"], key)
        space = [p for p in tables["tunelab_params"] if p["study_id"] == study["study_id"]]
        space.sort(key=lambda p: p["position"])
        assert [json.loads(p["definition_json"]) for p in space] == study["space"]
    trials = {t["trial_id"]: t for t in tables["tunelab_trials"]}
    expected_trials = [t for s in EXPECTED["studies"] for t in s["trials"]]
    assert sorted(trials) == sorted(t["trial_id"] for t in expected_trials)
    for want in expected_trials:
        got = trials[want["trial_id"]]
        where = f"trial id {want['trial_id']}"
        for key in (
            "number",
            "state",
            "value",
            "reason",
            "worker",
            "heartbeat",
            "datetime_start",
            "datetime_complete",
        ):
            assert got[key] == want[key], (where, key)
        for key in ("params", "metrics", "user_attrs"):
            assert json.loads(got[f"{key}_json"]) == want[key], (where, key)
        kept = {k: v for k, v in want["system_attrs"].items() if k not in MOVED}
        assert json.loads(got["system_attrs_json"]) == kept, where
        assert got["interrupted"] == bool(want["system_attrs"].get("interrupted")), where
        reports = [r for r in tables["tunelab_reports"] if r["trial_id"] == want["trial_id"]]
        assert [
            {"step": r["step"], "metrics": json.loads(r["metrics_json"]), "time": r["time"]}
            for r in reports
        ] == want["reports"], where


def assert_v2_columns(tables: dict[str, list[dict[str, Any]]]) -> None:
    """The new columns say what each v1 row meant."""
    by_name = {s["study_id"]: s["name"] for s in tables["tunelab_studies"]}
    rows = {(by_name[t["study_id"]], t["number"]): t for t in tables["tunelab_trials"]}
    number_of = {t["trial_id"]: t["number"] for t in tables["tunelab_trials"]}
    for study in EXPECTED["studies"]:
        for want in study["trials"]:
            got = rows[study["name"], want["number"]]
            where = (study["name"], want["number"])
            assert got["end_cause"] == CAUSES[study["name"]][want["number"]], where
            value = want["value"]
            assert got["values_json"] == (None if value is None else json.dumps([value])), where
            attrs = want["system_attrs"]
            assert json.loads(got["enqueued_json"]) == attrs.get("fixed_params", {}), where
            assert got["attempt"] == attrs.get("retries", 0), where
            for key in ("retry_of", "retried_by"):
                assert got[key] == (number_of[attrs[key]] if key in attrs else None), where
    for name, original, retry, attempt in RETRIES:
        assert rows[name, original]["retried_by"] == retry
        assert rows[name, retry]["retry_of"] == original
        assert rows[name, retry]["attempt"] == attempt
        assert rows[name, original]["interrupted"]  # left out of the budget, as in v1
    mixed = {n: rows["v1-mixed", n] for n in (0, 16, 17)}
    assert json.loads(mixed[0]["enqueued_json"]) == {"lr": 0.01, "optimizer": "adam"}
    assert json.loads(mixed[17]["enqueued_json"]) == {"lr": 0.05, "layers": 2, "batch_norm": True}
    assert mixed[16]["state"] == "RUNNING" and mixed[16]["end_cause"] is None
    assert json.loads(rows["v1-hyperband", 4]["system_attrs_json"])["bracket"] == 0


def test_an_upgraded_database_is_refused_by_the_v1_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1 read tunelab_meta's schema_version and refused any version above 1: run the
    same check with this tunelab's version set back to 1."""
    v1 = sqlite_copy(tmp_path)
    assert _upgrade(v1).returncode == 0
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    engine = make_engine(v1.url)
    try:
        with pytest.raises(
            SchemaVersionError, match=f"schema version {V}, newer than this tunelab knows"
        ):
            ensure_schema(engine, v1.url, create=False)
    finally:
        engine.dispose()


def test_an_upgraded_database_has_the_schema_of_a_new_one(
    v1: V1Copy, tmp_path: Path, new_postgres_database: Callable[[], str]
) -> None:
    assert _upgrade(v1).returncode == 0
    fresh = f"sqlite:///{tmp_path / 'new.db'}" if v1.file else new_postgres_database()
    SQLStorage(fresh).close()
    assert _shape(v1.url) == _shape(fresh)


def test_the_baseline_migration_builds_the_v1_tables(tmp_path: Path) -> None:
    from alembic import command

    from tunelab.storage.sql.migrations import alembic_config

    built = f"sqlite:///{tmp_path / 'built.db'}"
    engine = make_engine(built)
    with engine.connect() as conn, conn.begin():
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    shape = _shape(built)
    del shape["tunelab_alembic_version"]
    assert shape == _shape(f"sqlite:///{V1_FILE}")


def _shape(url: str) -> dict[str, Any]:
    """Tables with their columns (name, type, nullable, default), keys and indexes."""
    engine = make_engine(url, must_exist=True)
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            return {
                name: (
                    [
                        (c["name"], str(c["type"]), c["nullable"], c["default"])
                        for c in found.get_columns(name)
                    ],
                    found.get_pk_constraint(name)["constrained_columns"],
                    sorted(u["column_names"] for u in found.get_unique_constraints(name)),
                    sorted(
                        (i["name"], i["column_names"], i["unique"]) for i in found.get_indexes(name)
                    ),
                    sorted(
                        (
                            f["referred_table"],
                            f["constrained_columns"],
                            f["options"].get("ondelete"),
                        )
                        for f in found.get_foreign_keys(name)
                    ),
                )
                for name in sorted(found.get_table_names())
            }
    finally:
        engine.dispose()


@contextlib.contextmanager
def _schema_locked(v1: V1Copy) -> Iterator[None]:
    """Hold what an upgrade takes first: SQLite's write lock, PostgreSQL's advisory lock."""
    if v1.file is not None:
        holder = sqlite3.connect(v1.file, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with psycopg.connect(v1.url.replace("postgresql+psycopg", "postgresql")) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        yield


def test_opening_a_database_takes_no_write_lock(v1: V1Copy) -> None:
    """The version is read in a plain read transaction: an open (here, refused as v1)
    does not wait for an upgrade or a writer holding the lock."""
    with _schema_locked(v1):
        started = time.monotonic()
        with pytest.raises(SchemaVersionError, match="tunelab db upgrade"):
            SQLStorage(v1.url)
        assert time.monotonic() - started < 5  # the lock would hold it for the busy timeout


def test_two_upgrades_at_once_upgrade_once(v1: V1Copy) -> None:
    """Both start while the lock is held, so they overlap; one upgrades, one finds it done."""
    cwd = v1.file.parent if v1.file else Path.cwd()
    with _schema_locked(v1):
        procs = [start_tunelab("db", "upgrade", v1.url, cwd=cwd) for _ in range(2)]
        time.sleep(3)  # both are up and waiting on the lock
        assert [p.poll() for p in procs] == [None, None]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    finals = sorted(out.strip().splitlines()[-1] for out, _ in outs)
    assert finals == [f"schema is current (v{V})", f"schema version 1 -> {V}"]
    tables = read_tables(v1.url)
    assert_reads_back_as_v1(tables)
    assert_v2_columns(tables)
    if v1.file is not None:
        assert v1.file.with_name("v1.db.v1-backup").read_bytes() == V1_FILE.read_bytes()


def test_an_existing_backup_is_kept_unless_forced(tmp_path: Path) -> None:
    v1 = sqlite_copy(tmp_path)
    backup = tmp_path / "v1.db.v1-backup"
    backup.write_text("an older copy")
    before = _files(v1)
    refused = _upgrade(v1)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1 and "--force" in lines[0], refused.stderr
    assert str(backup) in lines[0] and _files(v1) == before
    forced = _upgrade(v1, "--force")
    assert forced.returncode == 0 and f"schema version 1 -> {V}" in forced.stdout
    assert backup.read_bytes() == V1_FILE.read_bytes()


def test_a_failed_upgrade_changes_nothing(v1: V1Copy) -> None:
    engine = make_engine(v1.url)
    with engine.begin() as conn:  # damage one row: its system attributes are not an object
        conn.execute(
            schema.trials.update()
            .where(schema.trials.c.trial_id == 20)
            .values(system_attrs_json="[1]")
        )
    engine.dispose()
    before = read_tables(v1.url)
    failed = _upgrade(v1)
    lines = failed.stderr.strip().splitlines()
    assert failed.returncode == 1 and len(lines) == 1, failed.stderr
    assert "changed nothing" in lines[0] and "trial id 20" in lines[0]
    assert read_tables(v1.url) == before
    if v1.file is not None:
        assert sorted(p.name for p in v1.file.parent.iterdir()) == ["v1.db"]  # no copy left


def _migration(name: str) -> Any:
    path = next((ALEMBIC_DIR / "versions").glob(f"{name}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("state", "reason", "attrs", "cause"),
    [
        ("FAIL", "interrupted: its worker stopped on an error", {"interrupted": True}, "INTERRUPTED"),
        ("FAIL", "study 'g': every grid cell has been tried", {"interrupted": True}, "INTERRUPTED"),
        ("FAIL", "interrupted (Ctrl-C)", {"interrupted": True, "retried_by": 9}, "INTERRUPTED"),
        ("FAIL", "trial memory limit: used 900 MiB, over 512 MiB, and was stopped", {"limit": True}, "KILLED"),
        ("FAIL", "the process running the trial died (exit code 1); out of memory?", {"crashed": True, "interrupted": True, "retried_by": 4}, "KILLED"),
        ("FAIL", "the objective returned {'loss': 1} without the metric", {"interrupted": True, "retried_by": 3}, "INVALID_RESULT"),
        ("FAIL", "worker lost: its process stopped without finishing the trial", {"interrupted": True, "retried_by": 2, "raised": True}, "LOST"),
        ("PRUNED", "diverged at step 3: train_loss exploded to 9 (first report 1)", {}, "DIVERGED"),
        ("PRUNED", "asha rung 1: ranks 3 of 4", {}, "PRUNED"),
        ("WAITING", None, {"fixed_params": {}}, None),
    ],
)  # fmt: skip
def test_end_causes_of_v1_texts_not_in_the_fixture(
    state: str, reason: str | None, attrs: dict[str, Any], cause: str | None
) -> None:
    assert _migration("0002").end_cause(state, reason or "", attrs) == cause


def test_the_migrations_end_at_the_schema_head() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(ALEMBIC_DIR)).get_current_head() == schema.ALEMBIC_HEAD
