"""Each trial's artifact folder: beside the study's SQLite file by default, in the working
directory for storage kept in no file, under an explicit root when one is given; a study
name of any characters makes a safe folder name of its own."""

from __future__ import annotations

import pytest

import tunelab
from tunelab.errors import ConfigurationError
from tunelab.study.artifacts import folder_name


def test_the_default_folder_sits_beside_the_sqlite_file(tmp_path):
    study = tunelab.create_study("digits", storage=str(tmp_path / "runs.db"), metric="loss")
    trial = study.ask()
    folder = trial.artifact_dir()
    assert folder == tmp_path / "runs-artifacts" / "digits" / "trial-0"
    assert folder.is_dir()
    assert study.ask().artifact_dir(create=False) == folder.with_name("trial-1")
    assert not folder.with_name("trial-1").exists()


def test_an_in_memory_study_keeps_its_files_as_long_as_the_process(tmp_path, monkeypatch):
    """An in-memory study ends with its process: its files go to a temporary folder that
    goes with it, not into the working directory."""
    monkeypatch.chdir(tmp_path)
    study = tunelab.create_study("mem", storage=":memory:", metric="loss")
    trial = study.ask()
    folder = trial.artifact_dir()
    assert folder.is_dir() and folder.name == "trial-0" and folder.parent.name == "mem"
    assert folder.parent.parent.name.startswith("tunelab-artifacts-")
    assert not (tmp_path / "tunelab-artifacts").exists()


def test_postgresql_studies_keep_files_in_the_working_directory(
    tmp_path, monkeypatch, postgres_url
):
    monkeypatch.chdir(tmp_path)
    study = tunelab.create_study("pg", storage=postgres_url, metric="loss")
    trial = study.ask()
    assert trial.artifact_dir() == tmp_path / "tunelab-artifacts" / "pg" / "trial-0"
    assert trial.artifact_dir(tmp_path / "mine") == tmp_path / "mine" / "trial-0"
    assert trial.artifact_dir("relative") == tmp_path / "relative" / "trial-0"  # made absolute


def test_study_names_become_safe_distinct_folder_names():
    assert folder_name("digits-v2.1_a") == "digits-v2.1_a"  # safe names stay as they are
    names = ["a/b", "a_b", "a b", "../up", "..", "ü", "x" * 500, "x" * 501]
    made = [folder_name(n) for n in names]
    assert len(set(made)) == len(names)
    for m in made:
        assert "/" not in m and m not in ("", ".", "..") and not m.startswith(".")
        assert len(m) <= 90


def test_a_root_that_cannot_be_a_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    study = tunelab.create_study("s", storage=str(tmp_path / "tl.db"), metric="loss")
    trial = study.ask()
    with pytest.raises(
        ConfigurationError, match=r"cannot create the artifact folder .*file/trial-0"
    ):
        trial.artifact_dir(blocker)
    assert not study.trials[0].user_attrs
