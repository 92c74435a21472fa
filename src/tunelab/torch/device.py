"""Where a trial trains and in which precision: `device="auto"` picks CUDA, then Apple's
MPS, then the CPU; `amp="auto"` uses bfloat16 autocast on CUDA cards that support it,
float16 with a gradient scaler on the others, and full precision elsewhere.

A device or precision that cannot work is one TrainingError before training, so a search
stops at its first trial instead of failing every one alike. Out-of-memory errors are
told apart from other errors (`is_out_of_memory`): they end one trial, whose batch size
or model was too large, not the search.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from tunelab.torch.errors import TrainingError

AMP_MODES = ("auto", "off", "bf16", "fp16")


def resolve_device(spec: str | torch.device | None) -> torch.device:
    """The device `spec` names, checked to exist: "auto" (or None), "cpu", "cuda",
    "cuda:1", "mps", or a torch.device."""
    if spec is None or (isinstance(spec, str) and spec == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise TrainingError(
            f"device={spec!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise TrainingError(
                f"device={spec!r} asks for CUDA, but this machine has no CUDA device (or "
                "torch is a CPU build); use device='auto' or 'cpu'"
            )
        index = 0 if device.index is None else device.index
        if index >= count:
            raise TrainingError(
                f"device={spec!r} does not exist: this machine has {count} CUDA device(s), "
                f"cuda:0..cuda:{count - 1} (CUDA_VISIBLE_DEVICES renumbers them from 0)"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise TrainingError(f"device={spec!r} is not available here; use device='auto' or 'cpu'")
    if device.type not in ("cpu", "mps"):
        raise TrainingError(
            f"device={spec!r} is not supported; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'"
        )
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@dataclass(frozen=True)
class Precision:
    """Autocast dtype (None: full precision) and whether a gradient scaler guards float16."""

    dtype: torch.dtype | None = None
    scaled: bool = False

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)

    def scaler(self, device: torch.device) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(device.type) if self.scaled else None


def resolve_precision(amp: str | bool | None, device: torch.device) -> Precision:
    """The precision `amp` asks for on `device`; "auto" is mixed precision on CUDA only (on
    the CPU it slows small models down, and MPS autocast is still partial)."""
    mode = amp if isinstance(amp, str) else ("auto" if amp is True else "off")
    if mode not in AMP_MODES:
        raise TrainingError(f"amp must be one of {', '.join(AMP_MODES)}, but got amp={amp!r}")
    cuda = device.type == "cuda"
    if mode == "off" or (mode == "auto" and not cuda):
        return Precision()
    if mode == "auto":
        return Precision(torch.bfloat16) if _bf16_on(device) else Precision(torch.float16, True)
    if mode == "bf16":
        if cuda and not _bf16_on(device):
            raise TrainingError(
                f"amp='bf16' needs a card with bfloat16 support, and {device} has none; "
                "use amp='fp16' or 'auto'"
            )
        return Precision(torch.bfloat16)
    if device.type == "cpu":  # fp16
        raise TrainingError(
            "amp='fp16' needs a GPU, but training runs on the cpu; use amp='off' (or "
            "'bf16', which the CPU supports)"
        )
    return Precision(torch.float16, scaled=cuda)


def _bf16_on(device: torch.device) -> bool:
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported())


class MemoryMeter:
    """Peak memory a trial allocated on its device (CUDA only: the CPU and MPS keep no
    per-process peak that one trial could be told by)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

    def peak_mb(self) -> float | None:
        if self.device.type != "cuda":
            return None
        return torch.cuda.max_memory_allocated(self.device) / 2**20


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` says the device ran out of memory (CUDA's own class, or the
    RuntimeError text MPS and older builds raise)."""
    oom_class = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(error, (oom_class, torch.cuda.OutOfMemoryError)):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def release_memory(device: torch.device) -> None:
    """Give cached blocks back after an out-of-memory error, so the next trial in this
    worker starts from an empty card."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
