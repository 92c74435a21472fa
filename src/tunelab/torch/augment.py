"""Batch image augmentation, and its tunable form for a `build_model(hp)`.

One affine warp for the whole batch (`affine_grid` + `grid_sample`) keeps augmentation a
few kernel launches per step, on CPU or GPU, instead of a Python loop over samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tunelab.errors import DataError
from tunelab.space.hyperparameters import HyperParameters

__all__ = ["Augment", "augment_from_hp"]


@dataclass(frozen=True)
class Augment:
    """Random image augmentation applied to a whole batch at once (no per-sample Python loop).

    Each sample gets its own translation of up to `shift` * width/height pixels, rounded to
    whole pixels as torchvision's RandomAffine does (a shift alone never blurs), its own
    rotation in [-rotation, rotation] degrees about the centre, and with `flip` a horizontal
    mirror with probability 1/2. Pixels moved in from outside are zero.
    """

    shift: float = 0.0
    rotation: float = 0.0
    flip: bool = False

    def __post_init__(self) -> None:
        if not _is_real(self.shift) or not 0.0 <= self.shift <= 0.5:
            raise DataError(
                f"shift must lie in [0, 0.5] (a fraction of the image size), but got "
                f"shift={self.shift!r}; e.g. 0.1 moves images by up to a tenth of their size"
            )
        if not _is_real(self.rotation) or not 0.0 <= self.rotation <= 180.0:
            raise DataError(
                f"rotation must lie in [0, 180] degrees, but got rotation={self.rotation!r}; "
                "e.g. 10 rotates by up to 10 degrees either way"
            )
        if not isinstance(self.flip, bool):
            raise DataError(f"flip must be True or False, but got flip={self.flip!r}")

    @property
    def active(self) -> bool:
        """False when every strength is zero: calling returns the input unchanged."""
        return self.shift > 0.0 or self.rotation > 0.0 or self.flip

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a (B, C, H, W) float batch; the same generator state gives the same output.

        Random numbers are drawn on the generator's device (x's device without one) and the
        same count is drawn for every setting, then moved to x's device.
        """
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
            got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else x
            raise DataError(f"Augment needs a (B, C, H, W) float tensor, but got {got}")
        if not self.active or x.shape[0] == 0:
            return x
        batch, _, height, width = x.shape
        device = generator.device if generator is not None else x.device
        u = torch.rand(batch, 4, generator=generator, device=device).to(x.device)
        if self.shift > 0.0 or self.rotation > 0.0:
            shift_px = torch.stack(
                [
                    torch.round((2 * u[:, 0] - 1) * self.shift * width),
                    torch.round((2 * u[:, 1] - 1) * self.shift * height),
                ],
                dim=1,
            )
            angle = (2 * u[:, 2] - 1) * self.rotation
            x = _warp(x, shift_px, angle)
        if self.flip:
            mirror = (u[:, 3] < 0.5).view(batch, 1, 1, 1)
            x = torch.where(mirror, x.flip(-1), x)
        return x


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _warp(x: torch.Tensor, shift_px: torch.Tensor, angle_deg: torch.Tensor) -> torch.Tensor:
    """Rotate each sample about its centre by `angle_deg`, then move it by `shift_px` (dx, dy).

    `affine_grid` maps output to input positions in coordinates normalised to [-1, 1] per
    axis; the rotation is conjugated by that scaling so non-square images rotate rigidly.
    """
    batch, _, height, width = x.shape
    rad = torch.deg2rad(angle_deg.to(torch.float32))
    cos, sin = torch.cos(rad), torch.sin(rad)
    # Output -> input is the inverse rotation R(-angle), in normalised coordinates.
    a = torch.stack(
        [
            torch.stack([cos, sin * (height / width)], dim=1),
            torch.stack([-sin * (width / height), cos], dim=1),
        ],
        dim=1,
    )
    shift_norm = shift_px.to(torch.float32) * torch.tensor(
        [2.0 / width, 2.0 / height], dtype=torch.float32, device=x.device
    )
    t = -(a @ shift_norm.unsqueeze(-1))  # input = A (output - shift)
    theta = torch.cat([a, t], dim=2).to(x.dtype)
    grid = torch.nn.functional.affine_grid(
        theta, [batch, x.shape[1], height, width], align_corners=False
    )
    return torch.nn.functional.grid_sample(
        x, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )


def augment_from_hp(hp: HyperParameters, *, flip_ok: bool) -> Augment | None:
    """Tunable augmentation: "augment", and under it "aug_shift", "aug_rotation", "aug_flip".

    The conditional parameters are always defined, so the search space is the same whatever
    this trial chose; "aug_flip" exists only for data whose labels survive a mirror.
    Returns None when augment is off.
    """
    augment = hp.Boolean("augment")
    with hp.conditional_scope("augment", [True]):
        shift = hp.Float("aug_shift", 0.0, 0.2, step=0.05)
        rotation = hp.Float("aug_rotation", 0.0, 20.0, step=5.0)
        flip = hp.Boolean("aug_flip") if flip_ok else False
    if not augment:
        return None
    return Augment(shift=float(shift), rotation=float(rotation), flip=bool(flip))
