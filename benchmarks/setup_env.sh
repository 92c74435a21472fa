#!/usr/bin/env bash
# Create (or refresh) the benchmark virtualenv .venv-bench: tunelab editable + Optuna 5
# (issue 2), and torch (CPU) + Keras 3 + Keras Tuner 1.4.8 + scikit-learn (issue 3).
# Kept apart from the dev venv so Optuna and Keras never leak into tunelab's own test environment.
# Idempotent: reruns only reinstall what pip finds missing or out of date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PYTHON="${PYTHON:-python3}"
TORCH="torch==2.13.0"  # the CPU wheel on this disk (/opt/wheels); keep in step with requirements.txt

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and on its own, so nothing later can resolve it to a CUDA build.
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__ != '2.13.0+cpu')" \
        2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet "$TORCH"
fi
"$VENV/bin/python" -m pip install --quiet -e "$ROOT[torch]" -r "$ROOT/benchmarks/requirements.txt"
"$VENV/bin/python" - <<'PY'
import os
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras, keras_tuner, optuna, sklearn, torch, tunelab
assert "+cpu" in torch.__version__, f"expected the CPU build of torch, got {torch.__version__}"
print(f"benchmark env ready: optuna {optuna.__version__}, torch {torch.__version__}, "
      f"keras {keras.__version__} ({keras.backend.backend()}), keras-tuner {keras_tuner.__version__}, "
      f"scikit-learn {sklearn.__version__}, tunelab {tunelab.__version__}")
PY
