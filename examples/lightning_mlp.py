"""Tuning a LightningModule: the seed tutorial's digits MLP, written the way Lightning's
docs write a module, tuned by tunelab with ASHA pruning.

The only tunelab code is in `objective`: the hyperparameters come from `trial.hp`, a
`TunelabCallback` joins the Trainer's callbacks, and the objective returns
`callback.result()` (which raises TrialPruned when the study stopped the trial early).

    python examples/lightning_mlp.py        # 12 trials of up to 12 epochs into ./tunelab.db
"""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tunelab
from tunelab import torch as tl_torch
from tunelab.lightning import TunelabCallback

DATA = tl_torch.load_digits()  # 8x8 digits in [0, 1], a fixed stratified 80/20 split


class LitMLP(L.LightningModule):
    """64 -> hidden1 -> dropout -> hidden2 -> dropout -> 10, trained with Adam."""

    def __init__(
        self, hidden1: int = 128, hidden2: int = 64, dropout: float = 0.2, lr: float = 1e-3
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(64, hidden1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden1, hidden2),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden2, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders(batch_size: int = 64) -> tuple[DataLoader, DataLoader]:
    train = TensorDataset(DATA.x_train, DATA.y_train)
    val = TensorDataset(DATA.x_val, DATA.y_val)
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(val, batch_size=512)


def make_objective(max_epochs: int) -> Callable[[tunelab.Trial], float]:
    """The objective: a fresh module and Trainer per trial, at most `max_epochs`."""

    def objective(trial: tunelab.Trial) -> float:
        model = LitMLP(
            hidden1=trial.hp.Int("hidden1", 32, 512, step=32),
            hidden2=trial.hp.Int("hidden2", 16, 128, step=16),
            dropout=trial.hp.Float("dropout", 0.1, 0.5, step=0.1),
            lr=trial.hp.Float("lr", 1e-4, 1e-1, sampling="log"),
        )
        callback = TunelabCallback(trial, monitor="val_acc")
        trainer = L.Trainer(
            max_epochs=max_epochs,
            callbacks=[callback],
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            logger=False,
        )
        trainer.fit(model, *loaders())
        return callback.result()

    return objective


def main(
    n_trials: int = 12, max_epochs: int = 12, storage: str | None = None, seed: int = 0
) -> tunelab.Study:
    """Tune, print the best trial, and return the study."""
    study = tunelab.create_study(
        "digits-lightning",
        storage=storage,
        metric="val_acc",
        direction="maximize",
        sampler="random",
        scheduler=tunelab.ASHAScheduler(min_resource=1, reduction_factor=3),
        seed=seed,
    )
    study.optimize(make_objective(max_epochs), n_trials=n_trials)
    best = study.best_trial
    print(f"best val_acc {best.value:.4f} (trial {best.number}): {best.params}")
    return study


if __name__ == "__main__":
    main()
