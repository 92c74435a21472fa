"""`tunelab confirm STUDY --top 5 --seeds 3`: re-run the best distinct configurations with
new seeds and say whether the best beats the runner-up beyond seed noise; `tunelab show`
prints the same block once a study has re-runs."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

import tunelab
from tunelab._terminal import console, text
from tunelab.cli.render import STORAGE_HELP, fmt
from tunelab.cli.script import find_objective, import_script
from tunelab.cli.trust import announce, use_stored_script_option, worker_script
from tunelab.insight import Confirmation, confirm, confirmation
from tunelab.insight.noise import spread_text
from tunelab.study import Study
from tunelab.study.confirm import plan as confirm_plan


def confirmation_table(found: Confirmation) -> Table:
    """One row per configuration, best mean first: its trials, the original value (picked
    for being best, so apart) and the re-runs' mean ± 95% t-interval."""
    t = Table(
        title=text(
            f"{found.metric} over new seeds: mean ± 95% interval (re-runs in {found.reruns})"
        ),
        title_justify="left",
    )
    for col in ("config", "same as", "original", "re-runs", "min", "max"):
        t.add_column(col, justify="left" if col == "re-runs" else "right")
    for c in found.configs:
        note = f"; {c.failed} failed" if c.failed else ""
        note += f"; {c.pending} to run" if c.pending else ""
        t.add_row(
            c.label,
            " ".join(f"#{n}" for n in c.trials[1:]) or "-",
            fmt(c.original, digits=4),
            text(spread_text(c.interval) + note),
            fmt(min(c.values), digits=4) if c.values else "-",
            fmt(max(c.values), digits=4) if c.values else "-",
        )
    return t


def print_confirmation(out: Console, study: Study) -> None:
    """The study's confirmation table and verdict, when it has one."""
    found = confirmation(study)
    if found is None:
        return
    out.print(confirmation_table(found))
    out.print(text(found.verdict), soft_wrap=True)


@click.command(name="confirm")
@click.argument("study_name", metavar="STUDY")
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Distinct configurations to re-run, best first.",
)
@click.option(
    "--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="Re-runs of each."
)
@click.option("--script", type=click.Path(dir_okay=False), help="File defining objective(trial).")
@use_stored_script_option
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes running the re-runs.",
)
def confirm_command(
    study_name: str,
    storage: str | None,
    top: int,
    seeds: int,
    script: str | None,
    use_stored: bool,
    jobs: int,
) -> None:
    """Re-run STUDY's best distinct configurations with new seeds: mean ± spread, and
    whether the best beats the runner-up beyond seed noise. Re-runs already done are kept;
    with none missing, no script is needed."""
    out = console()
    study = tunelab.load_study(study_name, storage)
    todo = confirm_plan(study, top, seeds)
    if todo.missing + todo.waiting == 0 and script is None and not use_stored:
        found = confirm(study, _never_called, top, seeds)
    else:
        chosen = worker_script(study.name, study.settings, script, use_stored)
        announce(out, study.name, study.settings, chosen)
        shown = script or chosen.record.path
        objective = find_objective(import_script(chosen, shown), shown)
        found = confirm(study, objective, top, seeds, n_jobs=jobs)
    out.print(confirmation_table(found))
    out.print(text(found.verdict), soft_wrap=True)


def _never_called(trial: object) -> None:
    raise RuntimeError("no re-run was missing, yet one ran")  # pragma: no cover
