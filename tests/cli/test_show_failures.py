"""`tunelab show` lists failed trials with how they ended and why."""

from __future__ import annotations

from pathlib import Path

from cli_process import run_tunelab

SCRIPT = """
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    n = trial.hp.Int("n", 0, 100)
    k = trial.number % 4
    if k == 1:
        raise RuntimeError("no file /data/train.csv\\nsecond line of the message")
    if k == 2:
        return float("nan")
    if k == 3:
        return "0.5"
    return float(n)
"""


def test_show_lists_each_failed_trial_with_its_cause_and_reason(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(SCRIPT)
    run = run_tunelab(
        "run", "flaky.py", "--trials", "4", "--no-progress", cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    show = run_tunelab("show", "flaky", cwd=tmp_path, timeout=60)
    assert show.returncode == 0, show.stderr
    table = show.stdout.split("failed trials", 1)[1].split("best hyperparameters", 1)[0]
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    assert set(rows) == {"1", "2", "3"}
    assert "raised" in rows["1"] and "no file /data/train.csv" in rows["1"]
    assert "train.csv\\nsecond line" in rows["1"]  # a reason stays on its row
    assert "diverged" in rows["2"] and "nan" in rows["2"].lower()
    assert "invalid result" in rows["3"] and "'0.5', which is not a number" in rows["3"]


def test_show_with_only_failures_lists_them_and_a_long_list_points_to_export(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.py").write_text(
        "def objective(trial):\n"
        "    n = trial.hp.Int('n', 0, 99)\n"
        "    if trial.number % 3:\n"
        "        raise ValueError('bad')\n"
        "    return n\n"
    )
    (tmp_path / "dead.py").write_text(
        "def objective(trial):\n    trial.hp.Int('n', 0, 9)\n    raise ValueError('bad')\n"
    )
    run = run_tunelab("run", "dead.py", "--trials", "9", "--no-progress", cwd=tmp_path, timeout=120)
    assert run.returncode != 0  # it stops after 5 failures in a row
    show = run_tunelab("show", "dead", cwd=tmp_path, timeout=60)
    assert show.returncode == 0, show.stderr
    assert "no complete trial yet" in show.stdout and show.stdout.count("ValueError: bad") == 5

    run = run_tunelab(
        "run", "broken.py", "--trials", "12", "--no-progress", cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    show = run_tunelab("show", "broken", cwd=tmp_path, timeout=60)
    assert "the last 5 of 8" in show.stdout and "tunelab export broken" in show.stdout
    assert show.stdout.count("ValueError: bad") == 5
