"""gradient_importance(method="pad"): the partial derivatives method (Dimopoulos et al. 1995, 1999) against
its closed form on a linear network and a hand GradientTape on an MLP and an LSTM."""

import numpy as np
import pytest
from conftest import require

keras = require("keras")
tf = require("tensorflow")

import seqimp  # noqa: E402

T, F = 5, 3


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(60, T, F)).astype(np.float32)


def test_pad_of_a_linear_network_is_proportional_to_squared_weights(X):
    """s = sum_t w_t . x_t: ds/dx_tj = w_tj for every sample, so SSD_j = n sum_t w_tj**2."""
    model = keras.Sequential([keras.Input((T, F)), keras.layers.Flatten(), keras.layers.Dense(1)])
    w = np.random.default_rng(1).normal(size=(T * F, 1)).astype(np.float32)
    model.set_weights([w, np.array([0.7], np.float32)])
    r = seqimp.gradient_importance(model, X, method="pad", feature_names=["a", "b", "c"])
    W = w.reshape(T, F).astype(np.float64)
    ssd = len(X) * (W ** 2).sum(axis=0)
    np.testing.assert_allclose(r.extra["ssd"], ssd, rtol=1e-5)
    np.testing.assert_allclose(r.extra["relative_contribution"], 100 * ssd / ssd.sum(), rtol=1e-5)
    np.testing.assert_allclose(r.importances_mean, ssd / len(X), rtol=1e-5)
    # Attributions are the signed derivatives: w itself in every sample.
    np.testing.assert_allclose(r.attributions, np.broadcast_to(W, X.shape), rtol=1e-6)
    assert r.method == "pad" and r.metric == "mean squared gradient (PaD)"


def test_pad_of_a_two_dimensional_linear_network_is_w_squared_over_their_sum():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    w = np.array([[2.0], [-1.0], [0.5], [0.0]], np.float32)
    model.set_weights([w, np.zeros(1, np.float32)])
    X = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    r = seqimp.gradient_importance(model, X, method="pad")
    np.testing.assert_allclose(r.extra["relative_contribution"], [100 * 4 / 5.25, 100 / 5.25, 100 * 0.25 / 5.25, 0],
                               rtol=1e-6, atol=1e-12)
    assert r.importances_mean[3] == 0.0


def _tape_gradient(model, X):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = tf.reduce_mean(model(x, training=False), axis=-1)
    return tape.gradient(s, x).numpy().astype(np.float64)


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_pad_matches_a_hand_gradient_tape(kind, X):
    keras.utils.set_random_seed(3)
    if kind == "mlp":
        model = keras.Sequential([keras.Input((T, F)), keras.layers.Flatten(),
                                  keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    else:
        model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(6), keras.layers.Dense(1)])
    r = seqimp.gradient_importance(model, X, method="pad", granularity="cell")
    g = _tape_gradient(model, X)
    np.testing.assert_allclose(r.attributions, g, rtol=1e-4, atol=1e-7)
    # Cells are timestep-major: t0/f0, t0/f1, ...
    np.testing.assert_allclose(r.extra["ssd"], (g ** 2).sum(axis=0).ravel(), rtol=1e-4)
    per_feature = seqimp.gradient_importance(model, X, method="pad")
    ssd = (g ** 2).sum(axis=(0, 1))
    np.testing.assert_allclose(per_feature.extra["relative_contribution"], 100 * ssd / ssd.sum(), rtol=1e-4)
    np.testing.assert_allclose(per_feature.extra["relative_contribution"].sum(), 100.0)


def test_pad_gives_padded_cells_and_an_unused_feature_nothing():
    model = keras.Sequential([keras.Input((T, 2)), keras.layers.Masking(-1.0),
                              keras.layers.LSTM(4), keras.layers.Dense(1)])
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, T, 2)).astype(np.float32)
    X[:10, :2] = -1.0  # padding at the start of half the rows
    r = seqimp.gradient_importance(model, X, method="pad")
    assert np.all(r.attributions[:10, :2] == 0.0)
    g = _tape_gradient(model, X)
    g[:10, :2] = 0.0
    np.testing.assert_allclose(r.extra["ssd"], (g ** 2).sum(axis=(0, 1)), rtol=1e-4)

    unused = keras.Sequential([keras.Input((T, 2)), keras.layers.Lambda(lambda x: x[:, :, :1]),
                               keras.layers.LSTM(3), keras.layers.Dense(1)])
    r = seqimp.gradient_importance(unused, X, method="pad", mask=False)
    assert r.importances_mean[1] == 0.0 and r.extra["relative_contribution"][1] == 0.0


def test_pad_refuses_token_inputs():
    model = keras.Sequential([keras.Input((T,), dtype="int32"), keras.layers.Embedding(10, 4),
                              keras.layers.LSTM(3), keras.layers.Dense(1)])
    ids = np.random.default_rng(5).integers(0, 10, size=(8, T))
    with pytest.raises(ValueError, match="method='pad'.*token ids"):
        seqimp.gradient_importance(model, ids, method="pad")


@pytest.mark.parametrize("method, words", [("pad", "sums squared partial derivatives with respect to each input value"),
                                           ("smoothgrad", "which take no noise")])
def test_token_inputs_are_refused_by_pad_and_smoothgrad_in_each_language(method, words):
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(10, 4),
                              keras.layers.LSTM(3), keras.layers.Dense(1)])
    tokens = np.random.default_rng(0).integers(1, 10, size=(20, 6))
    with pytest.raises(ValueError, match=words) as caught:
        seqimp.gradient_importance(model, tokens, method=method)
    assert f"method='{method}'" in str(caught.value) and "Use method='saliency'" in str(caught.value)
    assert f'method = "{method}"' in caught.value.in_r()
