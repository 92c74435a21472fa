"""User text on the terminal is shown as written: Rich markup and control characters in
a study name, a metric name, a Choice value and an error message neither crash a command
nor style, link or drive the terminal. To cover another string, add a case to HOSTILE."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import tunelab as tunelab_api
from cli_process import run_tunelab

# (the text, as the terminal must show it)
HOSTILE = [
    ("a[/]b", "a[/]b"),
    ("[link=https://x]y[/link]", "[link=https://x]y[/link]"),
    ("[bold]x", "[bold]x"),
    ("adam[/]", "adam[/]"),
    ("no file [/data/train.csv]", "no file [/data/train.csv]"),
    ("end\\", "end\\"),  # a trailing backslash would escape the markup after it
    (":smile:", ":smile:"),  # no emoji code
    ("cls\x1b[2J", "cls\\x1b[2J"),
    ("ln\x1b]8;;https://x\x07y\x1b]8;;\x07", "ln\\x1b]8;;https://x\\x07y\\x1b]8;;\\x07"),
    ("c1\x9b31m", "c1\\x9b31m"),  # the one-byte CSI
    ("bidi\u202eevil", "bidi\\u202eevil"),
    ("two\nli\rnes", "two\\nli\\rnes"),
]
RAW = ("\x1b", "\x9b", "\x07", "\u202e", "\r")  # none of these may reach the terminal

# The first trial raises an error whose message is the text; the second completes. The
# text is also the metric's name and the one value of a Choice.
SCRIPT = """
TEXT = {text!r}
METRIC = TEXT
DIRECTION = "minimize"

def objective(trial):
    trial.hp.Choice("opt", [TEXT])
    if trial.number == 0:
        raise FileNotFoundError(TEXT)
    return {{TEXT: 1.0}}
"""

tunelab = functools.partial(run_tunelab, timeout=120)


@pytest.mark.parametrize(("text", "shown"), HOSTILE, ids=[repr(c[0]) for c in HOSTILE])
def test_commands_show_user_text_as_written(tmp_path: Path, text: str, shown: str) -> None:
    (tmp_path / "s.py").write_text(SCRIPT.format(text=text))
    # (command, (more it must show on stdout, on stderr)); every stdout shows the text.
    # `tunelab studies` is checked once for every case below.
    commands = [
        (
            ("run", "s.py", "--study", text, "--trials", "1", "--no-progress"),
            ((), f"trial 0 failed: FileNotFoundError: {shown}"),
        ),
        (("run", "s.py", "--study", text, "--trials", "2"), ((f" {shown}=1 (best #1 1) ",), "")),
        (("show", text), (("top 1 trials", f"FileNotFoundError: {shown}"), "")),
        (("show", text, "--effects"), ((), "")),
        (("status", text), ((), "")),
    ]
    for args, (stdout, stderr) in commands:
        result = tunelab(*args, cwd=tmp_path)
        where = f"tunelab {args[0]}:\n{result.stdout}\n{result.stderr}"
        assert result.returncode == 0, where
        assert "Traceback" not in result.stderr, where
        assert shown in result.stdout and all(s in result.stdout for s in stdout), where
        assert stderr in result.stderr, where
        _assert_inert(result.stdout + result.stderr, where)


def _assert_inert(output: str, where: str) -> None:
    for raw in RAW:
        assert raw not in output, (raw, where)


def test_studies_lists_user_text_as_written(tmp_path: Path) -> None:
    """One `tunelab studies` over a study per case, each named and measured by its text."""
    storage = str(tmp_path / "tunelab.db")
    for text, _ in HOSTILE:
        study = tunelab_api.create_study(text, storage=storage, metric=text, direction="minimize")
        study.optimize(
            lambda trial, text=text: {text: float(len(trial.hp.Choice("o", [text])))}, n_trials=1
        )
    result = tunelab("studies", cwd=tmp_path)
    where = f"tunelab studies:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0 and "Traceback" not in result.stderr, where
    for _, shown in HOSTILE:
        assert shown in result.stdout, (shown, where)
    _assert_inert(result.stdout + result.stderr, where)


@pytest.mark.parametrize(("text", "shown"), HOSTILE, ids=[repr(c[0]) for c in HOSTILE])
def test_an_error_line_shows_user_text_as_written(tmp_path: Path, text: str, shown: str) -> None:
    (tmp_path / "bad.py").write_text(f"raise RuntimeError({text!r})\n")
    result = tunelab("run", "bad.py", "--trials", "1", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first_line = shown.split("\\n")[0]  # an error is one line: its message's first
    assert result.stderr == f"error: bad.py failed to load (line 1): RuntimeError: {first_line}\n"
