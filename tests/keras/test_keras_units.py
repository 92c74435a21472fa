"""Objectives: pure logic, no training."""

from __future__ import annotations

import pytest

from tunelab.keras.objective import Objective, parse_objective


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_accuracy", "max"),
        ("accuracy", "max"),
        ("val_auc", "max"),
        ("val_loss", "min"),
        ("loss", "min"),
        ("val_mae", "min"),
        ("val_my_loss", "min"),
        ("val_precision", "max"),
    ],
)
def test_string_objectives_get_their_direction(name: str, direction: str) -> None:
    assert parse_objective(name) == Objective(name, direction)


def test_unknown_objective_names_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"'val_acuracy'.*kt.Objective\('val_acuracy'"):
        parse_objective("val_acuracy")
    with pytest.raises(ValueError, match="'min' or 'max'"):
        Objective("val_accuracy", "maximize")
    with pytest.raises(ValueError, match="one objective"):
        parse_objective(["val_loss", "val_accuracy"])
    assert parse_objective(Objective("custom", "max")).study_direction == "maximize"
