"""olden_importance and garson_importance against their formulas, computed here from the weights."""

import numpy as np
import pytest
from conftest import require

keras = require("keras")

import seqimp  # noqa: E402


def _mlp(n_in, hidden, n_out=1, seed=0, extra_layers=()):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((n_in,))]
    for units in hidden:
        layers.append(keras.layers.Dense(units, activation="tanh"))
        layers.extend(layer() for layer in extra_layers)
    layers.append(keras.layers.Dense(n_out))
    return keras.Sequential(layers)


def _kernels(model):
    return [layer.get_weights()[0].astype(np.float64) for layer in model.layers
            if isinstance(layer, keras.layers.Dense)]


def _garson_neuralnettools(w, v):
    """NeuralNetTools' garson.default written out with loops: w (inputs x hidden), v (hidden,) the weights
    to the explained output. sum_in[j, i] = |w_ij| |v_j|, each hidden unit's row normalised over the
    inputs, summed over the hidden units, then normalised to sum to 1."""
    n_in, n_hidden = w.shape
    totals = [0.0] * n_in
    for j in range(n_hidden):
        row = [abs(w[i, j]) * abs(v[j]) for i in range(n_in)]
        row_sum = sum(row)
        for i in range(n_in):
            totals[i] += row[i] / row_sum
    return np.array(totals) / sum(totals)


def _garson_v_weighted(w, v):
    """seqimp's layer-wise extension for one hidden layer: unit j's |v_j| shared by |w_ij| / sum_r |w_rj|."""
    n_in, n_hidden = w.shape
    q = np.zeros(n_in)
    for i in range(n_in):
        for j in range(n_hidden):
            q[i] += abs(w[i, j]) / sum(abs(w[r, j]) for r in range(n_in)) * abs(v[j])
    return q / q.sum()


def _mlp_with(w, v):
    """A Keras inputs-hidden-1 network with kernels w and v (biases 0.3, which Garson ignores)."""
    model = keras.Sequential([keras.Input((w.shape[0],)), keras.layers.Dense(w.shape[1], activation="tanh"),
                              keras.layers.Dense(1)])
    model.set_weights([w, np.full(w.shape[1], 0.3), np.reshape(v, (-1, 1)), np.array([0.3])])
    return model


def test_olden_is_w1_times_w2_for_one_hidden_layer():
    model = _mlp(4, [5], n_out=2)
    w1, w2 = _kernels(model)
    expected = np.array([sum(w1[i, j] * w2[j, 1] for j in range(5)) for i in range(4)])  # sum over paths
    r = seqimp.olden_importance(model, output=1)
    np.testing.assert_allclose(r.importances[:, 0], expected, rtol=1e-10)
    assert r.importances.shape == (4, 1)
    np.testing.assert_allclose(seqimp.olden_importance(model).importances_mean, (w1 @ w2).mean(axis=1))
    np.testing.assert_allclose(seqimp.olden_importance(model, output="sum").importances_mean,
                               (w1 @ w2).sum(axis=1))


def test_olden_sums_the_product_of_weights_over_every_path_of_a_deeper_network():
    model = _mlp(3, [4, 5])
    w1, w2, w3 = _kernels(model)
    expected = np.zeros(3)
    for i in range(3):
        for j in range(4):
            for k in range(5):
                expected[i] += w1[i, j] * w2[j, k] * w3[k, 0]
    np.testing.assert_allclose(seqimp.olden_importance(model).importances_mean, expected, rtol=1e-10)


def test_garson_of_a_5_6_1_network_equals_neuralnettools():
    model = _mlp(5, [6], seed=11)
    w, v = _kernels(model)
    r = seqimp.garson_importance(model)
    np.testing.assert_allclose(r.importances_mean, _garson_neuralnettools(w, v[:, 0]), rtol=1e-12)
    assert r.importances_mean.sum() == pytest.approx(1.0)
    # The hidden-to-output weights cancel: scaling them, or flipping their signs, changes nothing...
    rescaled = _mlp_with(w, v[:, 0] * np.array([10.0, -0.1, 1.0, 3.0, -1.0, 0.5]))
    np.testing.assert_allclose(seqimp.garson_importance(rescaled).importances_mean, r.importances_mean,
                               rtol=1e-12)
    # ...which the |v|-weighted sharing seqimp computed before does not satisfy on this network.
    assert np.abs(_garson_v_weighted(w, v[:, 0]) - r.importances_mean).max() > 0.01


def test_garson_on_fixed_weights_matches_the_numbers_neuralnettools_prints():
    # NeuralNetTools' own example, garson(c(13.12, 1.49, 0.16, -0.11, -0.19, -0.16, 0.56, -0.52, 0.81),
    # c(2, 2, 1)) (nnet order: each hidden unit's bias then its input weights; then the output's),
    # prints 0.722943722943723 0.277056277056277; by hand: (1.49/1.65 + 0.19/0.35) / 2 and the rest.
    w = np.array([[1.49, -0.19], [0.16, -0.16]])
    model = _mlp_with(w, np.array([-0.52, 0.81]))
    expected = np.array([1.49 / 1.65 + 0.19 / 0.35, 0.16 / 1.65 + 0.16 / 0.35]) / 2
    np.testing.assert_allclose(expected, [0.722943722943723, 0.277056277056277], rtol=1e-14)
    # Keras keeps the weights in float32: equal to float32 round-off.
    np.testing.assert_allclose(seqimp.garson_importance(model).importances_mean, expected, rtol=1e-6)
    # A 3-4-1 network with output weights of unequal sizes; NeuralNetTools prints these three numbers.
    w = np.array([[1.0, 0.25, -0.4, 2.0], [-0.5, 0.75, 0.1, -0.3], [0.2, -1.5, 0.9, 0.6]])
    model = _mlp_with(w, np.array([1.2, -0.05, 0.5, -2.5]))
    np.testing.assert_allclose(seqimp.garson_importance(model).importances_mean,
                               [0.415901188061432, 0.192248623587366, 0.391850188351203], rtol=1e-6)


def test_garson_with_several_outputs_and_a_unit_cut_from_the_output():
    model = _mlp(4, [6], n_out=3, seed=1)
    w, v = _kernels(model)
    for output in (0, 2):
        r = seqimp.garson_importance(model, output=output)
        np.testing.assert_allclose(r.importances_mean, _garson_neuralnettools(w, v[:, output]), rtol=1e-12)
    np.testing.assert_allclose(seqimp.garson_importance(model, output="sum").importances_mean,
                               _garson_neuralnettools(w, np.abs(v).sum(axis=1)), rtol=1e-12)
    # A hidden unit with no weight to the output passes nothing on (NeuralNetTools would give NaN).
    v0 = v[:, 0].copy()
    v0[2] = 0.0
    cut = _mlp_with(w, v0)
    kept = [0, 1, 3, 4, 5]
    np.testing.assert_allclose(seqimp.garson_importance(cut).importances_mean,
                               _garson_neuralnettools(w[:, kept], v0[kept]), rtol=1e-12)


def test_garson_refuses_a_deeper_network_unless_layerwise():
    model = _mlp(3, [4, 2], seed=2)
    with pytest.raises(ValueError, match=r"garson_importance computes Garson's method as published.*"
                                         r"2 hidden Dense layers.*NeuralNetTools refuses.*layerwise=True"):
        seqimp.garson_importance(model)
    with pytest.raises(TypeError, match=r"'layerwise' parameter of garson_importance must be a bool"):
        seqimp.garson_importance(model, layerwise="yes")


def test_garson_layerwise_shares_layer_by_layer():
    model = _mlp(3, [4, 2], seed=2)
    w1, w2, w3 = _kernels(model)
    # Share of hidden-2 unit k's |weight to the output| given to hidden-1 unit j, then to input i.
    q = np.zeros(3)
    for i in range(3):
        for j in range(4):
            for k in range(2):
                q[i] += (abs(w1[i, j]) / np.abs(w1[:, j]).sum()) * (abs(w2[j, k]) / np.abs(w2[:, k]).sum()) \
                    * abs(w3[k, 0])
    r = seqimp.garson_importance(model, layerwise=True)
    np.testing.assert_allclose(r.importances_mean, q / q.sum(), rtol=1e-10)
    assert r.params["layerwise"] is True
    # With one hidden layer the extension weights each hidden unit by |v_j|: not the published number.
    shallow = _mlp(5, [6], seed=11)
    w, v = _kernels(shallow)
    np.testing.assert_allclose(seqimp.garson_importance(shallow, layerwise=True).importances_mean,
                               _garson_v_weighted(w, v[:, 0]), rtol=1e-12)


def test_no_hidden_layer_is_the_weights_themselves():
    model = _mlp(3, [])
    (w,) = _kernels(model)
    np.testing.assert_allclose(seqimp.olden_importance(model).importances_mean, w[:, 0])
    np.testing.assert_allclose(seqimp.garson_importance(model).importances_mean, np.abs(w[:, 0]) / np.abs(w).sum())


def test_dropout_and_activation_layers_are_skipped():
    plain = _mlp(3, [4], seed=3)
    with_extras = _mlp(3, [4], seed=3, extra_layers=(lambda: keras.layers.Dropout(0.5),
                                                      lambda: keras.layers.Activation("relu")))
    with_extras.set_weights(plain.get_weights())
    np.testing.assert_allclose(seqimp.olden_importance(with_extras).importances,
                               seqimp.olden_importance(plain).importances)


def test_flattened_sequence_input_gives_cells_and_features():
    T, F = 4, 3
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.Flatten(), keras.layers.Dense(5, "relu"),
                              keras.layers.Dense(1)])
    w1, w2 = _kernels(model)
    per_cell = (w1 @ w2)[:, 0].reshape(T, F)  # Flatten puts cell (t, f) at t * F + f
    cells = seqimp.olden_importance(model, granularity="cell", feature_names=["a", "b", "c"])
    np.testing.assert_allclose(cells.importances_mean, per_cell.ravel())
    assert cells.labels[1].name == "b@t0"
    features = seqimp.olden_importance(model)
    np.testing.assert_allclose(features.importances_mean, per_cell.sum(axis=0))
    shares = seqimp.garson_importance(model, feature_names=["a", "b", "c"]).importances_mean
    groups = seqimp.garson_importance(model, groups={"ab": ["a", "b"], "c": ["c"]}, feature_names=["a", "b", "c"])
    np.testing.assert_allclose(groups.importances_mean, [shares[0] + shares[1], shares[2]])
    assert groups.importances_mean.sum() == pytest.approx(1.0)


def test_tf_keras_models_work_the_same():
    tf_keras = require("tf_keras")
    model = _mlp(3, [4], seed=5)
    legacy = tf_keras.Sequential([tf_keras.Input((3,)), tf_keras.layers.Dense(4, activation="tanh"),
                                  tf_keras.layers.Dense(1)])
    legacy.set_weights(model.get_weights())
    np.testing.assert_allclose(seqimp.garson_importance(legacy).importances,
                               seqimp.garson_importance(model).importances)


def test_olden_ranks_inputs_correctly_on_simulated_data():
    # y = 1.0 x1 + 0.6 x2 + 0.3 x3 + 0.1 x4 + 0 x5 + noise, inputs independent N(0, 1): the true ranking
    # is x1 > x2 > x3 > x4 > x5 (the setting of Olden et al. 2004, with a linear response).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5)).astype(np.float32)
    beta = np.array([1.0, 0.6, 0.3, 0.1, 0.0], np.float32)
    y = X @ beta + rng.normal(scale=0.1, size=2000).astype(np.float32)
    model = _mlp(5, [6], seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(X, y, epochs=30, batch_size=64, verbose=0)
    residual = y - model.predict(X, verbose=0)[:, 0]
    assert 1 - residual.var() / y.var() > 0.95  # the network learned the response
    olden = seqimp.olden_importance(model).importances_mean
    assert list(np.argsort(-olden)) == [0, 1, 2, 3, 4], olden
    assert olden[0] > 10 * abs(olden[4])


# ---- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("func", [seqimp.olden_importance, seqimp.garson_importance])
def test_an_lstm_gets_an_error_that_points_to_the_methods_that_work(func):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"layer 'lstm.*' of type LSTM.*gradient_importance.*"
                                         r"perturbation_importance"):
        func(model)


@pytest.mark.parametrize("layer", [lambda: keras.layers.BatchNormalization(),
                                   lambda: keras.layers.Conv1D(2, 2)])
def test_other_layers_are_refused(layer):
    model = keras.Sequential([keras.Input((5, 3)), layer(), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="works on networks of Dense layers"):
        seqimp.olden_importance(model)


def test_a_flatten_after_a_dense_layer_is_refused():
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="type Flatten after the first Dense layer"):
        seqimp.olden_importance(model)


def test_non_keras_models_and_bad_outputs_are_named():
    with pytest.raises(TypeError, match=r"'model' parameter of olden_importance must be a Keras model"):
        seqimp.olden_importance(lambda x: x)
    model = _mlp(3, [4], n_out=2)
    with pytest.raises(ValueError, match=r"'output' parameter of garson_importance .* Got 2 instead"):
        seqimp.garson_importance(model, output=2)
    with pytest.raises(ValueError, match=r"'output' parameter of olden_importance .* Got 'max' instead"):
        seqimp.olden_importance(model, output="max")


def test_dense_layers_on_every_timestep_have_no_per_timestep_weights():
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4), keras.layers.Dense(1)])
    w1, w2 = _kernels(model)
    np.testing.assert_allclose(seqimp.olden_importance(model).importances_mean, (w1 @ w2)[:, 0])
    with pytest.raises(ValueError, match="'granularity' parameter of olden_importance must be 'feature'"):
        seqimp.olden_importance(model, granularity="timestep")
