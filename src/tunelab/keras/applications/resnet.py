"""`HyperResNet`: a ResNet of bottleneck blocks whose version and depth are tuned.

Three versions (Keras Tuner's `version` choice): "v1", post-activation blocks (He et
al. 2015, "Deep Residual Learning"); "v2", pre-activation blocks (He et al. 2016,
"Identity Mappings in Deep Residual Networks"); "next", blocks whose 3x3 convolution is
split into 32 groups (Xie et al. 2017, ResNeXt 32x4d). Four stages of 3, `conv3_depth`,
`conv4_depth` and 3 blocks: ResNet-50, -101 or -152 deep. Each stage but the first
halves the resolution in its first block, whose shortcut is a strided 1x1 projection.
"""

from __future__ import annotations

from typing import Any

from tunelab.keras._backend import load_keras
from tunelab.keras.applications.base import ImageHyperModel
from tunelab.space import HyperParameters

_EPS = 1.001e-5  # batch-normalization epsilon, as in Keras's ResNets
_GROUPS = 32  # ResNeXt's cardinality


def _bn(layers: Any, x: Any) -> Any:
    return layers.BatchNormalization(axis=-1, epsilon=_EPS)(x)


def _conv(layers: Any, x: Any, filters: int, size: int, stride: int = 1, groups: int = 1) -> Any:
    return layers.Conv2D(
        filters, size, strides=stride, padding="same", use_bias=False, groups=groups
    )(x)


def _post_activation_block(
    layers: Any, x: Any, width: int, out: int, stride: int, project: bool, groups: int
) -> Any:
    """v1 and "next": conv-BN-ReLU twice, conv-BN, add the shortcut, then ReLU."""
    shortcut = _bn(layers, _conv(layers, x, out, 1, stride)) if project else x
    y = layers.ReLU()(_bn(layers, _conv(layers, x, width, 1)))
    y = layers.ReLU()(_bn(layers, _conv(layers, y, width, 3, stride, groups)))
    y = _bn(layers, _conv(layers, y, out, 1))
    return layers.ReLU()(layers.Add()([shortcut, y]))


def _pre_activation_block(
    layers: Any, x: Any, width: int, out: int, stride: int, project: bool
) -> Any:
    """v2: BN-ReLU before each convolution; the shortcut stays an identity path."""
    pre = layers.ReLU()(_bn(layers, x))
    shortcut = _conv(layers, pre, out, 1, stride) if project else x
    y = _conv(layers, pre, width, 1)
    y = _conv(layers, layers.ReLU()(_bn(layers, y)), width, 3, stride)
    y = _conv(layers, layers.ReLU()(_bn(layers, y)), out, 1)
    return layers.Add()([shortcut, y])


class HyperResNet(ImageHyperModel):
    """Keras Tuner's `HyperResNet`: tunes `version`, `conv3_depth`, `conv4_depth`,
    `pooling` and, with the classifier, `optimizer` and `learning_rate`."""

    def build(self, hp: HyperParameters) -> Any:
        keras = load_keras()
        layers = keras.layers
        version = hp.Choice("version", ["v1", "v2", "next"], default="v2")
        conv3_depth = hp.Choice("conv3_depth", [4, 8])
        conv4_depth = hp.Choice("conv4_depth", [6, 23, 36])
        inputs, x = self._inputs(keras)

        x = _conv(layers, x, 64, 7, 2)  # the stem: 7x7/2 convolution, 3x3/2 max pooling
        if version != "v2":
            x = layers.ReLU()(_bn(layers, x))
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        widths = (128, 256, 512, 1024) if version == "next" else (64, 128, 256, 512)
        expansion = 2 if version == "next" else 4
        for stage, (width, blocks) in enumerate(
            zip(widths, (3, conv3_depth, conv4_depth, 3), strict=True)
        ):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                args = (layers, x, width, width * expansion, stride, block == 0)
                if version == "v2":
                    x = _pre_activation_block(*args)
                else:
                    x = _post_activation_block(*args, _GROUPS if version == "next" else 1)
        if version == "v2":
            x = layers.ReLU()(_bn(layers, x))  # the last block's sum is not yet activated

        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        pool = layers.GlobalAveragePooling2D if pooling == "avg" else layers.GlobalMaxPooling2D
        x = pool()(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="ResNet")
        outputs = layers.Dense(self.classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs, name="ResNet")
        optimizer = hp.Choice("optimizer", ["adam", "rmsprop", "sgd"], default="adam")
        learning_rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
        make = {
            "adam": keras.optimizers.Adam,
            "rmsprop": keras.optimizers.RMSprop,
            "sgd": keras.optimizers.SGD,
        }[optimizer]
        model.compile(
            optimizer=make(learning_rate=learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model
