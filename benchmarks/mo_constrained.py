"""Constrained multi-objective search, tunelab beside Optuna 5's constrained samplers: the
share of feasible trials and the hypervolume of the feasible ones (issue 18).

Problems (benchmarks/mo_problems.py): zdt1c (ZDT1 with an infeasible half-ellipse over the
middle of its front) and digitsc (the tabular digits MLP with n_parameters <= 20,000, which
only hidden1 = 64 meets). tunelab's studies get `constraints={metric: (op, bound)}`; Optuna's
samplers get `constraints_func` returning the same violation (feasible when <= 0);
optuna:random ignores the constraint, as tunelab's random and sobol do. The runs, the cache
and the options are benchmarks/mo_quality.py's; the tables add the feasible share of the 100
trials, and the hypervolumes count feasible trials only:

    PY="nice -n 19 env PYTHONPATH=$PWD/src .venv-bench/bin/python"
    $PY benchmarks/mo_constrained.py --only 'optuna:*,tunelab:random,tunelab:sobol' --seeds 10
    $PY benchmarks/mo_constrained.py --table
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mo_quality
from mo_problems import CONSTRAINED

if __name__ == "__main__":
    mo_quality.main(problems=CONSTRAINED)
