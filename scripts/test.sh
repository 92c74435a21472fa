#!/usr/bin/env bash
# The whole test suite, with lint, types and the import contracts of DESIGN.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
