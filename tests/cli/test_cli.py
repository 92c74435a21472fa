"""The `tunelab` command, run as a real subprocess."""

from __future__ import annotations

import csv
import functools
import io
import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from cli_process import run_tunelab, start_tunelab
from tunelab.storage.sql import schema

SCRIPT = """
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    x = trial.hp.Float("x", -4, 4, step=0.5)
    kind = trial.hp.Choice("kind", ["a", "b"])
    trial.report(0, loss=(x - 1) ** 2)
    return {"loss": (x - 1) ** 2 + (kind == "b"), "width": x}
"""


tunelab = functools.partial(run_tunelab, timeout=120)  # seconds: a run of a few trials


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "quad.py").write_text(SCRIPT)
    return tmp_path


def count_trials(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from tunelab_trials").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def test_run_then_rerun_resumes_to_the_same_total(work):
    first = tunelab("run", "quad.py", "--trials", "6", "--seed", "1", "--no-progress", cwd=work)
    assert first.returncode == 0, first.stderr
    assert "6 complete" in first.stdout and "best trial" in first.stdout
    assert count_trials(work / "tunelab.db") == 6
    again = tunelab("run", "quad.py", "--trials", "6", "--no-progress", cwd=work)
    assert again.returncode == 0 and "6 trials so far" in again.stdout
    assert count_trials(work / "tunelab.db") == 6
    more = tunelab("run", "quad.py", "--trials", "3", "--add", "--no-progress", cwd=work)
    assert more.returncode == 0
    assert count_trials(work / "tunelab.db") == 9


def test_studies_show_and_export(work):
    assert tunelab("run", "quad.py", "--trials", "5", "--no-progress", cwd=work).returncode == 0
    studies = tunelab("studies", cwd=work)
    assert studies.returncode == 0 and "quad" in studies.stdout and "minimize" in studies.stdout
    show = tunelab("show", "quad", "--top", "3", cwd=work)
    assert show.returncode == 0 and "top 3 trials" in show.stdout
    assert "best hyperparameters" in show.stdout

    rows = list(csv.DictReader(io.StringIO(tunelab("export", "quad", cwd=work).stdout)))
    assert len(rows) == 5 and {"params_x", "params_kind", "metrics_loss", "metrics_width"} <= set(
        rows[0]
    )
    data = json.loads(tunelab("export", "quad", "--format", "json", cwd=work).stdout)
    assert data["study"]["metric"] == "loss" and len(data["trials"]) == 5
    assert data["trials"][0]["reports"][0]["step"] == 0
    out = tunelab("export", "quad", "--format", "json", "-o", "t.json", cwd=work)
    assert out.returncode == 0 and json.loads((work / "t.json").read_text())["trials"]


def test_grid_runs_every_cell_once_with_two_jobs(work):
    result = tunelab(
        "run", "quad.py", "--sampler", "grid", "--jobs", "2", "--no-progress", cwd=work
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(work / "tunelab.db") as conn:
        params = [r[0] for r in conn.execute("select params_json from tunelab_trials")]
    assert len(params) == 17 * 2 and len(set(params)) == 17 * 2


ERRORS = [
    (["run", "missing.py", "--trials", "2"], "no such script"),
    (["run", "noobj.py", "--trials", "2"], "defines no `objective(trial)`"),
    (["run", "nodata.py", "--trials", "2"], "defines build_model(hp) but no `DATA`"),
    (["run", "syntax.py", "--trials", "2"], "syntax error at line 1"),
    (["run", "importfail.py", "--trials", "2"], "failed to load (line 2): ModuleNotFoundError"),
    (["run", "quad.py"], "say how long to search"),
    (["run", "quad.py", "--trials", "2", "--storage", "sqlite:/x"], "malformed storage URL"),
    (["run", "quad.py", "--trials", "2", "--storage", "nodir/sub/t.db"], "does not exist"),
    (["run", "quad.py", "--trials", "2", "--storage", "junk.db"], "not a SQLite database"),
    (["show", "nope"], "no study named 'nope'"),
    (["studies", "--storage", "absent.db"], "no database at"),
    (["run", "quad.py", "--trials", "0"], "Invalid value for '--trials'"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[e[1][:24] for e in ERRORS])
def test_user_mistakes_get_one_line_and_a_nonzero_exit(work, args, message):
    (work / "noobj.py").write_text("x = 1\n")
    (work / "nodata.py").write_text("def build_model(hp):\n    return None\n")
    (work / "syntax.py").write_text("def objective(:\n")
    (work / "importfail.py").write_text("import os\nimport not_a_module_xyz\n")
    (work / "junk.db").write_text("this is not a database\n")
    tunelab("run", "quad.py", "--trials", "1", "--no-progress", cwd=work)
    junk_before = (work / "junk.db").read_bytes()
    result = tunelab(*args, cwd=work)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (work / "junk.db").read_bytes() == junk_before
    assert not (work / "absent.db").exists()


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(work):
    (work / "slow.py").write_text(
        "import time\n"
        "def objective(trial):\n"
        "    x = trial.hp.Float('x', 0, 1)\n"
        "    time.sleep(0.3)\n"
        "    return x\n"
    )
    args = ["run", "slow.py", "--trials", "6", "--no-progress"]
    proc = start_tunelab(*args, cwd=work)
    deadline = time.time() + 30
    while time.time() < deadline:
        if (work / "tunelab.db").exists() and count_trials(work / "tunelab.db") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "rerun the same command to resume" in err and "Traceback" not in err
    with sqlite3.connect(work / "tunelab.db") as conn:
        states = [r[0] for r in conn.execute("select state from tunelab_trials")]
    assert "RUNNING" not in states

    result = run_tunelab(*args, cwd=work, timeout=60)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(work / "tunelab.db") as conn:
        done = conn.execute(
            "select count(*) from tunelab_trials where state='COMPLETE'"
        ).fetchone()[0]
    assert done == 6


def test_db_upgrade_creates_reports_current_and_refuses_foreign_files(work):
    created = tunelab("db", "upgrade", "fresh.db", cwd=work)
    assert (
        created.returncode == 0 and f"schema version 0 -> {schema.SCHEMA_VERSION}" in created.stdout
    )
    current = tunelab("db", "upgrade", "fresh.db", cwd=work)
    assert (
        current.returncode == 0
        and f"schema is current (v{schema.SCHEMA_VERSION})" in current.stdout
    )
    with sqlite3.connect(work / "other.db") as conn:
        conn.execute("create table notes (body text)")
    before = (work / "other.db").read_bytes()
    foreign = tunelab("db", "upgrade", "other.db", cwd=work)
    assert foreign.returncode == 1 and "not a tunelab database" in foreign.stderr
    assert (work / "other.db").read_bytes() == before
    with sqlite3.connect(work / "fresh.db") as conn:  # a version no tunelab wrote, no Alembic
        conn.execute("update tunelab_meta set value='0' where key='schema_version'")
        conn.execute("drop table tunelab_alembic_version")
    unknown = tunelab("db", "upgrade", "fresh.db", cwd=work)
    assert unknown.returncode == 1 and "no migration from schema version 0" in unknown.stderr
    assert not (work / "fresh.db.v0-backup").exists()  # refused before any copy was made


def test_a_script_with_build_model_and_data_trains_with_the_kit(work):
    (work / "kit.py").write_text(
        "from torch import nn\n"
        "from tunelab import torch as tl_torch\n"
        "DATA = tl_torch.load_digits()\n"
        "FIT = dict(epochs=2, optimizer='adam')\n"
        "def build_model(hp):\n"
        "    return tl_torch.MLP(hp, DATA.in_features, DATA.num_classes, max_layers=2)\n"
    )
    result = tunelab("run", "kit.py", "--trials", "2", "--seed", "0", "--no-progress", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "2 complete" in result.stdout
    data = json.loads(tunelab("export", "kit", "--format", "json", cwd=work).stdout)
    params = data["trials"][0]["params"]
    assert params["optimizer"] == "adam" and params["epochs"] == 2 and "num_layers" in params
    assert len(data["trials"][0]["reports"]) == 2
