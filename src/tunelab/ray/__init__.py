"""Start tunelab workers as Ray tasks: Ray places them (CPUs, GPUs, autoscaling), the
study lives in the database they share. Needs the extra: pip install 'tunelab[ray]'.

    import tunelab.ray
    tunelab.ray.launch("digits", "postgresql+psycopg://user@db/tuning", objective,
                       num_workers=8, resources_per_trial={"cpu": 2, "gpu": 1}, n_trials=200)
"""

from __future__ import annotations

from tunelab.ray.cluster import ResourcesUnavailableError
from tunelab.ray.launch import launch

__all__ = ["ResourcesUnavailableError", "launch"]
