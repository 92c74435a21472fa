"""The learning-curve model (tunelab.curves): calibration on held-out curves, and the cost
of one decision.

Calibration: references are `--references` complete curves drawn at random (`--draws`
times); every other curve is cut after `cut` epochs and its final value (epoch E) predicted
from them. Reported:
the share of finals inside the 80 % interval (the target is 80 %), the interval's median
width, and the same for the model without references (its widened Gaussian). Two families:
the synthetic late bloomers of multifidelity.py (fresh random configurations) and, when its
table is built, the digits MLP's real curves (multifidelity_digits.py --build).

Cost: one `CurveModel.predict` with 1,000 complete reference curves, the first time at a
cut (every reference's error computed; only the 64 most recent are used) and again at the
same cut (cached), as the scheduler meets it.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/curve_model.py [--references 40]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import multifidelity as mf
import numpy as np

from tunelab.curves import Curve, CurveModel

CUTS = (1, 3, 6, 9, 18)
STEPS = np.arange(1, mf.E + 1, dtype=float)


def synthetic(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    def config() -> dict[str, float]:
        return {
            "lr": 10 ** rng.uniform(-4, -1),
            "units": 2 ** rng.uniform(4, 9),
            "dropout": rng.uniform(0, 0.5),
            "weight_decay": 10 ** rng.uniform(-6, -2),
        }

    return [mf.curve(config(), 0) for _ in range(n)]


def digits() -> list[np.ndarray] | None:
    import multifidelity_digits as md

    try:
        table = md.table_curves()
    except SystemExit:
        return None
    return [np.asarray(c, dtype=float) for c in table.values()]


def coverage(curves: Sequence[np.ndarray], references: int, draws: int, seed: int) -> None:
    """Per cut: the share of held-out finals inside the 80 % interval and its median width,
    as the mean [lowest, highest] over `draws` random choices of the references."""
    inside: dict[tuple[int, bool], list[float]] = {}
    width: dict[tuple[int, bool], list[float]] = {}
    for draw in range(draws):
        order = np.random.default_rng([seed, draw]).permutation(len(curves))
        refs = [Curve(int(i), STEPS, curves[i]) for i in order[:references]]
        held = [curves[i] for i in order[references:]]
        for cut in CUTS:
            model = CurveModel()
            for with_refs in (True, False):
                hits, widths = 0, []
                for y in held:
                    p = model.predict(STEPS[:cut], y[:cut], mf.E, refs if with_refs else [])
                    low, high = p.interval(0.8)
                    hits += low <= y[-1] <= high
                    widths.append(high - low)
                inside.setdefault((cut, with_refs), []).append(hits / len(held))
                width.setdefault((cut, with_refs), []).append(statistics.median(widths))
    print(f"  {references} references, {len(curves) - references} held-out curves, {draws} draws")
    print("  cut  calibrated: inside [range], width    no references: inside [range], width")
    for cut in CUTS:
        cells = []
        for with_refs in (True, False):
            share = inside[(cut, with_refs)]
            cells.append(
                f"{np.mean(share):6.1%} [{min(share):.0%}, {max(share):.0%}], "
                f"{np.mean(width[(cut, with_refs)]):.3f}"
            )
        print(f"  {cut:3d}  {cells[0]:>34}   {cells[1]:>34}")


def cost(rng: np.random.Generator) -> None:
    refs = [Curve(i, STEPS, y) for i, y in enumerate(synthetic(1000, rng))]
    own = synthetic(2, rng)
    model = CurveModel()
    first, again = [], []
    for cut in (3, 5, 7, 9, 11):
        t = time.perf_counter()
        model.predict(STEPS[:cut], own[0][:cut], mf.E, refs)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.predict(STEPS[:cut], own[1][:cut], mf.E, refs)
        again.append(time.perf_counter() - t)
    print(
        f"  1,000 references: first decision at a cut {statistics.median(first) * 1e3:.0f} ms "
        f"(median of 5 cuts), later decisions at that cut {statistics.median(again) * 1e3:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=5, help="random choices of references")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("synthetic late bloomers (multifidelity.py), 27 epochs:")
    coverage(synthetic(args.references + 300, rng), args.references, args.draws, args.seed)
    table = digits()
    if table is None:
        print("digits MLP: no table (run multifidelity_digits.py --build first)")
    else:
        print(f"digits MLP table ({len(table)} configurations), 27 epochs:")
        coverage(table, args.references, args.draws, args.seed)
    print("cost:")
    cost(rng)


if __name__ == "__main__":
    main()
