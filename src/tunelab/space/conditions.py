"""Conditions: a parameter exists only while its parent holds one of some values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Condition:
    """Active when the value of `parent_name` is one of `parent_values`."""

    parent_name: str
    parent_values: tuple[Any, ...]

    def is_met(self, values: dict[str, Any]) -> bool:
        """Whether the condition holds for these values (False while the parent has none)."""
        if self.parent_name not in values:
            return False
        value = values[self.parent_name]
        # True == 1 in Python, but a Boolean parent and an Int parent are different domains.
        return any(
            isinstance(v, bool) == isinstance(value, bool) and v == value
            for v in self.parent_values
        )

    def to_json(self) -> dict[str, Any]:
        """The condition as JSON, as storage keeps it."""
        return {"parent_name": self.parent_name, "parent_values": list(self.parent_values)}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Condition:
        """The condition from its `to_json()` form."""
        return Condition(str(data["parent_name"]), tuple(data["parent_values"]))
