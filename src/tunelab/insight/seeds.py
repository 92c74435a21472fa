"""How much the best results owe to the seed: re-run the top configurations with other
seeds and report mean ± spread, so a lucky seed is not mistaken for a better configuration.

The re-runs go into a sibling study `<name>/seeds` in the same storage (same metric and
direction): each configuration is enqueued `seeds` times, and every trial gets its own
seed (trial seeds derive from the study name and trial number). Rerunning tops up what is
missing, so an interrupted call resumes. The original trial's value is reported apart
from the re-runs, since it was picked for being best (its seed may be the lucky one)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.insight._common import DASH, InsightError, finished_trials
from tunelab.insight.display import seeds_html
from tunelab.study import Study, create_study
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

SUFFIX = "/seeds"


@dataclass(frozen=True)
class SeedSpread:
    """How one top configuration scores when re-run with other seeds, as `seed_spread` returns it.

    Attributes:
        number: The original trial's number.
        params: Its hyperparameter values.
        original: The original trial's value.
        values: The completed re-runs' values.
        mean: Their mean; None when none completed.
        std: Their sample standard deviation; None below two re-runs.
        low: The lowest re-run value.
        high: The highest re-run value.
        failed: Re-runs that did not complete.
        study: The sibling study holding the re-runs.
    """

    number: int  # the original trial
    params: dict[str, Any]
    original: float | None  # the original trial's value
    values: list[float]  # the re-runs' values (complete ones)
    mean: float | None
    std: float | None  # sample standard deviation of the re-runs (None below 2)
    low: float | None
    high: float | None
    failed: int = 0  # re-runs that did not complete
    study: str = ""  # the sibling study holding the re-runs

    def to_dict(self) -> dict[str, Any]:
        """The spread as a dict of JSON values."""
        return asdict(self)

    def _repr_html_(self) -> str:
        return seeds_html([self])

    @property
    def text(self) -> str:
        """The spread in one line, e.g. `trial #12: 0.971 ± 0.004 over 3 seeds (range ...)`."""
        if self.mean is None:
            return f"trial #{self.number}: no re-run completed ({self.failed} failed)"
        spread = f" ± {self.std:.3g}" if self.std is not None else ""
        return (
            f"trial #{self.number}: {self.mean:.4g}{spread} over {len(self.values)} seeds "
            f"(range {self.low:.4g}{DASH}{self.high:.4g}; original run {self.original:.4g})"
            if self.original is not None and self.low is not None and self.high is not None
            else f"trial #{self.number}: {self.mean:.4g}{spread} over {len(self.values)} seeds"
        )


def seed_spread(
    study: Study,
    objective: Callable[[Trial], Any],
    top_k: int = 3,
    seeds: int = 3,
    *,
    n_jobs: int = 1,
) -> list[SeedSpread]:
    """Re-run the `top_k` best configurations `seeds` times each and summarise them,
    best mean first."""
    for label, value in (("top_k", top_k), ("seeds", seeds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{label} must be a positive int, but got {label}={value!r}")
    if study.multi_objective:
        raise ConfigurationError(
            f"seed_spread re-runs configurations by one metric, but study {study.name!r} has "
            f"several objectives {list(study.metrics)}; re-run a front trial's params with "
            "study.enqueue(trial.params) instead"
        )
    finished_trials(study)
    top = study.top_trials(top_k)
    if not top:
        raise InsightError(
            f"study {study.name!r} has no complete trial to re-run; run some trials first"
        )
    sibling = create_study(
        study.name + SUFFIX,
        storage=study.storage,
        metric=study.metric,
        direction=study.direction,
        sampler="random",
    )
    existing = sibling.trials
    queued = 0
    for trial in top:
        have = sum(_matches(t, trial.params) for t in existing if _counts(t))
        for _ in range(max(seeds - have, 0)):
            sibling.enqueue(dict(trial.params))
            queued += 1
    waiting = sum(t.state is TrialState.WAITING for t in existing)  # queued by a cut-off run
    if queued + waiting:
        sibling.optimize(objective, n_trials=queued + waiting, n_jobs=n_jobs, add=True)
    reruns = sibling.trials
    out = [_summary(trial, reruns, seeds, sibling.name) for trial in top]
    reverse = study.direction.value == "maximize"
    return sorted(
        out,
        key=lambda s: (s.mean is None, -(s.mean or 0.0) if reverse else (s.mean or 0.0)),
    )


def _counts(t: FrozenTrial) -> bool:
    return t.state is not TrialState.FAIL or t.counts_toward_budget


def _matches(t: FrozenTrial, params: Mapping[str, Any]) -> bool:
    source = t.enqueued or t.params
    return all(repr(source.get(k)) == repr(v) for k, v in params.items())


def _summary(trial: FrozenTrial, reruns: list[FrozenTrial], seeds: int, name: str) -> SeedSpread:
    mine = [t for t in reruns if _matches(t, trial.params) and _counts(t)][:seeds]
    values = [
        float(t.value) for t in mine if t.state is TrialState.COMPLETE and t.value is not None
    ]
    return SeedSpread(
        number=trial.number,
        params=dict(trial.params),
        original=trial.value,
        values=values,
        mean=statistics.fmean(values) if values else None,
        std=statistics.stdev(values) if len(values) >= 2 else None,
        low=min(values) if values else None,
        high=max(values) if values else None,
        failed=sum(t.state.is_finished and t.state is not TrialState.COMPLETE for t in mine),
        study=name,
    )
