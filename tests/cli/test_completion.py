"""Shell completion through click's own protocol, in a real subprocess: the bash
function, and study names read from the storage without creating anything."""

from __future__ import annotations

import functools
from pathlib import Path

import tunelab
from cli_process import run_tunelab

tunelab_cli = functools.partial(run_tunelab, timeout=60)


def _complete(cwd: Path, words: str, **env: str) -> list[str]:
    index = len(words.split()) - (0 if words.endswith(" ") else 1)
    done = tunelab_cli(
        cwd=cwd,
        env={
            "_TUNELAB_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
            **env,
        },
    )
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]


def test_bash_source_prints_the_completion_function(tmp_path: Path) -> None:
    done = tunelab_cli(cwd=tmp_path, env={"_TUNELAB_COMPLETE": "bash_source"})
    assert done.returncode == 0, done.stderr
    assert "_tunelab_completion() {" in done.stdout
    assert "complete -o nosort -F _tunelab_completion tunelab" in done.stdout


def test_commands_options_and_study_names_complete(tmp_path: Path) -> None:
    assert "--quiet" in _complete(tmp_path, "tunelab run --qu")
    # no database here: no names, and none is created by pressing Tab
    assert _complete(tmp_path, "tunelab show ") == []
    assert not (tmp_path / "tunelab.db").exists()
    for name in ("mnist-mlp", "mnist-cnn", "cifar"):
        tunelab.create_study(name, storage=str(tmp_path / "tunelab.db"))
    assert _complete(tmp_path, "tunelab show mn") == ["mnist-cnn", "mnist-mlp"]
    other = tmp_path / "sub"
    other.mkdir()
    assert _complete(other, "tunelab show --storage ../tunelab.db c") == ["cifar"]
    env = {"TUNELAB_STORAGE": str(tmp_path / "tunelab.db")}
    assert _complete(other, "tunelab report c", **env) == ["cifar"]
    server = {"TUNELAB_STORAGE": "postgresql+psycopg://nobody@127.0.0.1:9/none"}
    assert _complete(other, "tunelab show ", **server) == []  # never a network wait
