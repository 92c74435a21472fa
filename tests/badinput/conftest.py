"""One small real study, made once per test session and copied for each case: a case may
damage its copy, and must leave it byte for byte as it found it when it refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import fill_study


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tunelab.db"
    fill_study(str(path))
    assert not Path(f"{path}-wal").exists()  # closed: everything is in the file itself
    return path


@pytest.fixture
def work(template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder, made the current one, holding a copy of the study as tunelab.db (the
    default storage) and nothing else."""
    shutil.copyfile(template_db, tmp_path / "tunelab.db")
    monkeypatch.chdir(tmp_path)
    return tmp_path
