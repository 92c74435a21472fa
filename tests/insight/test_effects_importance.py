"""Effect tables and importance on a synthetic study whose answer is known: the learning
rate dominates, dropout matters a little, the activation not at all."""

from __future__ import annotations

import json

import pytest

from tunelab.insight import EffectTable, effect_tables, importance


def table(tables: list[EffectTable], name: str) -> EffectTable:
    return next(t for t in tables if t.param == name)


def test_effect_tables_show_where_the_learning_rate_is_good(known):
    study = known
    tables = effect_tables(study)
    assert [t.param for t in tables] == [
        "learning_rate",
        "dropout",
        "activation",
        "num_layers",
        "units_1",
    ]
    lr = table(tables, "learning_rate")
    assert lr.log_scale and lr.kind == "float" and len(lr.rows) == 5
    # log bins: 1e-4 … 1e-1 split into five equal factors of 10**0.6
    assert lr.rows[0].low == pytest.approx(1e-4) and lr.rows[-1].high == pytest.approx(1e-1)
    assert lr.rows[1].low == pytest.approx(10**-3.4, rel=1e-4)
    assert sum(r.n for r in lr.rows) == 60
    best_bin = max(lr.rows, key=lambda r: r.median or -1)
    assert best_bin.low <= 3e-3 < best_bin.high  # the known optimum
    assert lr.rows[0].median < best_bin.median - 0.1
    assert all(r.pruned_share == 0 and r.median_seconds is not None for r in lr.rows if r.n)


def test_categorical_rows_follow_the_choice_and_absent_rows_count_conditionals(known):
    tables = effect_tables(known)
    act = table(tables, "activation")
    assert [r.label for r in act.rows] == ["relu", "tanh", "gelu"]
    medians = [r.median for r in act.rows]
    assert max(medians) - min(medians) < 0.06  # no effect beyond sampling noise
    units = table(tables, "units_1")
    absent = units.rows[-1]
    layers = table(tables, "num_layers")
    one_layer = next(r for r in layers.rows if r.value == 1)
    assert absent.label == "(absent)" and absent.n == one_layer.n > 0
    assert sum(r.n for r in units.rows) == 60


def test_effect_tables_on_another_metric_and_json(known):
    study = known
    tables = effect_tables(study, metric="train_loss", bins=3)
    lr = table(tables, "learning_rate")
    assert lr.metric == "train_loss" and lr.direction == "minimize" and len(lr.rows) == 3
    # every trial's train_loss at its last report is 1/3
    assert all(r.best == pytest.approx(1 / 3) for r in lr.rows if r.n)
    json.dumps([t.to_dict() for t in tables])


def test_importance_finds_the_dominant_and_the_useless_parameter(known):
    study = known
    result = importance(study, seed=0)
    assert result.method == "fanova-random-forest" and result.n_trials == 60
    assert sum(result.scores.values()) == pytest.approx(1.0)
    assert next(iter(result.scores)) == "learning_rate"
    assert result.scores["learning_rate"] > 0.8
    assert result.scores["activation"] < 0.05
    assert result.variance_explained["learning_rate"] > 0.7
    assert all(0 <= share <= 1 for _, _, share in result.pairs)
    json.dumps(result.to_dict())


def test_importance_is_stable_with_a_seed(known):
    study = known
    assert importance(study, seed=3).scores == importance(study, seed=3).scores


def test_importance_sees_an_interaction(tmp_path):
    import tunelab

    study = tunelab.create_study(
        "xor",
        storage=str(tmp_path / "x.db"),
        metric="score",
        direction="maximize",
        sampler="random",
        seed=1,
    )
    for _ in range(80):
        trial = study.ask()
        a = trial.hp.Float("a", 0, 1)
        b = trial.hp.Float("b", 0, 1)
        trial.hp.Float("c", 0, 1)
        study.tell(trial, float((a > 0.5) != (b > 0.5)))  # pure interaction: XOR
    result = importance(study, seed=0)
    a_b = next(share for x, y, share in result.pairs if {x, y} == {"a", "b"})
    others = [share for x, y, share in result.pairs if {x, y} != {"a", "b"}]
    assert a_b > 0.5 and all(s < a_b / 4 for s in others)
    assert sum(result.variance_explained.values()) < 0.4  # little is a main effect


def test_importance_splits_an_additive_function_by_variance(tmp_path):
    """score = 2a + b with a, b uniform: Var(2a) : Var(b) = 4 : 1."""
    import tunelab

    study = tunelab.create_study(
        "add", storage=str(tmp_path / "a.db"), metric="score", sampler="random", seed=0
    )
    for _ in range(120):
        trial = study.ask()
        a = trial.hp.Float("a", 0, 1)
        b = trial.hp.Float("b", 0, 1)
        trial.hp.Choice("c", ["x", "y", "z"])
        study.tell(trial, 2 * a + b)
    scores = importance(study, seed=0).scores
    assert scores["a"] == pytest.approx(0.8, abs=0.06)
    assert scores["b"] == pytest.approx(0.2, abs=0.06)
    assert scores["c"] < 0.01


def test_bins_of_an_int_have_whole_number_edges() -> None:
    from tunelab.insight.effects import bin_edges

    assert bin_edges(16, 128, 5, False) == [16, 38.4, 60.8, 83.2, 105.6, 128]
    edges = bin_edges(16, 128, 5, False, integer=True)
    assert edges == [16, 39, 61, 84, 106, 128]
    assert bin_edges(1, 3, 5, False, integer=True) == [1, 2, 3]  # fewer bins than asked
