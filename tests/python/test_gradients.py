"""gradient_importance against closed forms and the axioms of the methods.

Every expected number below is computed here from the model's weights or from the definitions
(saliency = |w| and integrated gradients = w * (x - b) on a linear model, completeness on an LSTM),
never from seqimp's own output.
"""

import numpy as np
import pytest
from conftest import require

keras = require("keras")

import seqimp  # noqa: E402
from seqimp.gradients import trapezoid_path  # noqa: E402

T, F = 6, 3
METHODS = ("saliency", "gradient_x_input", "integrated_gradients", "smoothgrad")


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(-1.0, 2.0, size=(40, T, F)).astype(np.float32)


def _linear(units=1, flatten=True, weights=None):
    """Dense on the flattened (T, F) input with known weights and bias: f(x) = vec(x) @ W + c."""
    layers = [keras.Input((T, F))] + ([keras.layers.Flatten()] if flatten else [])
    model = keras.Sequential(layers + [keras.layers.Dense(units)])
    rows = T * F if flatten else F
    W = np.random.default_rng(1).normal(size=(rows, units)).astype(np.float32) if weights is None else weights
    model.layers[-1].set_weights([W, np.linspace(-1, 1, units).astype(np.float32)])
    return model, W


@pytest.fixture(scope="module")
def linear():
    return _linear()


def _lstm(seed=3, units=8, outputs=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(units), keras.layers.Dense(outputs)])
    # Larger weights than the initialiser's so the function is far from linear over the path.
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def lstm():
    return _lstm()


# ---- closed forms on a linear model --------------------------------------------------------------

def test_saliency_of_a_linear_model_is_abs_weights(linear, X):
    model, W = linear
    w = W[:, 0].reshape(T, F)
    r = seqimp.gradient_importance(model, X, method="saliency")
    np.testing.assert_allclose(r.attributions, np.broadcast_to(np.abs(w), X.shape), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(r.importances_mean, np.abs(w).mean(axis=0), rtol=1e-6)
    assert r.importances.shape == (F, len(X))  # one column per sample
    cells = seqimp.gradient_importance(model, X, method="saliency", granularity="cell")
    np.testing.assert_allclose(cells.importances_mean, np.abs(w).ravel(), rtol=1e-6)
    steps = seqimp.gradient_importance(model, X, method="saliency", granularity="timestep")
    np.testing.assert_allclose(steps.importances_mean, np.abs(w).mean(axis=1), rtol=1e-6)


@pytest.mark.parametrize("baseline", [None, "mean", "array"])
@pytest.mark.parametrize("n_steps", [2, 50])
def test_integrated_gradients_of_a_linear_model_is_w_times_x_minus_baseline(linear, X, baseline, n_steps):
    model, W = linear
    w = W[:, 0].reshape(T, F)
    if baseline is None:
        b = np.zeros((T, F))
    elif baseline == "mean":
        b = np.broadcast_to(X.reshape(-1, F).mean(axis=0), (T, F))
    else:
        baseline = b = np.random.default_rng(5).normal(size=(T, F)).astype(np.float32)
    r = seqimp.gradient_importance(model, X, method="integrated_gradients", baseline=baseline,
                                   n_steps=n_steps)
    expected = w * (X - b)
    np.testing.assert_allclose(r.attributions, expected, rtol=1e-5, atol=1e-6)
    # A feature's importance: mean over samples of |sum over timesteps of w * (x - b)|.
    np.testing.assert_allclose(r.importances_mean, np.abs(expected.sum(axis=1)).mean(axis=0), rtol=1e-5)
    f = lambda x: x.reshape(len(x), -1) @ W[:, 0] + (-1.0)  # bias of a 1-unit Dense from linspace(-1, 1, 1)
    np.testing.assert_allclose(r.extra["predictions"], f(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r.extra["baseline_predictions"], f(np.broadcast_to(b, X.shape)), rtol=1e-5,
                               atol=1e-5)


def test_per_sample_baseline(linear, X):
    model, W = linear
    b = np.random.default_rng(6).normal(size=X.shape)
    r = seqimp.gradient_importance(model, X, method="integrated_gradients", baseline=b, n_steps=3)
    np.testing.assert_allclose(r.attributions, W[:, 0].reshape(T, F) * (X - b), rtol=1e-5, atol=1e-6)


def test_gradient_importances_have_intervals_over_samples_and_no_test(linear, X):
    # gradient x input of a linear model: |sum over a feature's cells of w x|, one value per sample; the
    # standard error is their sd / sqrt(n), with a t interval on n - 1 degrees of freedom.
    from scipy import stats

    model, W = linear
    r = seqimp.gradient_importance(model, X, method="gradient_x_input")
    per_sample = np.abs((X * W[:, 0].reshape(T, F)).sum(axis=1)).T.astype(np.float64)
    se = per_sample.std(axis=1, ddof=1) / np.sqrt(len(X))
    np.testing.assert_allclose(r.importances_se, se, rtol=1e-5)
    half = stats.t.ppf(0.975, len(X) - 1) * r.importances_se
    np.testing.assert_allclose(r.confidence_interval(), np.column_stack([r.importances_mean - half,
                                                                         r.importances_mean + half]))
    with pytest.raises(ValueError, match="non-negative by construction"):
        r.significant()
    assert "p_value" not in r.to_frame() and "ci_low" in r.to_frame()


def test_gradient_x_input_and_smoothgrad_of_a_linear_model(linear, X):
    model, W = linear
    w = W[:, 0].reshape(T, F)
    gxi = seqimp.gradient_importance(model, X, method="gradient_x_input")
    np.testing.assert_allclose(gxi.attributions, w * X, rtol=1e-6, atol=1e-7)
    # The gradient of a linear model is w everywhere, so the mean over noisy copies is w exactly.
    sg = seqimp.gradient_importance(model, X, method="smoothgrad", n_samples=3, random_state=0)
    np.testing.assert_allclose(sg.attributions, np.broadcast_to(w, X.shape), rtol=1e-6)
    np.testing.assert_allclose(sg.importances_mean, np.abs(w).mean(axis=0), rtol=1e-6)


def test_two_dimensional_input_gives_attributions_of_its_shape():
    model = keras.Sequential([keras.Input((F,)), keras.layers.Dense(1)])
    w = np.array([[2.0], [-3.0], [0.5]], np.float32)
    model.layers[-1].set_weights([w, np.zeros(1, np.float32)])
    X2 = np.random.default_rng(2).random((30, F)).astype(np.float32)
    r = seqimp.gradient_importance(model, X2, method="integrated_gradients", n_steps=4)
    assert r.attributions.shape == X2.shape
    np.testing.assert_allclose(r.attributions, w[:, 0] * X2, rtol=1e-5, atol=1e-7)


# ---- which output is explained -------------------------------------------------------------------

def test_output_selects_an_output_or_a_reduction(X):
    model, W = _linear(units=3)
    for output, w in [(1, W[:, 1]), (-1, W[:, 2]), ((2,), W[:, 2]), ("sum", W.sum(axis=1)),
                      ("mean", W.mean(axis=1)), (None, W.mean(axis=1))]:
        r = seqimp.gradient_importance(model, X, method="gradient_x_input", output=output)
        np.testing.assert_allclose(r.attributions, w.reshape(T, F) * X, rtol=1e-5, atol=1e-6,
                                   err_msg=f"output={output!r}")
    # "max": each sample's largest output, so its own column of W.
    r = seqimp.gradient_importance(model, X, method="saliency", output="max")
    winner = np.argmax(X.reshape(len(X), -1) @ W + np.linspace(-1, 1, 3), axis=1)
    np.testing.assert_allclose(r.attributions, np.abs(W[:, winner].T).reshape(X.shape), rtol=1e-6)


def test_output_tuple_indexes_a_per_timestep_output(X):
    # Dense on (T, F) acts on each timestep: output (T, 2). Output (t, k) depends on timestep t only.
    model, W = _linear(units=2, flatten=False)
    r = seqimp.gradient_importance(model, X, method="saliency", output=(4, 1), granularity="cell")
    expected = np.zeros((T, F))
    expected[4] = np.abs(W[:, 1])
    np.testing.assert_allclose(r.importances_mean, expected.ravel(), rtol=1e-6, atol=0)


def test_softmax_sum_warns_that_its_gradient_is_zero(X):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])
    with pytest.warns(UserWarning, match="softmax"):
        seqimp.gradient_importance(model, X, output="sum")


# ---- axioms on an LSTM -----------------------------------------------------------------------------

def test_integrated_gradients_completeness_on_an_lstm(lstm, X):
    r = seqimp.gradient_importance(lstm, X, method="integrated_gradients", n_steps=128)
    f_x = lstm.predict(X, verbose=0)[:, 0].astype(np.float64)
    f_b = lstm.predict(np.zeros_like(X), verbose=0)[:, 0].astype(np.float64)
    moved = np.abs(f_x - f_b) > 0.02  # where 1% of the difference is well above float32 noise
    assert moved.sum() >= 30
    gap = r.attributions.sum(axis=(1, 2)) - (f_x - f_b)
    np.testing.assert_array_less(np.abs(gap[moved]), 0.01 * np.abs(f_x - f_b)[moved])
    np.testing.assert_array_less(np.abs(gap), 2e-4)
    np.testing.assert_allclose(r.extra["completeness_gap"], gap, atol=1e-5)
    # The model is far from linear along the path: two points miss completeness by much more.
    coarse = seqimp.gradient_importance(lstm, X, method="integrated_gradients", n_steps=2)
    coarse_gap = coarse.attributions.sum(axis=(1, 2)) - (f_x - f_b)
    assert np.median(np.abs(coarse_gap[moved]) / np.abs(f_x - f_b)[moved]) > 0.05


def test_integrated_gradients_completeness_on_the_seed_model(seed_model, seed_eval_data):
    X_seed = seed_eval_data[0][:64]
    r = seqimp.gradient_importance(seed_model, X_seed, method="integrated_gradients", n_steps=128)
    f = seed_model.predict(X_seed, verbose=0).mean(axis=1)
    f_b = seed_model.predict(np.zeros_like(X_seed), verbose=0).mean(axis=1)
    gap = r.attributions.sum(axis=(1, 2)) - (f - f_b)
    moved = np.abs(f - f_b) > 0.02
    assert moved.sum() > 10
    np.testing.assert_array_less(np.abs(gap[moved]), 0.01 * np.abs(f - f_b)[moved])


@pytest.mark.parametrize("method", METHODS)
def test_a_feature_the_model_ignores_gets_exactly_zero(method, X):
    model = _lstm(seed=4)
    kernel, recurrent, bias = model.layers[0].get_weights()
    kernel[2] = 0.0  # the LSTM never reads feature 3
    model.layers[0].set_weights([kernel, recurrent, bias])
    r = seqimp.gradient_importance(model, X, method=method, random_state=0,
                                   **({"baseline": "mean"} if method == "integrated_gradients" else {}))
    assert np.all(r.attributions[:, :, 2] == 0.0)
    assert r.importances_mean[2] == 0.0
    assert np.all(r.importances_mean[:2] > 1e-4)


def _permuted_copy(model, perm):
    """The same LSTM with its hidden units renumbered: different weights, the same function."""
    kernel, recurrent, bias, dense_w, dense_b = model.get_weights()
    H = len(perm)
    columns = np.concatenate([g * H + perm for g in range(4)])  # gates i, f, c, o
    twin = keras.models.clone_model(model)
    twin.set_weights([kernel[:, columns], recurrent[perm][:, columns], bias[columns], dense_w[perm], dense_b])
    return twin


def test_functionally_identical_models_give_the_same_attributions(lstm, X):
    twin = _permuted_copy(lstm, np.random.default_rng(9).permutation(8))
    assert not np.allclose(twin.get_weights()[0], lstm.get_weights()[0])
    np.testing.assert_allclose(twin.predict(X, verbose=0), lstm.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    for method in ("saliency", "integrated_gradients"):
        a = seqimp.gradient_importance(lstm, X, method=method, n_steps=16).attributions
        b = seqimp.gradient_importance(twin, X, method=method, n_steps=16).attributions
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_tf_keras_model_with_the_same_weights_gives_the_same_attributions(lstm, X):
    tf_keras = require("tf_keras")
    legacy = tf_keras.Sequential([tf_keras.Input((T, F)), tf_keras.layers.LSTM(8), tf_keras.layers.Dense(1)])
    legacy.set_weights(lstm.get_weights())
    a = seqimp.gradient_importance(lstm, X, method="integrated_gradients", n_steps=16)
    b = seqimp.gradient_importance(legacy, X, method="integrated_gradients", n_steps=16)
    np.testing.assert_allclose(a.attributions, b.attributions, rtol=1e-4, atol=1e-6)


# ---- inputs, chunking, seeds ----------------------------------------------------------------------

def test_integer_input_is_cast_to_float(lstm):
    X_int = np.random.default_rng(3).integers(0, 3, size=(20, T, F)).astype(np.int32)
    a = seqimp.gradient_importance(lstm, X_int, method="integrated_gradients", n_steps=16)
    b = seqimp.gradient_importance(lstm, X_int.astype(np.float32), method="integrated_gradients", n_steps=16)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert np.abs(a.attributions).max() > 0


@pytest.mark.parametrize("method", ["integrated_gradients", "smoothgrad"])
def test_results_do_not_depend_on_batch_size(lstm, X, method):
    a = seqimp.gradient_importance(lstm, X, method=method, n_steps=8, n_samples=5, random_state=1)
    b = seqimp.gradient_importance(lstm, X, method=method, n_steps=8, n_samples=5, random_state=1,
                                   batch_size=7)
    np.testing.assert_allclose(a.attributions, b.attributions, rtol=1e-5, atol=1e-7)


def _tape_gradient(model, X):
    """The gradient of the model's single output, by a plain eager GradientTape."""
    import tensorflow as tf

    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x, training=False)[:, 0]
    return tape.gradient(y, x).numpy().astype(np.float64)


def test_saliency_and_gradient_x_input_match_a_plain_gradient_tape(lstm, X):
    g = _tape_gradient(lstm, X)
    np.testing.assert_allclose(seqimp.gradient_importance(lstm, X).attributions, np.abs(g), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(seqimp.gradient_importance(lstm, X, method="gradient_x_input").attributions,
                               g * X, rtol=1e-4, atol=1e-7)


def test_smoothgrad_is_the_mean_gradient_over_noisy_copies(lstm, X):
    g = _tape_gradient(lstm, X)
    tiny = seqimp.gradient_importance(lstm, X, method="smoothgrad", noise_scale=1e-7, n_samples=2,
                                      random_state=0).attributions
    np.testing.assert_allclose(tiny, g, rtol=1e-3, atol=1e-5)
    # With noise of sd 0.5 * range, the mean gradient differs from the gradient at x, by the seed.
    a = seqimp.gradient_importance(lstm, X, method="smoothgrad", noise_scale=0.5, n_samples=4, random_state=0)
    b = seqimp.gradient_importance(lstm, X, method="smoothgrad", noise_scale=0.5, n_samples=4, random_state=1)
    assert np.abs(a.attributions - g).max() > 1e-2
    assert not np.allclose(a.attributions, b.attributions)
    # Its importance is the mean size of the (signed) mean gradient.
    np.testing.assert_allclose(a.importances_mean, np.abs(a.attributions).mean(axis=(0, 1)), rtol=1e-12)


def test_smoothgrad_noise_sd_is_noise_scale_times_each_features_range():
    # f(x) = sum of x³ over the cells, so the gradient at x + e is 3 (x + e)², and SmoothGrad's mean over
    # n_samples noisy copies is 3 x² + 6 x mean(e) + 3 mean(e²). Where x = 0 it is 3 mean(e²) alone,
    # whose expectation is 3 sigma_j² with sigma_j = noise_scale * (max - min of feature j over samples
    # and timesteps). Two rows per feature set the range (R_j / 2 and -R_j / 2); every other cell is 0.
    # The estimate of sigma² averages (n - 2) * T * n_samples = 11880 squared normal draws per feature, a
    # relative standard error of sqrt(2 / 11880) = 1.3% (0.65% on sigma); 3% on sigma is over four.
    n, n_samples, noise_scale = 200, 10, 0.1
    ranges = np.array([1.0, 4.0, 0.5])
    X = np.zeros((n, T, F), dtype=np.float32)
    X[0, 0], X[1, 0] = ranges / 2, -ranges / 2
    inp = keras.Input((T, F))
    cube = keras.Model(inp, keras.layers.Lambda(lambda x: keras.ops.sum(x ** 3, axis=(1, 2),
                                                                       keepdims=False)[:, None])(inp))
    r = seqimp.gradient_importance(cube, X, method="smoothgrad", noise_scale=noise_scale,
                                   n_samples=n_samples, random_state=0)
    at_zero = r.attributions[2:]                                   # x = 0: 3 mean(e²) per cell
    sigma = np.sqrt(at_zero.reshape(-1, F).mean(axis=0) / 3.0)
    np.testing.assert_allclose(sigma, noise_scale * ranges, rtol=0.03)
    # Each cell's value is 3 sigma² chi²(n_samples) / n_samples: its spread tells the noise is fresh in
    # every copy (the same draw reused n_samples times would give a spread of 3 sigma² sqrt(2)).
    spread = at_zero.reshape(-1, F).std(axis=0) / (3 * (noise_scale * ranges) ** 2)
    np.testing.assert_allclose(spread, np.sqrt(2 / n_samples), rtol=0.1)


def test_seed_model_saliency_ranks_features_1_and_2_above_3(seed_model, seed_eval_data):
    r = seqimp.gradient_importance(seed_model, seed_eval_data[0], method="saliency")
    mean = r.importances_mean
    assert min(mean[0], mean[1]) > 2 * mean[2], mean
    assert r.to_frame(sort=True)["feature"].tolist()[-1] == "x3"


def test_groups_sum_their_features_attributions(linear, X):
    model, W = linear
    w = W[:, 0].reshape(T, F)
    r = seqimp.gradient_importance(model, X, method="integrated_gradients", n_steps=2,
                                   groups={"first two": ["x1", "x2"], "third": [2]})
    contribution = (w * X).sum(axis=1)  # (n, F): each feature's total over timesteps
    np.testing.assert_allclose(r.importances_mean, [np.abs(contribution[:, :2].sum(axis=1)).mean(),
                                                    np.abs(contribution[:, 2]).mean()], rtol=1e-5)
    assert r.label_names == ["first two", "third"]


def test_xla_path_for_long_runs_gives_the_same_attributions(lstm, X, monkeypatch):
    from seqimp.adapters import KerasGradient

    plain = seqimp.gradient_importance(lstm, X[:10], method="integrated_gradients", n_steps=4)
    monkeypatch.setattr(KerasGradient, "XLA_MIN_ROWS", 1)
    compiled = seqimp.gradient_importance(lstm, X[:10], method="integrated_gradients", n_steps=4)
    np.testing.assert_allclose(compiled.attributions, plain.attributions, rtol=1e-4, atol=1e-6)
    from seqimp.adapters.keras_gradient import _GRADIENT_CACHE

    xla = [fn for key, fn in _GRADIENT_CACHE[lstm].items() if key[2]]
    assert xla and all(fn._jit for fn in xla)  # compiled with XLA, not fallen back


# ---- errors ------------------------------------------------------------------------------------------

def test_a_plain_callable_cannot_be_differentiated(X):
    with pytest.raises(TypeError, match=r"'model' parameter of gradient_importance.*perturbation_importance"):
        seqimp.gradient_importance(lambda x: x.sum(axis=(1, 2)), X)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "deeplift"}, ValueError, r"'method' parameter of gradient_importance must be one of"),
    ({"output": 3}, ValueError, r"'output' parameter .* range \[-3, 2\].* Got 3 instead"),
    ({"output": "median"}, ValueError, r"'output' parameter .* Got 'median' instead"),
    ({"output": (0, 1)}, ValueError, r"tuple index into the model's per-sample output shape \(3,\)"),
    ({"output": 1.5}, TypeError, r"'output' parameter"),
    ({"method": "integrated_gradients", "baseline": np.zeros(4)}, ValueError,
     r"'baseline' parameter .* broadcasts to X's shape \(40, 6, 3\).* Got an array of shape \(4,\)"),
    ({"method": "integrated_gradients", "baseline": "median"}, ValueError, r"'baseline' parameter"),
    ({"baseline": "mean"}, ValueError, r"used by method='integrated_gradients' only"),
    ({"method": "integrated_gradients", "n_steps": 1}, ValueError,
     r"'n_steps' parameter of gradient_importance must be an int in the range \[2, inf\). Got 1"),
    ({"method": "smoothgrad", "noise_scale": -1}, ValueError, r"'noise_scale' parameter"),
])
def test_bad_parameters_are_named(X, kwargs, error, match):
    model, _ = _linear(units=3)
    with pytest.raises(error, match=match):
        seqimp.gradient_importance(model, X, **kwargs)


def test_other_keras_backends_are_named(linear, X, monkeypatch):
    import seqimp.adapters.spec

    monkeypatch.setattr(seqimp.adapters.spec, "keras_backend", lambda: "jax")  # read once, there
    with pytest.raises(ValueError, match=r"Keras 3 with the TensorFlow backend, or tf_keras.*'jax' backend.*"
                                         r"KERAS_BACKEND=tensorflow"):
        seqimp.gradient_importance(linear[0], X)


def test_a_model_with_two_outputs_is_refused(X):
    inp = keras.Input((T, F))
    flat = keras.layers.Flatten()(inp)
    model = keras.Model(inp, [keras.layers.Dense(1)(flat), keras.layers.Dense(2)(flat)])
    with pytest.raises(ValueError, match="returned 2 output arrays"):
        seqimp.gradient_importance(model, X)


def test_input_of_the_wrong_shape_is_named(linear):
    with pytest.raises(ValueError, match=r"model expects input of shape \(None, 6, 3\)"):
        seqimp.gradient_importance(linear[0], np.zeros((5, 6, 4)))


def test_integrated_gradients_trapezoid_weights_sum_to_one():
    for n in (2, 3, 50):
        alphas, weights = trapezoid_path(n)
        assert alphas[0] == 0.0 and alphas[-1] == 1.0
        np.testing.assert_allclose(weights.sum(), 1.0)
