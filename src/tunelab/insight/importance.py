"""Hyperparameter importance: which parameters explain the metric's variance.

Method (functional ANOVA on a random-forest surrogate, after Hutter, Hoos and
Leyton-Brown, ICML 2014): fit a random forest to (configuration → metric) over the
complete trials, with every parameter encoded in its unit interval (log parameters on
their log scale, a choice as equal cells, so the uniform measure on the cube is the
uniform measure on the search space). Each regression tree is a piecewise-constant
function over axis-aligned boxes, so its functional-ANOVA marginals are exact sums over
leaves: the marginal of a parameter at a point is the volume-weighted mean of the leaves
whose box covers that point. A parameter's importance is the variance of its marginal
divided by the tree's total variance, averaged over trees; a pair's is the variance of
the joint marginal less both main effects. `scores` are the main effects normalised to
sum to 1; `variance_explained` keeps the raw shares (their sum below 1 is the part
interactions and noise explain). The forest is seeded, so a rerun gives the same numbers.

A parameter that only some trials have (a conditional layer) gets an extra "absent" cell
whose share of its axis is the share of trials without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from tunelab.insight._common import (
    InsightError,
    check_metric,
    finished_trials,
    metric_direction,
    trial_score,
    tuned_params,
)
from tunelab.insight.display import importance_html
from tunelab.space import Fixed, Param
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

METHOD = "fanova-random-forest"
N_TREES = 64
MAX_PAIR_PARAMS = 6  # pairs among the 6 most important parameters
# Leaves of at least n/200 trials: no effect below 400 trials, and above it the exact pair
# marginals (cost ~ leaves^3 per tree) stay cheap: 1000 trials, 10 parameters in ~2 s.
LEAF_DIVISOR = 200
FEW_TRIALS = 20  # below this many complete trials, importance carries a warning
CONFOUNDED = 0.7  # |correlation| between two parameters' values that confounds them


@dataclass(frozen=True)
class Importance:
    """How much each hyperparameter explains of the metric's variation, as `importance` returns it.

    Attributes:
        scores: Main effects by parameter, normalised to sum to 1, most important first.
        pairs: Interactions `(a, b, share of variance)`, largest first.
        method: How the scores were computed.
        n_trials: The trials the scores were computed from.
        metric: The metric explained.
        variance_explained: The raw main-effect shares of variance, by parameter.
        seed: The random-forest surrogate's seed.
    """

    scores: dict[str, float]  # main effects, normalised to sum to 1, most important first
    pairs: list[tuple[str, str, float]]  # interaction shares of variance, largest first
    method: str
    n_trials: int
    metric: str = ""
    variance_explained: dict[str, float] = field(default_factory=dict)  # raw main-effect shares
    seed: int = 0
    warnings: list[str] = field(default_factory=list)  # why the scores may mislead

    def to_dict(self) -> dict[str, Any]:
        """The importance as a dict of JSON values."""
        return {
            "scores": dict(self.scores),
            "pairs": [[a, b, s] for a, b, s in self.pairs],
            "method": self.method,
            "n_trials": self.n_trials,
            "metric": self.metric,
            "variance_explained": dict(self.variance_explained),
            "seed": self.seed,
            "warnings": list(self.warnings),
        }

    def _repr_html_(self) -> str:
        return importance_html(self)


def importance(study: Study, metric: str | None = None, seed: int = 0) -> Importance:
    """fANOVA importance of each hyperparameter for `metric` (default: the study's)."""
    trials = finished_trials(study)
    name, _ = metric_direction(study, metric)
    check_metric(study, trials, name)
    scored = [
        (t, s)
        for t in trials
        if t.state is TrialState.COMPLETE and (s := trial_score(t, study, name)) is not None
    ]
    if len(scored) < 3:
        raise InsightError(
            f"importance needs at least 3 complete trials with {name!r}, but study "
            f"{study.name!r} has {len(scored)}; run more trials"
        )
    used = [t for t, _ in scored]
    params = [(n, p) for n, p in tuned_params(study, used) if _varies(n, used)]
    if not params:
        raise InsightError(
            f"no hyperparameter varies across the complete trials of study {study.name!r}; "
            "importance needs at least one that does"
        )
    x = np.column_stack([_encode(n, p, used) for n, p in params])
    y = np.array([s for _, s in scored], dtype=float)
    if float(np.ptp(y)) == 0.0:
        raise InsightError(
            f"all {len(y)} complete trials of study {study.name!r} scored {name}={y[0]:.6g}; "
            "with no variance there is nothing to attribute"
        )
    forest = _forest(x, y, seed)
    main, pair = _fanova(forest, x.shape[1])
    names = [n for n, _ in params]
    total = float(main.sum())
    norm = main / total if total > 0 else np.full(len(names), 1.0 / len(names))
    order = np.argsort(-norm, kind="stable")
    scores = {names[i]: float(norm[i]) for i in order}
    raw = {names[i]: float(main[i]) for i in order}
    pairs = sorted(
        ((names[i], names[j], float(v)) for (i, j), v in pair.items()),
        key=lambda item: -item[2],
    )
    warnings = _warnings(names, x)
    return Importance(scores, pairs, METHOD, len(y), name, raw, seed, warnings)


def _warnings(names: Sequence[str], x: np.ndarray) -> list[str]:
    """Few trials, and parameters that moved together (|Pearson r| of their unit-cube
    values, log scale for log parameters, >= CONFOUNDED): the forest cannot tell which
    of two such parameters made the difference, so it may credit either."""
    out = []
    n = x.shape[0]
    if n < FEW_TRIALS:
        out.append(
            f"only {n} complete trials: importance is rough below {FEW_TRIALS}; run more "
            "trials before trusting the order"
        )
    spread = x.std(axis=0) > 0
    for i, j in combinations(range(len(names)), 2):
        if not (spread[i] and spread[j]):
            continue
        r = float(np.corrcoef(x[:, i], x[:, j])[0, 1])
        if abs(r) >= CONFOUNDED:
            out.append(
                f"{names[i]} and {names[j]} moved together in these trials (r = {r:+.2f}): "
                "their importance cannot be told apart; sample them independently (a "
                "random or Sobol start) or fix one before reading it"
            )
    return out


def _varies(name: str, trials: Sequence[FrozenTrial]) -> bool:
    seen = {repr(t.params.get(name, "<absent>")) for t in trials}
    return len(seen) > 1


def _encode(name: str, param: Param | None, trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Each trial's value of `name` in [0, 1]; see the module docstring for absence."""
    present = [t.params[name] for t in trials if name in t.params]
    if param is None or isinstance(param, Fixed):
        units = _fallback_units(present)
    else:
        units = {}
        for v in present:
            units.setdefault(repr(v), param.to_unit(v) if param.contains(v) else 0.5)
    absent_share = 1 - len(present) / len(trials)
    a = min(max(absent_share, 0.05), 0.95) if absent_share > 0 else 0.0
    out = np.empty(len(trials))
    for k, t in enumerate(trials):
        if name in t.params:
            out[k] = a + (1 - a) * units[repr(t.params[name])]
        else:
            out[k] = a / 2
    return out


def _fallback_units(values: Sequence[Any]) -> dict[str, float]:
    """Values with no stored domain: numbers min-max scaled, others as equal cells."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    distinct = sorted({repr(v): v for v in values}.items(), key=lambda kv: kv[0])
    if numeric:
        lo, hi = float(min(values)), float(max(values))
        return {k: (float(v) - lo) / (hi - lo) if hi > lo else 0.5 for k, v in distinct}
    n = len(distinct)
    return {k: (i + 0.5) / n for i, (k, _) in enumerate(distinct)}


def _forest(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise InsightError(
            "importance needs scikit-learn for its random-forest surrogate: "
            "pip install 'tunelab[insight]' (or scikit-learn)"
        ) from None
    forest = RandomForestRegressor(
        n_estimators=N_TREES,
        max_features=1.0,
        min_samples_leaf=max(1, len(y) // LEAF_DIVISOR),
        bootstrap=True,
        random_state=seed,
        n_jobs=1,
    )
    forest.fit(x, y)
    return forest


def _leaves(tree: Any, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each leaf's box [lo, hi] in the unit cube and its value."""
    left, right = tree.children_left, tree.children_right
    feature, threshold, value = tree.feature, tree.threshold, tree.value[:, 0, 0]
    los, his, vals = [], [], []
    stack = [(0, np.zeros(d), np.ones(d))]
    while stack:
        node, lo, hi = stack.pop()
        if left[node] == -1:
            los.append(lo)
            his.append(hi)
            vals.append(value[node])
            continue
        f, cut = feature[node], min(max(threshold[node], 0.0), 1.0)
        lhi = hi.copy()
        lhi[f] = min(hi[f], cut)
        rlo = lo.copy()
        rlo[f] = max(lo[f], cut)
        stack.append((left[node], lo, lhi))
        stack.append((right[node], rlo, hi))
    return np.array(los), np.array(his), np.array(vals)


def _cells(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cells one axis is cut into by every leaf edge, and which leaves cover each."""
    edges = np.unique(np.concatenate([lo, hi, [0.0, 1.0]]))
    a, b = edges[:-1], edges[1:]
    covers = (lo[:, None] <= a[None, :] + 1e-12) & (hi[:, None] >= b[None, :] - 1e-12)
    return b - a, covers.astype(float)


def _fanova(forest: Any, d: int) -> tuple[np.ndarray, dict[tuple[int, int], float]]:
    main_sum = np.zeros(d)
    pair_sum: dict[tuple[int, int], float] = {}
    counted = 0
    per_tree = []
    for estimator in forest.estimators_:
        lo, hi, v = _leaves(estimator.tree_, d)
        width = np.clip(hi - lo, 0.0, None)
        vol = width.prod(axis=1)
        keep = vol > 0
        lo, hi, v, width, vol = lo[keep], hi[keep], v[keep], width[keep], vol[keep]
        mean = float((vol * v).sum() / vol.sum())
        total = float((vol * (v - mean) ** 2).sum() / vol.sum())
        if total <= 0:
            continue
        counted += 1
        cells = [_cells(lo[:, i], hi[:, i]) for i in range(d)]
        main = np.zeros(d)
        for i, (w, cover) in enumerate(cells):
            m = (v * vol / width[:, i]) @ cover
            main[i] = float((w * (m - mean) ** 2).sum()) / total
        main_sum += main
        per_tree.append((lo, hi, v, width, vol, mean, total, cells, main))
    if counted == 0:
        return main_sum, {}
    main_avg = main_sum / counted
    top = [int(i) for i in np.argsort(-main_avg)[:MAX_PAIR_PARAMS]]
    for i, j in combinations(sorted(top), 2):
        share = 0.0
        for _lo, _hi, v, width, vol, mean, total, cells, main in per_tree:
            wi, ci = cells[i]
            wj, cj = cells[j]
            weight = v * vol / (width[:, i] * width[:, j])
            joint = (ci * weight[:, None]).T @ cj
            var = float((np.outer(wi, wj) * (joint - mean) ** 2).sum()) / total
            share += max(var - main[i] - main[j], 0.0)
        pair_sum[(i, j)] = share / counted
    return main_avg, pair_sum
