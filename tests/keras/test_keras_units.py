"""Objectives: pure logic, no training."""

from __future__ import annotations

import pytest

from tunelab.keras.objective import Objective, parse_objective, parse_objectives


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
    assert parse_objective(Objective("custom", "max")).study_direction == "maximize"


def test_a_list_of_objectives_keeps_its_order_and_directions() -> None:
    assert parse_objectives(["val_accuracy", Objective("size", "min"), "val_loss"]) == (
        Objective("val_accuracy", "max"),
        Objective("size", "min"),
        Objective("val_loss", "min"),
    )
    assert parse_objectives("val_auc") == (Objective("val_auc", "max"),)


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (["val_loss", "val_loss"], r"lists \['val_loss'\] more than once.*give each metric once"),
        (
            [Objective("val_loss", "min"), "val_accuracy", "val_loss"],
            r"lists \['val_loss'\] more than once",
        ),
        ([], "empty list"),
        (["val_accuracy", "val_acuracy"], r"'val_acuracy'.*check the spelling"),
    ],
)
def test_bad_objective_lists_are_refused_in_one_line(objective, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_objectives(objective)
    assert "\n" not in str(info.value)
