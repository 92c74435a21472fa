"""What `tunelab show` and the report draw of a PBT study trained for real with
fit(..., checkpoint="last") on the bundled digits, in a SQLite file: the schedules of the
knobs PBT changes by default (learning rate on a log axis, weight decay), the lineage's
arrows, and the best trial's schedule in words."""

from __future__ import annotations

import itertools
from pathlib import Path

from click.testing import CliRunner
from torch import nn

import tunelab
from tunelab.cli.main import cli
from tunelab.report import build_sections
from tunelab.schedulers import PBTScheduler
from tunelab.study import found_schedule
from tunelab.torch import fit, load_digits

SETTINGS = dict(optimizer="adam", batch_size=128, lr_schedule="constant", patience=50, epochs=4)


def test_show_and_the_report_draw_a_fit_pbt_studys_schedules(tmp_path: Path) -> None:
    digits = load_digits()

    def objective(trial: tunelab.Trial) -> float:
        kept = {"keep_models": 0, "checkpoint": "last", "artifacts": tmp_path / "runs"}
        model = nn.Sequential(nn.Linear(64, 10))
        return fit(model, digits, trial, seed=trial.number, **kept, **SETTINGS)

    url = str(tmp_path / "pbt.db")
    study = tunelab.create_study(
        "fitpbt",
        storage=url,
        direction="maximize",
        scheduler=PBTScheduler(population_size=4, interval=1),
    )
    for lr in (1e-4, 1.2e-4, 2e-2, 3e-2):  # two trials that barely learn
        study.enqueue({"learning_rate": lr, "weight_decay": 0.0})
    study.optimize(objective, n_trials=4)
    study = tunelab.load_study("fitpbt", url)
    trials = study.trials
    stored = {
        (t.number, e["parent"], e["step"])
        for t in trials
        for e in t.system_attrs.get("schedule", [])
        if e["parent"] is not None
    }
    assert stored, "a slow trial should have taken a fast one's weights"

    figures = {fid: fig for s in build_sections(study) for fid, fig in s.figures}
    layout = figures["fig-schedules"]["layout"]
    assert layout["yaxis"]["title"]["text"] == "learning_rate (log)"
    assert layout["yaxis"]["type"] == "log"
    assert layout["yaxis2"]["title"]["text"].startswith("weight_decay")
    arrows = {(a["y"], a["ay"], a["x"]) for a in figures["fig-lineage"]["layout"]["annotations"]}
    assert arrows == stored
    best = study.best_trial
    (red,) = [
        d
        for d in figures["fig-schedules"]["data"]
        if d["yaxis"] == "y" and d["line"]["color"] == "#d62728"
    ]
    path = found_schedule(trials, best.number)
    assert red["y"][: len(path)] == [e["params"]["learning_rate"] for e in path]
    # fit reported the learning rate it trained with: the schedule drawn is the one used
    owner = {t.number: t for t in trials}
    for entry, after in itertools.pairwise([*path, {"step": best.last_step + 1}]):
        for step in range(entry["step"], after["step"]):
            lr = owner[entry["trial"]].reports[step].metrics["lr"]
            assert lr == entry["params"]["learning_rate"]

    out = CliRunner().invoke(cli, ["show", "fitpbt", "--storage", url], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    said = " ".join(out.output.split())
    assert f"PBT, best #{best.number}: learning_rate " in said
    assert "┃ steps ┃ resumes ┃" in said
