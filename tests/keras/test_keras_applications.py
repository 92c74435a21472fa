"""`kt.applications.HyperResNet` and `HyperXception`: Keras Tuner's hyperparameters
(names and domains), models that build and train on small images, and a search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunelab.keras as kt

# isort: split
import keras

from tunelab import ConfigurationError, TrialState
from tunelab.keras.overlay import TrialHyperParameters

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPE = (16, 16, 3)  # small images: the networks are all there, the arithmetic is light
IMAGES = np.random.default_rng(0).random((8, *SHAPE)).astype("float32")
LABELS = np.eye(3, dtype="float32")[np.arange(8) % 3]

# Keras Tuner 1.4's own declarations: name -> (type, domain)
RESNET_SPACE = {
    "version": ("Choice", ["v1", "v2", "next"]),
    "conv3_depth": ("Choice", [4, 8]),
    "conv4_depth": ("Choice", [6, 23, 36]),
    "pooling": ("Choice", ["avg", "max"]),
    "optimizer": ("Choice", ["adam", "rmsprop", "sgd"]),
    "learning_rate": ("Choice", [0.1, 0.01, 0.001]),
}
XCEPTION_SPACE = {
    "activation": ("Choice", ["relu", "selu"]),
    "conv2d_num_filters": ("Choice", [32, 64, 128]),
    "kernel_size": ("Choice", [3, 5]),
    "initial_strides": ("Choice", [2]),
    "sep_num_filters": ("Int", (128, 768, 128)),
    "num_residual_blocks": ("Int", (2, 8, None)),
    "pooling": ("Choice", ["avg", "flatten", "max"]),
    "num_dense_layers": ("Int", (1, 3, None)),
    "dropout_rate": ("Float", (0.0, 0.6, 0.1)),
    "dense_use_bn": ("Choice", [True, False]),
    "learning_rate": ("Choice", [1e-3, 1e-4, 1e-5]),
}
SMALL_XCEPTION = {"sep_num_filters": 128, "num_residual_blocks": 2, "conv2d_num_filters": 32}


def _declared(space: Any) -> dict[str, tuple[str, Any]]:
    out = {}
    for entry in space:
        p = entry.param
        if type(p).__name__ in ("Int", "Float"):
            step = p.step if type(p).__name__ == "Float" or p.step not in (None, 1) else None
            out[p.name] = (type(p).__name__, (p.min_value, p.max_value, step))
        else:
            out[p.name] = (type(p).__name__, list(getattr(p, "values", [p.default_value])))
    return out


def _hp(**fixed: Any) -> TrialHyperParameters:
    """What a tuner given hyperparameters= with these Fixed values hands build()."""
    declared = kt.HyperParameters()
    for name, value in fixed.items():
        declared.Fixed(name, value)
    return TrialHyperParameters(kt.HyperParameters(), declared)


def test_xception_declares_keras_tuners_hyperparameters_and_trains() -> None:
    hp = kt.HyperParameters()
    model = kt.applications.HyperXception(input_shape=SHAPE, classes=3).build(hp)
    assert _declared(hp.space) == XCEPTION_SPACE
    assert hp.values["sep_num_filters"] == 256 and hp.values["conv2d_num_filters"] == 64
    assert model.output_shape == (None, 3) and model.optimizer is not None
    selu = kt.applications.HyperXception(input_shape=SHAPE, classes=3).build(
        _hp(activation="selu", pooling="flatten", num_dense_layers=2, **SMALL_XCEPTION)
    )
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in selu.layers)
    probabilities = selu.predict(IMAGES[:2], verbose=0)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_resnet_declares_keras_tuners_hyperparameters_and_builds() -> None:
    hp = _hp(version="next")  # ResNeXt: its 3x3 convolutions in 32 groups
    model = kt.applications.HyperResNet(input_shape=SHAPE, classes=3).build(hp)
    declared = _declared(hp.space)
    assert declared.pop("version")[0] == "Fixed"
    assert declared == {k: v for k, v in RESNET_SPACE.items() if k != "version"}
    assert hp.values["learning_rate"] == 0.01 and hp.values["optimizer"] == "adam"  # defaults
    # ResNet-50 deep at the smallest depths: 3 + 4 + 6 + 3 bottleneck blocks
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 16
    assert any(getattr(layer, "groups", 1) == 32 for layer in model.layers)
    probabilities = model.predict(IMAGES[:2], verbose=0)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_random_search_over_xception_with_fixed_sizes(tmp_path: Path) -> None:
    fixed = kt.HyperParameters()
    for name, value in SMALL_XCEPTION.items():
        fixed.Fixed(name, value)
    tuner = kt.RandomSearch(
        kt.applications.HyperXception(input_shape=SHAPE, classes=3),
        objective="val_accuracy",
        hyperparameters=fixed,
        max_trials=2,
        seed=0,
        keep_models=0,
        directory=tmp_path,
    )
    tuner.search(IMAGES, LABELS, validation_split=0.5, epochs=1, batch_size=4, verbose=0)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for trial in trials:
        assert set(trial.params) == set(XCEPTION_SPACE)
        assert all(trial.params[k] == v for k, v in SMALL_XCEPTION.items())


def test_features_only_from_an_input_tensor() -> None:
    inputs = keras.Input(shape=SHAPE)
    hypermodel = kt.applications.HyperXception(include_top=False, input_tensor=inputs)
    hp = _hp(**SMALL_XCEPTION)
    model = hypermodel.build(hp)
    assert model.output_shape == (None, 256) and getattr(model, "optimizer", None) is None
    assert not {"num_dense_layers", "learning_rate"} & set(hp.values)  # no head, no optimizer


def test_bad_constructor_arguments_are_one_line_errors() -> None:
    for make, match in (
        (lambda: kt.applications.HyperResNet(input_shape=SHAPE), "needs classes="),
        (lambda: kt.applications.HyperXception(classes=3), "needs input_shape="),
        (
            lambda: kt.applications.HyperXception(input_shape=(32, 32), classes=3),
            r"\(height, width, channels\)",
        ),
        (lambda: kt.applications.HyperResNet(input_shape=SHAPE, classes=0), "int >= 1"),
    ):
        with pytest.raises(ConfigurationError, match=match) as info:
            make()
        assert "\n" not in str(info.value)
