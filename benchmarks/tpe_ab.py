"""TPE suggestion cost, this tree against an earlier commit, paired in one process (issue 4).

On a shared 2-core machine the same code measures 20-40 % apart from one run to the next, so a
5 % change cannot be seen by running `suggest_overhead.py` twice. This script imports the
earlier commit's `samplers/tpe` under another package name (`git archive`, imports rewritten;
the rest of tunelab is this tree's), fills two identical in-memory studies with N finished
trials, and times suggestions of the two samplers alternately (order swapped every round),
with `gc.collect()` before each as in `suggest_overhead.py` (cold caches). Both sides see the
same machine at the same moments: the ratio of their medians is steady to about 1-2 %.

Run from the repository root (about 1 minute):

    .venv/bin/python benchmarks/tpe_ab.py 3183cb3 [--n 1000] [--k 200]

Only `samplers/tpe` differs between the two sides: a change elsewhere (study, storage) is not
measured by this script.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import suggest_overhead as so  # the same space, history and objective

import tunelab
from tunelab.samplers.tpe import TPESampler

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tpe_then"


def earlier_tpe(rev: str, into: Path) -> type:
    """The TPESampler class of `rev`, importable as package `tpe_then`."""
    archive = subprocess.run(
        ["git", "archive", rev, "src/tunelab/samplers/tpe"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    target = into / PACKAGE
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
                text = text.replace("tunelab.samplers.tpe.", f"{PACKAGE}.")
                text = text.replace("from tunelab.samplers.tpe import", f"from {PACKAGE} import")
                (target / Path(member.name).name).write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module(PACKAGE).TPESampler  # type: ignore[no-any-return]


def filled_study(name: str, history: list[dict[str, Any]], n: int, sampler: Any) -> Any:
    filler = tunelab.create_study(name, storage=":memory:", metric="loss",
                                  direction="minimize", sampler=so._replay_sampler(history))
    for _ in range(n):
        trial = filler.ask()
        filler.tell(trial, so.value(so.suggest_tunelab(trial.hp)))
    return tunelab.load_study(name, filler.storage, sampler=sampler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (any git revision)")
    parser.add_argument("--n", type=int, default=1000, help="finished trials before timing")
    parser.add_argument("--k", type=int, default=200, help="timed suggestions per side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        then = earlier_tpe(args.rev, Path(tmp))
        rng = np.random.default_rng(0)
        history = [so.random_params(rng) for _ in range(args.n + args.k + 5)]
        studies = {"then": filled_study("then", history, args.n, then(seed=0)),
                   "now": filled_study("now", history, args.n, TPESampler(seed=0))}
        cpu: dict[str, list[float]] = {"then": [], "now": []}
        for i in range(args.k + 1):  # round 0 warms up
            for side in ("then", "now") if i % 2 else ("now", "then"):
                study = studies[side]
                gc.collect()
                start = time.process_time()
                trial = study.ask()
                params = so.suggest_tunelab(trial.hp)
                took = time.process_time() - start
                study.tell(trial, so.value(params))
                if i:
                    cpu[side].append(took)
    then_ms, now_ms = (1000 * statistics.median(cpu[s]) for s in ("then", "now"))
    pairs = statistics.median(b / a for a, b in zip(cpu["then"], cpu["now"], strict=True))
    print(f"{args.n} finished trials, {args.k} suggestions a side, CPU ms per suggestion "
          f"(median): {args.rev} {then_ms:.3f}, this tree {now_ms:.3f}; "
          f"ratio of medians {now_ms / then_ms:.3f}, median of paired ratios {pairs:.3f}")


if __name__ == "__main__":
    main()
