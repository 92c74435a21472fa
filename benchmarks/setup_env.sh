#!/usr/bin/env bash
# Create (or refresh) the benchmark virtualenv .venv-bench: tunelab editable + Optuna 5.
# Kept apart from the dev venv so Optuna never leaks into tunelab's own test environment.
# Idempotent: reruns only reinstall what pip finds missing or out of date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$ROOT" -r "$ROOT/benchmarks/requirements.txt"
"$VENV/bin/python" -c "import optuna, tunelab; print('benchmark env ready: optuna', optuna.__version__)"
