"""Writing the kit's files whole: a reader (another worker, `load_best`, a resumed trial)
sees the previous file or the new one, never half of one."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from tunelab.torch.errors import TrainingError


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """`write(temporary path)` beside `path`, then replace `path` with it in one step.
    A write that fails leaves no temporary file; one the OS refuses is a TrainingError."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as e:
        raise TrainingError(
            f"cannot write {str(path)!r} ({e.strerror or e}); free disk space, or pass fit() "
            "another folder as artifacts="
        ) from None
    finally:
        partial.unlink(missing_ok=True)
