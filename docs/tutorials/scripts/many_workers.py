"""The many-workers tutorial's output: two `tunelab worker` processes share one study of
the seed example, first in a SQLite file, then in PostgreSQL (a database
`tunelab_tutorial` on 127.0.0.1, created if missing); `tunelab status` and `tunelab show`
afterwards. The commands and what they printed are saved for the page.

    PYTHONPATH=src python docs/tutorials/scripts/many_workers.py
"""

from __future__ import annotations

import os
import subprocess
import sys

import _common

SCRIPT = str(_common.ROOT / "examples" / "run_hparam_tuning.py")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tunelab_tutorial"


def workers(storage: str, shown: str, trials: int = 8) -> str:
    """Start two workers at once on `storage`; return their commands and output."""
    env = dict(os.environ, COLUMNS="80", NO_COLOR="1", PYTHONPATH=str(_common.ROOT / "src"))
    args = [
        "worker", "digits", "--storage", storage, "--script", SCRIPT, "--trials", str(trials),
    ]  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tunelab", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=_common.WORK,
        )
        for _ in range(2)
    ]
    text = ""
    for i, proc in enumerate(procs, 1):
        out, _ = proc.communicate(timeout=600)
        command = (
            " ".join(args).replace(storage, shown).replace(SCRIPT, "examples/run_hparam_tuning.py")
        )
        text += f"$ tunelab {command}     # terminal {i}\n{out}\n"
    return text.replace(str(_common.WORK) + "/", "").replace(str(_common.ROOT) + "/", "")


def trial_table(storage: str, name: str) -> str:
    """Which worker ran which trial, as a markdown table written to the assets."""
    import tunelab

    study = tunelab.load_study("digits", storage=storage)
    workers = sorted({t.worker or "-" for t in study.trials})
    rows = [
        (
            t.number,
            f"worker {workers.index(t.worker or '-') + 1}",
            f"{t.value:.4f}" if t.value is not None else "-",
            f"{t.duration:.1f}" if t.duration is not None else "-",
        )
        for t in sorted(study.trials, key=lambda t: t.number)
    ]
    return str(_common.write(name, _common.table(["trial", "run by", "val_accuracy", "s"], rows)))


def fresh_pg_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS tunelab_tutorial")
        conn.execute("CREATE DATABASE tunelab_tutorial")


def main() -> None:
    sqlite = _common.fresh_storage("workers")
    text = workers(sqlite, "workers.db")
    text += _common.cli("status", "digits", "--storage", sqlite)
    text += _common.cli("show", "digits", "--storage", sqlite, "--top", "5")
    _common.write("workers-sqlite.txt", text)
    trial_table(sqlite, "workers-sqlite-trials.txt")
    fresh_pg_database()
    shown = PG_URL
    text = workers(PG_URL, shown)
    text += _common.cli("status", "digits", "--storage", PG_URL).replace(PG_URL, shown)
    _common.write("workers-postgres.txt", text)
    trial_table(PG_URL, "workers-postgres-trials.txt")


if __name__ == "__main__":
    with _common.Clock():
        main()
