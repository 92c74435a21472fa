"""The seed tutorial's build_model(hp), written as the tutorial writes it for Keras
Tuner, with the input adapted to the 64 features of scikit-learn's digits. Only the
import of `kt` differs from the tutorial. Also imported by the subprocess scripts."""

from __future__ import annotations

import numpy as np

import tunelab.keras as kt  # the tutorial: import keras_tuner as kt

# isort: split
# keras after tunelab.keras, which selects the torch backend (KERAS_BACKEND) if none is set
import keras
from keras.layers import Dense, Dropout
from keras.optimizers import Adam

__all__ = ["build_model", "kt", "load_digits_split"]


def build_model(hp):  # type: ignore[no-untyped-def]
    model = keras.Sequential()
    model.add(keras.Input(shape=(64,)))
    model.add(Dense(hp.Int("hidden1", min_value=32, max_value=512, step=32), activation="relu"))
    model.add(Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)))
    model.add(Dense(hp.Int("hidden2", min_value=16, max_value=128, step=16), activation="relu"))
    model.add(Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)))
    model.add(Dense(10, activation="softmax"))
    hp_learning_rate = hp.Choice("learning_rate", values=[0.0001, 0.001, 0.01])
    model.compile(
        optimizer=Adam(learning_rate=hp_learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train, y_train, x_val, y_val: digits scaled to [0, 1], one-hot, stratified 80/20."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    onehot = np.eye(10, dtype="float32")[y]
    x_tr, x_val, y_tr, y_val = train_test_split(
        x, onehot, test_size=0.2, random_state=0, stratify=y
    )
    return x_tr, y_tr, x_val, y_val
