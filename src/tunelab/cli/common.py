"""What every command module shares: the console it prints to and its one-line error."""

from __future__ import annotations

from typing import Any

import click

from tunelab._terminal import console, plain
from tunelab.errors import first_line

out = console()


class CLIError(click.ClickException):
    """A user mistake or a failed command: printed as one `error: …` line on stderr."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {plain(self.message)}", err=True)


def fail(e: BaseException) -> CLIError:
    """The error `e` as one CLI line (its first line)."""
    return CLIError(first_line(e))
