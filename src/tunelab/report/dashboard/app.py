"""What the dashboard serves, independent of HTTP: the list of studies and each study's
sections as JSON, rebuilt only when the study changed.

Reads only. A study's sections are cached under a fingerprint of its trials (state,
value, number of reports, shown as lost), so a page polling every two seconds costs one
read of the trials while nothing happens, and the analysis reruns only when a trial moved
on or its worker was found gone."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import tunelab
from tunelab.errors import TunelabError
from tunelab.insight.confirm import confirmation_stamp
from tunelab.report.dashboard.views import extra_sections, trial_sections
from tunelab.report.lost import lost_trials
from tunelab.report.markup import finite
from tunelab.report.section import Section
from tunelab.report.sections import build_sections, counts
from tunelab.storage import BaseStorage
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


class TrialNotFoundError(TunelabError):
    """The dashboard was asked for a trial number its study does not hold."""


def with_extras(sections: list[Section], extras: list[Section]) -> list[Section]:
    """The report's sections with the dashboard's own plots after the history (or the
    Pareto front), before the learning curves."""
    ids = [s.id for s in sections]
    at = next((ids.index(i) + 1 for i in ("history", "pareto", "front") if i in ids), 1)
    return [*sections[:at], *extras, *sections[at:]]


def fingerprint(
    trials: list[FrozenTrial], lost: frozenset[int] = frozenset(), extra: str = ""
) -> str:
    """Changes whenever a trial starts, reports, finishes, is deleted or is found lost
    (or `extra` changes: the seed re-runs' progress)."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(extra.encode())
    for t in trials:
        h.update(
            f"{t.trial_id}:{t.state.value}:{t.values!r}:{len(t.reports)}:{len(t.params)}:"
            f"{t.trial_id in lost};".encode()
        )
    return h.hexdigest()[:16]


class DashboardApp:
    """The dashboard's data, read from one storage."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._cache: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.Lock()

    def studies(self) -> list[dict[str, Any]]:
        out = []
        for s in tunelab.list_studies(self.storage):
            c = s.counts
            shown = {state.value.lower(): c[state] for state in c.by_state}
            if c[TrialState.RUNNING]:
                running = self.storage.get_trials(
                    s.record.study_id, [TrialState.RUNNING], with_reports=False
                )
                shown["lost"] = len(lost_trials(running, s.record.settings))
                shown["running"] = c[TrialState.RUNNING] - shown["lost"]
            out.append(
                {
                    "name": s.record.name,
                    "metric": s.record.metric,
                    "metrics": [o.metric for o in s.record.objectives],
                    "direction": s.record.direction.value,
                    "trials": c.total,
                    "counts": shown,
                    "best": s.best_value,  # None with several objectives: no single best
                }
            )
        return list(finite(out))

    def study(self, name: str, since: str | None = None) -> bytes:
        """The study's sections as JSON bytes; a short 'unchanged' answer when the
        client already holds version `since`. Raises StudyNotFoundError."""
        study = tunelab.load_study(name, self.storage)
        trials = study.trials
        lost = lost_trials(trials, study.settings)
        version = fingerprint(trials, lost, confirmation_stamp(study))
        if since == version:
            return json.dumps({"name": name, "version": version, "unchanged": True}).encode()
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            sections = with_extras(build_sections(study), extra_sections(study, trials, lost))
            payload = {
                "name": name,
                "version": version,
                "counts": counts(trials, lost),
                "sections": [s.to_dict() for s in sections],
            }
            body = json.dumps(finite(payload), allow_nan=False, separators=(",", ":")).encode()
            self._cache[name] = (version, body)
            return body

    def trial(self, name: str, number: int) -> bytes:
        """One trial's page as JSON bytes. Raises StudyNotFoundError, TrialNotFoundError."""
        study = tunelab.load_study(name, self.storage)
        trials = study.trials
        found = next((t for t in trials if t.number == number), None)
        if found is None:
            last = max((t.number for t in trials), default=None)
            held = f"its trials are #0 to #{last}" if last is not None else "it has no trials"
            raise TrialNotFoundError(f"study {name!r} has no trial #{number}; {held}")
        lost = lost_trials(trials, study.settings)
        payload = {
            "name": name,
            "trial": number,
            "sections": [s.to_dict() for s in trial_sections(study, trials, found, lost)],
        }
        return json.dumps(finite(payload), allow_nan=False, separators=(",", ":")).encode()
