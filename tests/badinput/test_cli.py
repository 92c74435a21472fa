"""Bad command lines: every one ends in one line on stderr that names the problem and the
fix, a non-zero exit, and the database and every other file as they were. The CLI runs in
this process through the same `main` as `python -m tunelab`; a few run as real processes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.types import TrialState

from .helpers import STUDY, cli_refuses, files, one_line

SCRIPTS = {
    "quad.py": (
        "METRIC = 'loss'\nDIRECTION = 'minimize'\n\n"
        "def objective(trial):\n    return trial.hp.Float('x', -2.0, 2.0) ** 2\n"
    ),
    "noobj.py": "x = 1\n",
    "syntax.py": "def objective(:\n",
    "importfail.py": "import os\nimport not_a_module_xyz\n",
    "raises.py": "raise RuntimeError('boom')\n",
    "nodata.py": "def build_model(hp):\n    return None\n",
    "hp5.py": "def objective(trial):\n    return trial.hp.Int(5, 1, 3)\n",
    "longname.py": "def objective(trial):\n    return trial.hp.Int('p' * 10_000, 1, 3)\n",
    "notes.txt": "not a database, not a script\n",
}
LONG = "n" * 600

CASES: list[tuple[str, list[str], str]] = [
    # run
    ("run no limit", ["run", "quad.py"], "say how long to search: --trials N, --timeout S"),
    ("run missing", ["run", "missing.py", "--trials", "1"], "no such script: 'missing.py'"),
    ("run folder", ["run", ".", "--trials", "1"], "is a directory"),
    ("run no objective", ["run", "noobj.py", "--trials", "1"], "defines no `objective(trial)`"),
    ("run syntax", ["run", "syntax.py", "--trials", "1"], "syntax error at line 1"),
    ("run import", ["run", "importfail.py", "--trials", "1"], "(line 2): ModuleNotFoundError"),
    ("run raises", ["run", "raises.py", "--trials", "1"], "failed to load (line 1): RuntimeError"),
    ("run no DATA", ["run", "nodata.py", "--trials", "1"], "defines build_model(hp) but no `DATA`"),
    (
        "run lr-find",
        ["run", "quad.py", "--trials", "1", "--lr-find"],
        "needs a script that defines",
    ),
    ("trials 0", ["run", "quad.py", "--trials", "0"], "Invalid value for '--trials': 0"),
    ("trials x", ["run", "quad.py", "--trials", "x"], "'x' is not a valid integer range"),
    ("timeout 0", ["run", "quad.py", "--timeout", "0"], "Invalid value for '--timeout'"),
    ("jobs 0", ["run", "quad.py", "--trials", "1", "--jobs", "0"], "Invalid value for '--jobs'"),
    ("seed -5", ["run", "quad.py", "--trials", "1", "--seed", "-5"], "Invalid value for '--seed'"),
    ("gpus empty", ["run", "quad.py", "--trials", "1", "--gpus", ""], "--gpus '' names no GPU"),
    ("gpus x", ["run", "quad.py", "--trials", "1", "--gpus", "0,x"], "'x' is not a GPU index"),
    ("gpus -1", ["run", "quad.py", "--trials", "1", "--gpus", "-1"], "'-1' is not a GPU index"),
    ("gpus ,", ["run", "quad.py", "--trials", "1", "--gpus", "0,"], "'' is not a GPU index"),
    (
        "gpus twice",
        ["run", "quad.py", "--trials", "1", "--gpus", "0,1,1"],
        "GPU 1 is listed twice in --gpus 0,1,1; list each device once and set --trials-per-gpu 2",
    ),
    ("gpus group twice", ["run", "quad.py", "--trials", "1", "--gpus", "0+1,1"], "listed twice"),
    (
        "per-gpu 0",
        ["run", "quad.py", "--trials", "1", "--gpus", "0", "--trials-per-gpu", "0"],
        "Invalid value for '--trials-per-gpu'",
    ),
    (
        "per-gpu -2",
        ["worker", STUDY, "--gpus", "0", "--trials-per-gpu", "-2"],
        "Invalid value for '--trials-per-gpu'",
    ),
    (
        "per-gpu alone",
        ["run", "quad.py", "--trials", "1", "--trials-per-gpu", "2"],
        "--trials-per-gpu goes with --gpus",
    ),
    (
        "gpus jobs",
        [
            "run",
            "quad.py",
            "--trials",
            "1",
            "--gpus",
            "0,1",
            "--trials-per-gpu",
            "2",
            "--jobs",
            "3",
        ],
        "--jobs 3 does not match --gpus 0,1 with --trials-per-gpu 2 (4 trials at a time)",
    ),
    ("worker gpus x", ["worker", STUDY, "--gpus", "a"], "--gpus a: 'a' is not a GPU index"),
    ("worker gpus twice", ["worker", STUDY, "--gpus", "2,2"], "GPU 2 is listed twice"),
    ("sampler", ["run", "quad.py", "--trials", "1", "--sampler", "nope"], "'nope' is not one of"),
    ("scheduler", ["run", "quad.py", "--trials", "1", "--scheduler", "x"], "'--scheduler'"),
    ("direction", ["run", "quad.py", "--trials", "1", "--direction", "up"], "'--direction'"),
    (
        "other metric",
        ["run", "quad.py", "--trials", "1", "--study", STUDY, "--metric", "acc"],
        "study 'demo' exists with metric='loss'",
    ),
    ("study 600", ["run", "quad.py", "--trials", "1", "--study", LONG], "at most 512 characters"),
    ("metric 256", ["run", "quad.py", "--trials", "1", "--metric", "m" * 256], "at most 255"),
    ("run URL", ["run", "quad.py", "--trials", "1", "--storage", "sqlite:/x"], "malformed storage"),
    ("run kind", ["run", "quad.py", "--trials", "1", "--storage", "foo://x"], "unknown database"),
    (
        "run folder db",
        ["run", "quad.py", "--trials", "1", "--storage", "no/t.db"],
        "does not exist",
    ),
    # show
    ("show missing", ["show", "nope"], "no study named 'nope' in sqlite:///tunelab.db"),
    ("show 600", ["show", LONG], "a study name must be at most 512 characters"),
    ("show no arg", ["show"], "Missing argument 'STUDY'"),
    ("show top 0", ["show", STUDY, "--top", "0"], "Invalid value for '--top'"),
    ("diagnose x", ["show", STUDY, "--diagnose", "x"], "--diagnose takes a trial number, 'all'"),
    ("diagnose 999", ["show", STUDY, "--diagnose", "999"], "study 'demo' has no trial #999"),
    ("show absent", ["show", STUDY, "--storage", "absent.db"], "no database at 'absent.db'"),
    ("show memory", ["show", STUDY, "--storage", ":memory:"], "this storage has no studies"),
    # studies
    ("studies absent", ["studies", "--storage", "absent.db"], "run a study first"),
    ("studies sqlite://", ["studies", "--storage", "sqlite://"], "in-memory SQLite database"),
    ("studies port", ["studies", "--storage", "postgresql://u@h:x/d"], "malformed storage URL"),
    # export
    ("export missing", ["export", "nope"], "no study named 'nope'"),
    ("export format", ["export", STUDY, "--format", "xml"], "'xml' is not one of 'csv', 'json'"),
    ("export no dir", ["export", STUDY, "-o", "nodir/x.csv"], "the folder 'nodir' does not exist"),
    ("export in file", ["export", STUDY, "-o", "notes.txt/x.csv"], "folder 'notes.txt' does not"),
    ("export /proc", ["export", STUDY, "-o", "/proc/x.csv"], "cannot write '/proc/x.csv'"),
    ("export exists", ["export", STUDY, "-o", "notes.txt"], "exists already; pass --force"),
    ("export over db", ["export", STUDY, "-o", "tunelab.db"], "'tunelab.db' exists already"),
    ("export folder", ["export", STUDY, "-o", "."], "is a directory"),
    (
        "export full",
        ["export", STUDY, "-o", "/dev/full", "--force"],
        "cannot write '/dev/full': No space left on device",
    ),
    # report
    ("report missing", ["report", "nope", "-o", "r.html"], "no study named 'nope'"),
    ("report no dir", ["report", STUDY, "-o", "nodir/r.html"], "the folder 'nodir' does not"),
    ("report /proc", ["report", STUDY, "-o", "/proc/x.html"], "cannot write '/proc/x.html'"),
    ("report exists", ["report", STUDY, "-o", "notes.txt"], "'notes.txt' exists already"),
    ("report folder", ["report", STUDY, "-o", "."], "is a directory"),
    ("report curves", ["report", STUDY, "--curves-by", "zz"], "has a hyperparameter 'zz'"),
    # retry, delete, status, stop
    ("retry missing", ["retry", "nope", "--failed"], "no study named 'nope'"),
    ("retry what", ["retry", STUDY], "say which trials to retry: --failed"),
    ("retry absent", ["retry", STUDY, "--failed", "--storage", "absent.db"], "no database at"),
    ("delete missing", ["delete", "nope", "--yes"], "no study named 'nope'"),
    ("delete 600", ["delete", LONG, "--yes"], "at most 512 characters"),
    ("status missing", ["status", "nope"], "no study named 'nope'"),
    ("stop missing", ["stop", "nope"], "no study named 'nope'"),
    # db upgrade
    ("upgrade folder", ["db", "upgrade", "."], "'.' is a folder, not a file"),
    ("upgrade no dir", ["db", "upgrade", "nodir/x.db"], "the folder 'nodir' does not exist"),
    ("upgrade text", ["db", "upgrade", "notes.txt"], "'notes.txt' is not a SQLite database"),
    ("upgrade memory", ["db", "upgrade", "sqlite://"], "cannot be shared between connections"),
    ("upgrade no url", ["db", "upgrade"], "Missing argument 'URL'"),
    # lr-find, seed-spread
    ("lr-find script", ["lr-find", "quad.py"], "lr-find needs a script that defines build_model"),
    ("lr-find start", ["lr-find", "quad.py", "--start", "0"], "Invalid value for '--start'"),
    ("lr-find steps", ["lr-find", "quad.py", "--steps", "5"], "Invalid value for '--steps'"),
    ("lr-find json", ["lr-find", "quad.py", "--json", "no/x.json"], "the folder 'no' does not"),
    ("lr-find plot", ["lr-find", "quad.py", "--plot", "/proc/x/y.png"], "'/proc/x' does not"),
    ("seed-spread", ["seed-spread", "quad.py", "--study", "nope"], "no study named 'nope'"),
    ("seeds 0", ["seed-spread", "quad.py", "--seeds", "0"], "Invalid value for '--seeds'"),
    # the command itself
    ("no command", ["nosuchcommand"], "No such command 'nosuchcommand'"),
    ("no option", ["--bogus"], "No such option '--bogus'"),
]


@pytest.fixture
def scripts(work: Path) -> Path:
    for name, text in SCRIPTS.items():
        (work / name).write_text(text)
    return work


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_command_line_gets_one_line_and_changes_nothing(
    scripts: Path, args: list[str], fragment: str
) -> None:
    before = files(scripts)
    cli_refuses(args, fragment)
    assert files(scripts) == before


IN_A_TRIAL: list[tuple[str, str, str]] = [
    ("hp.Int(5, …)", "hp5.py", "a hyperparameter name must be a string, but got 5 (int)"),
    ("10k name", "longname.py", "a hyperparameter name must be at most 512 characters"),
]


@pytest.mark.parametrize(
    ("script", "fragment"), [c[1:] for c in IN_A_TRIAL], ids=[c[0] for c in IN_A_TRIAL]
)
def test_a_bad_definition_in_a_script_stops_the_run_in_one_line(
    scripts: Path, script: str, fragment: str
) -> None:
    line = cli_refuses(["run", script, "--trials", "3", "--no-progress"], fragment)
    study = tunelab.load_study(Path(script).stem, "tunelab.db")
    [trial] = study.trials  # the first trial failed with the line as its reason; no other ran
    assert trial.state is TrialState.FAIL and line.removeprefix("error: ") in (trial.reason or "")
    assert study.space.names() == []  # the bad name was never stored


V1_FILE = Path(__file__).parent.parent / "storage" / "data" / "v1.db"

UPGRADE_COPY: list[tuple[str, list[str], Callable[[Path], object], str]] = [
    ("copy exists", [], lambda p: p.write_text("an old copy\n"), "exists (a copy from an earlier"),
    (
        "copy a folder",
        ["--force"],
        Path.mkdir,
        "is a folder, where the upgrade copies the database",
    ),
]


@pytest.mark.parametrize(
    ("extra", "make", "fragment"), [c[1:] for c in UPGRADE_COPY], ids=[c[0] for c in UPGRADE_COPY]
)
def test_an_upgrade_that_cannot_copy_first_changes_nothing(
    work: Path, extra: list[str], make: Callable[[Path], object], fragment: str
) -> None:
    shutil.copyfile(V1_FILE, work / "old.db")
    make(work / "old.db.v1-backup")
    before = files(work)
    cli_refuses(["db", "upgrade", "old.db", *extra], fragment)
    assert files(work) == before


def test_the_default_report_file_is_not_replaced_without_force(work: Path) -> None:
    (work / f"{STUDY}-report.html").write_text("an older report\n")
    before = files(work)
    cli_refuses(["report", STUDY], "'demo-report.html' exists already; pass --force")
    assert files(work) == before


def test_delete_not_confirmed_deletes_nothing(work: Path) -> None:
    before = files(work)
    cli_refuses(["delete", STUDY], "not deleted", input="n\n")
    assert files(work) == before


# -- as real processes -----------------------------------------------------------------------
def _process_refuses(work: Path, args: list[str], fragment: str) -> None:
    before = files(work)
    result = run_tunelab(*args, cwd=work, timeout=120)
    assert result.returncode != 0
    assert fragment in one_line(result.stderr)
    assert files(work) == before


PROCESS_CASES: list[tuple[str, list[str], str]] = [
    ("export no dir", ["export", STUDY, "-o", "nodir/x.csv"], "the folder 'nodir' does not exist"),
    ("report /proc", ["report", STUDY, "-o", "/proc/x.html"], "cannot write '/proc/x.html'"),
    ("studies 0-byte", ["studies", "--storage", "empty.db"], "is an empty file (0 bytes)"),
    ("show 600", ["show", LONG], "a study name must be at most 512 characters"),
]


@pytest.mark.parametrize(
    ("args", "fragment"), [c[1:] for c in PROCESS_CASES], ids=[c[0] for c in PROCESS_CASES]
)
def test_as_a_process(work: Path, args: list[str], fragment: str) -> None:
    (work / "empty.db").write_bytes(b"")
    _process_refuses(work, args, fragment)


def test_an_objective_returning_10_to_the_400_ends_the_run_in_lines_not_a_traceback(
    work: Path,
) -> None:
    (work / "big.py").write_text(
        "def objective(trial):\n    trial.hp.Float('x', 0.0, 1.0)\n    return 10**400\n"
    )
    result = run_tunelab("run", "big.py", "--trials", "8", "--no-progress", cwd=work, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 6  # the five failed trials, one line each, then the error
    assert all(line.startswith(f"trial {i} failed: ") for i, line in enumerate(lines[:5]))
    assert lines[-1].startswith("error: 5 trials in a row failed; the last: the objective")
    assert "a number too large for a float" in lines[-1]
