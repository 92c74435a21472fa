"""Tree-structured Parzen estimator: the sampler (sampler.py), its view of the history
(observations.py, split.py, mo_split.py for several objectives, groups.py) and its
density estimators (parzen.py)."""

from __future__ import annotations

from tunelab.samplers.tpe.sampler import TPESampler

__all__ = ["TPESampler"]
