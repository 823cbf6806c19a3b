"""Builders for test_randomization.py, at module level so that joblib's worker processes can unpickle them.

``least_squares_net`` is a Keras network of Dense layers (inputs -> tanh hidden units -> 1) whose ``fit``
keeps the seeded random hidden layer and solves the output layer by least squares: a real network for
Olden's and Garson's methods, fitted in milliseconds, so a test can afford 100 fits.
"""

import functools

import numpy as np

HIDDEN = 12


def _least_squares_fit(model, X, y, **kwargs):
    W1, b1, _, _ = model.get_weights()
    hidden = np.tanh(np.asarray(X, np.float64) @ W1 + b1)
    design = np.c_[hidden, np.ones(len(hidden))]
    coef = np.linalg.lstsq(design, np.asarray(y, np.float64).reshape(len(hidden), -1), rcond=None)[0]
    model.set_weights([W1, b1, coef[:-1].astype(np.float32), coef[-1].astype(np.float32)])


def least_squares_net(n_features):
    import keras

    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(HIDDEN, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit = functools.partial(_least_squares_fit, model)
    return model


def adam_net(n_features):
    """A small network trained by Keras' own fit (Adam)."""
    import keras

    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def lstm_net(n_features, timesteps=5):
    import keras

    model = keras.Sequential([keras.Input((timesteps, n_features)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def three_inputs_one_unused(n=300, seed=0):
    """X (n, 4): y = 1.5 x1 - 1.0 x2 + 0.7 x3 + noise; x4 is not used."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = 1.5 * X[:, 0] - 1.0 * X[:, 1] + 0.7 * X[:, 2] + 0.5 * rng.normal(size=n)
    return X, y.astype(np.float32)


class FailingNet:
    """least_squares_net that raises on its ``fail_at``-th build in this process (None: never)."""

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.calls = 0

    def __call__(self, n_features):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError(f"simulated failure on build {self.calls}")
        return least_squares_net(n_features)
