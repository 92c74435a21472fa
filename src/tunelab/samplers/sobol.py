"""Scrambled Sobol' quasi-random search (scipy.stats.qmc).

Trial n takes point n of one scrambled sequence; each parameter owns the
dimension of its position in the study's space, so points cover the space more
evenly than independent random draws.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tunelab.samplers.base import Sampler, SampleRequest

_MIN_DIMENSIONS = 32


class SobolSampler(Sampler):
    """Scrambled Sobol' quasi-random search: trial n takes point n of one sequence, so points
    cover the space more evenly than independent random draws.

    Args:
        seed: Seeds the scrambling; None for fresh entropy.
    """

    name = "sobol"
    multi_objective = True  # it never reads values

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._cache: tuple[int, int, np.ndarray] | None = None

    def _point(self, number: int, dims: int) -> np.ndarray:
        if self._cache is not None and self._cache[:2] == (number, dims):
            return self._cache[2]
        from scipy.stats import qmc  # scipy.stats takes ~1 s to import: only when used

        engine = qmc.Sobol(d=dims, scramble=True, seed=self.seed)
        if number:
            engine.fast_forward(number)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warnings concern batches, not points
            point = engine.random(1)[0]
        self._cache = (number, dims, point)
        return point

    def sample(self, request: SampleRequest) -> Any:
        names = request.space.names()
        index = names.index(request.param.name) if request.param.name in names else len(names)
        dims = _MIN_DIMENSIONS
        while dims <= index:
            dims *= 2
        return request.param.from_unit(float(self._point(request.trial_number, dims)[index]))
