"""`tunelab run --callback NAME[=WHERE]`: experiment trackers from the command line.

    --callback mlflow[=TRACKING_URI]   default: MLFLOW_TRACKING_URI, else MLflow's ./mlflow.db
    --callback tensorboard[=LOG_DIR]   default: ./runs
    --callback wandb[=PROJECT]         default: WANDB_PROJECT, else the study's name;
                                       WANDB_MODE and WANDB_DIR as W&B reads them

The trackers are made while the options are read, before the study is opened, so a
missing library or a directory that cannot be written stops the command with one line
and no trial run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

TENSORBOARD_DIR = "runs"


def _mlflow(where: str | None) -> Any:
    from tunelab.integrations import MLflowCallback

    return MLflowCallback(tracking_uri=where)


def _tensorboard(where: str | None) -> Any:
    from tunelab.integrations import TensorBoardCallback

    return TensorBoardCallback(where or TENSORBOARD_DIR)


def _wandb(where: str | None) -> Any:
    from tunelab.integrations import WandbCallback

    return WandbCallback(project=where)


TRACKERS: dict[str, Callable[[str | None], Any]] = {
    "mlflow": _mlflow,
    "tensorboard": _tensorboard,
    "wandb": _wandb,
}


def build(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[Any]:
    """The trackers named by each `--callback NAME[=WHERE]`, in order."""
    made = []
    for value in values:
        name, _, where = value.partition("=")
        make = TRACKERS.get(name.strip().lower())
        if make is None:
            raise click.BadParameter(
                f"unknown tracker {name!r}: choose {', '.join(sorted(TRACKERS))}, "
                "e.g. --callback mlflow or --callback tensorboard=logs",
                ctx,
                param,
            )
        made.append(make(where.strip() or None))
    return made


callback_option = click.option(
    "--callback",
    "trackers",
    multiple=True,
    metavar="NAME[=WHERE]",
    callback=build,
    help="Record each trial in an experiment tracker (repeatable): mlflow[=TRACKING_URI], "
    "tensorboard[=LOG_DIR] (default ./runs) or wandb[=PROJECT].",
)
