"""Which script a worker runs: only one its user named.

A study records the script it was started with (absolute path and sha256) so that a
worker can say when its own differs. The record never makes a worker import anything by
itself: anyone who can write a shared database could point it at any `.py` file on the
worker hosts. A worker runs the file given with `--script`, or the recorded one when its
user confirms it with `--use-stored-script`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console

from tunelab._terminal import plain, text
from tunelab.cli.script import ScriptError, ScriptFile, ScriptRecord, read_script
from tunelab.study import Study

SCRIPT_SETTING = "script"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def recorded_script(settings: Mapping[str, Any]) -> ScriptRecord | None:
    """The study's recorded script: `{"path", "sha256"}`, or a bare path from an older
    tunelab; None when there is none or it is not one of these (database text)."""
    value = settings.get(SCRIPT_SETTING)
    if isinstance(value, str) and value:
        return ScriptRecord(value)
    if isinstance(value, dict) and isinstance(value.get("path"), str) and value["path"]:
        digest = value.get("sha256")
        ok = isinstance(digest, str) and _SHA256.fullmatch(digest) is not None
        return ScriptRecord(value["path"], digest if ok else None)
    return None


def record_script(study: Study, script: ScriptRecord) -> None:
    """Record `script` as the one the study was started with, unless it records one
    already; a bare path of the same file (older tunelab) gains its hash."""
    old = recorded_script(study.settings)
    if old is None or (old.sha256 is None and old.path == script.path):
        setting = {"path": script.path, "sha256": script.sha256}
        study.storage.set_study_setting(study.study_id, SCRIPT_SETTING, setting)


def use_stored_script_option(command: Any) -> Any:
    """`--use-stored-script` (parameter `use_stored`), as worker, confirm and replay take
    it: the one way to run the file a study recorded without naming it."""
    return click.option(
        "--use-stored-script",
        "use_stored",
        is_flag=True,
        help="Run the script the study recorded (its path and hash are printed) instead of --script.",
    )(command)


def worker_script(
    study_name: str, settings: Mapping[str, Any], script: str | None, use_stored: bool
) -> ScriptFile:
    """The script this worker runs: `script`, or with `use_stored` the recorded one.
    Without either, a refusal that names the recorded script and both ways on."""
    if script is not None and use_stored:
        raise ScriptError("give either --script PATH or --use-stored-script, not both")
    if script is not None:
        return read_script(script)
    recorded = recorded_script(settings)
    if recorded is None:
        raise ScriptError(
            f"study {study_name!r} records no script; give the file that defines "
            "objective(trial) with --script"
        )
    if not use_stored:
        raise ScriptError(
            f"study {study_name!r} was started with {recorded}; a worker runs only a script "
            "you name: give --script PATH, or --use-stored-script to run the recorded file"
        )
    return read_script(recorded.path)


def announce(
    out: Console, study_name: str, settings: Mapping[str, Any], chosen: ScriptFile
) -> None:
    """Say which file and hash run before importing it, with a warning on stderr when the
    study was started with another script."""
    out.print(text(f"script {chosen.record}"), soft_wrap=True)
    recorded = recorded_script(settings)
    if differs(recorded, chosen.record):
        click.echo(
            f"warning: {plain(chosen.record)} is not the script study {study_name!r} was "
            f"started with: {plain(recorded)}",
            err=True,
        )


def differs(recorded: ScriptRecord | None, running: ScriptRecord) -> bool:
    """Whether the study's recorded script has a hash and `running` has another."""
    return recorded is not None and recorded.sha256 not in (None, running.sha256)
