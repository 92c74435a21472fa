"""The `hp` a trial's `build(hp)` receives: the trial's own HyperParameters, seen through
the tuner's `hyperparameters=`, `tune_new_entries=` and `allow_new_entries=`.

Values land in the trial's `hp`, so the study stores them as the trial's params.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from tunelab.errors import SearchSpaceError
from tunelab.space import Fixed, HyperParameters, Param


class TrialHyperParameters(HyperParameters):
    """Keras Tuner's rules for a tuner given `hyperparameters=`: a name declared there
    uses that declaration (a `Fixed` there pins the value); a new name is tuned, pinned to
    its default (`tune_new_entries=False`) or refused (`allow_new_entries=False`)."""

    def __init__(
        self,
        trial_hp: HyperParameters,
        declared: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
    ) -> None:
        super().__init__()
        self._trial_hp = trial_hp
        self._declared = declared
        self._tune_new = tune_new_entries
        self._allow_new = allow_new_entries
        # Share the trial's records: what build() asks for is what the study stores.
        self.values = trial_hp.values
        self.space = trial_hp.space

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        with self._trial_hp.conditional_scope(parent_name, parent_values):
            yield

    def _substitute(self, param: Param) -> Param:
        declared = self._declared
        if declared is not None and param.name in declared.space:
            return declared.space[param.name]
        if not self._allow_new:
            raise SearchSpaceError(
                f"the model asks for hyperparameter {param.name!r}, which the tuner's "
                "hyperparameters= does not declare, and allow_new_entries=False; declare it "
                "there or pass allow_new_entries=True"
            )
        if not self._tune_new:
            return Fixed(param.name, param.default_value)
        return param

    def _retrieve(
        self, param: Param, parent_name: str | None, parent_values: Sequence[Any] | None
    ) -> Any:
        param = self._substitute(param)
        if (parent_name is None) != (parent_values is None):
            raise SearchSpaceError(
                f"{param.name!r}: parent_name and parent_values go together, but got "
                f"parent_name={parent_name!r}, parent_values={parent_values!r}; give both "
                "or neither"
            )
        scope = (
            self._trial_hp.conditional_scope(parent_name, parent_values)
            if parent_name is not None
            else contextlib.nullcontext()
        )
        with scope:
            return self._trial_hp.define(param)
