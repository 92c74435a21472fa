"""Hyperband (Li et al., JMLR 2018) as brackets of ASHA.

With R = max_resource, r = min_resource and eta = reduction_factor, s_max =
floor(log_eta(R / r)). Bracket b (0..s_max) is successive halving with minimum
resource r * eta**b; it performs s = s_max - b halvings and, per Hyperband round,
takes n_b = ceil((s_max + 1) / (s + 1) * eta**s) trials, so every bracket gets about
the same budget and bracket 0 (the most aggressive) gets the most trials.

A trial's bracket follows from its number alone (a fixed, evenly interleaved order of
one round, shifted by `seed`), so every worker process agrees without coordination,
nothing is added to the user's hyperparameters, and each round of sum(n_b) trials
holds exactly n_b trials of bracket b. Trials compete only within their bracket. The
bracket is recorded on each trial as the system attribute "bracket".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tunelab.schedulers import _rungs
from tunelab.schedulers.asha import successive_halving
from tunelab.schedulers.base import GO_ON, PruneRequest, Scheduler, Verdict, check_int


@dataclass(frozen=True)
class Bracket:
    index: int
    min_resource: int
    n_trials: int  # per Hyperband round
    rungs: tuple[int, ...]

    def budget(self, max_resource: int, reduction_factor: int) -> int:
        """Resource one round of this bracket spends in the paper's accounting (each rung
        trains its n_i = floor(n * eta**-i) survivors for r_i units): sum of n_i * r_i.
        Hyperband sizes brackets so that each spends at most (s_max + 1) * R."""
        total, n = 0, self.n_trials
        for r in (*self.rungs, max_resource):
            total += n * r
            n = n // reduction_factor
        return total


def make_brackets(min_resource: int, max_resource: int, reduction_factor: int) -> list[Bracket]:
    s_max = 0
    while min_resource * reduction_factor ** (s_max + 1) <= max_resource:
        s_max += 1
    out = []
    for b in range(s_max + 1):
        s = s_max - b
        low = min_resource * reduction_factor**b
        n = math.ceil((s_max + 1) / (s + 1) * reduction_factor**s)
        rungs = _rungs.rung_resources(low, reduction_factor, max_resource)
        out.append(Bracket(b, low, n, tuple(rungs)))
    return out


def round_order(counts: list[int]) -> list[int]:
    """One round's bracket sequence: bracket b appears counts[b] times, spread evenly
    (slot j of bracket b sits at (j + 0.5) / counts[b] of the way through the round)."""
    slots = [((j + 0.5) / n, b) for b, n in enumerate(counts) for j in range(n)]
    return [b for _, b in sorted(slots)]


class HyperbandScheduler(Scheduler):
    name = "hyperband"

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int = 27,
        reduction_factor: int = 3,
        seed: int = 0,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.max_resource = check_int("max_resource", max_resource, 1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        self.seed = check_int("seed", seed, 0)
        if self.max_resource < self.min_resource:
            raise ValueError(
                "min_resource <= max_resource must hold, but got "
                f"(min_resource={min_resource}, max_resource={max_resource})"
            )
        self.brackets = make_brackets(self.min_resource, self.max_resource, self.reduction_factor)
        self._order = round_order([b.n_trials for b in self.brackets])

    def config(self) -> dict[str, Any]:
        return {
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "seed": self.seed,
        }

    def bracket_of(self, trial_number: int) -> int:
        return self._order[(trial_number + self.seed) % len(self._order)]

    def trial_attrs(self, trial_number: int) -> dict[str, Any]:
        return {"bracket": self.bracket_of(trial_number)}

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return any(
            _rungs.rung_reached(b.rungs, step, previous_step) is not None for b in self.brackets
        )

    def rank_decision(self, request: PruneRequest) -> Verdict:
        b = self.bracket_of(request.trial.number)
        if not self.brackets[b].rungs:
            return GO_ON
        return successive_halving(
            request,
            self.brackets[b].rungs,
            self.reduction_factor,
            self.name,
            {"bracket": b},
            label=f"{self.name} bracket {b}",
            peer=lambda t: self.bracket_of(t.number) == b,
        )
