"""JSON encoding of stored values. Only JSON is ever stored; nothing is unpickled.

Strict JSON has no NaN or infinity, yet a diverging trial reports them, so
non-finite floats are written as {"$float": "nan" | "inf" | "-inf"}. So that a
user's own dict can never be taken for that marker, keys that start with "$" are
stored with one more "$" ("$float" -> "$$float") and get it back when read.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tunelab.errors import StorageError

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class DamagedData(StorageError, ValueError):
    """Stored data tunelab cannot read back: written by another program, or damaged. It
    says where (study, trial, column) as far as the reader knows, so that the one line
    points at the value to correct. A ValueError too, as the JSON decoder's own error is."""

    def __init__(
        self,
        detail: str,
        study: int | str | None = None,
        trial: int | None = None,
        column: str | None = None,
    ) -> None:
        self.detail, self.study, self.trial, self.column = detail, study, trial, column
        place = []
        if self.study is not None:
            place.append(f"study {self.study!r}" if isinstance(study, str) else f"study id {study}")
        if trial is not None:
            place.append(f"trial {trial}")
        if column is not None:
            place.append(f"column {column}")
        super().__init__(
            f"{', '.join(place) or 'stored data'}: {detail}; the database was changed outside "
            "tunelab: restore it from a backup or correct that value"
        )

    def at(
        self, study: int | str | None = None, trial: int | None = None, column: str | None = None
    ) -> DamagedData:
        """The same damage, placed more precisely (what is given replaces what was known)."""
        return DamagedData(
            self.detail,
            self.study if study is None else study,
            self.trial if trial is None else trial,
            self.column if column is None else column,
        )


def _wrap(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"$float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
    if isinstance(obj, dict):
        return {_escape(str(k)): _wrap(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_wrap(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and type(obj).__module__ == "numpy":
        return _wrap(obj.item())  # numpy scalars
    return obj


def _escape(key: str) -> str:
    return "$" + key if key.startswith("$") else key


def _unwrap(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$float" in obj:
        try:
            return _NONFINITE[obj["$float"]]
        except (KeyError, TypeError):
            raise DamagedData(
                f"it holds {obj!r}, but a $float marker must be one of {sorted(_NONFINITE)}"
            ) from None
    if any(k.startswith("$$") for k in obj):
        return {k[1:] if k.startswith("$$") else k: v for k, v in obj.items()}
    return obj


def dumps(obj: Any, what: str = "value") -> str:
    try:
        return json.dumps(_wrap(obj), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"{what} must be JSON-serialisable (numbers, strings, booleans, lists, dicts), "
            f"but got {obj!r}: {exc}"
        ) from None


_PLAIN = json.JSONDecoder()
_MARKED = json.JSONDecoder(object_hook=_unwrap)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    # Markers and escaped keys all hold a "$" (or, from another writer, an escape such as
    # \u0024): text with neither decodes in C alone, with no Python call per object (a
    # history read decodes thousands of these)
    try:
        decoder = _MARKED if "$" in text or "\\u" in text else _PLAIN
    except TypeError:  # bytes, a number: another program's value in a text column
        raise DamagedData(f"it holds {type(text).__name__} {text!r:.60}, not JSON text") from None
    try:  # what tunelab writes has no whitespace around it: no scan for any
        value, end = decoder.raw_decode(text)
    except ValueError:
        end = -1
    if end == len(text):
        return value
    try:
        return decoder.decode(text)  # raises, naming the place
    except json.JSONDecodeError as e:
        raise DamagedData(f"it is not valid JSON ({e.msg} at character {e.pos})") from None
