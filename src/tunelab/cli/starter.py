"""`tunelab init`: a starter script written from a template shipped with the package.

The templates are examples/ files themselves: src/tunelab/cli/templates/ links to them, so
the wheel carries their text and there is one copy to keep right. A template names its own
path (`examples/NAME.py`) and study (NAME) in its run instructions; the written copy names
its own instead."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from tunelab.cli.export import output_path, write_output

DEFAULT_FILE = "tune.py"


@dataclass(frozen=True)
class Template:
    """A starter script: the examples/ file it is, what it shows, the extra it needs."""

    file: str
    about: str
    needs: str | None = None  # an importable module the script needs, installed by an extra


TEMPLATES = {
    "digits-mlp": Template(
        "run_hparam_tuning.py",
        "the seed example: a tunelab.torch MLP on scikit-learn's digits",
        needs="torch",
    ),
    "objective": Template(
        "plain_objective.py",
        "a plain-Python objective(trial) (NumPy only): put your own training code in it",
    ),
}
DEFAULT_TEMPLATE = "digits-mlp"


def template_text(name: str) -> str:
    """The text of template `name`, as shipped."""
    return (resources.files("tunelab.cli") / "templates" / TEMPLATES[name].file).read_text(
        encoding="utf-8"
    )


def starter_text(name: str, written_as: str) -> str:
    """Template `name` with its run instructions pointing at `written_as` and its study."""
    file = TEMPLATES[name].file
    text = template_text(name).replace(f"examples/{file}", written_as)
    return text.replace(Path(file).stem, Path(written_as).stem)


def _listing() -> str:
    width = max(map(len, TEMPLATES))
    return "\n".join(
        f"{name:<{width}}  {t.about}" + (" (the default)" if name == DEFAULT_TEMPLATE else "")
        for name, t in TEMPLATES.items()
    )


@click.command(name="init")
@click.argument("path", required=False, type=click.Path())
@click.option(
    "-t",
    "--template",
    "template",
    type=click.Choice(list(TEMPLATES)),
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Which starter script (--list shows them).",
)
@click.option("--list", "list_", is_flag=True, help="List the templates and exit.")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def init_cmd(path: str | None, template: str, list_: bool, force: bool) -> None:
    """Write a starter tuning script to PATH (default: tune.py; a folder: PATH/tune.py),
    ready for `tunelab run PATH`."""
    if list_:
        click.echo(_listing())
        return
    given = path or DEFAULT_FILE
    if Path(given).is_dir():
        given = str(Path(given) / DEFAULT_FILE)
    if Path(given).suffix != ".py":
        raise click.ClickException(
            f"cannot write {given!r}: tunelab run loads .py files; give a name ending in .py"
        )
    target = output_path(given, force)
    write_output(target, starter_text(template, given))
    click.echo(f"wrote {given} ({TEMPLATES[template].about})")
    needs = TEMPLATES[template].needs
    if needs is not None and importlib.util.find_spec(needs) is None:
        click.echo(f"it needs {needs}, which is not installed: pip install 'tunelab[{needs}]'")
    click.echo(f"run it: tunelab run {given} --trials 10; then: tunelab show {Path(given).stem}")
