"""lek_profile: responses computed here from the model's formula at the data's own quantiles."""

import numpy as np
import pandas as pd
import pytest
from conftest import require

import seqimp

T, F = 5, 3
QUANTILES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return np.stack([rng.uniform(0, 1, (60, T)), rng.normal(2, 1, (60, T)), rng.exponential(1, (60, T))],
                    axis=2).astype(np.float32)


def product_model(x):
    """mean over timesteps of x1 * x2 + 0.5 x3: with every input constant over time, v1 * v2 + 0.5 v3."""
    return (x[:, :, 0] * x[:, :, 1] + 0.5 * x[:, :, 2]).mean(axis=1)


def test_profile_matches_the_formula_at_the_datas_quantiles(X):
    frame = seqimp.lek_profile(product_model, X, n_points=7)
    assert list(frame.columns) == ["feature", "quantile", "value", "response"]
    assert len(frame) == F * len(QUANTILES) * 7
    flat = X.reshape(-1, F)
    q = np.quantile(flat, QUANTILES, axis=0).astype(np.float32)
    for j, name in enumerate(["x1", "x2", "x3"]):
        part = frame[frame["feature"] == name]
        grid = np.linspace(flat[:, j].min(), flat[:, j].max(), 7)
        for level, held in zip(QUANTILES, q):
            line = part[part["quantile"] == level]
            np.testing.assert_allclose(line["value"], grid, rtol=1e-6)
            v = np.tile(held, (7, 1)).astype(np.float64)
            v[:, j] = line["value"]
            np.testing.assert_allclose(line["response"], v[:, 0] * v[:, 1] + 0.5 * v[:, 2], rtol=1e-5)
    assert frame.attrs["output"] == "the output"


def test_features_quantiles_and_two_dimensional_input(X):
    X2 = X[:, 0, :]
    frame = seqimp.lek_profile(lambda x: x[:, 0] - 2 * x[:, 2], X2, features=["x3", 0], quantiles=[0.5],
                               n_points=3)
    assert frame["feature"].unique().tolist() == ["x3", "x1"]
    median = np.quantile(X2, 0.5, axis=0)
    x3 = frame[frame["feature"] == "x3"]
    np.testing.assert_allclose(x3["response"], median[0] - 2 * x3["value"], rtol=1e-5)
    x1 = frame[frame["feature"] == "x1"]
    np.testing.assert_allclose(x1["response"], x1["value"] - 2 * median[2], rtol=1e-5)


def test_multi_output_models_take_an_output(X):
    per_timestep = lambda x: x[:, :, 0] * np.arange(1, T + 1)  # (n, T) outputs
    mean = seqimp.lek_profile(per_timestep, X, features="x1", quantiles=[0.5], n_points=3)
    np.testing.assert_allclose(mean["response"], mean["value"] * np.arange(1, T + 1).mean(), rtol=1e-6)
    third = seqimp.lek_profile(per_timestep, X, features="x1", quantiles=[0.5], n_points=3, output=2)
    np.testing.assert_allclose(third["response"], third["value"] * 3, rtol=1e-6)
    assert third.attrs["output"] == "output 2"


def test_keras_model_profile_equals_its_predictions_on_the_constant_sequences(X):
    keras = require("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    frame = seqimp.lek_profile(model, X, features="x2", quantiles=[0.2, 0.8], n_points=4)
    levels = np.quantile(X.reshape(-1, F), [0.2, 0.8], axis=0)
    inputs = []
    for held in levels:
        for value in np.linspace(X[:, :, 1].min(), X[:, :, 1].max(), 4):
            row = np.tile(held, (T, 1))
            row[:, 1] = value
            inputs.append(row)
    expected = model.predict(np.array(inputs, np.float32), verbose=0)[:, 0]
    np.testing.assert_allclose(frame["response"], expected, rtol=1e-4, atol=1e-6)


def test_plot_draws_one_panel_per_feature_and_one_line_per_quantile(X):
    import matplotlib

    matplotlib.use("Agg")
    frame = seqimp.lek_profile(product_model, X, n_points=4)
    axes = seqimp.plot_lek_profile(frame, title="Lek")
    assert len(axes) == F
    assert [ax.get_title() for ax in axes] == ["x1", "x2", "x3"]
    assert all(len(ax.get_lines()) == len(QUANTILES) for ax in axes)
    np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(),
                               frame[(frame["feature"] == "x2") & (frame["quantile"] == 0.0)]["response"])
    with pytest.raises(ValueError, match="missing columns"):
        seqimp.plot_lek_profile(pd.DataFrame({"feature": ["a"]}))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"features": ["x9"]}, ValueError, r"'features' parameter of lek_profile names an unknown feature 'x9'"),
    ({"features": [7]}, ValueError, r"names feature index 7"),
    ({"quantiles": [0.5, 1.5]}, ValueError, r"'quantiles' parameter of lek_profile must be a float in the "
                                            r"range \[0.0, 1.0\]. Got 1.5 instead"),
    ({"n_points": 1}, ValueError, r"'n_points' parameter of lek_profile must be an int in the range \[2, inf\)"),
    ({"output": "median"}, ValueError, r"'output' parameter of lek_profile"),
])
def test_bad_parameters_are_named(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        seqimp.lek_profile(product_model, X, **kwargs)
