"""Experiment trackers as optimize(callbacks=…) entries: MLflow, TensorBoard, Weights & Biases.

    study.optimize(objective, n_trials=20, callbacks=[MLflowCallback()])

Each records one run per finished trial and imports its library when it is made (a
missing one is a one-line hint naming the extra to install). A tracker that cannot
record a trial warns once and the study goes on; one whose directory cannot be written
is refused when it is made, before any trial runs (_tracker.py)."""

from tunelab.integrations.mlflow import MLflowCallback
from tunelab.integrations.tensorboard import TensorBoardCallback
from tunelab.integrations.wandb import WandbCallback

__all__ = ["MLflowCallback", "TensorBoardCallback", "WandbCallback"]
