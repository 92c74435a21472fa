"""What a trial records about the files it kept: the best epoch's weights and the last
epoch's checkpoint, as user attributes (JSON), so the study can bound them, `tunelab
show` can name them, and `tunelab.torch.load_best` can find them.

The training kit writes these records; the study reads them when a trial ends. Both sit
above this layer, so the names and the reading live here, once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.trial.frozen import FrozenTrial

WEIGHTS_ATTR = "kept_weights"  # {"path": ..., "keep_models": k, "format": "safetensors", ...}
CHECKPOINT_ATTR = "kept_checkpoint"  # {"path": ...}
BEST_FILE = "best.safetensors"
LAST_FILE = "last.pt"


@dataclass(frozen=True)
class KeptWeights:
    """Where a trial's best weights were written, and how many trials its run keeps."""

    path: Path
    keep_models: int
    epoch: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "keep_models": self.keep_models,
            "format": "safetensors",
            "epoch": self.epoch,
        }


def kept_weights(trial: FrozenTrial) -> KeptWeights | None:
    """The trial's record of kept weights; None when it kept none (or the record is not
    one tunelab wrote: the file is then never touched)."""
    record = trial.user_attrs.get(WEIGHTS_ATTR)
    if not isinstance(record, Mapping):
        return None
    path, keep, epoch = record.get("path"), record.get("keep_models"), record.get("epoch")
    if not isinstance(path, str) or not path or isinstance(keep, bool) or not isinstance(keep, int):
        return None
    if keep < 1 or Path(path).name != BEST_FILE:
        return None  # never delete or load a file that is not a kept-weights file
    return KeptWeights(Path(path), keep, epoch if isinstance(epoch, int) else None)


def kept_checkpoint(trial: FrozenTrial) -> Path | None:
    """Where the trial's last-epoch checkpoint was written; None when it kept none."""
    record = trial.user_attrs.get(CHECKPOINT_ATTR)
    path = record.get("path") if isinstance(record, Mapping) else None
    return Path(path) if isinstance(path, str) and Path(path).name == LAST_FILE else None
