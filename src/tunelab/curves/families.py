"""Parametric learning-curve families on a fixed grid of shapes.

Every family is `y(x) = c - a * g(x; shape)` with `g` falling towards 0, so a curve
rises (a > 0) or falls (a < 0) towards its asymptote `c`. For a given shape, `c` and `a`
enter linearly and have a closed-form least-squares fit; only the shape needs a search,
and a fixed grid of shapes makes that search one vectorised pass. `x` is the step plus one
(so a report at step 0 has a place), divided by the same for the last step seen, so one grid
serves curves of any length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Shape = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Family:
    """One family: its name, the grid of shape parameters (one row a shape), and `g`."""

    name: str
    shapes: np.ndarray  # (n_shapes, 2): the second column is unused by one-shape families
    g: Shape  # g(u[None, :], p[:, None], q[:, None]) -> (n_shapes, n_points)


def _grid(first: np.ndarray, second: np.ndarray | None = None) -> np.ndarray:
    if second is None:
        return np.column_stack([first, np.zeros_like(first)])
    a, b = np.meshgrid(first, second, indexing="ij")
    return np.column_stack([a.ravel(), b.ravel()])


def _power(u: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.power(u, -p)  # pow3: c - a u^-alpha


def _exponential(u: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.exp(-p * u)  # exp3: c - a e^(-b u)


def _log_inverse(u: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 1.0 / np.log(p * u + np.e)  # ilog2: very slow approach


def _janoschek(u: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.exp(-p * np.power(u, q))  # Janoschek / Weibull: sigmoid-like rises


def _mmf(u: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.power(p * u, q))  # Morgan-Mercer-Flodin


FAMILIES: tuple[Family, ...] = (
    Family("power", _grid(np.geomspace(0.05, 4.0, 64)), _power),
    Family("exponential", _grid(np.geomspace(0.02, 50.0, 64)), _exponential),
    Family("log", _grid(np.geomspace(0.1, 100.0, 32)), _log_inverse),
    Family(
        "janoschek", _grid(np.geomspace(0.05, 30.0, 24), np.geomspace(0.25, 4.0, 17)), _janoschek
    ),
    Family("mmf", _grid(np.geomspace(0.1, 10.0, 24), np.geomspace(0.25, 4.0, 17)), _mmf),
)


def design(steps: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """`g` for every shape of every family at `steps`, stacked (n_models, n_points), and
    the family index of each row."""
    u = ((steps + 1.0) / (scale + 1.0))[None, :]  # step 0 (a report before training) is fine
    rows = [f.g(u, f.shapes[:, :1], f.shapes[:, 1:]) for f in FAMILIES]
    index = np.concatenate([np.full(len(f.shapes), i) for i, f in enumerate(FAMILIES)])
    return np.vstack(rows), index


def family_prior() -> np.ndarray:
    """Each family gets the same prior mass, spread evenly over its shapes, so a family
    with a finer grid is not favoured for having more rows."""
    return np.concatenate([np.full(len(f.shapes), 1.0 / len(f.shapes)) for f in FAMILIES]) / len(
        FAMILIES
    )
