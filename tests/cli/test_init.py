"""`tunelab init`: starter scripts from the templates shipped with the package, which are
the examples/ files themselves, runnable at once with `tunelab run`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunelab
from tunelab.cli.main import cli
from tunelab.cli.starter import TEMPLATES, template_text
from tunelab.types import TrialState

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "src" / "tunelab" / "cli" / "templates"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_each_template_is_a_link_to_its_example_not_a_copy(name: str) -> None:
    file = TEMPLATES[name].file
    link = TEMPLATE_DIR / file
    assert link.is_symlink(), f"{link} must link to examples/{file} (one copy to keep right)"
    assert link.resolve() == ROOT / "examples" / file
    assert template_text(name) == (ROOT / "examples" / file).read_text()


def test_list_names_every_template_and_the_default() -> None:
    result = CliRunner().invoke(cli, ["init", "--list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["digits-mlp", "objective"]
    assert lines[0].endswith("(the default)")


def test_init_writes_the_seed_example_pointing_at_where_it_was_written(here: Path) -> None:
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    written = (here / "tune.py").read_text()
    assert written == template_text("digits-mlp").replace(
        "examples/run_hparam_tuning.py", "tune.py"
    )
    assert "tunelab run tune.py --trials 50 --jobs 2" in written
    assert result.output.splitlines()[-1] == (
        "run it: tunelab run tune.py --trials 10; then: tunelab show tune"
    )


def test_init_never_overwrites_without_force(here: Path) -> None:
    (here / "tune.py").write_text("mine\n")
    refused = CliRunner().invoke(cli, ["init"])
    assert refused.exit_code != 0
    assert refused.output == (
        "Error: 'tune.py' exists already; pass --force to replace it, or give another file name\n"
    )
    assert (here / "tune.py").read_text() == "mine\n"
    forced = CliRunner().invoke(cli, ["init", "--force"])
    assert forced.exit_code == 0
    assert "def build_model" in (here / "tune.py").read_text()


def test_a_folder_gets_tune_py_and_a_missing_folder_is_one_line(here: Path) -> None:
    (here / "work").mkdir()
    assert CliRunner().invoke(cli, ["init", "work"]).exit_code == 0
    assert (here / "work" / "tune.py").is_file()
    missing = CliRunner().invoke(cli, ["init", "nowhere/x.py"])
    assert missing.exit_code != 0 and len(missing.output.splitlines()) == 1
    assert "'nowhere' does not exist" in missing.output
    not_python = CliRunner().invoke(cli, ["init", "notes.txt"])
    assert not_python.exit_code != 0 and not (here / "notes.txt").exists()
    assert "give a name ending in .py" in not_python.output


def test_the_plain_template_runs_with_tunelab_run_and_names_its_study(here: Path) -> None:
    written = CliRunner().invoke(cli, ["init", "search.py", "--template", "objective"])
    assert written.exit_code == 0, written.output
    text = (here / "search.py").read_text()
    assert "tunelab run search.py" in text and "tunelab show search\n" in text
    ran = CliRunner().invoke(cli, ["run", "search.py", "--trials", "3"])
    assert ran.exit_code == 0, ran.output
    study = tunelab.load_study("search", str(here / "tunelab.db"))
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert study.metric == "val_loss" and study.direction == "minimize"
    assert all(len(t.intermediate("val_loss")) == 5 for t in trials)
    assert {"learning_rate", "momentum", "batch_size"} == set(trials[0].params)


def test_without_torch_init_names_the_extra_the_template_needs(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0 and (here / "tune.py").is_file()
    assert "it needs torch, which is not installed: pip install 'tunelab[torch]'\n" in (
        result.output
    )
    plain = CliRunner().invoke(cli, ["init", "plain.py", "-t", "objective"])
    assert "not installed" not in plain.output
