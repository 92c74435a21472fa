#!/usr/bin/env bash
# The main job: a real tuning run of the seed tutorial's MLP on scikit-learn's digits,
# stored in ./tunelab.db. Extra arguments go to `tunelab run` (e.g. --trials 50 --jobs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
if [ $# -eq 0 ]; then set -- --trials 20; fi
exec .venv/bin/tunelab run examples/run_hparam_tuning.py --study digits-mlp "$@"
