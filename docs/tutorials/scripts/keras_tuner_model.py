"""The Keras Tuner tutorial's model (keras.io, "Introduction to the Keras Tuner"), its
`model_builder` and its Hyperband search unchanged but for the import line, on
scikit-learn's 8x8 digits in place of Fashion-MNIST (no download); the search's output and
`tunelab show` afterwards are saved for the page.

    PYTHONPATH=src python docs/tutorials/scripts/keras_tuner_model.py
"""

from __future__ import annotations

import contextlib
import io
import os

import _common

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tunelab.keras as kt  # was: import keras_tuner as kt


def model_builder(hp):  # type: ignore[no-untyped-def]  # the tutorial's, unchanged
    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=(8, 8)))  # (28, 28) for Fashion-MNIST

    # Tune the number of units in the first Dense layer
    # Choose an optimal value between 32-512
    hp_units = hp.Int("units", min_value=32, max_value=512, step=32)
    model.add(keras.layers.Dense(units=hp_units, activation="relu"))
    model.add(keras.layers.Dense(10))

    # Tune the learning rate for the optimizer
    # Choose an optimal value from 0.01, 0.001, or 0.0001
    hp_learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    return model


def main() -> None:
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    img_train, img_test, label_train, label_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    storage = _common.fresh_storage("keras")
    tuner = kt.Hyperband(
        model_builder,
        objective="val_accuracy",
        max_epochs=10,
        factor=3,
        directory=str(_common.WORK / "keras"),
        project_name="intro_to_kt",
        overwrite=True,
        storage=storage,
        seed=0,  # not in the tutorial: makes this page's numbers reproducible
    )
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tuner.search(
            img_train, label_train, epochs=50, validation_split=0.2, callbacks=[stop_early]
        )
    best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]
    summary = (
        f"The hyperparameter search is complete. The optimal number of units in the first\n"
        f"densely-connected layer is {best_hps.get('units')} and the optimal learning rate "
        f"for the optimizer is {best_hps.get('learning_rate')}.\n"
    )
    model = tuner.hypermodel.build(best_hps)
    history = model.fit(img_train, label_train, epochs=50, validation_split=0.2, verbose=0)
    val_acc_per_epoch = history.history["val_accuracy"]
    best_epoch = val_acc_per_epoch.index(max(val_acc_per_epoch)) + 1
    hypermodel = tuner.hypermodel.build(best_hps)
    hypermodel.fit(img_train, label_train, epochs=best_epoch, validation_split=0.2, verbose=0)
    loss, acc = hypermodel.evaluate(img_test, label_test, verbose=0)
    trials = len(tuner.oracle.trials)
    summary += f"Best epoch: {best_epoch}\n[test loss, test accuracy]: [{loss:.4f}, {acc:.4f}]\n"
    summary += f"trials: {trials}\n"
    print(summary)
    _common.write("keras-summary.txt", summary)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Trial ")]
    _common.write("keras-search-trials.txt", "\n".join(lines) + "\n")
    study = tuner.study.name
    _common.cli("studies", "--storage", storage, name="keras-studies.txt")
    _common.cli("show", study, "--storage", storage, "--effects", name="keras-effects.txt")


if __name__ == "__main__":
    with _common.Clock():
        main()
