"""lr_find's suggestion against the best learning rate of real grid studies (issue 22).

Run: `PYTHONPATH=src python benchmarks/lr_find_rule.py` (about 3 minutes on one thread).

The set-ups and studies are the learning-rate tutorial's (docs/tutorials/scripts/
learning_rate.py: digits MLPs with Adam and SGD, with and without dropout, nine to eleven
rates half a decade apart, two seeds each). For each, the study's best rate (lowest mean
best-epoch validation loss) beside lr_find's suggestion with seed 0; the check is that the
suggestion lies within FACTOR of the best in every set-up, finer than the grid's own step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "tutorials" / "scripts"))

import _common
import learning_rate as tutorial

from tunelab import torch as tl_torch

FACTOR = 2.0


def main() -> int:
    storage = _common.fresh_storage("lr-find-rule")
    worst = 1.0
    for setup in tutorial.SETUPS:
        best, _ = tutorial.best_rate(tutorial.study_of(setup, storage, seeds=2))
        torch.manual_seed(0)
        found = tl_torch.lr_find(
            setup.build(), tutorial.DATA, optimizer=setup.optimizer, batch_size=setup.batch_size
        )
        ratio = found.suggestion / best
        worst = max(worst, ratio, 1 / ratio)
        print(f"{setup.name:<58} best {best:<7g} suggestion {found.suggestion:<8.3g} x{ratio:.2f}")
    print(f"worst factor {worst:.2f} (limit {FACTOR})")
    return 0 if worst <= FACTOR else 1


if __name__ == "__main__":
    sys.exit(main())
