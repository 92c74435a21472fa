"""`tunelab show` and the run summary on the seed example's study at 80 and 120
columns: every trial number and score in full, the fixed settings on one line above the
table instead of a column each. The study has the example's space (examples/
run_hparam_tuning.py: five tuned knobs and the kit's eleven fixed `FIT` settings); a fast
stand-in objective replaces the training, so its scores carry six significant digits."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.cli.tables import Column, header_lines, split_columns

FIXED = {
    "optimizer": "adam",
    "lr_scaling": "none",
    "batch_size": 64,
    "epochs": 10,
    "lr_schedule": "constant",
    "patience": 5,
    "min_delta": 0.0,
    "weight_decay": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "grad_clip": 0.0,
}


def seed_shaped(trial: tunelab.Trial) -> float:
    hp = trial.hp
    hidden1 = hp.Int("hidden1", min_value=32, max_value=512, step=32)
    hidden2 = hp.Int("hidden2", min_value=16, max_value=128, step=16)
    dropout1 = hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)
    dropout2 = hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)
    for name, value in FIXED.items():
        hp.Fixed(name, value)
    lr = hp.Choice("learning_rate", [1e-4, 1e-3, 1e-2])
    return 0.9 + (hidden1 + hidden2) / 1e4 - dropout1 / 30 - dropout2 / 70 + lr / 3.7


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("seed-shaped")
    study = tunelab.create_study(
        "digits-mlp", storage=str(where / "tunelab.db"), sampler="random", seed=42
    )
    study.optimize(seed_shaped, n_trials=112)  # trial numbers up to 111: three digits
    return where


show = functools.partial(run_tunelab, timeout=120)


@pytest.mark.parametrize("columns", [80, 120])
def test_show_keeps_every_number_whole(study_dir: Path, columns: int) -> None:
    result = show("show", "digits-mlp", cwd=study_dir, env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    shown = result.stdout
    assert "…" not in shown, shown
    assert max(len(line) for line in shown.splitlines()) <= columns, shown
    study = tunelab.load_study("digits-mlp", str(study_dir / "tunelab.db"))
    for t in study.top_trials(10):
        row = re.search(rf"^│ +{t.number} │ +{t.value:.6g} │", shown, re.MULTILINE)
        assert row, f"trial {t.number} ({t.value:.6g}) not shown whole:\n{shown}"
    # the fixed settings once, above the table, and not as columns
    fixed = next(line for line in shown.splitlines() if line.startswith("fixed: "))
    assert shown.index("fixed: ") < shown.index("top 10 trials")
    assert "optimizer=adam" in fixed and "epochs=10" in shown
    assert "grad_clip" not in shown.split("top 10 trials")[1]
    # the tuned ones are columns (headers may break at "_")
    for name in ("hidden1", "hidden2", "dropout1", "dropout2"):
        assert name in shown.split("top 10 trials")[1]


def test_a_table_too_wide_continues_below_with_the_trial_number() -> None:
    key = Column("#", ["7", "112"])
    wide = [Column(f"param_{i}", ["0.123456", "12345.6"]) for i in range(12)]
    parts = split_columns("top 2 trials", key, wide, 80)
    assert len(parts) > 1
    from rich.console import Console

    console = Console(width=80, record=True)
    for part in parts:
        console.print(part)
    shown = console.export_text()
    assert (
        "…" not in shown and shown.count("12345.6") == 12 and shown.count("│ 112 │") == len(parts)
    )
    assert header_lines("learning_rate", 6) == ["learni", "ng_", "rate"]
    assert header_lines("learning_rate", 9) == ["learning_", "rate"]


def test_guard_breaks_headers_so_numbers_stay_whole() -> None:
    from rich.console import Console
    from rich.table import Table

    from tunelab.cli.tables import guard

    table = Table(title="hidden1 (int)")
    table.add_column("value")
    for header in ("trials", "best val_accuracy", "median val_accuracy", "median s", "pruned"):
        table.add_column(header, justify="right")
    for low in (32, 128, 224):
        table.add_row(f"[{low}, {low + 96})", "12", "0.953318", "0.938412", "0.000767", "0%")
    console = Console(width=64, record=True)
    console.print(guard(table, 64))
    shown = console.export_text()
    assert "…" not in shown and max(map(len, shown.splitlines())) <= 64
    assert shown.count("0.953318") == 3 and shown.count("0.000767") == 3
    assert "┃ trials ┃" in shown  # a header is folded only after the text cells wrap
