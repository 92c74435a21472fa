"""`Tuner`: Keras Tuner's tuner, run as a tunelab study.

The study lives in `directory/project_name/tunelab.db` (or `storage=`), so `tunelab
show/report/dashboard` read it, and a rerun with `overwrite=False` resumes it: finished
trials stay, a trial cut short by a crash is marked lost and does not use the budget.
Each trial builds the model, trains it with a callback that reports every epoch, and
keeps the best epoch's weights as a `.keras` file (the best `keep_models` trials only).
A subclass may override `run_trial(trial, *args, **kwargs)` to evaluate a trial its own
way (then no hypermodel is needed), as in Keras Tuner.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab import (
    ConfigurationError,
    ConfigurationTypeError,
    FrozenTrial,
    GridExhausted,
    HyperParameters,
    Study,
    StudyConflictError,
    StudyNotFoundError,
    Trial,
    TrialPruned,
    TrialState,
    TunelabError,
    create_study,
    delete_study,
)
from tunelab._process import rss_mb, set_torch_threads
from tunelab.keras._backend import load_keras
from tunelab.keras.errors import FailedTrialError, ModelNotKeptError
from tunelab.keras.hypermodel import HyperModel, as_hypermodel
from tunelab.keras.models import ModelStore
from tunelab.keras.objective import Objective, parse_objectives
from tunelab.keras.overlay import TrialHyperParameters
from tunelab.keras.results import (
    KerasTrial,
    Oracle,
    best_trials,
    hyperparameters_from,
    results_text,
    space_summary,
    trial_line,
)
from tunelab.keras.running import Outcome, RunningTrial, outcome_of
from tunelab.keras.scoring import (
    execution_metrics,
    primary_score,
    trial_values,
)
from tunelab.study.optimize import describe_error

DB_FILE = "tunelab.db"
DEFAULT_OBJECTIVE = Objective("default_objective", "min")


def _check_count(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, but got {name}={value!r}")


class Tuner:
    """Base of the tuners; subclasses pick the sampler (and Hyperband adds brackets)."""

    sampler_name = "random"

    def __init__(
        self,
        hypermodel: HyperModel | Any = None,
        objective: str | Objective | Sequence[str | Objective] | None = None,
        max_trials: int | None = 10,
        executions_per_trial: int = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        overwrite: bool = False,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        storage: str | None = None,
        sampler: Any = None,
        scheduler: Any = None,
        keep_models: int = 10,
        optimizer: Any = None,
        loss: Any = None,
        metrics: Any = None,
    ) -> None:
        own_run_trial = type(self).run_trial is not Tuner.run_trial
        if hypermodel is None and not own_run_trial:
            raise ConfigurationTypeError(
                "a tuner needs hypermodel=: a function build_model(hp) returning a compiled "
                "Keras model, or a kt.HyperModel (or subclass the tuner and override "
                "run_trial(self, trial, *args, **kwargs))"
            )
        self.hypermodel = as_hypermodel(hypermodel) if hypermodel is not None else None
        if objective is None:  # Keras Tuner minimizes what an overridden run_trial returns
            objective = DEFAULT_OBJECTIVE if own_run_trial else "val_loss"
        self.objectives = parse_objectives(objective)
        self.objective = self.objectives[0]  # picks a trial's best epoch and execution
        _check_count("max_trials", max_trials, 1, allow_none=True)
        _check_count("executions_per_trial", executions_per_trial, 1)
        _check_count("max_retries_per_trial", max_retries_per_trial, 0)
        _check_count("max_consecutive_failed_trials", max_consecutive_failed_trials, 1)
        if hyperparameters is not None and not isinstance(hyperparameters, HyperParameters):
            raise ConfigurationTypeError(
                f"hyperparameters must be a kt.HyperParameters, but got {hyperparameters!r}"
            )
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.tune_new_entries = bool(tune_new_entries)
        self.allow_new_entries = bool(allow_new_entries)
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self._compile_args = {
            k: v
            for k, v in {"optimizer": optimizer, "loss": loss, "metrics": metrics}.items()
            if v is not None
        }
        self.directory = Path(directory if directory is not None else ".")
        self.project_name = project_name or "untitled_project"
        self.project_dir = self.directory / self.project_name
        self.keras = load_keras()
        self.models = ModelStore(self.project_dir / "models", keep_models)
        self.storage = storage or str(self.project_dir / DB_FILE)
        if storage is None:
            self.project_dir.mkdir(parents=True, exist_ok=True)
        if overwrite:
            self._erase()
        self.study = self._open_study(
            sampler if sampler is not None else self.sampler_name, scheduler
        )
        self.oracle = Oracle(self.study, self.objectives, self.max_trials)

    # -- the study ----------------------------------------------------------------------------
    def _erase(self) -> None:
        with contextlib.suppress(StudyNotFoundError, TunelabError):  # nothing stored yet
            delete_study(self.project_name, self.storage)
        self.models.remove_all()

    def _open_study(self, sampler: Any, scheduler: Any) -> Study:
        try:
            return create_study(
                self.project_name,
                storage=self.storage,
                metrics=[o.name for o in self.objectives],
                directions=[o.study_direction for o in self.objectives],
                sampler=sampler,
                seed=self.seed,
                scheduler=scheduler,
            )
        except StudyConflictError as e:
            raise StudyConflictError(
                f"{e}; or pass overwrite=True to start project {self.project_name!r} afresh"
            ) from None

    def _budget(self) -> int | None:
        return self.max_trials

    # -- searching ------------------------------------------------------------------------------
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run trials until the study holds `max_trials` finished ones. Arguments go to
        `model.fit` (through `HyperModel.fit`): x, y, epochs, validation_data or
        validation_split, callbacks, batch_size, verbose, ..."""
        set_torch_threads()
        verbose = fit_kwargs.get("verbose", 1)
        self.study.fail_lost_trials()
        failed_in_row = 0
        # Keras clears its session with a full garbage collection before each trial; with
        # torch loaded that walks every long-lived object (up to ~0.9 s a trial on a busy
        # 2-core machine). Frozen, they are skipped: a collection sees what trials allocate.
        gc.collect()
        gc.freeze()
        try:
            while True:
                try:
                    trial = self.study.ask(budget=self._budget())
                except (StopIteration, GridExhausted):
                    break
                frozen = self._run_one(trial, fit_args, fit_kwargs)
                if verbose:
                    self._print_trial(frozen)
                if frozen.state is TrialState.FAIL:
                    if frozen.retried_by is None:
                        failed_in_row += 1
                    if failed_in_row >= self.max_consecutive_failed_trials:
                        raise TunelabError(
                            f"{failed_in_row} trials in a row failed "
                            f"(max_consecutive_failed_trials={self.max_consecutive_failed_trials}); "
                            f"the last: {frozen.reason}. Fix the model or the data, then rerun "
                            "to resume"
                        )
                else:
                    failed_in_row = 0
        except KeyboardInterrupt:
            self.study.interrupt_running()
            raise
        finally:
            gc.unfreeze()
            self.study.close()

    def _run_one(
        self, trial: Trial, fit_args: Sequence[Any], fit_kwargs: Mapping[str, Any]
    ) -> FrozenTrial:
        running = RunningTrial(trial, self._trial_hp(trial))
        try:
            if type(self).run_trial is not Tuner.run_trial:  # the default one seeds each execution
                self.keras.backend.clear_session()
                self.keras.utils.set_random_seed(trial.seed % 2**31)
            result = self.run_trial(running, *fit_args, **fit_kwargs)
            state, values, reason = outcome_of(running, result, self.objectives)
        except TrialPruned as e:  # from a kt.ReportCallback in an overridden run_trial
            state, values, reason = TrialState.PRUNED, None, str(e) or "pruned"
        except TunelabError as e:  # a broken space or objective, or a kt.errors.FatalError
            self.study.tell(trial, state=TrialState.FAIL, reason=str(e) or describe_error(e))
            raise
        except FailedTrialError as e:  # failed for good: no retry
            return self.study.tell(trial, state=TrialState.FAIL, reason=describe_error(e))
        except Exception as e:
            frozen = self.study.tell(trial, state=TrialState.FAIL, reason=describe_error(e))
            if frozen.attempt < self.max_retries_per_trial:
                retry = self.study.storage.retry_trial(frozen.trial_id)
                if retry is not None:
                    return self.study.storage.get_trial(frozen.trial_id)
            return frozen
        finally:
            memory = rss_mb()
            if memory is not None and not trial.finished:
                trial.set_user_attr("rss_mb", round(memory, 1))
        frozen = self.study.tell(trial, values, state=state, reason=reason)
        if frozen.state is TrialState.COMPLETE:
            self._drop_models()
        return frozen

    def _drop_models(self) -> None:
        """Delete the files of finished trials outside the best `keep_models` (a running
        trial's file is left alone: another process sharing the study may be writing it)."""
        keep = {t.number for t in self.study.top_trials(self.models.keep)}
        on_disk = set(self.models.numbers())
        finished = self.study.get_trials([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL])
        self.models.remove(t.number for t in finished if t.number in on_disk - keep)

    def _fit_epochs(self, fit_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Changes to the fit arguments (Hyperband sets the epochs)."""
        return {}

    def _trial_hp(self, trial: Trial) -> HyperParameters:
        return TrialHyperParameters(
            trial.hp, self.hyperparameters, self.tune_new_entries, self.allow_new_entries
        )

    def _need_hypermodel(self) -> HyperModel:
        if self.hypermodel is None:
            raise ConfigurationTypeError(
                "this tuner has no hypermodel to build (its run_trial is overridden); pass "
                "hypermodel= to the tuner to use Tuner.run_trial through super() or load models"
            )
        return self.hypermodel

    def _build(self, hp: HyperParameters) -> Any:
        model = self._need_hypermodel().build(hp)
        if model is None:
            raise ConfigurationTypeError(
                "build(hp) must return a compiled Keras model, but it returned None; add the "
                "missing `return model`"
            )
        if self._compile_args:
            model.compile(**self._compile_args)
        return model

    def run_trial(self, running_trial: RunningTrial, *fit_args: Any, **fit_kwargs: Any) -> Any:
        """Build and train the trial's executions, reporting every epoch and keeping the
        best model; returns what `HyperModel.fit` returned, one per execution. Override
        it to evaluate a trial your own way: draw values from `trial.hyperparameters`
        and return a number (minimized unless `objective=` says otherwise), a dict of
        metrics or a History."""
        from tunelab.keras.callback import TrialReporter, copied_callbacks

        hypermodel = self._need_hypermodel()
        keras = self.keras
        trial, hp = running_trial.tunelab_trial, running_trial.hyperparameters
        fit_overridden = type(hypermodel).fit is not HyperModel.fit
        user_callbacks = list(fit_kwargs.get("callbacks") or [])
        runs: list[dict[str, float]] = []
        results: list[Any] = []
        best: tuple[float, dict[str, float], int | None] | None = None
        for execution in range(self.executions_per_trial):
            keras.backend.clear_session()  # the previous model's memory: freed (and collected)
            keras.utils.set_random_seed((trial.seed + execution) % 2**31)
            model = self._build(hp)
            reporter = TrialReporter(
                trial,
                self.objectives,
                may_prune=execution == 0,
                require_objective=not fit_overridden,
            )
            kwargs = {**fit_kwargs, **self._fit_epochs(fit_kwargs)}
            kwargs["callbacks"] = [*copied_callbacks(user_callbacks), reporter]
            result = hypermodel.fit(hp, model, *fit_args, **kwargs)
            results.append(result)
            if reporter.prune_reason is not None:
                running_trial.outcome = Outcome(TrialState.PRUNED, None, reporter.prune_reason)
                return results
            metrics = execution_metrics(result, reporter, self.objectives)
            runs.append(metrics)
            score = primary_score(metrics, self.objectives)
            if best is None or self.objective.better(score, best[0]):
                best = (score, metrics, reporter.best_epoch)
                self._keep_model(trial, model, reporter, score)
            del model, reporter
        assert best is not None
        if best[2] is not None:
            trial.set_user_attr("best_epoch", best[2])
        values = trial_values(runs, best[1], self.objectives)
        running_trial.outcome = Outcome(None, values, None, results)
        return results

    def _keep_model(self, trial: Trial, model: Any, reporter: Any, score: float) -> None:
        """Save the best epoch's weights if the trial may be among the best kept (with
        several objectives, always: `_drop_models` keeps the best once it is ranked)."""
        if self.models.keep == 0 or not math.isfinite(score):
            return
        if not self.study.multi_objective:
            top = self.study.top_trials(self.models.keep)
            worst_kept = top[-1].value if len(top) >= self.models.keep else None
            if worst_kept is not None and not self.objective.better(score, float(worst_kept)):
                return
        if reporter.best_weights is not None:
            model.set_weights(reporter.best_weights)
        path = self.models.save(model, trial.number)
        trial.set_user_attr("model_file", path.name)

    def _print_trial(self, frozen: FrozenTrial) -> None:
        print(trial_line(frozen, self.study, self._budget()), flush=True)

    # -- results --------------------------------------------------------------------------------
    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best `num_trials` complete trials, best first (with
        several objectives: of the Pareto front, at most `num_trials`)."""
        return [hyperparameters_from(t.params) for t in best_trials(self.study, num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The trained models of the best trials (their best epoch's weights), loaded
        from disk without retraining (with several objectives: of the Pareto front)."""
        return [self.load_model(t) for t in best_trials(self.study, num_models)]

    def load_model(self, trial: FrozenTrial | KerasTrial) -> Any:
        """The trained model of one trial: rebuilt by `build(hp)` with the stored weights."""
        frozen = trial.frozen if isinstance(trial, KerasTrial) else trial
        if frozen is None:
            raise ConfigurationError(
                "load_model needs a trial record with its tunelab FrozenTrial, but got a "
                "KerasTrial without one; pass a trial from tuner.oracle or tuner.study"
            )
        name = frozen.user_attrs.get("model_file")
        path = self.models.folder / str(name) if name else None
        if path is None or not path.is_file():
            raise ModelNotKeptError(
                f"the model of trial {frozen.number} is not on disk: only the best "
                f"keep_models={self.models.keep} trained models are kept in {self.models.folder}; "
                "raise keep_models=, or rebuild it with "
                "tuner.hypermodel.build(tuner.get_best_hyperparameters()[0]) and train it"
            )
        self.keras.backend.clear_session()
        model = self._build(hyperparameters_from(frozen.params))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built and model.built:
            optimizer.build(model.trainable_variables)  # so its saved state loads too
        try:
            model.load_weights(path)
        except ValueError:  # a model that is only built on its first call: load it whole
            model = self.keras.saving.load_model(path)
        return model

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the hyperparameters searched: those the study has seen, and those
        `build(hp)` asks for with default values."""
        hp = HyperParameters()
        if self.hyperparameters is not None:
            for entry in self.hyperparameters.space:
                hp.space.add(entry.param, entry.conditions)
        for entry in self.study.space:
            if entry.param.name not in hp.space:
                hp.space.add(entry.param, entry.conditions)
        probe = TrialHyperParameters(
            HyperParameters(), self.hyperparameters, self.tune_new_entries, self.allow_new_entries
        )
        if self.hypermodel is not None:  # a run_trial override draws its values itself
            self.keras.backend.clear_session()
            self.hypermodel.build(probe)
            self.keras.backend.clear_session()
        for entry in probe.space:
            if entry.param.name not in hp.space:
                hp.space.add(entry.param, entry.conditions)
        print(space_summary(hp))

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best `num_trials` trials with their hyperparameters and scores
        (with several objectives: of the Pareto front, each objective's value)."""
        where = f"{self.project_dir} (study {self.study.name!r} in {self.storage})"
        print(results_text(self.oracle, where, num_trials))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(project={str(self.project_dir)!r}, "
            f"objective={', '.join(o.name for o in self.objectives)!r}, "
            f"max_trials={self.max_trials!r})"
        )
