"""GPU slots: which devices each trial process sees.

`optimize(gpus=…, trials_per_gpu=m)` and `tunelab run|worker --gpus … --trials-per-gpu m`
give every concurrent trial a process of its own whose CUDA_VISIBLE_DEVICES names its
device(s), set in the child before the objective runs, so torch there sees them as
`cuda:0` (…). m trials may share one device: small models leave most of a GPU idle.

Indices count the GPUs this process sees: where CUDA_VISIBLE_DEVICES is already set (a
cluster scheduler's allocation), index 0 is the first device it names, not the
machine's device 0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.errors import ConfigurationError, ConfigurationTypeError


@dataclass(frozen=True)
class Spelling:
    """How the caller spells the arguments, so each message names what its user typed."""

    gpus: str
    per_gpu: str
    jobs: str
    example: str  # two devices, one trial process each
    group: str  # one trial process that sees two devices

    def assigned(self, name: str, value: Any) -> str:
        return f"{name} {value}" if name.startswith("--") else f"{name}={value!r}"


PYTHON = Spelling("gpus", "trials_per_gpu", "n_jobs", "gpus=[0, 1]", "gpus=['0,1']")
CLI = Spelling("--gpus", "--trials-per-gpu", "--jobs", "--gpus 0,1", "--gpus 0+1")


def cli_gpus(text: str) -> list[str]:
    """`--gpus` text as `gpus` entries: '0,1' two devices, '0+1,2+3' two groups of two."""
    return [part.strip().replace("+", ",") for part in text.split(",")]


def worker_slots(
    n_jobs: Any,
    gpus: Any = None,
    trials_per_gpu: Any = None,
    spelling: Spelling = PYTHON,
    shown: str | None = None,
) -> tuple[int, tuple[str, ...]]:
    """How many trials run at once, and with `gpus` the CUDA_VISIBLE_DEVICES value of each.

    Without `gpus`, `n_jobs` (None: 1; -1: every core). With `gpus`, each entry (an index,
    or a group such as '0,1' that one trial sees whole) `trials_per_gpu` times, device by
    device (0, 1, 0, 1: a study with fewer trials than slots still spreads them); `n_jobs`
    then follows, and one given must match. `shown` is `gpus` as the user wrote it."""
    if gpus is None:
        if trials_per_gpu is not None:
            raise ConfigurationError(
                f"{spelling.per_gpu} goes with {spelling.gpus}: name the devices too, "
                f"e.g. {spelling.example}"
            )
        jobs = 1 if n_jobs is None else n_jobs
        if jobs == -1:
            jobs = os.cpu_count() or 1
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ConfigurationError(
                f"{spelling.jobs} must be a positive int or -1 (all cores), got {n_jobs!r}"
            )
        return jobs, ()
    shown = shown if shown is not None else spelling.assigned(spelling.gpus, gpus)
    groups = _groups(gpus, spelling, shown)
    per = 1 if trials_per_gpu is None else trials_per_gpu
    if isinstance(per, bool) or not isinstance(per, int) or per < 1:
        raise ConfigurationError(
            f"{spelling.per_gpu} must be a positive int (trials sharing one GPU), "
            f"got {trials_per_gpu!r}"
        )
    if n_jobs is not None and n_jobs != len(groups) * per:
        raise ConfigurationError(
            f"{spelling.assigned(spelling.jobs, n_jobs)} does not match {shown} with "
            f"{spelling.assigned(spelling.per_gpu, per)} ({len(groups) * per} trials at a "
            f"time); leave {spelling.jobs} out (it follows the GPUs), or set "
            f"{spelling.per_gpu} to the trials each GPU runs at once"
        )
    slots = tuple(group for _ in range(per) for group in _visible(groups, spelling))
    return len(slots), slots


def _groups(gpus: Any, spelling: Spelling, shown: str) -> list[tuple[int, ...]]:
    """The device indices of each entry of `gpus`; each device once in all."""
    if isinstance(gpus, (str, int)) or not isinstance(gpus, Sequence):
        raise ConfigurationTypeError(
            f"{spelling.gpus} must be a list of GPU indices, e.g. {spelling.example} (one "
            f"trial process each) or {spelling.group} (one that sees both), got {gpus!r}"
        )
    if not gpus or all(isinstance(g, str) and not g.strip() for g in gpus):
        raise ConfigurationError(
            f"{shown} names no GPU; give device indices, e.g. {spelling.example}, "
            f"or leave {spelling.gpus} out to run without assigning devices"
        )
    groups = []
    for entry in gpus:
        parts = str(entry).split(",") if isinstance(entry, str) else [entry]
        if isinstance(entry, bool) or not all(_index(p) is not None for p in parts):
            raise ConfigurationError(
                f"{shown}: {entry!r} is not a GPU index; give indices such as "
                f"{spelling.example}, or {spelling.group} for one trial that sees both"
            )
        groups.append(tuple(int(str(p).strip()) for p in parts))
    seen: set[int] = set()
    for device in (d for group in groups for d in group):
        if device in seen:
            raise ConfigurationError(
                f"GPU {device} is listed twice in {shown}; list each device once and "
                f"set {spelling.assigned(spelling.per_gpu, 2)} to run 2 trials on each"
            )
        seen.add(device)
    return groups


def _index(part: Any) -> int | None:
    if isinstance(part, int) and not isinstance(part, bool):
        return part if part >= 0 else None
    text = str(part).strip()
    return int(text) if text.isdigit() and text.isascii() else None


def _visible(groups: list[tuple[int, ...]], spelling: Spelling) -> list[str]:
    """Each group as the CUDA_VISIBLE_DEVICES value of its trial process: the indices
    themselves, or what they name in this process's own CUDA_VISIBLE_DEVICES."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    if inherited is None:
        return [",".join(str(d) for d in group) for group in groups]
    own = [d.strip() for d in inherited.split(",") if d.strip()]
    top = max(d for group in groups for d in group)
    if top >= len(own):
        raise ConfigurationError(
            f"{spelling.gpus} names GPU {top}, but this process sees only "
            f"CUDA_VISIBLE_DEVICES={inherited!r} ({len(own)} device(s), indices from 0); "
            "count indices among those devices, or unset CUDA_VISIBLE_DEVICES"
        )
    return [",".join(own[d] for d in group) for group in groups]


BAD_FORK = (
    "CUDA was initialised in the process that starts the trial processes (a "
    "torch.cuda call at import time, torch.cuda.is_available() included), so they cannot "
    "use it; move CUDA calls into the objective, or set PYTORCH_NVML_BASED_CUDA_CHECK=1 "
    "for is_available()"
)


def check_cuda_fork() -> None:
    """In a forked trial process: refuse at once, not trial by trial, when torch cannot
    initialise CUDA here because the parent already did."""
    torch = sys.modules.get("torch")
    in_bad_fork = getattr(getattr(torch, "cuda", None), "_is_in_bad_fork", None)
    if callable(in_bad_fork) and in_bad_fork():
        raise ConfigurationError(BAD_FORK)
