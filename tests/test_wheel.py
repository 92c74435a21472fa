"""The package as a user gets it: build the sdist and the wheel from it, install the wheel
with the torch extra alone into a fresh virtual environment, and there write a starter
script with `tunelab init` and run it with `tunelab run`.

Fast on purpose: the build uses this environment's setuptools (no isolated build
environment to fill), the fresh environment gets no pip of its own (this pip installs into
it) and no bytecode is compiled ahead (torch's thousands of files); pip's cache and the
machine's wheels are used as any install would use them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("pyproject.toml", "README.md", "LICENSE", "src", "examples")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _torch_pin() -> str:
    """The torch requirement the dev set-up installs (a CPU build; a bare torch pulls CUDA)."""
    found = re.search(r"^torch==\S+$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert found, "requirements-dev.txt pins no torch"
    return found.group(0)


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=540
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build(tmp: Path) -> Path:
    """Build from a copy of what a release ships (links kept), never in the checkout."""
    source = tmp / "source"
    source.mkdir()
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.db")
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = tmp / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source, cwd=tmp)
    (wheel,) = dist.glob("tunelab-*.whl")
    return wheel


def test_the_wheel_installs_with_the_torch_extra_alone_and_runs_a_starter_script(
    tmp_path: Path,
) -> None:
    wheel = _build(tmp_path)
    with zipfile.ZipFile(wheel) as archive:  # the templates travel as text, not as links
        shipped = archive.read("tunelab/cli/templates/run_hparam_tuning.py").decode()
    assert shipped == (ROOT / "examples" / "run_hparam_tuning.py").read_text()

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check")
    _run(*pip, "install", "-q", "--no-compile", f"{wheel}[torch]", _torch_pin(), cwd=tmp_path)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed copy
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    work = tmp_path / "work"
    work.mkdir()
    found = _run(
        python,
        "-c",
        "import importlib.util as u, tunelab; print(tunelab.__file__); "
        "print(u.find_spec('plotly') is None, u.find_spec('psycopg') is None)",
        cwd=work,
        env=env,
    ).splitlines()
    assert Path(found[0]).is_relative_to(venv), found  # not this checkout's tunelab
    assert found[1] == "True True"  # the torch extra pulls no other extra's packages
    version = _run("tunelab", "--version", cwd=work, env=env)
    assert re.fullmatch(r"tunelab \d+\.\d+\.\d+\S*\n", version)

    _run("tunelab", "init", cwd=work, env=env)
    ran = _run("tunelab", "run", "tune.py", "--trials", "1", cwd=work, env=env)
    assert "1 complete, 0 pruned, 0 failed" in ran, ran
