"""Trained models on disk: one `.keras` file per trial, only the best `keep` kept.

The native Keras format (a zip of JSON config and HDF5 weights): never a pickle.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigurationError

_NAME = re.compile(r"^trial_(\d+)\.keras$")


class ModelStore:
    """Files `trial_<number>.keras` in one folder."""

    def __init__(self, folder: str | os.PathLike[str], keep: int) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ConfigurationError(
                f"keep_models must be a non-negative int, but got keep_models={keep!r}"
            )
        self.folder = Path(folder)
        self.keep = keep

    def path(self, number: int) -> Path:
        return self.folder / f"trial_{number:05d}.keras"

    def save(self, model: Any, number: int) -> Path:
        """Write the model through a temporary file, so a crash never leaves half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(number)
        partial = final.with_name(f"partial_{final.name}")  # must end in .keras for Keras
        model.save(partial)
        os.replace(partial, final)
        return final

    def numbers(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def remove(self, numbers: Iterable[int]) -> None:
        """Delete the model files of these trials (those that exist)."""
        for number in numbers:
            self.path(number).unlink(missing_ok=True)

    def remove_all(self) -> None:
        """Delete every model file, and partial files a crash left behind."""
        if not self.folder.is_dir():
            return
        for p in self.folder.iterdir():
            if _NAME.match(p.name) or p.name.startswith("partial_trial_"):
                p.unlink(missing_ok=True)
