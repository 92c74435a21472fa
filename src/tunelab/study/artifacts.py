"""The study's files beside its database: each trial's artifact folder, and the bound on
kept weights (only the best `keep_models` trials keep theirs).

Folders: `<root>/trial-<number>`, where the default root is
`<SQLite file without suffix>-artifacts/<study name>` next to the database, or
`./tunelab-artifacts/<study name>` for a storage kept in no local file (PostgreSQL), or a
temporary folder removed when the process ends for an in-memory study (which ends then too). A study name may hold any character: the folder's name keeps the safe ones and
adds a short hash of the name when it had to change it, so two studies never share one.

Retention runs when a trial that kept weights ends, under the study's storage lock: on
SQLite every write waits for it, so what it deletes is judged on the current trials; on
PostgreSQL two retentions never overlap. Only finished trials lose files (a running trial
of another worker is judged when it ends), and a file already gone is no error."""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tunelab.objectives import Objective
from tunelab.storage import BaseStorage
from tunelab.study.front import top
from tunelab.trial import FrozenTrial
from tunelab.trial.kept import kept_checkpoint, kept_weights
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

DEFAULT_FOLDER = "tunelab-artifacts"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_MAX = 80  # characters of the study name kept in its folder's name
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def folder_name(study_name: str) -> str:
    """A folder name for the study: its safe characters, plus a hash of the whole name
    when some were replaced or cut (so 'a/b' and 'a_b' get different folders)."""
    safe = _UNSAFE.sub("_", study_name)[:_NAME_MAX].strip(".")
    if safe == study_name:
        return safe
    digest = hashlib.sha256(study_name.encode()).hexdigest()[:8]
    return f"{safe or 'study'}-{digest}"


def default_root(storage: BaseStorage, study_name: str) -> Path:
    """Where a study's artifacts go when fit() is given no `artifacts=` folder."""
    base = storage.local_file
    if base is not None:
        parent = base.parent / f"{base.stem}-artifacts"
    elif not storage.shared_across_processes:  # in memory: the files live as long as it
        parent = _process_folder()
    else:
        parent = Path.cwd() / DEFAULT_FOLDER
    return parent / folder_name(study_name)


@functools.cache
def _process_folder() -> Path:
    """A temporary folder for the artifacts of in-memory studies, removed at exit: such
    a study and its trials end with the process, and their files go with them."""
    folder = Path(tempfile.mkdtemp(prefix="tunelab-artifacts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def trial_folder(
    storage: BaseStorage, study_name: str, number: int, root: str | os.PathLike[str] | None
) -> Path:
    """`<root>/trial-<number>`, absolute; the default root when `root` is None."""
    base = default_root(storage, study_name) if root is None else Path(root).expanduser()
    return (base / f"trial-{number}").absolute()


def retain_kept(study: Study, ended: FrozenTrial) -> None:
    """Delete the kept weights of finished trials no longer among the best
    `keep_models` (the count the ending trial ran with). Never fails the trial's end: a
    file that cannot be deleted is logged and left."""
    record = kept_weights(ended)
    if record is None:
        return
    doomed = study.storage.locked(
        study.study_id,
        lambda view: _delete_outranked(view.get_trials(), study.objectives, record.keep_models),
    )
    for number, path, problem in doomed:
        log.warning(
            "the kept weights of trial %d (%s) could not be deleted: %s", number, path, problem
        )


def _delete_outranked(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective], keep: int
) -> list[tuple[int, str, str]]:
    """Delete the weights of finished trials outside the best `keep`; returns those that
    could not be deleted."""
    best = {t.number for t in top(trials, objectives, keep)}
    problems = []
    for t in trials:
        record = kept_weights(t)
        if record is None or t.number in best or t.state not in _FINISHED:
            continue
        try:
            record.path.unlink(missing_ok=True)
        except OSError as e:
            problems.append((t.number, str(record.path), str(e.strerror or e)))
            continue
        with contextlib.suppress(OSError):  # the trial's folder, when nothing else is left
            record.path.parent.rmdir()
    return problems


def kept_files(
    trials: Sequence[FrozenTrial],
) -> tuple[list[tuple[int, Path]], list[tuple[int, Path]]]:
    """The kept files that exist, as (trial number, path) pairs by trial number: the
    weights, then the last-epoch checkpoints (for `tunelab show`)."""
    weights, checkpoints = [], []
    for t in sorted(trials, key=lambda t: t.number):
        record = kept_weights(t)
        if record is not None and record.path.is_file():
            weights.append((t.number, record.path))
        last = kept_checkpoint(t)
        if last is not None and last.is_file():
            checkpoints.append((t.number, last))
    return weights, checkpoints
