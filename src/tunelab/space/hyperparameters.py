"""`HyperParameters`: the Keras-Tuner-compatible object a `build_model(hp)` receives.

Define-by-run: a parameter exists in a trial only if the code asks for it. The
object does not choose values itself; it asks a resolver (the running trial,
which asks the study's sampler). Used standalone it returns defaults, as Keras
Tuner's does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tunelab.errors import ConfigurationTypeError, SearchSpaceError
from tunelab.space.conditions import Condition
from tunelab.space.params import Boolean, Choice, Fixed, Float, Int, Param
from tunelab.space.search_space import SearchSpace, check_redefinition

Resolver = Callable[[Param, "tuple[Condition, ...]"], Any]


def _default_resolver(param: Param, conditions: tuple[Condition, ...]) -> Any:
    return param.default_value


_MADE: dict[tuple[Any, ...], Param] = {}
_MAX_MADE = 4096


def _made(kind: type[Param], name: str, **options: Any) -> Param:
    """`kind(name, **options)`, built and checked once per process for each definition:
    a domain is immutable, and a build_model asks for the same ones trial after trial.
    The key holds each option's type beside it, as 1, 1.0 and True compare equal.
    Options that cannot be a key (a Choice value that is a list) are built every time."""
    key: list[Any] = [kind, name]
    for value in options.values():
        if type(value) is list or type(value) is tuple:
            key += (tuple(value), tuple(map(type, value)))
        else:
            key += (value, type(value))
    frozen = tuple(key)
    try:
        made = _MADE.get(frozen)
    except TypeError:  # unhashable
        return kind(name, **options)
    if made is None:
        made = kind(name, **options)  # raises on a bad definition: nothing is kept then
        if len(_MADE) >= _MAX_MADE:
            _MADE.clear()
        _MADE[frozen] = made
    return made


def _numeric(
    min_value: Any, max_value: Any, step: Any, sampling: str, default: Any
) -> dict[str, Any]:
    """The options of an Int or a Float, by name (the order is part of `_made`'s key)."""
    return {
        "min_value": min_value,
        "max_value": max_value,
        "step": step,
        "sampling": sampling,
        "default": default,
    }


class HyperParameters:
    """Container of hyperparameter definitions and the values chosen for them.

    `resolver` chooses each value; its answers are checked against the domain unless
    `resolver_validates` says it returns only checked, canonical values (a study does:
    it checks what its sampler or an enqueued trial gives before storing it)."""

    def __init__(self, resolver: Resolver | None = None, resolver_validates: bool = False) -> None:
        self._resolver = resolver or _default_resolver
        self._checked = resolver_validates
        self._scopes: list[Condition] = []
        self.values: dict[str, Any] = {}
        self.space = SearchSpace()

    # -- Keras Tuner API -----------------------------------------------------------------
    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: str = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> int:
        """Define an integer hyperparameter (first call) and return this trial's value of it.

        Args:
            name: The hyperparameter's name, unique in the search space.
            min_value: The smallest value (included).
            max_value: The largest value (included).
            step: The distance between values (with `sampling="log"`: the factor); None for 1.
            sampling: `"linear"`, `"log"` (values spread by ratio) or `"reverse_log"`.
            default: The value used when no sampler chooses (e.g. a plain `build_model(hp)` call);
                None for `min_value`.
            parent_name: Define it only while the hyperparameter `parent_name`...
            parent_values: ...has one of these values (see `conditional_scope`).

        Example:
            ```python
            units = hp.Int("units", 32, 512, step=32)
            ```
        """
        param = _made(Int, name, **_numeric(min_value, max_value, step, sampling, default))
        return self._retrieve(param, parent_name, parent_values)

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> float:
        """Define a real-valued hyperparameter (first call) and return this trial's value of it.

        Args:
            name: The hyperparameter's name, unique in the search space.
            min_value: The smallest value (included).
            max_value: The largest value (included).
            step: Values only on this grid from `min_value` (with `sampling="log"`: the factor);
                None for any value in the range.
            sampling: `"linear"`, `"log"` (values spread by ratio: learning rates) or
                `"reverse_log"` (dense near `max_value`: momentum close to 1).
            default: The value used when no sampler chooses; None for `min_value`.
            parent_name: Define it only while the hyperparameter `parent_name`...
            parent_values: ...has one of these values (see `conditional_scope`).

        Example:
            ```python
            lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
            ```
        """
        param = _made(Float, name, **_numeric(min_value, max_value, step, sampling, default))
        return self._retrieve(param, parent_name, parent_values)

    def Choice(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> Any:
        """Define a hyperparameter that takes one of `values` and return this trial's value of it.

        Args:
            name: The hyperparameter's name, unique in the search space.
            values: The values: all numbers, all strings or all booleans, no repeats.
            ordered: Whether the order of `values` means something to a sampler; None: ordered for
                numbers, not for strings or booleans.
            default: The value used when no sampler chooses; None for the first of `values`.
            parent_name: Define it only while the hyperparameter `parent_name`...
            parent_values: ...has one of these values (see `conditional_scope`).

        Example:
            ```python
            optimizer = hp.Choice("optimizer", ["adam", "sgd"])
            ```
        """
        param = _made(Choice, name, values=values, ordered=ordered, default=default)
        return self._retrieve(param, parent_name, parent_values)

    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> bool:
        """Define a True/False hyperparameter and return this trial's value of it.

        Args:
            name: The hyperparameter's name, unique in the search space.
            default: The value used when no sampler chooses.
            parent_name: Define it only while the hyperparameter `parent_name`...
            parent_values: ...has one of these values (see `conditional_scope`).
        """
        return self._retrieve(_made(Boolean, name, default=default), parent_name, parent_values)

    def Fixed(
        self,
        name: str,
        value: Any,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> Any:
        """Define a hyperparameter that always has `value`, and return it: a setting recorded with
        every trial but never searched.

        Args:
            name: The hyperparameter's name, unique in the search space.
            value: The value (a number, string or boolean).
            parent_name: Define it only while the hyperparameter `parent_name`...
            parent_values: ...has one of these values (see `conditional_scope`).
        """
        return self._retrieve(Fixed(name, value=value), parent_name, parent_values)

    def define(self, param: Param) -> Any:
        """Define a parameter from a ready-made object (e.g. `Float("lr", 1e-4, 0.1,
        sampling="log")`) and return its value: the route for code that builds domains."""
        if not isinstance(param, Param):
            raise ConfigurationTypeError(
                "define() takes a tunelab.space parameter (Int, Float, Choice, Boolean, Fixed), "
                f"but got {param!r}; for plain values use hp.Int, hp.Float or hp.Choice"
            )
        return self._retrieve(param, None, None)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Parameters defined inside exist only while `parent_name` is in `parent_values`."""
        self._scopes.append(self._condition(parent_name, parent_values))
        try:
            yield
        finally:
            self._scopes.pop()

    def get(self, name: str) -> Any:
        """The value of a defined hyperparameter; None when its condition is not met in this
        trial; KeyError when `name` was never defined. `hp[name]` is the same.
        """
        if name in self.values:
            return self.values[name]
        if name in self.space:
            return None  # defined, but inactive in this trial
        raise KeyError(f"hyperparameter {name!r} has not been defined; known: {list(self.values)}")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def is_active(self, name: str) -> bool:
        """Whether `name` has a value in this trial (it is defined and its condition holds)."""
        return name in self.values

    # -- internals -----------------------------------------------------------------------
    def _condition(self, parent_name: str, parent_values: Any) -> Condition:
        if parent_name not in self.space:
            raise SearchSpaceError(
                f"conditional scope on {parent_name!r}, which has not been defined yet; "
                "define the parent hyperparameter before the scope that depends on it"
            )
        if isinstance(parent_values, (str, bytes)) or not isinstance(parent_values, Sequence):
            parent_values = [parent_values]
        return Condition(parent_name, tuple(parent_values))

    def _retrieve(
        self, param: Param, parent_name: str | None, parent_values: Sequence[Any] | None
    ) -> Any:
        conditions = tuple(self._scopes)
        if (parent_name is None) != (parent_values is None):
            raise SearchSpaceError(
                f"{param.name!r}: parent_name and parent_values go together, but got "
                f"parent_name={parent_name!r}, parent_values={parent_values!r}; give both "
                "or neither"
            )
        if parent_name is not None:
            conditions += (self._condition(parent_name, parent_values),)
        if param.name in self.space:
            check_redefinition(self.space[param.name], param)
        else:
            self.space.add(param, conditions)
        if not all(c.is_met(self.values) for c in conditions):
            return None
        if param.name not in self.values:
            value = self._resolver(param, conditions)
            self.values[param.name] = value if self._checked else param.validate_value(value)
        return self.values[param.name]


def hyperparameters_from(params: Mapping[str, Any]) -> HyperParameters:
    """A HyperParameters holding a trial's stored `params`: `build_model(hp)` on it
    rebuilds that trial's model (names it does not hold get their defaults)."""
    hp = HyperParameters()
    hp.values.update(params)
    return hp
