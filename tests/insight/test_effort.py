"""training_effort, exploits and lineage_text on real studies in SQLite files: what they
count is what storage holds (reports, `resumes`, PBT's `schedule`), a replayed schedule
reads as the trial's own, and a damaged schedule leaves the views standing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tunelab
from training_studies import freeze_thaw_study, pbt_objective, pbt_study
from tunelab.insight import InsightError, exploits, training_effort
from tunelab.insight.effort import lineage_text
from tunelab.plot.population import lineage_figure, schedule_figure
from tunelab.study import replay, replay_name
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


@pytest.fixture(scope="module")
def pbt(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    return pbt_study(tmp_path_factory.mktemp("pbt"))


def test_effort_counts_what_storage_holds(tmp_path: Path) -> None:
    study = freeze_thaw_study(tmp_path)
    effort = training_effort(study.trials)
    for t, e in zip(study.trials, effort.trials, strict=True):
        assert (e.number, e.state, e.steps) == (t.number, t.state, len(t.reports))
        assert e.resumes == t.system_attrs.get("resumes", 0)
        assert e.pauses == e.resumes + (t.state is TrialState.PAUSED)
    assert effort.paused_now == sum(t.state is TrialState.PAUSED for t in study.trials) > 0
    assert effort.steps == sum(effort.steps_by_state().values())
    assert effort.exploits == 0 and "exploits" not in effort.text()
    again = json.loads(json.dumps(effort.to_dict()))
    assert again["resumes"] == effort.resumes and again["trials"][0]["state"] == "COMPLETE"


def test_exploits_are_the_schedules_entries_with_a_parent(pbt) -> None:
    found = exploits(pbt.trials)
    stored = sorted(
        (e["step"], t.number, e["parent"])
        for t in pbt.trials
        for e in t.system_attrs["schedule"]
        if e["parent"] is not None
    )
    assert [(e.step, e.trial, e.parent) for e in found] == stored and stored
    by_number = {t.number: t for t in pbt.trials}
    for e in found:  # the values before, and the parent's values explored after
        assert e.previous["lr"] != e.params["lr"]
        assert by_number[e.parent].reports[e.step - 1].step == e.step - 1
    assert training_effort(pbt.trials).exploits == len(found)


def test_a_replayed_schedule_reads_as_the_trials_own(pbt, tmp_path: Path) -> None:
    child = next(t for t in pbt.trials if len(t.system_attrs["schedule"]) > 1)
    again = replay(pbt, child.number, pbt_objective(tmp_path))
    sibling = tunelab.load_study(replay_name(pbt, child.number), pbt.storage.url)
    text = lineage_text(sibling.trials, again.number)
    assert "took" not in text and text.count("(own)") == len(again.system_attrs["schedule"])
    assert "took" in lineage_text(pbt.trials, child.number)


def test_a_damaged_schedule_leaves_the_views_standing() -> None:
    damaged = FrozenTrial(1, 0, TrialState.COMPLETE, {"lr": 0.1}, system_attrs={"schedule": "x"})
    assert training_effort([damaged]).trials[0].exploits == 0
    assert exploits([damaged]) == []
    assert schedule_figure([damaged], ["lr"]) is None and lineage_figure([damaged]) is None
    with pytest.raises(InsightError, match="schedule is damaged"):
        lineage_text([damaged], 0)
