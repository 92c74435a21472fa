"""Off a terminal, `tunelab run` and `tunelab worker` print one line per finished trial
(real subprocesses, stdout piped); on a terminal, `run` keeps its progress bar."""

from __future__ import annotations

import functools
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_process import cli_env, run_tunelab

# The loss is a function of the trial number, so each line's numbers are known.
SCRIPT = """
import tunelab

METRIC = "loss"
DIRECTION = "minimize"
LOSS = [5.0, 3.0, 4.0, 1.0, 2.0, 0.5, 6.0, 7.0]

def objective(trial):
    trial.hp.Float("x", 0.0, 1.0)
    n = trial.number
    if n == 2:
        raise ValueError("boom \\x1b[31mred\\nsecond line")
    if n == 4:
        trial.report(0, loss=9.0)
        trial.report(1, loss=8.0)
        raise tunelab.TrialPruned()
    return {"loss": LOSS[n]}
"""

MULTI = """
METRICS = ["loss", "size"]
DIRECTIONS = ["minimize", "minimize"]

def objective(trial):
    n = trial.number
    return {"loss": float(n), "size": float(3 - n)}
"""

LINE = re.compile(r"^trial (\d+) (COMPLETE|PRUNED|FAIL)\b.* \d+\.\d s$")

tunelab = functools.partial(run_tunelab, timeout=120)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for name, source in (("steps.py", SCRIPT), ("two.py", MULTI)):
        (tmp_path / name).write_text(source)
    return tmp_path


def trial_lines(stdout: str) -> dict[int, str]:
    """Trial number -> its line; fails on a trial given two lines."""
    found: dict[int, str] = {}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match:
            number = int(match.group(1))
            assert number not in found, f"two lines for trial {number}:\n{stdout}"
            found[number] = line
    return found


def stored_losses(work: Path, study: str) -> dict[int, float | None]:
    data = json.loads(tunelab("export", study, "--format", "json", cwd=work).stdout)
    return {t["number"]: (t.get("metrics") or {}).get("loss") for t in data["trials"]}


def test_a_piped_run_prints_a_line_per_trial_with_its_numbers(work: Path) -> None:
    result = tunelab("run", "steps.py", "--trials", "5", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = trial_lines(result.stdout)
    assert sorted(lines) == [0, 1, 2, 3, 4], result.stdout
    assert lines[0].startswith("trial 0 COMPLETE loss=5 (best #0 5) ")
    assert lines[1].startswith("trial 1 COMPLETE loss=3 (best #1 3) ")
    assert lines[3].startswith("trial 3 COMPLETE loss=1 (best #3 1) ")
    # the failure's first line only, its escape made visible; the pruned trial's step
    assert lines[2].startswith("trial 2 FAIL: ValueError: boom \\x1b[31mred ")
    assert "second line" not in result.stdout and "\x1b" not in result.stdout
    assert lines[4].startswith("trial 4 PRUNED at step 1 ")
    assert "(best #3 1)" in lines[4]
    # no bar on the piped streams, and the lines come before the summary
    assert "ETA" not in result.stdout + result.stderr
    assert result.stdout.index("trial 4 ") < result.stdout.index("3 complete")
    # a rerun prints its own trials only; --no-progress keeps the lines (they are the log)
    again = tunelab("run", "steps.py", "--trials", "6", "--no-progress", cwd=work)
    assert again.returncode == 0, again.stderr
    rerun = trial_lines(again.stdout)
    assert list(rerun) == [5], again.stdout
    assert rerun[5].startswith("trial 5 COMPLETE loss=0.5 (best #5 0.5) ")


@pytest.mark.slow
def test_two_jobs_print_each_trial_once(work: Path) -> None:
    result = tunelab("run", "steps.py", "--trials", "8", "--jobs", "2", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = trial_lines(result.stdout)
    assert sorted(lines) == list(range(8)), result.stdout
    for number, loss in stored_losses(work, "steps").items():
        if number not in (2, 4):  # failed and pruned
            assert f" COMPLETE loss={loss:.6g} (best #" in lines[number]


def test_several_objectives_show_each_value_and_the_front(work: Path) -> None:
    result = tunelab("run", "two.py", "--trials", "3", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = trial_lines(result.stdout)
    assert lines[0].startswith("trial 0 COMPLETE loss=0 size=3 (front 1) ")
    assert lines[2].startswith("trial 2 COMPLETE loss=2 size=1 (front 3) ")


def test_a_worker_without_a_terminal_prints_its_trials(work: Path) -> None:
    result = tunelab("worker", "steps", "--script", "steps.py", "--trials", "4", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = trial_lines(result.stdout)
    assert sorted(lines) == [0, 1, 2, 3], result.stdout
    assert lines[3].startswith("trial 3 COMPLETE loss=1 (best #3 1) ")
    assert result.stdout.index("trial 3 ") < result.stdout.index("worker done")


def test_on_a_terminal_run_shows_the_bar_and_no_lines(work: Path) -> None:
    main, sub = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tunelab", "run", "steps.py", "--trials", "2"],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=sub,
            stderr=sub,
            start_new_session=True,
            env=cli_env(),
        )
        os.close(sub)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(main)
    shown = b"".join(chunks).decode(errors="replace")
    assert "2/2" in shown and "ETA" in shown and "best loss=" in shown
    assert not any(LINE.match(line.strip()) for line in shown.splitlines()), shown
