"""What the dashboard serves, independent of HTTP: the list of studies and each study's
sections as JSON, rebuilt only when the study changed.

Reads only. A study's sections are cached under a fingerprint of its trials (state,
value, number of reports), so a page polling every two seconds costs one read of the
trials while nothing happens, and the analysis reruns only when a trial moved on."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import tunelab
from tunelab.report.markup import finite
from tunelab.report.sections import build_sections, counts
from tunelab.storage import BaseStorage
from tunelab.trial import FrozenTrial


def fingerprint(trials: list[FrozenTrial]) -> str:
    """Changes whenever a trial starts, reports, finishes or is deleted."""
    h = hashlib.sha1(usedforsecurity=False)
    for t in trials:
        h.update(
            f"{t.trial_id}:{t.state.value}:{t.value!r}:{len(t.reports)}:{len(t.params)};".encode()
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
            out.append(
                {
                    "name": s.record.name,
                    "metric": s.record.metric,
                    "direction": s.record.direction.value,
                    "trials": c.total,
                    "counts": {state.value.lower(): c[state] for state in c.by_state},
                    "best": s.best_value,
                }
            )
        return list(finite(out))

    def study(self, name: str, since: str | None = None) -> bytes:
        """The study's sections as JSON bytes; a short 'unchanged' answer when the
        client already holds version `since`. Raises StudyNotFoundError."""
        study = tunelab.load_study(name, self.storage)
        trials = study.trials
        version = fingerprint(trials)
        if since == version:
            return json.dumps({"name": name, "version": version, "unchanged": True}).encode()
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            sections = build_sections(study)
            payload = {
                "name": name,
                "version": version,
                "counts": counts(trials),
                "sections": [s.to_dict() for s in sections],
            }
            body = json.dumps(finite(payload), allow_nan=False, separators=(",", ":")).encode()
            self._cache[name] = (version, body)
            return body
