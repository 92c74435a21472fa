"""examples/digits_size.py: the seed MLP tuned for accuracy against size, run with a
tiny budget, as a script and through `tunelab run`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab import Direction, TrialState

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALLEST = {"hidden1": 32, "hidden2": 16, "learning_rate": 1e-2}
LARGEST = {"hidden1": 512, "hidden2": 128, "learning_rate": 1e-2}


def size_of(params) -> int:  # type: ignore[no-untyped-def]
    """The MLP's trainable parameters: 64 -> hidden1 -> hidden2 -> 10, with biases."""
    h1, h2 = params["hidden1"], params["hidden2"]
    return 64 * h1 + h1 + h1 * h2 + h2 + h2 * 10 + 10


def non_dominated(trials) -> set[int]:  # type: ignore[no-untyped-def]
    """Brute force over (val_accuracy to maximize, n_parameters to minimize)."""

    def beats(a, b) -> bool:  # type: ignore[no-untyped-def]
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    points = {t.number: t.values for t in trials}
    return {n for n, p in points.items() if not any(beats(q, p) for q in points.values())}


@pytest.fixture
def example(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(EXAMPLES))  # it imports the seed example beside it
    spec = importlib.util.spec_from_file_location("digits_size", EXAMPLES / "digits_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("run_hparam_tuning", None)


def test_the_size_example_prints_the_front_of_accuracy_against_size(
    example, tmp_path: Path, capsys
) -> None:
    url = str(tmp_path / "t.db")
    queued = tunelab.create_study(
        "digits_size", storage=url, metrics=example.METRICS, directions=example.DIRECTIONS
    )
    queued.enqueue(LARGEST)  # first: nothing to prune it against, so it completes
    queued.enqueue(SMALLEST)
    study = example.main(n_trials=4, storage=url)

    assert study.metrics == ("val_accuracy", "n_parameters")
    assert study.directions == (Direction.MAXIMIZE, Direction.MINIMIZE)
    trials = study.trials
    assert len(trials) == 4 and all(t.state.is_finished for t in trials)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    for t in complete:
        best_epoch = t.user_attrs["best_epoch"]
        assert t.values == (t.intermediate("val_accuracy")[best_epoch], size_of(t.params))
        assert t.feasible is (size_of(t.params) <= example.MAX_PARAMETERS)
    largest = trials[0]
    assert largest.state is TrialState.COMPLETE and not largest.feasible
    assert largest.values[0] > 0.9  # it learns the digits (chance: 0.1), but it is too big

    feasible = [t for t in complete if t.feasible]
    front = study.best_trials
    assert {t.number for t in front} == non_dominated(feasible)
    assert front  # the smallest model in the space completes: nothing feasible is smaller
    out = capsys.readouterr().out
    assert f"Pareto front ({len(front)} trials, at most 20000 parameters):" in out
    for t in front:
        assert f"trial {t.number:3d}: val_accuracy {t.values[0]:.4f}" in out


def test_tunelab_run_reads_the_scripts_metrics_and_directions(tmp_path: Path) -> None:
    url = str(tmp_path / "t.db")
    done = run_tunelab(
        "run",
        str(EXAMPLES / "digits_size.py"),
        "--trials",
        "2",
        "--storage",
        url,
        "--no-progress",
        cwd=tmp_path,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    (name,) = [s.record.name for s in tunelab.list_studies(url)]
    study = tunelab.load_study(name, storage=url)
    assert study.metrics == ("val_accuracy", "n_parameters")
    for t in study.trials:
        assert t.state.is_finished
        assert t.values is not None and len(t.values) == 2
        assert t.values[1] == size_of(t.params)
