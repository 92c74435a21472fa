"""`tunelab show --effects/--importance/--diagnose/--next`, `lr-find`, `seed-spread` and
`run --lr-find`, run as real subprocesses."""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

import tunelab as tunelab_api
from cli_process import run_tunelab
from tunelab.cli.insight import narrowed_objective
from tunelab.cli.script import load_script

SCRIPT = """
import random

METRIC = "val_loss"
DIRECTION = "minimize"

def objective(trial):
    x = trial.hp.Float("x", -2, 2)
    trial.hp.Choice("kind", ["a", "b"])
    dropout = trial.hp.Float("dropout", 0.1, 0.5, step=0.1)
    noise = random.Random(trial.seed).gauss(0, 0.01)
    for epoch in range(6):
        train = (x - 1) ** 2 + 1 / (epoch + 1)
        trial.report(epoch, train_loss=train, val_loss=train + 0.01 + dropout / 100)
    return train + 0.01 + noise
"""

FAILING = """
def objective(trial):
    trial.hp.Float("x", 0, 1)
    raise RuntimeError("broken model")
"""

KIT = """
from torch import nn
from tunelab import torch as tl_torch

DATA = tl_torch.load_digits()
FIT = {"epochs": 2, "optimizer": "adam", "batch_size": 64, "lr_schedule": "constant"}

def build_model(hp):
    units = hp.Int("units", 16, 64, step=16)
    return nn.Sequential(nn.Linear(64, units), nn.ReLU(), nn.Linear(units, 10))
"""


tunelab = functools.partial(run_tunelab, timeout=180)  # seconds: some train real models


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "curves.py").write_text(SCRIPT)
    (folder / "failing.py").write_text(FAILING)
    (folder / "kit.py").write_text(KIT)
    ran = tunelab("run", "curves.py", "--trials", "12", "--seed", "0", "--no-progress", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return folder


def one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_show_effects_importance_diagnose_next(work):
    result = tunelab(
        "show", "curves", "--effects", "--importance", "--next", "--diagnose", cwd=work
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "x (float)" in text and "kind (choice)" in text
    assert "median val_loss" in text and "pruned" in text
    assert "importance for val_loss" in text
    first = re.search(r"importance for val_loss.*?\u2502 (\w+) ", text, re.S)
    assert first is not None and first.group(1) == "x", text  # x explains the metric
    assert "trial #" in text
    assert any(k in text for k in ("GOOD_FIT", "SLOW_LEARNING", "UNDERFITTING"))
    assert "next study" in text and "x:" in text
    diag3 = tunelab("show", "curves", "--diagnose", "3", cwd=work)
    assert diag3.returncode == 0 and "trial #3" in diag3.stdout
    every = tunelab("show", "curves", "--diagnose", "all", cwd=work)
    assert every.returncode == 0 and all(f"#{n} COMPLETE: " in every.stdout for n in range(12))
    plain = tunelab("show", "curves", cwd=work)
    assert plain.returncode == 0 and "top 10 trials" in plain.stdout  # unchanged without flags


@pytest.mark.slow
def test_show_insight_bad_input(work):
    one_line_error(tunelab("show", "curves", "--diagnose", "99", cwd=work), "has no trial #99")
    failing = tunelab("run", "failing.py", "--trials", "2", "--no-progress", cwd=work)
    assert failing.returncode == 0, failing.stderr
    one_line_error(
        tunelab("show", "failing", "--effects", cwd=work),
        "error: every finished trial of study 'failing' failed (2 trials; last: ",
    )
    one_line_error(tunelab("show", "nope", "--next", cwd=work), "no study named 'nope'")
    one_line_error(
        tunelab("lr-find", "curves.py", cwd=work),
        "lr-find needs a script that defines build_model(hp) and DATA",
    )


@pytest.mark.slow
def test_lr_find_command_prints_a_suggestion_and_writes_json(work):
    result = tunelab("lr-find", "kit.py", "--json", "lr.json", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (
        "suggested learning rate:" in result.stdout and "learning-rate range test" in result.stdout
    )
    data = json.loads((work / "lr.json").read_text())
    assert data["low"] < data["suggestion"] < data["high"] and data["optimizer"] == "adam"


@pytest.mark.slow
def test_run_with_lr_find_narrows_the_learning_rate_range(work):
    first = tunelab("run", "kit.py", "--lr-find", "--trials", "2", "--no-progress", cwd=work)
    assert first.returncode == 0, first.stderr
    assert "--lr-find: suggested" in first.stdout
    space = tunelab_api.load_study("kit", str(work / "tunelab.db")).space
    lr = space["learning_rate"]
    assert lr.sampling == "log" and (lr.min_value, lr.max_value) != (1e-4, 1e-1)
    assert 1e-5 < lr.min_value < lr.max_value < 1.0
    # Rerunning resumes with the stored range instead of testing again (in-process here).
    study = tunelab_api.load_study("kit", str(work / "tunelab.db"))
    console = Console(file=io.StringIO(), width=200)
    module = load_script(str(work / "kit.py"))
    narrowed_objective(module, str(work / "kit.py"), study, console)
    assert "already searches Float('learning_rate'" in console.file.getvalue()
    assert module.FIT["learning_rate"] == lr


@pytest.mark.slow
def test_seed_spread_command(work):
    result = tunelab("seed-spread", "curves.py", "--top", "2", "--seeds", "2", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "over seeds" in result.stdout and "curves/seeds" in result.stdout
