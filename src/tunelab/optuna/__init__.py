"""Optuna users: TunelabSampler inside an Optuna study, and importing Optuna studies (pip install 'tunelab[optuna]')."""

from tunelab._extras import require

require("optuna", extra="optuna", user="tunelab.optuna")

from tunelab.optuna.importer import import_study  # noqa: E402
from tunelab.optuna.sampler import TunelabSampler  # noqa: E402

__all__ = ["TunelabSampler", "import_study"]
