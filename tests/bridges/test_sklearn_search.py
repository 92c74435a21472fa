"""tunelab.sklearn.TunelabSearchCV against real scikit-learn: MLPClassifier on a slice of
the bundled digits with pruning on folds and on partial_fit epochs, a Pipeline, the
cv_results_ layout, refit and prediction, reproducibility, persistence and bad input."""

from __future__ import annotations

import importlib.util
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import RidgeClassifier, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import tunelab
from tunelab import ASHAScheduler, ConfigurationError, RandomSampler, TrialState
from tunelab.sklearn import TunelabSearchCV
from tunelab.space import Boolean, Choice, Float, Int

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sklearn_search.py"
ALPHA = {"alpha": Float("alpha", 1e-6, 10.0, sampling="log")}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))[:360]
    return X[rows] / 16.0, y[rows]


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)


def mlp_search(**options: object) -> TunelabSearchCV:
    space = {
        "alpha": Float("alpha", 1e-5, 10.0, sampling="log"),
        "learning_rate_init": Float("lr", 1e-4, 0.3, sampling="log"),
    }
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=15, random_state=0)
    return TunelabSearchCV(mlp, space, random_state=0, **options)  # type: ignore[arg-type]


def test_mlp_on_digits_prunes_on_folds(digits) -> None:  # type: ignore[no-untyped-def]
    search = mlp_search(n_trials=8, cv=4, scheduler=ASHAScheduler(reduction_factor=3))
    search.fit(*digits)
    res = search.cv_results_
    states = list(res["trial_state"])
    assert "PRUNED" in states and "COMPLETE" in states
    for i, state in enumerate(states):
        fitted = sum(
            res[f"split{k}_test_score"][i] == res[f"split{k}_test_score"][i] for k in range(4)
        )
        reports = search.study_.trials[i].reports
        if state == "PRUNED":  # stopped after its first fold: fewer fits, no mean, ranked last
            assert fitted < 4 and np.isnan(res["mean_test_score"][i])
            assert f"(resource {fitted})" in search.study_.trials[i].reason  # the ASHA rung
            assert res["rank_test_score"][i] == states.count("COMPLETE") + 1
        else:
            assert fitted == 4 and [r.step for r in reports] == [0, 1, 2, 3]
            # the last report is the running mean over every fold: the trial's value
            assert reports[-1].metrics["mean_test_score"] == pytest.approx(
                res["mean_test_score"][i]
            )
    assert search.study_.metric == "mean_test_score"
    assert search.best_score_ == np.nanmax(res["mean_test_score"]) > 0.8
    assert search.best_score_ == search.study_.best_value


def test_mlp_prunes_on_partial_fit_epochs(digits) -> None:  # type: ignore[no-untyped-def]
    search = mlp_search(
        n_trials=6, cv=3, scheduler=ASHAScheduler(reduction_factor=2), resource="epochs",
        max_epochs=4,
    )  # fmt: skip
    search.fit(*digits)
    trials = search.study_.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert pruned and complete
    assert all([r.step for r in t.reports] == [0, 1, 2, 3] for t in complete)
    assert all(len(t.reports) < 4 for t in pruned)
    # every fold is trained at once: a pruned trial's folds all hold the score of its last epoch
    i = [t.number for t in trials].index(pruned[0].number)
    assert all(np.isfinite(search.cv_results_[f"split{k}_test_score"][i]) for k in range(3))
    assert search.predict(digits[0][:5]).shape == (5,)


def test_a_pipeline_is_searched_by_nested_names(digits) -> None:  # type: ignore[no-untyped-def]
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(random_state=0))])
    space = {
        "clf__alpha": Float("alpha", 1e-5, 1.0, sampling="log"),
        "scale__with_mean": Boolean("center"),
    }
    search = TunelabSearchCV(pipe, space, n_trials=4, cv=3, random_state=1).fit(*digits)
    assert set(search.best_params_) == {"clf__alpha", "scale__with_mean"}
    assert search.best_estimator_.get_params()["clf__alpha"] == search.best_params_["clf__alpha"]
    chosen = search.study_.trials[search.best_index_].params
    assert search.best_params_ == {
        "clf__alpha": chosen["alpha"],
        "scale__with_mean": chosen["center"],
    }


def test_cv_results_has_gridsearchcvs_layout(digits) -> None:  # type: ignore[no-untyped-def]
    search = TunelabSearchCV(
        GaussianNB(), {"var_smoothing": Float("vs", 1e-9, 1e-1, sampling="log")},
        n_trials=3, cv=2, return_train_score=True, random_state=0,
    ).fit(*digits)  # fmt: skip
    res = search.cv_results_
    expected = {
        "mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time", "param_var_smoothing",
        "params", "split0_test_score", "split1_test_score", "mean_test_score",
        "std_test_score", "rank_test_score", "split0_train_score", "split1_train_score",
        "mean_train_score", "std_train_score", "trial_number", "trial_state", "fit_errors",
    }  # fmt: skip
    assert set(res) == expected
    assert all(len(v) == 3 for v in res.values())
    assert isinstance(res["param_var_smoothing"], np.ma.MaskedArray)
    assert list(res["param_var_smoothing"]) == [p["var_smoothing"] for p in res["params"]]
    means = (res["split0_test_score"] + res["split1_test_score"]) / 2
    assert np.allclose(res["mean_test_score"], means)
    assert res["rank_test_score"][search.best_index_] == 1
    assert (res["mean_fit_time"] > 0).all() and search.n_splits_ == 2
    assert search.best_params_ == res["params"][search.best_index_]


def test_refit_predicts_and_scores_with_the_best_estimator(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    search = TunelabSearchCV(
        GaussianNB(), {"var_smoothing": Float("vs", 1e-9, 1e-1, sampling="log")},
        n_trials=3, cv=2, scoring="accuracy", random_state=0,
    ).fit(X, y)  # fmt: skip
    best = search.best_estimator_
    assert best.var_smoothing == search.best_params_["var_smoothing"]
    assert (search.predict(X) == best.predict(X)).all()
    assert np.allclose(search.predict_proba(X), best.predict_proba(X))
    assert search.score(X, y) == pytest.approx((best.predict(X) == y).mean())
    assert list(search.classes_) == list(range(10)) and search.n_features_in_ == 64
    assert not hasattr(search, "feature_names_in_")  # fitted on an array, not a DataFrame
    unfitted = pickle.loads(pickle.dumps(search))  # a live study does not travel: study_ is dropped
    assert not hasattr(unfitted, "study_") and (unfitted.predict(X) == best.predict(X)).all()

    ridge = TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=2, cv=2, refit=False).fit(X, y)
    assert not hasattr(ridge, "predict_proba")  # RidgeClassifier has none
    assert hasattr(ridge, "best_params_") and not hasattr(ridge, "best_estimator_")
    with pytest.raises(AttributeError, match="refit=False"):
        ridge.predict(X)


def test_multi_metric_refits_on_the_named_metric_or_a_callable(digits) -> None:  # type: ignore[no-untyped-def]
    options = dict(n_trials=3, cv=2, scoring=["accuracy", "f1_macro"], random_state=0)
    search = TunelabSearchCV(RidgeClassifier(), ALPHA, refit="f1_macro", **options).fit(*digits)
    res = search.cv_results_
    assert {"mean_test_accuracy", "rank_test_f1_macro"} <= set(res)
    assert search.study_.metric == "mean_test_f1_macro"
    assert search.best_score_ == np.max(res["mean_test_f1_macro"])
    assert search.score(*digits) == pytest.approx(
        search.scorer_["f1_macro"](search.best_estimator_, *digits)
    )
    last = TunelabSearchCV(RidgeClassifier(), ALPHA, refit=lambda r: 2, **options).fit(*digits)
    assert last.best_index_ == 2 and not hasattr(last, "best_score_")
    with pytest.raises(ConfigurationError, match="refit must name the one to refit on"):
        TunelabSearchCV(RidgeClassifier(), ALPHA, **options).fit(*digits)


def test_random_state_makes_the_search_reproducible(digits) -> None:  # type: ignore[no-untyped-def]
    def params(seed: int) -> list[dict]:
        search = TunelabSearchCV(
            RidgeClassifier(), ALPHA, n_trials=4, cv=2, sampler="tpe", random_state=seed
        )
        return search.fit(*digits).cv_results_["params"]

    assert params(3) == params(3)
    assert params(3) != params(4)


def test_a_stored_study_grows_by_n_trials_each_fit(digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    search = TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=2, cv=2, storage=url, study="ridge")
    search.fit(*digits)
    search.fit(*digits)
    assert len(tunelab.load_study("ridge", storage=url).trials) == 4
    assert list(search.cv_results_["trial_number"]) == [2, 3]  # this fit's trials


@pytest.mark.slow
def test_worker_processes_share_a_stored_study(digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'w.db'}"
    search = TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=4, cv=2, storage=url, n_jobs=2)
    search.fit(*digits)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["split1_test_score"]).all()  # scores came through storage


def test_failed_fits_score_error_score_or_raise(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits[0][:60], digits[1][:60]
    space = {"n_neighbors": Choice("k", [3, 500])}  # 500 neighbours: more than a fold holds
    search = TunelabSearchCV(KNeighborsClassifier(), space, n_trials=2, cv=2, sampler="grid")
    with pytest.warns(FitFailedWarning, match="2 of 4 fits failed"):
        search.fit(X, y)
    res = search.cv_results_
    bad = [p["n_neighbors"] for p in res["params"]].index(500)
    assert np.isnan(res["mean_test_score"][bad]) and "n_neighbors" in res["fit_errors"][bad][0]
    assert search.best_params_ == {"n_neighbors": 3}
    with pytest.raises(ValueError, match="n_neighbors"):
        search.set_params(error_score="raise", param_space={"n_neighbors": Int("k", 400, 500)}).fit(
            X, y
        )
    with pytest.raises(ValueError, match=r"All the 2 fits failed: .*n_neighbors"):
        search.set_params(error_score=np.nan, n_trials=1).fit(X, y)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"param_space": {"alpah": Float("alpah", 0.1, 1.0)}},
            "param_space names 'alpah', which RidgeClassifier does not have; its parameters "
            "are: alpha, class_weight, copy_X, fit_intercept, max_iter, positive, "
            "random_state, solver, tol",
        ),
        (
            {"param_space": {"alpha": [0.1, 1.0]}},
            "param_space['alpha'] must be a tunelab.space parameter (Int, Float, Choice, "
            "Boolean, Fixed), but got [0.1, 1.0]; e.g. Choice('alpha', [...]) for a list of values",
        ),
        ({"refit": "f1"}, "refit='f1' names a metric, but scoring is a single scorer"),
        (
            {"resource": "epochs"},
            "resource='epochs' trains with partial_fit, which RidgeClassifier",
        ),
        ({"n_jobs": 2, "storage": None}, "n_jobs=2 runs worker processes that share the study"),
        (
            {"sampler": RandomSampler(seed=1), "random_state": 0},
            "random_state seeds a sampler given by name; a sampler object carries its own seed",
        ),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_study_untouched(
    digits, tmp_path, options, message
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    search = TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=1, cv=2, storage=url, study="s")
    search.fit(*digits)
    with pytest.raises(ConfigurationError) as caught:
        search.set_params(**options).fit(*digits)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert len(tunelab.load_study("s", storage=url).trials) == 1


def test_a_study_with_another_metric_is_refused(digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    tunelab.create_study("other", storage=url, metric="loss", direction="minimize")
    search = TunelabSearchCV(RidgeClassifier(), ALPHA, n_trials=1, cv=2, storage=url, study="other")
    with pytest.raises(tunelab.StudyConflictError, match="a study keeps its objectives"):
        search.fit(*digits)
    assert tunelab.load_study("other", storage=url).trials == []


def test_without_scikit_learn_the_import_names_the_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in [
        m for m in sys.modules if m == "sklearn" or m.startswith(("sklearn.", "tunelab.sklearn"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install 'tunelab\[sklearn\]'"):
        import tunelab.sklearn  # noqa: F401


def test_the_example_runs_with_a_tiny_budget(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("sklearn_search", EXAMPLE)
    example = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(example)  # type: ignore[union-attr]
    url = f"sqlite:///{tmp_path / 'e.db'}"
    search = example.main(n_trials=3, storage=url, n_samples=200, max_iter=5)
    assert len(tunelab.load_study("sklearn-digits-mlp", storage=url).trials) == 3
    assert set(search.best_params_) == set(example.SPACE)
    assert "held-out accuracy of the refit model" in capsys.readouterr().out
