"""The objective of a TunelabSearchCV: one trial cross-validates one configuration.

Two resources for pruning, both reported as the study's metric (the running mean test
score of the refit metric), the scheduler asked after each report:
- "folds" (any estimator): the folds are fitted one after the other; after fold k the
  mean over folds 0..k is reported at step k. A pruned trial fits fewer folds.
- "epochs" (estimators with `partial_fit`): every fold keeps its own estimator; each
  epoch calls `partial_fit` once on each fold's training part, then the mean over all
  folds is reported at step = epoch. A pruned trial trains fewer epochs.
Per-fold scores and times are kept on the trial (user attribute `sklearn_cv`, JSON), so
cv_results_ is rebuilt from storage, whichever process ran the trial."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.errors import TrialPruned
from tunelab.sklearn.scoring import Scorer
from tunelab.sklearn.space import draw
from tunelab.space import Param
from tunelab.trial import Trial

CV_ATTR = "sklearn_cv"  # the user attribute holding a trial's per-fold record


@dataclass
class FoldRecord:
    """Scores and times of one trial's folds; a fold not fitted holds None."""

    n_splits: int
    metrics: Sequence[str]
    train: bool
    test_scores: dict[str, list[float | None]] = field(default_factory=dict)
    train_scores: dict[str, list[float | None]] = field(default_factory=dict)
    fit_time: list[float | None] = field(default_factory=list)
    score_time: list[float | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "fold k: ValueError: ..." per failed fit

    def __post_init__(self) -> None:
        empty: list[float | None] = [None] * self.n_splits
        self.test_scores = {m: list(empty) for m in self.metrics}
        self.train_scores = {m: list(empty) for m in self.metrics} if self.train else {}
        self.fit_time, self.score_time = list(empty), list(empty)

    def mean(self, metric: str) -> float:
        """Mean test score over the folds scored so far (NaN if one of them is NaN)."""
        done = [s for s in self.test_scores[metric] if s is not None]
        return math.fsum(done) / len(done) if done else math.nan

    def to_json(self) -> dict[str, Any]:
        """JSON with NaN as null (a failed fit's error_score of NaN)."""

        def clean(values: list[float | None]) -> list[float | None]:
            return [None if v is None or math.isnan(v) else v for v in values]

        out: dict[str, Any] = {
            "test": {m: clean(v) for m, v in self.test_scores.items()},
            "fit_time": clean(self.fit_time),
            "score_time": clean(self.score_time),
        }
        if self.errors:
            out["errors"] = list(self.errors)
        if self.train:
            out["train"] = {m: clean(v) for m, v in self.train_scores.items()}
        return out


@dataclass
class CrossValidation:
    """Callable objective: draws the trial's parameters, cross-validates, prunes."""

    estimator: Any
    space: Mapping[str, Param]
    scorers: Mapping[str, Scorer]
    metric: str  # the scorer the study optimizes
    study_metric: str  # the name the study reports it under
    splits: Sequence[tuple[Any, Any]]
    X: Any
    y: Any
    fit_params: Mapping[str, Any]
    error_score: Any
    return_train_score: bool
    resource: str
    max_epochs: int

    def __call__(self, trial: Trial) -> float:
        from sklearn.base import clone

        params = draw(trial, self.space)
        record = FoldRecord(len(self.splits), list(self.scorers), self.return_train_score)
        if self.resource == "epochs":
            self._epochs(trial, clone(self.estimator).set_params(**params), record)
        else:
            for k, (train, test) in enumerate(self.splits):
                model = clone(self.estimator).set_params(**params)
                self._step(model, k, train, test, record, epoch=None)
                self._report(trial, k, len(self.splits), record, "fold")
        trial.set_user_attr(CV_ATTR, record.to_json())
        return record.mean(self.metric)

    def _epochs(self, trial: Trial, model: Any, record: FoldRecord) -> None:
        from sklearn.base import clone

        models = [clone(model) for _ in self.splits]
        failed: set[int] = set()
        for epoch in range(self.max_epochs):
            for k, (train, test) in enumerate(self.splits):
                if k not in failed and not self._step(models[k], k, train, test, record, epoch):
                    failed.add(k)
            self._report(trial, epoch, self.max_epochs, record, "epoch")

    def _report(self, trial: Trial, step: int, of: int, record: FoldRecord, unit: str) -> None:
        """Report the running mean at `step` (of `of` steps) and stop if the scheduler
        says so; after the last step there is nothing left to save, so it is not asked."""
        trial.report(step, **{self.study_metric: record.mean(self.metric)})
        if step + 1 < of and trial.should_prune():
            trial.set_user_attr(CV_ATTR, record.to_json())
            raise TrialPruned(f"pruned after {unit} {step + 1} of {of}")

    def _step(
        self, model: Any, k: int, train: Any, test: Any, record: FoldRecord, epoch: int | None
    ) -> bool:
        """Fit fold k (`epoch` None: fit; else one partial_fit epoch) and score it into
        `record`; False when the fit or the scoring raised and error_score stands in for
        the fold's scores (as in scikit-learn's own searches)."""
        from sklearn.utils import _safe_indexing

        X_train, y_train, fit_params = self._part(train)
        start = time.perf_counter()
        try:
            if epoch is None:
                model.fit(X_train, y_train, **fit_params)
            else:
                self._partial_fit(model, X_train, y_train, fit_params, epoch == 0)
            record.fit_time[k] = (record.fit_time[k] or 0.0) + time.perf_counter() - start
            start = time.perf_counter()
            X_test = _safe_indexing(self.X, test)
            y_test = None if self.y is None else _safe_indexing(self.y, test)
            for metric, scorer in self.scorers.items():
                record.test_scores[metric][k] = float(scorer(model, X_test, y_test))
                if self.return_train_score:
                    record.train_scores[metric][k] = float(scorer(model, X_train, y_train))
            record.score_time[k] = time.perf_counter() - start
        except Exception as error:
            if self.error_score == "raise":
                raise
            record.errors.append(f"fold {k}: {type(error).__name__}: {error}")
            for scores in (record.test_scores, record.train_scores):
                for metric in scores:
                    scores[metric][k] = float(self.error_score)
            return False
        return True

    def _partial_fit(
        self, model: Any, X: Any, y: Any, fit_params: Mapping[str, Any], first: bool
    ) -> None:
        import numpy as np
        from sklearn.base import is_classifier

        if first and is_classifier(model) and y is not None:
            model.partial_fit(X, y, classes=np.unique(self.y), **fit_params)
        else:
            model.partial_fit(X, y, **fit_params)

    def _part(self, rows: Any) -> tuple[Any, Any, dict[str, Any]]:
        """X, y and the sample-aligned fit parameters of the given rows."""
        from sklearn.utils import _safe_indexing

        n = _n_samples(self.X)
        fit_params = {
            name: _safe_indexing(value, rows) if _n_samples(value) == n else value
            for name, value in self.fit_params.items()
        }
        y = None if self.y is None else _safe_indexing(self.y, rows)
        return _safe_indexing(self.X, rows), y, fit_params


def _n_samples(value: Any) -> int | None:
    """Rows of an array-like (None for a scalar or other object)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    if isinstance(value, (list, tuple)):
        return len(value)
    return None
