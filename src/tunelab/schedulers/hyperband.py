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

adaptive=True (the default since issue 5's measurements; adaptive=False is the plain,
fixed-order Hyperband above) lets the evidence choose the brackets (in the spirit of
Hyper-Tune, Li et al., VLDB 2022). A bracket starting at rung r prunes by the value at r,
which pays only if that value ranks trials as their final value does: with learning-rate
warmup or "late bloomers", early rungs do not. Once MIN_EVIDENCE trials have reached
max_resource, each new trial draws its bracket with probability proportional to
n_b * max(FLOOR, rho_b**2), where rho_b = sin(pi * tau_b / 2) and tau_b is Kendall's tau-b
between the values at bracket b's first rung and at max_resource over those trials
(_trust.py): rho_b**2 is the share of the final value's variation that the rung explains.
The last bracket, which never prunes, keeps n_b. Every bracket keeps a floor, so one judged
badly early still gets trials and is re-judged as evidence grows. The evidence for a
trial is the trials that finished at max_resource no later than it started (stored
timestamps), and its draw is the golden-ratio sequence at its number: every worker computes
the same bracket from the stored history, and nothing new is stored. Until there is enough
evidence, brackets follow the fixed order above. Where early rungs rank as the end does,
the weights stay Hyperband's.

R is the most steps a trial reports (the epochs it trains): brackets whose first rung lies
beyond the trials' last step never prune, and adaptive mode, which waits for trials to
reach R, never starts. Without max_resource, R = 27 is assumed with a warning; `tunelab
run` passes the script's training budget instead.

In a study of several objectives each bracket ranks its trials at a rung as multi-objective
ASHA does (asha.py); adaptive mode trusts a rung as far as its least predictive objective
(_trust.py).

A stored configuration always names `adaptive`; one stored before adaptive became the
default (it lists the other arguments but not `adaptive`) is read as adaptive=False, so a
resumed study keeps pruning as it did.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.schedulers import _rungs, _trust
from tunelab.schedulers.asha import successive_halving
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict, check_int
from tunelab.trial import FrozenTrial

_LEGACY_KEYS = {"min_resource", "max_resource", "reduction_factor", "seed"}
GOLDEN = (math.sqrt(5) - 1) / 2  # u_n = frac((n + seed) * GOLDEN) spreads draws evenly
DEFAULT_MAX_RESOURCE = 27  # assumed, with a warning, when max_resource is not given


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: successive halving that starts at `min_resource`.

    Attributes:
        index: The bracket's number, 0 the most aggressive.
        min_resource: Its first rung.
        n_trials: The trials it takes per Hyperband round.
        rungs: The steps at which its trials are compared.
    """

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


ASSUMED_MAX_RESOURCE = (
    f"hyperband: max_resource not given, so trials are assumed to report "
    f"{DEFAULT_MAX_RESOURCE} steps (epochs); give the steps a trial reports, e.g. "
    "scheduler={'name': 'hyperband', 'max_resource': 10}: with fewer steps, brackets "
    "that start past the last one never prune and adaptive brackets never start"
)


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
    """Hyperband as brackets of ASHA: each trial falls in one bracket (from its number, so
    every worker agrees), and trials compete only within their bracket.

    Args:
        min_resource: The first rung of the most aggressive bracket.
        max_resource: The steps a full trial reports; None assumes 27, with a warning.
        reduction_factor: The share of trials that go on past each rung is 1/`reduction_factor`.
        seed: Shifts which trial numbers fall in which bracket.
        adaptive: Let the evidence weigh the brackets: once enough trials reached
            `max_resource`, brackets whose first rung ranks trials as the end does get more
            trials. False: plain Hyperband's fixed order.
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) checked
            before ranking.
    """

    name = "hyperband"
    multi_objective = True  # its brackets halve as ASHA does, over every objective

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | None = None,
        reduction_factor: int = 3,
        seed: int = 0,
        adaptive: bool = True,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.min_resource = check_int("min_resource", min_resource, 1)
        assumed = max_resource is None
        if max_resource is None:
            max_resource = DEFAULT_MAX_RESOURCE
        self.max_resource = check_int("max_resource", max_resource, 1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        self.seed = check_int("seed", seed, 0)
        if not isinstance(adaptive, bool):
            raise ConfigurationError(
                f"adaptive must be True or False, but got adaptive={adaptive!r}"
            )
        self.adaptive = adaptive
        if self.max_resource < self.min_resource:
            raise ConfigurationError(
                "min_resource <= max_resource must hold, but got "
                f"(min_resource={min_resource}, max_resource={max_resource})"
            )
        if assumed:  # after validation: a refused configuration warns of nothing
            warnings.warn(ASSUMED_MAX_RESOURCE, UserWarning, stacklevel=2)
        self.brackets = make_brackets(self.min_resource, self.max_resource, self.reduction_factor)
        self._order = round_order([b.n_trials for b in self.brackets])
        # adaptive mode: brackets this process has settled (by trial number), and the
        # weights per evidence prefix (its length and last trial id)
        self._settled: dict[int, int] = {}
        self._weights: dict[tuple[int, int], list[float]] = {}

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {  # always names adaptive: see from_json
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
            "seed": self.seed,
            "adaptive": self.adaptive,
        }
        return out

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> HyperbandScheduler:
        """Rebuild from `to_json()` output. A configuration that holds every argument
        `to_json()` wrote before `adaptive` existed (min_resource, max_resource,
        reduction_factor, seed) but not `adaptive` was stored when plain Hyperband was the
        default: it stays plain. A hand-written one such as {"name": "hyperband",
        "max_resource": 9} gets today's default."""
        stored = dict(config)
        if "adaptive" not in stored and set(stored) >= _LEGACY_KEYS:
            stored["adaptive"] = False
        out = super().from_json(stored)
        if not isinstance(out, HyperbandScheduler):  # pragma: no cover - super builds cls
            raise TypeError(f"expected a HyperbandScheduler, got {type(out).__name__}")
        return out

    def bracket_of(self, trial_number: int) -> int:
        """The bracket in the fixed order (adaptive mode: before there is evidence)."""
        return self._order[(trial_number + self.seed) % len(self._order)]

    def trial_attrs(self, trial_number: int) -> dict[str, Any]:
        if not self.adaptive:
            return {"bracket": self.bracket_of(trial_number)}
        b = self._settled.get(trial_number)
        return {} if b is None else {"bracket": b}

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return any(
            _rungs.rung_reached(b.rungs, step, previous_step) is not None for b in self.brackets
        )

    def rank_decision(self, request: PruneRequest) -> Verdict:
        if self.adaptive:
            of = self._adaptive_brackets(request)
            b = of(request.trial)
        else:
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
            peer=(lambda t: of(t) == b)
            if self.adaptive
            else lambda t: self.bracket_of(t.number) == b,
        )

    # -- adaptive bracket selection ----------------------------------------------------------
    def _adaptive_brackets(self, request: PruneRequest) -> Callable[[FrozenTrial], int]:
        """trial -> bracket for this decision's history (see the module docstring)."""
        evidence = sorted(
            (
                t
                for t in request.history
                if t.datetime_complete is not None
                and t.reports
                and _rungs.resource_of(t.reports[-1].step) >= self.max_resource
            ),
            key=lambda t: (t.datetime_complete, t.trial_id),
        )
        done_at = [float(t.datetime_complete) for t in evidence]  # type: ignore[arg-type]
        started = {t.trial_id: t.datetime_start for t in request.history}

        def of(trial: FrozenTrial) -> int:
            settled = self._settled.get(trial.number)
            if settled is not None:
                return settled
            stored = trial.system_attrs.get("bracket")
            if isinstance(stored, int) and 0 <= stored < len(self.brackets):
                self._settled[trial.number] = stored
                return stored
            start = trial.datetime_start or started.get(trial.trial_id)
            if start is None:  # not in this history yet: the fixed order, not settled
                return self.bracket_of(trial.number)
            k = bisect.bisect_right(done_at, start)
            if k < _trust.MIN_EVIDENCE:
                b = self.bracket_of(trial.number)
            else:
                weights = self._weights_for(evidence[:k], request)
                u = ((trial.number + self.seed) * GOLDEN) % 1.0
                b = _trust.pick(weights, u)
            self._settled[trial.number] = b
            return b

        return of

    def _weights_for(self, evidence: list[FrozenTrial], request: PruneRequest) -> list[float]:
        key = (len(evidence), evidence[-1].trial_id)
        weights = self._weights.get(key)
        if weights is None:
            starts = [b.min_resource for b in self.brackets]
            if request.multi_objective:
                trust = _trust.rung_trust_objectives(
                    evidence, request.objectives, starts, self.max_resource
                )
            else:
                trust = _trust.rung_trust(evidence, request.metric, starts, self.max_resource)
            weights = _trust.bracket_weights([b.n_trials for b in self.brackets], trust)
            self._weights[key] = weights
        return weights
