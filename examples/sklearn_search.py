"""scikit-learn's MLPClassifier tuned on the bundled digits (1,797 8x8 images; nothing is
downloaded) with TunelabSearchCV: GridSearchCV's interface, tunelab's sampler and pruning.

Each trial cross-validates one configuration on 5 folds. ASHA prunes on the folds: after
fold k the trial reports its running mean accuracy at step k, and a configuration that
ranks poorly after its first fold stops there (PRUNED), so its other four fits are never
spent. The best configuration is refit on the training part and scored on held-out data.

    python examples/sklearn_search.py             # 20 trials, in memory
    python examples/sklearn_search.py --trials 10 --storage sqlite:///sklearn.db
"""

from __future__ import annotations

import argparse
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tunelab import ASHAScheduler
from tunelab.sklearn import TunelabSearchCV
from tunelab.space import Choice, Float, Int

SPACE = {
    "mlpclassifier__hidden_layer_sizes": Int("units", 16, 128, sampling="log"),
    "mlpclassifier__alpha": Float("alpha", 1e-5, 1e-1, sampling="log"),  # L2 strength
    "mlpclassifier__learning_rate_init": Float("learning_rate", 1e-4, 1e-1, sampling="log"),
    "mlpclassifier__activation": Choice("activation", ["relu", "tanh"]),
}


def main(
    n_trials: int = 20, storage: str | None = None, n_samples: int | None = None, max_iter: int = 40
) -> TunelabSearchCV:
    """Tune, refit, and print the best configuration and its held-out accuracy."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:n_samples], y[:n_samples]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=max_iter, random_state=0))
    search = TunelabSearchCV(
        model,
        SPACE,
        n_trials=n_trials,
        cv=5,
        scoring="accuracy",
        sampler="tpe",
        scheduler=ASHAScheduler(min_resource=1, reduction_factor=3),
        random_state=0,
        storage=storage,
        study="sklearn-digits-mlp" if storage else None,
    )
    with warnings.catch_warnings():  # short max_iter: MLPClassifier warns on every fit
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    states = list(search.cv_results_["trial_state"])
    print(f"{states.count('COMPLETE')} trials complete, {states.count('PRUNED')} pruned")
    print(f"best cross-validated accuracy {search.best_score_:.3f} with {search.best_params_}")
    print(f"held-out accuracy of the refit model: {search.score(X_test, y_test):.3f}")
    return search


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--storage", default=None, help="e.g. sqlite:///sklearn.db")
    args = parser.parse_args()
    main(args.trials, args.storage)
