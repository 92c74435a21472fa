"""The sampler contract.

A sampler sees the search space, a read-only history of frozen trials and the
values already chosen in the current trial; it returns a value. It never
touches storage. Its configuration (and any state) is JSON.
"""

from __future__ import annotations

import enum
import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.objectives import Objective
from tunelab.space import Condition, Param, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction


class Admission(enum.Enum):
    """May a new trial start now?"""

    START = "START"
    WAIT = "WAIT"  # every free choice is held by running trials; ask again shortly
    EXHAUSTED = "EXHAUSTED"  # nothing is left to try


class Wait(Exception):
    """Raised by `sample` when every free value is held by running trials."""


@dataclass(frozen=True)
class SampleRequest:
    """Everything a sampler may look at to choose one value."""

    trial_number: int
    param: Param
    conditions: tuple[Condition, ...]
    chosen: Mapping[str, Any]
    space: SearchSpace
    history: Sequence[FrozenTrial] = field(default_factory=tuple)
    direction: Direction = Direction.MINIMIZE  # how to rank trials' values
    metric: str | None = None  # the study's metric, as trials report it at each step
    objectives: tuple[Objective, ...] = ()  # every objective; metric/direction: the first


class Sampler(ABC):
    """Chooses hyperparameter values. Subclasses set `name` and implement `sample`."""

    name: ClassVar[str] = ""
    needs_history: ClassVar[bool] = False
    needs_lock: ClassVar[bool] = False  # decisions must be atomic across workers
    # Whether it can serve a study of several objectives (one that ignores values can).
    multi_objective: ClassVar[bool] = False
    # Whether it reads FrozenTrial.feasible itself; if not, the study shows it an
    # infeasible trial as a FAIL one, a region to avoid (study/front.py).
    reads_feasibility: ClassVar[bool] = False

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = int(np.random.default_rng().integers(2**63))  # fresh OS entropy
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigurationError(f"seed must be a non-negative int, but got seed={seed!r}")
        self.seed = int(seed)

    @abstractmethod
    def sample(self, request: SampleRequest) -> Any:
        """Return a value inside `request.param`'s domain (or raise Wait)."""

    def admit(self, space: SearchSpace, history: Sequence[FrozenTrial]) -> Admission:
        """Whether a new trial may start now, given the space and the history (START by
        default; a grid says WAIT or EXHAUSTED when nothing is free).
        """
        return Admission.START

    def rng(self, trial_number: int, name: str) -> np.random.Generator:
        """A generator that depends only on (seed, trial, parameter name): reproducible
        whatever order the code asks its parameters in, and whatever other workers do."""
        return np.random.default_rng([self.seed, trial_number, zlib.crc32(name.encode())])

    def to_json(self) -> dict[str, Any]:
        """The sampler's name and settings as JSON, stored with the study (read back with `from_json`)."""
        return {"name": self.name, "seed": self.seed}

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> Sampler:
        """Rebuild from `to_json()` output; samplers with settings override this."""
        return cls(seed=config.get("seed"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
