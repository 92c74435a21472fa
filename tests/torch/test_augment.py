"""Augment moves, turns and mirrors whole batches as specified; augment_from_hp tunes it."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from tunelab.errors import DataError
from tunelab.space import HyperParameters, Param
from tunelab.torch.augment import Augment, _warp, augment_from_hp


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def dot_images(batch: int, size: int = 8, at: tuple[int, int] = (3, 4)) -> torch.Tensor:
    x = torch.zeros(batch, 1, size, size)
    x[:, 0, at[0], at[1]] = 1.0
    return x


def test_shape_and_dtype_are_kept_and_the_input_is_not_modified() -> None:
    aug = Augment(shift=0.1, rotation=10.0, flip=True)
    for dtype in (torch.float32, torch.float64):
        x = torch.rand(5, 3, 12, 10, generator=seeded(0)).to(dtype)
        before = x.clone()
        out = aug(x, seeded(1))
        assert out.shape == x.shape and out.dtype == dtype
        assert torch.equal(x, before)
    assert aug(torch.zeros(0, 1, 8, 8)).shape == (0, 1, 8, 8)


def test_zero_strength_is_the_identity() -> None:
    aug = Augment()
    x = torch.rand(4, 2, 8, 8)
    assert not aug.active and aug(x, seeded(0)) is x
    assert Augment(shift=0.1).active and Augment(rotation=1).active and Augment(flip=True).active


def test_a_one_pixel_shift_moves_a_bright_pixel_by_at_most_one_whole_pixel() -> None:
    x = dot_images(256)
    out = Augment(shift=1 / 8)(x, seeded(0))
    offsets = set()
    for image in out[:, 0]:
        peak = torch.nonzero(image > 0.5)
        assert len(peak) == 1  # moved by whole pixels: no blur
        row, col = peak[0].tolist()
        assert image[row, col] == pytest.approx(1.0, abs=1e-5)
        assert float(image.sum()) == pytest.approx(1.0, abs=1e-4)  # mass kept
        offsets.add((row - 3, col - 4))
    assert offsets == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}


def test_warp_shifts_whole_images_exactly_and_rotates_rigidly() -> None:
    x = torch.rand(2, 3, 6, 10, generator=seeded(0))
    moved = _warp(x, torch.tensor([[2.0, -1.0], [0.0, 0.0]]), torch.zeros(2))
    # right by 2, up by 1: content lands at [:5, 2:], zeros move in at the edges
    assert torch.allclose(moved[0, :, :5, 2:], x[0, :, 1:, :-2], atol=1e-5)
    assert float(moved[0, :, :, :2].abs().max()) < 1e-5
    assert float(moved[0, :, 5, :].abs().max()) < 1e-5
    assert torch.allclose(moved[1], x[1], atol=1e-5)
    # 180 degrees about the centre is a mirror in both axes
    turned = _warp(x, torch.zeros(2, 2), torch.tensor([180.0, 180.0]))
    assert torch.allclose(turned, x.flip(-1).flip(-2), atol=1e-5)
    # 90 degrees on a non-square image keeps distances (aspect-corrected)
    dot = torch.zeros(1, 1, 8, 16)
    dot[0, 0, 3, 9] = 1.0  # offset (-0.5, +1.5) from the centre (3.5, 7.5)
    quarter = _warp(dot, torch.zeros(1, 2), torch.tensor([90.0]))[0, 0]
    assert torch.nonzero(quarter > 0.5).tolist() in ([[5, 8]], [[2, 7]])


def test_rotation_keeps_the_radius_and_stays_within_the_angle() -> None:
    size, radius, limit = 41, 12.0, 10.0
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centre = (size - 1) / 2
    blob = torch.exp(-((rows - centre) ** 2 + (cols - centre - radius) ** 2) / 4.0)
    x = blob.expand(64, 1, size, size).clone()
    out = Augment(rotation=limit)(x, seeded(5))
    mass = out.sum(dim=(1, 2, 3))
    cy = (out[:, 0] * rows).sum(dim=(1, 2)) / mass - centre
    cx = (out[:, 0] * cols).sum(dim=(1, 2)) / mass - centre
    angles = torch.rad2deg(torch.atan2(cy, cx))
    assert torch.allclose(torch.hypot(cx, cy), torch.full((64,), radius), atol=0.05)
    assert float(angles.abs().max()) <= limit + 0.1
    assert float(angles.abs().max()) > limit / 2 and float(angles.std()) > 1.0  # really varies


def test_flip_mirrors_exactly_for_a_random_half() -> None:
    x = torch.rand(200, 2, 5, 7, generator=seeded(0))
    out = Augment(flip=True)(x, seeded(1))
    mirrored = (out == x.flip(-1)).flatten(1).all(dim=1)
    kept = (out == x).flatten(1).all(dim=1)
    assert bool((mirrored | kept).all())
    assert 60 < int(mirrored.sum()) < 140


def test_same_seed_same_output_different_seed_different_output() -> None:
    aug = Augment(shift=0.2, rotation=15.0, flip=True)
    x = torch.rand(16, 1, 12, 12, generator=seeded(0))
    assert torch.equal(aug(x, seeded(7)), aug(x, seeded(7)))
    assert not torch.allclose(aug(x, seeded(7)), aug(x, seeded(8)))
    gen = seeded(7)
    assert not torch.allclose(aug(x, gen), aug(x, gen))  # the generator advances
    assert aug(x).shape == x.shape  # without a generator: torch's global one


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shift": -0.1}, r"shift must lie in \[0, 0\.5\]"),
        ({"shift": 0.6}, "shift=0.6"),
        ({"shift": math.nan}, "shift must lie"),
        ({"rotation": 181.0}, r"rotation must lie in \[0, 180\]"),
        ({"rotation": -5}, "rotation=-5"),
        ({"flip": 1}, "flip must be True or False"),
    ],
)
def test_arguments_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        Augment(**kwargs)


def test_input_must_be_a_float_image_batch() -> None:
    with pytest.raises(DataError, match=r"\(B, C, H, W\) float tensor.*shape \(8, 8\)"):
        Augment(flip=True)(torch.zeros(8, 8))
    with pytest.raises(DataError, match=r"torch\.int64"):
        Augment(flip=True)(torch.zeros(2, 1, 8, 8, dtype=torch.long))


# -- augment_from_hp ---------------------------------------------------------------------
def test_augment_from_hp_defaults_to_off_but_defines_the_space() -> None:
    hp = HyperParameters()
    assert augment_from_hp(hp, flip_ok=True) is None
    assert all(name in hp.space for name in ("augment", "aug_shift", "aug_rotation", "aug_flip"))
    assert hp.values == {"augment": False}  # the others are inactive
    hp = HyperParameters()
    augment_from_hp(hp, flip_ok=False)
    assert "aug_flip" not in hp.space


def test_augment_from_hp_builds_the_chosen_augmentation() -> None:
    chosen = {"augment": True, "aug_shift": 0.15, "aug_rotation": 5.0, "aug_flip": True}
    asked: list[str] = []

    def resolver(param: Param, conditions: object) -> Any:
        asked.append(param.name)
        return chosen[param.name]

    aug = augment_from_hp(HyperParameters(resolver=resolver), flip_ok=True)
    assert aug == Augment(shift=0.15, rotation=5.0, flip=True)
    assert asked == ["augment", "aug_shift", "aug_rotation", "aug_flip"]

    asked.clear()
    aug = augment_from_hp(HyperParameters(resolver=resolver), flip_ok=False)
    assert aug == Augment(shift=0.15, rotation=5.0, flip=False)
    assert "aug_flip" not in asked
