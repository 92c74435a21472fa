"""Confirmation re-runs on a synthetic objective with seeded noise and known true means:
the 95% intervals hold the true means at about that rate, trials that share a
configuration are re-run once, and an interrupted confirmation resumes with only the
missing re-runs."""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

import pytest

import tunelab
from tunelab.cli.as_json import show_document
from tunelab.insight import InsightError, confirm, confirmation, seed_spread
from tunelab.insight.noise import t_interval, welch_p
from tunelab.report.dashboard.app import DashboardApp
from tunelab.report.sections import build_sections
from tunelab.trial import Trial
from tunelab.types import TrialState

NOISE = 0.01


def true_mean(x: int) -> float:
    return 0.5 + 0.001 * x


def noisy(trial: Trial) -> float:
    """Known mean plus Gaussian seed noise: the seed is the trial's own."""
    x = trial.hp.Int("x", 0, 999)
    return true_mean(x) + random.Random(trial.seed).gauss(0, NOISE)


def grid_study(storage: str, n: int, name: str = "grid") -> tunelab.Study:
    study = tunelab.create_study(name, storage=storage, metric="score", sampler="random")
    for x in range(n):
        study.enqueue({"x": x})
    study.optimize(noisy, n_trials=n)
    return study


def test_intervals_hold_the_true_means_at_the_nominal_rate() -> None:
    study = grid_study(":memory:", 160)
    found = confirm(study, noisy, top=160, seeds=3)
    assert len(found.configs) == 160 and found.seeds == 3
    covered = sum(c.interval.contains(true_mean(c.params["x"])) for c in found.configs)
    # 95% nominal: 152 expected, binomial sd 2.8; well outside these bounds means the
    # interval is too narrow (e.g. a z-quantile with 3 seeds) or far too wide.
    assert 140 <= covered <= 159, covered
    assert all(c.interval.n == 3 and c.original is not None for c in found.configs)
    means = [c.mean for c in found.configs]
    assert means == sorted(means, reverse=True)  # best mean first


def test_welch_tells_noise_from_a_real_difference() -> None:
    rng = random.Random(7)
    same = [
        welch_p([rng.gauss(0, 1) for _ in range(5)], [rng.gauss(0, 1) for _ in range(5)])
        for _ in range(400)
    ]
    false_alarms = sum(p < 0.05 for p in same if p is not None) / len(same)
    assert 0.02 <= false_alarms <= 0.09, false_alarms
    apart = [
        welch_p([rng.gauss(0, 1) for _ in range(5)], [rng.gauss(4, 1) for _ in range(5)])
        for _ in range(100)
    ]
    assert sum(p < 0.05 for p in apart if p is not None) >= 95
    assert welch_p([1.0], [2.0, 3.0]) is None
    assert welch_p([1.0, 1.0], [2.0, 2.0]) == 0.0 and welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0
    one = t_interval([0.5])
    assert one.half_width is None and not one.contains(0.5)
    with pytest.raises(ValueError, match="at least one value"):
        t_interval([])


def test_trials_sharing_a_configuration_are_rerun_once() -> None:
    study = tunelab.create_study("shared", storage=":memory:", metric="score")
    for x in (900, 900, 900, 10, 20):  # the top three trials share x=900
        study.enqueue({"x": x})
    study.optimize(noisy, n_trials=5)
    found = confirm(study, noisy, top=2, seeds=2)
    assert [c.params["x"] for c in found.configs] == [900, 20]
    assert sorted(found.configs[0].trials) == [0, 1, 2]
    assert found.configs[0].trials[0] == study.best_trial.number
    assert len(tunelab.load_study("shared/seeds", study.storage).trials) == 4
    assert found.verdict.startswith("#0 beats #4 beyond seed noise: ")
    rows = seed_spread(study, noisy, top_k=2, seeds=2)  # the same re-runs: nothing new
    assert [r.params["x"] for r in rows] == [900, 20] and len(rows[0].same_as) == 2
    assert len(tunelab.load_study("shared/seeds", study.storage).trials) == 4


def test_an_interrupted_confirmation_runs_only_the_missing_reruns(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    study = grid_study(path, 6)
    calls: list[int] = []

    def breaks_on_third(trial: Trial) -> float:
        calls.append(trial.number)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return noisy(trial)

    with pytest.raises(KeyboardInterrupt):
        confirm(study, breaks_on_third, top=3, seeds=3)
    cut = tunelab.load_study("grid/seeds", path).trials
    assert sum(t.state is TrialState.COMPLETE for t in cut) == 2
    partial = confirmation(tunelab.load_study("grid", path))  # a new process's view
    assert partial is not None and sum(len(c.values) for c in partial.configs) == 2
    assert sum(c.pending for c in partial.configs) == 7

    calls.clear()
    found = confirm(tunelab.load_study("grid", path), lambda t: calls.append(0) or noisy(t), 3, 3)
    assert len(calls) == 7  # 9 re-runs, 2 done before the interruption
    assert all(len(c.values) == 3 for c in found.configs)
    calls.clear()
    again = confirm(tunelab.load_study("grid", path), lambda t: calls.append(0) or noisy(t), 3, 3)
    assert calls == [] and again.to_dict() == found.to_dict()


def test_optimize_confirms_the_top_configurations_when_asked(tmp_path: Path) -> None:
    study = tunelab.create_study("opt", storage=str(tmp_path / "o.db"), metric="score", seed=0)
    study.optimize(noisy, n_trials=6, confirm_top=2, confirm_seeds=2)
    found = confirmation(study)
    assert found is not None and len(found.configs) == 2
    assert all(len(c.values) == 2 for c in found.configs)
    assert "told apart" in found.verdict or "beats" in found.verdict
    assert found.configs[0].trials[0] in {t.number for t in study.top_trials(2)}


def test_the_report_and_the_dashboard_state_the_verdict(tmp_path: Path) -> None:
    study = grid_study(str(tmp_path / "r.db"), 4)
    app = DashboardApp(study.storage)
    before = json.loads(app.study("grid"))
    assert "Seed re-runs" not in json.dumps(before)
    found = confirm(study, noisy, top=2, seeds=2)
    best = next(s for s in build_sections(study) if s.id == "best")
    assert f"<b>Seed re-runs:</b> {html.escape(found.verdict)}" in best.html
    after = json.loads(app.study("grid", since=before["version"]))  # re-runs: a new version
    assert after["version"] != before["version"]
    served = next(s for s in after["sections"] if s["id"] == "best")
    assert html.escape(found.verdict) in served["html"]
    notebook = found._repr_html_()  # how a notebook shows it
    assert html.escape(found.verdict) in notebook and "Seed re-runs (in grid/seeds)" in notebook
    document = json.loads(json.dumps(show_document(study, 3)))  # `tunelab show --json`
    assert document["confirmation"]["verdict"] == found.verdict
    assert [c["trials"][0] for c in document["confirmation"]["configs"]] == [
        int(c.label[1:]) for c in found.configs
    ]


def test_bad_requests_store_nothing() -> None:
    study = tunelab.create_study("empty", storage=":memory:", metric="score")
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        study.optimize(noisy, n_trials=1, confirm_top=2, confirm_seeds=0)
    assert study.trials == []  # refused before the first trial
    with pytest.raises((ValueError, InsightError), match="no feasible complete trial"):
        confirm(study, noisy)
    assert confirmation(study) is None
    assert tunelab.list_studies(study.storage)[0].record.name == "empty"
    assert len(tunelab.list_studies(study.storage)) == 1


def test_one_seed_a_single_configuration_and_a_damaged_record() -> None:
    study = tunelab.create_study("few", storage=":memory:", metric="score")
    for x in (5, 900):
        study.enqueue({"x": x})
    study.optimize(noisy, n_trials=2)
    one = confirm(study, noisy, top=2, seeds=1)
    assert one.p_value is None and one.told_apart is None
    assert one.verdict.startswith("#1 and #0 need at least 2 seeds each to be compared")
    assert one.configs[0].interval.half_width is None and "(1 seed)" in one.configs[0].text
    alone = confirm(study, noisy, top=1, seeds=2)  # a new request: only the best
    assert alone.verdict.startswith("only #1 has re-runs: ") and len(alone.configs) == 1
    for damaged in ("text", {"study": "few/seeds", "seeds": 2, "configs": [{"params": 1}]}):
        study.storage.set_study_setting(study.study_id, "confirm", damaged)
        assert confirmation(study) is None  # database text tunelab did not write: ignored


def test_a_lucky_best_trial_is_named_when_the_reruns_rank_another_first() -> None:
    study = tunelab.create_study("lucky", storage=":memory:", metric="score")
    study.enqueue({"x": 10})
    study.enqueue({"x": 500})
    study.optimize(lambda t: noisy(t) + (1.0 if t.number == 0 else 0.0), n_trials=2)
    assert study.best_trial.number == 0  # only by its lucky first run
    found = confirm(study, noisy, top=2, seeds=3)
    assert found.configs[0].label == "#1" and found.told_apart is True
    assert found.verdict.endswith("the study's best trial #0 is not the best on re-runs")
