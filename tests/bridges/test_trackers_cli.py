"""`tunelab run --callback NAME[=WHERE]`, run as a real subprocess."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from cli_process import run_tunelab
from tunelab.cli.trackers import build

SCRIPT = """
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    x = trial.hp.Float("x", -2, 2)
    for step in range(3):
        trial.report(step, loss=(x - 1) ** 2 + 1 / (step + 1))
    return (x - 1) ** 2
"""

tunelab = functools.partial(run_tunelab, timeout=120)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "quad.py").write_text(SCRIPT)
    return tmp_path


@pytest.mark.slow
def test_run_records_each_trial_in_every_tracker_named(work: Path) -> None:
    from tensorboard.backend.event_processing import event_accumulator as ea

    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(work), "WANDB_CONFIG_DIR": str(work / "c")}
    result = tunelab(
        "run", "quad.py", "--trials", "3", "--sampler", "random", "--no-progress",
        "--callback", "tensorboard", "--callback", "wandb=tuning",
        cwd=work, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 complete" in result.stdout and "could not record" not in result.stderr
    folders = sorted(p.name for p in (work / "runs" / "quad").iterdir())
    assert folders == ["trial-0", "trial-1", "trial-2"]
    events = ea.EventAccumulator(str(work / "runs" / "quad" / "trial-2"))
    events.Reload()
    assert "loss" in events.Tags()["tensors"]
    records = list((work / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(records) == 3 and all(b"tuning" in r.read_bytes() for r in records)


def test_each_name_makes_its_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `--callback` makes of each NAME[=WHERE] (the MLflow run itself is tested in
    test_trackers.py; a subprocess would import MLflow again, for seconds)."""
    from tunelab.integrations import MLflowCallback, TensorBoardCallback, WandbCallback

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    made = build(None, None, (f"mlflow={uri}", "tensorboard", "TensorBoard=logs", "wandb=p"))  # type: ignore[arg-type]
    assert [type(m) for m in made] == [
        MLflowCallback, TensorBoardCallback, TensorBoardCallback, WandbCallback
    ]  # fmt: skip
    assert made[0].tracking_uri == uri and (tmp_path / "store").is_dir()
    assert made[1].log_dir == Path("runs") and made[2].log_dir == Path("logs")
    assert made[3].project == "p"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    assert build(None, None, ("mlflow",))[0].tracking_uri == f"sqlite:///{tmp_path}/env.db"  # type: ignore[arg-type]


def test_an_unknown_tracker_is_one_line_and_no_study_is_made(work: Path) -> None:
    result = tunelab("run", "quad.py", "--trials", "2", "--callback", "neptune", cwd=work)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Invalid value for '--callback': unknown tracker 'neptune': choose mlflow, "
        "tensorboard, wandb, e.g. --callback mlflow or --callback tensorboard=logs"
    ]
    assert not (work / "tunelab.db").exists()


def test_a_tracker_directory_that_cannot_be_made_stops_before_the_study(work: Path) -> None:
    (work / "taken").write_text("a file, not a directory")
    result = tunelab(
        "run", "quad.py", "--trials", "2", "--callback", "tensorboard=taken/logs", cwd=work
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: TensorBoardCallback cannot create its directory taken/logs "
        "(Not a directory); give log_dir= a directory you can write"
    ]
    assert not (work / "tunelab.db").exists()
