"""cv_results_ in GridSearchCV's layout, rebuilt from the search's stored trials."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.sklearn.folds import CV_ATTR
from tunelab.sklearn.space import estimator_params
from tunelab.space import Param
from tunelab.trial import FrozenTrial


def cv_results(
    trials: Sequence[FrozenTrial],
    space: Mapping[str, Param],
    metrics: Sequence[str],
    n_splits: int,
    train: bool,
) -> dict[str, Any]:
    """One entry per trial, in trial order. A fold a trial never scored (it was pruned
    before it, or failed) is NaN, and so are that trial's mean and std, which rank last;
    the extra columns `trial_number`, `trial_state` and `fit_errors` say which trial,
    how it ended and why its fits failed."""
    import numpy as np

    records = [t.user_attrs.get(CV_ATTR) or {} for t in trials]

    def column(part: str, metric: str | None = None) -> Any:
        rows = []
        for record in records:
            values = record.get(part, {})
            values = values.get(metric, []) if metric is not None else values
            rows.append([np.nan if v is None else v for v in values] or [np.nan] * n_splits)
        return np.asarray(rows, dtype=float).reshape(len(trials), n_splits)

    out: dict[str, Any] = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a trial with no fold timed
        for part in ("fit_time", "score_time"):
            times = column(part)
            out[f"mean_{part}"] = np.nanmean(times, axis=1)
            out[f"std_{part}"] = np.nanstd(times, axis=1)
    params = [estimator_params(space, t.params) for t in trials]
    for key in space:
        masked = np.ma.MaskedArray(np.empty(len(trials), dtype=object), mask=True)
        for i, p in enumerate(params):
            if p[key] is not None:
                masked[i] = p[key]
        out[f"param_{key}"] = masked
    out["params"] = params
    for metric in metrics:
        for part in ("test", "train") if train else ("test",):
            scores = column(part, metric)
            for k in range(n_splits):
                out[f"split{k}_{part}_{metric}"] = scores[:, k]
            out[f"mean_{part}_{metric}"] = scores.mean(axis=1)
            out[f"std_{part}_{metric}"] = scores.std(axis=1)
            if part == "test":
                out[f"rank_test_{metric}"] = _rank(out[f"mean_test_{metric}"])
    out["trial_number"] = np.asarray([t.number for t in trials])
    out["fit_errors"] = [list(r.get("errors", ())) for r in records]
    out["trial_state"] = np.asarray([t.state.value for t in trials], dtype=object)
    return out


def _rank(means: Any) -> Any:
    """1 for the best mean, ties sharing the lowest rank; NaN ranks after every number."""
    import numpy as np
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)
