"""A script without an objective that trains on DATASETS, with fit()'s own arguments in
FIT, run by the real `tunelab run`; and its mistakes, each one line before any trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_process import run_tunelab

pytestmark = pytest.mark.slow

SCRIPT = """
import torch
from torch import nn
from torch.utils.data import TensorDataset
from tunelab import torch as tl_torch

METRIC = "val_rmse"
DIRECTION = "minimize"
g = torch.Generator().manual_seed(0)
x = torch.randn(300, 8, generator=g)
y = x @ torch.arange(8.0) / 8
DATASETS = tl_torch.Datasets(TensorDataset(x[:200], y[:200]), TensorDataset(x[200:], y[200:]))
FIT = {"device": "cpu", "task": "regression", "epochs": 2, "optimizer": "adam"}

def build_model(hp):
    return nn.Sequential(nn.Linear(8, hp.Int("units", 4, 16)), nn.ReLU(), nn.Linear(hp.Int("units", 4, 16), 1))
"""


def test_a_datasets_script_runs_under_tunelab_run(tmp_path: Path) -> None:
    (tmp_path / "reg.py").write_text(SCRIPT)
    done = run_tunelab(
        "run", "reg.py", "--trials", "2", "--seed", "0", "--no-progress", cwd=tmp_path, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "2 complete" in done.stdout
    out = run_tunelab("export", "reg", "--format", "json", cwd=tmp_path, timeout=60).stdout
    (first, _) = json.loads(out)["trials"]
    assert first["params"]["epochs"] == 2 and first["params"]["optimizer"] == "adam"
    assert len(first["reports"]) == 2 and "val_r2" in first["reports"][0]


MISTAKES = [
    (
        'FIT = {"devise": "cpu"}',
        "['devise']; check the spelling (besides fit()'s own arguments amp",
    ),
    ("FIT = 3", "FIT must be a dict of fit() arguments, but it is 3"),
    ("DATA = DATASETS", "defines both DATA and DATASETS; keep the one to train on"),
    ("DATASETS = (x, y)", "DATASETS must be tunelab.torch.Datasets(train=..., val=...), but it"),
]


@pytest.mark.parametrize(("line", "message"), MISTAKES, ids=[m for _, m in MISTAKES])
def test_script_mistakes_are_one_line_before_any_trial(tmp_path: Path, line, message) -> None:
    (tmp_path / "reg.py").write_text(SCRIPT + line + "\n")
    done = run_tunelab("run", "reg.py", "--trials", "2", "--no-progress", cwd=tmp_path, timeout=240)
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "tunelab.db").exists()  # refused before the study was made


def test_lr_find_says_it_needs_in_memory_data(tmp_path: Path) -> None:
    (tmp_path / "reg.py").write_text(SCRIPT)
    for args in (("lr-find", "reg.py"), ("run", "reg.py", "--trials", "1", "--lr-find")):
        done = run_tunelab(*args, cwd=tmp_path, timeout=240)
        assert done.returncode != 0
        assert "needs in-memory DATA, but reg.py defines DATASETS" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
