"""Every public object and method has a docstring that parses cleanly, and every command
and option of the CLI has help: a new undocumented one fails here, naming itself.
"Public" is defined once, in scripts/docsite/public_api.py (the reference renders the same)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import click
import griffe
import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "public_api", ROOT / "scripts" / "docsite" / "public_api.py"
)
assert _spec is not None and _spec.loader is not None
public_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public_api)


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    return public_api.load(ROOT / "src")


def test_every_public_object_has_a_docstring(package: griffe.Module) -> None:
    missing = public_api.undocumented(package)
    assert not missing, "public but without a docstring:\n" + "\n".join(missing)


def test_the_public_api_covers_every_public_package(package: griffe.Module) -> None:
    objects = public_api.public_objects(package)
    names = {path for entry in objects.values() for path in entry.paths}
    for expected in (
        "tunelab.create_study",
        "tunelab.Study.optimize",
        "tunelab.space.HyperParameters.Float",
        "tunelab.samplers.TPESampler",
        "tunelab.schedulers.ASHAScheduler",
        "tunelab.storage.BaseStorage.get_trials",
        "tunelab.insight.curves",  # the function, not the module of that name
        "tunelab.torch.fit",
        "tunelab.keras.ReportCallback",  # supplied lazily by the package's __getattr__
        "tunelab.keras.applications.HyperResNet",  # a module the package exports
    ):
        assert expected in names
    assert objects["tunelab.insight.curves.curves"].obj.is_function
    assert not any(name.startswith("tunelab.cli") for name in names)
    private = [
        n for n in names if any(p.startswith("_") and not p.endswith("__") for p in n.split("."))
    ]
    assert not private


def test_docstrings_parse_as_google_style_without_warnings(
    package: griffe.Module, caplog: pytest.LogCaptureFixture
) -> None:
    # what mkdocstrings parses with (mkdocs.yml): a documented parameter the signature
    # lacks, or one without a type, is a warning there and fails the strict build
    with caplog.at_level(logging.WARNING, logger="griffe"):
        for entry in public_api.public_objects(package).values():
            docstring = entry.obj.docstring
            if docstring is not None:
                docstring.parse("google", warn_unknown_params=True, warn_missing_types=True)
    assert not caplog.messages, "\n".join(caplog.messages)


def test_a_missing_docstring_and_a_wrong_all_are_named(tmp_path: Path) -> None:
    pkg = tmp_path / "tunelab"
    (pkg / "extra").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        '"""Top."""\n__all__ = ["documented"]\n\n\ndef documented() -> None:\n    """Yes."""\n'
    )
    (pkg / "extra" / "__init__.py").write_text(
        '"""Extra."""\nfrom tunelab.extra.impl import Thing\n\n__all__ = ["Thing"]\n'
    )
    (pkg / "extra" / "impl.py").write_text(
        '"""Impl."""\n\n\nclass Base:\n    """Base."""\n\n    def run(self) -> None:\n'
        '        """Run it."""\n\n\nclass Thing(Base):\n    def run(self) -> None:\n'
        "        pass\n\n    def stop(self) -> None:\n        pass\n\n"
        "    def _hidden(self) -> None:\n        pass\n"
    )
    loaded = public_api.load(tmp_path)
    # Thing.run inherits Base.run's docstring; _hidden is private
    assert public_api.undocumented(loaded) == ["tunelab.extra.Thing", "tunelab.extra.Thing.stop"]

    (pkg / "extra" / "__init__.py").write_text('"""Extra."""\n__all__ = ["Gone"]\n')
    with pytest.raises(LookupError, match=r"tunelab\.extra\.__all__ names 'Gone'"):
        public_api.public_objects(public_api.load(tmp_path))


def _commands(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _commands(sub, f"{path} {name}")
    return found


def test_every_cli_command_and_option_has_help() -> None:
    from tunelab.cli.main import cli

    missing = []
    for path, command in _commands(cli, "tunelab"):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                missing.append(f"{path} {'/'.join(param.opts)}")
    assert not missing, "without help text:\n" + "\n".join(missing)
