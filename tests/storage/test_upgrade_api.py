"""The upgraded v1 database (data/v1.db) read through the public API: every trial reads
as the v1 code read it, and the v2 fields of FrozenTrial (values, end_cause, retry_of,
retried_by, attempt, enqueued, counts_toward_budget) say what the v1 rows meant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.storage.codec import _wrap  # the stored encoding, as v1_expected.json holds it
from tunelab.storage.sql import schema, upgrade
from tunelab.storage.sql.engine import make_engine
from tunelab.types import EndCause, TrialState

from .data.make_v1_db import trial_record
from .v1_fixture import CAUSES, EXPECTED, MOVED, RETRIES, V1Copy, postgres_copy, sqlite_copy


@pytest.fixture(params=["sqlite", "postgresql"])
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        v1: V1Copy = sqlite_copy(tmp_path)
    else:
        v1 = postgres_copy(request.getfixturevalue("postgres_url"), tmp_path)
    engine = make_engine(v1.url)
    try:
        assert upgrade(engine) == (1, schema.SCHEMA_VERSION)
    finally:
        engine.dispose()
    return v1.url


def test_every_trial_reads_back_with_its_v2_fields(upgraded: str) -> None:
    for study in EXPECTED["studies"]:
        loaded = tunelab.load_study(study["name"], upgraded)
        assert (loaded.metric, loaded.direction.value) == (study["metric"], study["direction"])
        assert _wrap(dict(loaded.settings)) == study["settings"]
        trials = loaded.trials
        assert [t.number for t in trials] == [t["number"] for t in study["trials"]]
        for got, want in zip(trials, study["trials"], strict=True):
            where = (study["name"], want["number"])
            record = trial_record(got)
            kept = {k: v for k, v in want["system_attrs"].items() if k not in MOVED}
            assert record == {**want, "system_attrs": kept}, where
            cause = CAUSES[study["name"]][want["number"]]
            assert got.end_cause is (None if cause is None else EndCause(cause)), where
            value = want["value"]
            assert got.values == (None if value is None else (value,)), where
            attrs = want["system_attrs"]
            assert _wrap(dict(got.enqueued)) == attrs.get("fixed_params", {}), where
            assert got.attempt == attrs.get("retries", 0), where
            assert (got.retry_of is None) == ("retry_of" not in attrs), where
            assert (got.retried_by is None) == ("retried_by" not in attrs), where
        loaded.storage.close()
    for name, original, retry, attempt in RETRIES:
        trials = tunelab.load_study(name, upgraded).trials
        assert trials[original].retried_by == retry and trials[retry].retry_of == original
        assert trials[retry].attempt == attempt
        assert not trials[original].counts_toward_budget


def test_the_upgraded_study_goes_on(upgraded: str) -> None:
    """The dead worker's trial is found lost (its two retries are spent), and the next
    trial is the one enqueued in v1, with its values."""
    study = tunelab.load_study("v1-mixed", upgraded)
    asked: list[dict[str, Any]] = []

    def objective(trial: tunelab.Trial) -> float:
        asked.append(
            {
                "lr": trial.hp.Float("lr", 1e-4, 1e-1, sampling="log"),
                "layers": trial.hp.Int("layers", 1, 3),
            }
        )
        trial.hp.Boolean("batch_norm")
        return 0.5

    assert study.fail_lost_trials() == [study.trials[16].trial_id]  # before counting the budget
    study.optimize(objective, n_trials=1, add=True)
    assert asked == [{"lr": 0.05, "layers": 2}]
    trials = study.trials
    assert trials[16].state is TrialState.FAIL and trials[16].end_cause is EndCause.LOST
    assert trials[16].retried_by is None  # max_retries=2 and this was the second retry
    assert trials[17].state is TrialState.COMPLETE and trials[17].end_cause is EndCause.COMPLETED
    assert dict(trials[17].enqueued) == {"lr": 0.05, "layers": 2, "batch_norm": True}
    assert trials[17].params["batch_norm"] is True
    study.storage.close()
