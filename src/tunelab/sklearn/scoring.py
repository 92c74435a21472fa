"""Scorers and the refit rule of a TunelabSearchCV, in scikit-learn's own terms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab.errors import ConfigurationError, ConfigurationTypeError

Scorer = Callable[..., float]
SINGLE = "score"  # the metric's name in cv_results_ when scoring is one scorer


def make_scorers(estimator: Any, scoring: Any) -> dict[str, Scorer]:
    """One scorer per metric name: {"score": ...} for None, a name or a callable (as
    GridSearchCV names its columns then), else one per entry of a list or a dict."""
    from sklearn.metrics import check_scoring, get_scorer

    if not is_multimetric(scoring):
        return {SINGLE: check_scoring(estimator, scoring)}
    if isinstance(scoring, (list, tuple, set, frozenset)):
        names = list(scoring)
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) < len(names):
            raise ConfigurationError(
                f"scoring as a list must hold distinct scorer names, but got {scoring!r}"
            )
        return {name: get_scorer(name) for name in names}
    if isinstance(scoring, Mapping) and scoring:
        return {
            str(k): get_scorer(v) if isinstance(v, str) else check_scoring(estimator, v)
            for k, v in scoring.items()
        }
    raise ConfigurationTypeError(
        "scoring must be None, a scorer name, a callable, a list of names or a dict of "
        f"name -> scorer, but got {scoring!r:.80}"
    )


def is_multimetric(scoring: Any) -> bool:
    """Whether `scoring` names its metrics (a list or a dict, even of one), as scikit-learn
    tells single from multi-metric scoring."""
    return not (scoring is None or isinstance(scoring, str) or callable(scoring))


def refit_metric(scorers: Mapping[str, Scorer], refit: Any, multimetric: bool) -> str:
    """The metric the study optimizes and `best_*` describe: the only one, or the metric
    `refit` names; with several metrics and refit False or a callable, the first."""
    names = list(scorers)
    if not multimetric:
        if isinstance(refit, str):
            raise ConfigurationError(
                f"refit={refit!r} names a metric, but scoring is a single scorer; use "
                "refit=True, or a dict/list scoring that holds that metric"
            )
        return SINGLE
    if isinstance(refit, str):
        if refit not in scorers:
            raise ConfigurationError(
                f"refit={refit!r} is not one of the scoring metrics {names}; name one of them"
            )
        return refit
    if refit is True:
        raise ConfigurationError(
            f"with several scoring metrics {names}, refit must name the one to refit on "
            f"(e.g. refit={names[0]!r}), be a callable, or be False"
        )
    return names[0]
