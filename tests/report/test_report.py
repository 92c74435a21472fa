"""The HTML report as a file: self-contained, complete, escaped, and honest about
studies with nothing to plot. (tests/report/test_browser.py opens it in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tunelab
from tunelab.cli.main import main
from tunelab.report import build_sections, write_report
from tunelab.report.sections import NO_COMPLETE
from tunelab.types import TrialState

FIGURES = re.compile(r'<script type="application/json" id="tunelab-figures">(.*?)</script>', re.S)


def figures_of(text: str) -> dict:
    match = FIGURES.search(text)
    assert match is not None
    return json.loads(match.group(1))


def test_report_is_one_self_contained_file(demo_study, tmp_path):
    path = write_report(demo_study, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    # the bundle itself, inline, kept inert until the first plot runs it
    assert re.search(r'<script type="text/plain" id="tunelab-plotly">[^<]*plotly\.js v', text)
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', text)  # no network
    figures = figures_of(text)
    divs = re.findall(r'<div class="fig" data-lazy id="([^"]+)">', text)
    assert sorted(divs) == sorted(figures)
    expected = {"fig-history", "fig-curves", "fig-importance", "fig-parallel", "fig-slice"}
    assert expected <= set(figures)
    assert any(k.startswith("fig-contour-") for k in figures)
    for section in ("overview", "best", "effects", "importance", "next", "space", "trials"):
        assert f'id="s-{section}"' in text


def test_report_shows_configuration_best_trial_and_effect_tables(demo_study):
    sections = {s.id: s for s in build_sections(demo_study)}
    overview = sections["overview"].html
    assert "val_accuracy (maximize)" in overview and "random" in overview
    best = demo_study.best_trial
    assert f"#{best.number}" in sections["best"].html
    assert f"{best.params['learning_rate']:.4g}" in sections["best"].html
    assert "Diagnosis" in sections["best"].html
    effects = sections["effects"].html
    for name in ("learning_rate", "dropout", "optimizer"):
        assert f"<h3>{name}" in effects
    assert "median time" in effects and "pruned" in effects
    n = len(demo_study.trials)
    assert sections["trials"].title == f"All trials ({n})"
    assert sections["trials"].html.count("<tr") == n + 1


def test_user_text_is_escaped(tmp_path):
    study = tunelab.create_study("x<b>", storage=str(tmp_path / "db.sqlite"), sampler="random")
    study.enqueue({"act": "</script><b>bold</b>"})  # drawn for sure, not by chance
    for i in range(5):
        trial = study.ask()
        trial.hp.Choice("act", ["</script><b>bold</b>", "relu"])
        trial.hp.Float("lr", 1e-3, 1e-1, sampling="log")
        study.tell(trial, 0.5 + i / 10)
    text = write_report(study, tmp_path / "r.html").read_text()
    assert "</script><b>" not in text and "<b>bold" not in text
    assert "&lt;/script&gt;&lt;b&gt;bold" in text
    assert "x&lt;b&gt;" in text
    assert any("</script><b>bold</b>" in json.dumps(f) for f in figures_of(text).values())


def test_empty_study_renders_a_clear_note(tmp_path):
    study = tunelab.create_study("empty", storage=str(tmp_path / "db.sqlite"))
    text = write_report(study, tmp_path / "r.html").read_text()
    assert NO_COMPLETE in text and "has no trials" in text
    assert figures_of(text) == {}


def test_only_failed_trials_names_the_last_failure(tmp_path):
    study = tunelab.create_study("broken", storage=str(tmp_path / "db.sqlite"))
    for _ in range(3):
        trial = study.ask()
        trial.hp.Float("lr", 1e-3, 1e-1)
        study.tell(trial, state=TrialState.FAIL, reason="RuntimeError: CUDA out of memory")
    text = write_report(study, tmp_path / "r.html").read_text()
    assert (
        f"{NO_COMPLETE}: 3 trials, 3 failed; last failure: RuntimeError: CUDA out of memory" in text
    )
    assert figures_of(text) == {}


def test_write_report_refuses_a_missing_folder(demo_study, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        write_report(demo_study, tmp_path / "nope" / "r.html")


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_report(demo_study, tmp_path, capsys):
    url = demo_study.storage.url
    out = tmp_path / "report.html"
    code, _, err = run_cli(["report", "demo", "--storage", url, "-o", str(out)], capsys)
    assert code == 0 and f"wrote {out} ({len(demo_study.trials)} trials" in err
    assert "fig-parallel" in out.read_text()

    code, _, err = run_cli(["report", "nope", "--storage", url, "-o", str(out), "--force"], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: no study named 'nope' in {url}; studies here: demo"
    ]

    code, _, err = run_cli(["report", "demo", "--storage", url, "--curves-by", "zz"], capsys)
    assert code == 1 and "no trial of study 'demo' has a hyperparameter 'zz'" in err


def test_cli_report_on_an_empty_study_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tunelab.create_study("fresh", storage="t.db")
    code, _, err = run_cli(["report", "fresh", "--storage", "t.db"], capsys)
    assert code == 0
    assert "has no complete trials yet" in err
    assert Path("fresh-report.html").exists()


def test_cli_report_of_a_study_named_with_a_slash(make_study, tmp_path, capsys, monkeypatch):
    study = make_study(6, name="study/seeds")  # the name seed re-runs give their study
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["report", "study/seeds", "--storage", study.storage.url], capsys)
    assert code == 0, err
    text = Path("study-seeds-report.html").read_text(encoding="utf-8")
    assert "<title>tunelab report: study/seeds</title>" in text
    assert "<h2>Study study/seeds</h2>" in text
    assert not Path("study").exists()


def test_report_from_postgresql(postgres_url, add_trial, tmp_path):
    study = tunelab.create_study("pg", storage=postgres_url, sampler="random", seed=2)
    for i in range(8):
        add_trial(study, i)
    reopened = tunelab.load_study("pg", postgres_url)
    text = write_report(reopened, tmp_path / "pg.html").read_text()
    figures = figures_of(text)
    assert {"fig-history", "fig-curves", "fig-parallel", "fig-slice"} <= set(figures)
    assert figures["fig-history"]["data"][1]["y"][-1] == study.best_value
