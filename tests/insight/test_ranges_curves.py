"""next_ranges flags bounds the best trials press against; curves keep pruned trials."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

import tunelab
from tunelab import TrialState
from tunelab.insight import InsightError, curves, next_ranges


def edge_study(path: Path):
    """Better with larger `width` (best at the upper bound), best learning rate 3e-3
    inside the range, sgd always worse, batch size without effect."""
    study = tunelab.create_study(
        "edge",
        storage=str(path),
        metric="score",
        direction="maximize",
        sampler="random",
        seed=2,
    )
    rng = random.Random(0)
    for _ in range(50):
        trial = study.ask()
        hp = trial.hp
        width = hp.Float("width", 0.0, 1.0)
        lr = hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
        opt = hp.Choice("optimizer", ["adam", "sgd"])
        batch = hp.Choice("batch_size", [32, 64, 128, 256])
        score = 3 * width - 2 * (math.log10(lr) + 2.5) ** 2 - 5 * (opt == "sgd") + 0 * batch
        study.tell(trial, score + rng.gauss(0, 0.01))
    return study


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    return edge_study(tmp_path_factory.mktemp("edge") / "e.db")


def test_next_ranges_flags_the_upper_edge_and_narrows_the_inside(edge):
    advice = {a.param: a for a in next_ranges(edge, top_fraction=0.2)}
    width = advice["width"]
    assert width.at_edge == "upper" and width.n_top == 10
    assert width.high > 1.0  # widened past the bound
    assert width.text.startswith("best widths sit at the upper bound 1: widen the range")
    lr = advice["learning_rate"]
    assert lr.at_edge is None
    assert 1e-5 < lr.low < 3e-3 < lr.high < 1e-1  # narrower, around the optimum
    assert "search" in lr.text
    opt = advice["optimizer"]
    assert (
        opt.values == ["adam"] and "sgd (tried" in opt.text and "consider dropping it" in opt.text
    )
    assert advice["batch_size"].at_edge is None  # no effect, no flag
    json.dumps([a.to_dict() for a in advice.values()])


def test_next_ranges_flags_the_end_of_an_ordered_choice(tmp_path):
    study = tunelab.create_study(
        "b", storage=str(tmp_path / "b.db"), metric="score", sampler="random", seed=0
    )
    for _ in range(20):
        trial = study.ask()
        batch = trial.hp.Choice("batch_size", [32, 64, 128, 256])
        study.tell(trial, math.log2(batch))
    (advice,) = next_ranges(study)
    assert advice.at_edge == "upper" and "upper end 256: add values beyond it" in advice.text
    assert advice.values[0] == 256 and advice.high == 256


def test_next_ranges_rejects_a_bad_fraction(edge):
    with pytest.raises(ValueError, match="top_fraction"):
        next_ranges(edge, top_fraction=0)


def test_curves_grouped_with_pruned_trials_cut_short(tmp_path):
    study = tunelab.create_study(
        "c",
        storage=str(tmp_path / "c.db"),
        metric="val_loss",
        direction="minimize",
        sampler="random",
        seed=0,
    )
    for i in range(4):
        study.enqueue({"learning_rate": [1e-3, 1e-2, 1e-1, 1e-3][i]})
        trial = study.ask()
        lr = trial.hp.Choice("learning_rate", [1e-3, 1e-2, 1e-1])
        epochs = 2 if lr == 1e-1 else 5
        for e in range(epochs):
            trial.report(e, train_loss=1 / (e + 1) / lr, val_loss=1.0)
        if lr == 1e-1:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, 1.0)
    got = curves(study, "train_loss", by="learning_rate")
    assert [c.group for c in got] == ["0.001", "0.01", "0.1", "0.001"]
    pruned = [c for c in got if c.pruned]
    assert len(pruned) == 1 and pruned[0].steps == [0, 1] and pruned[0].state == "PRUNED"
    assert got[0].steps == [0, 1, 2, 3, 4] and got[0].values[0] == pytest.approx(1000)
    json.dumps([c.to_dict() for c in got])
    ungrouped = curves(study, "val_loss")
    assert all(c.group is None for c in ungrouped)
    with pytest.raises(InsightError, match=r"'nope' was never reported.*val_loss, train_loss"):
        curves(study, "nope")
    with pytest.raises(InsightError, match="no hyperparameter 'dropout'"):
        curves(study, "val_loss", by="dropout")


def test_curves_group_a_many_valued_number_by_log_bins(known):
    got = curves(known, "train_loss", by="learning_rate", bins=3)
    assert {c.group for c in got} == {"[0.0001, 0.001)", "[0.001, 0.01)", "[0.01, 0.1]"}
    for c in got:
        low = float(c.group.strip("[]()").split(",")[0])
        assert low <= c.group_value
