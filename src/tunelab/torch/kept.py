"""Kept models: the best epoch's weights of a trial as `best.safetensors` in its artifact
folder, and `load_best`, which rebuilds a trial's model from its stored hyperparameters
and loads them.

Nothing here unpickles: weights are safetensors (tensors and a JSON-able header only).
The trial records where its file is (`tunelab.trial.kept`), so the study deletes the
files of trials that fall out of the best `keep_models` when another ends, `tunelab show`
names them, and `load_best` finds them. The last epoch's checkpoint is in checkpoint.py."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tunelab.errors import ConfigurationError, ConfigurationTypeError, first_line
from tunelab.space import HyperParameters, hyperparameters_from
from tunelab.torch.device import resolve_device
from tunelab.torch.errors import TrainingError
from tunelab.torch.files import write_atomically
from tunelab.trial import FrozenTrial, Trial
from tunelab.trial.kept import BEST_FILE, WEIGHTS_ATTR, KeptWeights, kept_weights

_STUDY_KEY, _TRIAL_KEY, _PARAMS_KEY = "tunelab.study", "tunelab.trial", "tunelab.params"


def check_keep_models(keep_models: Any) -> int:
    """`keep_models` as fit() takes it: how many of the study's best trials keep their
    weights; 0 keeps none. Checks, before any training, that they can be written."""
    if isinstance(keep_models, bool) or not isinstance(keep_models, int) or keep_models < 0:
        raise TrainingError(
            "keep_models must be an int >= 0 (how many of the best trials keep their "
            f"weights; 0 keeps none), but got {keep_models!r}"
        )
    if keep_models:
        _safetensors()
    return keep_models


def _safetensors() -> Any:
    """The safetensors package (an extra of tunelab[torch]), imported when weights are kept."""
    try:
        import safetensors.torch
    except ImportError:
        raise TrainingError(
            "keeping weights needs the safetensors package: pip install 'tunelab[torch]' "
            "(or safetensors), or pass keep_models=0"
        ) from None
    return safetensors


def prepare_folder(trial: Trial, artifacts: str | os.PathLike[str] | None) -> Path:
    """The trial's artifact folder, created and proven writable before training starts
    (`artifacts`: fit()'s root folder; None: the study's default root)."""
    if artifacts is not None and not isinstance(artifacts, (str, os.PathLike)):
        raise TrainingError(
            f"artifacts must be a folder path (a str or a Path) or None, but got {artifacts!r}"
        )
    folder = trial.artifact_dir(artifacts, create=False)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as e:
        raise TrainingError(
            f"the artifact folder {str(folder)!r} is not writable ({e.strerror or e}); pass "
            "fit() another folder as artifacts=, or keep_models=0 and checkpoint=None to "
            "keep no files"
        ) from None
    return folder


def save_best_weights(
    trial: Trial,
    folder: str | os.PathLike[str],
    state_dict: Mapping[str, torch.Tensor],
    keep_models: int,
    *,
    epoch: int | None = None,
) -> Path:
    """Write the best epoch's `state_dict` as `<folder>/best.safetensors` (replacing the
    file at once: a reader sees the old weights or the new, never half) and record it on
    the trial with `keep_models`, the bound the study keeps when the trial ends."""
    keep = check_keep_models(keep_models)
    if keep == 0:
        raise TrainingError("save_best_weights() needs keep_models >= 1; 0 keeps no weights")
    tensors = _cpu_copies(state_dict)
    metadata = {
        "format": "pt",
        _STUDY_KEY: trial.study_name,
        _TRIAL_KEY: str(trial.number),
        _PARAMS_KEY: json.dumps(trial.params, default=str),
    }
    library = _safetensors()

    def write(tmp: Path) -> None:
        try:
            library.torch.save_file(tensors, str(tmp), metadata=metadata)
        except library.SafetensorError as e:  # its own error for the OS's refusals
            raise OSError(first_line(e)) from None

    path = Path(folder).absolute() / BEST_FILE
    write_atomically(path, write)
    record = KeptWeights(path, keep, epoch).to_json()
    if trial.user_attrs.get(WEIGHTS_ATTR) != record:
        trial.set_user_attr(WEIGHTS_ATTR, record)
    return path


def _cpu_copies(state_dict: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies: safetensors refuses tensors that share memory (tied
    weights) or live on a device, and training goes on changing the originals."""
    if not isinstance(state_dict, Mapping):
        raise TrainingError(
            f"the weights to keep must be a state dict (model.state_dict()), but got "
            f"{type(state_dict).__name__}"
        )
    copies = {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TrainingError(
                f"state dict entry {name!r} is a {type(tensor).__name__}, not a tensor; "
                "safetensors holds tensors only"
            )
        copies[str(name)] = tensor.detach().to("cpu", copy=True).contiguous()
    return copies


def load_best(
    study: Any,
    build_model: Callable[[HyperParameters], nn.Module],
    k: int = 0,
    *,
    trial: int | None = None,
    device: str | torch.device | None = "cpu",
) -> nn.Module:
    """The model of the study's `k`-th best trial that kept its weights (0: the best;
    in `study.top_trials` order), or of trial number `trial`: `build_model(hp)` with the
    trial's hyperparameters, its kept weights loaded (strictly), on `device`, in eval
    mode."""
    _check_index("k", k)
    if trial is not None:
        _check_index("trial", trial)
        if k != 0:
            raise ConfigurationError(
                f"give load_best() k or trial, not both (k={k}, trial={trial})"
            )
    chosen, record = _kept_trial(study, k, trial)
    tensors = _read_weights(record.path, study.name, chosen.number)
    model = build_model(hyperparameters_from(chosen.params))
    if not isinstance(model, nn.Module):
        raise TrainingError(
            f"build_model must return a torch.nn.Module, but returned {type(model).__name__}"
        )
    built = f"the model build_model makes from trial {chosen.number}'s hyperparameters"
    check_shapes(model, tensors, built, repr(str(record.path)))
    model.load_state_dict(tensors, strict=True)
    return model.to(resolve_device(device)).eval()


def _check_index(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationTypeError(f"load_best() takes {name} as an int >= 0, but got {value!r}")


def _kept_trial(study: Any, k: int, number: int | None) -> tuple[FrozenTrial, KeptWeights]:
    """The trial whose weights load_best loads, with its record; one clear line when
    there is none."""
    trials: list[FrozenTrial] = study.trials
    if not any(kept_weights(t) for t in trials):
        raise TrainingError(
            f"study {study.name!r} has no kept weights: fit(..., keep_models=3) keeps the "
            "best trials' weights (a run with keep_models=0, or not trained by "
            "tunelab.torch.fit, keeps none)"
        )
    available = [t for t in study.top_trials(len(trials)) if _on_disk(t)]
    kept_now = f"kept now: trials {[t.number for t in available]}, best first"
    if number is None:
        if k >= len(available):
            raise TrainingError(
                f"k={k} is out of range: study {study.name!r} keeps the weights of "
                f"{len(available)} trials, so k must be below {len(available)}; {kept_now}"
            )
        chosen = available[k]
        return chosen, kept_weights(chosen)  # type: ignore[return-value]
    chosen = next((t for t in trials if t.number == number), None)
    if chosen is None:
        raise TrainingError(f"study {study.name!r} has no trial {number}; {kept_now}")
    record = kept_weights(chosen)
    if record is None:
        raise TrainingError(f"trial {number} of study {study.name!r} kept no weights; {kept_now}")
    if not record.path.is_file():
        raise TrainingError(
            f"the weights of trial {number} are gone from {str(record.path)!r}: better trials "
            f"replaced them (keep_models={record.keep_models} keeps the best "
            f"{record.keep_models}), or the folder was moved; {kept_now}"
        )
    return chosen, record


def _on_disk(trial: FrozenTrial) -> bool:
    record = kept_weights(trial)
    return record is not None and record.path.is_file()


def _read_weights(path: Path, study_name: str, number: int) -> dict[str, torch.Tensor]:
    """The tensors of a kept-weights file that belongs to this study's trial."""
    library = _safetensors()
    try:
        with library.safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except Exception as e:  # safetensors' own error, or the OS's
        raise TrainingError(
            f"cannot read the kept weights of trial {number} at {str(path)!r} "
            f"({first_line(e)}); the file is damaged: load another trial, or run this "
            "configuration again"
        ) from None
    owner = (metadata.get(_STUDY_KEY), metadata.get(_TRIAL_KEY))
    if owner != (study_name, str(number)):
        raise TrainingError(
            f"{str(path)!r} holds the weights of study {owner[0]!r} trial {owner[1]}, not of "
            f"study {study_name!r} trial {number}: two studies share one artifacts folder; "
            "give each study its own fit(artifacts=...)"
        )
    return tensors


def check_shapes(
    model: nn.Module, tensors: Mapping[str, torch.Tensor], built: str, source: str
) -> None:
    """Name the first tensor that differs between `model` (called `built` in the
    message) and the saved `tensors` (read from `source`)."""
    expected = model.state_dict()
    fix = "build the model as the trial did (same hyperparameters and code), or load another trial"
    for name, tensor in expected.items():
        if name not in tensors:
            raise TrainingError(f"{built} has a tensor {name!r} that {source} lacks; {fix}")
        if nn.parameter.is_lazy(tensor):
            continue  # a lazy module takes its shape from the weights
        if tuple(tensor.shape) != tuple(tensors[name].shape):
            raise TrainingError(
                f"{built} does not match its saved weights: {name!r} has shape "
                f"{tuple(tensor.shape)} in the model but {tuple(tensors[name].shape)} in "
                f"{source}; {fix}"
            )
    extra = [repr(name) for name in tensors if name not in expected]
    if extra:
        names = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        raise TrainingError(f"{built} lacks {names}, which {source} holds; {fix}")
