"""RandomSearch draws what Keras Tuner's RandomSearch draws: every value of a step grid
and every choice equally often, log-uniform values with `sampling="log"`. The benchmark
against Keras Tuner compares best accuracy at equal trials, which is only a fair race if
both draw from the same distribution. No training here."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from scipy.stats import chi2

import tunelab
from tunelab.keras.tuners import RandomSearch

DRAWS = 1600


def _tutorial_space(hp: Any) -> dict[str, Any]:
    """The seed tutorial's hyperparameters, plus a log-sampled float."""
    return {
        "hidden1": hp.Int("hidden1", min_value=32, max_value=512, step=32),
        "dropout1": hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1),
        "hidden2": hp.Int("hidden2", min_value=16, max_value=128, step=16),
        "learning_rate": hp.Choice("learning_rate", values=[0.0001, 0.001, 0.01]),
        "decay": hp.Float("decay", min_value=1e-4, max_value=1e-1, sampling="log"),
    }


@pytest.fixture(scope="module")
def draws() -> list[dict[str, Any]]:
    study = tunelab.create_study(
        "draws", storage=":memory:", sampler=RandomSearch.sampler_name, seed=7
    )
    out = []
    for _ in range(DRAWS):
        trial = study.ask()
        out.append(_tutorial_space(trial.hp))
        study.tell(trial, 0.0)
    return out


def _uniform_fit(counts: Counter[Any], values: list[Any]) -> float:
    """Pearson's chi-square p-value of the counts against equal frequencies."""
    expected = DRAWS / len(values)
    statistic = sum((counts[v] - expected) ** 2 / expected for v in values)
    return float(chi2.sf(statistic, len(values) - 1))


@pytest.mark.parametrize(
    ("name", "grid"),
    [
        ("hidden1", list(range(32, 513, 32))),
        ("dropout1", [0.1, 0.2, 0.3, 0.4, 0.5]),
        ("hidden2", list(range(16, 129, 16))),
        ("learning_rate", [0.0001, 0.001, 0.01]),
    ],
)
def test_grid_values_and_choices_are_equally_likely(
    draws: list[dict[str, Any]], name: str, grid: list[Any]
) -> None:
    counts = Counter(round(d[name], 6) for d in draws)
    assert set(counts) == {round(v, 6) for v in grid}  # both ends of a step grid included
    # Half-weight ends (rounding a uniform number to the grid) would give p < 1e-9 here.
    assert _uniform_fit(counts, [round(v, 6) for v in grid]) > 1e-3


def test_log_sampling_is_uniform_in_the_exponent(draws: list[dict[str, Any]]) -> None:
    decades = Counter(min(int(math.log10(d["decay"]) + 4), 2) for d in draws)
    assert all(1e-4 <= d["decay"] <= 1e-1 for d in draws)
    assert _uniform_fit(decades, [0, 1, 2]) > 1e-3  # linear sampling would put ~90% in one
