"""The documentation site builds with `mkdocs build --strict`: a broken link or anchor, a
docstring griffe cannot read, or an undocumented public object fails it. The built
reference then holds every public object, and the CLI page every command."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCSITE = ROOT / "scripts" / "docsite"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCSITE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


public_api = _module("public_api")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
        "NO_MKDOCS_2_WARNING": "1",  # Material's notice about MkDocs 2, not ours to act on
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    seconds = time.perf_counter() - started
    problems = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(
        problems or done.stderr.splitlines()[-30:]
    )
    print(f"mkdocs build --strict: {seconds:.1f} s")
    return out


def _ids(html_dir: Path) -> set[str]:
    ids: set[str] = set()
    for page in html_dir.rglob("*.html"):
        ids.update(re.findall(r'id="(tunelab[^"]*)"', page.read_text(encoding="utf-8")))
    return ids


def test_the_reference_renders_every_public_object(site: Path) -> None:
    rendered = _ids(site / "reference")  # the anchor of each object documented
    pages = (ROOT / "docs" / "reference").glob("*.md")
    modules = {m for page in pages for m in re.findall(r"^::: (\S+)", page.read_text(), re.M)}
    objects = public_api.public_objects(public_api.load(ROOT / "src"))
    missing = [
        entry.name
        for entry in objects.values()
        if (
            entry.obj.path not in modules
            if entry.obj.is_module
            else entry.obj.path not in rendered and not rendered.intersection(entry.paths)
        )
    ]
    assert not missing, "public but on no reference page:\n" + "\n".join(missing)


def test_the_cli_reference_shows_every_command(site: Path) -> None:
    from tunelab.cli.main import cli

    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    missing = [name for name in cli.commands if f"tunelab {name}" not in text]
    assert not missing
    # mkdocs-click 0.9's table style prints click 8.3's "no default" marker as a default
    assert "Sentinel" not in text


def test_the_build_warns_on_an_undocumented_public_object(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the griffe extension mkdocs.yml loads: its warning is what fails the strict build
    pkg = tmp_path / "tunelab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        '"""Top."""\n__all__ = ["Base", "Thing"]\n\n\nclass Base:\n    """Base."""\n\n'
        '    def run(self) -> None:\n        """Run it."""\n\n\nclass Thing(Base):\n'
        '    """Thing."""\n\n    def run(self) -> None:\n        pass\n\n'
        "    def stop(self) -> None:\n        pass\n"
    )
    extension = _module("griffe_tunelab")
    with caplog.at_level(logging.WARNING):
        loaded = public_api.load(tmp_path)  # fires no extension: griffe.load without one
        extension.TunelabDocs().on_package(pkg=loaded, loader=None)
    assert caplog.messages == ["tunelab.Thing.stop is public but has no docstring"]
    assert loaded["Thing"]["run"].docstring.value == "Run it."  # shown as help() would
