#!/usr/bin/env bash
# The training kit on a CUDA GPU (issue 19), in a few minutes: versions and the card, the
# seed MLP and SmallCNN on CPU and CUDA (amp off/auto/bf16) with time per trial and peak
# memory, then trials per hour with 1, 2 and 4 trials sharing one GPU. See gpu_check.py.
#
#   bash benchmarks/gpu_check.sh [--trials N] [--share-trials N] [--per-gpu 1,2,4]
#
# Runs this checkout's code (PYTHONPATH=src, nothing to build) with a Python that already
# has torch: $PYTHON, else .venv-gpu, .venv, python3. When that Python lacks tunelab's own
# dependencies, a venv .venv-gpu is made on top of it (--system-site-packages, so its torch
# is kept) and pip installs only those (and scikit-learn, for the digits). torch itself is
# never installed here: a CUDA build must already be on the machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-gpu"
IMPORTS="import numpy, scipy, sqlalchemy, alembic, click, rich, threadpoolctl, sklearn, safetensors"

has() { "$1" -c "$2" >/dev/null 2>&1; }

BASE=""
for candidate in "${PYTHON:-}" "$VENV/bin/python" "$ROOT/.venv/bin/python" python3 python; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
            && has "$candidate" "import torch"; then
        BASE="$candidate"
        break
    fi
done
if [ -z "$BASE" ]; then
    echo "error: no Python here can import torch; install a CUDA build of torch (or set" \
         "PYTHON=/path/to/python that has it), then rerun" >&2
    exit 1
fi

PY="$BASE"
if ! has "$PY" "$IMPORTS"; then
    if [ ! -x "$VENV/bin/python" ]; then
        "$BASE" -m venv --system-site-packages "$VENV"
    fi
    PY="$VENV/bin/python"
    DEPS="$("$PY" - <<'PY'
import pathlib, re
text = pathlib.Path("pyproject.toml").read_text()
block = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M).group(1)
print(" ".join(re.findall(r'"([^"]+)"', block)))
PY
)"
    # shellcheck disable=SC2086  # one word per requirement
    "$PY" -m pip install --quiet $DEPS "scikit-learn>=1.3" "safetensors>=0.4"
    if ! has "$PY" "import torch; $IMPORTS"; then
        echo "error: $PY still cannot import torch and tunelab's dependencies" >&2
        exit 1
    fi
fi

export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
echo "python $PY · tunelab from $ROOT/src · commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
start=$SECONDS
"$PY" benchmarks/gpu_check.py info "$@" || exit 1
status=0
echo
echo "== one trial at a time: CPU vs CUDA, amp off/auto/bf16 =="
"$PY" benchmarks/gpu_check.py train "$@" || status=1
echo
echo "== trials sharing one GPU: optimize(gpus=[0], trials_per_gpu=m) =="
"$PY" benchmarks/gpu_check.py share "$@" || status=1
echo
echo "gpu_check: $((SECONDS - start)) s, $([ $status -eq 0 ] && echo ok || echo 'with failures (above)')"
exit $status
