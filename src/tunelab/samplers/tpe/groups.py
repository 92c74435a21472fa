"""Groups of parameters that always occur together, so each group can be modelled jointly.

In a define-by-run space a trial holds only the parameters its code asked for. The
coarsest split of the parameters such that every trial holds either all or none of each
group puts two parameters together exactly when the same trials hold them. Every group
then has a well-defined set of trials to fit a joint density on (those that hold it),
and parameters active under different conditions are modelled apart.
"""

from __future__ import annotations

import numpy as np


def co_occurring_groups(present: np.ndarray) -> list[tuple[int, ...]]:
    """Groups of column indices of `present` (trials x parameters, True where a trial holds
    the parameter) whose columns are identical. Columns no trial holds are left out;
    groups are ordered by their first column."""
    present = np.asarray(present, dtype=bool)
    if present.ndim != 2:
        raise ValueError(f"present must be a 2-D array, but got shape {present.shape}")
    n_trials, n_params = present.shape
    if n_trials == 0 or n_params == 0:
        return []
    packed = np.ascontiguousarray(np.packbits(present.T, axis=1))  # one byte string a column
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, group_of = np.unique(keys, return_index=True, return_inverse=True)
    group_of = group_of.reshape(-1)
    held: np.ndarray = np.asarray(present.any(axis=0))
    groups = []
    for g in np.argsort(first, kind="stable"):
        members = np.flatnonzero(group_of == g)
        if held[members[0]]:
            groups.append(tuple(int(j) for j in members))
    return groups
