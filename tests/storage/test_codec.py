"""The JSON codec: every JSON-like value, non-finite floats included, round-trips exactly."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunelab.errors import StorageError
from tunelab.storage import codec

KEYS = st.one_of(st.text(max_size=6), st.sampled_from(["$float", "$$float", "$", "$$", "$x"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["nan", "inf", "-inf", "$float"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=4),
        st.dictionaries(
            st.just("$float"), st.sampled_from(["nan", "inf", "-inf", "x"]), min_size=1
        ),  # exactly what the marker looks like
    ),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN and types must match (1.0 is not True)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(VALUES)
def test_round_trip(value: Any) -> None:
    text = codec.dumps(value)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard token {c}"))
    assert same(codec.loads(text), value)


@pytest.mark.parametrize(
    "value",
    [
        {"$float": "hello"},
        {"$float": "inf"},
        {"$float": "nan", "other": 1},
        {"$$float": 1.5},
        {"a": {"$float": "-inf"}, "b": [{"$float": "x"}]},
    ],
)
def test_a_users_dict_is_never_taken_for_the_float_marker(value: dict[str, Any]) -> None:
    assert codec.loads(codec.dumps(value)) == value


def test_tuples_and_numpy_scalars_become_json() -> None:
    value = {"t": (1, 2), "f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True)}
    back = codec.loads(codec.dumps(value))
    assert back == {"t": [1, 2], "f": 0.5, "i": 3, "b": True}
    assert [type(v) for v in back.values()] == [list, float, int, bool]


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"raw", {"k": print}, [complex(1, 2)]])
def test_non_json_values_are_a_storage_error(bad: Any) -> None:
    with pytest.raises(StorageError, match="must be JSON-serialisable"):
        codec.dumps(bad, "user attribute 'k'")


def test_damaged_marker_is_a_storage_error_not_a_key_error() -> None:
    with pytest.raises(StorageError, match=r"\$float marker"):
        codec.loads('{"a": {"$float": "bad"}}')


def test_empty_text_gives_the_default() -> None:
    assert codec.loads(None, {}) == {}
    assert codec.loads("", []) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a":1,"b":[2,{"c":"x"}]}', {"a": 1, "b": [2, {"c": "x"}]}),  # no "$": decoded in C
        (' {"a": 1} \n', {"a": 1}),  # whitespace around, as another writer may leave
        ('{"\\u0024float":"nan"}', math.nan),  # a marker spelled with an escape
        ('{"\\u0024\\u0024k":1}', {"$k": 1}),  # an escaped key spelled so
        ('{"k":"a$b"}', {"k": "a$b"}),  # a "$" in a value only
    ],
)
def test_text_from_any_writer_decodes_as_json_would(text: str, value: Any) -> None:
    got = codec.loads(text)
    if isinstance(value, float):
        assert math.isnan(got)
    else:
        assert got == value


def test_malformed_text_is_refused_naming_the_place() -> None:
    with pytest.raises(codec.DamagedData, match=r"not valid JSON .* at character 8"):
        codec.loads('{"a": 1,}')
    with pytest.raises(ValueError, match="Extra data"):
        codec.loads('{"a": 1} x')
