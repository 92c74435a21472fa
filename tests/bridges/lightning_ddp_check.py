"""Two-rank DDP on the CPU (gloo) under strategy='ddp_spawn': rank 0 reports from its
spawned process through the relay, the prune decision reaches both ranks, the pruned trial
keeps its curve. Too slow for the suite on a busy 2-core box (each spawned rank imports
Lightning: about 2 minutes there), so it is a script:

    PYTHONPATH=src python tests/bridges/lightning_ddp_check.py
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tunelab
from tunelab.lightning import TunelabCallback


class Tiny(L.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.layer = nn.Linear(4, 2)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.layer(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        accuracy = (self.layer(x).argmax(1) == y).float().mean()
        self.log("val_acc", accuracy, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def main() -> None:
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    data = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)
    scheduler = tunelab.ASHAScheduler(min_resource=1, reduction_factor=2)
    study = tunelab.create_study(storage=":memory:", metric="val_acc", scheduler=scheduler)
    study.enqueue({"lr": 1.0})
    study.enqueue({"lr": 1e-6})
    seen: dict[int, list[int]] = {}

    def objective(trial: tunelab.Trial) -> float:
        callback = TunelabCallback(trial, monitor="val_acc")
        trainer = L.Trainer(
            max_epochs=3, strategy="ddp_spawn", devices=2, accelerator="cpu",
            callbacks=[callback], enable_progress_bar=False, logger=False,
            enable_checkpointing=False, enable_model_summary=False,
        )  # fmt: skip
        trainer.fit(Tiny(trial.hp.Choice("lr", [1.0, 1e-6])), data, data)
        seen[trial.number] = list(callback.epochs)
        return callback.result()

    study.optimize(objective, n_trials=2)
    good, bad = study.trials
    assert good.state is tunelab.TrialState.COMPLETE, good
    assert [r.step for r in good.reports] == [0, 1, 2] and seen[0] == [0, 1, 2]
    assert bad.state is tunelab.TrialState.PRUNED, bad
    assert list(bad.intermediate("val_acc")) == [0] and seen[1] == [0]
    print("ddp_spawn, 2 ranks: reports from rank 0 kept, pruned trial stopped after epoch 0")


if __name__ == "__main__":
    main()
