"""TunelabSearchCV: GridSearchCV's interface over a tunelab study.

The constructor only stores its arguments (scikit-learn's rule, so clone and set_params
work); fit() checks them all before it creates or touches a study, runs the study, and
rebuilds cv_results_ from the stored trials."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, indexable

import tunelab
from tunelab.errors import ConfigurationError
from tunelab.sklearn.folds import CrossValidation
from tunelab.sklearn.results import cv_results
from tunelab.sklearn.scoring import SINGLE, is_multimetric, make_scorers, refit_metric
from tunelab.sklearn.space import checked_space
from tunelab.types import TrialState

RESOURCES = ("folds", "epochs")
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _delegate(method: str) -> Callable[[Any], bool]:
    """available_if check: the fitted best estimator (else the estimator) has `method`."""

    def check(self: TunelabSearchCV) -> bool:
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, method)
        else:
            getattr(self.estimator, method)
        return True

    return check


def _delegated(method: str) -> Any:
    """`method(X)` of the best estimator, present only where that estimator has it."""

    def call(self: TunelabSearchCV, X: Any) -> Any:
        self._fitted(method)
        return getattr(self.best_estimator_, method)(X)

    call.__name__ = call.__qualname__ = method
    call.__doc__ = f"best_estimator_.{method}(X): the refit best configuration's {method}."
    return available_if(_delegate(method))(call)


class TunelabSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search `estimator`'s parameters with a tunelab study, cross-validating each trial.

    `param_space` maps parameter names (nested ones such as "clf__alpha" for a Pipeline)
    to tunelab.space parameters. `sampler`, `scheduler` and `random_state` (the sampler's
    seed) go to the study; `study` names it and `storage` keeps it (default: in memory).
    With a scheduler, trials are pruned on `resource`: "folds" (the running mean after
    each fold) or "epochs" (`partial_fit` epochs, up to `max_epochs`, every fold at once).
    `n_jobs` worker processes share the study through `storage` (a SQLite file or a
    database URL). `refit`, `scoring`, `cv`, `error_score` and `return_train_score` mean
    what they mean for GridSearchCV."""

    def __init__(
        self,
        estimator: Any,
        param_space: Mapping[str, Any],
        *,
        n_trials: int = 10,
        cv: Any = None,
        scoring: Any = None,
        sampler: Any = None,
        scheduler: Any = None,
        random_state: int | None = None,
        refit: bool | str | Callable[[dict[str, Any]], int] = True,
        resource: str = "folds",
        max_epochs: int = 10,
        n_jobs: int | None = None,
        storage: str | None = None,
        study: str | None = None,
        timeout: float | None = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        self.estimator = estimator
        self.param_space = param_space
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.sampler = sampler
        self.scheduler = scheduler
        self.random_state = random_state
        self.refit = refit
        self.resource = resource
        self.max_epochs = max_epochs
        self.n_jobs = n_jobs
        self.storage = storage
        self.study = study
        self.timeout = timeout
        self.error_score = error_score
        self.return_train_score = return_train_score

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, groups: Any = None, **fit_params: Any) -> Any:
        """Run `n_trials` more trials of the study, then refit the best configuration on
        all of X (unless refit=False). `fit_params` go to every fit; those with one entry
        per sample are split with the folds."""
        from sklearn.model_selection import check_cv

        space = checked_space(self.estimator, self.param_space)
        scorers = make_scorers(self.estimator, self.scoring)
        multimetric = is_multimetric(self.scoring)
        metric = refit_metric(scorers, self.refit, multimetric)
        self._check_settings()
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        study_metric = f"mean_test_{metric}"
        study = self._open_study(study_metric)
        before = max((t.number for t in study.trials), default=-1)
        objective = CrossValidation(
            self.estimator,
            space,
            scorers,
            metric,
            study.metric,
            splits,
            X,
            y,
            fit_params,
            self.error_score,
            self.return_train_score,
            self.resource,
            self.max_epochs,
        )
        study.optimize(
            objective,
            n_trials=self.n_trials,
            timeout=self.timeout,
            n_jobs=self.n_jobs,
            catch=() if self.error_score == "raise" else (Exception,),
            add=True,
            max_consecutive_failures=None,
        )
        trials = [t for t in study.get_trials(list(_FINISHED)) if t.number > before]
        results = cv_results(trials, space, list(scorers), len(splits), self.return_train_score)
        self._check_some_fitted(results, metric, len(splits))
        self.study_ = study
        self.cv_results_ = results
        self.n_splits_ = len(splits)
        self.study_name_ = study.name
        self.multimetric_ = multimetric
        self.scorer_ = scorers if multimetric else scorers[SINGLE]
        if self.refit or not self.multimetric_:  # GridSearchCV's rule for best_*
            self._choose_best(results, metric)
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            start = time.perf_counter()
            self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
        return self

    def _check_settings(self) -> None:
        """The settings fit() itself reads, checked before any study is touched."""
        if (
            isinstance(self.n_trials, bool)
            or not isinstance(self.n_trials, int)
            or self.n_trials < 1
        ):
            raise ConfigurationError(f"n_trials must be an int >= 1, got {self.n_trials!r}")
        if self.timeout is not None and not (
            isinstance(self.timeout, (int, float)) and self.timeout > 0
        ):
            raise ConfigurationError(f"timeout must be None or > 0 seconds, got {self.timeout!r}")
        if self.resource not in RESOURCES:
            raise ConfigurationError(
                f"resource must be one of {list(RESOURCES)}, but got {self.resource!r}"
            )
        if self.resource == "epochs" and not hasattr(self.estimator, "partial_fit"):
            raise ConfigurationError(
                f"resource='epochs' trains with partial_fit, which "
                f"{type(self.estimator).__name__} does not have; use resource='folds'"
            )
        max_epochs = self.max_epochs
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ConfigurationError(f"max_epochs must be an int >= 1, got {self.max_epochs!r}")
        if not (self.error_score == "raise" or isinstance(self.error_score, (int, float))):
            raise ConfigurationError(
                f"error_score must be 'raise' or a number, got {self.error_score!r}"
            )
        if not (self.refit in (True, False) or isinstance(self.refit, str) or callable(self.refit)):
            raise ConfigurationError(
                f"refit must be a bool, a metric name or a callable, got {self.refit!r}"
            )
        if self.n_jobs not in (None, 1) and self.storage in (None, ":memory:"):
            raise ConfigurationError(
                f"n_jobs={self.n_jobs!r} runs worker processes that share the study through "
                "storage; give storage='sqlite:///search.db' (or another database URL)"
            )
        if self.random_state is not None and not (
            self.sampler is None or isinstance(self.sampler, str)
        ):
            raise ConfigurationError(
                "random_state seeds a sampler given by name; a sampler object carries its "
                f"own seed: give sampler={type(self.sampler).__name__}(seed=...) without "
                "random_state"
            )
        if self.study is not None and not isinstance(self.study, str):
            raise ConfigurationError(
                f"study is the name of a tunelab study (with storage= where it is kept), "
                f"but got {self.study!r:.80}"
            )

    def _open_study(self, metric: str) -> tunelab.Study:
        """The named study (created if missing, which checks its metric and direction),
        or a new one in memory or in `storage`."""
        name = self.study or f"sklearn-{type(self.estimator).__name__}-{uuid.uuid4().hex[:8]}"
        return tunelab.create_study(
            name,
            storage=self.storage if self.storage is not None else ":memory:",
            metric=metric,
            direction="maximize",
            sampler=deepcopy(self.sampler),  # the search's own argument stays as it was given
            seed=self.random_state,
            scheduler=self.scheduler,
        )

    def _check_some_fitted(self, results: dict[str, Any], metric: str, n_splits: int) -> None:
        """Raise as GridSearchCV does when every fit failed (a TypeError when every error
        is one: bad data reads as bad data), else warn once about the folds that failed."""
        errors = [e.partition(": ")[2] for trial in results["fit_errors"] for e in trial]
        scores = results[f"mean_test_{metric}"]
        if len(scores) and np.isnan(scores).all() and (results["trial_state"] != "PRUNED").all():
            kinds = {e.partition(":")[0] for e in errors}
            kind = TypeError if kinds == {"TypeError"} else ValueError
            why = "; ".join(dict.fromkeys(errors)) or "every trial scored NaN"
            raise kind(
                f"All the {len(scores) * n_splits} fits failed: {why}. Set error_score='raise' "
                "to see the traceback"
            )
        if errors:
            from sklearn.exceptions import FitFailedWarning

            warnings.warn(
                f"{len(errors)} of {len(scores) * n_splits} fits failed and scored "
                f"error_score={self.error_score!r}; the first: {errors[0]}",
                FitFailedWarning,
                stacklevel=3,
            )

    def _choose_best(self, results: dict[str, Any], metric: str) -> None:
        if callable(self.refit):
            index = self.refit(results)
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise ConfigurationError(f"refit callable must return an int, got {index!r}")
            if not 0 <= index < len(results["params"]):
                raise ConfigurationError(
                    f"refit callable returned {index}, outside 0..{len(results['params']) - 1}"
                )
        else:
            means = results[f"mean_test_{metric}"]
            if np.isnan(means).all():
                raise ValueError(
                    "no trial of this search scored every fold (none ran, or all were pruned "
                    "or failed), so there is no best one; run more trials or prune less"
                )
            index = int(np.nanargmax(means))
            self.best_score_ = float(means[index])
        self.best_index_ = int(index)
        self.best_params_ = dict(results["params"][self.best_index_])

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without `study_` (a live storage connection); `study_name_` and
        `storage` reopen a stored one: tunelab.load_study(search.study_name_, storage)."""
        state = super().__getstate__()
        state.pop("study_", None)
        return state

    # -- delegation to the best estimator -------------------------------------------------
    def _fitted(self, method: str) -> None:
        check_is_fitted(self)
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} instance was initialized with refit=False; "
                f"{method} is available only after refitting on the best parameters"
            )

    predict = _delegated("predict")
    predict_proba = _delegated("predict_proba")
    predict_log_proba = _delegated("predict_log_proba")
    decision_function = _delegated("decision_function")
    score_samples = _delegated("score_samples")
    transform = _delegated("transform")
    inverse_transform = _delegated("inverse_transform")

    def score(self, X: Any, y: Any = None) -> float:
        """The refit metric's scorer on the best estimator (as GridSearchCV scores)."""
        self._fitted("score")
        scorer = self.scorer_
        if isinstance(scorer, dict):
            scorer = scorer[refit_metric(scorer, self.refit, True)]
        return float(scorer(self.best_estimator_, X, y))

    @property
    def classes_(self) -> Any:
        """The best estimator's class labels (classifiers, after `fit`)."""
        self._fitted("classes_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """The number of features seen during `fit` (AttributeError before)."""
        try:
            check_is_fitted(self)
        except Exception as error:  # NotFittedError: no such attribute yet
            raise AttributeError(str(error)) from None
        return int(self.best_estimator_.n_features_in_)

    @property
    def feature_names_in_(self) -> Any:
        """The column names the best estimator was fitted with (X as a DataFrame)."""
        self._fitted("feature_names_in_")
        return self.best_estimator_.feature_names_in_

    def __sklearn_tags__(self) -> Any:
        """The searched estimator's kind and input tags (scikit-learn >= 1.6)."""
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.target_tags = deepcopy(inner.target_tags)
        return tags
