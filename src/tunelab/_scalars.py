"""The single numbers among what a training framework logs, as floats: the one filter the
Keras, Lightning and Hugging Face bridges share before they report metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def scalars(logged: Mapping[str, Any] | None) -> dict[str, float]:
    """The entries of `logged` that are single numbers (0-d tensors and numpy scalars
    included), as floats; flags, text and multi-element tensors are not metrics."""
    out = {}
    for key, value in (logged or {}).items():
        if isinstance(value, bool):
            continue
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
    return out
