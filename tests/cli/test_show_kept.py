"""`tunelab show` names where a study's kept weights and checkpoints are, and whose."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tunelab
from cli_process import run_tunelab
from tunelab.torch.checkpoint import save_checkpoint
from tunelab.torch.kept import prepare_folder, save_best_weights


def objective(trial):
    folder = prepare_folder(trial, None)
    model = nn.Linear(2, trial.hp.Int("width", 1, 4))
    save_best_weights(trial, folder, model.state_dict(), 2)
    if trial.number == 1:
        save_checkpoint(folder, {"model": model.state_dict(), "epoch": 0}, trial=trial)
    return float(trial.number)


@pytest.mark.slow
def test_show_names_the_kept_files(tmp_path):
    torch.manual_seed(0)
    study = tunelab.create_study(
        "kept", storage=str(tmp_path / "tl.db"), metric="loss", direction="minimize"
    )
    study.optimize(objective, n_trials=4, catch=())  # minimize: trials 0 and 1 stay

    shown = run_tunelab("show", "kept", "--storage", "tl.db", cwd=tmp_path, timeout=60)
    assert shown.returncode == 0, shown.stderr
    root = tmp_path / "tl-artifacts" / "kept"
    assert "kept weights of trials 0, 1 (load with tunelab.torch.load_best):" in shown.stdout
    assert f"{root}/trial-<n>/best.safetensors" in shown.stdout
    assert "last-epoch checkpoints of trials 1 (resume with fit(…, resume_from=…)):" in shown.stdout
    assert f"{root}/trial-<n>/last.pt" in shown.stdout
