"""In a notebook a study and the insight results show as HTML tables (`_repr_html_`),
with every piece of user text escaped: a study named like markup shows as typed."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import tunelab
from tunelab import insight
from tunelab.insight import SeedSpread
from tunelab.types import TrialState

EVIL = "<script>alert('x')</script>&co"


class _Page(HTMLParser):
    """The tags and the visible text of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def study() -> tunelab.Study:
    """12 trials, one pruned and one failed; a choice whose values look like markup."""
    study = tunelab.create_study(EVIL, storage=":memory:", metric="val_accuracy", seed=0)
    for number in range(12):
        trial = study.ask()
        lr = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        tag = trial.hp.Choice("activation", ["<b>relu</b>", "tanh"])
        score = 0.9 - 0.05 * abs(lr - 0.01) / 0.01 - (0.02 if tag == "tanh" else 0.0)
        for epoch in range(3):
            trial.report(epoch, train_loss=1.0 / (epoch + 1), val_loss=1.1 / (epoch + 1))
        if number == 4:
            study.tell(trial, state=TrialState.PRUNED)
        elif number == 7:
            study.tell(trial, state=TrialState.FAIL, reason="boom")
        else:
            study.tell(trial, score)
    return study


def test_a_study_shows_its_name_objective_counts_and_best_trial(study) -> None:
    html = study._repr_html_()
    page = _Page(html)
    assert "script" not in page.tags and "b" not in page.tags[1:]  # the title's <strong> only
    text = " ".join(page.text)
    assert f"Study {EVIL}" in text
    assert "val_accuracy (maximize)" in text and "12 trials: 10 complete, 1 pruned, 1 fail" in text
    best = study.best_trial
    assert f"best trial #{best.number}" in text
    assert best.params["activation"] in page.text and "learning_rate" in page.text


def test_a_study_of_several_objectives_shows_its_front() -> None:
    study = tunelab.create_study(
        "mo", storage=":memory:", metrics=["a", "b"], directions=["maximize", "minimize"]
    )
    for x in (1.0, 2.0, 3.0):
        trial = study.ask()
        trial.hp.Float("x", 0.0, 5.0)
        study.tell(trial, {"a": x, "b": x * x})
    page = _Page(study._repr_html_())
    assert "Pareto front: 3 trials" in page.text
    assert page.tags.count("tr") == 1 + 3  # the header and one row per front trial


def test_an_empty_study_says_so() -> None:
    study = tunelab.create_study("nothing", storage=":memory:")
    assert "no complete trial yet" in study._repr_html_()


def test_effect_tables_importance_ranges_and_diagnosis_render_as_html(study) -> None:
    tables = insight.effect_tables(study)
    page = _Page(tables._repr_html_())
    assert page.tags.count("table") == len(tables) == 2
    assert "<b>relu</b>" in page.text and "b" not in page.tags  # a value, not markup
    assert tables[0]._repr_html_() in tables._repr_html_()
    imp = _Page(insight.importance(study)._repr_html_())
    assert {"learning_rate", "activation"} <= set(imp.text)
    ranges = insight.next_ranges(study)
    assert _Page(ranges._repr_html_()).tags.count("tr") == 1 + len(ranges)
    diagnosis = insight.diagnose(study.best_trial, study)
    assert f"Trial #{study.best_trial.number}" in " ".join(_Page(diagnosis._repr_html_()).text)


def test_a_seed_spread_renders_as_a_table() -> None:
    spread = SeedSpread(3, {"lr": 0.01}, 0.9, [0.88, 0.9], 0.89, 0.014, 0.88, 0.9, 0, "s")
    page = _Page(spread._repr_html_())
    assert page.tags.count("tr") == 2 and "#3" in page.text and "0.89" in page.text
