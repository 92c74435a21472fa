"""The TrainerCallback that connects a Hugging Face `Trainer` to a tunelab trial: it reports
every evaluation's metrics, asks the study whether to go on, and stops training through
the Trainer's own control flow when the trial should be pruned. Importing this module
imports transformers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab import ConfigurationError, Trial, TrialPruned
from tunelab._extras import require
from tunelab._scalars import scalars

transformers = require("transformers", extra="transformers", user="tunelab.huggingface")

STEPS = ("global_step", "epoch")


class TunelabCallback(transformers.TrainerCallback):  # type: ignore[name-defined]
    """Reports each evaluation to `trial` and stops the Trainer when the study prunes it.

    `monitor` is the metric the study judges, named as the Trainer logs it (`eval_loss`,
    or `eval_<name>` for what `compute_metrics` returns); it defaults to the study's
    metric. When the two names differ, the monitored value is also reported under the
    study's metric name, so its scheduler sees it. `step` is what a report's step counts:
    "global_step" (optimizer steps, the Trainer's own x-axis) or "epoch" (whole epochs;
    needs `eval_strategy="epoch"`). As everywhere in tunelab, a report at step s means
    s + 1 of them spent: an evaluation at global step 500 is reported at step 499, so
    `ASHAScheduler(min_resource=100)` first judges after 100 optimizer steps.

    A pruned trial's Trainer stops cleanly (`control.should_training_stop`); call
    `check_pruned()` after `trainer.train()` to end the trial PRUNED with its reports."""

    def __init__(self, trial: Trial, monitor: str | None = None, step: str = "global_step") -> None:
        self.check_step(step)
        if monitor is not None and not (isinstance(monitor, str) and monitor):
            raise ConfigurationError(
                f"monitor must be a metric name such as 'eval_loss', but got {monitor!r}"
            )
        self.trial = trial
        self.monitor = monitor or trial.metric
        self.step = step
        self.metrics: dict[str, float] = {}  # the last evaluation's (every dataset's)
        self.prune_reason: str | None = None
        self._evaluated_step: int | None = None  # the step `metrics` belong to
        self._reported_step: int | None = None

    @staticmethod
    def check_step(step: str) -> None:
        """Raise ConfigurationError unless `step` is one a report can count."""
        if step not in STEPS:
            raise ConfigurationError(
                f"step must be one of {list(STEPS)}, but got step={step!r}; "
                "use 'global_step' unless every evaluation falls on a whole epoch"
            )

    @property
    def pruned(self) -> bool:
        """Whether the study stopped this trial."""
        return self.prune_reason is not None

    def check_pruned(self) -> None:
        """Raise TrialPruned when the study stopped this trial, so that it ends PRUNED."""
        if self.prune_reason is not None:
            raise TrialPruned(self.prune_reason)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Check that the Trainer evaluates, and by epoch when `step="epoch"` (ConfigurationError otherwise)."""
        strategy = str(getattr(args.eval_strategy, "value", args.eval_strategy))
        if strategy == "no":
            raise ConfigurationError(
                "TunelabCallback has nothing to report: the Trainer never evaluates "
                "(eval_strategy='no'); pass TrainingArguments(eval_strategy='epoch') (or "
                "'steps') and an eval_dataset= to the Trainer"
            )
        if self.step == "epoch" and strategy != "epoch":
            raise ConfigurationError(
                f"TunelabCallback(step='epoch') needs TrainingArguments(eval_strategy='epoch'), "
                f"but the Trainer evaluates by {strategy!r}; use step='global_step'"
            )

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Check that the last evaluation, now over, logged the monitored metric."""
        self.check_monitored()  # every dataset of the last evaluation has been evaluated

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Check that the last evaluation logged the monitored metric."""
        self.check_monitored()

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Report the evaluation's metrics to the trial once the monitored one is in, and stop training when the study prunes it."""
        if self.pruned:
            return
        spent = round(state.epoch or 0) if self.step == "epoch" else int(state.global_step)
        step = spent - 1  # tunelab's steps: a report at step s means s + 1 units spent
        if step != self._evaluated_step:
            self._evaluated_step, self.metrics = step, {}
        logged = scalars(metrics)
        if self.monitor != self.trial.metric and self.trial.metric in logged:
            raise ConfigurationError(
                f"the study judges {self.trial.metric!r}, which the Trainer logs, but "
                f"monitor={self.monitor!r} would be reported under that name; leave monitor= "
                f"out, or create the study with metric={self.monitor!r}"
            )
        self.metrics.update(logged)  # a dict of eval datasets: one call each
        if self.monitor not in self.metrics:
            return  # judged once this evaluation is over: on_step_begin / on_train_end
        if self.monitor != self.trial.metric:
            self.metrics[self.trial.metric] = self.metrics[self.monitor]
        if step < 0 or (self._reported_step is not None and step <= self._reported_step):
            return  # before training, or reported: evaluate() after train(), another dataset
        self.trial.report(step, **self.metrics)
        self._reported_step = step
        if self.trial.should_prune():
            self.prune_reason = f"stopped by the study's scheduler at {self.step} {spent}"
            control.should_training_stop = True

    def check_monitored(self) -> None:
        """Raise ConfigurationError when the last evaluation, over, lacked the monitor."""
        if self._evaluated_step is None or self.monitor in self.metrics:
            return
        logged = sorted(k for k in self.metrics if k != "epoch")
        hint = ""
        if f"eval_{self.monitor}" in self.metrics:
            hint = f" (the Trainer prefixes eval_: monitor='eval_{self.monitor}')"
        raise ConfigurationError(
            f"monitor {self.monitor!r} is not among the metrics the Trainer logged at "
            f"{self.step} {self._evaluated_step + 1}: {logged}; pass one of them as monitor="
            f"{hint}, or return it from compute_metrics"
        )
