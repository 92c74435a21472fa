"""What to search next: the region where a finished study's top trials lie, per
hyperparameter, with bounds that the best trials press against flagged ("best learning
rates sit at the upper bound 0.1: widen the range").

A numeric parameter is at an edge when the best trial lies at the bound (discrete
domains of at most 12 values) or in the outer 10% of the range on the parameter's own scale (log scale for
log parameters), and the top trials crowd there: at least twice the share of all the study's trials
there, and at least half of them at a discrete bound, a third in the outer 10% of a
continuous range (or three quarters in the half next to the bound). The same holds for
the first and last value of an ordered choice. Edges and choices never among the top
trials (tried at least 3 times) are only called with at least 4 top trials to go on. On a
small grid, a bound where the sampler itself put over twice the uniform share of all
trials is never flagged: a model-based sampler that crowded there made the top trials
land there. The proposed range is the top trials' span padded by 10% on that scale (not
padded on a step grid); across a flagged bound it is extended by half the searched width
(on the log scale for log parameters). A stepped or integer parameter's range is widened
to its grid (the grid continued past a flagged bound), so no range lies off it. The
best-trial diagnosis advises inside these ranges (advice.Planned)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.errors import ConfigurationError, SearchSpaceError
from tunelab.insight._common import DASH, TIMES, InsightError, finished_trials, fmt_value
from tunelab.insight.display import RangeAdvices, ranges_html
from tunelab.space import Boolean, Choice, Fixed, Float, Int
from tunelab.study import Study
from tunelab.trial import FrozenTrial, sorted_by_value

EDGE = 0.10
EDGE_SHARE = 1 / 3  # of the top trials in the outer EDGE of a continuous range
MAX_DISCRETE = 12  # a domain with more values is judged like a continuous one
MIN_EVIDENCE = 4  # top trials with the parameter needed to flag an edge or a dud
NEAR_SHARE = 0.75  # or of the top trials in the half of the range next to the bound
PAD = 0.10


@dataclass(frozen=True)
class RangeAdvice:
    """Where to search one hyperparameter next, as `next_ranges` proposes it.

    Attributes:
        param: The hyperparameter.
        low: The proposed lower bound (None for unordered choices).
        high: The proposed upper bound (None for unordered choices).
        values: The choices the top trials use, most used first (None for ranges).
        at_edge: `"lower"` or `"upper"` when the top trials crowd at that bound of the
            searched range, else None.
        text: The advice in words.
        n_top: How many top trials the advice reads.
        searched_low: The lower bound this study searched.
        searched_high: The upper bound this study searched.
        sampling: The searched range's sampling (`"log"`, ...), None for choices.
    """

    param: str
    low: Any  # proposed bounds for a follow-up study (None for unordered choices)
    high: Any
    values: list[Any] | None  # choices the top trials use, most used first
    at_edge: str | None  # "lower", "upper" or None
    text: str
    n_top: int = 0
    searched_low: Any = None
    searched_high: Any = None
    sampling: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The advice as a dict of JSON values."""
        return asdict(self)

    def _repr_html_(self) -> str:
        return ranges_html([self])


def next_ranges(study: Study, top_fraction: float = 0.2) -> list[RangeAdvice]:
    """Proposed ranges for a follow-up study, one per tuned hyperparameter. With several
    objectives the top trials are those of the best Pareto ranks (`Study.top_trials`)."""
    if not (isinstance(top_fraction, (int, float)) and 0 < top_fraction <= 1):
        raise ConfigurationError(
            f"top_fraction must be in (0, 1], but got top_fraction={top_fraction!r}; e.g. 0.25"
        )
    trials = finished_trials(study)
    if study.multi_objective:  # the Pareto front first, then the next front, ...
        ranked = study.top_trials(len(trials))
    else:
        ranked = sorted_by_value(trials, study.direction)
    if not ranked:
        raise InsightError(
            f"study {study.name!r} has no feasible complete trial with a value of "
            f"{' and '.join(map(repr, study.metrics))}; next ranges are read from the best trials"
        )
    k = max(math.ceil(top_fraction * len(ranked)), min(len(ranked), 3))
    top = ranked[:k]
    out = []
    for entry in study.space:
        param = entry.param
        if isinstance(param, Fixed):
            continue
        having = [t for t in top if param.name in t.params]
        if not having:
            continue
        if isinstance(param, (Int, Float)):
            out.append(_numeric(param, having, len(having), ranked))
        elif isinstance(param, (Choice, Boolean)):
            out.append(_categorical(param, having, len(having), ranked))
    return RangeAdvices(out)


def _scale(param: Int | Float) -> tuple[Any, Any]:
    lo, hi = float(param.min_value), float(param.max_value)
    if param.sampling == "log":

        def fwd(x: float) -> float:
            return (math.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))

        def back(u: float) -> float:
            return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))

        return fwd, back

    def lin(x: float) -> float:
        return (x - lo) / (hi - lo)

    def unlin(u: float) -> float:
        return lo + u * (hi - lo)

    return lin, unlin


def _numeric(
    param: Int | Float, top: Sequence[FrozenTrial], n_top: int, ranked: Sequence[FrozenTrial]
) -> RangeAdvice:
    name = param.name
    lo, hi = float(param.min_value), float(param.max_value)
    values = [float(t.params[name]) for t in top]
    best = values[0]
    if hi == lo:
        return RangeAdvice(name, lo, hi, None, None, f"{name}: one value {fmt_value(lo)}", n_top)
    fwd, back = _scale(param)
    units = [fwd(x) for x in values]
    # A few values (num_layers 1-3, dropout 0.1-0.5 by 0.1) count as discrete; a wide
    # integer range (units 16-256) is judged like a continuous one.
    m = _grid_size(param)
    discrete = m > 0

    def at(side: str, u: float, x: float) -> bool:
        if discrete:
            return x == (hi if side == "upper" else lo)
        return u >= 1 - EDGE if side == "upper" else u <= EDGE

    # Share of top trials at the bound needed to call it an edge: well above what chance
    # puts there (twice the share of all the study's trials there).
    everyone = [float(t.params[name]) for t in ranked if name in t.params]
    edge = None
    for side in ("upper", "lower"):
        base = sum(at(side, fwd(x), x) for x in everyone) / len(everyone)
        need = max(2 * base, 0.5 if m else EDGE_SHARE)
        hits = sum(at(side, u, x) for u, x in zip(units, values, strict=True))
        near = sum((u >= 0.5) if side == "upper" else (u <= 0.5) for u in units)
        crowded = hits / len(values) >= need or (not m and near / len(values) >= NEAR_SHARE)
        # On a small grid, a sampler that crowded the bound (over twice the uniform share
        # of all trials there) put the top trials there itself: no evidence beyond it.
        sampled_there = bool(m) and base > 2 / m
        if (
            len(values) >= MIN_EVIDENCE
            and at(side, units[0], best)
            and crowded
            and not sampled_there
        ):
            edge = side
            break
    u_lo, u_hi = min(units), max(units)
    pad = 0.0 if param.step is not None else PAD * max(u_hi - u_lo, 0.1)  # a grid: exact
    u_lo, u_hi = max(u_lo - pad, 0.0), min(u_hi + pad, 1.0)
    if edge == "upper":
        u_hi = 1.5
    elif edge == "lower":
        u_lo = -0.5
    new_lo, new_hi = _limit(name, back(u_lo), back(u_hi), lo)
    if param.step is not None or isinstance(param, Int):  # never a range off the grid
        new_lo, new_hi = _on_grid(param, new_lo, new_hi, edge)
    searched = f"{fmt_value(param.min_value)}{DASH}{fmt_value(param.max_value)}"
    scale = ", log" if param.sampling == "log" else ""
    span = f"{fmt_value(min(values))}{DASH}{fmt_value(max(values))}"
    who = f"the top {n_top} trials" if n_top > 1 else "the best trial"
    lie = "lie" if n_top > 1 else "lies"
    stuck = edge is not None and (new_lo if edge == "lower" else new_hi) == (
        lo if edge == "lower" else hi
    )
    if edge is None and new_lo == new_hi:
        text = (
            f"{name}: {who} {'use' if n_top > 1 else 'uses'} {fmt_value(new_lo)} (searched {searched}{scale}): keep "
            f"{fmt_value(new_lo)} next"
        )
    elif edge is not None and stuck:
        bound = param.max_value if edge == "upper" else param.min_value
        text = (
            f"best {_plural(name)} sit at the {edge} bound {fmt_value(bound)}, which cannot "
            f"move: search {fmt_value(new_lo)}{DASH}{fmt_value(new_hi)} next ({who}: {span})"
        )
    elif edge is not None:
        bound = param.max_value if edge == "upper" else param.min_value
        text = (
            f"best {_plural(name)} sit at the {edge} bound {fmt_value(bound)}: widen the range "
            f"to {fmt_value(new_lo)}{DASH}{fmt_value(new_hi)}{scale} ({who}: {span}; searched {searched})"
        )
    else:
        text = (
            f"{name}: {who} {lie} in {span} (searched {searched}{scale}): "
            f"search {fmt_value(new_lo)}{DASH}{fmt_value(new_hi)} next"
        )
    return RangeAdvice(
        name,
        new_lo,
        new_hi,
        None,
        edge,
        text,
        n_top,
        param.min_value,
        param.max_value,
        param.sampling,
    )


def _on_grid(param: Int | Float, a: float, b: float, edge: str | None) -> tuple[Any, Any]:
    """[a, b] widened to the parameter's step grid (integers for an Int without a step),
    the grid continued past a flagged bound and kept inside the others."""
    lo, hi = float(param.min_value), float(param.max_value)
    step = float(param.step) if param.step is not None else 1.0
    log = param.sampling == "log" and param.step is not None

    def value(k: int) -> float:
        return float(f"{(lo * step**k if log else lo + k * step):.10g}")

    def index(x: float) -> float:
        return math.log(x / lo) / math.log(step) if log else (x - lo) / step

    k_lo, k_hi = math.floor(index(a) + 1e-9), math.ceil(index(b) - 1e-9)
    if edge != "lower":
        k_lo = max(k_lo, 0)
    if edge != "upper":
        k_hi = min(k_hi, math.floor(index(hi) + 1e-9))
    floor = 1.0 if isinstance(param, Int) and lo >= 1 else 0.0 if lo >= 0 else -math.inf
    while value(k_lo) < floor and k_lo < k_hi:
        k_lo += 1
    cap = _limit(param.name, 0.0, math.inf, 0.0)[1]  # probabilities stay below 1
    while value(k_hi) > cap and k_hi > k_lo:
        k_hi -= 1
    if isinstance(param, Int):
        return round(value(k_lo)), round(value(k_hi))
    return value(k_lo), value(k_hi)


def _grid_size(param: Int | Float) -> int:
    """Number of values of a small discrete domain (at most MAX_DISCRETE), else 0."""
    if not param.is_discrete:
        return 0
    try:
        n = len(param.grid_values())
    except SearchSpaceError:  # too many values to list
        return 0
    return n if n <= MAX_DISCRETE else 0


def _limit(name: str, a: float, b: float, lo: float) -> tuple[float, float]:
    """Keep an extended range meaningful: probabilities below 1, non-negative stays so."""
    lowered = name.lower()
    if "drop" in lowered:
        b = min(b, 0.9)
    if "momentum" in lowered:
        b = min(b, 0.999)
    if lo >= 0:
        a = max(a, 0.0)
    return float(f"{a:.4g}"), float(f"{b:.4g}")


def _plural(name: str) -> str:
    """ "learning_rate" -> "learning rates"; names already plural read "values of X"."""
    if name.endswith("s"):
        return f"values of {name}"
    return name.replace("_", " ") + "s"


def _categorical(
    param: Choice | Boolean,
    top: Sequence[FrozenTrial],
    n_top: int,
    ranked: Sequence[FrozenTrial],
) -> RangeAdvice:
    name = param.name
    counts = Counter(repr(t.params[name]) for t in top)
    by_repr = {repr(t.params[name]): t.params[name] for t in top}
    used = [by_repr[r] for r, _ in counts.most_common()]
    options = list(param.values) if isinstance(param, Choice) else [False, True]
    tried = Counter(repr(t.params[name]) for t in ranked if name in t.params)
    unused = [o for o in options if repr(o) not in counts]
    listed = ", ".join(f"{fmt_value(v)} ({counts[repr(v)]})" for v in used)
    who = f"the top {n_top} trials use" if n_top > 1 else "the best trial uses"
    text = f"{name}: {who} {listed}"
    low = high = None
    edge = None
    if isinstance(param, Choice) and param.ordered:
        low, high = min(used), max(used)
        first, last = float(param.values[0]), float(param.values[-1])
        best = float(top[0].params[name])
        share_last = sum(float(t.params[name]) == last for t in top) / len(top)
        share_first = sum(float(t.params[name]) == first for t in top) / len(top)
        everyone = [float(t.params[name]) for t in ranked if name in t.params]

        def need(end: float) -> float:  # twice the share of all trials there, at least half
            return max(2 * sum(x == end for x in everyone) / len(everyone), 0.5)

        if n_top < MIN_EVIDENCE:
            edge = None
        elif best == last and share_last >= need(last):
            edge = "upper"
        elif best == first and share_first >= need(first):
            edge = "lower"
        if edge is not None:
            bound = last if edge == "upper" else first
            text += f"; best values sit at the {edge} end {fmt_value(bound)}: add values beyond it"
    if unused:
        dropped = [o for o in unused if tried[repr(o)] >= 3]
        if dropped and n_top >= MIN_EVIDENCE:
            text += "; never among the best: " + ", ".join(
                f"{fmt_value(o)} (tried {tried[repr(o)]}{TIMES})" for o in dropped
            )
            text += ": consider dropping " + ("it" if len(dropped) == 1 else "them")
    return RangeAdvice(name, low, high, used, edge, text, n_top, sampling=None)
