"""A worker runs only a script its user named, and says which: a script path stored in a
shared database is never imported on its own, `tunelab run` records the script it was
started with, and a worker whose script differs from that record warns."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab

SCRIPT = """
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    return trial.hp.Float("x", 0, 1)
"""
# What someone with write access to the database points the study at: importing it
# leaves a marker file.
POISON = "from pathlib import Path\nPath(__file__).with_name('imported').touch()\n" + SCRIPT

tunelab_cli = functools.partial(run_tunelab, timeout=120)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_script(db: Path, name: str) -> object:
    study = tunelab.load_study(name, str(db))
    try:
        return study.settings.get("script")
    finally:
        study.storage.close()


def poisoned_study(tmp_path: Path, bare_path: bool) -> Path:
    """A study whose stored script is poison.py: as {path, sha256}, or as an older
    tunelab's bare path."""
    poison = tmp_path / "poison.py"
    poison.write_text(POISON)
    db = tmp_path / "s.db"
    study = tunelab.create_study("s", storage=str(db), metric="loss", direction="minimize")
    value = str(poison) if bare_path else {"path": str(poison), "sha256": sha256(poison)}
    study.storage.set_study_setting(study.study_id, "script", value)
    study.storage.close()
    return poison


@pytest.mark.parametrize("bare_path", [False, True], ids=["path+hash", "older bare path"])
def test_a_stored_script_is_never_imported_without_the_users_word(
    tmp_path: Path, bare_path: bool
) -> None:
    poison = poisoned_study(tmp_path, bare_path)
    before = stored_script(tmp_path / "s.db", "s")
    refused = tunelab_cli("worker", "s", "--storage", "s.db", "--trials", "1", cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"study 's' was started with {poison} (sha256 " in refused.stderr
    assert "give --script PATH, or --use-stored-script" in refused.stderr
    assert not (tmp_path / "imported").exists()

    (tmp_path / "mine.py").write_text(SCRIPT)
    mine = tunelab_cli(
        "worker", "s", "--storage", "s.db", "--script", "mine.py", "--trials", "1", cwd=tmp_path
    )
    assert mine.returncode == 0, mine.stderr
    digest = sha256(tmp_path / "mine.py")[:12]
    assert f"script {tmp_path / 'mine.py'} (sha256 {digest})\n" in mine.stdout
    assert not (tmp_path / "imported").exists()
    warned = f"is not the script study 's' was started with: {poison} (sha256 "
    assert (warned in mine.stderr) is not bare_path  # an older record has no hash to compare
    # the record stays what the study was started with; a worker changes no setting
    assert stored_script(tmp_path / "s.db", "s") == before


def test_run_records_its_script_and_workers_compare_with_it(tmp_path: Path) -> None:
    script = tmp_path / "quad.py"
    script.write_text(SCRIPT)
    first = sha256(script)
    assert (
        tunelab_cli("run", "quad.py", "--trials", "1", "--no-progress", cwd=tmp_path).returncode
        == 0
    )
    record = {"path": str(script), "sha256": first}
    assert stored_script(tmp_path / "tunelab.db", "quad") == record

    script.write_text(SCRIPT + "# edited\n")
    rerun = tunelab_cli("run", "quad.py", "--trials", "2", "--no-progress", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert stored_script(tmp_path / "tunelab.db", "quad") == record  # what it started with

    same_name = tunelab_cli("worker", "quad", "--script", "quad.py", "--trials", "3", cwd=tmp_path)
    assert same_name.returncode == 0, same_name.stderr
    assert f"script {script} (sha256 {sha256(script)[:12]})\n" in same_name.stdout
    assert same_name.stderr == (
        f"warning: {script} (sha256 {sha256(script)[:12]}) is not the script study 'quad' "
        f"was started with: {script} (sha256 {first[:12]})\n"
    )

    script.write_text(SCRIPT)  # back to the recorded bytes: no warning
    stored = tunelab_cli("worker", "quad", "--use-stored-script", "--trials", "4", cwd=tmp_path)
    assert stored.returncode == 0 and stored.stderr == "", stored.stderr
    assert f"script {script} (sha256 {first[:12]})\n" in stored.stdout
    assert "worker done: 4 complete" in stored.stdout


def test_an_older_bare_path_runs_with_the_flag_and_gains_its_hash(tmp_path: Path) -> None:
    script = tmp_path / "obj.py"
    script.write_text(SCRIPT)
    study = tunelab.create_study("s", storage=str(tmp_path / "s.db"), metric="loss")
    study.storage.set_study_setting(study.study_id, "script", str(script))
    study.storage.close()
    (tmp_path / "elsewhere").mkdir()
    args = ("worker", "s", "--storage", str(tmp_path / "s.db"), "--use-stored-script")
    result = tunelab_cli(*args, "--trials", "1", cwd=tmp_path / "elsewhere")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert f"script {script} (sha256 {sha256(script)[:12]})\n" in result.stdout
    assert stored_script(tmp_path / "s.db", "s") == {"path": str(script), "sha256": sha256(script)}


def test_script_and_use_stored_script_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "obj.py").write_text(SCRIPT)
    tunelab.create_study("s", storage=str(tmp_path / "s.db")).storage.close()
    args = ("worker", "s", "--storage", "s.db", "--script", "obj.py", "--use-stored-script")
    result = tunelab_cli(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: give either --script PATH or --use-stored-script, not both\n"
