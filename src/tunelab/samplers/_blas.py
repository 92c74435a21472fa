"""One BLAS thread for the samplers' small matrix work.

The samplers' matrices are small (a GP's training set, TPE's candidates against a
thousand kernels), so waking BLAS threads costs more than it saves, and on a busy
machine it costs a great deal: a GP suggestion took 6 s threaded and 0.1 s on one
thread on a loaded 2-core machine, and a TPE density product 12 ms on average instead
of 0.15 ms. One thread also makes results independent of the core count. Entering the
limit costs a few µs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any


@functools.lru_cache(maxsize=1)
def _blas_libraries() -> tuple[Any, ...]:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return ()
    import scipy.linalg  # noqa: F401  (loaded first, so the controller sees scipy's BLAS too)

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


@contextlib.contextmanager
def _one_thread(libraries: tuple[Any, ...]) -> Iterator[None]:
    # threadpoolctl's own `limit` reads every library's full info first (~50 µs); the
    # thread counts are all that is needed here.
    before = [lib.get_num_threads() for lib in libraries]
    try:
        for lib, n in zip(libraries, before, strict=True):
            if n != 1:
                lib.set_num_threads(1)
        yield
    finally:
        for lib, n in zip(libraries, before, strict=True):
            if n is not None and n != 1:
                lib.set_num_threads(n)


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS on one thread inside the block, when threadpoolctl is installed."""
    libraries = _blas_libraries()
    if not libraries:
        return contextlib.nullcontext()
    return _one_thread(libraries)
