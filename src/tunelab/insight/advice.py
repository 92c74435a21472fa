"""Advice in the study's own terms: find the trial's parameters that play a role
(dropout, weight decay, learning rate, capacity, epochs) by name, and say which values
of their domain to try next ("dropout_1 is 0.1: try 0.3-0.5")."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.insight._common import DASH, fmt_value
from tunelab.space import Choice, Fixed, Float, Int, Param, SearchSpace

ROLES: dict[str, re.Pattern[str]] = {
    "dropout": re.compile(r"drop"),
    "weight_decay": re.compile(r"weight_decay|(^|_)wd($|_)|(^|_)l2($|_)|l2_?reg|ridge"),
    "l1": re.compile(r"(^|_)l1($|_)|l1_?reg|lasso"),
    "learning_rate": re.compile(r"learning_rate|(^|_)lr$|^lr($|_)(?!schedule|scaling)"),
    "capacity": re.compile(
        r"units|filters|hidden|width|neurons|channels|(^|_)layers|num_layers|n_layers|conv_blocks|depth|dense"
    ),
    "epochs": re.compile(r"^(max_|num_|n_)?epochs$"),
    "grad_clip": re.compile(r"clip"),
}
_NOT_LR = re.compile(r"schedule|scaling|decay|gamma|warmup")


def params_with_role(role: str, params: Mapping[str, Any]) -> list[str]:
    """The trial's numeric parameters that play `role`, in the trial's order."""
    pattern = ROLES[role]
    found = []
    for name, value in params.items():
        lowered = name.lower()
        if not pattern.search(lowered) or not _is_number(value):
            continue
        if role == "learning_rate" and _NOT_LR.search(lowered):
            continue
        if role == "capacity" and "drop" in lowered:
            continue
        found.append(name)
    return found


@dataclass(frozen=True)
class Planned:
    """The range "what to try next" proposes for a parameter (insight.ranges): the one
    source of range and edge advice, which a diagnosis line must not contradict."""

    low: float
    high: float
    at_edge: str | None  # "lower", "upper" or None


def move(
    name: str,
    value: Any,
    space: SearchSpace,
    up: bool,
    factor: float | None = None,
    planned: Planned | None = None,
) -> str:
    """One line: where to take `name` from `value`, within its domain when it can.
    `factor` moves by a multiple (3-10x for a learning rate) instead of the domain's half.
    With `planned` (the next study's range) the line stays inside that range, or says
    why it does not move: the diagnosis and "what to try next" agree."""
    param: Param | None = space.entries[name].param if name in space else None
    v = float(value)
    word = "raise" if up else "lower"
    if isinstance(param, Choice) and param.ordered:
        options = sorted(float(x) for x in param.values)
        beyond = [x for x in options if (x > v if up else x < v)]
        if not beyond:
            return _edge(name, v, options[0], options[-1], up)
        pick = beyond[:2] if up else beyond[-2:][::-1]
        return f"{word} {name} ({fmt_value(value)} now): try " + " or ".join(
            fmt_value(_tidy(x, param)) for x in pick
        )
    if isinstance(param, (Int, Float)):
        lo, hi = float(param.min_value), float(param.max_value)
        a, b = _target(v, lo, hi, up, param.sampling == "log", factor)
        if (up and v >= hi) or (not up and v <= lo):
            line = _edge(name, v, lo, hi, up)
            return _edge_as_planned(name, v, up, planned) if line and planned else line
        a, b = _snap(param, a), _snap(param, b)
        if param.step is not None or isinstance(param, Int):  # never suggest the value itself
            grid = [float(g) for g in param.grid_values()]
            if up and a <= v:
                a = min((g for g in grid if g > v), default=b)
            if not up and b >= v:
                b = max((g for g in grid if g < v), default=a)
        if isinstance(param, Int):
            a, b = int(a), int(b)
        if a == b:
            line = f"{word} {name} ({fmt_value(value)} now): try {fmt_value(a)}"
        else:
            span = f"{fmt_value(min(a, b))}{DASH}{fmt_value(max(a, b))}"
            line = f"{name} is {fmt_value(value)}: try {span}"
        if planned is not None and (max(a, b) < planned.low or min(a, b) > planned.high):
            # this trial's curves and the study's best trials disagree: say both
            line += f" (the study's top trials lie in {_span(planned)}, the next range)"
        return line
    # A fixed or unknown domain: suggest a plain multiple (or a first value for 0).
    fixed = isinstance(param, Fixed)
    if v == 0:
        if not up:
            return ""
        return f"{name} is {'fixed at ' if fixed else ''}0: try 1e-4{DASH}1e-3"
    f = factor or 2.0
    target = v * f if up else v / f
    if isinstance(value, int):
        target = max(1, round(target))
    how = "tune it, or " if fixed else ""
    return (
        f"{name} is {'fixed at ' if fixed else ''}{fmt_value(value)}: {how}try {fmt_value(target)}"
    )


def _target(
    v: float, lo: float, hi: float, up: bool, log: bool, factor: float | None
) -> tuple[float, float]:
    if factor is not None:  # 3x to `factor`x, one significant digit (a log-scale guess)
        near = 3.0 if factor > 3 else 1.5
        if up:
            return min(_round1(v * near), hi), min(_round1(v * factor), hi)
        return max(_round1(v / factor), lo), max(_round1(v / near), lo)
    edge = hi if up else lo
    if log and v > 0 and edge > 0:
        mid = math.exp((math.log(v) + math.log(edge)) / 2)
    else:
        mid = (v + edge) / 2
    return (mid, edge) if up else (edge, mid)


def _round1(x: float) -> float:
    return float(f"{x:.1g}")


def _snap(param: Int | Float, x: float) -> float:
    """The nearest allowed value: on the step grid (compared on the log scale for log
    steps), an integer for Int, inside the bounds."""
    lo, hi = float(param.min_value), float(param.max_value)
    x = min(max(x, lo), hi)
    if param.step is None:
        return float(round(x)) if isinstance(param, Int) else x
    grid = [float(g) for g in param.grid_values()]
    if param.sampling == "log" and x > 0:
        return min(grid, key=lambda g: abs(math.log(g) - math.log(x)))
    return min(grid, key=lambda g: abs(g - x))


def _tidy(x: float, param: Choice) -> Any:
    for original in param.values:
        if float(original) == x:
            return original
    return x


def _edge(name: str, v: float, lo: float, hi: float, up: bool) -> str:
    """At the bound: widen the range, unless below it lies nothing sensible (0 for a rate
    or a strength, 1 for a count); then there is no advice for this parameter ("")."""
    if not up and (lo <= 0 or (lo <= 1 and float(v).is_integer() and lo.is_integer())):
        return ""
    side, bound = ("top", hi) if up else ("bottom", lo)
    return (
        f"{name} is {fmt_value(v)}, already the {side} of its range "
        f"{fmt_value(lo)}{DASH}{fmt_value(hi)}: widen the range {'above' if up else 'below'} "
        f"{fmt_value(bound)}"
    )


def _span(planned: Planned) -> str:
    return f"{fmt_value(planned.low)}{DASH}{fmt_value(planned.high)}"


def _edge_as_planned(name: str, v: float, up: bool, planned: Planned) -> str:
    """At the bound, the verdict of "what to try next": widen only where it widens."""
    side = "upper" if up else "lower"
    if planned.at_edge == side:
        return (
            f"{name} is {fmt_value(v)}, at the {side} bound, where the study's top trials "
            f"crowd too: widen the range to {_span(planned)}"
        )
    return (
        f"{name} is {fmt_value(v)}, already at the {side} bound, but the study's top trials do "
        f"not crowd there: keep the bound and search {_span(planned)} next"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
