"""A write whose commit reached the database but whose answer was lost with the
connection (a server restart at the wrong moment) is retried, and happens exactly once:
no second trial, no refused report, no finish taken for someone else's.

The connection is lost for real: right after the database commits, the test closes the
driver's connection, and SQLAlchemy meets a closed connection when it commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tunelab.storage.base import Outcome
from tunelab.storage.sql import SQLStorage
from tunelab.types import Direction, EndCause, TrialState


@contextlib.contextmanager
def answers_lost() -> Iterator[Callable[[], Callable[[], int]]]:
    """`lose()` arms the next commit of a write transaction, on any engine, to land and
    then lose its connection; it returns a function that tells how many were lost since."""
    armed: list[int] = [0]
    lost: list[int] = [0]

    def on_commit(conn: Any) -> None:
        if armed[0] and conn.get_execution_options().get("tunelab_write"):
            armed[0] -= 1
            dbapi = conn.connection.dbapi_connection
            dbapi.commit()  # the database has it ...
            dbapi.close()  # ... and the answer never arrives
            lost[0] += 1

    def lose() -> Callable[[], int]:
        armed[0] += 1
        before = lost[0]
        return lambda: lost[0] - before

    event.listen(Engine, "commit", on_commit)
    try:
        yield lose
    finally:
        event.remove(Engine, "commit", on_commit)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "t.db")
    return str(request.getfixturevalue("postgres_url"))


def _lost_once(lose: Callable[[], Callable[[], int]], write: Callable[[], Any]) -> Any:
    count = lose()
    result = write()
    assert count() == 1, "the commit's answer was not lost: the test tests nothing"
    return result


def test_start_report_and_finish_happen_once(url: str) -> None:
    storage = SQLStorage(url)
    sid = storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {}).study_id
    with answers_lost() as lose:
        started = _lost_once(lose, lambda: storage.start_trial(sid, "w1"))
        assert [t.trial_id for t in storage.get_trials(sid)] == [started.trial_id]
        _lost_once(lose, lambda: storage.add_report(started.trial_id, 0, {"loss": 0.5}))
        outcome = Outcome(started.trial_id, TrialState.COMPLETE, EndCause.COMPLETED, (0.25,))
        finished = _lost_once(lose, lambda: storage.finish_and_get_trial(outcome))
    assert finished is not None and finished.state is TrialState.COMPLETE
    assert finished.values == (0.25,)
    trials = storage.get_trials(sid)
    assert [(t.number, t.state) for t in trials] == [(0, TrialState.COMPLETE)]
    assert [r.step for r in trials[0].reports] == [0]


def test_a_claimed_trial_and_a_plain_finish_happen_once(url: str) -> None:
    storage = SQLStorage(url)
    sid = storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {}).study_id
    queued = storage.create_trial(sid, TrialState.WAITING, enqueued={"x": 1})
    assert queued is not None
    with answers_lost() as lose:
        claimed = _lost_once(lose, lambda: storage.claim_waiting_trial(sid, "w1"))
        assert claimed.trial_id == queued.trial_id
        outcome = Outcome(claimed.trial_id, TrialState.FAIL, EndCause.RAISED, reason="boom")
        assert _lost_once(lose, lambda: storage.finish(outcome)) is True
    (trial,) = storage.get_trials(sid)
    assert trial.state is TrialState.FAIL and trial.reason == "boom"


def test_a_finish_does_not_take_another_finish_for_its_own(url: str) -> None:
    """The trial was ended by someone else (declared lost): the late finish is refused."""
    storage = SQLStorage(url)
    sid = storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {}).study_id
    trial = storage.start_trial(sid, "w1")
    assert trial is not None
    lost = Outcome(trial.trial_id, TrialState.FAIL, EndCause.LOST, reason="worker lost")
    assert storage.finish(lost)
    late = Outcome(trial.trial_id, TrialState.FAIL, EndCause.RAISED, reason="late")
    assert storage.finish_and_get_trial(late) is None
    assert storage.get_trial(trial.trial_id).reason == "worker lost"
