"""The samplers' one-BLAS-thread block: one thread inside, the user's setting after."""

from __future__ import annotations

import pytest

from tunelab.samplers._blas import _blas_libraries, one_blas_thread


def test_blas_runs_on_one_thread_inside_the_block_and_as_before_after_it() -> None:
    libraries = _blas_libraries()
    if not libraries:
        pytest.skip("threadpoolctl sees no BLAS library here")
    original = [lib.get_num_threads() for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(2)
    try:
        with one_blas_thread():
            assert [lib.get_num_threads() for lib in libraries] == [1] * len(libraries)
        assert [lib.get_num_threads() for lib in libraries] == [2] * len(libraries)
        with pytest.raises(RuntimeError), one_blas_thread():
            raise RuntimeError("a failing fit")
        assert [lib.get_num_threads() for lib in libraries] == [2] * len(libraries)
    finally:
        for lib, n in zip(libraries, original, strict=True):
            lib.set_num_threads(n)
