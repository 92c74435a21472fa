"""`-q` / `-v`: how much a command says besides its result.

Both are taken by the `tunelab` group and by every command (`tunelab -q run …` and
`tunelab run … -q` mean the same). Quiet: no header, progress bar or per-trial lines,
no warnings; the result and errors only. Verbose: a line per finished trial even on a
terminal (instead of the bar), and tunelab's informational log lines on stderr."""

from __future__ import annotations

import logging
from typing import Any

import click

QUIET, NORMAL, VERBOSE = -1, 0, 1
_asked: set[int] = set()


def level() -> int:
    """QUIET, NORMAL or VERBOSE, as the command line asked."""
    if QUIET in _asked:
        return QUIET
    return VERBOSE if VERBOSE in _asked else NORMAL


def reset() -> None:
    """Forget earlier flags (a new command line in the same process, as tests run them)."""
    _asked.clear()
    logging.getLogger("tunelab").setLevel(logging.NOTSET)


def _set(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value:
        return
    wanted = QUIET if param.name == "quiet" else VERBOSE
    if (QUIET if wanted == VERBOSE else VERBOSE) in _asked:
        raise click.UsageError("-q and -v do not go together; give one of them")
    _asked.add(wanted)
    logger = logging.getLogger("tunelab")
    logger.setLevel(logging.ERROR if wanted == QUIET else logging.INFO)
    if wanted == VERBOSE and logging.lastResort is not None:
        logging.lastResort.setLevel(logging.INFO)


def options(command: Any) -> Any:
    """Add `-q/--quiet` and `-v/--verbose` to a click command or group."""
    for name, flag, short, helptext in (
        (
            "verbose",
            "--verbose",
            "-v",
            "Say more: each database retry; run: a line per trial even on a terminal.",
        ),
        ("quiet", "--quiet", "-q", "Print only the result and errors (no progress, no warnings)."),
    ):
        command.params.append(
            click.Option(
                [short, flag, name],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_set,
                help=helptext,
            )
        )
    return command
