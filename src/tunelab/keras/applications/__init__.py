"""Keras Tuner's ready-made image classifiers, `kt.applications.HyperResNet` and
`HyperXception`: HyperModels with the same constructor arguments and the same tuned
hyperparameters (names and domains), written for Keras 3 on the torch backend."""

from __future__ import annotations

from tunelab.keras.applications.resnet import HyperResNet
from tunelab.keras.applications.xception import HyperXception

__all__ = ["HyperResNet", "HyperXception"]
