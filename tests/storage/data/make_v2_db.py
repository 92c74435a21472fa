"""Build v2.db, a schema-v2 tunelab database: two single-objective studies (one minimized,
one maximized) whose trials completed, were pruned or failed, with reports.

Run with the v2 code (the parent of the commit that adds schema v3); the output is
committed, since later code cannot write a v2 file:

    PYTHONPATH=src python tests/storage/data/make_v2_db.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import tunelab
from tunelab.types import TrialState

HERE = Path(__file__).resolve().parent


def objective(trial: Any) -> Any:
    x = trial.hp.Float("x", -2.0, 2.0)
    kind = trial.hp.Choice("kind", ["a", "b"])
    for step in range(3):
        trial.report(step, val_loss=(x - 0.5) ** 2 + 1.0 / (step + 1))
    if trial.number == 3:
        raise RuntimeError("boom")
    if trial.number == 4:
        return {"other": 1.0}
    return {"val_loss": (x - 0.5) ** 2, "kind_is_a": kind == "a"}


def main(out: Path) -> None:
    path = out / "v2.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    low = tunelab.create_study(
        "v2-min", url, metric="val_loss", direction="minimize", sampler="random", seed=1
    )
    low.optimize(objective, n_trials=6)
    high = tunelab.create_study(
        "v2-max", url, metric="score", direction="maximize", sampler="random", seed=2
    )
    for i in range(3):
        trial = high.ask()
        trial.hp.Int("units", 1, 8)
        trial.report(0, score=0.1 * i)
        high.tell(
            trial,
            state=TrialState.PRUNED if i == 2 else None,
            values=None if i == 2 else 0.5 + 0.1 * i,
        )
    high.storage.close()
    low.storage.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
