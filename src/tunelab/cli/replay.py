"""`tunelab replay STUDY --trial N --script FILE`: re-run the schedule of values that
population-based training found for trial N (through its lineage) as a fixed schedule on
a fresh trial of the sibling study `STUDY/replay-N`, and print both results."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

import tunelab
from tunelab._terminal import console, text
from tunelab.cli.render import STORAGE_HELP, fmt
from tunelab.cli.script import find_objective, import_script
from tunelab.cli.trust import announce, use_stored_script_option, worker_script
from tunelab.study import found_schedule, replay, replay_name


def schedule_table(number: int, schedule: list[dict[str, Any]]) -> Table:
    """One row per change: the first step trained with the values, whose weights, the values."""
    t = Table(title=text(f"schedule found for trial {number}"), title_justify="left")
    for col in ("from step", "trial", "values"):
        t.add_column(col, justify="left" if col == "values" else "right")
    for entry in schedule:
        params = entry["params"]
        shown = ", ".join(f"{k}={fmt(v, digits=4)}" for k, v in params.items())
        t.add_row(str(entry["step"]), f"#{entry['trial']}", text(shown))
    return t


@click.command(name="replay")
@click.argument("study_name", metavar="STUDY")
@click.option("--trial", "number", type=click.IntRange(min=0), required=True, help="Trial number.")
@click.option("--storage", help=STORAGE_HELP)
@click.option("--script", type=click.Path(dir_okay=False), help="File defining objective(trial).")
@use_stored_script_option
def replay_command(
    study_name: str, number: int, storage: str | None, script: str | None, use_stored: bool
) -> None:
    """Re-run the hyperparameter schedule PBT found for trial N as a fixed schedule on a
    fresh trial (study STUDY/replay-N): the values change at the same steps, the weights
    are the new trial's own throughout."""
    out = console()
    study = tunelab.load_study(study_name, storage)
    schedule = found_schedule(study.trials, number)  # refused before any script runs
    out.print(schedule_table(number, schedule))
    chosen = worker_script(study.name, study.settings, script, use_stored)
    announce(out, study.name, study.settings, chosen)
    shown = script or chosen.record.path
    objective = find_objective(import_script(chosen, shown), shown)
    again = replay(study, number, objective)
    original = next(t for t in study.trials if t.number == number)
    out.print(
        text(
            f"trial {number}: {study.metric} {fmt(original.value, digits=4)}; replayed as "
            f"trial {again.number} of {replay_name(study, number)}: {again.state.value} "
            f"{fmt(again.value, digits=4)}"
        ),
        soft_wrap=True,
    )
