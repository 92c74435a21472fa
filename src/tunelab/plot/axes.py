"""How each hyperparameter is drawn on an axis: numeric (linear or log) or categories.

Plots read the study's search space through this one place, so a log-sampled learning
rate is on a log axis in every figure, and a conditional parameter that a trial never
asked for is treated the same way everywhere."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.trial import FrozenTrial


@dataclass(frozen=True)
class Axis:
    """One hyperparameter as a plot axis."""

    name: str
    numeric: bool
    log: bool = False
    categories: tuple[str, ...] = ()

    def label(self, value: Any) -> str:
        return fmt(value)

    def position(self, value: Any) -> float:
        """Where a value sits on a 0..n axis (log10 for log axes, index for categories)."""
        if not self.numeric:
            return float(self.categories.index(self.label(value)))
        return math.log10(float(value)) if self.log else float(value)


def fmt(value: Any) -> str:
    """Short, stable text for a parameter value or a metric."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def axis_for(name: str, spec: dict[str, Any] | None, values: Sequence[Any]) -> Axis:
    """The axis for parameter `name` from its stored definition and the values seen."""
    kind = (spec or {}).get("type")
    numbers = [float(v) for v in values if _is_number(v)]
    all_numeric = bool(values) and len(numbers) == len(values)
    if kind in ("int", "float") or (kind in (None, "choice", "fixed") and all_numeric):
        if kind in ("int", "float"):
            log = (spec or {}).get("sampling") == "log"
        else:  # numeric choices: a log axis when they span two decades or more
            log = bool(numbers) and min(numbers) > 0 and max(numbers) / min(numbers) >= 100
        return Axis(name, numeric=True, log=log)
    labels = sorted({fmt(v) for v in values}, key=_category_key)
    if kind == "choice" and spec is not None:  # the user's order of the choices
        order = [fmt(v) for v in spec.get("values", [])]
        labels = [x for x in order if x in labels] + [x for x in labels if x not in order]
    return Axis(name, numeric=False, categories=tuple(labels))


def _category_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def tuned_axes(trials: Sequence[FrozenTrial], space: list[dict[str, Any]]) -> list[Axis]:
    """Axes for every parameter that took more than one value among `trials`, in the
    order the space registered them (fixed values carry no information for a plot)."""
    specs = {str(d.get("name")): d for d in space}
    names = [n for n in specs if any(n in t.params for t in trials)]
    names += [n for t in trials for n in t.params if n not in specs and n not in names]
    axes = []
    for name in dict.fromkeys(names):
        values = [t.params[name] for t in trials if name in t.params]
        if len({fmt(v) for v in values}) < 2:
            continue
        axes.append(axis_for(name, specs.get(name), values))
    return axes
