"""What every tutorial script shares: one torch thread, the assets folder, small PNGs,
markdown tables and the text `tunelab show` prints, so a page shows real output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[3]
ASSETS = Path(__file__).resolve().parents[1] / "assets"
WORK = Path(os.environ.get("TUTORIAL_WORK", "/tmp/tunelab-tutorials"))


def train(model: Any, data: Any, trial: Any, *, epochs: int, seed: int = 0, **knobs: Any) -> float:
    """tunelab.torch.fit with every epoch run (patience = epochs), a constant learning rate
    and no weight decay unless `knobs` say otherwise: the tutorials' common ground."""
    from tunelab import torch as tl_torch

    settings: dict[str, Any] = {
        "seed": seed,
        "epochs": epochs,
        "patience": epochs,
        "lr_schedule": "constant",
        "weight_decay": 0.0,
    }
    settings.update(knobs)
    return float(tl_torch.fit(model, data, trial, **settings))  # type: ignore[arg-type]


def fresh_storage(name: str) -> str:
    """A new SQLite file for one tutorial's studies (an old one and its kept weights
    are removed)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.db"
    path.unlink(missing_ok=True)
    shutil.rmtree(WORK / f"{name}-artifacts", ignore_errors=True)  # kept weights
    return str(path)


def save(fig: object, name: str) -> Path:
    """Write a matplotlib figure as a small PNG into the assets folder."""
    import matplotlib.pyplot as plt

    ASSETS.mkdir(parents=True, exist_ok=True)
    out = ASSETS / name
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(out, dpi=80)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    print(f"wrote {out.relative_to(ROOT)}")
    return out


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; right-aligned columns except the first."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write(name: str, text: str) -> Path:
    """Write a snippet (markdown table or captured output) into the assets folder."""
    ASSETS.mkdir(parents=True, exist_ok=True)
    out = ASSETS / name
    out.write_text(text)
    print(f"wrote {out.relative_to(ROOT)}")
    return out


def cli(*args: str, name: str | None = None) -> str:
    """Run `tunelab ARGS` at 80 columns and return what it printed (saved when named)."""
    env = dict(os.environ, COLUMNS="80", NO_COLOR="1", PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(
        [sys.executable, "-m", "tunelab", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    text = "$ tunelab " + " ".join(args).replace(str(WORK) + "/", "") + "\n" + done.stdout
    if name:
        write(name, text)
    return text


class Clock:
    """Prints how long the script took (the tutorials index lists these)."""

    def __enter__(self) -> Clock:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        print(f"took {time.perf_counter() - self.start:.0f} s")
