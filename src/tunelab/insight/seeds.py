"""How much the best results owe to the seed, as a table: re-run the top distinct
configurations with other seeds and report each one's mean, standard deviation and range
(the re-runs and their bookkeeping are tunelab.study.confirm's; the verdict on the top two
is confirm.py's). Trials that share a configuration are one row. The original trial's
value is reported apart from the re-runs, since it was picked for being best."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tunelab.insight._common import DASH, InsightError, finished_trials
from tunelab.insight.confirm import ConfirmedConfig, confirm
from tunelab.insight.display import seeds_html
from tunelab.study import Study
from tunelab.study.confirm import SUFFIX, check_request
from tunelab.trial import Trial

__all__ = ["SUFFIX", "SeedSpread", "seed_spread"]


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
    half_width: float | None = None  # of the 95% t-interval of the mean
    same_as: list[int] = field(default_factory=list)  # other trials with these params

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
    """Re-run the `top_k` best distinct configurations `seeds` times each and summarise
    them, best mean first (`confirm` adds the verdict on the top two)."""
    check_request(study, top_k, seeds)
    finished_trials(study)  # the clear error for an empty or all-failed study
    if not study.top_trials(1):
        raise InsightError(
            f"study {study.name!r} has no complete trial to re-run; run some trials first"
        )
    found = confirm(study, objective, top_k, seeds, n_jobs=n_jobs)
    return [_spread(c, found.reruns) for c in found.configs]


def _spread(c: ConfirmedConfig, name: str) -> SeedSpread:
    iv = c.interval
    return SeedSpread(
        number=c.trials[0],
        params=dict(c.params),
        original=c.original,
        values=list(c.values),
        mean=None if iv is None else iv.mean,
        std=None if iv is None else iv.std,
        low=min(c.values) if c.values else None,
        high=max(c.values) if c.values else None,
        failed=c.failed,
        study=name,
        half_width=None if iv is None else iv.half_width,
        same_as=list(c.trials[1:]),
    )
