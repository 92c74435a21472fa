"""fit(): every knob changes training as it should, on real models and real data."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.space import Float
from tunelab.torch.data import Data, load_digits
from tunelab.torch.fit import TrainingError, fit
from tunelab.torch.schedules import Schedule

FIXED = dict(
    optimizer="adam",
    learning_rate=1e-2,
    batch_size=64,
    lr_schedule="constant",
    weight_decay=0.0,
    epochs=4,
)


@pytest.fixture(scope="module")
def digits() -> Data:
    return load_digits()


def small(data: Data, n: int = 400) -> Data:
    return Data(data.x_train[:n], data.y_train[:n], data.x_val, data.y_val, data.num_classes)


def mlp(hidden: int = 64, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def run(
    data: Data,
    objective,
    n_trials: int = 1,
    metric: str = "val_accuracy",
    direction: str = "maximize",
) -> tunelab.Study:
    study = tunelab.create_study(
        "fit", storage=":memory:", metric=metric, direction=direction, seed=0
    )
    study.optimize(objective, n_trials=n_trials, catch=())
    return study


def test_fit_trains_reports_every_epoch_and_returns_the_best_epochs_metric(digits):
    study = run(digits, lambda t: fit(mlp(), digits, t, **FIXED))
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    assert sorted(trial.intermediate("val_accuracy")) == [0, 1, 2, 3]
    for key in ("train_loss", "train_accuracy", "val_loss", "lr", "epoch_seconds"):
        assert len(trial.intermediate(key)) == 4
    val_loss = trial.intermediate("val_loss")
    best_epoch = min(val_loss, key=val_loss.get)
    assert trial.user_attrs["best_epoch"] == best_epoch
    assert trial.value == trial.intermediate("val_accuracy")[best_epoch] > 0.9
    assert trial.user_attrs["n_parameters"] == 64 * 64 + 64 + 64 * 10 + 10


def test_every_knob_is_recorded_with_the_trial(digits):
    study = run(digits, lambda t: fit(mlp(), digits, t, epochs=1))
    params = study.trials[0].params
    for name in (
        "optimizer",
        "learning_rate",
        "batch_size",
        "lr_schedule",
        "weight_decay",
        "epochs",
        "patience",
        "l1",
        "l2",
        "grad_clip",
        "lr_scaling",
    ):
        assert name in params
    assert params["epochs"] == 1
    assert 1e-4 <= params["learning_rate"] <= 1e-1
    assert ("momentum" in params) == (params["optimizer"] in ("sgd", "rmsprop"))


def test_overrides_fix_choose_or_redefine_a_knob(digits):
    def objective(t):
        return fit(
            mlp(),
            digits,
            t,
            epochs=1,
            optimizer=["sgd"],
            batch_size=128,
            learning_rate=Float("anything", 0.05, 0.06),
            momentum=0.8,
        )

    params = run(digits, objective).trials[0].params
    assert params["optimizer"] == "sgd" and params["batch_size"] == 128
    assert 0.05 <= params["learning_rate"] <= 0.06 and params["momentum"] == 0.8


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop"])
def test_each_optimizer_learns(digits, optimizer):
    lr = {"adam": 1e-2, "adamw": 1e-2, "sgd": 5e-2, "rmsprop": 1e-3}[optimizer]
    settings = {**FIXED, "optimizer": optimizer, "learning_rate": lr, "momentum": 0.9}
    trial = run(digits, lambda t: fit(mlp(), digits, t, **settings)).trials[0]
    losses = trial.intermediate("train_loss")
    assert losses[3] < losses[0] * 0.7
    assert trial.value > 0.85


def test_the_reported_learning_rate_follows_each_schedule(digits):
    data = small(digits, 256)  # 4 batches of 64 per epoch
    for kind, extra in [
        ("cosine", {}),
        ("step", {"step_size": 2, "step_gamma": 0.5}),
        ("exponential", {"exp_gamma": 0.8}),
        ("warmup_cosine", {"warmup_epochs": 2}),
    ]:
        settings = {**FIXED, "epochs": 6, "patience": 10, "lr_schedule": kind, **extra}
        trial = run(data, lambda t, s=settings: fit(mlp(), data, t, **s)).trials[0]
        schedule = Schedule(
            kind, epochs=6, step_size=2, step_gamma=0.5, exp_gamma=0.8, warmup_epochs=2
        )
        for epoch, lr in trial.intermediate("lr").items():
            # the reported rate is the last batch's: t = epoch + 3/4
            assert lr == pytest.approx(1e-2 * schedule.multiplier(epoch + 0.75)), (kind, epoch)


def test_cosine_follows_the_formula_and_step_decay_steps():
    s = Schedule("cosine", epochs=10)
    for t in (0.0, 2.5, 5.0, 7.25, 10.0):
        assert s.multiplier(t) == pytest.approx(0.5 * (1 + math.cos(math.pi * t / 10)))
    step = Schedule("step", epochs=10, step_size=3, step_gamma=0.1)
    assert [step.multiplier(e) for e in (0, 2.9, 3, 5.5, 6)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01]
    )
    warm = Schedule("warmup_cosine", epochs=10, warmup_epochs=2)
    assert warm.multiplier(1.0) == pytest.approx(0.5)
    assert warm.multiplier(2.0) == pytest.approx(1.0)
    assert warm.multiplier(10.0) == pytest.approx(0.0)


def _weights(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters() if p.ndim == 2])


def test_l1_drives_weights_toward_zero_more_than_none(digits):
    models = {}

    def objective(t, l1):
        models[l1] = mlp(seed=1)
        return fit(models[l1], digits, t, **{**FIXED, "epochs": 6, "patience": 10, "l1": l1})

    for l1 in (0.0, 1e-3):
        run(digits, lambda t, l1=l1: objective(t, l1))
    near_zero = {k: float((_weights(m).abs() < 1e-3).float().mean()) for k, m in models.items()}
    assert near_zero[1e-3] > 3 * near_zero[0.0]
    assert _weights(models[1e-3]).abs().sum() < 0.5 * _weights(models[0.0]).abs().sum()


@pytest.mark.parametrize("knob", ["l2", "weight_decay"])
def test_l2_and_weight_decay_shrink_the_weights(digits, knob):
    norms = {}

    def objective(t, strength):
        model = mlp(seed=2)
        out = fit(
            model,
            digits,
            t,
            **{
                **FIXED,
                "epochs": 6,
                "patience": 10,
                "optimizer": "sgd",
                "learning_rate": 0.1,
                "momentum": 0.9,
                knob: strength,
            },
        )
        norms[strength] = float(_weights(model).norm())
        return out

    for strength in (0.0, 1e-2):
        run(digits, lambda t, s=strength: objective(t, s))
    assert norms[1e-2] < 0.8 * norms[0.0]


def test_gradient_clipping_bounds_each_step(digits):
    data = small(digits, 256)
    moved = {}

    def objective(t, clip):
        model = mlp(seed=3)
        before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
        out = fit(
            model,
            data,
            t,
            **{
                **FIXED,
                "epochs": 1,
                "optimizer": "sgd",
                "learning_rate": 1.0,
                "momentum": 0.0,
                "grad_clip": clip,
            },
        )
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        moved[clip] = float((after - before).norm())
        return out

    run(data, lambda t: objective(t, 0.01))
    assert moved[0.01] <= 4 * 1.0 * 0.01 + 1e-6  # 4 steps of at most lr * clip each


def test_early_stopping_stops_and_restores_the_best_weights(digits):
    data = small(digits, 60)  # tiny training set: a wide net overfits fast
    kept = {}

    def objective(t):
        kept["model"] = mlp(hidden=512, seed=4)
        return fit(
            kept["model"],
            data,
            t,
            optimizer="adam",
            learning_rate=3e-2,
            batch_size=32,
            lr_schedule="constant",
            weight_decay=0.0,
            epochs=40,
            patience=3,
        )

    study = run(data, objective, metric="val_loss", direction="minimize")
    trial = study.trials[0]
    val_loss = trial.intermediate("val_loss")
    assert len(val_loss) < 40  # stopped early
    best_epoch = trial.user_attrs["best_epoch"]
    assert len(val_loss) == best_epoch + 1 + 3  # patience epochs after the best
    assert trial.value == min(val_loss.values()) == val_loss[best_epoch]
    from tunelab.torch.fit import evaluate

    restored, _ = evaluate(kept["model"], data.x_val, data.y_val, nn.CrossEntropyLoss())
    assert restored == pytest.approx(val_loss[best_epoch], rel=1e-5)


@pytest.mark.parametrize("study_name", ["div", "a", "b"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_at_learning_rate_10_stops_the_trial_early(digits, optimizer, study_name):
    settings = {
        **FIXED,
        "optimizer": optimizer,
        "learning_rate": 10.0,
        "momentum": 0.9,
        "nesterov": False,
        "epochs": 20,
    }
    study = tunelab.create_study(study_name, storage=":memory:")  # names give other shuffles
    study.optimize(lambda t: fit(mlp(), digits, t, **settings), n_trials=1)
    trial = study.trials[0]
    assert trial.state is TrialState.PRUNED and trial.end_cause is tunelab.EndCause.DIVERGED
    assert trial.reason.startswith("diverged at epoch") and "too high" in trial.reason
    assert trial.user_attrs["diverged"] is True
    assert len(trial.reports) < 3


def test_a_sound_learning_rate_is_not_called_divergent(digits):
    for lr in (1e-3, 1e-2, 1e-1):
        trial = run(
            digits,
            lambda t, lr=lr: fit(mlp(), digits, t, **{**FIXED, "learning_rate": lr, "epochs": 8}),
        ).trials[0]
        assert trial.state is TrialState.COMPLETE, (lr, trial.reason)


def test_learning_rate_scales_with_the_batch_size_on_request(digits):
    def objective(t):
        return fit(
            mlp(),
            digits,
            t,
            **{
                **FIXED,
                "epochs": 1,
                "batch_size": 64,
                "lr_scaling": "linear",
                "base_learning_rate": 0.04,
            },
        )

    trial = run(digits, objective).trials[0]
    assert trial.params["base_learning_rate"] == 0.04 and "learning_rate" not in trial.params
    assert trial.intermediate("lr")[0] == pytest.approx(0.04 * 64 / 256)


def test_seeded_trials_repeat_exactly(digits):
    def curve():
        study = run(digits, lambda t: fit(mlp(), digits, t, epochs=3), n_trials=2)
        return [(dict(t.params), [r.metrics["val_loss"] for r in t.reports]) for t in study.trials]

    assert curve() == curve()


def test_augmentation_is_tunable_on_image_data():
    images = load_digits(images=True)

    def objective(t):
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        return fit(model, images, t, **{**FIXED, "epochs": 1}, augment="tune")

    study = run(images, objective, n_trials=4)
    assert all("augment" in t.params for t in study.trials)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


BAD = [
    (lambda: nn.Sequential(nn.Linear(64, 7)), {}, "needs 10 outputs"),
    (lambda: mlp(), {"batch_size": 4096}, "larger than the"),
    (lambda: mlp(), {"optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
    (lambda: mlp(), {"lr_schedule": "cyclic"}, "unknown lr_schedule 'cyclic'"),
    (lambda: mlp(), {"learning_rat": 0.1}, "unknown training hyperparameters ['learning_rat']"),
]


@pytest.mark.parametrize(("make", "settings", "message"), BAD, ids=[b[2] for b in BAD])
def test_bad_setups_fail_before_training_with_the_fix(digits, make, settings, message):
    study = tunelab.create_study("bad", storage=":memory:")
    with pytest.raises((TrainingError, ValueError, TypeError)) as info:
        study.optimize(
            lambda t: fit(make(), digits, t, **{**FIXED, **settings}), n_trials=1, catch=()
        )
    assert message in str(info.value)
    assert study.trials[0].reports == ()


def test_a_metric_fit_does_not_report_is_refused(digits):
    study = tunelab.create_study("m", storage=":memory:", metric="f1")
    with pytest.raises(TrainingError, match="metric 'f1' is not one fit"):
        study.optimize(lambda t: fit(mlp(), digits, t, **FIXED), n_trials=1, catch=())


def test_a_last_batch_of_one_joins_the_batch_before_so_batch_norm_trains(digits):
    data = small(digits, 65)  # batch 64 would leave a batch of one sample

    def objective(t):
        model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))
        return fit(model, data, t, **{**FIXED, "epochs": 2})

    trial = run(data, objective).trials[0]
    assert trial.state is TrialState.COMPLETE and len(trial.reports) == 2
