"""The example notebook runs headlessly in a real Jupyter kernel (nbclient) on this
interpreter: no cell errors, nothing on stderr (no ipywidgets or other warnings), every
plot a plotly figure and every study and insight result an HTML table."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import tunelab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "notebooks" / "tour.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def _kernelspec(home: Path) -> str:
    """A kernel running this very interpreter, importing this very tunelab (an editable
    install or a PYTHONPATH checkout alike)."""
    source = str(Path(tunelab.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tunelab test",
        "language": "python",
        "env": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
    }
    folder = home / "kernels" / "tunelab-test"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(spec))
    return "tunelab-test"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    home = tmp_path_factory.mktemp("jupyter")
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(home))
    mp.setenv("JUPYTER_DATA_DIR", str(home))
    mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = NotebookClient(
            nb,
            kernel_name=_kernelspec(home),
            timeout=120,
            resources={"metadata": {"path": str(home)}},
        )
        client.execute()
    finally:
        mp.undo()
    return nb


def _outputs(nb: nbformat.NotebookNode, needle: str) -> list[nbformat.NotebookNode]:
    """The outputs of the code cell whose source contains `needle`."""
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {needle!r}"
    return list(cells[0].outputs)


def _data(outputs: list[nbformat.NotebookNode]) -> list[dict]:
    return [o["data"] for o in outputs if o.output_type in ("execute_result", "display_data")]


def test_no_errors_no_warnings_and_nothing_on_stderr(executed: nbformat.NotebookNode) -> None:
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{cell.source[:60]!r}: {out.get('evalue')}"
            if out.output_type == "stream":
                assert out.name == "stdout", f"{cell.source[:60]!r} wrote to stderr: {out.text}"
            # rich's Jupyter console shows a warning as display_data, not on stderr
            text = out.get("text", "") + out.get("data", {}).get("text/plain", "")
            assert "Warning" not in text and "ipywidgets" not in text, text


def test_progress_prints_plain_lines_without_ipywidgets(executed: nbformat.NotebookNode) -> None:
    text = "".join(o.get("text", "") for o in _outputs(executed, "study.optimize("))
    assert "ipywidgets" not in text and "IProgress" not in text
    if importlib.util.find_spec("ipywidgets") is None:  # the kernel runs this interpreter
        lines = text.splitlines()
        assert lines[-1].startswith("tour: 24/24 trials, "), text
        assert "best val_loss=" in lines[-1]


@pytest.mark.parametrize(
    ("needle", "trace"),
    [
        ("tp.plot_optimization_history(study)", "scatter"),
        ("tp.plot_intermediate_values(", "scatter"),
        ("tp.plot_parallel_coordinate(", "parcoords"),
        ("tp.plot_slice(", "scatter"),
        ("tp.plot_contour(", "contour"),
        ("tp.plot_param_importances(", "bar"),
        ("tp.plot_effects(", "scatter"),
        ("tp.plot_rank(", "splom"),
        ("tp.plot_edf(", "scatter"),
        ("tp.plot_pareto_front(", "scatter"),
        ("tp.plot_optimization_history(cost)", "scatter"),
    ],
)
def test_each_plot_is_a_plotly_figure(
    executed: nbformat.NotebookNode, needle: str, trace: str
) -> None:
    figures = [d[PLOTLY] for d in _data(_outputs(executed, needle)) if PLOTLY in d]
    assert len(figures) == 1, f"{needle}: no plotly figure among the outputs"
    assert trace in {t["type"] for t in figures[0]["data"]}


@pytest.mark.parametrize(
    ("needle", "text", "tag"),
    [
        ("study", "Study tour", "<table"),
        ("insight.effect_tables(study)", "Effect of learning_rate", "<table"),
        ("insight.importance(study)", "Importance for val_loss", "<table"),
        ("insight.next_ranges(study)", "Where to search next", "<table"),
        ("insight.diagnose(", "Trial #", "<li>"),
        ("cost.optimize(", "Pareto front", "<table"),
    ],
)
def test_studies_and_insight_render_as_html(
    executed: nbformat.NotebookNode, needle: str, text: str, tag: str
) -> None:
    cells = [c for c in executed.cells if c.cell_type == "code" and c.source.strip() == needle]
    outputs = list(cells[0].outputs) if cells else _outputs(executed, needle)
    html = [d["text/html"] for d in _data(outputs) if "text/html" in d]
    assert len(html) == 1 and text in html[0] and tag in html[0], html
