"""The last epoch's checkpoint: a plain dict saved whole and read with weights_only=True,
so a resumed run goes on exactly where the saved one was, and nothing is unpickled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tunelab
from tunelab.torch import TrainingError, load_checkpoint
from tunelab.torch.checkpoint import save_checkpoint


def setup(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    return model, torch.optim.Adam(model.parameters(), lr=0.05)


def step(model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> None:
    x = torch.randn(8, 3, generator=generator)
    optimizer.zero_grad()
    model(x).pow(2).mean().backward()
    optimizer.step()


def test_a_resumed_run_goes_on_exactly_as_the_saved_one(tmp_path):
    model, optimizer = setup()
    generator = torch.Generator().manual_seed(7)
    for _ in range(3):
        step(model, optimizer, generator)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": 3,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "scaler": {"scale": 65536.0, "growth_tracker": 0, "enabled": False},
        "history": [0.5, 0.25, (1, "a", None)],
    }
    path = save_checkpoint(tmp_path, state)
    assert path == tmp_path / "last.pt" and [p.name for p in tmp_path.iterdir()] == ["last.pt"]

    loaded = load_checkpoint(tmp_path)  # the trial's folder or the file itself
    assert loaded["epoch"] == 3 and loaded["scaler"]["scale"] == 65536.0
    assert loaded["history"] == [0.5, 0.25, (1, "a", None)]
    resumed, resumed_optimizer = setup(seed=1)  # different initial weights
    resumed.load_state_dict(loaded["model"])
    resumed_optimizer.load_state_dict(loaded["optimizer"])
    resumed_generator = torch.Generator()
    resumed_generator.set_state(loaded["generator"])
    step(model, optimizer, generator)
    step(resumed, resumed_optimizer, resumed_generator)
    for a, b in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(loaded["torch_rng"], state["torch_rng"])


def test_a_trial_records_its_checkpoint_once(tmp_path):
    study = tunelab.create_study("ck", storage=str(tmp_path / "tl.db"), metric="loss")
    trial = study.ask()
    folder = trial.artifact_dir()
    for epoch in range(3):
        save_checkpoint(folder, {"epoch": epoch}, trial=trial)
    (stored,) = study.trials
    assert stored.user_attrs["kept_checkpoint"] == {"path": str(folder / "last.pt")}
    assert load_checkpoint(folder / "last.pt")["epoch"] == 2


@pytest.mark.parametrize(
    ("state", "where", "kind"),
    [
        ({"rng": {"numpy": np.zeros(3)}}, r"state\['rng'\]\['numpy'\]", "numpy.ndarray"),
        ({"items": [1, {2.5}]}, r"state\['items'\]\[1\]", "builtins.set"),
        ({"f": np.float64(1.0)}, r"state\['f'\]", "numpy.float64"),
    ],
)
def test_what_weights_only_loading_refuses_is_refused_when_saved(tmp_path, state, where, kind):
    with pytest.raises(TrainingError, match=rf"entry {where} is a {kind}.*weights_only=True"):
        save_checkpoint(tmp_path, state)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TrainingError, match="keys must be str or int"):
        save_checkpoint(tmp_path, {(1, 2): 3})
    with pytest.raises(TrainingError, match="a checkpoint is a dict"):
        save_checkpoint(tmp_path, [1, 2])  # type: ignore[arg-type]


class Payload:
    """An object a pickle would build (and could run code through)."""

    ran = False

    def __reduce__(self):
        return (Payload.mark, ())

    @staticmethod
    def mark() -> Payload:
        Payload.ran = True
        return Payload()


def test_missing_damaged_and_foreign_files_are_one_clear_line_and_nothing_runs(tmp_path):
    with pytest.raises(TrainingError, match=r"no checkpoint at .*missing.pt.*checkpoint='last'"):
        load_checkpoint(tmp_path / "missing.pt")
    damaged = tmp_path / "damaged.pt"
    save_checkpoint(tmp_path, {"epoch": 1})
    damaged.write_bytes((tmp_path / "last.pt").read_bytes()[:100])
    with pytest.raises(TrainingError, match=r"cannot read the checkpoint .*damaged.pt.*damaged"):
        load_checkpoint(damaged)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "tunelab-checkpoint", "version": 1, "state": {"x": Payload()}}, pickled)
    with pytest.raises(TrainingError, match=r"cannot read the checkpoint .*pickled.pt"):
        load_checkpoint(pickled)
    assert not Payload.ran
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2)}, foreign)
    with pytest.raises(TrainingError, match="is not a tunelab checkpoint"):
        load_checkpoint(foreign)
