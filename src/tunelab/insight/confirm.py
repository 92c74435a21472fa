"""Is the best configuration better, or was its seed lucky? Read a study's confirmation
re-runs (tunelab.study.confirm runs them) and state each configuration's mean ± spread and
whether the best beats the runner-up beyond seed noise.

The spread is the half-width of the 95% Student t-interval of the mean over the re-runs
(noise.py); the comparison is Welch's t-test at the 5% level. The original trial's value
is shown apart and never averaged in: it was picked for being best, so its seed may be the
lucky one (counting it would bias the mean upward)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.errors import StudyNotFoundError
from tunelab.insight.display import confirmation_html
from tunelab.insight.noise import ALPHA, LEVEL, Interval, spread_text, t_interval, welch_p
from tunelab.study import Study, load_study
from tunelab.study.confirm import SETTING as CONFIRM_SETTING
from tunelab.study.confirm import Config, confirm_runs, runs_of
from tunelab.trial import Trial
from tunelab.types import Direction, TrialState


@dataclass(frozen=True)
class ConfirmedConfig:
    """One configuration's re-runs: `trials` are the study's trials that used it (the
    best first), `original` the best of their values."""

    trials: tuple[int, ...]
    params: dict[str, Any]
    original: float | None
    values: list[float]  # the complete re-runs' values
    interval: Interval | None  # None before any re-run completed
    failed: int = 0  # re-runs that ended without a value
    pending: int = 0  # re-runs still queued or running

    @property
    def label(self) -> str:
        """The configuration's name in tables: its best trial, e.g. `#12`."""
        return f"#{self.trials[0]}"

    @property
    def mean(self) -> float | None:
        """The mean over the complete re-runs; None before one completed."""
        return None if self.interval is None else self.interval.mean

    @property
    def text(self) -> str:
        """One line, e.g. `#12 0.9713 ± 0.0042 (3 seeds)`."""
        return f"{self.label} {spread_text(self.interval)}"

    def to_dict(self) -> dict[str, Any]:
        """The configuration's re-runs as a dict of JSON values."""
        iv = self.interval
        return {
            "trials": list(self.trials),
            "params": self.params,
            "original": self.original,
            "values": self.values,
            "mean": None if iv is None else iv.mean,
            "half_width": None if iv is None else iv.half_width,
            "std": None if iv is None else iv.std,
            "failed": self.failed,
            "pending": self.pending,
        }


@dataclass(frozen=True)
class Confirmation:
    """A study's confirmed configurations, best mean first, and the verdict on the top
    two."""

    study: str
    reruns: str  # the sibling study holding the re-runs
    metric: str
    direction: Direction
    seeds: int
    configs: list[ConfirmedConfig]
    verdict: str
    p_value: float | None  # Welch's p for the top two; None when they cannot be compared
    told_apart: bool | None
    level: float = LEVEL

    def _repr_html_(self) -> str:
        return confirmation_html(self)

    def to_dict(self) -> dict[str, Any]:
        """The confirmation as a dict of JSON values (`tunelab show --json`)."""
        return {
            "study": self.study,
            "reruns": self.reruns,
            "metric": self.metric,
            "direction": self.direction.value,
            "seeds": self.seeds,
            "level": self.level,
            "configs": [c.to_dict() for c in self.configs],
            "verdict": self.verdict,
            "p_value": self.p_value,
            "told_apart": self.told_apart,
        }


def confirm(
    study: Study,
    objective: Callable[[Trial], Any],
    top: int = 5,
    seeds: int = 3,
    *,
    n_jobs: int = 1,
) -> Confirmation:
    """Re-run the `top` best distinct configurations with `seeds` new seeds each (only
    those missing) and summarise them."""
    confirm_runs(study, objective, top, seeds, n_jobs=n_jobs)
    found = confirmation(study)
    if found is None:  # the setting was just written: only a concurrent delete gets here
        raise StudyNotFoundError(f"the re-runs of study {study.name!r} are gone")
    return found


def confirmation(study: Study) -> Confirmation | None:
    """The study's recorded confirmation, read from its re-runs; None when there is
    none (or the record is not one tunelab wrote: the setting is database text)."""
    if study.multi_objective:
        return None
    record = study.storage.get_study(study.name)
    stored = _stored(record.settings.get(CONFIRM_SETTING) if record is not None else None)
    if stored is None:
        return None
    name, seeds, configs = stored
    try:
        reruns = load_study(name, study.storage).trials
    except StudyNotFoundError:
        reruns = []
    values = {t.number: t.value for t in study.get_trials([TrialState.COMPLETE])}
    rows = [_row(c, reruns, seeds, values) for c in configs]
    maximize = study.direction is Direction.MAXIMIZE
    rows.sort(key=lambda r: (r.mean is None, -(r.mean or 0.0) if maximize else (r.mean or 0.0)))
    verdict, p, apart = _verdict(rows, study)
    return Confirmation(
        study.name, name, study.metric, study.direction, seeds, rows, verdict, p, apart
    )


def confirmation_stamp(study: Study) -> str:
    """Changes whenever the study's re-runs move on ("" without re-runs): what a cached
    view of the study adds to its own fingerprint."""
    record = study.storage.get_study(study.name)
    stored = _stored(record.settings.get(CONFIRM_SETTING) if record is not None else None)
    if stored is None:
        return ""
    try:
        reruns = load_study(stored[0], study.storage).trials
    except StudyNotFoundError:
        reruns = []
    return json.dumps([stored[1], len(stored[2])] + [[t.state.value, t.value] for t in reruns])


def _stored(value: Any) -> tuple[str, int, list[Config]] | None:
    if not isinstance(value, Mapping):
        return None
    name, seeds, configs = value.get("study"), value.get("seeds"), value.get("configs")
    if not isinstance(name, str) or not isinstance(seeds, int) or not isinstance(configs, list):
        return None
    out = []
    for c in configs:
        if not isinstance(c, Mapping):
            return None
        params, trials = c.get("params"), c.get("trials")
        if not isinstance(params, dict) or not isinstance(trials, list) or not trials:
            return None
        if not all(isinstance(n, int) for n in trials):
            return None
        out.append(Config(dict(params), tuple(trials)))
    return name, seeds, out


def _row(
    config: Config, reruns: list[Any], seeds: int, values: Mapping[int, Any]
) -> ConfirmedConfig:
    mine = runs_of(config, reruns)[:seeds]
    done = [float(t.value) for t in mine if t.state is TrialState.COMPLETE and t.value is not None]
    queued = sum(
        t.state in (TrialState.WAITING, TrialState.RUNNING, TrialState.PAUSED) for t in mine
    )
    return ConfirmedConfig(
        trials=config.trials,
        params=config.params,
        original=values.get(config.trials[0]),
        values=done,
        interval=t_interval(done) if done else None,
        failed=len(mine) - len(done) - queued,
        pending=queued + max(seeds - len(mine), 0),
    )


def _verdict(rows: list[ConfirmedConfig], study: Study) -> tuple[str, float | None, bool | None]:
    measured = [r for r in rows if r.interval is not None]
    if not measured:
        return "no re-run has completed yet", None, None
    best = measured[0]
    if len(measured) == 1:
        return f"only {best.label} has re-runs: {spread_text(best.interval)}", None, None
    second = measured[1]
    both = f"{spread_text(best.interval)} vs {spread_text(second.interval)}"
    p = welch_p(best.values, second.values)
    if p is None:
        text = f"{best.label} and {second.label} need at least 2 seeds each to be compared: {both}"
        return text, None, None
    apart = p < ALPHA
    if apart:
        text = f"{best.label} beats {second.label} beyond seed noise: {both} (Welch p = {p:.2g})"
    else:
        text = f"{best.label} and {second.label} cannot be told apart: {both} (Welch p = {p:.2g})"
    leader = rows[0].trials if rows else ()
    first = study.top_trials(1)
    if first and leader and first[0].number not in leader:
        text += f"; the study's best trial #{first[0].number} is not the best on re-runs"
    return text, p, apart
