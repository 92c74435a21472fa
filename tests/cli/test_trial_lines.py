"""Off a terminal, `tunelab run` and `tunelab worker` print one line per finished trial;
the line's content is checked in-process on a real in-memory study (fast), the wiring
through real subprocesses with piped output (and one pseudo-terminal for the bar)."""

from __future__ import annotations

import functools
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tunelab
from cli_process import cli_env, run_tunelab
from tunelab.cli.lines import TrialLines

# The loss is a function of the trial number, so each line's numbers are known;
# trials 3 and 6 tie, and the earlier one stays best (as study.best_trial says).
LOSSES = [5.0, 3.0, 4.0, 1.0, 2.0, 0.5, 0.5, 7.0]
SCRIPT = f"""
import tunelab

METRIC = "loss"
DIRECTION = "minimize"
LOSS = {LOSSES!r}

def objective(trial):
    trial.hp.Float("x", 0.0, 1.0)
    n = trial.number
    if n == 2:
        raise ValueError("boom \\x1b[31mred\\nsecond line")
    if n == 4:
        trial.report(0, loss=9.0)
        trial.report(1, loss=8.0)
        raise tunelab.TrialPruned()
    return {{"loss": LOSS[n]}}
"""

LINE = re.compile(r"^trial (\d+) (COMPLETE|PRUNED|FAIL)\b.* \d+\.\d s$")

tunelab_cli = functools.partial(run_tunelab, timeout=120)


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


def _objective(trial: tunelab.Trial) -> dict[str, float]:
    namespace: dict[str, object] = {}
    exec(compile(SCRIPT, "steps.py", "exec"), namespace)  # the script's own objective
    return namespace["objective"](trial)  # type: ignore[operator,no-any-return]


def test_the_line_of_each_ending_and_the_best_so_far(capsys: pytest.CaptureFixture[str]) -> None:
    study = tunelab.create_study(
        "lines", storage=":memory:", metric="loss", direction="minimize", sampler="random"
    )
    study.optimize(_objective, n_trials=7, callbacks=[TrialLines()], catch=(ValueError,))
    lines = trial_lines(capsys.readouterr().out)
    assert sorted(lines) == list(range(7))
    assert lines[0].startswith("trial 0 COMPLETE loss=5 (best #0 5) ")
    assert lines[1].startswith("trial 1 COMPLETE loss=3 (best #1 3) ")
    # a failure: its first line only, control characters made visible
    assert lines[2].startswith("trial 2 FAIL: ValueError: boom \\x1b[31mred ")
    assert "second line" not in lines[2] and "\x1b" not in "".join(lines.values())
    assert lines[4].startswith("trial 4 PRUNED at step 1 loss=8 (best #3 1) ")
    assert lines[5].startswith("trial 5 COMPLETE loss=0.5 (best #5 0.5) ")
    # a tie: the earlier trial stays best, the one study.best_trial names
    assert study.best_trial.number == 5
    assert lines[6].startswith("trial 6 COMPLETE loss=0.5 (best #5 0.5) ")


def test_several_objectives_show_each_value_and_the_front_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    study = tunelab.create_study(
        "two",
        storage=":memory:",
        metrics=["loss", "size"],
        directions=["minimize", "minimize"],
        sampler="random",
    )
    study.optimize(
        lambda t: {"loss": float(t.number), "size": float(3 - t.number)},
        n_trials=3,
        callbacks=[TrialLines()],
    )
    lines = trial_lines(capsys.readouterr().out)
    assert lines[0].startswith("trial 0 COMPLETE loss=0 size=3 (front 1) ")
    assert lines[2].startswith("trial 2 COMPLETE loss=2 size=1 (front 3) ")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(SCRIPT)
    return tmp_path


def test_a_piped_run_prints_lines_and_a_worker_its_own(work: Path) -> None:
    result = tunelab_cli("run", "steps.py", "--trials", "5", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = trial_lines(result.stdout)
    assert sorted(lines) == [0, 1, 2, 3, 4], result.stdout
    assert lines[3].startswith("trial 3 COMPLETE loss=1 (best #3 1) ")
    assert "ETA" not in result.stdout + result.stderr  # no bar on piped streams
    assert result.stdout.index("trial 4 ") < result.stdout.index("3 complete")
    # a worker joining the study prints its own trials only, before its summary
    joined = tunelab_cli("worker", "steps", "--script", "steps.py", "--trials", "7", cwd=work)
    assert joined.returncode == 0, joined.stderr
    mine = trial_lines(joined.stdout)
    assert sorted(mine) == [5, 6], joined.stdout
    assert mine[6].startswith("trial 6 COMPLETE loss=0.5 (best #5 0.5) ")
    assert joined.stdout.index("trial 6 ") < joined.stdout.index("worker done")


def test_quiet_prints_the_result_only(work: Path) -> None:
    result = tunelab_cli("-q", "run", "steps.py", "--trials", "2", cwd=work)
    assert result.returncode == 0, result.stderr
    assert not trial_lines(result.stdout) and "study steps in" not in result.stdout
    assert "best trial #1" in result.stdout and result.stderr == ""
    both = tunelab_cli("run", "steps.py", "--trials", "2", "-q", "-v", cwd=work)
    assert both.returncode == 2
    assert both.stderr.strip() == "error: -q and -v do not go together; give one of them"


@pytest.mark.slow
def test_two_jobs_print_each_trial_once(work: Path) -> None:
    result = tunelab_cli("run", "steps.py", "--trials", "8", "--jobs", "2", cwd=work)
    assert result.returncode == 0, result.stderr
    assert sorted(trial_lines(result.stdout)) == list(range(8)), result.stdout


def _on_a_terminal(work: Path, *args: str) -> str:
    """What `tunelab ARGS` shows with stdout and stderr on a pseudo-terminal."""
    main, sub = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tunelab", *args],
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
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def test_on_a_terminal_run_shows_the_bar_and_with_v_the_lines(work: Path) -> None:
    shown = _on_a_terminal(work, "run", "steps.py", "--trials", "2")
    assert "2/2" in shown and "ETA" in shown and "best loss=" in shown
    assert not trial_lines(shown), shown
    verbose = _on_a_terminal(work, "run", "steps.py", "--trials", "4", "-v")
    assert sorted(trial_lines(verbose)) == [2, 3] and "ETA" not in verbose, verbose
