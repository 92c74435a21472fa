#!/usr/bin/env bash
# Create or refresh ./.venv with tunelab, the CPU build of torch and the dev tools.
# Idempotent: reinstalls only when requirements-dev.txt or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.tunelab-installed
want=$(cat requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up .venv (first time: a minute or two)…" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt >&2
  echo "$want" > "$stamp"
fi
# Debian's chromium for the browser tests (tests/report drives /usr/bin/chromium through
# Playwright; Playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the browser tests…" >&2
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -qq)
  [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
  { "${apt[@]}" install chromium || { "${apt[@]}" update && "${apt[@]}" install chromium; }; } \
    >/dev/null 2>&1 || echo "warning: could not install chromium; tests/report/test_browser.py will fail" >&2
fi
