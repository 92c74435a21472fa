"""Maximise an acquisition (log EI, log EHVI, plus log feasibility) over a mixed space:
screen many candidates, then refine the best few.

1. Screening: `n_candidates` scrambled Sobol' points plus perturbed copies of the best
   observed points, all snapped to real values, scored in one vectorised pass.
2. The top `n_restarts` distinct candidates are refined by coordinate rounds of
   * L-BFGS-B on the continuous and relaxed dimensions (ordered discrete ones with many
     values), all starts at once: the sum of their scores decouples, so one call moves
     every start; relaxed dimensions are snapped afterwards and a start keeps its move
     only if the snapped point scores better;
   * a sweep of each discrete dimension: every value for few-valued or categorical ones,
     neighbouring steps (±1, 2, 4, 8) for relaxed ones, keeping the best per start;
   until a sweep improves nothing.

Every scored point is snapped and inside [0, 1] (but for inactive conditional inputs, which
hold their inactive position), and `fixed` dimensions (values the trial already has) never
move, so the winner decodes to a valid configuration.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from scipy.optimize import minimize

from tunelab.samplers.gp.acquisition import Acquisition
from tunelab.samplers.gp.encoding import Dim, activate, active_mask, snap_all

_PERTURBATIONS = 32  # per incumbent
_INCUMBENTS = 5
_PERTURB_SD = np.array([0.02, 0.05, 0.1, 0.2])
_MAX_ROUNDS = 2
_IMPROVES = 1e-9


class AcquisitionOptimizer:
    """Finds the point where an acquisition is highest."""

    def __init__(
        self,
        acquisition: Acquisition,
        dims: tuple[Dim, ...],
        fixed: Mapping[int, float],
    ) -> None:
        self.acquisition = acquisition
        self.dims = dims
        self.fixed = dict(fixed)
        free = [j for j in range(len(dims)) if j not in self.fixed]
        self.gradient_dims = [j for j in free if not dims[j].swept]
        self.discrete = [j for j in free if dims[j].discrete]

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.acquisition.score(x)

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        x = snap_all(self.dims, x)
        for j, u in self.fixed.items():
            x[:, j] = u
        return activate(self.dims, x) if self.fixed else x

    # -- 1. screening ---------------------------------------------------------------------
    def candidates(
        self, rng: np.random.Generator, n_candidates: int, incumbents: np.ndarray
    ) -> np.ndarray:
        d = len(self.dims)
        from scipy.stats import qmc  # slow to import; the start-up phase has loaded it

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warnings for non-powers of two
            sobol = qmc.Sobol(d, scramble=True, seed=rng).random(n_candidates)
        parts = [sobol]
        top = incumbents[:_INCUMBENTS]
        if len(top):
            base = np.repeat(top, _PERTURBATIONS, axis=0)
            sd = np.resize(_PERTURB_SD, len(base))[:, None]
            moved = base + rng.normal(size=base.shape) * sd
            categorical = np.array([dim.categorical for dim in self.dims])
            flip = (rng.random(base.shape) < 1.0 / d) & categorical
            moved = np.where(categorical, np.where(flip, rng.random(base.shape), base), moved)
            parts.append(moved)
        return self._prepare(np.vstack(parts))

    # -- 2. refinement ----------------------------------------------------------------------
    def _gradient_step(self, x: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.gradient_dims
        p, m = len(x), len(idx)
        exists = active_mask(self.dims, x)[:, idx]  # inactive inputs stay where they are

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            trial = x.copy()
            trial[:, idx] = flat.reshape(p, m)
            value, grad = self.acquisition.score_with_grad(trial, idx)
            grad = grad * exists
            return -float(value.sum()), -grad.ravel()

        result = minimize(
            objective,
            x[:, idx].ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * (p * m),
            options={"maxiter": 40, "ftol": 1e-6, "gtol": 1e-5},
        )
        moved = x.copy()
        moved[:, idx] = np.clip(np.nan_to_num(result.x, nan=0.5), 0.0, 1.0).reshape(p, m)
        moved = self._prepare(moved)
        new_scores = self.score(moved)
        better = new_scores > scores
        return np.where(better[:, None], moved, x), np.where(better, new_scores, scores)

    def _sweep(self, x: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        improved = False
        for j in self.discrete:
            dim = self.dims[j]
            options = (
                np.broadcast_to(dim.all_units(), (len(x), dim.n_values))
                if dim.swept
                else dim.neighbours(x[:, j])
            )
            k = options.shape[1]
            trial = np.repeat(x, k, axis=0)
            trial[:, j] = options.ravel()
            trial = activate(self.dims, trial)
            tried = self.score(trial).reshape(len(x), k)
            pick = np.argmax(tried, axis=1)
            rows = np.arange(len(x))
            better = tried[rows, pick] > scores + _IMPROVES
            if better.any():
                improved = True
                x = x.copy()
                x[better] = trial.reshape(len(x), k, -1)[rows[better], pick[better]]
                scores = np.where(better, tried[rows, pick], scores)
        return x, scores, improved

    def refine(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Alternate gradient steps and discrete sweeps until a sweep changes nothing
        (after it, the continuous part is already at a local optimum)."""
        x, scores = starts, self.score(starts)
        for _ in range(_MAX_ROUNDS):
            if self.gradient_dims:
                x, scores = self._gradient_step(x, scores)
            x, scores, improved = self._sweep(x, scores)
            if not improved:
                break
        return x, scores

    def maximize(
        self,
        rng: np.random.Generator,
        n_candidates: int,
        n_restarts: int,
        incumbents: np.ndarray,
    ) -> np.ndarray:
        """The best point found, shape (d,)."""
        pool = self.candidates(rng, n_candidates, incumbents)
        scores = self.score(pool)
        order = np.argsort(-scores, kind="stable")
        _, first = np.unique(pool[order], axis=0, return_index=True)
        starts = pool[order[np.sort(first)][:n_restarts]]
        x, refined = self.refine(starts)
        return np.asarray(x[int(np.argmax(refined))])
