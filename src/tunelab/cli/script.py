"""Loading a user's tuning script: a Python file that defines `objective(trial)`."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tunelab.errors import TunelabError


class ScriptError(TunelabError):
    """The script is missing, does not load, or lacks what tunelab needs."""


@dataclass(frozen=True)
class ScriptRecord:
    """Which script: its absolute path and the sha256 of its bytes (None where an older
    tunelab recorded the path only)."""

    path: str
    sha256: str | None = None

    @property
    def short_hash(self) -> str:
        return self.sha256[:12] if self.sha256 else "not recorded"

    def __str__(self) -> str:
        return f"{self.path} (sha256 {self.short_hash})"


@dataclass(frozen=True)
class ScriptFile:
    """A script read once from disk: the bytes hashed are the bytes imported."""

    record: ScriptRecord
    source: bytes


def read_script(path: str) -> ScriptFile:
    """The script's bytes and their sha256, or one clear error when it cannot be read."""
    file = Path(path)
    if not file.is_file():
        raise ScriptError(f"no such script: {path!r}; give the path of a .py file")
    try:
        source = file.read_bytes()
    except OSError as e:
        raise ScriptError(f"cannot read {path!r}: {e.strerror}") from None
    digest = hashlib.sha256(source).hexdigest()
    return ScriptFile(ScriptRecord(str(file.resolve()), digest), source)


def load_script(path: str) -> ModuleType:
    """Read and import the script at `path` (see `import_script`)."""
    return import_script(read_script(path), path)


def import_script(script: ScriptFile, shown: str | None = None) -> ModuleType:
    """Import the script as a module (not as __main__, so its `if __name__ ==
    "__main__":` block does not run). Its folder goes on sys.path for local imports.
    `shown` is the path as the user wrote it, for error messages."""
    file = Path(script.record.path)
    path = shown or script.record.path
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"tunelab_script_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None:
        raise ScriptError(f"cannot load {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:  # the bytes read and hashed, not the file again: it may have changed since
        exec(compile(script.source, str(file), "exec"), module.__dict__)
    except SyntaxError as e:
        raise ScriptError(f"{path} has a syntax error at line {e.lineno}: {e.msg}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(file)]
        where = f" (line {frames[-1].lineno})" if frames else ""
        raise ScriptError(f"{path} failed to load{where}: {type(e).__name__}: {e}") from None
    return module


def find_objective(module: ModuleType, path: str) -> Any:
    """The script's `objective(trial)`, or one made from `build_model(hp)` and `DATA` (a
    tunelab.torch.Data) or `DATASETS` (a tunelab.torch.Datasets), trained by the kit's fit()
    with the optional `FIT` arguments (fit()'s own, such as device or task, and knobs)."""
    objective = getattr(module, "objective", None)
    if objective is None and hasattr(module, "build_model"):
        return _kit_objective(module, path)
    if objective is None:
        raise ScriptError(
            f"{path} defines no `objective(trial)` function; define one that builds and "
            "trains a model with trial.hp and returns the metric, or define "
            "`build_model(hp)` and `DATA` for the training kit"
        )
    if not callable(objective):
        raise ScriptError(f"{path}: `objective` must be a function, but it is {objective!r}")
    return objective


def _kit_objective(module: ModuleType, path: str) -> Any:
    try:
        from tunelab.torch import Data, Datasets, fit
    except ImportError:
        raise ScriptError(
            f"{path} defines build_model(hp), which needs the training kit: "
            "pip install 'tunelab[torch]'"
        ) from None
    data = getattr(module, "DATA", None)
    datasets = getattr(module, "DATASETS", None)
    if data is not None and datasets is not None:
        raise ScriptError(f"{path} defines both DATA and DATASETS; keep the one to train on")
    source: Data | Datasets
    if isinstance(datasets, Datasets):
        source = datasets
    elif datasets is not None:
        raise ScriptError(
            f"{path}: DATASETS must be tunelab.torch.Datasets(train=..., val=...), but it is "
            f"a {type(datasets).__name__}"
        )
    elif isinstance(data, Data):
        source = data
    else:
        raise ScriptError(
            f"{path} defines build_model(hp) but no `DATA`; set DATA = tunelab.torch.load_digits() "
            "or tunelab.torch.from_arrays(x, y), or DATASETS = tunelab.torch.Datasets(train=..., "
            "val=...)"
        )
    build_model = module.build_model
    overrides = _fit_arguments(module, path, fit)

    def objective(trial: Any) -> float | dict[str, float]:
        return fit(build_model(trial.hp), source, trial, **overrides)

    return objective


def _fit_arguments(module: ModuleType, path: str, fit: Any) -> dict[str, Any]:
    """FIT: fit()'s own keyword arguments (device, task, ...) and training hyperparameters,
    checked when the script loads rather than in the first trial."""
    from tunelab.torch.knobs import check_overrides

    given = getattr(module, "FIT", None) or {}
    if not isinstance(given, Mapping):
        raise ScriptError(f"{path}: FIT must be a dict of fit() arguments, but it is {given!r}")
    own = {
        name
        for name, p in inspect.signature(fit).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    try:
        check_overrides({k: v for k, v in given.items() if k not in own})
    except TunelabError as error:
        raise ScriptError(
            f"{path}: FIT: {error} (besides fit()'s own arguments {', '.join(sorted(own))})"
        ) from None
    return dict(given)
