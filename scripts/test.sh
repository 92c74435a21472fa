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
# Two phases: every test that can share the machine on all cores (pytest-xdist), then the
# `serial` ones alone (tests/conftest.py says which and why). worksteal: a worker that runs
# out of tests takes queued ones from the other, so one long test does not idle a core at
# the end. TUNELAB_TEST_WORKERS=1 runs phase one on one core. Both run even if the first
# fails; exit status 5 (nothing selected, e.g. for a path holding only serial tests) is fine.
status=0
.venv/bin/python -m pytest -n "${TUNELAB_TEST_WORKERS:-auto}" --dist worksteal -m "not serial" "$@" || status=$?
.venv/bin/python -m pytest -p no:xdist -m serial "$@" || { rc=$?; [ "$rc" = 5 ] || status=$rc; }
[ "$status" = 5 ] && status=0
exit "$status"
