"""Model builders: parameter counts by hand, the hyperparameters defined, shapes, init."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from tunelab.space import HyperParameters
from tunelab.torch.models import (
    ACTIVATIONS,
    INITS,
    MLP,
    SmallCNN,
    count_parameters,
    init_weights,
    parameter_table,
)


def fixed(**chosen: Any) -> HyperParameters:
    """An `hp` that answers `chosen` values and defaults for everything else."""
    return HyperParameters(
        resolver=lambda param, conditions: chosen.get(param.name, param.default_value)
    )


def types(model: nn.Module) -> list[type[nn.Module]]:
    return [type(m) for m in model.children()]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# -- parameter counts, by hand ---------------------------------------------------------------


def test_mnist_mlp_count_matches_the_tutorial() -> None:
    model = MLP(fixed(num_layers=1, units_0=512, batch_norm=False), 784, 10)
    assert count_parameters(model) == 784 * 512 + 512 + 512 * 10 + 10 == 407_050
    assert types(model) == [nn.Linear, nn.ReLU, nn.Linear]


def test_batch_norm_adds_two_trainable_parameters_per_unit() -> None:
    model = MLP(fixed(num_layers=1, units_0=512, batch_norm=True), 784, 10)
    assert count_parameters(model) == 407_050 + 2 * 512
    # Running mean/var are buffers, not parameters.
    assert count_parameters(model, trainable_only=False) == 407_050 + 2 * 512


def test_two_layer_mlp_count() -> None:
    # The seed tutorial's 784 -> 512 -> 128 -> 10 network.
    model = MLP(fixed(num_layers=2, units_0=512, units_1=128), 784, 10)
    expected = (784 * 512 + 512) + (512 * 128 + 128) + (128 * 10 + 10)
    assert expected == 468_874
    assert count_parameters(model) == expected


def test_trainable_only_skips_frozen_parameters() -> None:
    model = MLP(fixed(num_layers=1, units_0=512), 784, 10)
    model[0].requires_grad_(False)
    assert count_parameters(model) == 512 * 10 + 10
    assert count_parameters(model, trainable_only=False) == 407_050


def test_small_cnn_count_on_digits() -> None:
    hp = fixed(conv_blocks=2, filters_0=16, filters_1=32, kernel_size=3, dense_units=64)
    model = SmallCNN(hp, (1, 8, 8), 10)
    conv0 = 3 * 3 * 1 * 16 + 16
    conv1 = 3 * 3 * 16 * 32 + 32
    flat = 32 * 2 * 2  # 8 -> 4 -> 2
    dense = flat * 64 + 64
    head = 64 * 10 + 10
    assert count_parameters(model) == conv0 + conv1 + dense + head == 13_706


def test_small_cnn_count_on_mnist_with_batch_norm() -> None:
    hp = fixed(
        conv_blocks=3, filters_0=16, filters_1=32, filters_2=64, kernel_size=5, batch_norm=True
    )
    model = SmallCNN(hp, (1, 28, 28), 10)
    convs = (5 * 5 * 1 * 16 + 16) + (5 * 5 * 16 * 32 + 32) + (5 * 5 * 32 * 64 + 64)
    norms = 2 * (16 + 32 + 64)
    flat = 64 * 3 * 3  # 28 -> 14 -> 7 -> 3
    dense = flat * 32 + 32  # dense_units defaults to 32
    assert count_parameters(model) == convs + norms + dense + (32 * 10 + 10)


@pytest.mark.filterwarnings("ignore:Lazy modules:UserWarning")
def test_count_refuses_lazy_modules() -> None:
    model = nn.Sequential(nn.LazyLinear(4))
    with pytest.raises(ValueError, match="forward pass"):
        count_parameters(model)


# -- the hyperparameters defined -------------------------------------------------------------


def test_mlp_defines_exactly_the_documented_names() -> None:
    hp = fixed(num_layers=2)
    MLP(hp, 64, 10, max_layers=3)
    active = {"num_layers", "activation", "batch_norm", "init"}
    active |= {"units_0", "units_1", "dropout_0", "dropout_1"}
    assert set(hp.values) == active
    # The third layer's parameters are in the space, inactive, conditional on num_layers.
    assert set(hp.space.names()) == active | {"units_2", "dropout_2"}
    assert hp.get("units_2") is None
    conditions = hp.space.entries["units_2"].conditions
    assert [(c.parent_name, c.parent_values) for c in conditions] == [("num_layers", (3,))]
    conditions = hp.space.entries["dropout_1"].conditions
    assert [(c.parent_name, c.parent_values) for c in conditions] == [("num_layers", (2, 3))]


def test_mlp_domains() -> None:
    hp = HyperParameters()
    MLP(hp, 64, 10, max_layers=4, units=(16, 64, 16), dropout=(0.1, 0.3, 0.1))
    assert hp.space["num_layers"].domain()["max_value"] == 4
    assert hp.space["units_3"].domain() == {
        "min_value": 16,
        "max_value": 64,
        "step": 16,
        "sampling": "linear",
    }
    assert hp.space["activation"].domain()["values"] == ["relu", "tanh", "gelu", "sigmoid"]
    assert hp.space["init"].domain()["values"] == ["xavier", "he", "normal"]
    assert hp.values["dropout_0"] == pytest.approx(0.1)


def test_standalone_hp_builds_the_default_mlp() -> None:
    hp = HyperParameters()
    model = MLP(hp, 64, 10)
    # Defaults: one layer of 32 ReLU units, no batch norm, no dropout.
    assert types(model) == [nn.Linear, nn.ReLU, nn.Linear]
    assert model[0].out_features == 32
    assert hp.values["init"] == "xavier"


def test_small_cnn_defines_exactly_the_documented_names() -> None:
    hp = fixed(conv_blocks=1)
    SmallCNN(hp, (1, 8, 8), 10, max_blocks=3)
    active = {
        "conv_blocks",
        "kernel_size",
        "pool",
        "batch_norm",
        "conv_activation",
        "conv_dropout",
        "dense_units",
        "dense_dropout",
        "filters_0",
    }
    assert set(hp.values) == active
    assert set(hp.space.names()) == active | {"filters_1", "filters_2"}


def test_mlp_and_cnn_can_share_a_study() -> None:
    # A study that picks the model family per trial must not see a name redefined.
    hp = HyperParameters()
    MLP(hp, 64, 10)
    SmallCNN(hp, (1, 8, 8), 10)  # would raise SearchSpaceError on a conflicting domain
    assert hp.space["activation"].domain()["values"] == list(ACTIVATIONS)
    assert hp.space["conv_activation"].domain()["values"] == ["relu", "gelu", "tanh"]


# -- structure and forward shapes ------------------------------------------------------------


def test_mlp_block_order() -> None:
    hp = fixed(
        num_layers=2,
        units_0=64,
        units_1=32,
        activation="gelu",
        batch_norm=True,
        dropout_0=0.2,
        dropout_1=0.0,
    )
    model = MLP(hp, 64, 10)
    assert types(model) == [
        nn.Linear,
        nn.BatchNorm1d,
        nn.GELU,
        nn.Dropout,
        nn.Linear,
        nn.BatchNorm1d,
        nn.GELU,
        nn.Linear,
    ]
    assert model[3].p == pytest.approx(0.2)
    assert (model[-1].in_features, model[-1].out_features) == (32, 10)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_batch_norm_present_iff_chosen(batch_norm: bool) -> None:
    mlp = MLP(fixed(num_layers=3, batch_norm=batch_norm), 64, 10)
    n_bn = sum(isinstance(m, nn.BatchNorm1d) for m in mlp.modules())
    assert n_bn == (3 if batch_norm else 0)
    cnn = SmallCNN(fixed(conv_blocks=2, batch_norm=batch_norm), (1, 8, 8), 10)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in cnn.modules())
    assert n_bn == (2 if batch_norm else 0)


def test_dropout_omitted_at_rate_zero() -> None:
    none = MLP(fixed(num_layers=3), 64, 10)
    assert not any(isinstance(m, nn.Dropout) for m in none.modules())
    some = MLP(fixed(num_layers=3, dropout_1=0.3), 64, 10)
    rates = [m.p for m in some.modules() if isinstance(m, nn.Dropout)]
    assert rates == [pytest.approx(0.3)]

    cnn = SmallCNN(fixed(conv_blocks=2), (1, 8, 8), 10)
    assert not any(isinstance(m, (nn.Dropout, nn.Dropout2d)) for m in cnn.modules())
    cnn = SmallCNN(fixed(conv_blocks=2, conv_dropout=0.2, dense_dropout=0.5), (1, 8, 8), 10)
    assert [m.p for m in cnn.modules() if isinstance(m, nn.Dropout2d)] == [0.2, 0.2]
    assert [m.p for m in cnn.modules() if type(m) is nn.Dropout] == [0.5]


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_forward_on_digits(activation: str) -> None:
    hp = fixed(num_layers=3, activation=activation, batch_norm=True, dropout_0=0.5)
    model = MLP(hp, 64, 10)
    assert any(isinstance(m, ACTIVATIONS[activation]) for m in model.modules())
    out = model(torch.rand(5, 64))
    assert out.shape == (5, 10)
    assert torch.isfinite(out).all()


def test_small_cnn_on_digits_pools_three_times() -> None:
    hp = fixed(conv_blocks=3, filters_2=64, pool="avg")
    model = SmallCNN(hp, (1, 8, 8), 10)
    assert sum(isinstance(m, nn.AvgPool2d) for m in model.modules()) == 3
    flatten_to = next(m for m in model if isinstance(m, nn.Linear))
    assert flatten_to.in_features == 64 * 1 * 1  # 8 -> 4 -> 2 -> 1
    assert model(torch.rand(4, 1, 8, 8)).shape == (4, 10)


def test_small_cnn_stops_pooling_instead_of_failing() -> None:
    model = SmallCNN(fixed(conv_blocks=4, kernel_size=5), (1, 8, 8), 10, max_blocks=4)
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 4
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 3
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 10)


def test_small_cnn_on_mnist_shapes() -> None:
    hp = fixed(conv_blocks=3, batch_norm=True, conv_dropout=0.1, dense_dropout=0.2)
    model = SmallCNN(hp, (1, 28, 28), 10)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    model = SmallCNN(fixed(conv_blocks=1), (3, 5, 7), 4)  # colour, odd, non-square
    assert model(torch.rand(2, 3, 5, 7)).shape == (2, 4)


# -- initialization --------------------------------------------------------------------------


def test_xavier_uses_the_activation_gain_and_its_bound() -> None:
    layer = nn.Linear(512, 512)
    init_weights(layer, "xavier", "tanh")
    w = layer.weight
    gain = 5 / 3
    assert w.abs().max() <= gain * math.sqrt(6 / (512 + 512))
    # Uniform(-a, a) has std a / sqrt(3) = gain * sqrt(2 / (fan_in + fan_out)).
    assert w.std().item() == pytest.approx(gain * math.sqrt(2 / 1024), rel=0.05)
    assert torch.count_nonzero(layer.bias) == 0


def test_he_normal_std_for_rectifiers() -> None:
    for activation in ("relu", "gelu"):
        layer = nn.Linear(512, 512)
        init_weights(layer, "he", activation)
        assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.1)
        assert torch.count_nonzero(layer.bias) == 0


def test_he_falls_back_to_glorot_normal_for_saturating_activations() -> None:
    # Non-square, so He's fan_in std and Glorot's fan-average std differ (0.104 vs 0.066).
    layer = nn.Linear(256, 1024)
    init_weights(layer, "he", "tanh")
    std = layer.weight.std().item()
    assert std == pytest.approx(5 / 3 * math.sqrt(2 / (256 + 1024)), rel=0.05)
    assert std != pytest.approx(5 / 3 / math.sqrt(256), rel=0.2)


def test_he_on_convolutions_uses_the_kernel_fan_in() -> None:
    model = SmallCNN(fixed(conv_blocks=2, filters_0=64, filters_1=64), (1, 8, 8), 10)
    init_weights(model, "he")
    conv = [m for m in model.modules() if isinstance(m, nn.Conv2d)][1]
    fan_in = 64 * 3 * 3
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
    assert conv.bias is not None
    assert torch.count_nonzero(conv.bias) == 0


def test_normal_init_std() -> None:
    layer = nn.Linear(512, 512)
    init_weights(layer, "normal")
    assert layer.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert layer.weight.mean().abs().item() < 1e-3
    assert torch.count_nonzero(layer.bias) == 0


def test_default_init_restores_pytorch_reset() -> None:
    layer = nn.Linear(512, 512)
    init_weights(layer, "normal")
    init_weights(layer, "default")
    # PyTorch's Linear reset: weights and biases uniform within 1/sqrt(fan_in).
    bound = 1 / math.sqrt(512)
    assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.count_nonzero(layer.bias) > 0


def test_mlp_applies_the_tuned_init_and_a_unit_gain_head() -> None:
    hp = fixed(num_layers=2, units_0=512, units_1=512, init="he", batch_norm=True)
    model = MLP(hp, 512, 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears[1].weight.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.1)
    head = linears[-1]
    assert head.weight.abs().max() <= math.sqrt(6 / (512 + 10))
    assert head.weight.abs().max() > math.sqrt(2 / 512)  # not He: unit-gain Glorot bound
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    assert torch.equal(bn.weight, torch.ones(512))  # init leaves normalization alone


def test_unknown_scheme_or_activation_is_refused() -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="glorot") as info:
        init_weights(model, "glorot")
    assert all(name in str(info.value) for name in INITS)
    with pytest.raises(ValueError, match="swish"):
        init_weights(model, "xavier", "swish")


# -- reports ---------------------------------------------------------------------------------


def test_parameter_table_rows_sum_to_the_count() -> None:
    model = MLP(fixed(num_layers=2, units_0=512, units_1=128, batch_norm=True), 784, 10)
    rows = parameter_table(model)
    assert rows[0] == ("0", "Linear(784 -> 512)", 784 * 512 + 512)
    assert rows[1] == ("1", "BatchNorm1d(512)", 2 * 512)
    assert [r[1] for r in rows] == [
        "Linear(784 -> 512)",
        "BatchNorm1d(512)",
        "Linear(512 -> 128)",
        "BatchNorm1d(128)",
        "Linear(128 -> 10)",
    ]
    assert sum(r[2] for r in rows) == count_parameters(model)


def test_parameter_table_for_a_cnn_and_frozen_layers() -> None:
    model = SmallCNN(fixed(conv_blocks=2, kernel_size=5), (1, 28, 28), 10)
    rows = parameter_table(model)
    assert rows[0][1] == "Conv2d(1 -> 16, 5x5)"
    assert sum(r[2] for r in rows) == count_parameters(model)
    model[0].requires_grad_(False)  # the table lists the layer as it is, frozen or not
    assert sum(r[2] for r in parameter_table(model)) == count_parameters(
        model, trainable_only=False
    )


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"in_features": 0}, "in_features=0"),
        ({"out_features": -1}, "out_features=-1"),
        ({"max_layers": 0}, "max_layers=0"),
        ({"in_features": 2.5}, "in_features=2.5"),
        ({"dropout": (0.0, 1.0, 0.1)}, "dropout high=1.0"),
    ],
)
def test_mlp_validates_its_arguments(kwargs: dict[str, Any], needle: str) -> None:
    args: dict[str, Any] = {"in_features": 64, "out_features": 10, **kwargs}
    with pytest.raises(ValueError, match=needle.replace(".", r"\.")):
        MLP(HyperParameters(), **args)


@pytest.mark.parametrize("in_shape", [(8, 8), (1, 0, 8), (1, 8, 8, 1)])
def test_small_cnn_validates_its_shape(in_shape: Any) -> None:
    with pytest.raises(ValueError, match="in_shape"):
        SmallCNN(HyperParameters(), in_shape, 10)
    with pytest.raises(ValueError, match="max_blocks=0"):
        SmallCNN(HyperParameters(), (1, 8, 8), 10, max_blocks=0)
