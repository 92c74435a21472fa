"""Suite-wide settings."""

from __future__ import annotations

import os

# Tests start worker subprocesses beside the test process on a 2-core machine: one torch
# thread each keeps training times stable (two threads on a busy core run ~100x slower).
os.environ.setdefault("TUNELAB_TORCH_THREADS", "1")
