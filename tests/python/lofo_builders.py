"""Data and model builders for test_lofo.py.

They live at module level so that worker processes (joblib's loky, Dask) can unpickle them. Keras is
imported inside the builders, so importing this module stays cheap.
"""

import time

import numpy as np

T = 4                      # timesteps of the a/b/c problem
W_A, W_B, SIGMA = 1.0, 0.3, 0.1
# Adam on a linear model: enough steps to converge to least squares within a few 1e-3 of MSE.
FIT = {"epochs": 6, "batch_size": 16}


def abc_data(n=480, seed=0, offsets=(0.0, 0.0, 0.0)):
    """X (n, T, 3) standard normal per cell; y = (W_A * sum_t a_t + W_B * sum_t b_t) / sqrt(T) + noise.

    Each sum over T unit-variance cells divided by sqrt(T) has variance 1, so a model that loses a
    (or b) gains W_A**2 (or W_B**2) in mean squared error: that is the LOFO importance under MSE.
    c is not used at all. ``offsets`` shift the features' means (the model sees them, y does not).
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 3))
    y = (W_A * X[:, :, 0].sum(axis=1) + W_B * X[:, :, 1].sum(axis=1)) / np.sqrt(T) \
        + SIGMA * rng.normal(size=n)
    X = X + np.asarray(offsets)
    return X.astype(np.float32), y.astype(np.float32)


def dense_model(n_features, keras=None, timesteps=T):
    """Flatten -> Dense(1): a linear model on the sequence, trained by Adam."""
    if keras is None:
        import keras
    shape = (timesteps, n_features) if timesteps else (n_features,)
    layers = [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)] if timesteps else \
        [keras.Input(shape), keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="mse")
    return model


def dense_builder(n_features):
    return dense_model(n_features)


class CountingBuilder:
    """Counts its calls (in the calling process) and raises on call number ``fail_at``."""

    def __init__(self, fail_at=None, exc=RuntimeError):
        self.calls = 0
        self.fail_at = fail_at
        self.exc = exc

    def __call__(self, n_features):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.exc(f"simulated failure on build {self.calls}")
        return dense_model(n_features)


class OLS:
    """Least squares with an intercept on the flattened input: the exact optimum a trained linear
    model approaches, with none of training's noise."""

    def __init__(self, fail_without_offset=None, delay=0.0):
        self.fail_without_offset = fail_without_offset
        self.delay = delay
        self.shapes = []

    def fit(self, X, y, **kwargs):
        self.shapes.append(X.shape)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_without_offset is not None:
            means = X.reshape(-1, X.shape[-1]).mean(axis=0)
            if not np.any(np.abs(means - self.fail_without_offset) < 2):
                raise ValueError("the marked feature is missing")
        A = np.c_[X.reshape(len(X), -1), np.ones(len(X))]
        self.coef_ = np.linalg.lstsq(A, y, rcond=None)[0]
        return self

    def predict(self, X):
        return np.c_[X.reshape(len(X), -1), np.ones(len(X))] @ self.coef_


class CountingOLS:
    """Builds OLS models and counts how many it built."""

    def __init__(self, **kwargs):
        self.calls = 0
        self.kwargs = kwargs
        self.built = []

    def __call__(self, n_features):
        self.calls += 1
        model = OLS(**self.kwargs)
        self.built.append(model)
        return model


def ols_builder(n_features):
    return OLS()


def ols_score(X, y, train, test, columns):
    """Validation MSE of least squares on ``columns`` only, written out from the definition."""
    def design(rows):
        return np.c_[X[rows][:, :, columns].reshape(len(rows), -1), np.ones(len(rows))]

    coef = np.linalg.lstsq(design(train), y[train], rcond=None)[0]
    return float(np.mean((design(test) @ coef - y[test]) ** 2))
