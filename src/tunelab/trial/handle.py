"""The Trial handle an objective receives: `trial.hp`, `trial.report()`, `trial.should_prune()`,
and for freeze-thaw `trial.set_resumable()`, `trial.resume_from`, `trial.should_pause()`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tunelab._names import KEY_MAX, METRIC_NAME_MAX, name_problem
from tunelab.errors import ConfigurationError, TrialError
from tunelab.space import Condition, HyperParameters, Param


class TrialHost(Protocol):
    """What a Trial needs from its study. Keeps `trial` free of study and storage imports."""

    def suggest(self, trial: Trial, param: Param, conditions: tuple[Condition, ...]) -> Any:
        """The trial's value of `param`, checked against its domain, in canonical form."""
        ...

    def report(self, trial: Trial, step: int, metrics: dict[str, float]) -> None:
        """Store the metrics `trial` reports at `step` (and let the scheduler see them)."""

    def should_prune(self, trial: Trial) -> bool:
        """Whether the study's scheduler stops `trial` now, after its latest report."""

    def should_pause(self, trial: Trial) -> bool:
        """Whether the study wants this (resumable) trial paused now (freeze-thaw)."""
        ...

    def set_user_attr(self, trial: Trial, key: str, value: Any) -> None:
        """Set one user attribute (a JSON value) of `trial`."""

    def check_constraint_name(self, name: str) -> None:
        """Raise TrialError when `name` is taken by one of the study's own constraints."""
        ...

    def artifact_dir(self, trial: Trial, root: str | os.PathLike[str] | None) -> Path:
        """The trial's folder for files (absolute, not created): `<root>/trial-<number>`,
        with the study's default root when `root` is None."""
        ...


class Trial:
    """One configuration being evaluated. Ask for hyperparameters through `trial.hp`."""

    def __init__(
        self,
        host: TrialHost,
        trial_id: int,
        number: int,
        fixed: Mapping[str, Any] | None = None,
        metric: str = "value",
        seed: int = 0,
        metrics: Sequence[str] = (),
        study_name: str = "",
    ) -> None:
        self._host = host
        self.study_name = study_name
        self.trial_id = trial_id
        self.number = number
        self.metric = metric  # the study's (first) metric: what an objective returns
        self.metrics = tuple(metrics) or (metric,)  # every objective's metric, in order
        self.seed = seed  # seeds Python, NumPy and torch before the objective runs
        self.fixed: dict[str, Any] = dict(fixed or {})
        self.hp = HyperParameters(resolver=self._resolve, resolver_validates=True)
        self.user_attrs: dict[str, Any] = {}
        self.constraints: dict[str, float] = {}  # set by the objective: feasible when <= 0
        self.last_step: int | None = None
        self.finished = False
        # freeze-thaw (see resume_from, set_resumable, should_pause):
        self.resumed_from_step: int | None = None  # the last step stored before this run
        self.resumes = 0  # how many times this trial was resumed, this run included
        self.resume_from: str | None = None  # the checkpoint this run goes on from
        self.checkpoint: str | None = None  # the file this run keeps its state in

    def _resumed(self, last_step: int | None, resumes: int, checkpoint: str | None) -> None:
        """Mark the handle as a paused trial's continuation: its reports go on after
        `last_step`, and the objective loads `checkpoint` (`trial.resume_from`)."""
        self.resumed_from_step = self.last_step = last_step
        self.resumes = resumes
        self.resume_from = checkpoint

    @property
    def resumable(self) -> bool:
        """Whether the objective said it can go on from a checkpoint (`set_resumable`, or
        `tunelab.torch.fit(..., checkpoint="last")`). Only a resumable trial is ever paused;
        others run to their end or are stopped by the scheduler."""
        return self.checkpoint is not None

    def set_resumable(self, checkpoint: str | os.PathLike[str]) -> None:
        """Declare that this objective keeps its state in `checkpoint` and, when resumed,
        goes on from `trial.resume_from` (that file): the trial may then be paused between
        slices of its training (freeze-thaw) instead of running to its end."""
        if self.finished:
            raise TrialError(f"trial {self.number} is finished; it cannot become resumable")
        if not isinstance(checkpoint, (str, os.PathLike)) or not str(checkpoint):
            raise TrialError(
                f"set_resumable() takes the path of the checkpoint file, but got {checkpoint!r}"
            )
        self.checkpoint = str(Path(checkpoint).absolute())

    def should_pause(self) -> bool:
        """True when the study wants this trial paused now, e.g. at the end of a slice of
        epochs under scheduler="freeze-thaw": the objective then saves its state and raises
        `TrialPaused`. Always False for a trial that is not `resumable`."""
        if not self.resumable or self.finished:
            return False
        return self._host.should_pause(self)

    @property
    def params(self) -> dict[str, Any]:
        """Values chosen so far in this trial, in the order the code asked for them."""
        return dict(self.hp.values)

    def _resolve(self, param: Param, conditions: tuple[Condition, ...]) -> Any:
        return self._host.suggest(self, param, conditions)

    def report(self, step: int, /, **metrics: float) -> None:
        """Store metrics for one step (an epoch, say). Steps must increase."""
        if self.finished:
            raise TrialError(f"trial {self.number} is finished; it cannot report any more")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise TrialError(f"report step must be a non-negative int, but got step={step!r}")
        if self.last_step is not None and step <= self.last_step:
            raise TrialError(
                f"report steps must increase, but got step={step} after step={self.last_step}"
            )
        if not metrics:
            raise TrialError("report() needs at least one metric, e.g. report(3, val_loss=0.2)")
        clean: dict[str, float] = {}
        for key, value in metrics.items():
            problem = name_problem("a reported metric name", key, METRIC_NAME_MAX)
            if problem is not None:
                raise TrialError(problem)
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise TrialError(
                    f"reported metric {key!r} must be a number that fits a float, but got "
                    f"{value!r:.80}"
                ) from None
            clean[key] = number  # NaN/inf are kept: they tell of divergence
        self._host.report(self, step, clean)
        self.last_step = step

    def should_prune(self) -> bool:
        """True when the study's scheduler says this trial should stop now."""
        return self._host.should_prune(self)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable value to the trial (kept in storage)."""
        problem = name_problem("a user attribute key", key, KEY_MAX)
        if problem is not None:
            raise TrialError(problem)
        self._host.set_user_attr(self, key, value)
        self.user_attrs[key] = value

    def artifact_dir(self, root: str | os.PathLike[str] | None = None, create: bool = True) -> Path:
        """The trial's own folder for files (weights, checkpoints), created if missing
        unless `create` is False: `<root>/trial-<number>`. The default root sits next to
        the study's SQLite file (`<file without suffix>-artifacts/<study name>`), else in
        the working directory (`./tunelab-artifacts/<study name>`)."""
        folder = self._host.artifact_dir(self, root)
        if not create:
            return folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigurationError(
                f"cannot create the artifact folder {str(folder)!r}: {e.strerror or e}; "
                "give a writable root folder"
            ) from None
        return folder

    def set_constraint(self, name: str, value: float) -> None:
        """Record a constraint the objective computed itself: it holds when `value` <= 0
        (e.g. `set_constraint("memory", used_mib - 2048)`). A trial breaking one is
        stored COMPLETE with feasible=False and is never among the study's best."""
        if self.finished:
            raise TrialError(f"trial {self.number} is finished; it cannot set constraints")
        if not isinstance(name, str) or not name:
            raise TrialError(f"a constraint's name must be a non-empty string, but got {name!r}")
        if isinstance(value, (bool, str)) or not isinstance(value, (int, float)):
            raise TrialError(f"constraint {name!r} must be a number, but got {value!r}")
        if not math.isfinite(value):
            raise TrialError(
                f"constraint {name!r} must be finite, but got {value}; give a violated "
                "constraint a positive value"
            )
        self._host.check_constraint_name(name)
        self.constraints[name] = float(value)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params})"
