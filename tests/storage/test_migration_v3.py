"""Schema v2 -> v3 on the committed v2 database (data/v2.db), in SQLite and PostgreSQL:
refused until `tunelab db upgrade` (a real process), which adds the studies' objectives
and constraints and changes nothing else; the upgraded single-objective studies read and
run as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.errors import SchemaVersionError
from tunelab.objectives import Objective
from tunelab.types import Direction, TrialState

from .v1_fixture import fill_postgres, read_tables

V2_FILE = Path(__file__).parent / "data" / "v2.db"
NEW_COLUMNS = {"objectives_json", "constraints_json"}


def _postgres_copy(url: str, folder: Path) -> None:
    """The v2 tables as migrations 0001-0002 build them, holding every row of v2.db."""
    shutil.copyfile(V2_FILE, folder / "v2.db")
    rows = read_tables(f"sqlite:///{folder / 'v2.db'}")
    fill_postgres(url, rows, "0002", versioned=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def v2(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        shutil.copyfile(V2_FILE, tmp_path / "v2.db")
        return f"sqlite:///{tmp_path / 'v2.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _postgres_copy(url, tmp_path)
    return url


def _without_new_columns(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out = {name: [{k: v for k, v in row.items() if k not in NEW_COLUMNS} for row in rows]
           for name, rows in tables.items()}  # fmt: skip
    out.pop("tunelab_meta")
    out.pop("tunelab_alembic_version")
    return out


def test_v2_is_refused_then_upgraded_keeping_every_row(v2: str, tmp_path: Path) -> None:
    before = read_tables(v2)
    assert before["tunelab_meta"] == [{"key": "schema_version", "value": "2"}]
    with pytest.raises(SchemaVersionError, match="schema version 2, older"):
        tunelab.load_study("v2-min", v2)
    assert read_tables(v2) == before
    done = run_tunelab("db", "upgrade", v2, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "schema version 2 -> 3"
    if v2.startswith("sqlite"):
        assert (tmp_path / "v2.db.v2-backup").read_bytes() == V2_FILE.read_bytes()
    after = read_tables(v2)
    assert after["tunelab_meta"] == [{"key": "schema_version", "value": "3"}]
    assert _without_new_columns(after) == _without_new_columns(before)
    for row in after["tunelab_studies"]:
        objectives = [{"metric": row["metric"], "direction": row["direction"]}]
        assert json.loads(row["objectives_json"]) == objectives
        assert json.loads(row["constraints_json"]) == []


def test_upgraded_single_objective_studies_read_and_run_as_before(v2: str, tmp_path: Path) -> None:
    assert run_tunelab("db", "upgrade", v2, cwd=tmp_path, timeout=120).returncode == 0
    low = tunelab.load_study("v2-min", v2)
    assert low.objectives == (Objective("val_loss", Direction.MINIMIZE),)
    assert not low.multi_objective and low.constraints == ()
    assert low.best_trial.number == 1 and low.best_trials == [low.best_trial]
    assert all(t.feasible for t in low.trials)
    high = tunelab.load_study("v2-max", v2)
    assert high.best_value == pytest.approx(0.6)
    assert [t.state for t in high.trials][-1] is TrialState.PRUNED
    low.optimize(lambda t: (t.hp.Float("x", -2.0, 2.0) - 0.5) ** 2, n_trials=8)
    assert len(low.get_trials([TrialState.COMPLETE])) == 6
    summaries = {s.record.name: s.best_value for s in tunelab.list_studies(v2)}
    assert summaries["v2-max"] == pytest.approx(0.6)
    low.storage.close()
    high.storage.close()
