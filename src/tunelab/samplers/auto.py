"""sampler="auto": GP where it is strong, TPE elsewhere, Sobol points to start.

A Gaussian process models a smooth response over a handful of mostly numeric
dimensions with few evaluations better than any density estimator, but it costs
O(n^3) in the number of trials. TPE is cheap at any size and handles any
define-by-run space and many categories. The GP models conditional parameters
declared with `hp.conditional_scope` (an absent parameter holds a fixed inactive
input, and the acquisition knows which branch a candidate is in), but not ones
that appear in only some trials for reasons the space does not state. So,
decided afresh for every trial (deterministically, so seeded runs repeat):

- TPE if some finished trial lacks a parameter another has and no declared
  condition explains it (e.g. `units_2` asked only when num_layers == 3, without
  a conditional scope);
- TPE if more than 12 parameters are tuned, or if over half of them are unordered
  categories (Choice of strings, Boolean);
- TPE once the study holds more than 300 finished trials;
- GP otherwise, declared conditional spaces included.
Both start with the same scrambled Sobol points, so the switch is seamless.

A study of two objectives follows the same rules (the GP with log expected hypervolume
improvement where it is strong, MOTPE elsewhere); one of three or more gets TPE, as the
GP's hypervolume improvement needs a reference point that the data set poorly there
(benchmarks/RESULTS.md, "Multi-objective search vs Optuna"). Both read constraints.
Once a scheduler has pruned a trial of a study of several objectives, random search: the
models learn from complete trials only there, and under pruning those are few and often
one configuration that survives every rung, onto which both models collapse
(benchmarks/RESULTS.md, "Multi-objective pruning").

Measured (benchmarks/RESULTS.md, issue 4): the GP beats TPE at 25 to 100 trials on
Branin, Hartmann-6, Levy-10 and on a mixed 7-parameter space with a conditional
branch, which is why declared conditions no longer send a study to TPE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.samplers.base import Sampler, SampleRequest
from tunelab.samplers.gp import GPSampler
from tunelab.samplers.random import RandomSampler
from tunelab.samplers.tpe import TPESampler
from tunelab.space import Boolean, Choice, Entry, Fixed, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

MAX_GP_DIMS = 12
MAX_GP_TRIALS = 300


def _unexplained_absence(entry: Entry, finished: Sequence[FrozenTrial]) -> bool:
    """Some finished trial lacks this parameter although no declared condition says it
    should (a pruned trial may simply have stopped before asking: that is no evidence)."""
    name = entry.param.name
    return any(
        name not in t.params
        and (not entry.conditions or entry.is_active(t.params))
        and t.state is TrialState.COMPLETE
        for t in finished
    )


def prefers_tpe(space: SearchSpace, history: Sequence[FrozenTrial]) -> bool:
    """True where TPE is the better model for this space and history (see module doc)."""
    tuned = [e for e in space if not isinstance(e.param, Fixed)]
    finished = [t for t in history if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if any(_unexplained_absence(e, finished) for e in tuned):
        return True
    categorical = sum(
        1
        for e in tuned
        if isinstance(e.param, Boolean) or (isinstance(e.param, Choice) and not e.param.ordered)
    )
    if len(tuned) > MAX_GP_DIMS or categorical * 2 > len(tuned):
        return True
    return len(finished) > MAX_GP_TRIALS


class AutoSampler(Sampler):
    """The default sampler: per trial, a Gaussian process (GPSampler) where it is strong, TPE
    elsewhere, after the same scrambled Sobol points.

    TPE takes over when a parameter appears in some trials without a declared condition, when
    more than 12 parameters are tuned or over half are unordered categories, past 300
    finished trials, and for more than two objectives; random search for several objectives
    once trials were pruned. The choice is deterministic, so seeded runs repeat.

    Args:
        seed: Seeds the samplers it chooses between; None for fresh entropy.

    Example:
        ```python
        study = tunelab.create_study("digits", metric="val_accuracy", direction="maximize",
                                     sampler=AutoSampler(seed=0))
        ```
    """

    name = "auto"
    needs_history = True
    multi_objective = True
    reads_feasibility = True  # both models rank infeasible trials themselves

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._tpe = TPESampler(seed=self.seed)
        self._gp = GPSampler(seed=self.seed)
        self._random = RandomSampler(seed=self.seed)
        self._choice: dict[int, Sampler] = {}

    def chosen_for(self, trial_number: int) -> Sampler | None:
        """The sampler chosen for trial `trial_number` (TPE, GP or random); None unless it is
        the latest trial this sampler served."""
        return self._choice.get(trial_number)

    def sample(self, request: SampleRequest) -> Any:
        sampler = self._choice.get(request.trial_number)
        if sampler is None:
            if len(request.objectives) > 1 and any(
                t.state is TrialState.PRUNED for t in request.history
            ):
                sampler = self._random
            elif len(request.objectives) > 2 or prefers_tpe(request.space, request.history):
                sampler = self._tpe
            else:
                sampler = self._gp
            self._choice = {request.trial_number: sampler}  # one trial at a time per worker
        return sampler.sample(request)
