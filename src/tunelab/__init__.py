"""tunelab: hyperparameter tuning for deep-learning models.

```python
study = tunelab.create_study("digits", metric="val_accuracy", direction="maximize")
study.optimize(objective, n_trials=50)
```
"""

import importlib.metadata

from tunelab.errors import (
    ConfigurationError,
    ConfigurationTypeError,
    DataError,
    GridExhausted,
    SchemaVersionError,
    SearchSpaceError,
    StorageError,
    StudyConflictError,
    StudyNotFoundError,
    TrialDiverged,
    TrialError,
    TrialFailed,
    TrialOutOfMemory,
    TrialPaused,
    TrialPruned,
    TunelabError,
)
from tunelab.samplers import GridSampler, RandomSampler, Sampler, SobolSampler
from tunelab.schedulers import (
    ASHAScheduler,
    ExtrapolateScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    PB2Scheduler,
    PBTScheduler,
    Scheduler,
)
from tunelab.space import HyperParameters
from tunelab.storage import InMemoryStorage, get_storage
from tunelab.study import Study, create_study, delete_study, list_studies, load_study
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import Direction, EndCause, TrialState

__version__: str
"""The installed tunelab's version, from the package metadata (`"0+unknown"` in a source
tree that was never installed)."""
try:  # pyproject.toml's `version` is the one place the version is written
    __version__ = importlib.metadata.version("tunelab")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, never installed:
    __version__ = "0+unknown"  # no metadata to read, and no second copy of the number to drift

__all__ = [
    "ASHAScheduler",
    "ConfigurationError",
    "ConfigurationTypeError",
    "DataError",
    "Direction",
    "EndCause",
    "ExtrapolateScheduler",
    "FrozenTrial",
    "GridExhausted",
    "GridSampler",
    "HyperParameters",
    "HyperbandScheduler",
    "InMemoryStorage",
    "MedianStoppingScheduler",
    "PB2Scheduler",
    "PBTScheduler",
    "RandomSampler",
    "Sampler",
    "Scheduler",
    "SchemaVersionError",
    "SearchSpaceError",
    "SobolSampler",
    "StorageError",
    "Study",
    "StudyConflictError",
    "StudyNotFoundError",
    "Trial",
    "TrialDiverged",
    "TrialError",
    "TrialFailed",
    "TrialOutOfMemory",
    "TrialPaused",
    "TrialPruned",
    "TrialState",
    "TunelabError",
    "__version__",
    "create_study",
    "delete_study",
    "get_storage",
    "list_studies",
    "load_study",
]
