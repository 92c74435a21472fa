"""Multi-objective test problems with known fronts, for benchmarks/mo_*.py (issue 18).

Each problem is asked the tunelab way (`trial.hp`) and the Optuna way (`trial.suggest_*`) in
the same order and returns a dict of metrics in their natural units and directions. The
hypervolume of a set of results is taken against the problem's fixed reference point (also in
natural units), with `tunelab._pareto.hypervolume` after turning every objective into one to
minimise; `front_hv` is the hypervolume of the problem's true (feasible) Pareto front against
that point, so a table can say how much of it a sampler reached.

- zdt1, zdt2, zdt3: Zitzler, Deb and Thiele's problems with n = 6 variables in [0, 1]; both
  objectives minimised; f1 = x1, g = 1 + 9 * mean(x2..x6), and f2 = g * h(f1 / g) with
  h(r) = 1 - sqrt(r) (convex front), 1 - r^2 (concave) or 1 - sqrt(r) - r sin(10 pi f1)
  (five disconnected pieces). The front is g = 1. Reference point (1.1, 6): f1 spans [0, 1]
  and random search's first points have f2 of 3 to 6 (g is ~5.5 on average).
- dtlz2: Deb et al.'s DTLZ2 with 3 objectives and n = 6 variables (k = 4 distance
  variables); the front is the positive octant of the unit sphere; reference (1.1, 1.1, 1.1),
  front hypervolume 1.1^3 - pi/6.
- digits: the seed tutorial's MLP on scikit-learn's digits, tabular (the 432 configurations
  of benchmarks/multifidelity_digits.py, trained once for 27 epochs and cached): maximise
  val_accuracy at the FINAL epoch (27, not the best epoch), minimise n_parameters, the weights
  and biases of 64 -> hidden1 -> hidden2 -> 10. Only hidden1 and hidden2 set n_parameters, so
  the front has at most 4 points; its hypervolume is the table's own (every configuration
  evaluated). Reference (val_accuracy 0.8, n_parameters 60,000).
- zdt1c: zdt1 with the constraint ((f1 - 0.5) / 0.25)^2 + ((g - 1) / 6)^2 >= 1: an
  infeasible half-ellipse over the middle of the front that cuts out its part with f1 in
  (0.25, 0.75), and about a quarter of uniformly random points.
- digitsc: digits with n_parameters <= 20,000, which leaves hidden1 = 64 only.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multifidelity_digits as mfd

from tunelab._pareto import hypervolume, non_dominated_mask

Metrics = dict[str, float]


@dataclass(frozen=True)
class Constraint:
    """A bound on one of the metrics `evaluate` returns: feasible when `metric op bound`."""

    metric: str
    op: str  # "<=" or ">="
    bound: float

    def violation(self, metrics: Metrics) -> float:
        """Optuna's convention: feasible when <= 0."""
        value = metrics[self.metric]
        return value - self.bound if self.op == "<=" else self.bound - value

    def as_tunelab(self) -> dict[str, tuple[str, float]]:
        return {self.metric: (self.op, self.bound)}


@dataclass(frozen=True)
class MOProblem:
    """What a sampler searches: parameters (both APIs), the metrics, their directions, the
    reference point for hypervolume and the known front's hypervolume."""

    name: str
    metrics: tuple[str, ...]
    directions: tuple[str, ...]  # "minimize" or "maximize", one per metric
    reference: tuple[float, ...]  # natural units, one per metric
    tunelab_params: Callable[[Any], dict[str, Any]]
    optuna_params: Callable[[Any], dict[str, Any]]
    evaluate: Callable[[dict[str, Any]], Metrics]
    front_hv: Callable[[], float]
    constraint: Constraint | None = None

    def signs(self) -> np.ndarray:
        return np.array([-1.0 if d == "maximize" else 1.0 for d in self.directions])

    def hv(self, points: Sequence[Sequence[float]]) -> float:
        """Hypervolume of points given in natural units (rows in `metrics` order)."""
        p = np.asarray(points, dtype=float).reshape(-1, len(self.metrics))
        if p.shape[0] == 0:
            return 0.0
        return hypervolume(p * self.signs(), np.asarray(self.reference) * self.signs())


# -- ZDT and DTLZ2 ------------------------------------------------------------------------------

N_VARS = 6


def _unit_cube_tunelab(hp: Any) -> dict[str, Any]:
    return {f"x{i}": hp.Float(f"x{i}", 0.0, 1.0) for i in range(N_VARS)}


def _unit_cube_optuna(trial: Any) -> dict[str, Any]:
    return {f"x{i}": trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(N_VARS)}


def _zdt_h(kind: str, f1: float, g: float) -> float:
    r = f1 / g
    if kind == "zdt1":
        return 1.0 - math.sqrt(r)
    if kind == "zdt2":
        return 1.0 - r * r
    return 1.0 - math.sqrt(r) - r * math.sin(10.0 * math.pi * f1)


def zdt(kind: str, p: dict[str, Any]) -> Metrics:
    x = [float(p[f"x{i}"]) for i in range(N_VARS)]
    g = 1.0 + 9.0 * sum(x[1:]) / (N_VARS - 1)
    f1 = x[0]
    return {"f1": f1, "f2": g * _zdt_h(kind, f1, g)}


def zdt1_constrained(p: dict[str, Any]) -> Metrics:
    """zdt1 and its constraint's metric: the ellipse ((f1 - 0.5) / 0.25)^2 + ((g - 1) / 6)^2."""
    out = zdt("zdt1", p)
    g = 1.0 + 9.0 * sum(float(p[f"x{i}"]) for i in range(1, N_VARS)) / (N_VARS - 1)
    return {**out, "clearance": ((out["f1"] - 0.5) / 0.25) ** 2 + ((g - 1.0) / 6.0) ** 2}


def dtlz2(p: dict[str, Any]) -> Metrics:
    x = [float(p[f"x{i}"]) for i in range(N_VARS)]
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return {
        "f1": (1 + g) * math.cos(a) * math.cos(b),
        "f2": (1 + g) * math.cos(a) * math.sin(b),
        "f3": (1 + g) * math.sin(a),
    }


def _zdt_front_hv(name: str) -> float:
    """The front's hypervolume from a dense sample: 20,001 points of g = 1, and, for a
    constrained problem, also a grid of g in (1, 2] whose feasible points on the
    constraint's boundary form the front where it cuts the unconstrained one."""
    problem = PROBLEMS[name]
    f1 = np.linspace(0.0, 1.0, 20_001)
    gs = np.linspace(1.0, 2.0, 201) if problem.constraint else np.array([1.0])
    rows = []
    for g in gs:
        rest = (g - 1.0) / 9.0  # every distance variable alike: mean(x2..x6) = (g - 1) / 9
        for a in f1 if g == 1.0 else f1[::10]:
            m = problem.evaluate({"x0": a, **{f"x{i}": rest for i in range(1, N_VARS)}})
            if problem.constraint is None or problem.constraint.violation(m) <= 0:
                rows.append([m[k] for k in problem.metrics])
    points = np.asarray(rows)
    return problem.hv(points[non_dominated_mask(points * problem.signs())])


# -- digits MLP (tabular) -----------------------------------------------------------------------


def n_parameters(p: dict[str, Any]) -> int:
    """Weights and biases of 64 -> hidden1 -> hidden2 -> 10 (dropout has none)."""
    h1, h2 = int(p["hidden1"]), int(p["hidden2"])
    return 64 * h1 + h1 + h1 * h2 + h2 + h2 * 10 + 10


def digits(p: dict[str, Any]) -> Metrics:
    curve = mfd.replay(p, 0)
    return {"val_accuracy": float(curve[-1]), "n_parameters": float(n_parameters(p))}


def _digits_front_hv(name: str) -> float:
    import itertools

    problem = PROBLEMS[name]
    rows = []
    for values in itertools.product(*mfd.SPACE.values()):
        m = digits(dict(zip(mfd.NAMES, values, strict=True)))
        if problem.constraint is None or problem.constraint.violation(m) <= 0:
            rows.append([m[k] for k in problem.metrics])
    return problem.hv(rows)


def _dtlz2_front_hv() -> float:
    return 1.1**3 - math.pi / 6


_ZDT_REF = (1.1, 6.0)


def _zdt_problem(kind: str) -> MOProblem:
    return MOProblem(
        kind,
        ("f1", "f2"),
        ("minimize", "minimize"),
        _ZDT_REF,
        _unit_cube_tunelab,
        _unit_cube_optuna,
        functools.partial(zdt, kind),
        functools.cache(functools.partial(_zdt_front_hv, kind)),
    )


def _digits_problem(name: str, constraint: Constraint | None = None) -> MOProblem:
    return MOProblem(
        name,
        ("val_accuracy", "n_parameters"),
        ("maximize", "minimize"),
        (0.8, 60_000.0),
        mfd.DIGITS.tunelab_params,
        mfd.DIGITS.optuna_params,
        digits,
        functools.cache(functools.partial(_digits_front_hv, name)),
        constraint,
    )


PROBLEMS: dict[str, MOProblem] = {
    **{k: _zdt_problem(k) for k in ("zdt1", "zdt2", "zdt3")},
    "dtlz2": MOProblem(
        "dtlz2",
        ("f1", "f2", "f3"),
        ("minimize",) * 3,
        (1.1, 1.1, 1.1),
        _unit_cube_tunelab,
        _unit_cube_optuna,
        dtlz2,
        _dtlz2_front_hv,
    ),
    "digits": _digits_problem("digits"),
    "zdt1c": MOProblem(
        "zdt1c",
        ("f1", "f2"),
        ("minimize", "minimize"),
        _ZDT_REF,
        _unit_cube_tunelab,
        _unit_cube_optuna,
        zdt1_constrained,
        functools.cache(functools.partial(_zdt_front_hv, "zdt1c")),
        Constraint("clearance", ">=", 1.0),
    ),
    "digitsc": _digits_problem("digitsc", Constraint("n_parameters", "<=", 20_000.0)),
}
UNCONSTRAINED = ("zdt1", "zdt2", "zdt3", "dtlz2", "digits")
CONSTRAINED = ("zdt1c", "digitsc")
