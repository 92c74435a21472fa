#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 (trust auth, database `test`); start the
# local cluster if it is down. TUNELAB_PG_DSN points the tests at another server instead.
set -euo pipefail
if [ -n "${TUNELAB_PG_DSN:-}" ]; then exit 0; fi
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then exit 0; fi
if ! command -v pg_ctlcluster >/dev/null; then
  echo "PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is missing:" \
       "install postgresql or set TUNELAB_PG_DSN" >&2
  exit 1
fi
echo "starting PostgreSQL…" >&2
pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
