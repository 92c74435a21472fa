"""The commands that read or remove what a storage holds: studies, show, export, delete."""

from __future__ import annotations

import click
from rich.text import Text

import tunelab
from tunelab._terminal import plain, text
from tunelab.cli import as_json, export, render, tables
from tunelab.cli import confirm as confirm_commands
from tunelab.cli import insight as insight_commands
from tunelab.cli.common import CLIError, out
from tunelab.cli.completion import complete_study
from tunelab.cli.render import STORAGE_HELP
from tunelab.types import TrialState


@click.command()
@click.option("--storage", help=STORAGE_HELP)
@as_json.json_option
def studies(storage: str | None, json_: bool = False) -> None:
    """List the studies in a storage."""
    summaries = tunelab.list_studies(storage)
    if json_:
        return as_json.echo(as_json.studies_document(summaries))
    if not summaries:
        out.print("no studies yet")
        return
    out.print(render.studies_table(summaries))


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--top",
    "top_k",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many of the best trials to list.",
)
@click.option("--effects", is_flag=True, help="Per hyperparameter: trials, best, median, time.")
@click.option("--importance", "importance_", is_flag=True, help="fANOVA importance.")
@click.option(
    "--diagnose",
    "diagnose_",
    is_flag=False,
    flag_value="best",
    default=None,
    metavar="[TRIAL]",
    help="Fit diagnosis of trial TRIAL (default: the best; 'all': one line per trial).",
)
@click.option("--next", "next_", is_flag=True, help="Ranges to search in a follow-up study.")
@click.option(
    "--pareto", is_flag=True, help="Only the Pareto front (a study of several objectives)."
)
@as_json.json_option
def show(
    study_name: str,
    storage: str | None,
    top_k: int,
    effects: bool = False,
    importance_: bool = False,
    diagnose_: str | None = None,
    next_: bool = False,
    pareto: bool = False,
    json_: bool = False,
) -> None:
    """Show a study's best trials and best hyperparameters (with several objectives: its
    Pareto front, sorted by the first)."""
    study = tunelab.load_study(study_name, storage)
    if pareto and not study.multi_objective:
        raise CLIError(
            f"study {plain(study.name)!r} has one objective ({plain(study.metric)}), so no "
            "Pareto front; --pareto is for studies run with several metrics "
            "(tunelab run --metrics a,b --directions max,min)"
        )
    if json_:
        return as_json.show_json(study, top_k, effects or importance_ or diagnose_ or next_)
    if pareto:
        front = render.pareto_front(study, out.width)
        out.print(front if front is not None else "no feasible complete trial yet")
        return
    if effects or importance_ or diagnose_ is not None or next_:
        insight_commands.show_insight(out, study, effects, importance_, diagnose_, next_)
        return
    counts = study.storage.count_trials(study.study_id)
    out.print(
        Text.assemble(
            "study ",
            text(study.name, "bold"),
            text(
                f" · {render.objectives_text(study)} · {counts.total} trials "
                f"({counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
                f"{counts[TrialState.FAIL]} failed, {counts[TrialState.RUNNING]} running"
                + (f", {counts[TrialState.PAUSED]} paused" if counts[TrialState.PAUSED] else "")
                + ")"
            ),
        )
    )
    if counts[TrialState.PAUSED]:
        paused = study.storage.get_trials(study.study_id, [TrialState.PAUSED], with_reports=False)
        for line in render.repaused_lines(paused):
            out.print(line)
    top = study.top_trials(top_k)
    failed = study.storage.get_trials(study.study_id, [TrialState.FAIL], with_reports=False)
    kept = render.kept_lines(study.storage.get_trials(study.study_id, with_reports=False))
    if not top:
        out.print("no complete trial yet")
        if failed:
            out.print(render.failures_table(failed, study.name))
        for line in kept:
            out.print(line)
        return
    trials = study.trials
    fixed = tables.fixed_settings(trials)
    if study.multi_objective:
        out.print(render.pareto_front(study, out.width) or "")
    else:
        extra = render.effort_columns(top, trials)
        out.print(
            render.trials_table(
                top, study.metrics, f"top {len(top)} trials", out.width, fixed, extra
            )
        )
    pruning = render.pruning_table(trials, study.scheduler)
    if pruning is not None:
        out.print(pruning)
        for check in (render.curve_model_text(trials, study) or "").splitlines():
            out.print(text(check))
    for line in render.training_lines(study, trials):
        out.print(line)
    if failed:
        out.print(render.failures_table(failed, study.name))
    if not study.multi_objective:
        out.print(render.params_table(dict(top[0].params), "best hyperparameters", fixed))
        confirm_commands.print_confirmation(out, study)
    for line in kept:
        out.print(line)


@click.command(name="export")
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="Write CSV (one row per trial) or JSON (the study with its trials).",
)
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
def export_cmd(
    study_name: str, fmt: str, storage: str | None, output: str | None, force: bool
) -> None:
    """Export every trial of a study as CSV or JSON."""
    target = export.output_path(output, force) if output else None
    study = tunelab.load_study(study_name, storage)
    trials = study.trials
    if fmt == "json":
        text = export.to_json(
            trials,
            {
                "name": study.name,
                "metric": study.metric,
                "direction": study.direction.value,
                "objectives": [o.to_json() for o in study.objectives],
                "constraints": [c.to_json() for c in study.constraints],
            },
        )
    else:
        text = export.to_csv(trials)
    if target is not None:
        export.write_output(target, text)
        click.echo(f"wrote {len(trials)} trials to {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(study_name: str, storage: str | None, yes: bool) -> None:
    """Delete a study and all its trials."""
    if not yes and not click.confirm(f"delete study {study_name!r} and all its trials?"):
        raise CLIError("not deleted")
    tunelab.delete_study(study_name, storage)
    click.echo(f"deleted study {study_name!r}", err=True)


COMMANDS = (studies, show, export_cmd, delete)
