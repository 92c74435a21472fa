"""One BLAS thread for the samplers' small matrix work.

The samplers' matrices are small (a GP's training set, TPE's candidates against a
thousand kernels), so waking BLAS threads costs more than it saves, and on a busy
machine it costs a great deal: a GP suggestion took 6 s threaded and 0.1 s on one
thread on a loaded 2-core machine, and a TPE density product 12 ms on average instead
of 0.15 ms. One thread also makes results independent of the core count. Entering the
limit costs ~20 µs.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    import scipy.linalg  # noqa: F401  (loaded first, so the controller sees scipy's BLAS too)

    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS on one thread inside the block, when threadpoolctl is installed."""
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
