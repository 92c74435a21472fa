#!/usr/bin/env bash
# The whole test suite, with lint, types and the import contracts of DESIGN.md.
# PostgreSQL tests run against the real server on 127.0.0.1:5432 (started here if it is down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh
bash scripts/ensure-postgres.sh
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/ruff format --check src tests examples benchmarks
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
