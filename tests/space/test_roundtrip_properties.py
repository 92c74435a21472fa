"""Property tests: value -> unit cube -> value, and object -> JSON -> object, for any valid param."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tunelab.space import (
    Boolean,
    Choice,
    Condition,
    Fixed,
    Float,
    HyperParameters,
    Int,
    Param,
    SearchSpace,
    param_from_json,
)

SETTINGS = settings(max_examples=150, deadline=None)

names = st.text(min_size=1, max_size=12)
units = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def ints(draw) -> Int:
    sampling = draw(st.sampled_from(["linear", "log", "reverse_log"]))
    low = draw(st.integers(1, 10_000) if sampling != "linear" else st.integers(-10_000, 10_000))
    high = low + draw(st.integers(0, 100_000))
    step = None
    if sampling == "linear" and high > low and draw(st.booleans()):
        step = draw(st.integers(1, high - low))
    elif sampling == "log" and high >= 2 * low and draw(st.booleans()):
        step = draw(st.integers(2, high // low))
    p = Int(draw(names), low, high, step=step, sampling=sampling)
    if draw(st.booleans()):
        p = Int(p.name, low, high, step=step, sampling=sampling, default=draw(values_of(p)))
    return p


@st.composite
def floats(draw) -> Float:
    sampling = draw(st.sampled_from(["linear", "log", "reverse_log"]))
    if sampling == "linear":
        low = draw(st.floats(-1e4, 1e4))
    else:
        low = 10 ** draw(st.floats(-8, 3))
    high = low + draw(st.floats(0, 1e4))
    step = None
    if sampling == "linear" and high > low and draw(st.booleans()):
        # steps as people write them (0.1, 0.25, 5e-3 ...), at most 10**5 values
        step = draw(st.sampled_from([1, 2, 2.5, 5])) * 10.0 ** draw(st.integers(-4, 3))
        if step > high - low or (high - low) / step > 1e5:
            step = None
    elif sampling == "log" and high > 2 * low and draw(st.booleans()):
        step = draw(st.floats(2, min(high / low, 1e3)))
    p = Float(draw(names), low, high, step=step, sampling=sampling)
    if draw(st.booleans()):
        p = Float(p.name, low, high, step=step, sampling=sampling, default=draw(values_of(p)))
    return p


choice_values = st.one_of(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=8, unique=True),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=8, unique=True),
    st.lists(st.text(max_size=8), min_size=1, max_size=8, unique=True),
    st.lists(st.booleans(), min_size=1, max_size=2, unique=True),
)


@st.composite
def choices(draw) -> Choice:
    values = draw(choice_values)
    numeric = not isinstance(values[0], (str, bool))
    ordered = draw(st.sampled_from([None, False, True] if numeric else [None, False]))
    default = draw(st.one_of(st.none(), st.sampled_from(values)))
    return Choice(draw(names), values, ordered=ordered, default=default)


booleans_ = st.builds(Boolean, names, st.booleans())
fixeds = st.builds(
    Fixed,
    names,
    st.one_of(
        st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(), st.booleans()
    ),
)
params = st.one_of(ints(), floats(), choices(), booleans_, fixeds)


def values_of(param: Param) -> st.SearchStrategy:
    """Valid values of `param`: any image of from_unit, or any listed value of a categorical."""
    through_unit = units.map(param.from_unit)
    if isinstance(param, (Choice, Boolean, Fixed)):
        return st.one_of(through_unit, st.sampled_from(param.grid_values()))
    return through_unit


def _json_round_trip(data):
    return json.loads(json.dumps(data))


@SETTINGS
@given(params, units)
def test_from_unit_is_always_valid(param, u):
    value = param.from_unit(u)
    assert param.contains(value), (param, u, value)
    assert param.validate_value(value) == value


@SETTINGS
@given(params, st.floats(-10, 10))
def test_from_unit_clamps_any_number_into_the_domain(param, u):
    assert param.contains(param.from_unit(u))


@SETTINGS
@given(st.data())
def test_to_unit_is_inside_the_unit_interval(data):
    param = data.draw(params)
    value = data.draw(values_of(param))
    u = param.to_unit(value)
    assert 0.0 <= u <= 1.0


@SETTINGS
@given(st.data())
def test_discrete_values_survive_the_unit_cube(data):
    param = data.draw(
        st.one_of(ints(), floats().filter(lambda p: p.is_discrete), choices(), booleans_, fixeds)
    )
    value = data.draw(values_of(param))
    back = param.from_unit(param.to_unit(value))
    assert back == value
    assert type(back) is type(value)


@SETTINGS
@given(st.data())
def test_continuous_values_survive_the_unit_cube(data):
    param = data.draw(floats().filter(lambda p: not p.is_discrete))
    value = data.draw(values_of(param))
    back = param.from_unit(param.to_unit(value))
    span = param.max_value - param.min_value
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9 * span)


@SETTINGS
@given(params)
def test_param_json_round_trip(param):
    data = _json_round_trip(param.to_json())
    back = param_from_json(data)
    assert back == param
    assert back.to_json() == param.to_json()
    assert back.default_value == param.default_value
    assert type(back.default_value) is type(param.default_value)


@SETTINGS
@given(st.data())
def test_grid_values_are_valid_and_distinct(data):
    param = data.draw(
        st.one_of(
            ints().filter(lambda p: p.step is not None or p.max_value - p.min_value < 5000),
            floats().filter(lambda p: p.is_discrete),
            choices(),
            booleans_,
            fixeds,
        )
    )
    grid = param.grid_values()
    assert all(param.contains(v) for v in grid)
    assert len(set(map(repr, grid))) == len(grid)
    assert param.default_value in grid or not param.is_discrete


@st.composite
def spaces(draw) -> SearchSpace:
    """A space whose later params may depend on earlier ones, as conditional scopes make."""
    space = SearchSpace()
    for i, param in enumerate(draw(st.lists(params, min_size=1, max_size=6))):
        param = param_from_json({**param.to_json(), "name": f"p{i}_{param.name}"})
        conditions: list[Condition] = []
        earlier = [e.param for e in space if e.param.is_discrete]
        for parent in draw(
            st.lists(st.sampled_from(earlier), max_size=2, unique_by=id) if earlier else st.just([])
        ):
            chosen = draw(st.lists(values_of(parent), min_size=1, max_size=3))
            conditions.append(Condition(parent.name, tuple(chosen)))
        space.add(param, tuple(conditions))
    return space


@SETTINGS
@given(spaces())
def test_search_space_json_round_trip(space):
    data = _json_round_trip(space.to_json())
    back = SearchSpace.from_json(data)
    assert back.names() == space.names()
    assert back.entries == space.entries
    assert back.to_json() == space.to_json()


@SETTINGS
@given(st.booleans(), st.sampled_from(["mlp", "cnn"]))
def test_hyperparameters_space_round_trips_with_scopes(pool, model):
    values = {"model": model, "pool": pool, "units": 64, "kind": "max"}
    hp = HyperParameters(resolver=lambda p, c: values[p.name])
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", "cnn"):
        hp.Boolean("pool")
        with hp.conditional_scope("pool", True):
            hp.Choice("kind", ["max", "avg"])
    hp.Int("units", 32, 128, step=32, parent_name="model", parent_values=["mlp"])
    back = SearchSpace.from_json(_json_round_trip(hp.space.to_json()))
    assert back.entries == hp.space.entries
    active = {e.param.name for e in back if e.is_active(hp.values)}
    assert active == set(hp.values)
