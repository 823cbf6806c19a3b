"""Several inputs: a sequence plus static covariates, as a list (the model's input order) or a dict
(keyed by its input names), with callables and with Keras 3 / tf_keras multi-input models.

Expected numbers come from the definitions: for y = f(x) of a model that is a sum of one term per
feature, permuting feature j's whole trajectory across samples raises the MSE by
E[(c_j(x_i) - c_j(x_pi(i)))^2] = 2 Var(c_j), c_j the feature's contribution; a feature the model does not
read scores exactly 0 (the predictions do not change at all).
"""

import numpy as np
import pytest
from conftest import require

import seqimp
from seqimp.inputs import as_sequence_data

N, T = 3000, 6
W_SEQ = np.array([0.5, 1.0])       # per step, on seq's two features
W_STATIC = np.array([2.0, 0.0, 0.0])  # static's second and third features are not used


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    seq = rng.normal(size=(N, T, 2)).astype(np.float32)
    static = rng.normal(size=(N, 3)).astype(np.float32)
    return seq, static


def contributions(seq, static):
    seq, static = seq.astype(np.float64), static.astype(np.float64)
    return [W_SEQ[0] * seq[:, :, 0].sum(1), W_SEQ[1] * seq[:, :, 1].sum(1)] + \
        [W_STATIC[j] * static[:, j] for j in range(3)]


def linear_list(x):
    seq, static = x
    return np.sum(contributions(seq, static), axis=0)


def linear_dict(x):
    return linear_list([x["seq"], x["static"]])


def test_permuting_a_trajectory_raises_mse_by_twice_the_variance_of_its_contribution(data):
    seq, static = data
    y = linear_list(data)
    r = seqimp.permutation_importance(linear_list, [seq, static], y, metric="mse", n_repeats=20,
                                      random_state=0)
    expected = [2 * np.var(c) for c in contributions(seq, static)]
    # Var of the mean of 20 repeats of a mean over 3000 samples: about 1% of the value.
    np.testing.assert_allclose(r.importances_mean[:3], expected[:3], rtol=0.04)
    # The unused static features: the predictions do not move at all.
    assert r.importances[3:].tolist() == [[0.0] * 20, [0.0] * 20]


def test_list_and_dict_give_the_same_numbers(data):
    seq, static = data
    y = linear_list(data)
    for method in ("perturbation", "permutation"):
        kwargs = {"random_state": 3, "n_repeats": 2}
        if method == "perturbation":
            a = seqimp.perturbation_importance(linear_list, [seq, static], **kwargs)
            b = seqimp.perturbation_importance(linear_dict, {"seq": seq, "static": static}, **kwargs)
        else:
            a = seqimp.permutation_importance(linear_list, [seq, static], y, **kwargs)
            b = seqimp.permutation_importance(linear_dict, {"seq": seq, "static": static}, y, **kwargs)
        np.testing.assert_array_equal(a.importances, b.importances)


def test_callables_get_the_callers_structure_in_every_chunk(data):
    seq, static = data
    seen = []

    def model(x):
        seen.append((type(x).__name__, tuple(sorted(x)) if isinstance(x, dict) else len(x),
                     x["seq"].shape[1:], x["static"].shape[1:]))
        return linear_dict(x)

    seqimp.perturbation_importance(model, {"seq": seq[:100], "static": static[:100]}, batch_size=64,
                                   random_state=0)
    assert len(seen) > 3
    assert set(seen) == {("dict", ("seq", "static"), (T, 2), (3,))}


def test_results_do_not_depend_on_batch_size(data):
    seq, static = data
    a = seqimp.perturbation_importance(linear_list, [seq[:300], static[:300]], noise="swap", n_repeats=2,
                                       random_state=1, batch_size=37)
    b = seqimp.perturbation_importance(linear_list, [seq[:300], static[:300]], noise="swap", n_repeats=2,
                                       random_state=1, batch_size=1000)
    np.testing.assert_array_equal(a.importances, b.importances)


def test_names_are_prefixed_with_the_input_only_where_two_inputs_share_them(data):
    seq, static = data
    d = as_sequence_data({"seq": seq, "static": static}, feature_names={"seq": ["temp", "load"]})
    assert d.feature_names == ("temp", "load", "x1", "x2", "x3")
    d = as_sequence_data({"seq": seq, "static": static})
    assert d.feature_names == ("seq.x1", "seq.x2", "static.x1", "static.x2", "x3")
    d = as_sequence_data([seq, static], feature_names=[["a", "b"], ["b", "c", "d"]])
    assert d.feature_names == ("a", "input1.b", "input2.b", "c", "d")
    assert [b.input_ndim for b in d.blocks] == [3, 2] and d.structure == "list"


def test_groups_mix_inputs_and_granularity_cell_keeps_2d_inputs_as_features(data):
    seq, static = data
    X = {"seq": seq[:200], "static": static[:200]}
    names = {"seq": ["temp", "load"], "static": ["age", "height", "site"]}
    r = seqimp.perturbation_importance(linear_dict, X, feature_names=names, noise="zero",
                                       groups={"warm": ["temp", "age"], "unused": ["height", "site"]})
    assert r.label_names == ["warm", "unused"]
    expected = np.sqrt(np.mean((W_SEQ[0] * X["seq"][:, :, 0].sum(1) + 2.0 * X["static"][:, 0]) ** 2))
    np.testing.assert_allclose(r.importances_mean[0], expected, rtol=1e-5)
    assert r.importances_mean[1] == 0.0

    cells = seqimp.perturbation_importance(linear_dict, X, feature_names=names, granularity="cell",
                                           noise="zero")
    frame = cells.to_frame()
    assert frame["feature"].tolist() == ["temp", "load"] * T + ["age", "height", "site"]
    assert frame["timestep"].isna().tolist() == [False] * (2 * T) + [True] * 3
    steps = seqimp.perturbation_importance(linear_dict, X, feature_names=names, granularity="timestep",
                                           noise="zero")
    assert steps.label_names == [f"t{t}" for t in range(T)] + ["age", "height", "site"]


def test_bad_several_inputs_are_refused_naming_the_argument(data):
    seq, static = data
    with pytest.raises(ValueError, match=r"'X' parameter of perturbation_importance must hold arrays with "
                                         r"the same number of samples.*X\['seq'\] has 3000, X\['static'\] has 10"):
        seqimp.perturbation_importance(linear_dict, {"seq": seq, "static": static[:10]})
    with pytest.raises(ValueError, match=r"'feature_names'.*keys \['sequence'\] that are not inputs of X"):
        as_sequence_data({"seq": seq, "static": static}, feature_names={"sequence": ["a", "b"]})
    with pytest.raises(ValueError, match=r"one name per feature \(3\) for X\['static'\]"):
        as_sequence_data({"seq": seq, "static": static}, feature_names={"static": ["a"]})
    with pytest.raises(ValueError, match=r"'groups'.*'x1', which several inputs have.*'seq.x1'"):
        seqimp.perturbation_importance(linear_dict, {"seq": seq, "static": static}, groups={"g": ["x1"]})


# -- Keras multi-input models ---------------------------------------------------------------------------

def _keras_linear(keras, as_dict):
    """f(seq, static) = sum_t seq_t . W_SEQ + static . W_STATIC, as Flatten -> Dense beside a Dense."""
    seq_in = keras.Input((T, 2), name="seq")
    static_in = keras.Input((3,), name="static")
    a = keras.layers.Dense(1, use_bias=False, name="seq_weights")(keras.layers.Flatten()(seq_in))
    b = keras.layers.Dense(1, use_bias=False, name="static_weights")(static_in)
    out = keras.layers.Add()([a, b])
    model = keras.Model({"seq": seq_in, "static": static_in} if as_dict else [seq_in, static_in], out)
    model.get_layer("seq_weights").set_weights([np.tile(W_SEQ, T).reshape(-1, 1).astype(np.float32)])
    model.get_layer("static_weights").set_weights([W_STATIC.reshape(-1, 1).astype(np.float32)])
    return model


@pytest.mark.parametrize("package", ["keras", "tf_keras"])
def test_keras_multi_input_models_match_the_closed_form_and_each_other(data, package):
    keras = require(package)
    seq, static = data[0][:800], data[1][:800]
    y = linear_list([seq, static])
    listed = _keras_linear(keras, as_dict=False)
    keyed = _keras_linear(keras, as_dict=True)
    a = seqimp.permutation_importance(listed, [seq, static], y, metric="mse", n_repeats=3, random_state=0)
    # A dict in another key order reaches the model by name; labels follow X's order.
    b = seqimp.permutation_importance(keyed, {"seq": seq, "static": static}, y, metric="mse", n_repeats=3,
                                      random_state=0)
    c = seqimp.permutation_importance(linear_list, [seq, static], y, metric="mse", n_repeats=3,
                                      random_state=0)
    np.testing.assert_allclose(a.importances, c.importances, rtol=1e-4)
    np.testing.assert_allclose(b.importances, c.importances, rtol=1e-4)
    assert np.all(a.importances[3:] == 0.0)
    swapped = seqimp.permutation_importance(listed, {"static": static, "seq": seq}, y, metric="mse",
                                            n_repeats=1, random_state=0)
    assert swapped.label_names[:3] == ["static.x1", "static.x2", "x3"]


def test_keras_inputs_are_checked_against_the_model(data):
    keras = require("keras")
    seq, static = data[0][:50], data[1][:50]
    keyed = _keras_linear(keras, as_dict=True)
    with pytest.raises(ValueError, match=r"'X' parameter must be keyed by the model's input names "
                                         r"\['seq', 'static'\]: X lacks \['seq'\] and has extra keys "
                                         r"\['sequence'\]"):
        seqimp.perturbation_importance(keyed, {"sequence": seq, "static": static})
    with pytest.raises(ValueError, match=r"takes 2 inputs.*X has 3"):
        seqimp.perturbation_importance(keyed, [seq, static, static])
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\).*input 2 of X has shape \(50, 2\)"):
        seqimp.perturbation_importance(keyed, [seq, static[:, :2]])


def test_gradients_give_attributions_per_input_that_add_up(data):
    keras = require("keras")
    seq, static = data[0][:64], data[1][:64]
    model = _keras_linear(keras, as_dict=True)
    r = seqimp.gradient_importance(model, {"seq": seq, "static": static}, method="integrated_gradients",
                                   n_steps=8)
    assert set(r.attributions) == {"seq", "static"}
    assert r.attributions["seq"].shape == seq.shape and r.attributions["static"].shape == static.shape
    # Linear: integrated gradients from zeros are w * x, cell by cell.
    np.testing.assert_allclose(r.attributions["seq"], seq * W_SEQ, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r.attributions["static"], static * W_STATIC, rtol=1e-5, atol=1e-5)
    assert np.abs(r.extra["completeness_gap"]).max() < 1e-4
    assert r.importances_mean[3] == 0.0 and r.importances_mean[4] == 0.0
    listed = seqimp.gradient_importance(_keras_linear(keras, as_dict=False), [seq, static])
    assert isinstance(listed.attributions, list) and listed.attributions[1].shape == static.shape
    np.testing.assert_allclose(listed.attributions[1], np.broadcast_to(np.abs(W_STATIC), static.shape))


def test_lek_profile_varies_one_feature_of_one_input(data):
    seq, static = data[0][:200], data[1][:200]
    frame = seqimp.lek_profile(linear_dict, {"seq": seq, "static": static}, features=["static.x1", "x3"],
                               quantiles=[0.5], n_points=3)
    age = frame[frame["feature"] == "static.x1"]
    slope = np.diff(age["response"].to_numpy()) / np.diff(age["value"].to_numpy())
    np.testing.assert_allclose(slope, 2.0, rtol=1e-4)
    flat = frame[frame["feature"] == "x3"]["response"].to_numpy()
    assert np.all(flat == flat[0])


class _LeastSquares:
    """A linear model fitted by least squares on every input's values side by side."""

    def __init__(self, widths):
        self.widths = widths

    @staticmethod
    def _design(X):
        parts = [np.asarray(v, dtype=np.float64).reshape(len(v), -1) for v in X.values()]
        return np.concatenate(parts + [np.ones((len(parts[0]), 1))], axis=1)

    def fit(self, X, y):
        assert [np.shape(v)[-1] for v in X.values()] == list(self.widths.values())
        self.coef = np.linalg.lstsq(self._design(X), y, rcond=None)[0]

    def predict(self, X):
        return self._design(X) @ self.coef


def test_lofo_narrows_the_input_a_feature_belongs_to(data):
    seq, static = data[0][:600], data[1][:600]
    y = linear_list([seq, static]) + 0.01 * np.random.default_rng(2).normal(size=600)
    calls = []

    def build(widths):
        calls.append(dict(widths))
        return _LeastSquares(widths)

    r = seqimp.lofo_importance(build, {"seq": seq, "static": static}, y, metric="mse", cv=3, random_state=0,
                               progress=False)
    assert {"seq": 1, "static": 3} in calls and {"seq": 2, "static": 2} in calls
    # Without feature j the best linear fit misses its whole contribution: the MSE rises by Var(c_j).
    expected = [np.var(c) for c in contributions(seq, static)]
    np.testing.assert_allclose(r.importances_mean[:3], expected[:3], rtol=0.15)
    assert np.abs(r.importances_mean[3:]).max() < 1e-3
    keras = require("keras")
    with pytest.raises(TypeError, match=r"must be a builder function when X has several inputs.*"
                                        r"\{'seq': 2, 'static': 3\}"):
        seqimp.lofo_importance(_keras_linear(keras, as_dict=True), {"seq": seq, "static": static}, y)
