"""Shell completion of study names (click's completion does commands and options).

`eval "$(_TUNELAB_COMPLETE=bash_source tunelab)"` in ~/.bashrc (zsh_source, fish_source
for the others) makes Tab complete commands, options and, for STUDY arguments, the
names of the studies in the storage the command would use. Pressing Tab must never
change a file or wait on a network: names come only from a SQLite file that already
exists, read without creating a schema or waiting on a lock; a database server URL
completes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.shell_completion import CompletionItem

from tunelab.storage import default_storage


def local_file(url: str) -> Path | None:
    """The SQLite file `url` names (a path or sqlite:///path), when it exists."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if "://" in path or not path:
        return None
    file = Path(path).expanduser()
    return file if file.is_file() else None


def complete_study(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """The study names starting with `incomplete`, from --storage if given before the
    name, else $TUNELAB_STORAGE, else ./tunelab.db; none on any trouble."""
    spec = ctx.params.get("storage") or default_storage() or "tunelab.db"
    file = local_file(str(spec))
    if file is None:
        return []
    try:
        from tunelab.storage.sql import SQLStorage

        store = SQLStorage(str(file), create_schema=False, wait_s=0)
        try:
            names = [s.record.name for s in store.list_studies()]
        finally:
            store.close()
    except Exception:  # not a tunelab database, locked, too new: no names
        return []
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]
