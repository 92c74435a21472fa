"""TUNELAB_STORAGE: the storage every command and the Python API use when none is
given, on real SQLite files; --storage and storage= still win; a bad value is one line
that names the variable."""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab

SCRIPT = """
def objective(trial):
    return trial.hp.Float("x", 0.0, 1.0)
"""

tunelab_cli = functools.partial(run_tunelab, timeout=120)


def _study_names(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM tunelab_studies")]


def test_python_api_uses_the_variable_when_storage_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "shared" / "env.db"
    db.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNELAB_STORAGE", f"sqlite:///{db}")
    study = tunelab.create_study("from-env", metric="x")
    study.optimize(lambda t: t.hp.Float("x", 0.0, 1.0), n_trials=2)
    study.storage.close()
    assert _study_names(db) == ["from-env"]
    assert not (tmp_path / "tunelab.db").exists()
    loaded = tunelab.load_study("from-env")
    assert len(loaded.trials) == 2
    loaded.storage.close()
    # an explicit storage wins over the variable
    other = tunelab.create_study("explicit", storage=str(tmp_path / "other.db"), metric="x")
    other.storage.close()
    assert _study_names(tmp_path / "other.db") == ["explicit"]
    assert _study_names(db) == ["from-env"]


def test_python_api_bad_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_STORAGE", "  ")
    with pytest.raises(tunelab.StorageError, match="TUNELAB_STORAGE is set but empty"):
        tunelab.create_study("never")
    monkeypatch.setenv("TUNELAB_STORAGE", str(tmp_path / "missing" / "x.db"))
    with pytest.raises(tunelab.StorageError, match=r"^TUNELAB_STORAGE=.*folder .* does not exist"):
        tunelab.create_study("never")
    assert not (tmp_path / "missing").exists()


def test_every_command_uses_the_variable(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(SCRIPT)
    db = tmp_path / "env.db"
    env = {"TUNELAB_STORAGE": str(db)}
    ran = tunelab_cli("run", "s.py", "--trials", "2", "--no-progress", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert f"in sqlite:///{db}" in ran.stdout
    assert _study_names(db) == ["s"]
    assert not (tmp_path / "tunelab.db").exists()
    listed = tunelab_cli("studies", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)["studies"]] == ["s"]
    # --storage wins over the variable: this database has no study s
    other = tunelab_cli("show", "s", "--storage", str(tmp_path / "none.db"), cwd=tmp_path, env=env)
    assert other.returncode == 1
    assert "TUNELAB_STORAGE" not in other.stderr


def test_a_bad_value_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    env = {"TUNELAB_STORAGE": "sqlite:/broken"}
    shown = tunelab_cli("status", "s", cwd=tmp_path, env=env)
    assert shown.returncode == 1
    lines = shown.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TUNELAB_STORAGE='sqlite:/broken': ")
    assert list(tmp_path.iterdir()) == []
