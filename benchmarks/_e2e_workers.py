"""The peer libraries' worker processes for benchmarks/end_to_end.py, and the plain PyTorch
training they share.

Each peer trains the seed example's MLP (64 -> hidden1 -> dropout1 -> hidden2 -> dropout2 ->
10, Adam, batch 64) the way its own user would: a plain PyTorch loop for Optuna and Ray Tune,
Keras 3 on the torch backend for Keras Tuner. The data are tunelab's `load_digits()` arrays,
saved once by the parent as .npz (E2E_DATA), so every method trains on the same split.

Every worker appends one JSON line per finished trial to E2E_EVENTS (time.time(), the
trial's score, whether it trained at full budget or was stopped early), and one "ready"
line once its imports and set-up are done; the parent reads them to time the run.
Run as `python benchmarks/_e2e_workers.py METHOD ROLE SEED DIR` (the parent does).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# The epochs cap every method shares (Hyperband / ASHA: max resource 9, factor 3: rungs at
# 1, 3 and 9 epochs). 27 would be closer to the multi-fidelity benchmarks, but on the shared
# 2-core machine a 27-epoch trial takes ~20 s and 40 timed runs would not fit the time given.
EPOCHS = 9
BATCH = 64
LEARNING_RATES = [1e-4, 1e-3, 1e-2]
STARTED = time.time()  # before any heavy import: start-up as the user pays it


def log_event(kind: str, **fields: Any) -> None:
    """Append one event line (O_APPEND: lines from several processes do not interleave)."""
    path = os.environ.get("E2E_EVENTS")
    if not path:
        return
    line = json.dumps({"t": time.time(), "kind": kind, "pid": os.getpid(), **fields}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def load_arrays() -> dict[str, Any]:
    import numpy as np

    with np.load(os.environ["E2E_DATA"]) as z:
        return {k: z[k] for k in z.files}


# -- plain PyTorch (Optuna, Ray Tune, the target run) -------------------------------------------


def make_mlp(hidden1: int, dropout1: float, hidden2: int, dropout2: float) -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Linear(64, hidden1),
        nn.ReLU(),
        nn.Dropout(dropout1),
        nn.Linear(hidden1, hidden2),
        nn.ReLU(),
        nn.Dropout(dropout2),
        nn.Linear(hidden2, 10),
    )


class TorchRun:
    """One trial's model, optimizer and data: `epoch()` trains one epoch and returns the
    validation accuracy and loss."""

    def __init__(self, params: dict[str, Any], arrays: dict[str, Any], seed: int) -> None:
        import torch

        torch.manual_seed(seed)
        self.torch = torch
        self.model = make_mlp(
            int(params["hidden1"]),
            float(params["dropout1"]),
            int(params["hidden2"]),
            float(params["dropout2"]),
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=float(params["learning_rate"]))
        self.x = torch.as_tensor(arrays["x_train"])
        self.y = torch.as_tensor(arrays["y_train"]).long()
        self.xv = torch.as_tensor(arrays["x_val"])
        self.yv = torch.as_tensor(arrays["y_val"]).long()
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self) -> tuple[float, float]:
        torch, model = self.torch, self.model
        loss_fn = torch.nn.functional.cross_entropy
        model.train()
        perm = torch.randperm(len(self.x), generator=self.gen)
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            self.opt.zero_grad()
            loss_fn(model(self.x[idx]), self.y[idx]).backward()
            self.opt.step()
        model.eval()
        with torch.no_grad():
            out = model(self.xv)
            acc = float((out.argmax(1) == self.yv).float().mean())
            return acc, float(loss_fn(out, self.yv))


# -- Optuna 5: TPE + HyperbandPruner, two processes on one journal file --------------------------


def optuna_worker(seed: int, worker: int, root: Path) -> None:
    import optuna
    import torch

    torch.set_num_threads(1)
    arrays = load_arrays()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    backend = optuna.storages.journal.JournalFileBackend(str(root / "optuna.journal"))
    study = optuna.create_study(
        study_name="e2e",
        storage=optuna.storages.JournalStorage(backend),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=1000 * seed + worker),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS),
        load_if_exists=True,
    )

    def objective(trial: Any) -> float:
        log_event("start")
        cpu = time.process_time()
        params = {
            "hidden1": trial.suggest_int("hidden1", 32, 512, step=32),
            "dropout1": trial.suggest_float("dropout1", 0.1, 0.5, step=0.1),
            "hidden2": trial.suggest_int("hidden2", 16, 128, step=16),
            "dropout2": trial.suggest_float("dropout2", 0.1, 0.5, step=0.1),
            "learning_rate": trial.suggest_categorical("learning_rate", LEARNING_RATES),
        }
        run = TorchRun(params, arrays, seed=1000 * seed + 10 * trial.number + worker)
        acc, best = 0.0, 0.0
        for epoch in range(1, EPOCHS + 1):
            acc, _ = run.epoch()
            best = max(best, acc)
            trial.report(acc, epoch)
            if trial.should_prune():
                cpu = time.process_time() - cpu
                log_event("trial", value=acc, epochs=epoch, full=False, cpu=cpu)
                raise optuna.TrialPruned()
        log_event("trial", value=best, epochs=EPOCHS, full=True, cpu=time.process_time() - cpu)
        return best  # the best epoch's, as a user keeping the best checkpoint reads it

    log_event("ready", since_start=time.time() - STARTED)
    study.optimize(objective, n_trials=100_000)


# -- Keras Tuner 1.4.8 Hyperband, Keras 3 on torch; distributed: a chief oracle, two workers -----


def keras_worker(seed: int, role: str, root: Path) -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ["KERASTUNER_TUNER_ID"] = role  # "chief" serves the oracle, "tuner0/1" train
    import torch

    torch.set_num_threads(1)
    import keras
    import keras_tuner

    arrays = load_arrays()
    keras.utils.set_random_seed(1000 * seed + (0 if role == "chief" else 1 + int(role[-1])))

    class Digits(keras_tuner.HyperModel):  # type: ignore[misc]
        def build(self, hp: Any) -> Any:
            model = keras.Sequential(
                [
                    keras.Input(shape=(64,)),
                    keras.layers.Dense(hp.Int("hidden1", 32, 512, step=32), activation="relu"),
                    keras.layers.Dropout(hp.Float("dropout1", 0.1, 0.5, step=0.1)),
                    keras.layers.Dense(hp.Int("hidden2", 16, 128, step=16), activation="relu"),
                    keras.layers.Dropout(hp.Float("dropout2", 0.1, 0.5, step=0.1)),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", LEARNING_RATES)),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            cpu = time.process_time()
            history = model.fit(*args, **kwargs)  # KT's default fit, observed
            cpu = time.process_time() - cpu
            accs = history.history["val_accuracy"]
            # KT scores a trial by its best epoch; a trial "trained at full budget" is one
            # whose schedule ran to the epochs cap (Hyperband's last rung).
            full = kwargs["epochs"] == EPOCHS
            log_event("trial", value=max(accs), epochs=len(accs), full=full, cpu=cpu)
            return history

    tuner = keras_tuner.Hyperband(
        Digits(),
        objective="val_accuracy",
        max_epochs=EPOCHS,
        factor=3,
        hyperband_iterations=1000,  # runs until the parent stops it
        seed=seed,
        directory=str(root / "kt"),
        project_name="e2e",
    )
    log_event("ready", role=role, since_start=time.time() - STARTED)
    tuner.search(
        arrays["x_train"],
        arrays["y_train"],
        validation_data=(arrays["x_val"], arrays["y_val"]),
        batch_size=BATCH,
        verbose=0,
    )


# -- Ray Tune ASHA: local Ray, 2 CPUs, 2 concurrent trials ---------------------------------------


def ray_driver(seed: int, root: Path) -> None:
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    import ray
    from ray import tune

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")

    def trainable(config: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(1)
        os.environ.update(E2E_EVENTS=config["events"], E2E_DATA=config["data"])
        cpu = time.process_time()
        run = TorchRun(config, load_arrays(), seed=int(config["seed"]) + os.getpid())
        best = 0.0
        for epoch in range(1, EPOCHS + 1):
            acc, _ = run.epoch()
            best = max(best, acc)
            if epoch == EPOCHS:  # scored by its best epoch, as Ray's best_result(scope="all")
                cpu = time.process_time() - cpu
                log_event("trial", value=best, epochs=EPOCHS, full=True, cpu=cpu)
            tune.report({"val_accuracy": acc})

    space = {
        "hidden1": tune.qrandint(32, 512, 32),
        "dropout1": tune.quniform(0.1, 0.5, 0.1),
        "hidden2": tune.qrandint(16, 128, 16),
        "dropout2": tune.quniform(0.1, 0.5, 0.1),
        "learning_rate": tune.choice(LEARNING_RATES),
        "seed": 1000 * seed,
        "events": os.environ["E2E_EVENTS"],  # Ray's workers may not see the driver's env
        "data": os.environ["E2E_DATA"],
    }
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            scheduler=ASHAScheduler(max_t=EPOCHS, grace_period=1, reduction_factor=3),
            search_alg=BasicVariantGenerator(random_state=seed),
            num_samples=100_000,
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(storage_path=str(root / "ray"), name="e2e", verbose=0),
    )
    log_event("ready", since_start=time.time() - STARTED)
    tuner.fit()


def main(argv: list[str]) -> None:
    method, role, seed, root = argv[0], argv[1], int(argv[2]), Path(argv[3])
    if method == "optuna":
        optuna_worker(seed, int(role), root)
    elif method == "keras":
        keras_worker(seed, role, root)
    elif method == "ray":
        ray_driver(seed, root)
    else:
        raise SystemExit(f"unknown method {method!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
