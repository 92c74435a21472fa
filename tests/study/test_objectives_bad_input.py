"""Bad objectives and constraints: each one clear line naming the problem, and nothing
stored changed (the storage reads back as before, byte for byte in its records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import ConfigurationError, StudyConflictError
from tunelab.samplers import RandomSampler

MO = {"metrics": ["acc", "size"], "directions": ["max", "min"], "sampler": "random"}


class OneObjective(RandomSampler):
    """A sampler that serves studies of one objective only."""

    name = "one-objective"
    multi_objective = False


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"metrics": ["a", "b"], "directions": ["max"]}, ConfigurationError,
         "metrics and directions must have the same length, but got 2 metrics"),
        ({"metrics": ["a", "b"], "directions": ["max", "upward"]}, ConfigurationError,
         "direction must be 'minimize' or 'maximize', but got 'upward'"),
        ({"metrics": ["a", "b"]}, ConfigurationError, "needs directions= too"),
        ({"directions": ["max", "min"]}, ConfigurationError, "directions= goes with metrics="),
        ({"metrics": "a,b", "directions": ["max"]}, ConfigurationError, "non-empty list"),
        ({"metrics": ["a", "a"], "directions": ["max", "min"]}, ConfigurationError, "distinct"),
        ({"metrics": ["a", ""], "directions": ["max", "min"]}, ConfigurationError, "non-empty"),
        ({"constraints": {"n": ("<", 5)}}, ConfigurationError, "operator '<=' or '>='"),
        ({"constraints": {"n": ("<=", float("inf"))}}, ConfigurationError, "finite number"),
        ({"constraints": [("n", "<=", 5)]}, ConfigurationError, "must be a dict"),
        ({**MO, "sampler": OneObjective(0)}, ConfigurationError,
         "the one-objective sampler does not handle several objectives"),
        ({"name": "so", **MO}, StudyConflictError,
         "exists with metric='loss', direction='minimize', but metrics=['acc', 'size']"),
        ({"name": "mo", "metric": "acc"}, StudyConflictError, "a study keeps its objectives"),
        ({"name": "mo", **MO, "constraints": {"size": ("<=", 1)}}, StudyConflictError,
         "a study keeps its constraints"),
    ],
)  # fmt: skip
def test_bad_objectives_get_one_line_and_change_nothing(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    tunelab.create_study("so", url, metric="loss", direction="minimize").storage.close()
    tunelab.create_study(
        "mo", url, **MO, constraints={"size": ("<=", 100)}
    ).storage.close()  # fmt: skip
    before = [(s.record, s.counts) for s in tunelab.list_studies(url)]
    name = kwargs.pop("name", "new")
    with pytest.raises(error) as refused:
        tunelab.create_study(name, url, **kwargs)
    message = str(refused.value)
    assert words in message and "\n" not in message, message
    assert [(s.record, s.counts) for s in tunelab.list_studies(url)] == before


def test_reopening_with_the_same_objectives_and_no_constraints_keeps_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    tunelab.create_study("mo", url, **MO, constraints={"size": ("<=", 100)}).storage.close()
    again = tunelab.create_study("mo", url, **MO)
    assert [c.describe() for c in again.constraints] == ["size <= 100"]
    assert again.directions[1].value == "minimize"
    again.storage.close()
