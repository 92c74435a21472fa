"""`Objective`: the metric a tuner optimizes, and its direction.

A string objective ("val_accuracy", "val_loss") gets its direction from the metric's
name, as in Keras Tuner; a custom metric needs `Objective(name, direction)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunelab.errors import ConfigurationError, ConfigurationTypeError

# Keras metric names (with or without "val_") whose better values are higher.
_HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "acc",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "auc",
        "precision",
        "recall",
        "f1_score",
        "fbeta_score",
        "r2_score",
        "iou",
        "mean_iou",
        "binary_iou",
        "one_hot_iou",
        "one_hot_mean_iou",
        "cosine_similarity",
        "true_positives",
        "true_negatives",
        "precision_at_recall",
        "recall_at_precision",
        "sensitivity_at_specificity",
        "specificity_at_sensitivity",
    }
)
# ...and those whose better values are lower.
_LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "mae",
        "mse",
        "mape",
        "msle",
        "rmse",
        "mean_absolute_error",
        "mean_squared_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "root_mean_squared_error",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "categorical_focal_crossentropy",
        "binary_focal_crossentropy",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "kl_divergence",
        "kld",
        "log_cosh",
        "logcosh",
        "poisson",
        "huber",
        "false_positives",
        "false_negatives",
    }
)


@dataclass(frozen=True)
class Objective:
    """A metric name as Keras logs it (e.g. "val_accuracy") and "min" or "max"."""

    name: str
    direction: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError(
                f"Objective name must be a non-empty string, but got {self.name!r}; "
                "give the metric as Keras logs it, e.g. 'val_accuracy'"
            )
        if self.direction not in ("min", "max"):
            raise ConfigurationError(
                f"Objective direction must be 'min' or 'max', but got {self.direction!r} "
                f"(in Objective({self.name!r}, ...))"
            )

    @property
    def study_direction(self) -> str:
        """The direction in tunelab's words."""
        return "minimize" if self.direction == "min" else "maximize"

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b`."""
        return a < b if self.direction == "min" else a > b


def infer_direction(name: str) -> str | None:
    """'min' or 'max' for a known Keras metric name, else None."""
    base = name[4:] if name.startswith("val_") else name
    if base in _HIGHER_IS_BETTER:
        return "max"
    if base in _LOWER_IS_BETTER or base.endswith("_loss") or base.endswith("_error"):
        return "min"
    return None


def parse_objective(objective: Any) -> Objective:
    """An Objective from a name or an Objective (one entry of a tuner's `objective=`)."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise ConfigurationError(
                f"cannot tell whether objective {objective!r} should be minimized or "
                "maximized: it is not a known Keras metric name (e.g. 'val_accuracy', "
                f"'val_loss', 'val_auc'); check the spelling, or for a custom metric write "
                f"kt.Objective({objective!r}, direction='max') (or 'min')"
            )
        return Objective(objective, direction)
    raise ConfigurationTypeError(
        f"objective must be a metric name or kt.Objective(name, direction), but got {objective!r}"
    )


def parse_objectives(objective: Any) -> tuple[Objective, ...]:
    """The tuner's objectives from what `objective=` accepts: a name, an Objective, or a
    list of these (several objectives: a study with a Pareto front, where Keras Tuner
    would optimize their sum)."""
    if not isinstance(objective, (list, tuple)):
        return (parse_objective(objective),)
    if not objective:
        raise ConfigurationError(
            "objective is an empty list; give at least one metric name or kt.Objective"
        )
    parsed = tuple(parse_objective(o) for o in objective)
    names = [o.name for o in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigurationError(
            f"objective lists {repeated} more than once in {names}; give each metric once"
        )
    return parsed
