"""examples/synthetic_images.py: images drawn by a Dataset, a CNN tuned on them through
Datasets with worker processes, run as a script and through `tunelab run`."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import tunelab
from cli_process import run_tunelab
from tunelab import TrialState

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "synthetic_images.py"
SOUND = {
    "conv_blocks": 1,
    "optimizer": "adam",
    "learning_rate": 3e-3,
    "batch_size": 32,
    "lr_schedule": "constant",
}


@pytest.fixture(scope="module")
def example() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(EXAMPLE), run_name="synthetic_images"))


def test_the_shapes_are_drawn_as_named_and_the_same_each_time(example) -> None:
    shapes = example.Shapes(40, seed=3, noise=0.0)
    for i in range(len(shapes)):
        image, label = shapes[i]
        assert image.shape == (1, 16, 16) and torch.equal(image, shapes[i][0])
        rows, cols = (image[0] > 0).nonzero().unbind(1)
        height, width = len(rows.unique()), len(cols.unique())
        if label == 0:
            assert height == 1 and width > 1
        elif label == 1:
            assert width == 1 and height > 1
        else:  # a square and a plus span the same rows and columns
            assert height == width > 1
    assert {shapes[i][1] for i in range(len(shapes))} == {0, 1, 2, 3}
    assert not torch.equal(example.Shapes(2, seed=4)[0][0], example.Shapes(2, seed=5)[0][0])
    with pytest.raises(IndexError):
        shapes[40]


@pytest.mark.slow
def test_the_example_tunes_a_cnn_that_learns_the_shapes(example, tmp_path: Path) -> None:
    url = str(tmp_path / "t.db")
    tunelab.create_study("synthetic-images", storage=url, seed=0).enqueue(
        {**SOUND, "augment": False}
    )
    study = example.main(n_trials=1, storage=url, epochs=3)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE and trial.params["conv_blocks"] == 1
    assert trial.value > 0.6  # chance: 0.25


@pytest.mark.slow
def test_tunelab_run_trains_the_example(tmp_path: Path) -> None:
    done = run_tunelab(
        "run", str(EXAMPLE), "--trials", "1", "--seed", "0", "--no-progress",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 complete" in done.stdout
