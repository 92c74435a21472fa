"""`tunelab`: run studies from scripts, and look at what they found.

Every user mistake ends in one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.text import Text

import tunelab
from tunelab._terminal import PlainLogFormatter, plain, text
from tunelab.cli import budget, reading, render, tables, verbosity
from tunelab.cli import confirm as confirm_commands
from tunelab.cli import insight as insight_commands
from tunelab.cli import report as report_commands
from tunelab.cli import trackers as tracker_options
from tunelab.cli import worker as worker_commands
from tunelab.cli.common import CLIError, fail, out
from tunelab.cli.import_optuna import import_optuna_cmd
from tunelab.cli.lines import TrialLines, is_terminal
from tunelab.cli.render import STORAGE_HELP
from tunelab.cli.replay import replay_command
from tunelab.cli.script import find_objective, import_script, read_script
from tunelab.cli.starter import init_cmd
from tunelab.cli.trust import record_script
from tunelab.errors import TunelabError
from tunelab.samplers import SAMPLERS
from tunelab.schedulers import NO_SCHEDULER, SCHEDULERS
from tunelab.study.gpus import cli_gpus
from tunelab.study.optimize import stop_requested
from tunelab.types import TrialState


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tunelab.__version__, prog_name="tunelab", message="%(prog)s %(version)s")
def cli() -> None:
    """Tune the hyperparameters of deep-learning models."""


@cli.command()
@click.argument("script", type=click.Path(dir_okay=False))
@click.option("--study", "study_name", help="Study name (default: the script's file name).")
@click.option("--trials", type=click.IntRange(min=1), help="Trials the study should hold in total.")
@click.option("--add", is_flag=True, help="Run --trials more trials instead of topping up to it.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop starting trials after S seconds.",
)
@click.option(
    "--sampler",
    type=click.Choice(sorted(SAMPLERS)),
    help="Search algorithm (default: the study's, else auto).",
)
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Worker processes (default: 1, or 1 per GPU)."
)
@worker_commands.gpu_options
@click.option("--seed", type=click.IntRange(min=0), help="Seed for the sampler.")
@click.option(
    "--metric", help="Metric to optimize (default: the script's METRIC, else val_accuracy)."
)
@click.option(
    "--direction",
    type=click.Choice(["maximize", "minimize"]),
    help="Default: the script's DIRECTION, else maximize.",
)
@click.option(
    "--metrics",
    help="Several metrics to optimize at once, comma-separated, e.g. val_accuracy,n_parameters "
    "(default: the script's METRICS); needs --directions.",
)
@click.option(
    "--directions",
    help="One direction per metric of --metrics, comma-separated: max or min "
    "(default: the script's DIRECTIONS).",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="Hide the progress bar (off a terminal there is none: a line per finished trial).",
)
@click.option(
    "--scheduler",
    # "replay" needs a schedule: `tunelab replay` builds it
    type=click.Choice([NO_SCHEDULER, *sorted(n for n in SCHEDULERS if n != "replay")]),
    help="Stop poor trials early (default: the study's, else none).",
)
@click.option(
    "--lr-find",
    is_flag=True,
    help="Kit scripts: run a learning-rate range test first and search learning_rate "
    "only in the range it suggests.",
)
@click.option(
    "--confirm-top",
    type=click.IntRange(min=1),
    help="After the search, re-run the N best distinct configurations with new seeds "
    "(as tunelab confirm does).",
)
@click.option(
    "--confirm-seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Re-runs of each configuration with --confirm-top.",
)
@tracker_options.callback_option
def run(
    script: str,
    study_name: str | None,
    trials: int | None,
    add: bool,
    timeout: float | None,
    sampler: str | None,
    storage: str | None,
    jobs: int | None,
    gpus: str | None,
    trials_per_gpu: int | None,
    seed: int | None,
    metric: str | None,
    direction: str | None,
    metrics: str | None,
    directions: str | None,
    no_progress: bool,
    scheduler: str | None,
    lr_find: bool,
    confirm_top: int | None,
    confirm_seeds: int,
    trackers: list[Any],
) -> None:
    """Run SCRIPT's `objective(trial)` as a study; rerunning the same command resumes it."""
    if trials is None and timeout is None and sampler != "grid":
        raise CLIError("say how long to search: --trials N, --timeout S, or --sampler grid")
    jobs, devices = worker_commands.gpu_slots(jobs, gpus, trials_per_gpu)
    source = read_script(script)
    module = import_script(source, script)
    objective = find_objective(module, script)
    name = study_name or Path(script).stem
    if lr_find:
        insight_commands.lr_find_fit(module, script)  # refused before the study is created
    steps = budget.script_steps(module, script)
    study = tunelab.create_study(
        name,
        storage=storage,
        **objectives_options(module, metric, direction, metrics, directions),
        sampler=sampler,
        seed=seed,
        scheduler=budget.scheduler_for(scheduler, steps),
    )
    record_script(study, source.record)
    for line in budget.warnings_for(scheduler, study.scheduler, steps, script):
        if verbosity.level() != verbosity.QUIET:
            click.echo(f"warning: {plain(line)}", err=True)
    if lr_find:
        objective = insight_commands.narrowed_objective(module, script, study, out)
    before = study.storage.count_trials(study.study_id).budget_used
    quiet = verbosity.level() == verbosity.QUIET
    lines = not quiet and (verbosity.level() == verbosity.VERBOSE or not is_terminal())
    if not quiet:
        out.print(
            Text.assemble(
                "study ",
                text(study.name, "bold"),
                text(
                    f" in {study.storage.url} · {study.sampler!r} · "
                    f"{study.scheduler or 'no scheduler'} · {before} trials so far"
                    + worker_commands.gpus_note(devices)
                ),
            )
        )
    started = time.time()
    try:
        study.optimize(
            objective,
            n_trials=trials,
            timeout=timeout,
            n_jobs=jobs,
            add=add,
            show_progress_bar=not (no_progress or quiet or lines),
            gpus=None if gpus is None else cli_gpus(gpus),
            trials_per_gpu=trials_per_gpu,
            callbacks=[*trackers, TrialLines()] if lines else trackers,
            confirm_top=confirm_top,
            confirm_seeds=confirm_seeds,
        )
    except KeyboardInterrupt:
        counts = study.storage.count_trials(study.study_id)
        click.echo(
            f"\ninterrupted: {counts.budget_used} trials are stored in {study.storage.url}; "
            "rerun the same command to resume",
            err=True,
        )
        sys.exit(130)
    if stop_requested(study, started):
        out.print("stopped: a stop was asked (tunelab stop or study.stop()); rerun to go on")
    _summary(study)
    if confirm_top is not None:
        confirm_commands.print_confirmation(out, study)


def objectives_options(
    module: Any,
    metric: str | None,
    direction: str | None,
    metrics: str | None,
    directions: str | None,
) -> dict[str, Any]:
    """create_study's objective arguments: the command's options over the script's
    METRICS/DIRECTIONS (several objectives) or METRIC/DIRECTION (one)."""
    if metrics is None and directions is not None:
        raise CLIError(
            "--directions goes with --metrics; give both, e.g. --metrics a,b --directions max,min"
        )
    if metrics is not None and (metric is not None or direction is not None):
        raise CLIError(
            "give either --metric/--direction (one objective) or --metrics/"
            "--directions (several), not both"
        )
    if metrics is not None and directions is None:
        raise CLIError("--metrics needs --directions, one per metric, e.g. --directions max,min")
    if metrics is not None:
        return {"metrics": _split(metrics), "directions": _split(directions or "")}
    if metric is None and direction is None and hasattr(module, "METRICS"):
        return {"metrics": module.METRICS, "directions": getattr(module, "DIRECTIONS", None)}
    return {
        "metric": str(metric or getattr(module, "METRIC", "val_accuracy")),
        "direction": str(direction or getattr(module, "DIRECTION", "maximize")),
    }


def _split(names: str) -> list[str]:
    return [n.strip() for n in names.split(",")] if names.strip() else []


def _summary(study: Any) -> None:
    counts = study.storage.count_trials(study.study_id)
    out.print(
        f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
        f"{counts[TrialState.FAIL] - counts.interrupted} failed"
        + (f", {counts.interrupted} interrupted" if counts.interrupted else "")
    )
    if study.multi_objective:
        front = render.pareto_front(study, out.width)
        if front is not None:
            out.print(front)
        return
    top = study.top_trials(1)
    if top:
        best = top[0]
        fixed = tables.fixed_settings(study.get_trials())
        if fixed:
            out.print(tables.fixed_line(fixed, render.fmt))
        out.print(
            render.params_table(
                dict(best.params),
                f"best trial #{best.number}: {study.metric} = {render.fmt(best.value)}",
                fixed,
            )
        )


for _command in (*reading.COMMANDS, *worker_commands.COMMANDS):
    cli.add_command(_command)  # studies, show, export, delete; worker, status, retry, stop
cli.add_command(insight_commands.lr_find_command)
cli.add_command(insight_commands.seed_spread_command)
cli.add_command(confirm_commands.confirm_command)
cli.add_command(replay_command)
cli.add_command(report_commands.report_cmd)
cli.add_command(report_commands.dashboard_cmd)
cli.add_command(import_optuna_cmd)
cli.add_command(init_cmd)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@click.argument("url")
@click.option("--force", is_flag=True, help="Overwrite a backup copy left by an earlier upgrade.")
def upgrade(url: str, force: bool) -> None:
    """Create or upgrade the tunelab schema in URL; stop its workers first.

    A SQLite file is first copied to FILE.vN-backup (N: its old version). PostgreSQL is
    upgraded in one transaction, all or nothing, with no copy: take one with pg_dump
    first if you want it."""
    from tunelab.storage.sql.engine import make_engine
    from tunelab.storage.sql.migrations import Upgrade, upgrade_database

    def before(plan: Upgrade) -> None:
        if plan.backup is not None:
            click.echo(f"copied the v{plan.start} database to {plan.backup}")
        else:
            click.echo(
                "upgrading in one transaction (all or nothing); tunelab makes no copy of a "
                "database server's data (pg_dump makes one)"
            )

    engine = make_engine(url)
    try:
        done = upgrade_database(engine, force=force, before=before)
    finally:
        engine.dispose()
    click.echo(
        f"schema version {done.start} -> {done.end}"
        if done.start != done.end
        else f"schema is current (v{done.end})"
    )


def _with_verbosity(command: click.Command) -> None:
    """-q and -v on the group and on every command under it."""
    verbosity.options(command)
    for sub in getattr(command, "commands", {}).values():
        _with_verbosity(sub)


_with_verbosity(cli)


def _log_to_stderr() -> None:
    """Warnings nobody configured logging for (a failed trial and its reason) go to
    stderr as Python's handler of last resort prints them, with user text made inert."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(PlainLogFormatter("%(message)s"))
    logging.lastResort = handler


def main(argv: list[str] | None = None) -> None:
    _log_to_stderr()
    verbosity.reset()
    try:
        cli.main(args=argv, prog_name="tunelab", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        if isinstance(e, CLIError):
            e.show()
        else:
            click.echo(f"error: {plain(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except (TunelabError, ValueError, ImportError, OSError) as e:  # OSError: a path it cannot use
        fail(e).show()
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
