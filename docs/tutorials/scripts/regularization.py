"""The regularization tutorial's figures and tables: examples/regularization.py's remedies
side by side (learning curves and last-epoch table), a dropout x L2 grid study on the
same overfitting set-up, and an underfitting set-up where less dropout is the cure; the
diagnosis `tunelab show --diagnose all` prints for each.

    PYTHONPATH=src python docs/tutorials/scripts/regularization.py
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import _common
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import tunelab
from tunelab import torch as tl_torch

spec = importlib.util.spec_from_file_location(
    "regularization_example", _common.ROOT / "examples" / "regularization.py"
)
assert spec is not None and spec.loader is not None
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def remedies_table(study: tunelab.Study) -> None:
    rows = [
        (
            r["remedy"],
            f"{r['train_acc']:.3f}",
            f"{r['val_acc']:.3f}",
            f"{r['gap']:+.3f}",
            f"{r['best_val_acc']:.3f}",
            r["epochs"],
        )
        for r in example.rows(study)
    ]
    _common.write(
        "reg-remedies.txt",
        _common.table(
            ["remedy", "train acc", "val acc", "gap", "best-epoch val acc", "epochs"], rows
        ),
    )


def curves(study: tunelab.Study) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    for t in study.trials:
        epochs = [r.step + 1 for r in t.reports]
        for ax, key in zip(axes, ("train_loss", "val_loss"), strict=True):
            ax.plot(epochs, [r.metrics[key] for r in t.reports], label=t.params["remedy"])
    for ax, title in zip(axes, ("training loss", "validation loss"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=8)
    _common.save(fig, "reg-curves.png")


def grid_objective(
    width: int, data: tl_torch.Data, epochs: int, dropouts: list[float], l2s: list[float]
) -> Callable[[tunelab.Trial], float]:
    """A grid over dropout x L2 on the example's model at `width`, trained on `data`."""

    def objective(trial: tunelab.Trial) -> float:
        rate = trial.hp.Choice("dropout", dropouts)
        torch.manual_seed(0)
        return _common.train(
            example.build_model(rate, width),
            data,
            trial,
            epochs=epochs,
            optimizer="adam",
            learning_rate=1e-3,
            batch_size=32,
            l2=l2s if len(l2s) > 1 else l2s[0],  # one value: fixed, not a column
        )

    return objective


def show(study: str, storage: str, *flag_sets: list[str]) -> None:
    """`tunelab show STUDY FLAGS` for each set of flags, saved as reg-STUDY-FLAGS.txt."""
    for flags in flag_sets:
        name = f"reg-{study}-" + "-".join(f.strip("-") for f in flags) + ".txt"
        _common.cli("show", study, "--storage", storage, *flags, name=name)


def main() -> None:
    storage = _common.fresh_storage("regularization")
    remedies = example.run()
    remedies_table(remedies)
    curves(remedies)

    overfit = tunelab.create_study("overfit", storage=storage, sampler="grid")
    overfit.optimize(grid_objective(512, example.DATA, 40, [0.0, 0.25, 0.5], [0.0, 1e-3, 1e-2]))
    show("overfit", storage, ["--effects"], ["--diagnose", "all"], ["--diagnose", "0"])

    underfit = tunelab.create_study("underfit", storage=storage, sampler="grid")
    underfit.optimize(grid_objective(16, tl_torch.load_digits(), 15, [0.0, 0.25, 0.5], [0.0]))
    worst = max(underfit.trials, key=lambda t: t.params["dropout"])
    show(
        "underfit", storage, ["--effects"], ["--diagnose", "all"], ["--diagnose", str(worst.number)]
    )


if __name__ == "__main__":
    with _common.Clock():
        main()
