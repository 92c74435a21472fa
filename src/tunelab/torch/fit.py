"""fit(): a correct, efficient training run whose every standard knob is tunable.

It checks everything a run needs before the first step (loop.py holds the loop), reads the training hyperparameters from `trial.hp` (see knobs.py), trains on the
chosen device and precision, reports the task's training and validation metrics (see
tasks.py), the user's own metrics, the learning rate, the epoch's seconds and the training
seconds so far at every epoch, and the model's trainable parameter count at step 0, so
"accuracy against size" or "against training time" needs no user code; it stops early on
validation loss (restoring the best weights), obeys the study's pruning decisions, and
stops a diverging trial at once: NaN/inf or an exploding loss ends it as PRUNED with the
reason "diverged …", so no epochs are wasted and the partial curve stays visible. Running
out of device memory ends that trial alone (PRUNED, out of memory), a bad observation for
the sampler rather than a crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from tunelab.errors import TrialFailed, TrialOutOfMemory
from tunelab.torch.batches import Batches, InMemory, in_order
from tunelab.torch.checkpoint import load_checkpoint, save_checkpoint
from tunelab.torch.config import TrainConfig, read_config
from tunelab.torch.data import Data
from tunelab.torch.device import (
    MemoryMeter,
    is_out_of_memory,
    release_memory,
    resolve_device,
    resolve_precision,
)
from tunelab.torch.errors import TrainingError
from tunelab.torch.kept import check_keep_models, prepare_folder, save_best_weights
from tunelab.torch.loop import Run, UserMetric
from tunelab.torch.models import count_parameters
from tunelab.torch.pipelines import Datasets, batches_for, fixed_batch_size
from tunelab.torch.tasks import LossFn, Task
from tunelab.trial.kept import LAST_FILE

# Costs of the trial, reported too: objectives or constraints of a study of several metrics.
COSTS = ("n_parameters", "train_seconds")
MEMORY = "max_memory_mb"  # peak device memory, on CUDA


def fit(
    model: nn.Module,
    data: Data | Datasets | tuple[DataLoader[Any], DataLoader[Any]],
    trial: Any,
    *,
    loss_fn: str | LossFn | None = None,
    seed: int | None = None,
    device: str | torch.device | None = "auto",
    amp: str | bool | None = "auto",
    task: str | None = None,
    metrics: Mapping[str, UserMetric] | None = None,
    keep_models: int = 3,
    artifacts: str | os.PathLike[str] | None = None,
    checkpoint: str | None = None,
    resume_from: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> float | dict[str, float]:
    """Train `model` on `data` with the trial's training hyperparameters and return the
    study's metric at the best epoch (by validation loss), whose weights are restored.

    `data` is in-memory `Data` (the fast path), `Datasets(train=..., val=...)` (DataLoaders
    built each trial with its batch size) or a `(train_loader, val_loader)` pair, whose
    batch size is then fixed (see pipelines.py).

    `device` is "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda", "cuda:1" or "mps";
    `amp` is "auto" (mixed precision on CUDA), "off", "bf16" or "fp16". `loss_fn` is a
    function loss(outputs, targets) or the name of one ("cross_entropy", "bce", "mse",
    "mae", "huber"); the task's usual loss by default. `metrics` maps names to functions
    fn(outputs, targets) -> float, computed on the whole validation set each epoch and
    reported under their names, so a study can optimise them.

    The best epoch's weights of the study's best `keep_models` trials are kept as
    safetensors in the trial's artifact folder (under `artifacts`, else beside the SQLite
    file; see `load_best`); `checkpoint="last"` also saves the run's state after every
    epoch, and `resume_from` (that file or its trial folder) goes on from one. With
    `checkpoint="last"` the trial is resumable: under scheduler="freeze-thaw" it pauses
    at the end of each slice of epochs, and a resumed trial goes on from its own
    checkpoint (`trial.resume_from`) without being told.

    In a study of several metrics it returns a dict instead: the best epoch's metrics with
    `n_parameters` and the whole training's `train_seconds`, so it holds every objective."""
    where = resolve_device(device)
    precision = resolve_precision(amp, where)
    source: Batches
    if isinstance(data, Data):
        source, kind = InMemory(data, where), task_of(data, task)
    else:
        source, kind = batches_for(data, where, task)
        if source.fixed_batch_size is not None:
            overrides = fixed_batch_size(overrides, source.fixed_batch_size)
    user_metrics = _check_user_metrics(metrics, kind)
    config = read_config(trial.hp, source, overrides)
    loss = kind.loss(loss_fn)
    wanted = tuple(getattr(trial, "metrics", (getattr(trial, "metric", "val_accuracy"),)))
    check_metrics(wanted, kind, user_metrics, where)
    check_setup(model.to(where), source, config, kind)
    keep = check_keep_models(keep_models)
    if checkpoint not in (None, "last"):
        raise TrainingError(
            f"checkpoint must be 'last' (save the run's state after every epoch) or None, "
            f"but got checkpoint={checkpoint!r}"
        )
    folder = prepare_folder(trial, artifacts) if keep or checkpoint else None
    n_parameters = count_parameters(model)
    trial.set_user_attr("n_parameters", n_parameters)
    generator = torch.Generator().manual_seed(trial.seed if seed is None else seed)
    run = Run(model, source, trial, config, kind, loss, precision, where, user_metrics)
    if resume_from is None and checkpoint == "last":
        resume_from = getattr(trial, "resume_from", None)  # a paused trial going on
        if resume_from is not None and not Path(resume_from).is_file():
            raise TrialFailed(
                f"trial {trial.number} was paused with its checkpoint at {resume_from!r}, "
                "which is gone, so it cannot go on; keep trial folders until the study ends"
            )
    if resume_from is not None:
        run.load_state_dict(load_checkpoint(resume_from, map_location=where), generator)
    save = None
    if checkpoint == "last" and folder is not None:
        if callable(getattr(trial, "set_resumable", None)):  # freeze-thaw may pause it
            trial.set_resumable(folder / LAST_FILE)

        def save(state: dict[str, Any]) -> None:
            save_checkpoint(folder, state, trial=trial)

    meter = MemoryMeter(where)
    out_of_memory = False
    try:
        best = run.train(generator, n_parameters, save)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        out_of_memory = True
    if out_of_memory:  # raised here, outside the handler, so no frame keeps the tensors
        run.drop()
        release_memory(where)
        raise TrialOutOfMemory(
            f"out of memory at batch_size={config.batch_size} on {where}; a smaller batch "
            "size or model fits"
        )
    if keep and folder is not None:
        save_best_weights(trial, folder, model.state_dict(), keep, epoch=run.best_epoch)
    peak = meter.peak_mb()
    result = {**best, "n_parameters": float(n_parameters), "train_seconds": run.seconds}
    if peak is not None:
        trial.set_user_attr(MEMORY, peak)
        result[MEMORY] = peak
    if len(wanted) == 1:
        return float(result[wanted[0]])
    return result


def task_of(data: Data, task: str | None) -> Task:
    """The task `data` was built for; a `task=` that disagrees is a mistake, named."""
    if task is not None and task != data.task:
        raise TrainingError(
            f"fit(task={task!r}) but the data was built for task={data.task!r}; build it "
            f"with from_arrays(x, y, task={task!r})"
        )
    return Task(data.task, data.n_outputs, flat_target=data.y_train.ndim == 1)


def _check_user_metrics(
    metrics: Mapping[str, UserMetric] | None, task: Task
) -> dict[str, UserMetric]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TrainingError(
            f"metrics must map names to functions fn(outputs, targets) -> float, but got "
            f"{metrics!r}; e.g. metrics={{'f1': f1}}"
        )
    taken = {*task.reported, *COSTS, MEMORY, "lr", "epoch_seconds"}
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name in taken:
            raise TrainingError(
                f"metric name {name!r} is taken or empty; fit() reports {', '.join(sorted(taken))} "
                "itself: give your metric another name"
            )
        if not callable(fn):
            raise TrainingError(
                f"metrics[{name!r}] must be a function fn(outputs, targets) -> float, but got "
                f"{fn!r}"
            )
    return dict(metrics)


def check_metrics(
    wanted: Sequence[str], task: Task, user: Mapping[str, UserMetric], device: torch.device
) -> None:
    """Every metric the study optimises is one fit() returns, or one clear line."""
    known = (*task.reported, *COSTS, *user, *((MEMORY,) if device.type == "cuda" else ()))
    for metric in wanted:
        if metric not in known:
            where = " (measured on CUDA only)" if metric == MEMORY else ""
            raise TrainingError(
                f"the study's metric {metric!r}{where} is not one fit() returns for this "
                f"{task.name} task; create the study with metrics from {', '.join(known)}, "
                "pass metrics={name: fn} to fit(), or return your own metric from the objective"
            )


def check_setup(model: nn.Module, source: Batches, config: TrainConfig, task: Task) -> None:
    """Fail before training, with the fix in the message."""
    if config.epochs < 1 or config.patience < 1:
        raise TrainingError(
            f"epochs and patience must be >= 1, but got epochs={config.epochs}, "
            f"patience={config.patience}; train at least one epoch"
        )
    model.eval()
    with torch.inference_mode():
        out = model(source.probe())
    task.check_outputs(out)


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[float, float]:
    """Validation loss and accuracy of a classifier on in-memory tensors."""
    device = next(model.parameters()).device
    scorer = Task("classification", None).scorer(device)
    model.eval()
    with torch.inference_mode():
        for xb, yb in in_order(x.to(device), y.to(device)):
            out = model(xb)
            scorer.add(out, yb, loss_fn(out, yb))
    result = scorer.results()
    return result["val_loss"], result["val_accuracy"]
