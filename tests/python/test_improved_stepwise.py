"""improved_stepwise_importance (Gevrey et al. 2003, improved stepwise a and b) against the path a linear
network with known weights must take, computed here from the data; the model is never fitted."""

import numpy as np
import pytest
from conftest import require

keras = require("keras")

import seqimp  # noqa: E402

T = 4
# Feature spreads and means chosen so the two variants disagree: "a" has a large mean and a tiny spread,
# so feeding it 0 (variant 1) costs w**2 * 25 while holding it at its mean (variant 2) costs almost
# nothing; "d" is unused.
W = np.array([1.0, 1.0, -0.5, 0.0])
MEANS = np.array([5.0, 0.0, 0.0, 1.0])
SDS = np.array([0.1, 1.0, 1.2, 1.0])
NAMES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (MEANS + SDS * rng.normal(size=(400, T, 4))).astype(np.float32)
    y = X.astype(np.float64) @ W
    y = y.sum(axis=1) + 0.3 + 0.05 * rng.normal(size=400)
    return X, y


@pytest.fixture(scope="module")
def linear():
    """Flatten -> Dense(1): s = sum_t w . x_t + 0.3, the same weights at every step."""
    model = keras.Sequential([keras.Input((T, 4)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.set_weights([np.tile(W, T).reshape(-1, 1).astype(np.float32), np.array([0.3], np.float32)])
    return model


def expected_path(X, y, variant):
    """Greedy backward path of the mean squared error with the neutralised features fed 0 (variant 1) or
    their mean over samples and timesteps (variant 2), written out from the linear model's formula."""
    X = X.astype(np.float64)
    value = np.zeros(4) if variant == 1 else X.mean(axis=(0, 1))

    def mse(removed):
        Z = X.copy()
        Z[:, :, removed] = value[removed]
        return np.mean((y - (Z @ W).sum(axis=1) - 0.3) ** 2)

    removed, current, contributions = [], mse([]), np.zeros(4)
    while len(removed) < 4:
        left = [j for j in range(4) if j not in removed]
        errors = [mse(removed + [j]) for j in left]
        pick = int(np.argmin(errors))
        contributions[left[pick]] = errors[pick] - current
        removed.append(left[pick])
        current = errors[pick]
    return [NAMES[j] for j in removed], contributions, mse([])


@pytest.mark.parametrize("variant, order", [(1, ["d", "c", "b", "a"]), (2, ["d", "a", "c", "b"])])
def test_linear_network_takes_the_expected_path_without_any_fit(linear, data, variant, order, monkeypatch):
    X, y = data

    def no_fit(*args, **kwargs):
        raise AssertionError("improved stepwise selection must not fit the model")

    monkeypatch.setattr(keras.Model, "fit", no_fit)
    monkeypatch.setattr(keras.Model, "train_on_batch", no_fit)
    weights = [w.copy() for w in linear.get_weights()]
    r = seqimp.improved_stepwise_importance(linear, X, y, variant=variant, feature_names=NAMES)
    names, contributions, baseline = expected_path(X, y, variant)
    assert names == order  # the smallest |w| x (RMS about 0, or spread) leaves first
    assert r.extra["order"] == order
    np.testing.assert_allclose(r.importances[:, 0], contributions, rtol=1e-4, atol=1e-6)
    assert r.importances[3, 0] == pytest.approx(0.0, abs=1e-9)  # the unused input costs nothing
    assert r.baseline_score == pytest.approx(baseline, rel=1e-4)
    assert r.extra["rank"].tolist() == [4 - order.index(n) for n in NAMES]
    # The contributions add up to the error with every input neutralised.
    assert r.importances.sum() + r.baseline_score == pytest.approx(r.extra["path"][-1]["score"], rel=1e-6)
    assert [step["feature"] for step in r.extra["path"]] == order
    assert r.method == f"improved_stepwise_{variant}" and r.importances.shape == (4, 1)
    assert all(np.array_equal(a, b) for a, b in zip(linear.get_weights(), weights))
    # One deterministic path: no standard error or test, and the result says why, in each language.
    with pytest.raises(ValueError, match="deterministic path") as caught:
        r.importances_se
    assert "method='improved_stepwise'" in str(caught.value)
    assert 'method = "improved_stepwise"' in caught.value.in_r()
    with pytest.raises(ValueError, match="deterministic path"):
        r.pvalues


def test_variant_1_equals_zeroing_the_first_kernel_rows(data):
    """On an LSTM, feeding 0 equals removing the input's rows of the recurrent layer's input kernel."""
    X, y = data
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((T, 4)), keras.layers.LSTM(5), keras.layers.Dense(1)])
    r = seqimp.improved_stepwise_importance(model, X, y, variant=1, feature_names=NAMES, metric="mae")
    first = r.extra["path"][0]["candidates"]
    for j, name in enumerate(NAMES):
        pruned = keras.models.clone_model(model)
        weights = [w.copy() for w in model.get_weights()]
        weights[0][j, :] = 0.0  # the LSTM's input kernel (features x 4 units)
        pruned.set_weights(weights)
        mae = np.mean(np.abs(y - pruned.predict(X, verbose=0)[:, 0]))
        assert first[name] == pytest.approx(mae, rel=1e-5)


def test_groups_several_inputs_and_batch_size(data):
    X, y = data
    static = np.random.default_rng(2).normal(size=(len(X), 2)).astype(np.float32)
    seq_in, static_in = keras.Input((T, 4), name="seq"), keras.Input((2,), name="static")
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(seq_in), static_in])
    model = keras.Model([seq_in, static_in], keras.layers.Dense(1)(joined))
    model.set_weights([np.r_[np.tile(W, T), [2.0, 0.0]].reshape(-1, 1).astype(np.float32),
                       np.array([0.3], np.float32)])
    target = y + 2.0 * static[:, 0]
    groups = {"ab": ["a", "b"], "cd": ["c", "d"], "s": ["s1", "s2"]}
    kwargs = dict(variant=1, groups=groups, feature_names={"seq": NAMES, "static": ["s1", "s2"]})
    r = seqimp.improved_stepwise_importance(model, {"seq": X, "static": static}, target, **kwargs)
    assert r.label_names == ["ab", "cd", "s"]
    Xd = X.astype(np.float64)
    parts = {"ab": (Xd[:, :, :2] @ W[:2]).sum(axis=1), "cd": (Xd[:, :, 2:] @ W[2:]).sum(axis=1),
             "s": 2.0 * static[:, 0].astype(np.float64)}
    residual = target - sum(parts.values()) - 0.3
    # The smallest group's removal first, then the next, each measured with the earlier ones removed.
    order = r.extra["order"]
    removed, previous = np.zeros(len(X)), np.mean(residual ** 2)
    for name in order:
        removed = removed + parts[name]
        error = np.mean((residual + removed) ** 2)
        assert r.importances[r.label_names.index(name), 0] == pytest.approx(error - previous, rel=1e-4, abs=1e-6)
        previous = error
    small = seqimp.improved_stepwise_importance(model, {"seq": X, "static": static}, target, batch_size=7, **kwargs)
    np.testing.assert_allclose(small.importances, r.importances, rtol=1e-6)


def test_variant_2_holds_real_cells_at_their_mean_and_keeps_padding():
    rng = np.random.default_rng(3)
    X = rng.normal(loc=2.0, size=(50, T, 2))
    lengths = rng.integers(1, T + 1, size=50)
    real = np.arange(T)[np.newaxis, :] >= (T - lengths)[:, np.newaxis]  # padding at the start
    X[~real] = -9.0
    seen = []

    def model(x):
        seen.append(x.copy())
        return np.where((x == -9.0).all(axis=2), 0.0, x @ [1.0, 3.0]).sum(axis=1)

    y = model(X)
    r = seqimp.improved_stepwise_importance(model, X, y, variant=2, mask_value=-9.0)
    means = X[real].mean(axis=0)
    for x in seen[1:]:
        copies = x.reshape(-1, *X.shape)  # each chunk holds whole copies of X (the job is small)
        assert np.all(copies[:, ~real] == -9.0)  # padding never touched
        assert np.all(copies[:, real] != -9.0)
    # Each input alone: MSE = w**2 * mean over samples of (sum over real steps of (x - mean))**2.
    alone = [np.mean((np.where(real, X[:, :, j] - means[j], 0.0).sum(axis=1) * w) ** 2)
             for j, w in enumerate([1.0, 3.0])]
    assert r.extra["path"][0]["candidates"] == pytest.approx({"x1": alone[0], "x2": alone[1]}, rel=1e-10)
    assert r.extra["order"] == ["x1", "x2"]


@pytest.mark.parametrize("layers, match", [
    (lambda: [keras.layers.Normalization(mean=0.0, variance=1.0), keras.layers.Flatten(), keras.layers.Dense(1)],
     "Normalization"),
    (lambda: [keras.layers.Masking(0.0), keras.layers.LSTM(2), keras.layers.Dense(1)], "mask_value=0"),
])
def test_variant_1_refuses_models_not_linear_in_the_input(layers, match, data):
    X, y = data
    model = keras.Sequential([keras.Input((T, 4))] + layers())
    with pytest.raises(ValueError, match=match):
        seqimp.improved_stepwise_importance(model, X, y, variant=1)
    seqimp.improved_stepwise_importance(model, X[:20], y[:20], variant=2)  # variant 2 takes any model


def test_masking_with_a_nonzero_value_is_accepted_by_variant_1(data):
    X, y = data
    model = keras.Sequential([keras.Input((T, 4)), keras.layers.Masking(-1.0), keras.layers.GRU(2),
                              keras.layers.Dense(1)])
    r = seqimp.improved_stepwise_importance(model, X[:30], y[:30], variant=1)
    assert sorted(r.extra["rank"].tolist()) == [1, 2, 3, 4]


def test_bad_arguments_are_named(linear, data):
    X, y = data
    with pytest.raises(ValueError, match="'variant' parameter of improved_stepwise_importance"):
        seqimp.improved_stepwise_importance(linear, X, y, variant=3)
    with pytest.raises(TypeError, match="variant=1 .*Keras model"):
        seqimp.improved_stepwise_importance(lambda x: x.sum(axis=(1, 2)), X, y, variant=1)
    frame = __import__("pandas").DataFrame({"u": [1.0, 2.0, 3.0, 4.0], "k": ["p", "q", "p", "q"]})
    with pytest.raises(TypeError, match="categorical features \\['k'\\]"):
        seqimp.improved_stepwise_importance(lambda x: np.zeros(len(x)), frame, np.zeros(4), variant=2)
