"""Suggestion cost of the whole ask/suggest flow, this tree against an earlier commit, paired
(issue 4).

A change to the sampler, the study, the storage or the parameter classes needs both whole
trees, so this script runs two worker processes, one on `git archive REV` and one on this tree, each with the same in-memory study
of N finished trials (`suggest_overhead.py`'s space, history and objective) and the same
seeded sampler, and alternates chunks of timed suggestions between them (order swapped every
round), `gc.collect()` before each as in `suggest_overhead.py`. Both see the same machine at
the same moments, so the ratio of their medians holds to a couple of per cent where two
`suggest_overhead.py` runs of the same code differ by 20-40 %. CPU time per suggestion: ask
and all 7 parameters.

Run from the repository root:

    .venv/bin/python benchmarks/flow_ab.py REV [--n 1000] [--sampler tpe] \
        [--rounds 20] [--chunk 10]

`--rounds 4 --chunk 8` times the first 32 suggestions after the history, as
`suggest_overhead.py` does (its window, where caches of a new sampler still fill); the
default 200 measure the steady state.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(root: str, n: int, sampler: str) -> None:
    """Fill a study, then answer each line K on stdin with K suggestions' CPU seconds."""
    sys.path[:0] = [os.path.join(root, "src"), os.path.join(root, "benchmarks")]
    import numpy as np
    import suggest_overhead as so

    import tunelab

    assert tunelab.__file__.startswith(root), f"imported {tunelab.__file__}, not {root}"
    rng = np.random.default_rng(0)
    history = [so.random_params(rng) for _ in range(n)]
    filler = tunelab.create_study(
        "ab",
        storage=":memory:",
        metric="loss",
        direction="minimize",
        sampler=so._replay_sampler(history),
    )
    for _ in history:
        trial = filler.ask()
        filler.tell(trial, so.value(so.suggest_tunelab(trial.hp)))
    study = tunelab.load_study("ab", filler.storage, sampler=so.make_tunelab_sampler(sampler, 0))
    trial = study.ask()  # warm-up, untimed
    study.tell(trial, so.value(so.suggest_tunelab(trial.hp)))
    print("ready", flush=True)
    for line in sys.stdin:
        seconds = []
        for _ in range(int(line)):
            gc.collect()
            start = time.process_time()
            trial = study.ask()
            params = so.suggest_tunelab(trial.hp)
            seconds.append(time.process_time() - start)
            study.tell(trial, so.value(params))
        print(" ".join(f"{s:.7f}" for s in seconds), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to compare this tree with")
    parser.add_argument("--n", type=int, default=1000, help="finished trials before timing")
    parser.add_argument("--sampler", default="tpe", help="a tunelab sampler name")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=10, help="suggestions per side and round")
    parser.add_argument("--worker", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.n, args.sampler)
        return
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.rev], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        sides = {
            name: subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    args.rev,
                    "--worker",
                    root,
                    "--n",
                    str(args.n),
                    "--sampler",
                    args.sampler,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for name, root in (("old", old), ("new", str(ROOT)))
        }
        for side in sides.values():
            assert side.stdin and side.stdout and side.stdout.readline().strip() == "ready"
        seconds: dict[str, list[float]] = {"old": [], "new": []}
        ratios = []
        for r in range(args.rounds):
            got: dict[str, list[float]] = {}
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                side = sides[name]
                assert side.stdin and side.stdout
                side.stdin.write(f"{args.chunk}\n")
                side.stdin.flush()
                got[name] = [float(x) for x in side.stdout.readline().split()]
                seconds[name] += got[name]
            ratios.append(statistics.median(got["new"]) / statistics.median(got["old"]))
        for side in sides.values():
            assert side.stdin
            side.stdin.close()
            side.wait()
    old_ms, new_ms = (1000 * statistics.median(seconds[k]) for k in ("old", "new"))
    print(
        f"{args.n} finished trials, {args.sampler}, {args.rounds * args.chunk} suggestions a "
        f"side, CPU ms per suggestion (median): {args.rev} {old_ms:.3f}, this tree "
        f"{new_ms:.3f}; ratio of medians {new_ms / old_ms:.3f}, median of chunk ratios "
        f"{statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
