"""The rules a numeric range must satisfy, each broken one named with its values and a fix."""

from __future__ import annotations

import math
from typing import Any

from tunelab.errors import SearchSpaceError
from tunelab.space.base import is_number


def check_range(name: str, min_value: Any, max_value: Any, step: Any, sampling: str) -> None:
    """Raise SearchSpaceError unless [min_value, max_value] with `step` and `sampling`
    is a valid domain for the parameter `name`."""
    if not is_number(min_value) or not is_number(max_value):
        raise SearchSpaceError(
            f"{name!r}: min_value and max_value must be numbers, but got "
            f"(min_value={min_value!r}, max_value={max_value!r})"
        )
    if not (math.isfinite(float(min_value)) and math.isfinite(float(max_value))):
        raise SearchSpaceError(
            f"{name!r}: min_value and max_value must be finite, but got "
            f"(min_value={min_value!r}, max_value={max_value!r})"
        )
    if min_value > max_value:
        raise SearchSpaceError(
            f"{name!r}: `min_value <= max_value` must hold, but got "
            f"(min_value={min_value!r}, max_value={max_value!r}); swap them"
        )
    if sampling in ("log", "reverse_log") and min_value <= 0:
        raise SearchSpaceError(
            f"{name!r}: {sampling} sampling needs `min_value > 0`, but got "
            f"min_value={min_value!r}; use a positive lower bound or linear sampling"
        )
    if step is not None:
        if not is_number(step) or step <= 0:
            raise SearchSpaceError(
                f"{name!r}: step must be a positive number, but got step={step!r}"
            )
        if sampling == "log":
            if step <= 1:
                raise SearchSpaceError(
                    f"{name!r}: with log sampling the step is a multiplier and must be "
                    f"> 1, but got step={step!r} (e.g. step=2 gives 1, 2, 4, 8…)"
                )
            if max_value > min_value and step > max_value / min_value:
                raise SearchSpaceError(
                    f"{name!r}: the step multiplier must not exceed max_value/min_value, "
                    f"but got step={step!r} for range [{min_value}, "
                    f"{max_value}]; use a smaller step"
                )
        elif max_value > min_value and step > max_value - min_value:
            raise SearchSpaceError(
                f"{name!r}: step must not be larger than the range, but got "
                f"step={step!r} for range [{min_value}, {max_value}]; "
                "use a smaller step"
            )
        if sampling == "reverse_log":
            raise SearchSpaceError(
                f"{name!r}: reverse_log sampling takes no step; drop step= or use linear"
            )
