"""Tunable model builders: an MLP and a small CNN that read their architecture from `hp`.

Each builder asks `hp` for every choice it makes, so one call inside an objective defines
the search space and builds the trial's model. Per-layer parameters (`units_i`,
`dropout_i`, `filters_i`) are defined for every possible layer inside a
`conditional_scope` on the layer count: samplers see the whole space from the first trial,
and a trial records only the layers it actually has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import torch
from torch import nn

from tunelab.errors import ConfigurationError
from tunelab.space import HyperParameters

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "SmallCNN",
    "count_parameters",
    "init_weights",
    "parameter_table",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}
INITS = ("xavier", "he", "normal", "default")

_ACTIVATION_CHOICES = list(ACTIVATIONS)
# Sigmoid saturates and rarely trains a conv net in a few epochs: SmallCNN tunes its own
# `conv_activation` without it, so a study mixing both builders keeps one domain per name.
_CONV_ACTIVATION_CHOICES = ["relu", "gelu", "tanh"]
_TUNED_INITS = ["xavier", "he", "normal"]
# torch.nn.init's name for each activation's gain; it has none for GELU, which is close
# enough to ReLU (zero for negatives, identity for large positives) to share its gain.
_Nonlinearity = Literal["relu", "tanh", "sigmoid"]
_NONLINEARITY: dict[str, _Nonlinearity] = {
    "relu": "relu",
    "tanh": "tanh",
    "gelu": "relu",
    "sigmoid": "sigmoid",
}
_NORMAL_STD = 0.01

T = TypeVar("T")


# ----------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------


def MLP(
    hp: HyperParameters,
    in_features: int,
    out_features: int,
    *,
    max_layers: int = 3,
    units: tuple[int, int, int] = (32, 512, 32),
    dropout: tuple[float, float, float] = (0.0, 0.5, 0.1),
) -> nn.Sequential:
    """A tunable multilayer perceptron for (N, in_features) inputs, returning logits.

    Tunes `num_layers`, `activation`, `batch_norm`, `init`, and for each layer i below
    `num_layers`: `units_i` and `dropout_i` (ranges given as (low, high, step)). Blocks are
    Linear -> [BatchNorm1d] -> activation -> [Dropout]; the last Linear has no activation,
    so the output feeds `nn.CrossEntropyLoss` directly.
    """
    _check_positive("in_features", in_features)
    _check_positive("out_features", out_features)
    _check_positive("max_layers", max_layers)
    units_low, units_high, units_step = units
    drop_low, drop_high, drop_step = dropout
    _check_positive("units low", units_low)
    _check_rate("dropout low", drop_low)
    _check_rate("dropout high", drop_high)

    num_layers = hp.Int("num_layers", 1, max_layers)
    activation = hp.Choice("activation", _ACTIVATION_CHOICES)
    batch_norm = hp.Boolean("batch_norm")
    init = hp.Choice("init", _TUNED_INITS)
    widths = _per_layer(
        hp,
        "num_layers",
        num_layers,
        max_layers,
        lambda i: hp.Int(f"units_{i}", units_low, units_high, step=units_step),
    )
    rates = _per_layer(
        hp,
        "num_layers",
        num_layers,
        max_layers,
        lambda i: hp.Float(f"dropout_{i}", drop_low, drop_high, step=drop_step),
    )

    layers: list[nn.Module] = []
    width_in = in_features
    for width, rate in zip(widths, rates, strict=True):
        layers.append(nn.Linear(width_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        if rate > 0:
            layers.append(nn.Dropout(rate))
        width_in = width
    body = nn.Sequential(*layers)
    init_weights(body, init, activation)
    head = nn.Linear(width_in, out_features)
    # The output layer feeds a softmax, not `activation`: unit gain keeps logits O(1).
    nn.init.xavier_uniform_(head.weight, gain=1.0)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*body, head)


def SmallCNN(
    hp: HyperParameters,
    in_shape: tuple[int, int, int],
    out_features: int,
    *,
    max_blocks: int = 3,
) -> nn.Sequential:
    """A tunable small CNN for (N, C, H, W) images, returning logits.

    Tunes `conv_blocks`, `kernel_size`, `pool`, `batch_norm`, `activation`, `conv_dropout`,
    `filters_i` for each block i below `conv_blocks`, `dense_units` and `dense_dropout`.
    Blocks are Conv2d(same) -> [BatchNorm2d] -> activation -> [2x2 pool] -> [Dropout2d];
    a block pools only while both spatial sides are >= 2, so 8x8 digits take three blocks
    (8 -> 4 -> 2 -> 1) and deeper stacks simply stop shrinking. The flattened size is
    computed here, not by LazyLinear, so the model has all its parameters at once.
    Weights keep PyTorch's default initialization.
    """
    channels, height, width = _check_shape(in_shape)
    _check_positive("out_features", out_features)
    _check_positive("max_blocks", max_blocks)

    blocks = hp.Int("conv_blocks", 1, max_blocks)
    kernel_size = hp.Choice("kernel_size", [3, 5])
    pool = hp.Choice("pool", ["max", "avg"])
    batch_norm = hp.Boolean("batch_norm")
    activation = hp.Choice("conv_activation", _CONV_ACTIVATION_CHOICES)
    conv_dropout = hp.Float("conv_dropout", 0.0, 0.5, step=0.1)
    filters = _per_layer(
        hp, "conv_blocks", blocks, max_blocks, lambda i: hp.Choice(f"filters_{i}", [16, 32, 64])
    )
    dense_units = hp.Int("dense_units", 32, 256, step=32)
    dense_dropout = hp.Float("dense_dropout", 0.0, 0.5, step=0.1)

    pool_type: type[nn.Module] = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
    layers: list[nn.Module] = []
    for out_channels in filters:
        layers.append(nn.Conv2d(channels, out_channels, kernel_size, padding="same"))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(ACTIVATIONS[activation]())
        if height >= 2 and width >= 2:
            layers.append(pool_type(2))
            height, width = height // 2, width // 2
        if conv_dropout > 0:
            layers.append(nn.Dropout2d(conv_dropout))
        channels = out_channels
    layers += [
        nn.Flatten(),
        nn.Linear(channels * height * width, dense_units),
        ACTIVATIONS[activation](),
    ]
    if dense_dropout > 0:
        layers.append(nn.Dropout(dense_dropout))
    layers.append(nn.Linear(dense_units, out_features))
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (shared tensors counted once); buffers are not counted."""
    total = 0
    for name, param in model.named_parameters():
        if isinstance(param, nn.parameter.UninitializedParameter):
            raise ConfigurationError(
                f"parameter {name!r} is not materialized yet (a lazy module), so it has no "
                "size; run one forward pass before counting"
            )
        if param.requires_grad or not trainable_only:
            total += param.numel()
    return total


def parameter_table(model: nn.Module) -> list[tuple[str, str, int]]:
    """(layer name, description, parameter count) for each layer that owns parameters.

    Counts every parameter, frozen or not, so the rows add up to
    `count_parameters(model, trainable_only=False)`.
    """
    rows: list[tuple[str, str, int]] = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if own:
            label = name or type(module).__name__
            rows.append((label, _describe(module), sum(p.numel() for p in own)))
    return rows


def _describe(module: nn.Module) -> str:
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return f"{kind}({module.in_features} -> {module.out_features})"
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        kernel = "x".join(str(k) for k in module.kernel_size)
        return f"{kind}({module.in_channels} -> {module.out_channels}, {kernel})"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return f"{kind}({module.num_features})"
    shapes = ", ".join(
        f"{n}: {'x'.join(map(str, p.shape))}" for n, p in module.named_parameters(recurse=False)
    )
    return f"{kind}({shapes})"


# ----------------------------------------------------------------------------------------
# Initialization
# ----------------------------------------------------------------------------------------


def init_weights(model: nn.Module, scheme: str, activation: str = "relu") -> None:
    """Re-initialize every Linear and Conv layer of `model` in place, biases to zero.

    - "xavier": Glorot uniform scaled by the activation's gain, for any activation.
    - "he": Kaiming normal (fan_in) for relu/gelu. He's variance 2/fan_in assumes a
      rectifier that zeroes half its inputs; for tanh/sigmoid it would be too large, so
      "he" falls back to a Glorot *normal* draw with the activation's gain.
    - "normal": N(0, 0.01^2), the classic small-random start.
    - "default": PyTorch's own `reset_parameters()` (biases included, not zeroed).
    GELU has no gain in `torch.nn.init`; it is treated as ReLU. Normalization layers
    are left alone (weight 1, bias 0 is already right for them).
    """
    if scheme not in INITS:
        raise ConfigurationError(
            f"init scheme must be one of {', '.join(INITS)}, but got scheme={scheme!r}"
        )
    if activation not in ACTIVATIONS:
        raise ConfigurationError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, but got activation={activation!r}"
        )
    nonlinearity = _NONLINEARITY[activation]
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            _init_layer(module, scheme, nonlinearity)


def _init_layer(
    layer: nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d, scheme: str, nonlin: _Nonlinearity
) -> None:
    if scheme == "default":
        layer.reset_parameters()
        return
    weight: torch.Tensor = layer.weight
    if scheme == "xavier":
        nn.init.xavier_uniform_(weight, gain=nn.init.calculate_gain(nonlin))
    elif scheme == "he" and nonlin == "relu":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    elif scheme == "he":
        nn.init.xavier_normal_(weight, gain=nn.init.calculate_gain(nonlin))
    else:
        nn.init.normal_(weight, mean=0.0, std=_NORMAL_STD)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def _per_layer(
    hp: HyperParameters, parent: str, count: int, maximum: int, define: Callable[[int], T]
) -> list[T]:
    """Define a parameter for each of `maximum` layers; return the values of the first `count`.

    Layer i exists while `parent` > i, so its parameter lives in that conditional scope.
    """
    values: list[T] = []
    for i in range(maximum):
        with hp.conditional_scope(parent, list(range(i + 1, maximum + 1))):
            value = define(i)
        if i < count:
            values.append(value)
    return values


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be an integer >= 1, but got {name}={value!r}")


def _check_rate(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigurationError(
            f"{name} must be a dropout rate in [0, 1), but got {name}={value!r}; "
            "a rate of 1 would zero every activation"
        )


def _check_shape(in_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(in_shape) != 3 or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in in_shape
    ):
        raise ConfigurationError(
            "in_shape must be (channels, height, width) with integers >= 1, "
            f"but got in_shape={tuple(in_shape)!r}; e.g. (1, 28, 28) for MNIST"
        )
    channels, height, width = in_shape
    return channels, height, width
