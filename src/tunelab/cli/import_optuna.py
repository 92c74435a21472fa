"""`tunelab import-optuna URL STUDY`: an Optuna study's finished trials as a tunelab study."""

from __future__ import annotations

import click

from tunelab.cli.render import STORAGE_HELP
from tunelab.types import TrialState


@click.command("import-optuna")
@click.argument("url")
@click.argument("study_name", metavar="STUDY")
@click.option("--storage", help=STORAGE_HELP)
@click.option("--name", help="Name of the new tunelab study (default: STUDY).")
def import_optuna_cmd(url: str, study_name: str, storage: str | None, name: str | None) -> None:
    """Copy the finished trials of Optuna study STUDY at URL (e.g. sqlite:///optuna.db) into
    a new tunelab study: parameters, values, states, intermediate values, user attributes."""
    from tunelab.optuna import import_study  # Optuna loads only for this command

    study = import_study(url, study_name, storage, name)
    counts = study.storage.count_trials(study.study_id)
    click.echo(
        f"imported {counts.total} trials into tunelab study {study.name!r} "
        f"({counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
        f"{counts[TrialState.FAIL]} failed); see them with: tunelab show {study.name}"
        + (f" --storage {storage}" if storage else ""),
        err=True,
    )
