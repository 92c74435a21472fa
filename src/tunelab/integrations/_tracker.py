"""What the three trackers share: a finished trial put in the shape trackers log, a
destination checked before any trial runs, and the rule for a tracker that fails.

The rule: `optimize` stores a trial before it calls the callbacks, so a tracker that
cannot record a trial (a server down, a full disk) loses nothing of the study. It says so
once, in a warning naming the tracker and the first trial it missed, and the study goes
on; later misses are logged at debug level. A destination that can never be written is
refused earlier, when the callback is made, before any trial runs."""

from __future__ import annotations

import abc
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigurationError, first_line
from tunelab.trial import FrozenTrial

if TYPE_CHECKING:
    from tunelab import Study

log = logging.getLogger("tunelab")

REASON_MAX = 5000  # characters of a trial's reason kept in a tag (MLflow keeps 8000)


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as a tracker logs it.

    `history` holds the trial's reports in step order: (step, seconds since the epoch,
    numeric metrics). `final` holds the numbers the objective returned and the study's
    objective values; trackers log them at `final_step` (the last reported step, else 0),
    after the reports, so a tracker's "latest value" of a metric is the trial's result.
    `tags` says what the study knows of the trial: study, number, state, end cause, reason
    and the user attributes, all as text."""

    run_name: str
    params: Mapping[str, Any]
    history: tuple[tuple[int, float, dict[str, float]], ...]
    final: Mapping[str, float]
    final_step: int
    tags: Mapping[str, str]
    start: float | None
    end: float | None


def trial_record(study: Study, trial: FrozenTrial) -> TrialRecord:
    """The facts every tracker logs of `trial`, a finished trial of `study`."""
    reports = sorted(trial.reports, key=lambda r: r.step)
    history = tuple((r.step, r.time, _numbers(r.metrics)) for r in reports)
    final = _numbers(trial.metrics)
    for name, value in zip(study.metrics, trial.values or (), strict=False):
        if _is_number(value):
            final[name] = float(value)
    tags = {
        "tunelab.study": study.name,
        "tunelab.trial": str(trial.number),
        "tunelab.state": trial.state.value,
    }
    if trial.end_cause is not None:
        tags["tunelab.end_cause"] = trial.end_cause.value
    if trial.reason:
        tags["tunelab.reason"] = trial.reason[:REASON_MAX]
    if trial.retry_of is not None:
        tags["tunelab.retry_of"] = str(trial.retry_of)
    for key, value in trial.user_attrs.items():
        tags[f"user.{key}"] = value if isinstance(value, str) else json.dumps(value, default=str)
    return TrialRecord(
        run_name=f"trial-{trial.number}",
        params=dict(trial.params),
        history=history,
        final=final,
        final_step=reports[-1].step if reports else 0,
        tags=tags,
        start=trial.datetime_start,
        end=trial.datetime_complete,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a metrics mapping (an objective may return text too)."""
    return {k: float(v) for k, v in metrics.items() if _is_number(v)}


def safe_name(name: str) -> str:
    """`name` (a study's) as one path component: no separators, nothing a shell trips on."""
    cleaned = re.sub(r"[^\w.=-]+", "_", name).strip("._")
    return cleaned or "study"


def writable_dir(path: str | os.PathLike[str], *, user: str, option: str) -> Path:
    """`path` as a directory this process can write, made if missing; else one clear
    line naming the tracker, the path, the cause and the option to change."""
    target = Path(path).expanduser()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        cause = error.strerror or first_line(error)
        raise ConfigurationError(
            f"{user} cannot create its directory {target} ({cause}); "
            f"give {option}= a directory you can write"
        ) from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"{user} cannot write to its directory {target} (permission denied); "
            f"give {option}= a directory you can write"
        )
    return target


class Tracker(abc.ABC):
    """A `callbacks=` entry for `Study.optimize` that records each finished trial in an
    experiment tracker. A failure to record is reported once and the study goes on (see
    the module's docstring)."""

    def __init__(self) -> None:
        self._missed = 0

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        try:
            self.record(study, trial)
        except Exception as error:  # the trial is stored already: the study goes on
            self._missed += 1
            if self._missed == 1:
                log.warning(
                    "%s could not record trial %d: %s; the study goes on (later misses "
                    "are logged at debug level)",
                    type(self).__name__,
                    trial.number,
                    first_line(error),
                )
            else:
                log.debug(
                    "%s could not record trial %d: %s", type(self).__name__, trial.number, error
                )

    @property
    def missed(self) -> int:
        """How many trials this tracker failed to record in this process."""
        return self._missed

    @abc.abstractmethod
    def record(self, study: Study, trial: FrozenTrial) -> None:
        """Log one finished trial; any exception counts as a miss."""
