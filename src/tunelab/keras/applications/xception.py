"""`HyperXception`: an Xception-style network (Chollet 2017, "Xception: Deep Learning
with Depthwise Separable Convolutions") whose width, depth and head are tuned.

A strided entry convolution; `num_residual_blocks` residual blocks of two depthwise
separable convolutions; one more block of twice the filters that halves the resolution
(max pooling, with a strided 1x1 projection as its shortcut); pooling; dense layers.
With `activation="selu"` layers are self-normalizing (LeCun-normal initialization, no
batch normalization); with "relu" each convolution is followed by batch normalization.
"""

from __future__ import annotations

from typing import Any

from tunelab.keras._backend import load_keras
from tunelab.keras.applications.base import ImageHyperModel
from tunelab.space import HyperParameters


def _conv(
    layers: Any,
    x: Any,
    filters: int,
    size: int,
    activation: str,
    strides: int = 1,
    separable: bool = False,
) -> Any:
    """A convolution with its activation: selu inside the layer, with LeCun-normal
    weights; relu after batch normalization."""
    kind = layers.SeparableConv2D if separable else layers.Conv2D
    if activation == "selu":
        weights = (
            ("depthwise_initializer", "pointwise_initializer")
            if separable
            else ("kernel_initializer",)
        )
        init = dict.fromkeys(weights, "lecun_normal")
        return kind(filters, size, strides=strides, padding="same", activation="selu", **init)(x)
    x = kind(filters, size, strides=strides, padding="same", use_bias=False)(x)
    return layers.ReLU()(layers.BatchNormalization()(x))


def _residual(layers: Any, x: Any, filters: int, activation: str, downsample: bool) -> Any:
    if downsample:
        shortcut = layers.Conv2D(filters, 1, strides=2, padding="same")(x)
    elif x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, padding="same")(x)
    else:
        shortcut = x
    y = _conv(layers, x, filters, 3, activation, separable=True)
    y = _conv(layers, y, filters, 3, activation, separable=True)
    if downsample:
        y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
    return layers.Add()([y, shortcut])


class HyperXception(ImageHyperModel):
    """Keras Tuner's `HyperXception`: tunes `activation`, `conv2d_num_filters`,
    `kernel_size`, `initial_strides`, `sep_num_filters`, `num_residual_blocks`,
    `pooling` and, with the classifier, `num_dense_layers`, `dropout_rate`,
    `dense_use_bn` and `learning_rate`."""

    def build(self, hp: HyperParameters) -> Any:
        keras = load_keras()
        layers = keras.layers
        activation = hp.Choice("activation", ["relu", "selu"])
        inputs, x = self._inputs(keras)
        filters = hp.Choice("conv2d_num_filters", [32, 64, 128], default=64)
        kernel_size = hp.Choice("kernel_size", [3, 5])
        strides = hp.Choice("initial_strides", [2])
        x = _conv(layers, x, filters, kernel_size, activation, strides=strides)
        sep_filters = hp.Int("sep_num_filters", 128, 768, step=128, default=256)
        for _ in range(hp.Int("num_residual_blocks", 2, 8, default=4)):
            x = _residual(layers, x, sep_filters, activation, downsample=False)
        x = _residual(layers, x, 2 * sep_filters, activation, downsample=True)

        pooling = hp.Choice("pooling", ["avg", "flatten", "max"])
        pool = {
            "avg": layers.GlobalAveragePooling2D,
            "flatten": layers.Flatten,
            "max": layers.GlobalMaxPooling2D,
        }[pooling]
        x = pool()(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="Xception")
        dense_layers = hp.Int("num_dense_layers", 1, 3)
        dropout = hp.Float("dropout_rate", 0.0, 0.6, step=0.1, default=0.5)
        batchnorm = hp.Choice("dense_use_bn", [True, False])
        for _ in range(dense_layers):
            if activation == "selu":
                x = layers.Dense(
                    self.classes, activation="selu", kernel_initializer="lecun_normal"
                )(x)
            else:
                x = layers.Dense(self.classes, activation="relu")(x)
                if batchnorm:
                    x = layers.BatchNormalization()(x)
            if dropout:
                x = layers.Dropout(dropout)(x)
        outputs = layers.Dense(self.classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs, name="Xception")
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 1e-4, 1e-5])),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model
