"""What every bad-input case shares: a small real study to work on, the CLI run in this
process the way `python -m tunelab` runs it, and the checks each case makes (one line,
no traceback, nothing stored changed)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

import tunelab
from tunelab.cli.main import main
from tunelab.errors import TunelabError
from tunelab.types import TrialState

STUDY = "demo"  # the study every copied database holds
METRIC = "loss"
TABLES = ("tunelab_meta", "tunelab_studies", "tunelab_params", "tunelab_trials", "tunelab_reports")


def fill_study(storage: str) -> None:
    """STUDY in `storage`: three complete trials with reports and a user attribute, one
    failed and one pruned, over a float, an int and a choice."""
    study = tunelab.create_study(
        STUDY, storage=storage, metric=METRIC, direction="minimize", sampler="random", seed=3
    )
    for number in range(5):
        trial = study.ask()
        x = trial.hp.Float("x", -2.0, 2.0)
        trial.hp.Int("layers", 1, 3)
        trial.hp.Choice("act", ["relu", "tanh"])
        trial.report(0, loss=x * x + 1.0)
        trial.set_user_attr("note", f"trial {number}")
        if number == 3:
            study.tell(trial, state=TrialState.FAIL, reason="ValueError: made to fail")
        elif number == 4:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, {METRIC: x * x, "acc": 0.5})
    study.close()
    study.storage.close()


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (recursively) and its bytes. SQLite's shared-memory index
    (-shm) is left out: a reader may rewrite it; an empty write-ahead log (-wal) counts as
    none: a reader may create one; any write would fill it."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.endswith("-shm"):
            continue
        data = path.read_bytes()
        if path.name.endswith("-wal") and not data:
            continue
        out[str(path.relative_to(folder))] = data
    return out


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tunelab table of a SQLite file (write-ahead log included)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    finally:
        con.close()


def postgres_connect(url: str) -> psycopg.Connection:
    """A plain connection to the database of a SQLAlchemy PostgreSQL URL."""
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def postgres_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tunelab table of a PostgreSQL database."""
    with postgres_connect(url) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def one_line(text: str) -> str:
    """The one line `text` holds (a traceback or a second line fails the case)."""
    assert "Traceback" not in text, text
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def refused(action: Callable[[], Any], fragment: str) -> TunelabError:
    """Run `action`, which must raise one of tunelab's own errors (never an internal
    TypeError or AttributeError) whose one-line message holds `fragment`."""
    with pytest.raises(TunelabError) as caught:
        action()
    message = one_line(str(caught.value))
    assert fragment in message, message
    return caught.value


def run_cli(args: list[str], input: str | None = None) -> tuple[int, str, str]:
    """`tunelab ARGS` in this process, through the same `main` as `python -m tunelab`:
    (exit code, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation(input=input) as streams:
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out = streams[0].getvalue().decode()
        err = streams[1].getvalue().decode()
    return code, out, err


def cli_refuses(args: list[str], fragment: str, input: str | None = None) -> str:
    """`tunelab ARGS` must exit non-zero with one line on stderr that holds `fragment`."""
    code, _, err = run_cli(args, input)
    line = one_line(err)
    assert code != 0, (code, err)
    assert fragment in line, line
    return line
