"""examples/regularization.py: on its overfitting set-up (few digits, noisy labels, a wide
MLP) the run without a remedy ends worst and is diagnosed as overfitting, while a
remedy closes the train/validation gap and ends with better validation accuracy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from tunelab.insight import DiagnosisKind, diagnose

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "regularization.py"


@pytest.fixture
def example(monkeypatch):  # type: ignore[no-untyped-def]
    torch.set_num_threads(1)
    spec = importlib.util.spec_from_file_location("regularization_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # a smaller net at a higher rate overfits the same way in fewer epochs
    monkeypatch.setattr(module, "WIDTH", 256)
    monkeypatch.setattr(module, "LEARNING_RATE", 3e-3)
    return module


def test_a_remedy_beats_no_remedy_at_the_last_epoch(example) -> None:
    study = example.run(["none", "l2"], epochs=15)
    none, l2 = example.rows(study)
    assert none["remedy"] == "none" and l2["remedy"] == "l2"
    assert none["gap"] > 0.08  # it memorises the noisy labels
    assert l2["gap"] < none["gap"] - 0.08
    assert l2["val_acc"] > none["val_acc"] + 0.03
    assert diagnose(study.trials[0], study).kind is DiagnosisKind.OVERFITTING
