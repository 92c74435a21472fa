"""`tunelab report` and `tunelab dashboard`: a study as one HTML file, or all studies
of a storage live in the browser. The report package is imported only when used."""

from __future__ import annotations

import sys

import click

import tunelab
from tunelab._terminal import plain
from tunelab.cli.completion import complete_study
from tunelab.cli.export import cannot_write, output_path
from tunelab.cli.render import STORAGE_HELP
from tunelab.types import TrialState


@click.command(name="report")
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="HTML file to write (default: STUDY-report.html, any / in the name as -).",
)
@click.option("--curves-by", help="Hyperparameter that colours the learning curves.")
@click.option("--force", is_flag=True, help="Replace the HTML file if it exists.")
def report_cmd(
    study_name: str, storage: str | None, output: str | None, curves_by: str | None, force: bool
) -> None:
    """Write STUDY's report: one self-contained HTML file with every plot and table."""
    from tunelab.report import write_report
    from tunelab.report.html import report_file_name

    if output is not None:
        output_path(output, force)
    study = tunelab.load_study(study_name, storage)
    target = output_path(output or report_file_name(study.name), force)
    trials = study.trials
    if curves_by is not None and not any(curves_by in t.params for t in trials):
        raise click.ClickException(
            f"no trial of study {study.name!r} has a hyperparameter {curves_by!r}; "
            "give one of: " + ", ".join(sorted({n for t in trials for n in t.params}) or ["(none)"])
        )
    try:
        write_report(study, target, curves_by=curves_by)
    except OSError as e:
        raise cannot_write(target, e) from None
    complete = sum(t.state is TrialState.COMPLETE for t in trials)
    size = target.stat().st_size / 1e6
    click.echo(f"wrote {plain(target)} ({len(trials)} trials, {size:.1f} MB)", err=True)
    if not complete:
        click.echo(
            f"note: study {study.name!r} has no complete trials yet; the report shows its "
            "configuration and trials only",
            err=True,
        )


@click.command(name="dashboard")
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (other machines can reach 0.0.0.0: use with care).",
)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
def dashboard_cmd(storage: str | None, host: str, port: int) -> None:
    """Serve a live, read-only web view of the studies in a storage."""
    from tunelab.report.dashboard import DashboardApp, make_server, serve

    store = tunelab.get_storage(storage, create_schema=False)
    server = make_server(DashboardApp(store), host, port)
    try:
        serve(server)
    except KeyboardInterrupt:
        click.echo("dashboard stopped", err=True)
        sys.exit(0)
