"""Padded and masked sequences: mask=, mask_value=, and the automatic mask of a Keras Masking layer.

The model of the issue: Keras Masking(0) -> Dense(1) per step -> GlobalAveragePooling1D, i.e.
f(x) = mean over the real steps of (x_t . w + c), with a weight of 0 on x3. Under a correct mask x3
scores exactly 0 under every noise and under permutation (the model never reads x3, and padding never
turns into real steps); without the mask, noise written into the padding un-masks it and x3 looks as
important as the others.
"""

import numpy as np
import pytest
from conftest import require

import seqimp
from seqimp.transforms import end_aligned_steps

N, T = 400, 8
W = np.array([1.0, -0.5, 0.0])
BIAS = 0.3
NOISES = ("gaussian", "uniform", "zero", "mean", "swap")


@pytest.fixture(scope="module")
def padded():
    """X padded with zeros at the start (Keras' pad_sequences default), lengths 2..T, and its mask."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, T, 3)).astype(np.float32)
    lengths = rng.integers(2, T + 1, size=N)
    real = np.arange(T)[np.newaxis, :] >= (T - lengths)[:, np.newaxis]
    X[~real] = 0.0
    return X, real


def masked_mean(x):
    """The Keras model, written out: the mean over real steps (not all zero) of x_t . w + c."""
    real = ~(x == 0.0).all(axis=2)
    return ((x @ W + BIAS) * real).sum(axis=1) / real.sum(axis=1)


@pytest.fixture(scope="module")
def keras_model():
    keras = require("keras")
    inputs = keras.Input((T, 3))
    dense = keras.layers.Dense(1)
    out = keras.layers.GlobalAveragePooling1D()(dense(keras.layers.Masking(0.0)(inputs)))
    model = keras.Model(inputs, out)
    dense.set_weights([W.reshape(3, 1).astype(np.float32), np.array([BIAS], np.float32)])
    return model


def test_the_keras_model_is_the_masked_mean(padded, keras_model):
    X, _ = padded
    np.testing.assert_allclose(keras_model.predict(X, verbose=0)[:, 0], masked_mean(X), atol=1e-5)


@pytest.mark.parametrize("noise", NOISES)
def test_an_unused_feature_scores_exactly_zero_under_every_noise(padded, keras_model, noise):
    X, _ = padded
    auto = seqimp.perturbation_importance(keras_model, X, noise=noise, n_repeats=2, random_state=0)
    by_value = seqimp.perturbation_importance(masked_mean, X, noise=noise, n_repeats=2, random_state=0,
                                              mask_value=0.0)
    assert auto.importances[2].tolist() == [0.0, 0.0]
    assert by_value.importances[2].tolist() == [0.0, 0.0]
    assert np.all(auto.importances[:2] > 0)
    np.testing.assert_allclose(auto.importances, by_value.importances, rtol=1e-4)
    assert auto.params["mask"].startswith("model: Masking layer") and "(mask_value=0.0)" in auto.params["mask"]
    assert by_value.params["mask"] == "mask_value=0.0"


def test_without_the_mask_padding_is_unmasked_and_the_ranking_is_wrong(padded, keras_model):
    X, _ = padded
    off = seqimp.perturbation_importance(keras_model, X, mask=False, random_state=0)
    assert off.params["mask"] == "off (mask=False)"
    assert off.importances_mean[2] > 0.5 * off.importances_mean[1]  # the defect the mask fixes


def test_permutation_scores_an_unused_feature_exactly_zero(padded, keras_model):
    X, real = padded
    y = masked_mean(X)
    auto = seqimp.permutation_importance(keras_model, X, y, metric="mse", random_state=0)
    given = seqimp.permutation_importance(masked_mean, X, y, metric="mse", random_state=0, mask=real)
    assert auto.importances[2].tolist() == [0.0] * 5 and given.importances[2].tolist() == [0.0] * 5
    np.testing.assert_allclose(auto.importances, given.importances, rtol=1e-4, atol=1e-9)
    assert given.params["mask"] == "mask argument"


def test_no_transform_changes_a_padded_cell_and_statistics_use_real_cells(padded):
    X, real = padded
    X = X.copy()
    X[~real] = -7.0  # padding that would pull means and standard deviations
    seen = []

    def model(x):
        seen.append(x.copy())
        return x[:, -1, 0]

    for noise in NOISES:
        seen.clear()
        seqimp.perturbation_importance(model, X, noise=noise, mask_value=-7.0, batch_size=N, scale=3.0,
                                       scale_by_std=True, random_state=0)
        for chunk in seen:
            assert np.all(chunk[~real] == -7.0), noise
            if noise != "swap":
                assert not np.any(chunk[real] == -7.0)
        if noise == "mean":
            means = X[real].mean(axis=0, dtype=np.float64)  # over real cells: the -7 padding is left out
            np.testing.assert_allclose(seen[1][:, :, 0][real], means[0], rtol=1e-4)


def test_resampling_aligns_real_steps_from_the_end(padded):
    X, real = padded
    post = np.zeros_like(X)
    post_real = np.zeros_like(real)
    for i in range(N):  # the same sequences, padded at the end instead
        k = int(real[i].sum())
        post[i, :k] = X[i, real[i]]
        post_real[i, :k] = True
    rank, order = end_aligned_steps(post_real)
    assert rank[0][post_real[0]].tolist() == list(range(int(post_real[0].sum())))[::-1]
    assert order[0][0] == np.flatnonzero(post_real[0])[-1]

    def last_value(x):
        real_x = ~(x == 0).all(axis=2)
        last = real_x.shape[1] - 1 - np.argmax(real_x[:, ::-1], axis=1)
        return x[np.arange(len(x)), last] @ W

    y_pre = last_value(X)
    pre = seqimp.permutation_importance(last_value, X, y_pre, metric="mse", random_state=0, mask_value=0.0)
    post_r = seqimp.permutation_importance(last_value, post, last_value(post), metric="mse", random_state=0,
                                           mask_value=0.0)
    # Aligned from the end, the last real step of each sequence meets its donor's last real step,
    # wherever the padding is: the same numbers for pre- and post-padding.
    np.testing.assert_allclose(pre.importances, post_r.importances, rtol=1e-6)
    expected = [2 * np.var(X[np.arange(N), -1, j] * W[j]) for j in range(2)]
    np.testing.assert_allclose(pre.importances_mean[:2], expected, rtol=0.15)


def test_per_timestep_results_count_the_real_samples(padded):
    X, real = padded
    r = seqimp.perturbation_importance(masked_mean, X, granularity="timestep", mask_value=0.0, random_state=0)
    assert r.extra["n_real_samples"].tolist() == real.sum(axis=0).tolist()
    assert r.to_frame()["n_real"].tolist() == real.sum(axis=0).tolist()
    assert r.importances_mean[0] < r.importances_mean[-1]


def test_integrated_gradients_are_zero_on_padding_and_complete(padded, keras_model):
    X, real = padded
    r = seqimp.gradient_importance(keras_model, X, method="integrated_gradients", n_steps=32)
    assert np.all(r.attributions[~real] == 0.0)
    assert r.params["baseline"] == "mean over real cells (padding kept)"
    difference = r.extra["predictions"] - r.extra["baseline_predictions"]
    gap = np.abs(r.extra["completeness_gap"]).sum() / np.abs(difference).sum()
    assert gap < 0.02
    np.testing.assert_allclose(r.attributions[:, :, 2], 0.0)
    for method in ("saliency", "gradient_x_input", "smoothgrad"):
        other = seqimp.gradient_importance(keras_model, X[:50], method=method, random_state=0)
        assert np.all(other.attributions[~real[:50]] == 0.0), method


@pytest.mark.parametrize("kwargs, error, message", [
    ({"mask": "REAL", "mask_value": 0.0}, ValueError, r"'mask' and 'mask_value' parameters of "
                                                       r"perturbation_importance cannot be used together"),
    ({"mask": np.ones((N, T - 1), bool)}, ValueError, r"'mask' parameter of perturbation_importance must "
                                                       r"have shape \(samples, timesteps\) = \(400, 8\).*"
                                                       r"Got shape \(400, 7\)"),
    ({"mask": np.full((N, T), 0.5)}, TypeError, r"'mask' parameter.*must be boolean"),
    ({"mask": True}, TypeError, r"'mask' parameter of perturbation_importance must be None"),
    ({"mask_value": "zero"}, TypeError, r"'mask_value' parameter of perturbation_importance must be a "
                                        r"finite number"),
])
def test_bad_masks_are_refused_naming_the_argument(padded, kwargs, error, message):
    X, real = padded
    if isinstance(kwargs.get("mask"), str):
        kwargs = dict(kwargs, mask=real)
    with pytest.raises(error, match=message):
        seqimp.perturbation_importance(masked_mean, X, **kwargs)


def test_a_sample_with_no_real_step_is_refused(padded, keras_model):
    X, real = padded
    X = X.copy()
    X[5] = 0.0
    with pytest.raises(ValueError, match=r"sample 5 of X has no real step \(every step is padding by the "
                                         r"model: Masking layer"):
        seqimp.perturbation_importance(keras_model, X)
    mask = real.copy()
    mask[7] = False
    with pytest.raises(ValueError, match=r"sample 7 of X has no real step"):
        seqimp.permutation_importance(masked_mean, padded[0], masked_mean(padded[0]), mask=mask)


def test_masks_with_several_inputs(padded):
    X, real = padded
    static = np.random.default_rng(1).normal(size=(N, 2)).astype(np.float32)

    def model(x):
        return masked_mean(x["seq"]) + x["static"][:, 0]

    data = {"seq": X, "static": static}
    a = seqimp.permutation_importance(model, data, model(data), mask={"seq": real}, random_state=0)
    b = seqimp.permutation_importance(model, data, model(data), mask_value={"seq": 0.0}, random_state=0)
    c = seqimp.permutation_importance(model, data, model(data), mask=real, random_state=0)  # one sequence
    np.testing.assert_array_equal(a.importances, b.importances)
    np.testing.assert_array_equal(a.importances, c.importances)
    assert a.importances[2].tolist() == [0.0] * 5 and a.importances[4].tolist() == [0.0] * 5
    with pytest.raises(ValueError, match=r"'mask' parameter of permutation_importance applies to sequence "
                                         r"inputs; input 'static' is 2-D"):
        seqimp.permutation_importance(model, data, model(data), mask={"static": np.ones((N, 1), bool)})
    with pytest.raises(ValueError, match=r"'mask' parameter.*keys \['sequence'\] that are not inputs"):
        seqimp.permutation_importance(model, data, model(data), mask={"sequence": real})


def test_an_embedding_with_mask_zero_masks_token_zero():
    """Token ids (here float, as R passes them) into Embedding(mask_zero=True): one token feature, real
    where the id is not 0; mask=False still turns the mask off."""
    keras = require("keras")
    tokens = np.random.default_rng(0).integers(0, 5, size=(30, 6)).astype(np.float32)
    inputs = keras.Input((6,))
    h = keras.layers.Embedding(5, 3, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h)))
    r = seqimp.perturbation_importance(model, tokens, noise="swap", granularity="cell", random_state=0)
    assert r.params["mask"] == "model: Embedding layer %r (mask_zero=True) (mask_value=0.0)" % model.layers[1].name
    assert r.extra["n_real_samples"].tolist() == (tokens != 0).sum(axis=0).tolist()
    r = seqimp.perturbation_importance(model, tokens, noise="swap", mask=False, random_state=0)
    assert r.params["mask"] == "off (mask=False)"


class _MaskedMean:
    """A 'fitted' model that is the masked mean itself: fit changes nothing."""

    def fit(self, x, y):
        pass

    def predict(self, x):
        return masked_mean(x)


def test_lofo_constant_mode_keeps_padding_padded(padded):
    X, real = padded
    y = masked_mean(X)
    kwargs = {"mode": "constant", "cv": 2, "metric": "mse", "random_state": 0, "progress": False}
    masked = seqimp.lofo_importance(lambda n: _MaskedMean(), X, y, mask_value=0.0, **kwargs)
    # x3 has weight 0: held at its mean on real cells only, nothing changes.
    assert masked.importances[2].tolist() == [0.0, 0.0] and np.all(masked.importances[:2] > 0)
    assert masked.params["mask"] == "mask_value=0.0"
    # Without the mask the constant fills the padding, which the model then reads as real steps.
    unmasked = seqimp.lofo_importance(lambda n: _MaskedMean(), X, y, **kwargs)
    assert np.all(unmasked.importances[2] > 0)

    from seqimp.lofo.folds import fold_inputs

    class Task:
        keep, constant = (0, 1, 2), (0,)

    train, test = np.arange(0, N, 2), np.arange(1, N, 2)
    X_train, X_test = fold_inputs(X, train, test, Task, 3, real)
    mean = X[train][real[train]][:, 0].mean(dtype=np.float64)
    np.testing.assert_allclose(X_train[:, :, 0][real[train]], mean, rtol=1e-6)
    assert np.all(X_train[~real[train]] == 0.0) and np.all(X_test[~real[test]] == 0.0)
