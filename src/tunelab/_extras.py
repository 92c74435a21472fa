"""Optional libraries, imported when an integration first needs them: a missing one is one
line that names the extra to install, not a traceback from deep inside an import."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, *, extra: str, user: str) -> ModuleType:
    """Import `module` for `user` (e.g. "tunelab.lightning"), or raise ImportError naming the
    extra that installs it. An error raised while the library itself imports is not hidden."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        top = module.partition(".")[0]
        if error.name is None or error.name.partition(".")[0] != top:
            raise
        raise ImportError(
            f"{user} needs {top}, which is not installed: pip install 'tunelab[{extra}]'"
        ) from None
