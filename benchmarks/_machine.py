"""What a benchmark prints about the run it measured: the code's git state and the load.

Shared by the scripts in this folder (each runs as `python benchmarks/NAME.py`, so this
folder is on sys.path)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(*args: str) -> str:
    """`git ARGS` in the repository, its output stripped (CalledProcessError, OSError)."""
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(["git", *args], cwd=root, text=True, capture_output=True, check=True)
    return run.stdout.strip()


def source_state() -> str:
    """The commit and whether src/ has uncommitted edits: the figures describe that code."""
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "src")
    except (OSError, subprocess.CalledProcessError):
        return "git state unknown"
    return f"commit {head}{' + uncommitted edits in src/' if dirty else ''}"


def samplers_digest() -> str:
    """A short hash of tunelab's sampler sources: the code may be uncommitted while it is
    benchmarked, and this ties the figures to the exact files."""
    import hashlib

    root = Path(__file__).resolve().parent.parent / "src" / "tunelab" / "samplers"
    digest = hashlib.sha1()
    for f in sorted(root.rglob("*.py")):
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:10]


def load_average() -> str:
    """Other processes share the 2 cores; the load average tells how noisy a run was."""
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"
