"""Unit tests for each hyperparameter type: domains, Keras Tuner semantics, unit mapping, errors."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from tunelab.errors import SearchSpaceError
from tunelab.space import Boolean, Choice, Fixed, Float, Int, param_from_json


def _sweep(param, n: int = 2000) -> list:
    """Values at n evenly spaced points of the unit interval (midpoints)."""
    return [param.from_unit((i + 0.5) / n) for i in range(n)]


# -- Int -----------------------------------------------------------------------------------


class TestInt:
    def test_bounds_are_inclusive(self):
        p = Int("n", 1, 3)
        assert p.grid_values() == [1, 2, 3]
        assert p.contains(1) and p.contains(3)
        assert not p.contains(0) and not p.contains(4)
        assert set(_sweep(p, 300)) == {1, 2, 3}

    def test_linear_values_are_equally_likely(self):
        counts = Counter(_sweep(Int("n", 0, 4), 1000))
        assert counts == {0: 200, 1: 200, 2: 200, 3: 200, 4: 200}

    def test_step_lists_values_from_min(self):
        assert Int("n", 6, 13, step=3).grid_values() == [6, 9, 12]
        assert Int("units", 32, 512, step=32).grid_values() == list(range(32, 513, 32))
        p = Int("n", 6, 13, step=3)
        assert not p.contains(7) and not p.contains(13)
        assert set(_sweep(p, 300)) == {6, 9, 12}

    def test_log_step_is_a_multiplier(self):
        p = Int("n", 1, 16, step=2, sampling="log")
        assert p.grid_values() == [1, 2, 4, 8, 16]
        assert set(_sweep(p, 500)) == {1, 2, 4, 8, 16}
        assert p.contains(8) and not p.contains(6) and not p.contains(32)

    def test_log_step_stops_below_max(self):
        assert Int("n", 3, 100, step=2, sampling="log").grid_values() == [3, 6, 12, 24, 48, 96]

    def test_log_without_step_takes_every_integer_log_uniformly(self):
        p = Int("n", 1, 1000, sampling="log")
        values = _sweep(p, 3000)
        assert min(values) == 1 and p.from_unit(1.0) == 1000
        below_10 = sum(v < 10 for v in values)
        below_100 = sum(v < 100 for v in values)
        # log-uniform: about a third per decade; linear would put 0.9% below 10
        assert 800 < below_10 < 1100
        assert 1800 < below_100 < 2100

    def test_reverse_log_concentrates_near_max(self):
        values = _sweep(Int("n", 1, 1000, sampling="reverse_log"), 3000)
        assert min(values) >= 1 and max(values) == 1000
        # mirror image of log: about a third of the mass in the top 9 values
        top = sum(v > 991 for v in values)
        assert 800 < top < 1100
        assert sum(v > 500 for v in values) > sum(v <= 500 for v in values) * 5

    def test_default_is_min_value(self):
        assert Int("n", 4, 9).default_value == 4
        assert Int("n", 4, 9, default=7).default_value == 7

    def test_integral_floats_are_accepted_and_canonical(self):
        p = Int("n", 1.0, 10.0, step=3.0, default=4.0)
        assert (p.min_value, p.max_value, p.step, p.default) == (1, 10, 3, 4)
        assert all(type(v) is int for v in (p.min_value, p.max_value, p.step, p.default))
        assert p.validate_value(7.0) == 7 and type(p.validate_value(7.0)) is int

    def test_step_one_linear_is_no_step(self):
        assert Int("n", 1, 5, step=1) == Int("n", 1, 5)

    def test_unit_mapping_round_trips(self):
        for p in (
            Int("n", -3, 7),
            Int("n", 0, 90, step=15),
            Int("n", 2, 64, step=2, sampling="log"),
            Int("n", 1, 500, sampling="log"),
            Int("n", 1, 500, sampling="reverse_log"),
        ):
            for v in p.grid_values():
                u = p.to_unit(v)
                assert 0.0 <= u <= 1.0
                assert p.from_unit(u) == v, (p, v)

    def test_from_unit_clamps_out_of_range_input(self):
        p = Int("n", 1, 10)
        assert p.from_unit(-0.5) == 1 and p.from_unit(1.0) == 10 and p.from_unit(7.0) == 10

    def test_contains_rejects_non_integers_and_booleans(self):
        p = Int("n", 0, 10)
        assert p.contains(3) and p.contains(3.0)
        assert not p.contains(3.5)
        assert not p.contains(True)
        assert not p.contains("3")
        assert not p.contains(None)

    def test_single_value_range(self):
        p = Int("n", 5, 5)
        assert p.grid_values() == [5]
        assert p.from_unit(0.0) == p.from_unit(1.0) == 5


class TestIntErrors:
    def test_min_greater_than_max(self):
        with pytest.raises(
            SearchSpaceError, match=r"'n'.*min_value <= max_value.*min_value=5.*max_value=1"
        ):
            Int("n", 5, 1)

    @pytest.mark.parametrize("sampling", ["log", "reverse_log"])
    @pytest.mark.parametrize("low", [0, -4])
    def test_log_sampling_needs_positive_min(self, sampling, low):
        with pytest.raises(
            SearchSpaceError, match=rf"'n'.*{sampling} sampling.*min_value > 0.*{low}"
        ):
            Int("n", low, 10, sampling=sampling)

    @pytest.mark.parametrize("step", [0, -2])
    def test_step_must_be_positive(self, step):
        with pytest.raises(SearchSpaceError, match=rf"'n'.*step must be a positive.*step={step}"):
            Int("n", 1, 10, step=step)

    def test_step_larger_than_range(self):
        with pytest.raises(
            SearchSpaceError, match=r"'n'.*larger than the range.*step=20.*\[1, 10\]"
        ):
            Int("n", 1, 10, step=20)

    def test_log_step_must_be_a_multiplier_above_one(self):
        with pytest.raises(SearchSpaceError, match=r"multiplier.*> 1.*step=1"):
            Int("n", 1, 16, step=1, sampling="log")

    def test_log_step_larger_than_ratio(self):
        with pytest.raises(SearchSpaceError, match=r"max_value/min_value.*step=32.*\[1, 16\]"):
            Int("n", 1, 16, step=32, sampling="log")

    def test_reverse_log_takes_no_step(self):
        with pytest.raises(SearchSpaceError, match=r"reverse_log sampling takes no step"):
            Int("n", 1, 16, step=2, sampling="reverse_log")

    def test_fractional_bounds_and_step(self):
        with pytest.raises(SearchSpaceError, match=r"integer bounds.*max_value=2.5.*Float"):
            Int("n", 1, 2.5)
        with pytest.raises(SearchSpaceError, match=r"integer step.*step=1.5"):
            Int("n", 1, 10, step=1.5)

    def test_non_numeric_bounds(self):
        with pytest.raises(SearchSpaceError, match=r"must be numbers.*'1'"):
            Int("n", "1", 10)
        with pytest.raises(SearchSpaceError, match=r"must be numbers.*True"):
            Int("n", True, 10)

    def test_unknown_sampling(self):
        with pytest.raises(
            SearchSpaceError, match=r"sampling must be one of linear, log, reverse_log.*'exp'"
        ):
            Int("n", 1, 10, sampling="exp")

    @pytest.mark.parametrize("default", [0, 11, 5, 2.5])
    def test_default_outside_domain(self, default):
        with pytest.raises(
            SearchSpaceError, match=rf"'n'.*default={default}.*outside the domain.*\[1, 10\]"
        ):
            Int("n", 1, 10, step=3, default=default)


# -- Float ---------------------------------------------------------------------------------


class TestFloat:
    def test_linear_covers_the_range(self):
        values = _sweep(Float("x", -1.0, 3.0), 400)
        assert min(values) == pytest.approx(-1.0, abs=0.01)
        assert max(values) == pytest.approx(3.0, abs=0.01)
        assert all(-1.0 <= v <= 3.0 for v in values)
        assert Float("x", -1.0, 3.0).from_unit(0.25) == pytest.approx(0.0)

    def test_bounds_are_stored_as_floats(self):
        p = Float("x", 0, 1, step=1)
        assert (p.min_value, p.max_value, p.step) == (0.0, 1.0, 1.0)
        assert all(type(v) is float for v in (p.min_value, p.max_value, p.step))

    def test_step_gives_clean_values(self):
        p = Float("dropout", 0.1, 0.5, step=0.1)
        assert p.grid_values() == [0.1, 0.2, 0.3, 0.4, 0.5]
        assert set(_sweep(p, 500)) == {0.1, 0.2, 0.3, 0.4, 0.5}
        assert p.contains(0.30000000000000004)
        assert p.validate_value(0.30000000000000004) == 0.3
        assert not p.contains(0.35)

    def test_step_that_does_not_divide_the_range(self):
        p = Float("x", 0.0, 1.0, step=0.3)
        assert p.grid_values() == [0.0, 0.3, 0.6, 0.9]
        assert not p.contains(1.0)

    def test_log_is_uniform_in_the_exponent(self):
        p = Float("lr", 1e-4, 1e-1, sampling="log")
        assert p.from_unit(0.0) == pytest.approx(1e-4)
        assert p.from_unit(1 / 3) == pytest.approx(1e-3)
        assert p.from_unit(2 / 3) == pytest.approx(1e-2)
        assert p.from_unit(1.0) == pytest.approx(1e-1)
        assert p.to_unit(1e-3) == pytest.approx(1 / 3)

    def test_log_step_is_a_multiplier(self):
        p = Float("lr", 1e-4, 1e-1, step=10, sampling="log")
        assert p.grid_values() == [1e-4, 1e-3, 1e-2, 1e-1]
        assert p.contains(1e-3) and not p.contains(5e-3)

    def test_reverse_log_bounds_map_onto_the_unit_interval_ends(self):
        # hi + lo - lo rounds above hi for these bounds (found by the property tests)
        param = Float("x", 2.6155199400796816, 3.0330779754098978, sampling="reverse_log")
        assert param.to_unit(param.min_value) == 0.0
        assert param.to_unit(param.max_value) == pytest.approx(1.0, abs=1e-12)

    def test_reverse_log_concentrates_near_max(self):
        p = Float("beta", 0.001, 1.0, sampling="reverse_log")
        values = _sweep(p, 3000)
        assert all(0.001 <= v <= 1.0 for v in values)
        assert sum(v > 0.9 for v in values) > 900  # a linear sampler puts 10% there
        assert p.from_unit(0.0) == pytest.approx(0.001)
        assert p.from_unit(1.0) == pytest.approx(1.0)

    def test_continuous_unit_round_trip(self):
        for p in (
            Float("x", -2, 5),
            Float("x", 1e-5, 10, sampling="log"),
            Float("x", 0.5, 0.999, sampling="reverse_log"),
        ):
            for u in (0.0, 0.1, 0.5, 0.77, 1.0):
                v = p.from_unit(u)
                assert p.contains(v)
                assert p.to_unit(v) == pytest.approx(u, abs=1e-9)

    def test_default_is_min_value(self):
        assert Float("x", 0.25, 1).default_value == 0.25
        assert Float("x", 0, 1, default=0.5).default_value == 0.5

    def test_is_discrete_only_with_a_step(self):
        assert not Float("x", 0, 1).is_discrete
        assert Float("x", 0, 1, step=0.5).is_discrete

    def test_contains(self):
        p = Float("x", 0.0, 1.0)
        assert p.contains(0) and p.contains(1) and p.contains(0.5)
        assert not p.contains(1.01) and not p.contains(-0.01)
        assert not p.contains(math.nan) and not p.contains(True) and not p.contains("0.5")

    def test_grid_needs_a_step(self):
        with pytest.raises(SearchSpaceError, match=r"Float\('x'.*continuous.*needs a step.*step="):
            Float("x", 0, 1).grid_values()


class TestFloatErrors:
    def test_min_greater_than_max(self):
        with pytest.raises(SearchSpaceError, match=r"'x'.*min_value <= max_value.*1\.5.*0\.5"):
            Float("x", 1.5, 0.5)

    @pytest.mark.parametrize("low", [0.0, -1e-3])
    def test_log_sampling_needs_positive_min(self, low):
        with pytest.raises(SearchSpaceError, match=r"'lr'.*log sampling needs `min_value > 0`"):
            Float("lr", low, 1.0, sampling="log")

    @pytest.mark.parametrize("step", [0.0, -0.1])
    def test_step_must_be_positive(self, step):
        with pytest.raises(SearchSpaceError, match=r"'x'.*step must be a positive number"):
            Float("x", 0, 1, step=step)

    def test_step_larger_than_range(self):
        with pytest.raises(
            SearchSpaceError, match=r"'x'.*larger than the range.*step=2\.0.*\[0\.0, 1\.0\]"
        ):
            Float("x", 0, 1, step=2)

    @pytest.mark.parametrize("bad", [math.nan, math.inf])
    def test_bounds_must_be_finite(self, bad):
        with pytest.raises(SearchSpaceError, match=r"'x'.*finite"):
            Float("x", 0, bad)

    @pytest.mark.parametrize("default", [1.5, -0.1, 0.25])
    def test_default_outside_domain(self, default):
        with pytest.raises(SearchSpaceError, match=rf"'x'.*default={default}.*outside the domain"):
            Float("x", 0, 1, step=0.1, default=default)


# -- Choice --------------------------------------------------------------------------------


class TestChoice:
    def test_each_value_equally_likely(self):
        counts = Counter(_sweep(Choice("opt", ["adam", "sgd", "rmsprop", "adamw"]), 1000))
        assert counts == {"adam": 250, "sgd": 250, "rmsprop": 250, "adamw": 250}

    def test_default_is_first_value(self):
        assert Choice("opt", ["sgd", "adam"]).default_value == "sgd"
        assert Choice("opt", ["sgd", "adam"], default="adam").default_value == "adam"

    def test_numbers_are_ordered_and_strings_are_not(self):
        assert Choice("bs", [32, 64]).ordered is True
        assert Choice("opt", ["a", "b"]).ordered is False
        assert Choice("bs", [32, 64], ordered=False).ordered is False

    def test_ints_stay_ints_and_mixed_numbers_become_floats(self):
        assert Choice("bs", [32, 64]).values == (32, 64)
        assert all(type(v) is int for v in Choice("bs", [32, 64]).values)
        mixed = Choice("lr", [1e-3, 1])
        assert mixed.values == (1e-3, 1.0) and all(type(v) is float for v in mixed.values)
        assert mixed.validate_value(1) == 1.0 and type(mixed.validate_value(1)) is float

    def test_keeps_true_apart_from_one(self):
        assert not Choice("n", [0, 1]).contains(True)
        assert not Choice("flag", [True, False]).contains(1)
        assert Choice("flag", [True, False]).contains(True)

    def test_unit_mapping_round_trips(self):
        p = Choice("opt", ["a", "b", "c"])
        for v in p.values:
            assert p.from_unit(p.to_unit(v)) == v
        assert p.from_unit(0.0) == "a" and p.from_unit(1.0) == "c"

    def test_single_value(self):
        p = Choice("only", ["x"])
        assert p.grid_values() == ["x"]
        assert p.from_unit(0.9) == "x"


class TestChoiceErrors:
    def test_empty(self):
        with pytest.raises(SearchSpaceError, match=r"'opt'.*at least one value.*empty"):
            Choice("opt", [])

    @pytest.mark.parametrize(
        ("values", "types"),
        [(["a", 1], "number, str"), ([True, 2], "bool, number"), (["a", None], "NoneType, str")],
    )
    def test_mixed_types(self, values, types):
        with pytest.raises(SearchSpaceError, match=rf"'opt'.*all be numbers.*{types}") as info:
            Choice("opt", values)
        assert repr(values) in str(info.value)

    def test_duplicates(self):
        with pytest.raises(SearchSpaceError, match=r"'bs'.*unique.*32 repeat"):
            Choice("bs", [32, 64, 32])
        with pytest.raises(SearchSpaceError, match=r"unique.*'adam' repeat"):
            Choice("opt", ["adam", "sgd", "adam"])

    def test_int_and_float_of_same_number_are_duplicates(self):
        with pytest.raises(SearchSpaceError, match=r"unique"):
            Choice("x", [1, 1.0, 2.5])

    def test_default_not_a_value(self):
        with pytest.raises(
            SearchSpaceError, match=r"'opt'.*default='nadam' is not one of \['adam', 'sgd'\]"
        ):
            Choice("opt", ["adam", "sgd"], default="nadam")

    def test_string_instead_of_list(self):
        with pytest.raises(SearchSpaceError, match=r"must be a list.*'adam'"):
            Choice("opt", "adam")

    def test_ordered_strings(self):
        with pytest.raises(SearchSpaceError, match=r"ordered=True needs numeric values"):
            Choice("opt", ["a", "b"], ordered=True)

    def test_nan_value(self):
        with pytest.raises(SearchSpaceError, match=r"'x'.*NaN"):
            Choice("x", [0.5, math.nan])


# -- Boolean and Fixed ----------------------------------------------------------------------


class TestBoolean:
    def test_values_and_default(self):
        p = Boolean("flag")
        assert p.default_value is False
        assert Boolean("flag", default=True).default_value is True
        assert p.grid_values() == [False, True]
        assert Counter(_sweep(p, 100)) == {False: 50, True: 50}

    def test_unit_round_trip(self):
        p = Boolean("flag")
        for v in (False, True):
            assert p.from_unit(p.to_unit(v)) is v

    def test_contains_only_bools(self):
        p = Boolean("flag")
        assert p.contains(True) and p.contains(False)
        assert not p.contains(1) and not p.contains(0) and not p.contains("True")

    def test_non_bool_default(self):
        with pytest.raises(SearchSpaceError, match=r"'flag'.*True or False.*'yes'"):
            Boolean("flag", default="yes")


class TestFixed:
    def test_always_its_value(self):
        p = Fixed("epochs", 10)
        assert p.default_value == 10
        assert p.grid_values() == [10]
        assert {p.from_unit(u) for u in (0.0, 0.3, 1.0)} == {10}
        assert p.contains(10) and not p.contains(11) and not p.contains(True)

    def test_bad_values(self):
        with pytest.raises(SearchSpaceError, match=r"'cfg'.*number, string or boolean.*\[1, 2\]"):
            Fixed("cfg", [1, 2])
        with pytest.raises(SearchSpaceError, match=r"'x'.*NaN"):
            Fixed("x", math.nan)


# -- shared behaviour -------------------------------------------------------------------------


def test_validate_value_names_the_domain():
    with pytest.raises(
        SearchSpaceError, match=r"42 is not a valid value of Int\('n', min_value=1, max_value=10"
    ):
        Int("n", 1, 10).validate_value(42)


def test_same_domain_ignores_default_but_not_bounds():
    assert Int("n", 1, 10, default=3).same_domain(Int("n", 1, 10))
    assert not Int("n", 1, 10).same_domain(Int("n", 1, 11))
    assert not Int("n", 1, 10).same_domain(Float("n", 1, 10))


def test_json_keeps_an_unset_default_unset():
    for p in (Int("n", 1, 10), Float("x", 0, 1), Choice("c", ["a", "b"])):
        data = p.to_json()
        assert data["default"] is None
        assert param_from_json(data) == p


def test_unknown_type_in_json():
    with pytest.raises(
        SearchSpaceError, match=r"unknown hyperparameter type 'complex'.*known types"
    ):
        param_from_json({"type": "complex", "name": "z"})


def test_the_last_step_of_a_fine_grid_far_from_zero_is_inside_the_domain() -> None:
    """4087 + 99687 * 1e-4 carries ~4e-9 of a step in rounding error: the top value of the
    grid must still count as on the grid and inside it (found by hypothesis)."""
    p = Float("x", 4087.0, 4096.96875, step=0.0001)
    top = p.from_unit(1.0)
    assert top == 4096.9687
    assert p.contains(top)
    assert Float("x", 4087.0, 4096.96875, step=0.0001, default=top).default == top
