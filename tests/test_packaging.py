"""What an installed package promises: one version number, read from pyproject.toml's
metadata by `tunelab.__version__` and `tunelab --version`; and, without the torch extra,
a one-line install hint from `import tunelab.torch`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import tunelab
from tunelab.cli.main import cli

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _declared_version() -> str:
    found = re.search(r'^version = "([^"]+)"$', PYPROJECT.read_text(), re.MULTILINE)
    assert found, "pyproject.toml declares no version"
    return found.group(1)


def test_the_version_is_the_one_pyproject_declares() -> None:
    # An editable install's metadata is written at install time: after a version bump,
    # `pip install -e .` again.
    assert tunelab.__version__ == _declared_version()


def test_tunelab_version_prints_the_name_and_the_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"tunelab {_declared_version()}\n"


def _python(code: str) -> str:
    """Run `code` in a fresh interpreter (a clean sys.modules); its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_a_source_tree_without_metadata_still_imports() -> None:
    code = (
        "import importlib.metadata as m\n"
        "def missing(name):\n"
        "    raise m.PackageNotFoundError(name)\n"
        "m.version = missing\n"
        "import tunelab\n"
        "print(tunelab.__version__)\n"
    )
    assert _python(code) == "0+unknown\n"


def test_without_torch_the_training_kit_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # as if PyTorch were not installed\n"
        "import tunelab\n"
        "try:\n"
        "    import tunelab.torch\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert _python(code) == (
        "tunelab.torch needs torch, which is not installed: pip install 'tunelab[torch]'\n"
    )
