"""The search space of a study: every parameter its trials have asked for, in order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.errors import SearchSpaceError, first_line
from tunelab.space.conditions import Condition
from tunelab.space.params import Param, param_from_json


@dataclass(frozen=True)
class Entry:
    """A parameter with the conditions under which it is active."""

    param: Param
    conditions: tuple[Condition, ...] = ()

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """Whether every condition of the entry holds for these values."""
        return all(c.is_met(dict(values)) for c in self.conditions)

    def to_json(self) -> dict[str, Any]:
        """The parameter's JSON with its conditions, as storage keeps it."""
        data = self.param.to_json()
        if self.conditions:
            data["conditions"] = [c.to_json() for c in self.conditions]
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Entry:
        """The entry from its `to_json()` form."""
        data = dict(data)
        conditions = tuple(Condition.from_json(c) for c in data.pop("conditions", []))
        return Entry(param_from_json(data), conditions)


def check_redefinition(old: Param, new: Param) -> None:
    """Raise if `new` reuses `old`'s name with another domain."""
    if not old.same_domain(new):
        raise SearchSpaceError(
            f"hyperparameter {new.name!r} was defined as {old.describe()} and is now "
            f"redefined as {new.describe()}; a name keeps one domain within a study: "
            "rename the new one or start a new study"
        )


@dataclass
class SearchSpace:
    """Ordered mapping of name -> Entry. Grows as trials define new parameters."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, name: str) -> Param:
        return self.entries[name].param

    def names(self) -> list[str]:
        """The parameters' names, in the order they were first defined."""
        return list(self.entries)

    def add(self, param: Param, conditions: tuple[Condition, ...] = ()) -> bool:
        """Add a parameter; return True if it is new. Raise on a conflicting domain."""
        known = self.entries.get(param.name)
        if known is not None:
            check_redefinition(known.param, param)
            return False
        self.entries[param.name] = Entry(param, conditions)
        return True

    def index(self, name: str) -> int:
        """The position of parameter `name` in the space (ValueError if absent)."""
        return list(self.entries).index(name)

    def to_json(self) -> list[dict[str, Any]]:
        """Every entry as JSON, in order (read back with `from_json`)."""
        return [e.to_json() for e in self.entries.values()]

    @staticmethod
    def from_json(data: list[dict[str, Any]], where: str = "stored data") -> SearchSpace:
        """The space from its `to_json()` form; a definition that cannot be read (written by
        another program, or damaged) raises naming `where` it was read and the parameter."""
        space = SearchSpace()
        for item in data:
            try:
                entry = Entry.from_json(item)
            except (SearchSpaceError, TypeError, ValueError, AttributeError) as e:
                name = item.get("name") if isinstance(item, dict) else None
                raise SearchSpaceError(
                    f"{where}: the stored definition of hyperparameter {name!r} cannot be read "
                    f"({first_line(e)}); "
                    "the database was changed outside tunelab: restore it from a backup"
                ) from None
            space.entries[entry.param.name] = entry
        return space
