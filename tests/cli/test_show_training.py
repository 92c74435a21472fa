"""`tunelab show` on studies that paused, resumed and copied trials (real SQLite files,
tests/training_studies.py): the steps and resumes of the top trials, one line of pauses,
resumes and steps, and the schedule the best PBT trial's weights trained with."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunelab
from training_studies import extrapolate_study, freeze_thaw_study, pbt_study
from tunelab.cli.main import cli, main
from tunelab.study import found_schedule
from tunelab.types import TrialState


def show(study: tunelab.Study) -> str:
    """The command's output with its words joined by single spaces (line breaks vary)."""
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "200"}) as streams:
        try:
            main(["show", study.name, "--storage", study.storage.url])
        except SystemExit as e:
            assert not e.code, streams[1].getvalue().decode()
        return " ".join(streams[0].getvalue().decode().split())


@pytest.fixture(scope="module")
def pbt(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    return pbt_study(tmp_path_factory.mktemp("pbt"))


@pytest.fixture(scope="module")
def ft(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    return freeze_thaw_study(tmp_path_factory.mktemp("ft"))


def test_show_counts_pauses_resumes_and_steps(ft) -> None:
    trials = ft.trials
    paused = [t for t in trials if t.state is TrialState.PAUSED]
    resumes = sum(t.system_attrs.get("resumes", 0) for t in trials)
    assert paused and resumes
    out = show(ft)
    assert f"{len(paused)} paused)" in out  # the trial counts
    ever = sum(bool(t.system_attrs.get("resumes")) or t.state is TrialState.PAUSED for t in trials)
    pauses = resumes + len(paused)
    assert (
        f"{ever} of {len(trials)} trials paused {pauses} times and resumed {resumes} times, "
        f"{len(paused)} paused now" in out
    )
    assert f"{sum(len(t.reports) for t in trials)} steps trained" in out
    # the top trials (the complete winner) with the steps it trained and its resumes
    (winner,) = [t for t in trials if t.state is TrialState.COMPLETE]
    words = re.sub(r"[┃│┏┓┗┛┡┩┳╇━─└┘┴┬┼]", " ", out).split()
    assert "# acc seconds steps resumes x" in " ".join(words)
    row = words.index(f"{winner.value:.6g}") - 1
    assert words[row] == str(winner.number)
    assert words[row + 3 : row + 5] == [
        str(len(winner.reports)),
        str(winner.system_attrs["resumes"]),
    ]
    assert "PBT" not in out


def test_show_writes_the_best_pbt_trials_lineage(pbt) -> None:
    out = show(pbt)
    best = pbt.best_trial
    path = found_schedule(pbt.trials, best.number)
    assert len(path) >= 2, "the best trial's weights should come through another trial"
    start = f"PBT, best #{best.number}: lr {path[0]['params']['lr']:.4g} from step 0 "
    assert start + f"(#{path[0]['trial']})" in out
    for before, entry in itertools.pairwise(path):
        assert (
            f"lr {entry['params']['lr']:.4g} from step {entry['step']} "
            f"(#{entry['trial']} took #{before['trial']}'s weights)" in out
        )
    assert f"tunelab replay {pbt.name} --trial {best.number}" in out
    copied = sum(
        e["parent"] is not None for t in pbt.trials for e in t.system_attrs.get("schedule", [])
    )
    assert f"{copied} exploits (weights copied)" in out


def test_a_study_that_never_paused_shows_none_of_it(tmp_path: Path) -> None:
    out = show(extrapolate_study(tmp_path))
    assert "curve model on" in out  # the extrapolate scheduler's check, as before
    for absent in ("steps resumes", "paused", "PBT", "steps trained"):
        assert absent not in out


def test_show_json_holds_the_same_counts_and_lineage(ft, pbt) -> None:
    runner = CliRunner()
    doc = json.loads(
        runner.invoke(cli, ["show", "ft", "--json", "--storage", ft.storage.url]).output
    )["training"]
    by_number = {t.number: t for t in ft.trials}
    for row in doc["trials"]:
        t = by_number[row["number"]]
        assert (row["state"], row["steps"]) == (t.state.value, len(t.reports))
        assert row["resumes"] == t.system_attrs.get("resumes", 0)
    assert doc["paused_now"] == sum(t.state is TrialState.PAUSED for t in ft.trials)
    assert doc["pbt"] is None
    doc = json.loads(
        runner.invoke(cli, ["show", "pbt", "--json", "--storage", pbt.storage.url]).output
    )["training"]["pbt"]
    assert sorted((e["trial"], e["parent"], e["step"]) for e in doc["exploits"]) == sorted(
        (t.number, e["parent"], e["step"])
        for t in pbt.trials
        for e in t.system_attrs["schedule"]
        if e["parent"] is not None
    )
    assert doc["best"] == pbt.best_trial.number
    assert doc["best_schedule"] == found_schedule(pbt.trials, doc["best"])
