"""scikit-learn's own estimator checks on TunelabSearchCV, as a classifier and as a
regressor, with a small search (one trial, two folds). Every check that applies passes;
the array-API checks skip themselves (TunelabSearchCV claims no array-API support)."""

from __future__ import annotations

import logging
import warnings

import pytest
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from tunelab.sklearn import TunelabSearchCV
from tunelab.space import Float

pytestmark = pytest.mark.slow

ALPHA = {"alpha": Float("alpha", 0.1, 10.0, sampling="log")}
SEARCHES = [
    TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=1, cv=2, random_state=0),
    TunelabSearchCV(Ridge(), ALPHA, n_trials=1, cv=2, random_state=0),
]


@pytest.fixture(autouse=True)
def _quiet(caplog) -> None:  # type: ignore[no-untyped-def]
    # the checks feed NaN, empty and complex data on purpose: each failed trial is logged
    caplog.set_level(logging.CRITICAL, logger="tunelab")
    warnings.simplefilter("ignore")


@parametrize_with_checks(SEARCHES)
def test_scikit_learn_estimator_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)
