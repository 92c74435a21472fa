"""Insight on a study of two objectives: accuracy depends only on the learning rate,
size only on the number of units, so each objective's importance and effect tables must
say so, each in its own direction. Analyses that need one metric are told which, or
refuse in one line with nothing stored changed; `tunelab show --effects --importance`
prints both objectives."""

from __future__ import annotations

import functools
import math
import random
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.errors import ConfigurationError
from tunelab.insight import effect_tables, importance, next_ranges, seed_spread


def _study(path: Path, n: int = 40) -> tunelab.Study:
    study = tunelab.create_study(
        "mo", storage=str(path), metrics=["acc", "size"], directions=["max", "min"],
        sampler="random", seed=3,
    )  # fmt: skip
    noise = random.Random(0)
    for _ in range(n):
        trial = study.ask()
        lr = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        units = trial.hp.Int("units", 8, 256)
        acc = 0.95 - 0.1 * (math.log10(lr) + 2.5) ** 2 + noise.gauss(0, 1e-3)
        study.tell(trial, (acc, 1000.0 * units + noise.gauss(0, 1.0)))
    return study


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    return _study(tmp_path_factory.mktemp("mo") / "mo.db")


def test_importance_is_computed_per_objective(study: tunelab.Study) -> None:
    acc, size = importance(study, metric="acc"), importance(study, metric="size")
    assert (acc.metric, size.metric) == ("acc", "size")
    assert next(iter(acc.scores)) == "learning_rate" and acc.scores["learning_rate"] > 0.8
    assert next(iter(size.scores)) == "units" and size.scores["units"] > 0.8


def test_effect_tables_read_each_objective_in_its_own_direction(study: tunelab.Study) -> None:
    (units,) = [t for t in effect_tables(study, metric="size") if t.param == "units"]
    assert units.metric == "size" and units.direction == "minimize"
    first = units.rows[0]  # the smallest units: the smallest sizes
    members = [
        t.values[1] for t in study.trials if units.rows[0].low <= t.params["units"] < first.high
    ]
    assert first.best == pytest.approx(min(members))
    (lr,) = [t for t in effect_tables(study, metric="acc") if t.param == "learning_rate"]
    assert lr.direction == "maximize"
    assert max(r.best for r in lr.rows if r.best is not None) == pytest.approx(
        max(t.values[0] for t in study.trials)
    )


def test_an_analysis_of_one_metric_must_be_told_which(study: tunelab.Study) -> None:
    for analysis in (effect_tables, importance):
        with pytest.raises(ConfigurationError) as caught:
            analysis(study)
        message = str(caught.value)
        assert "\n" not in message and "['acc', 'size']" in message and "metric=" in message


def test_next_ranges_read_the_best_pareto_ranks(study: tunelab.Study) -> None:
    ranges = {r.param: r for r in next_ranges(study)}
    assert set(ranges) == {"learning_rate", "units"}
    top = study.top_trials(math.ceil(0.2 * len(study.trials)))
    assert ranges["learning_rate"].n_top == len(top)


def test_seed_spread_refuses_several_objectives_and_stores_nothing(study: tunelab.Study) -> None:
    before = [s.record.name for s in tunelab.list_studies(study.storage)]
    with pytest.raises(ConfigurationError) as caught:
        seed_spread(study, lambda trial: 0.0)
    assert "\n" not in str(caught.value) and "several objectives" in str(caught.value)
    assert [s.record.name for s in tunelab.list_studies(study.storage)] == before


def test_show_effects_and_importance_print_each_objective(tmp_path: Path) -> None:
    _study(tmp_path / "tunelab.db", n=12)
    shown = functools.partial(run_tunelab, timeout=120)(
        "show", "mo", "--effects", "--importance", cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "importance for acc" in out and "importance for size" in out
    assert "units (int) → size (minimize)" in out and "learning_rate (float, log bins) → acc" in out
    assert out.index("importance for acc") < out.index("units (int) → size")
