"""scikit-learn: `TunelabSearchCV`, a meta-estimator that searches an estimator's
parameters with a tunelab study (GridSearchCV's interface, tunelab's samplers and pruning).

Importing this package without scikit-learn raises one line naming the extra to install."""

from tunelab._extras import require

require("sklearn", extra="sklearn", user="tunelab.sklearn")

from tunelab.sklearn.search import TunelabSearchCV  # noqa: E402  (after the hint above)

__all__ = ["TunelabSearchCV"]
