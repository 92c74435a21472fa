"""Names too long for a database column: refused up front with the same line on SQLite
(which would store any length) and on the real PostgreSQL server (which refuses a longer
value with a SQL dump), and nothing stored changes. The longest allowed name works on
both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.types import TrialState

from .helpers import (
    STUDY,
    fill_study,
    one_line,
    postgres_connect,
    postgres_rows,
    refused,
    sqlite_rows,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, new_postgres_database: Callable[[], str]
) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(storage URL holding STUDY, a function returning every stored row)."""
    if request.param == "sqlite":
        path = tmp_path / "tunelab.db"
        fill_study(str(path))
        yield str(path), lambda: sqlite_rows(path)
    else:
        url = new_postgres_database()
        fill_study(url)
        yield url, lambda: postgres_rows(url)


def _objective(use: Callable[[tunelab.Trial], Any]) -> Callable[[tunelab.Trial], float]:
    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", -2.0, 2.0)
        use(trial)
        return x

    return objective


UP_FRONT: list[tuple[str, Callable[[str], Any], str]] = [
    ("study 600", lambda url: tunelab.create_study("s" * 600, url), "a study name must be at most"),
    ("study 513", lambda url: tunelab.create_study("s" * 513, url), "at most 512 characters"),
    ("metric 256", lambda url: tunelab.create_study("m", url, metric="m" * 256), "at most 255"),
    ("load 600", lambda url: tunelab.load_study("s" * 600, url), "at most 512 characters"),
    ("delete 600", lambda url: tunelab.delete_study("s" * 600, url), "at most 512 characters"),
    (
        "enqueue 10k",
        lambda url: tunelab.load_study(STUDY, url).enqueue({"p" * 10_000: 1}),
        "at most 512 characters",
    ),
]


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in UP_FRONT], ids=[c[0] for c in UP_FRONT]
)
def test_a_long_name_is_refused_before_any_sql(
    backend: tuple[str, Callable[[], Any]], action: Callable[[str], Any], fragment: str
) -> None:
    url, rows = backend
    before = rows()
    error = refused(lambda: action(url), fragment)
    assert "SQL" not in str(error) and len(str(error)) < 300
    assert rows() == before


IN_A_TRIAL: list[tuple[str, Callable[[tunelab.Trial], Any], str]] = [
    ("param 10k", lambda t: t.hp.Int("p" * 10_000, 1, 3), "a hyperparameter name must be at"),
    ("param 513", lambda t: t.hp.Choice("c" * 513, ["a"]), "at most 512 characters"),
    ("report key", lambda t: t.report(0, **{"r" * 256: 1.0}), "a reported metric name must be"),
    ("attr key", lambda t: t.set_user_attr("k" * 256, 1), "a user attribute key must be at"),
]


@pytest.mark.parametrize(
    ("use", "fragment"), [c[1:] for c in IN_A_TRIAL], ids=[c[0] for c in IN_A_TRIAL]
)
def test_a_long_name_in_a_trial_stops_the_search_with_one_line(
    backend: tuple[str, Callable[[], Any]], use: Callable[[tunelab.Trial], Any], fragment: str
) -> None:
    url, rows = backend
    before = rows()
    study = tunelab.load_study(STUDY, url)
    error = refused(lambda: study.optimize(_objective(use), n_trials=8), fragment)
    last = study.trials[-1]
    assert len(study.trials) == 6 and last.state is TrialState.FAIL
    assert str(error) in one_line(last.reason or "") and "SQL" not in (last.reason or "")
    after = rows()
    assert {t: after[t] for t in ("tunelab_studies", "tunelab_params")} == {
        t: before[t] for t in ("tunelab_studies", "tunelab_params")
    }
    assert after["tunelab_trials"][:5] == before["tunelab_trials"][:5]


def test_the_longest_names_work_on_both(backend: tuple[str, Callable[[], Any]]) -> None:
    url, _ = backend
    study = tunelab.create_study("s" * 512, url, metric="m" * 255, sampler="random")

    def objective(trial: tunelab.Trial) -> dict[str, float]:
        x = trial.hp.Float("p" * 512, 0.0, 1.0)
        trial.report(0, **{"r" * 255: x})
        trial.set_user_attr("k" * 255, 1)
        return {"m" * 255: x}

    study.optimize(objective, n_trials=2)
    again = tunelab.load_study("s" * 512, url)
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 2
    assert again.space.names() == ["p" * 512]


def test_a_damaged_row_reads_the_same_on_postgresql(
    new_postgres_database: Callable[[], str],
) -> None:
    url = new_postgres_database()
    fill_study(url)
    with postgres_connect(url) as con:
        con.execute("UPDATE tunelab_trials SET params_json = '{bad' WHERE number = 0")
    before = postgres_rows(url)
    refused(
        lambda: tunelab.load_study(STUDY, url).trials,
        "study 'demo', trial 0, column tunelab_trials.params_json: it is not valid JSON",
    )
    assert postgres_rows(url) == before
