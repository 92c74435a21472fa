"""The unit cube over arrays: `to_unit_array` / `from_unit_array` agree with the one-value
mappings, each type states its axis and cardinality truthfully, and a history survives
`UnitEncoding` (value -> matrix -> value), absent parameters included."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunelab.space import (
    AxisKind,
    Boolean,
    Choice,
    Fixed,
    Float,
    Int,
    Param,
    SearchSpace,
    UnitEncoding,
)
from tunelab.space.encoding import snap

from .test_roundtrip_properties import (
    SETTINGS,
    booleans_,
    choices,
    fixeds,
    floats,
    ints,
    params,
    values_of,
)

unit_lists = st.lists(st.floats(-0.5, 1.5), min_size=1, max_size=20)


def _same(a: Any, b: Any, param: Param) -> bool:
    """Equal, of one type; continuous floats to within rounding of the transforms."""
    if type(a) is not type(b):
        return False
    if param.axis is AxisKind.CONTINUOUS:
        span = param.max_value - param.min_value  # type: ignore[attr-defined]
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * span)
    return bool(a == b)


@SETTINGS
@given(params, unit_lists)
def test_from_unit_array_is_from_unit_of_each_point(param: Param, us: list[float]) -> None:
    got = param.from_unit_array(np.array(us))
    assert len(got) == len(us)
    for u, value in zip(us, got, strict=True):
        assert _same(value, param.from_unit(u), param), (param, u, value)


@SETTINGS
@given(st.data())
def test_to_unit_array_is_to_unit_of_each_value(data: st.DataObject) -> None:
    param = data.draw(params)
    values = data.draw(st.lists(values_of(param), min_size=1, max_size=10))
    got = param.to_unit_array(values)
    want = [param.to_unit(v) for v in values]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(params)
def test_values_outside_the_domain_are_nan(param: Param) -> None:
    outsiders: list[Any] = [None, "not a value", object(), [1], math.nan, -1e300, 1e300, True]
    outsiders = [v for v in outsiders if not _contains(param, v)]
    assert np.isnan(param.to_unit_array(outsiders)).all()
    assert param.to_unit_array([]).shape == (0,)


def _contains(param: Param, value: Any) -> bool:
    try:
        return param.contains(value)
    except TypeError:
        return False


@SETTINGS
@given(st.one_of(ints(), floats().filter(lambda p: p.is_discrete), choices(), booleans_, fixeds))
def test_discrete_axes_have_one_cell_per_value(param: Param) -> None:
    n = param.cardinality
    assert param.axis is not AxisKind.CONTINUOUS and n is not None and n >= 1
    if param.axis is AxisKind.ROUNDED:
        assert isinstance(param, Int) and n == param.max_value - param.min_value + 1
        return
    if n > 2000:
        return  # listing them all would only slow the test
    grid = param.grid_values()
    assert len(grid) == n
    np.testing.assert_allclose(param.to_unit_array(grid), (np.arange(n) + 0.5) / n, atol=1e-12)
    assert param.from_unit_array((np.arange(n) + 0.5) / n) == grid


def test_axis_kinds() -> None:
    assert Float("a", 0.0, 1.0).axis is AxisKind.CONTINUOUS
    assert Float("a", 0.0, 1.0).cardinality is None
    assert Float("a", 0.0, 1.0, step=0.25).axis is AxisKind.ORDINAL
    assert Float("a", 0.0, 1.0, step=0.25).cardinality == 5
    assert Int("a", 1, 8).axis is AxisKind.ORDINAL and Int("a", 1, 8).cardinality == 8
    assert Int("a", 1, 64, step=2, sampling="log").cardinality == 7
    assert Int("a", 1, 100, sampling="log").axis is AxisKind.ROUNDED
    assert Int("a", 1, 100, sampling="reverse_log").cardinality == 100
    assert Choice("a", [1, 2, 4]).axis is AxisKind.ORDINAL
    assert Choice("a", [1, 2, 4], ordered=False).axis is AxisKind.CATEGORICAL
    assert Choice("a", ["x", "y"]).axis is AxisKind.CATEGORICAL
    assert (Boolean("a").axis, Boolean("a").cardinality) == (AxisKind.CATEGORICAL, 2)
    assert (Fixed("a", 3).axis, Fixed("a", 3).cardinality) == (AxisKind.CATEGORICAL, 1)


def test_booleans_and_numbers_stay_apart() -> None:
    assert np.isnan(Choice("c", [0, 1]).to_unit_array([True, False])).all()
    assert np.isnan(Int("i", 0, 3).to_unit_array([True])).all()
    assert np.isnan(Boolean("b").to_unit_array([1, 0])).all()
    assert Choice("c", [True, False]).to_unit_array([True, 1]).tolist()[0] == 0.25


@SETTINGS
@given(params, unit_lists)
def test_snapped_points_decode_to_the_same_values(param: Param, us: list[float]) -> None:
    u = np.array(us)
    snapped = snap(param, u)
    assert ((snapped >= 0) & (snapped <= 1)).all()
    back = param.from_unit_array(snapped)
    for a, b in zip(back, param.from_unit_array(u), strict=True):
        assert _same(a, b, param)
    np.testing.assert_allclose(snap(param, snapped), snapped, rtol=0, atol=1e-12)


@SETTINGS
@given(st.data())
def test_a_history_survives_the_unit_encoding(data: st.DataObject) -> None:
    chosen = data.draw(st.lists(params, min_size=1, max_size=5, unique_by=lambda p: p.name))
    space = SearchSpace()
    for p in chosen:
        space.add(p)
    rows = []
    for _ in range(data.draw(st.integers(0, 6))):
        row = {}
        for p in chosen:
            if data.draw(st.booleans()):
                row[p.name] = data.draw(values_of(p))
        rows.append(row)
    encoding = UnitEncoding.of(space, tuned_only=False)
    matrix = encoding.encode(rows)
    assert matrix.shape == (len(rows), len(chosen))
    for row, encoded in zip(rows, matrix, strict=True):  # one row through the scalar path
        np.testing.assert_allclose(encoding.encode_row(row), encoded, rtol=1e-12, atol=1e-12)
    decoded = encoding.decode(matrix)
    for row, back in zip(rows, decoded, strict=True):
        assert back.keys() == row.keys()
        for name, value in row.items():
            param = space[name]
            if param.axis is AxisKind.CONTINUOUS:
                span = param.max_value - param.min_value  # type: ignore[attr-defined]
                assert math.isclose(back[name], value, rel_tol=1e-9, abs_tol=1e-9 * span)
            else:
                assert back[name] == value and type(back[name]) is type(value)


def test_tuned_only_leaves_fixed_parameters_out() -> None:
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    space.add(Fixed("f", "adam"))
    assert UnitEncoding.of(space).names == ["x"]
    assert UnitEncoding.of(space, tuned_only=False).names == ["x", "f"]


@pytest.mark.parametrize(
    "param", [Int("il", 1, 1000, sampling="log"), Int("ir", 3, 300, sampling="reverse_log")]
)
def test_rounded_snap_is_the_coordinate_of_the_rounded_integer(param: Int) -> None:
    u = np.linspace(0, 1, 501)
    want = [param.to_unit(param.from_unit(x)) for x in u.tolist()]
    np.testing.assert_allclose(snap(param, u), want, rtol=0, atol=1e-12)
