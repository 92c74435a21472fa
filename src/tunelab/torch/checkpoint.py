"""The last epoch's checkpoint, `last.pt`: what a trial needs to go on training later
(model and optimizer state dicts, the epoch, RNG state, the gradient scaler's state, …).

It is a plain dict of tensors, numbers, strings, None, and lists, tuples and dicts of
them, saved with `torch.save` and read with `torch.load(..., weights_only=True)`, which
builds no other object: a checkpoint from anywhere is safe to load. What would not load
that way is refused when it is saved, naming the entry."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from tunelab.errors import first_line
from tunelab.torch.errors import TrainingError
from tunelab.torch.files import write_atomically
from tunelab.trial import Trial
from tunelab.trial.kept import CHECKPOINT_ATTR, LAST_FILE

FORMAT = "tunelab-checkpoint"
VERSION = 1
_SCALARS = (int, float, bool, str, type(None))
_MAPPINGS = (dict, OrderedDict)
_SEQUENCES = (list, tuple, torch.Size)


def save_checkpoint(
    folder: str | os.PathLike[str], state: dict[str, Any], *, trial: Trial | None = None
) -> Path:
    """Write `state` as `<folder>/last.pt`, replacing the previous one whole. With
    `trial`, record the file on it (once), so `tunelab show` names it."""
    if type(state) not in _MAPPINGS:
        raise TrainingError(
            f"a checkpoint is a dict of tensors, numbers and dicts, but got {type(state).__name__}"
        )
    _check_plain(state, "state")
    path = Path(folder).absolute() / LAST_FILE
    saved = {"format": FORMAT, "version": VERSION, "state": state}
    write_atomically(path, lambda tmp: torch.save(saved, tmp))
    if trial is not None and trial.user_attrs.get(CHECKPOINT_ATTR, {}).get("path") != str(path):
        trial.set_user_attr(CHECKPOINT_ATTR, {"path": str(path)})
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """The state a `save_checkpoint` wrote (`path`: the file or the trial's folder), its
    tensors on `map_location`."""
    file = Path(path)
    if file.is_dir():
        file = file / LAST_FILE
    if not file.is_file():
        raise TrainingError(
            f"no checkpoint at {str(file)!r}; resume from the last.pt of a trial run with "
            "fit(..., checkpoint='last')"
        )
    try:
        saved = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as e:  # a damaged zip, a refused global, a truncated file
        raise TrainingError(
            f"cannot read the checkpoint {str(file)!r} ({first_line(e)}); it is damaged or "
            "not a tunelab checkpoint: resume from another trial's last.pt"
        ) from None
    if not (
        isinstance(saved, dict)
        and saved.get("format") == FORMAT
        and isinstance(saved.get("state"), dict)
    ):
        raise TrainingError(
            f"{str(file)!r} is not a tunelab checkpoint (save_checkpoint writes them); "
            "resume from the last.pt of a trial run with fit(..., checkpoint='last')"
        )
    if saved.get("version") != VERSION:
        raise TrainingError(
            f"{str(file)!r} is a checkpoint of version {saved.get('version')!r}, which this "
            f"tunelab (version {VERSION}) cannot read; resume it with the tunelab that wrote it"
        )
    state: dict[str, Any] = saved["state"]
    return state


def _check_plain(value: Any, where: str) -> None:
    """Refuse what `torch.load(weights_only=True)` would refuse, naming where it is."""
    kind = type(value)
    if kind in _SCALARS or isinstance(value, torch.Tensor):
        return
    if kind in _MAPPINGS:
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TrainingError(
                    f"checkpoint entry {where} has the key {key!r}; keys must be str or int"
                )
            _check_plain(item, f"{where}[{key!r}]")
        return
    if kind in _SEQUENCES:
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise TrainingError(
        f"checkpoint entry {where} is a {kind.__module__}.{kind.__qualname__}, which loading "
        "with weights_only=True refuses; store tensors (torch.as_tensor(...)), numbers, "
        "strings, None, and lists, tuples or dicts of them"
    )
