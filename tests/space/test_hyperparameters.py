"""`HyperParameters`: the Keras-Tuner-style container, its resolver, redefinition and scopes."""

from __future__ import annotations

import pytest

from tunelab.errors import SearchSpaceError
from tunelab.space import Condition, HyperParameters, Int


def _resolver_from(values: dict):
    """A resolver that answers from a dict and records what it was asked."""
    asked: list[tuple[str, tuple[Condition, ...]]] = []

    def resolve(param, conditions):
        asked.append((param.name, conditions))
        return values[param.name]

    return resolve, asked


class TestStandalone:
    def test_returns_keras_tuner_defaults(self):
        hp = HyperParameters()
        assert hp.Int("n", 2, 9) == 2
        assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == pytest.approx(1e-4)
        assert hp.Choice("opt", ["adam", "sgd"]) == "adam"
        assert hp.Boolean("bn") is False
        assert hp.Fixed("epochs", 20) == 20
        assert hp.values == {
            "n": 2,
            "lr": pytest.approx(1e-4),
            "opt": "adam",
            "bn": False,
            "epochs": 20,
        }

    def test_explicit_defaults(self):
        hp = HyperParameters()
        assert hp.Int("n", 2, 9, default=5) == 5
        assert hp.Choice("opt", ["adam", "sgd"], default="sgd") == "sgd"
        assert hp.Boolean("bn", default=True) is True

    def test_asking_twice_returns_the_same_value_and_asks_once(self):
        resolve, asked = _resolver_from({"n": 4})
        hp = HyperParameters(resolver=resolve)
        assert hp.Int("n", 1, 8) == 4
        assert hp.Int("n", 1, 8) == 4
        assert hp["n"] == 4 and hp.get("n") == 4 and "n" in hp
        assert [name for name, _ in asked] == ["n"]

    def test_space_records_definitions_in_order(self):
        hp = HyperParameters()
        hp.Int("b", 1, 2)
        hp.Choice("a", ["x"])
        assert hp.space.names() == ["b", "a"]
        assert hp.space["b"] == Int("b", 1, 2)

    def test_resolver_value_is_validated_and_made_canonical(self):
        resolve, _ = _resolver_from({"n": 3.0, "lr": 1, "bad": 99})
        hp = HyperParameters(resolver=resolve)
        assert type(hp.Int("n", 1, 5)) is int
        assert type(hp.Float("lr", 0, 2)) is float
        with pytest.raises(SearchSpaceError, match=r"99 is not a valid value of Int\('bad'"):
            hp.Int("bad", 1, 5)
        assert "bad" not in hp.values

    def test_unknown_name(self):
        hp = HyperParameters()
        hp.Int("n", 1, 3)
        with pytest.raises(KeyError, match=r"'m' has not been defined.*\['n'\]"):
            hp.get("m")


class TestRedefinition:
    def test_same_domain_is_fine(self):
        hp = HyperParameters()
        hp.Int("n", 1, 10)
        assert hp.Int("n", 1, 10, default=5) == 1  # the default is not part of the domain

    @pytest.mark.parametrize(
        "redefine",
        [
            lambda hp: hp.Int("n", 1, 11),
            lambda hp: hp.Int("n", 1, 10, step=3),
            lambda hp: hp.Int("n", 1, 10, sampling="log"),
            lambda hp: hp.Float("n", 1, 10),
            lambda hp: hp.Choice("n", [1, 10]),
        ],
    )
    def test_other_domain_raises_naming_both(self, redefine):
        hp = HyperParameters()
        hp.Int("n", 1, 10)
        with pytest.raises(SearchSpaceError) as info:
            redefine(hp)
        message = str(info.value)
        assert "'n'" in message
        assert "Int('n', min_value=1, max_value=10" in message
        assert "redefined" in message

    def test_choice_with_other_values(self):
        hp = HyperParameters()
        hp.Choice("opt", ["adam", "sgd"])
        with pytest.raises(
            SearchSpaceError, match=r"'opt'.*\['adam', 'sgd'\].*\['adam', 'rmsprop'\]"
        ):
            hp.Choice("opt", ["adam", "rmsprop"])


class TestConditionalScope:
    def _build(self, hp: HyperParameters) -> None:
        model = hp.Choice("model", ["mlp", "cnn"])
        with hp.conditional_scope("model", ["mlp"]):
            hp.Int("units", 32, 512, step=32)
        with hp.conditional_scope("model", "cnn"):
            hp.Int("filters", 8, 64, step=8)
        assert model in ("mlp", "cnn")

    def test_inactive_params_are_none_and_absent(self):
        resolve, asked = _resolver_from({"model": "cnn", "units": 64, "filters": 16})
        hp = HyperParameters(resolver=resolve)
        self._build(hp)
        assert hp.values == {"model": "cnn", "filters": 16}
        assert hp.get("units") is None
        assert not hp.is_active("units") and hp.is_active("filters")
        assert "units" not in hp
        assert [name for name, _ in asked] == ["model", "filters"]  # never asked for units
        assert hp.space.names() == ["model", "units", "filters"]  # but it is in the space

    def test_default_resolver_activates_first_branch(self):
        hp = HyperParameters()
        self._build(hp)
        assert hp.values == {"model": "mlp", "units": 32}

    def test_inactive_param_returns_none_from_every_type(self):
        resolve, _ = _resolver_from({"on": False})
        hp = HyperParameters(resolver=resolve)
        hp.Boolean("on")
        with hp.conditional_scope("on", [True]):
            got = [
                hp.Int("a", 1, 2),
                hp.Float("b", 0, 1),
                hp.Choice("c", ["x"]),
                hp.Boolean("d"),
                hp.Fixed("e", 3),
            ]
        assert got == [None] * 5
        assert hp.values == {"on": False}

    def test_resolver_sees_the_conditions(self):
        resolve, asked = _resolver_from({"model": "mlp", "units": 64})
        hp = HyperParameters(resolver=resolve)
        self._build(hp)
        assert dict(asked)["units"] == (Condition("model", ("mlp",)),)
        entry = hp.space.entries["filters"]
        assert entry.conditions == (Condition("model", ("cnn",)),)
        assert entry.is_active({"model": "cnn"}) and not entry.is_active({"model": "mlp"})

    def test_nested_scopes_need_every_parent(self):
        def build(hp):
            hp.Choice("model", ["mlp", "cnn"])
            with hp.conditional_scope("model", "cnn"):
                hp.Boolean("pool")
                with hp.conditional_scope("pool", True):
                    return hp.Choice("pool_kind", ["max", "avg"])

        chosen = {"model": "cnn", "pool": True, "pool_kind": "avg"}
        hp = HyperParameters(resolver=_resolver_from(chosen)[0])
        assert build(hp) == "avg"
        assert hp.values == chosen
        assert hp.space.entries["pool_kind"].conditions == (
            Condition("model", ("cnn",)),
            Condition("pool", (True,)),
        )

        hp = HyperParameters(resolver=_resolver_from({**chosen, "pool": False})[0])
        assert build(hp) is None
        assert hp.values == {"model": "cnn", "pool": False}

        hp = HyperParameters(resolver=_resolver_from({**chosen, "model": "mlp"})[0])
        assert build(hp) is None  # the inner scope's parent is itself inactive
        assert hp.values == {"model": "mlp"}

    def test_scope_ends_with_the_block(self):
        hp = HyperParameters(resolver=_resolver_from({"flag": False, "after": 7})[0])
        hp.Boolean("flag")
        with hp.conditional_scope("flag", [True]):
            hp.Int("inside", 1, 3)
        assert hp.Int("after", 1, 9) == 7
        assert hp.space.entries["after"].conditions == ()

    def test_scope_is_popped_when_the_block_raises(self):
        hp = HyperParameters()
        hp.Boolean("flag")
        with pytest.raises(RuntimeError), hp.conditional_scope("flag", [True]):
            raise RuntimeError("boom")
        assert hp.Int("after", 1, 9) == 1
        assert hp.space.entries["after"].conditions == ()

    def test_boolean_parent_is_not_matched_by_int_values(self):
        hp = HyperParameters(resolver=_resolver_from({"n": 1, "child": 5})[0])
        hp.Int("n", 0, 3)
        with hp.conditional_scope("n", [True]):  # True == 1, but n is an Int
            assert hp.Int("child", 1, 9) is None
        with hp.conditional_scope("n", [1]):
            assert hp.Int("child", 1, 9) == 5

    def test_undefined_parent(self):
        hp = HyperParameters()
        scope = hp.conditional_scope("model", ["mlp"])
        with pytest.raises(
            SearchSpaceError, match=r"conditional scope on 'model'.*not been defined"
        ):
            scope.__enter__()

    def test_undefined_parent_keyword_form(self):
        hp = HyperParameters()
        with pytest.raises(SearchSpaceError, match=r"'model'.*not been defined"):
            hp.Int("units", 1, 4, parent_name="model", parent_values=["mlp"])
        assert "units" not in hp.space


class TestParentKeywords:
    def test_keyword_form_matches_scope_form(self):
        resolve, _ = _resolver_from({"model": "cnn", "units": 64, "filters": 16})
        hp = HyperParameters(resolver=resolve)
        hp.Choice("model", ["mlp", "cnn"])
        assert hp.Int("units", 32, 512, step=32, parent_name="model", parent_values=["mlp"]) is None
        assert hp.Int("filters", 8, 64, step=8, parent_name="model", parent_values=["cnn"]) == 16
        assert hp.values == {"model": "cnn", "filters": 16}
        assert hp.space.entries["units"].conditions == (Condition("model", ("mlp",)),)

    def test_keyword_form_inside_a_scope_needs_both(self):
        hp = HyperParameters(resolver=_resolver_from({"a": True, "b": "x", "c": 2})[0])
        hp.Boolean("a")
        hp.Choice("b", ["x", "y"])
        with hp.conditional_scope("a", True):
            value = hp.Int("c", 1, 3, parent_name="b", parent_values="y")
        assert value is None
        assert hp.space.entries["c"].conditions == (Condition("a", (True,)), Condition("b", ("y",)))

    def test_every_type_takes_parent_keywords(self):
        hp = HyperParameters(resolver=_resolver_from({"p": "off"})[0])
        hp.Choice("p", ["on", "off"])
        kw = {"parent_name": "p", "parent_values": ["on"]}
        assert hp.Float("f", 0, 1, **kw) is None
        assert hp.Choice("c", [1, 2], **kw) is None
        assert hp.Boolean("b", **kw) is None
        assert hp.Fixed("x", 1, **kw) is None
        assert hp.values == {"p": "off"}

    @pytest.mark.parametrize("kwargs", [{"parent_name": "p"}, {"parent_values": ["on"]}])
    def test_parent_name_and_values_go_together(self, kwargs):
        hp = HyperParameters()
        hp.Choice("p", ["on", "off"])
        with pytest.raises(
            SearchSpaceError, match=r"'u'.*parent_name and parent_values go together"
        ):
            hp.Int("u", 1, 3, **kwargs)


def test_a_fixed_value_may_change_between_trials_but_not_become_tuned():
    from tunelab.errors import SearchSpaceError
    from tunelab.space import Fixed, Float, SearchSpace

    space = SearchSpace()
    space.add(Fixed("l1", 0.0))
    space.add(Fixed("l1", 1e-4))  # depends on another parameter: fine
    with pytest.raises(SearchSpaceError, match="'l1' was defined as Fixed"):
        space.add(Float("l1", 0.0, 1.0))


class TestDefinitionsAreBuiltOnce:
    """A build_model asks for the same definitions trial after trial: each is built and
    checked once per process, without merging definitions that only compare equal."""

    def test_the_same_definition_is_the_same_object(self):
        first, second = HyperParameters(), HyperParameters()
        for hp in (first, second):
            hp.Float("lr", 1e-4, 1e-1, sampling="log")
            hp.Choice("opt", ["adam", "sgd"])
        assert first.space["lr"] is second.space["lr"]
        assert first.space["opt"] is second.space["opt"]

    def test_an_equal_bound_of_another_type_is_checked_afresh(self):
        HyperParameters().Int("n", 1, 4)
        with pytest.raises(SearchSpaceError):
            HyperParameters().Int("n", True, 4)  # True == 1, but a bool is no bound

    def test_equal_choice_values_of_other_types_stay_apart(self):
        made = {}
        for values in ([1, 2], [1.0, 2.0], [True, False]):
            hp = HyperParameters()
            hp.Choice("c", values)
            made[type(values[0])] = hp.space["c"]
        assert {kind: {type(v) for v in p.values} for kind, p in made.items()} == {
            int: {int},
            float: {float},
            bool: {bool},
        }

    def test_a_bad_definition_raises_every_time(self):
        for _ in range(2):
            with pytest.raises(SearchSpaceError):
                HyperParameters().Int("n", 5, 1)

    def test_unhashable_choice_values_are_built_each_time(self):
        from tunelab.space.params import Choice

        with pytest.raises(SearchSpaceError):
            Choice("c", values=[[1], [2]])  # the domain refuses them, as before
        with pytest.raises(SearchSpaceError):
            HyperParameters().Choice("c", [[1], [2]])
