"""Storage conformance for studies of several objectives and constraints: part of
`StorageConformance` (which mixes it in), kept apart so each file holds one subject.

A study's objectives and constraints are stored once and read back exactly, by any
handle, and nothing that changes a study changes them; trials hold one value per
objective and their constraint values; a study's best value counts feasible trials
only, and a study of several objectives has none."""

from __future__ import annotations

import pytest

from tunelab.errors import ConfigurationError
from tunelab.objectives import Constraint, Objective
from tunelab.storage.base import BaseStorage
from tunelab.trial import CONSTRAINTS_ATTR
from tunelab.types import Direction, TrialState

MAX, MIN = Direction.MAXIMIZE, Direction.MINIMIZE
OBJECTIVES = (Objective("val_accuracy", MAX), Objective("n_parameters", MIN))
CONSTRAINTS = (Constraint("n_parameters", "<=", 100_000.0), Constraint("latency_ms", ">=", 0.5))


class ObjectivesConformance:
    """Mixed into StorageConformance, whose `storage` and `other` fixtures it uses."""

    def _mo_study(self, storage: BaseStorage) -> int:
        record = storage.create_study(
            "mo", "val_accuracy", MAX, {"name": "random"}, {}, OBJECTIVES, CONSTRAINTS
        )
        return record.study_id

    def test_objectives_and_constraints_round_trip(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        created = storage.create_study(
            "mo", "val_accuracy", MAX, {"name": "random"}, {}, OBJECTIVES, CONSTRAINTS
        )
        for record in (created, storage.get_study("mo"), other.get_study("mo")):
            assert record is not None
            assert record.objectives == OBJECTIVES and record.constraints == CONSTRAINTS
            assert (record.metric, record.direction) == ("val_accuracy", MAX)
            assert record.multi_objective
        listed = {s.record.name: s.record for s in other.list_studies()}
        assert listed["mo"].objectives == OBJECTIVES
        assert listed["mo"].constraints == CONSTRAINTS

    def test_a_single_objective_study_has_its_metric_as_objective(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        storage.create_study("so", "loss", MIN, {}, {})
        record = other.get_study("so")
        assert record is not None
        assert record.objectives == (Objective("loss", MIN),) and record.constraints == ()
        assert not record.multi_objective

    def test_objectives_never_change(self, storage: BaseStorage, other: BaseStorage) -> None:
        study_id = self._mo_study(storage)
        changed = storage.set_study_setting(study_id, "scheduler", {"name": "none"})
        assert changed.objectives == OBJECTIVES and changed.constraints == CONSTRAINTS
        again = other.get_study("mo")
        assert again is not None and again.objectives == OBJECTIVES
        with pytest.raises(AttributeError):
            again.objectives = ()  # type: ignore[misc]

    def test_the_first_objective_must_be_the_metric(self, storage: BaseStorage) -> None:
        with pytest.raises(ConfigurationError, match="first objective"):
            storage.create_study("bad", "n_parameters", MIN, {}, {}, OBJECTIVES)
        assert storage.get_study("bad") is None

    def test_trials_keep_one_value_per_objective_and_their_constraints(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        study_id = self._mo_study(storage)
        kept = {}
        for values, constraints in (
            ((0.9, 5000.0), {"n_parameters": -95_000.0}),
            ((0.95, 200_000.0), {"n_parameters": 100_000.0, "memory": -1.0}),
        ):
            t = storage.create_trial(study_id, TrialState.RUNNING, "w")
            assert t is not None
            storage.finish_trial(
                t.trial_id,
                TrialState.COMPLETE,
                values=values,
                system_attrs={CONSTRAINTS_ATTR: constraints},
            )
            kept[t.trial_id] = (values, constraints)
        for trial in other.get_trials(study_id):
            values, constraints = kept[trial.trial_id]
            assert trial.values == values and trial.value is None
            assert dict(trial.constraints) == constraints
            assert trial.feasible is all(v <= 0 for v in constraints.values())
        summary = {s.record.name: s for s in other.list_studies()}["mo"]
        assert summary.best_value is None  # several objectives: no single best value

    def test_best_value_counts_feasible_trials_only(self, storage: BaseStorage) -> None:
        record = storage.create_study("so", "acc", MAX, {}, {})
        for value, violation in ((0.99, 1.0), (0.7, -1.0), (0.5, None), (0.98, 0.5)):
            t = storage.create_trial(record.study_id, TrialState.RUNNING, "w")
            assert t is not None
            attrs = None if violation is None else {CONSTRAINTS_ATTR: {"c": violation}}
            storage.finish_trial(t.trial_id, TrialState.COMPLETE, value=value, system_attrs=attrs)
        summary = {s.record.name: s for s in storage.list_studies()}["so"]
        assert summary.best_value == pytest.approx(0.7)
