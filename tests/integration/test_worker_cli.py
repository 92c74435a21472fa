"""`tunelab worker`, `status`, `retry --failed`, `stop`, retries of lost trials, trial
processes with limits, GPU slots, and clear refusals of bad databases."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

import tunelab
from tunelab.types import EndCause, TrialState

from .cli_workers import (
    OBJECTIVE,
    assert_every_config_completed_once,
    clean_exit,
    make_queued_study,
    run_cli,
    tunelab_cmd,
)
from .workers import wait_for

pytestmark = pytest.mark.slow

HYGIENE = """
import json, os, time
METRIC = "loss"
DIRECTION = "minimize"
LEAK = []

def objective(trial):
    kind = trial.hp.Choice("kind", ["ok", "slow", "big", "fail", "leak"])
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("gpu", os.environ.get("CUDA_VISIBLE_DEVICES"))
    if kind == "slow":
        time.sleep(30)
    if kind == "big":
        LEAK.append(bytearray(400 * 2**20))  # touched below, so it is resident
        LEAK[-1][:: 4096] = b"x" * len(LEAK[-1][:: 4096])
        time.sleep(30)
    if kind == "fail":
        raise ValueError("bad configuration")
    if kind == "leak":  # 60 MiB kept per trial, as a leaking training loop would
        LEAK.append(bytearray(60 * 2**20))
        LEAK[-1][:: 4096] = b"x" * len(LEAK[-1][:: 4096])
        with open("/proc/self/status") as fh:
            rss = [int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:")]
        trial.set_user_attr("rss", rss[0])
        return 1.0
    time.sleep(0.2)
    return 1.0
"""


def _queued(url: str, kinds: list[str], **settings: object) -> tunelab.Study:
    study = tunelab.create_study(
        "h", storage=url, metric="loss", direction="minimize", sampler="random", **settings
    )
    for kind in kinds:
        study.enqueue({"kind": kind})
    return study


def test_worker_runs_the_budget_and_status_shows_the_study(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(url, 6)
    out = clean_exit(
        tunelab_cmd(
            "worker", "s", "--storage", url, "--script", "obj.py", "--trials", "6", cwd=tmp_path
        )
    )
    assert "worker done: 6 complete" in out
    assert_every_config_completed_once(url, 6)
    # a second worker runs the script the study recorded when its user confirms it
    (tmp_path / "other").mkdir()
    confirmed = ("worker", "s", "--storage", url, "--use-stored-script", "--trials", "8")
    out = clean_exit(tunelab_cmd(*confirmed, cwd=tmp_path / "other"))
    assert f"script {tmp_path / 'obj.py'} (sha256 " in out
    assert "worker done: 8 complete" in out
    status = run_cli("status", "s", "--storage", url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "8 complete" in status.stdout and "no trial is running" in status.stdout
    assert "retries: up to 5" in status.stdout


def test_status_lists_running_trials_and_stop_ends_workers_after_their_trial(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(url, 1000)
    args = ("worker", "s", "--storage", url, "--script", "obj.py")  # no budget: runs until stop
    env = {"TEST_TRIAL_SLEEP": "0.3"}
    workers = [tunelab_cmd(*args, cwd=tmp_path, env=env) for _ in range(2)]
    study = tunelab.load_study("s", url)
    wait_for(lambda: len(study.get_trials([TrialState.RUNNING])) == 2, what="two running trials")
    status = run_cli("status", "s", "--storage", url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "running trials" in status.stdout and "2 worker process(es)" in status.stdout
    for w in workers:
        assert f":{w.pid}" in status.stdout

    stopped = run_cli("stop", "s", "--storage", url, cwd=tmp_path)
    assert stopped.returncode == 0 and "stop asked" in stopped.stdout
    at_stop = len(study.get_trials([TrialState.COMPLETE]))
    for w in workers:
        assert "worker stopped (tunelab stop)" in clean_exit(w, timeout=30)
    trials = study.trials
    assert [t for t in trials if t.state is TrialState.RUNNING] == []
    finished = [t for t in trials if t.state is TrialState.COMPLETE]
    # They finished the trial in hand, then stopped: a worker reads the stop flag at most
    # once a second, so each may start a few 0.3 s trials after the stop, not hundreds.
    # (Counted from the stop, not the start: under load the CLI calls take seconds.)
    assert 2 <= len(finished) <= at_stop + 2 * 6
    assert not [t for t in trials if t.state is TrialState.FAIL]  # nothing was cut short
    # a worker started after the stop runs as usual
    out = clean_exit(tunelab_cmd(*args, "--trials", str(len(finished) + 2), cwd=tmp_path))
    assert f"worker done: {len(finished) + 2} complete" in out
    study.storage.close()


def test_a_run_ended_by_stop_says_so_in_its_summary(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(url, 1000)
    env = {"TEST_TRIAL_SLEEP": "0.2"}
    run = tunelab_cmd(
        "run", "obj.py", "--study", "s", "--storage", url, "--trials", "1000", "--no-progress",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    study = tunelab.load_study("s", url)
    wait_for(lambda: len(study.get_trials([TrialState.COMPLETE])) >= 1, what="a finished trial")
    assert run_cli("stop", "s", "--storage", url, cwd=tmp_path).returncode == 0
    out = clean_exit(run, timeout=30)
    assert "stopped: a stop was asked" in out and "complete" in out
    study.storage.close()


def test_lost_trials_are_retried_at_most_max_retries_times(tmp_path: Path) -> None:
    """A configuration that kills its worker every time is retried twice, then left FAIL;
    the lineage is in the system attributes."""
    url = str(tmp_path / "s.db")
    deadly = tmp_path / "deadly"  # while it exists, cfg=7 kills its worker
    deadly.touch()
    (tmp_path / "obj.py").write_text(
        "import os, signal\nMETRIC='loss'\nDIRECTION='minimize'\n"
        "def objective(trial):\n"
        "    x = trial.hp.Int('cfg', 0, 9)\n"
        f"    if x == 7 and os.path.exists({str(deadly)!r}):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return float(x)\n"
    )
    make_queued_study(url, 0, max_retries=2)
    study = tunelab.load_study("s", url)
    study.enqueue({"cfg": 7})
    for cfg in (1, 2):
        study.enqueue({"cfg": cfg})
    for _ in range(3):  # each run dies in cfg=7 (its retry comes first in the queue)
        worker = tunelab_cmd(
            "worker", "s", "--storage", url, "--script", "obj.py", "--trials", "3", cwd=tmp_path
        )
        worker.communicate(timeout=60)
    # The last worker's own sampled trial may draw cfg=7 too: it must not die of that.
    deadly.unlink()
    clean_exit(
        tunelab_cmd(
            "worker", "s", "--storage", url, "--script", "obj.py", "--trials", "3", cwd=tmp_path
        )
    )
    trials = study.trials
    sevens = [t for t in trials if t.enqueued.get("cfg") == 7]
    assert [t.state for t in sevens] == [TrialState.FAIL] * 3
    assert [t.attempt for t in sevens] == [0, 1, 2]
    assert sevens[1].retry_of == sevens[0].number
    assert sevens[0].retried_by == sevens[1].number
    assert sevens[2].retried_by is None  # max_retries=2 reached
    assert all(t.end_cause is EndCause.LOST for t in sevens)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    queued = sorted(t.params["cfg"] for t in complete if t.enqueued)
    assert queued == [1, 2] and len(complete) == 3  # the third is the sampler's own
    study.storage.close()


def test_retry_failed_queues_failures_and_they_replace_them_in_the_budget(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "s.db")
    flag = tmp_path / "broken"
    flag.touch()
    (tmp_path / "obj.py").write_text(
        "import os\nMETRIC='loss'\nDIRECTION='minimize'\n"
        "def objective(trial):\n"
        "    x = trial.hp.Int('cfg', 0, 9)\n"
        f"    if x % 2 and os.path.exists({str(flag)!r}):\n"
        "        raise RuntimeError('flaky disk')\n"
        "    return float(x)\n"
    )
    make_queued_study(url, 4, max_retries=0)
    clean_exit(
        tunelab_cmd(
            "worker", "s", "--storage", url, "--script", "obj.py", "--trials", "4", cwd=tmp_path
        ),
        failing=True,
    )
    study = tunelab.load_study("s", url)
    assert [t.state for t in study.trials].count(TrialState.FAIL) == 2
    flag.unlink()  # the cause is fixed
    result = run_cli("retry", "s", "--storage", url, "--failed", cwd=tmp_path)
    assert result.returncode == 0 and "queued 2 retries" in result.stdout, result.stderr
    again = run_cli("retry", "s", "--storage", url, "--failed", cwd=tmp_path)
    assert "no failed trial to retry" in again.stdout  # each failure is retried once
    clean_exit(
        tunelab_cmd(
            "worker", "s", "--storage", url, "--script", "obj.py", "--trials", "4", cwd=tmp_path
        )
    )
    trials = study.trials
    done = sorted(t.params["cfg"] for t in trials if t.state is TrialState.COMPLETE)
    assert done == [0, 1, 2, 3] and len(trials) == 6
    assert study.storage.count_trials(study.study_id).budget_used == 4
    assert run_cli("retry", "s", "--storage", url, cwd=tmp_path).returncode != 0
    study.storage.close()


def test_retry_failed_runs_an_interrupted_trial_once_the_budget_is_full(
    tmp_path: Path,
) -> None:
    """An interrupted trial used no budget and a later one took its place; its retry
    still runs (it adds to the total), where before it stayed WAITING for good."""
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(
        "METRIC='loss'\nDIRECTION='minimize'\n"
        "def objective(trial):\n    return float(trial.hp.Int('cfg', 0, 9))\n"
    )
    make_queued_study(url, 0, max_retries=0)
    study = tunelab.load_study("s", url)
    cut = study.ask()
    cut.hp.Int("cfg", 0, 9)
    study.tell(cut, state=TrialState.FAIL, reason="Ctrl-C", cause=EndCause.INTERRUPTED)
    worker = ("worker", "s", "--storage", url, "--script", "obj.py", "--trials", "2")
    clean_exit(tunelab_cmd(*worker, cwd=tmp_path))
    assert study.storage.count_trials(study.study_id).budget_used == 2
    result = run_cli("retry", "s", "--storage", url, "--failed", cwd=tmp_path)
    assert result.returncode == 0 and "add to the total" in " ".join(result.stdout.split())
    clean_exit(tunelab_cmd(*worker, cwd=tmp_path))
    trials = study.trials
    assert [t.state for t in trials].count(TrialState.WAITING) == 0
    retry = trials[-1]
    assert retry.retry_of == cut.number and retry.state is TrialState.COMPLETE
    assert retry.params == trials[cut.number].params
    study.storage.close()


def _kind(t: tunelab.FrozenTrial) -> str:
    """The enqueued kind (a trial killed for a limit may not have stored its params)."""
    return str(t.enqueued["kind"])


def test_trial_processes_recycle_and_limits_fail_only_that_trial(tmp_path: Path) -> None:
    url = str(tmp_path / "h.db")
    (tmp_path / "hyg.py").write_text(HYGIENE)
    kinds = ["ok", "slow", "ok", "big", "ok", "fail", "ok", "ok"]
    study = _queued(url, kinds)
    worker = tunelab_cmd(
        "worker",
        "h",
        "--storage",
        url,
        "--script",
        "hyg.py",
        "--trials",
        str(len(kinds)),
        "--trials-per-process",
        "2",
        "--trial-timeout",
        "3",
        "--trial-memory",
        "300",
        cwd=tmp_path,
    )
    _out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    trials = study.trials
    by_kind = {k: [t for t in trials if _kind(t) == k] for k in set(kinds)}
    assert all(t.state is TrialState.COMPLETE for t in by_kind["ok"])
    (slow,) = by_kind["slow"]
    assert slow.state is TrialState.FAIL and slow.reason.startswith("trial time limit")
    (big,) = by_kind["big"]
    assert big.state is TrialState.FAIL and big.reason.startswith("trial memory limit")
    assert slow.end_cause is big.end_cause is EndCause.KILLED
    (fail,) = by_kind["fail"]
    assert fail.state is TrialState.FAIL and "bad configuration" in fail.reason
    assert fail.end_cause is EndCause.RAISED
    pids = [t.user_attrs["pid"] for t in sorted(trials, key=lambda t: t.number)]
    assert os.getpid() not in pids and worker.pid not in pids  # trials ran in children
    # 2 trials per child process, then a new one (a killed child counts its trial)
    assert [pids.index(p) for p in pids] == [0, 0, 2, 2, 4, 4, 6, 6], pids
    study.storage.close()


def test_a_trial_process_that_grows_past_max_rss_is_replaced(tmp_path: Path) -> None:
    url = str(tmp_path / "m.db")
    (tmp_path / "hyg.py").write_text(HYGIENE)
    study = _queued(url, ["leak"] * 8)
    worker = tunelab_cmd("worker", "h", "--storage", url, "--script", "hyg.py",
                         "--trials", "8", "--max-rss", "0", cwd=tmp_path)  # fmt: skip
    _out, err = worker.communicate(timeout=60)
    assert worker.returncode != 0 and "--max-rss" in err  # must be > 0
    first = tunelab_cmd("worker", "h", "--storage", url, "--script", "hyg.py",
                        "--trials", "1", "--trials-per-process", "1", cwd=tmp_path)  # fmt: skip
    clean_exit(first)
    (one,) = study.get_trials([TrialState.COMPLETE])
    bound = one.user_attrs["rss"] + 100  # a child may keep one more 60 MiB, not two
    clean_exit(tunelab_cmd("worker", "h", "--storage", url, "--script", "hyg.py", "--trials", "8",
                           "--max-rss", f"{bound:.0f}", cwd=tmp_path))  # fmt: skip
    trials = sorted(study.get_trials([TrialState.COMPLETE]), key=lambda t: t.number)[1:]
    assert len(trials) == 7
    by_pid: dict[int, list[float]] = {}
    for t in trials:
        by_pid.setdefault(t.user_attrs["pid"], []).append(t.user_attrs["rss"])
    assert len(by_pid) >= 3, by_pid  # replaced along the way
    for rss in by_pid.values():  # each child ran until its memory passed the bound
        assert all(r <= bound for r in rss[:-1]), (bound, by_pid)
    study.storage.close()


def test_gpus_give_each_concurrent_trial_its_own_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # indices count the machine's
    url = str(tmp_path / "g.db")
    (tmp_path / "hyg.py").write_text(HYGIENE)
    study = _queued(url, ["ok"] * 12)
    worker = tunelab_cmd(
        "worker",
        "h",
        "--storage",
        url,
        "--script",
        "hyg.py",
        "--trials",
        "12",
        "--gpus",
        "0,1",
        cwd=tmp_path,
    )
    clean_exit(worker, timeout=120)
    trials = study.get_trials([TrialState.COMPLETE])
    assert len(trials) == 12
    spans = [(t.datetime_start, t.datetime_complete, t.user_attrs["gpu"]) for t in trials]
    assert {gpu for *_, gpu in spans} == {"0", "1"}
    for start, _, _ in spans:  # at each trial's start: one trial at most on each device
        active = [g for s, e, g in spans if s <= start < e]
        assert active.count("0") <= 1 and active.count("1") <= 1, spans
    bad = run_cli("worker", "h", "--storage", url, "--gpus", "0,x", cwd=tmp_path)
    assert bad.returncode != 0 and "--gpus" in bad.stderr
    study.storage.close()


# -- bad databases: one clear line, non-zero exit, nothing changed --------------------------
def _pg_tables(url: str) -> list[str]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://no_such_role@127.0.0.1:5432/test", "no_such_role"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db_tunelab", "no_such_db_tunelab"),
        ("postgresql+psycopg://postgres@127.0.0.1:notaport/test", "URL"),
    ],
)
def test_postgres_connection_errors_are_one_clear_line(
    tmp_path: Path, url: str, message: str
) -> None:
    for command in (["worker", "s", "--storage", url], ["status", "s", "--storage", url]):
        result = run_cli(*command, cwd=tmp_path)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
        assert message in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_postgres_without_schema_or_with_a_newer_one_is_left_alone(
    tmp_path: Path, postgres_url: str
) -> None:
    for command in ("worker", "status", "stop"):
        result = run_cli(command, "s", "--storage", postgres_url, cwd=tmp_path)
        assert result.returncode != 0 and "no tunelab schema" in result.stderr, result.stderr
        assert "tunelab db upgrade" in result.stderr
    assert _pg_tables(postgres_url) == []  # nothing was created

    tunelab.create_study("s", storage=postgres_url).storage.close()
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE tunelab_meta SET value = '99' WHERE key = 'schema_version'")
    before = _pg_tables(postgres_url)
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    for command in (
        ["worker", "s", "--script", "obj.py"],
        ["stop", "s"],
        ["retry", "s", "--failed"],
    ):
        result = run_cli(*command, "--storage", postgres_url, cwd=tmp_path)
        assert result.returncode != 0 and "newer than this tunelab" in result.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT value FROM tunelab_meta").fetchall() == [("99",)]
        settings = conn.execute("SELECT settings_json FROM tunelab_studies").fetchone()
        assert "stop" not in json.loads(settings[0])
        assert conn.execute("SELECT count(*) FROM tunelab_trials").fetchone() == (0,)
    assert _pg_tables(postgres_url) == before


def test_sqlite_worker_on_a_missing_file_or_study_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("worker", "s", "--storage", "nothing.db", cwd=tmp_path)
    assert result.returncode != 0 and "no database" in result.stderr
    assert not (tmp_path / "nothing.db").exists()
    tunelab.create_study("other", storage=str(tmp_path / "s.db")).storage.close()
    result = run_cli("worker", "s", "--storage", "s.db", cwd=tmp_path)
    assert result.returncode != 0 and "no study named 's'" in result.stderr
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("SELECT count(*) FROM tunelab_studies").fetchone() == (1,)
    con.close()


def _two_trial_worker(
    tmp_path: Path, script: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], tunelab.Study]:
    """A supervised worker running `script`'s objective in two trial processes."""
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(script)
    make_queued_study(url, 4)
    worker = tunelab_cmd("worker", "s", "--storage", url, "--script", "obj.py", "--jobs", "2",
                         cwd=tmp_path, env=env)  # fmt: skip
    return worker, tunelab.load_study("s", url)


def _assert_both_trials_interrupted(worker: subprocess.Popen[str], study: tunelab.Study) -> None:
    """The worker exited with 130; both running trials are FAIL, interrupted by Ctrl-C,
    outside the budget; nothing is left RUNNING."""
    _out, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    trials = study.trials
    assert [t for t in trials if t.state is TrialState.RUNNING] == []
    stopped = [t for t in trials if t.state is TrialState.FAIL]
    assert len(stopped) == 2 and all(t.end_cause is EndCause.INTERRUPTED for t in stopped)
    assert {t.reason for t in stopped} == {"interrupted (Ctrl-C)"}
    assert study.storage.count_trials(study.study_id).budget_used == 0
    study.storage.close()


def test_ctrl_c_on_a_supervised_worker_records_every_running_trial(tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the worker and its trial processes: each records its
    trial as interrupted (outside the budget) and the worker exits with 130."""
    worker, study = _two_trial_worker(tmp_path, OBJECTIVE, {"TEST_TRIAL_SLEEP": "60"})
    wait_for(lambda: len(study.get_trials([TrialState.RUNNING])) == 2, what="two trials")
    os.killpg(worker.pid, signal.SIGINT)
    _assert_both_trials_interrupted(worker, study)


STUCK = """
import pathlib, signal, time
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    trial.hp.Int("cfg", 0, 10_000)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stuck where Ctrl-C cannot reach it
    pathlib.Path(f"ignores-ctrl-c.{trial.number}").touch()
    time.sleep(600)
    return 0.0
"""


def test_ctrl_c_again_kills_stuck_trial_processes_and_still_records_their_trials(
    tmp_path: Path,
) -> None:
    """Trial processes that cannot take Ctrl-C (a stuck objective, a child hung while
    recording): the worker says it waits for them; Ctrl-C again kills them, and the
    worker records their trials as interrupted itself."""
    worker, study = _two_trial_worker(tmp_path, STUCK)
    wait_for(lambda: len(list(tmp_path.glob("ignores-ctrl-c.*"))) == 2, what="two stuck trials")
    os.killpg(worker.pid, signal.SIGINT)
    assert worker.stderr is not None
    said = [worker.stderr.readline()]
    while said[-1] and "press Ctrl-C again" not in said[-1]:
        said.append(worker.stderr.readline())
    assert "2 trial process(es)" in said[-1], said
    os.killpg(worker.pid, signal.SIGINT)
    _assert_both_trials_interrupted(worker, study)


OPTIMIZE_JOBS = """
import signal, sys, time
import tunelab
import tunelab.study.stopping as stopping

stopping.CHILD_STOP_S = float(sys.argv[2])  # a user waits 30 s


def objective(trial):
    trial.hp.Float("x", 0.0, 1.0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a trial that does not stop on Ctrl-C
    time.sleep(600)
    return 0.0


study = tunelab.create_study(
    "s", storage=sys.argv[1], metric="loss", direction="minimize", sampler="random"
)
study.optimize(objective, n_trials=4, n_jobs=2)
"""


def _ctrl_c_on_optimize_with_jobs(tmp_path: Path, stop_s: float, again: bool) -> float:
    """Run OPTIMIZE_JOBS, press Ctrl-C once both trials run (and again once the parent says
    it waits, if `again`); check that it exits on KeyboardInterrupt with both trials
    recorded as interrupted and none left RUNNING. Returns the seconds from the first
    Ctrl-C to the exit."""
    url = str(tmp_path / "s.db")
    (tmp_path / "run.py").write_text(OPTIMIZE_JOBS)
    proc = subprocess.Popen(
        [sys.executable, "run.py", url, str(stop_s)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the Ctrl-C below reaches the parent alone
    )
    studies: list[tunelab.Study] = []

    def created() -> bool:
        try:
            studies.append(tunelab.load_study("s", url))
        except Exception:  # not created yet
            time.sleep(0.2)
            return False
        return True

    def both_running() -> bool:
        time.sleep(0.2)  # a gentle poll: every read is a transaction on the workers' file
        trials = studies[0].trials
        return len([t for t in trials if t.state is TrialState.RUNNING and t.params]) == 2

    try:
        wait_for(created, timeout=60, what="the study")
        wait_for(both_running, timeout=60, what="two running trials")
        os.kill(proc.pid, signal.SIGINT)
        pressed = time.monotonic()
        said = []
        if again:
            assert proc.stderr is not None
            said.append(proc.stderr.readline())
            while said[-1] and "press Ctrl-C again" not in said[-1]:
                said.append(proc.stderr.readline())
            assert "2 trial process(es)" in said[-1], said
            os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - pressed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for study in studies:
            study.storage.close()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, "".join(said) + err
    trials = tunelab.load_study("s", url).trials
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    stopped = [t for t in trials if t.state is TrialState.FAIL]
    assert len(stopped) == 2
    assert all(t.end_cause is EndCause.INTERRUPTED for t in stopped)
    assert {t.reason for t in stopped} == {"interrupted (Ctrl-C)"}
    return took


def test_ctrl_c_on_optimize_with_jobs_records_the_trials_of_workers_that_do_not_stop(
    tmp_path: Path,
) -> None:
    """`optimize(n_jobs=2)`: after Ctrl-C, worker processes that do not stop are killed and
    their trials recorded as interrupted by the parent: none is left RUNNING."""
    _ctrl_c_on_optimize_with_jobs(tmp_path, stop_s=1.0, again=False)


def test_ctrl_c_again_on_optimize_with_jobs_stops_the_workers_at_once(tmp_path: Path) -> None:
    """As for a supervised worker: the parent says it waits (up to 120 s here) for workers
    that do not stop; Ctrl-C again kills them at once, and their trials are recorded."""
    took = _ctrl_c_on_optimize_with_jobs(tmp_path, stop_s=120.0, again=True)
    assert took < 60  # 5 s for the workers to stop on their own, not the 120 s
