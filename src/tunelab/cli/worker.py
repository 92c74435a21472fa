"""Study operations from the shell: `tunelab worker`, `status`, `retry`, `stop`.

Workers on any number of machines join one study in a shared database; these
commands start them and look after the study while they run.
"""

from __future__ import annotations

import os
import time
from typing import Any

import click
from rich.table import Table
from rich.text import Text

import tunelab
from tunelab._terminal import console, text
from tunelab.cli import as_json, tables, verbosity
from tunelab.cli.completion import complete_study
from tunelab.cli.lines import TrialLines
from tunelab.cli.render import STORAGE_HELP
from tunelab.cli.script import find_objective, import_script
from tunelab.cli.trust import announce, record_script, use_stored_script_option, worker_script
from tunelab.study.gpus import CLI, cli_gpus, worker_slots
from tunelab.study.optimize import STOP_SETTING, stop_requested
from tunelab.study.supervise import Hygiene
from tunelab.study.worker import run_worker
from tunelab.types import TrialState

out = console()


def gpu_options(command: Any) -> Any:
    """`--gpus` and `--trials-per-gpu`, as `tunelab run` and `tunelab worker` take them."""
    command = click.option(
        "--trials-per-gpu",
        type=click.IntRange(min=1),
        help="Trials that share each GPU at once (default 1).",
    )(command)
    return click.option(
        "--gpus",
        help="GPU indices, e.g. 0,1: each trial process sees one (0+1: one sees both).",
    )(command)


def gpu_slots(
    jobs: int | None, gpus: str | None, trials_per_gpu: int | None
) -> tuple[int, tuple[str, ...]]:
    """Trials at a time and each one's CUDA_VISIBLE_DEVICES, from the command line."""
    shown = None if gpus is None else f"--gpus {gpus if gpus.strip() else repr(gpus)}"
    entries = None if gpus is None else cli_gpus(gpus)
    return worker_slots(jobs, entries, trials_per_gpu, CLI, shown)


def gpus_note(devices: tuple[str, ...]) -> str:
    """' · GPUs 0, 1 (2 trials each)': the devices (a group as 0+1) and their sharing."""
    if not devices:
        return ""
    each = list(dict.fromkeys(devices))
    per = len(devices) // len(each)
    return f" · GPUs {', '.join(d.replace(',', '+') for d in each)}" + (
        f" ({per} trials each)" if per > 1 else ""
    )


def _open_or_create(
    name: str, storage: str | None, script: str | None, use_stored: bool
) -> tuple[Any, Any]:
    """Load the study (creating it from the script's METRIC/DIRECTION if it is new) and
    the objective of the script its user named (see cli/trust.py), saying which file and
    hash run before importing it."""
    try:
        study = tunelab.load_study(name, storage)
    except (tunelab.StudyNotFoundError, tunelab.StorageError):
        if script is None:
            raise  # joining needs the study; with a script, a new one is created below
        study = None  # a bad URL or a newer schema is refused again by create_study
    settings = study.settings if study is not None else {}
    chosen = worker_script(name, settings, script, use_stored)
    announce(out, name, settings, chosen)
    shown = script or chosen.record.path
    module = import_script(chosen, shown)
    objective = find_objective(module, shown)
    if study is None:
        study = tunelab.create_study(
            name,
            storage=storage,
            metric=str(getattr(module, "METRIC", "val_accuracy")),
            direction=str(getattr(module, "DIRECTION", "maximize")),
        )
    record_script(study, chosen.record)
    return study, objective


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--script",
    type=click.Path(dir_okay=False),
    help="File defining objective(trial); the worker runs this file and no other.",
)
@use_stored_script_option
@click.option("--trials", type=click.IntRange(min=1), help="Trials the study should hold in total.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Stop starting trials after S s."
)
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Concurrent trials (default: 1, or 1 per GPU)."
)
@gpu_options
@click.option(
    "--trials-per-process",
    type=click.IntRange(min=1),
    help="Run trials in a child process replaced after N trials.",
)
@click.option(
    "--max-rss",
    type=click.FloatRange(min=0, min_open=True),
    help="Replace the trial process once its memory passes MB (MiB).",
)
@click.option(
    "--trial-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Fail a trial that runs longer than S seconds.",
)
@click.option(
    "--trial-memory",
    type=click.FloatRange(min=0, min_open=True),
    help="Fail a trial whose process uses more than MB MiB.",
)
def worker(
    study_name: str,
    storage: str | None,
    script: str | None,
    use_stored: bool,
    trials: int | None,
    timeout: float | None,
    jobs: int | None,
    gpus: str | None,
    trials_per_gpu: int | None,
    trials_per_process: int | None,
    max_rss: float | None,
    trial_timeout: float | None,
    trial_memory: float | None,
) -> None:
    """Join STUDY and run its trials; start one on every machine that has the script."""
    slots, devices = gpu_slots(jobs, gpus, trials_per_gpu)
    hygiene = Hygiene(slots, devices, trials_per_process, max_rss, trial_timeout, trial_memory)
    study, objective = _open_or_create(study_name, storage, script, use_stored)
    url = study.storage.url
    study.storage.close()
    if verbosity.level() != verbosity.QUIET:
        out.print(
            Text.assemble(
                f"worker {os.getpid()} on study ",
                text(study_name, "bold"),
                text(
                    f" in {url} · {slots} at a time"
                    + gpus_note(devices)
                    + (
                        ""
                        if trials or timeout
                        else " · until `tunelab stop` or the sampler runs out"
                    )
                ),
            )
        )
    lines = verbosity.level() != verbosity.QUIET  # a worker has no bar: lines everywhere
    started = time.time()
    try:
        run_worker(
            study_name,
            url,
            objective,
            trials,
            timeout,
            hygiene,
            callbacks=[TrialLines()] if lines else (),
        )
    except KeyboardInterrupt:
        click.echo("\ninterrupted: this worker's running trials are recorded", err=True)
        raise SystemExit(130) from None
    study = tunelab.load_study(study_name, url)
    counts = study.storage.count_trials(study.study_id)
    out.print(
        ("worker stopped (tunelab stop)" if stop_requested(study, started) else "worker done")
        + f": {counts[TrialState.COMPLETE]} complete, "
        f"{counts[TrialState.RUNNING]} running, {counts[TrialState.WAITING]} queued"
        + (f", {counts[TrialState.PAUSED]} paused" if counts[TrialState.PAUSED] else "")
        + " in the study"
    )


def _age(now: float, then: float | None) -> str:
    return "-" if then is None else f"{now - then:.1f}s ago"


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@as_json.json_option
def status(study_name: str, storage: str | None, json_: bool = False) -> None:
    """Show STUDY's running trials, workers, heartbeats, queue and stop flag."""
    study = tunelab.load_study(study_name, storage)
    if json_:
        return as_json.echo(as_json.status_document(study))
    counts = study.storage.count_trials(study.study_id)
    now = time.time()
    states = ", ".join(f"{counts[s]} {s.value.lower()}" for s in TrialState if counts[s])
    out.print(
        Text.assemble(
            "study ", text(study.name, "bold"), f" · {counts.total} trials ({states or 'none yet'})"
        )
    )
    retries = study.settings.get("max_retries", 0)
    stop = study.settings.get(STOP_SETTING)
    out.print(
        text(
            f"lost-worker retries: up to {retries} · heartbeat every "
            f"{study.settings.get('heartbeat_interval', 10.0):g} s"
            + (f" · stop asked {_age(now, stop)}" if isinstance(stop, (int, float)) else "")
        )
    )
    paused = study.get_trials([TrialState.PAUSED])
    if paused:  # freeze-thaw: waiting for a worker to resume them
        out.print(
            text(
                f"{len(paused)} paused: "
                + ", ".join(f"#{t.number} at step {t.last_step}" for t in paused)
            )
        )
    running = study.get_trials([TrialState.RUNNING])
    if not running:
        out.print("no trial is running")
        return
    table = Table(title="running trials")
    for col in ("#", "worker", "started", "heartbeat", "retry of"):
        table.add_column(col, justify="left" if col == "worker" else "right")
    for t in running:
        table.add_row(
            str(t.number),
            text(t.worker or "-"),
            _age(now, t.datetime_start),
            _age(now, t.heartbeat),
            "" if t.retry_of is None else f"#{t.retry_of}",
        )
    out.print(tables.guard(table))
    workers = sorted({t.worker.rsplit(":", 1)[0] for t in running if t.worker})
    out.print(text(f"{len(workers)} worker process(es): {', '.join(workers)}"))


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
@click.option("--failed", is_flag=True, help="Queue every FAIL trial again with its parameters.")
def retry(study_name: str, storage: str | None, failed: bool) -> None:
    """Queue failed trials of STUDY again, with the same parameters, for the workers."""
    if not failed:
        raise click.UsageError("say which trials to retry: --failed")
    study = tunelab.load_study(study_name, storage)
    if study.sampler.needs_lock:
        raise tunelab.TunelabError(
            f"study {study_name!r} uses the {study.sampler.name} sampler, which decides every "
            "cell under a lock; rerun the study instead of queueing retries"
        )
    queued, extra = [], 0
    for t in study.get_trials([TrialState.FAIL]):
        if t.retried_by is None:
            new = study.storage.retry_trial(t.trial_id)
            if new is not None:
                queued.append((t.number, new.number))
                extra += not t.counts_toward_budget
    if not queued:
        out.print("no failed trial to retry")
        return
    pairs = ", ".join(f"#{a}->#{b}" for a, b in queued)
    out.print(
        f"queued {len(queued)} retries ({pairs}); the next worker runs them first, even "
        "once the study holds its --trials total"
        + (
            f" ({extra} of them repeat interrupted or lost trials, which a later trial "
            "already replaced: they add to the total)"
            if extra
            else ""
        )
    )


@click.command()
@click.argument("study_name", metavar="STUDY", shell_complete=complete_study)
@click.option("--storage", help=STORAGE_HELP)
def stop(study_name: str, storage: str | None) -> None:
    """Ask STUDY's running workers to finish their trial and exit (later ones run)."""
    study = tunelab.load_study(study_name, storage)
    study.storage.set_study_setting(study.study_id, STOP_SETTING, time.time())
    running = study.storage.count_trials(study.study_id)[TrialState.RUNNING]
    out.print(
        f"stop asked: workers running now finish their trial ({running} running) and exit; "
        "workers started from now on run as usual"
    )


COMMANDS = (worker, status, retry, stop)
