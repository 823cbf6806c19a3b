"""Model adapters: Keras 3, tf_keras, callables and .predict objects give the same numbers; the
compiled forward is cached per model and never retraces; bad models get errors naming the shapes."""

import numpy as np
import pytest
from conftest import require

import seqimp
from seqimp.adapters import as_predictor
from seqimp.adapters.keras_forward import _FORWARD_CACHE
from seqimp.inputs import as_sequence_data

T, F = 6, 3
W = np.array([1.5, -0.5, 0.0])


def linear_keras(keras):
    """y = sum_t sum_j w_j x_tj as Flatten -> Dense(1) with the kernel tiled over timesteps."""
    inp = keras.Input((T, F))
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inp, dense(keras.layers.Flatten()(inp)))
    dense.set_weights([np.tile(W, T)[:, None].astype(np.float32)])
    return model


def linear_numpy(x):
    return (x * W).sum(axis=(1, 2))


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).random((300, T, F)).astype(np.float32)


@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
def test_keras_models_predict_like_the_formula(flavour, X):
    keras = require(flavour)
    model = linear_keras(keras)
    predictor = as_predictor(model)
    assert predictor.description == ("Keras 3 model" if flavour == "keras" else "tf_keras model")
    predictor.prepare(128, as_sequence_data(X))
    np.testing.assert_allclose(predictor(X[:100]).ravel(), linear_numpy(X[:100]), rtol=1e-5)


@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
def test_keras_importances_equal_the_numpy_function_importances(flavour, X):
    keras = require(flavour)
    model = linear_keras(keras)
    by_keras = seqimp.perturbation_importance(model, X, n_repeats=2, random_state=3)
    by_numpy = seqimp.perturbation_importance(linear_numpy, X, n_repeats=2, random_state=3)
    np.testing.assert_allclose(by_keras.importances, by_numpy.importances, rtol=1e-4)
    assert by_keras.importances_mean[2] == 0.0  # zero weight: the float32 graph ignores it exactly


def test_compiled_forward_is_cached_per_model_and_never_retraces(X):
    keras = require("keras")
    model = linear_keras(keras)
    for n_repeats in (1, 2, 3):  # different amounts of work, same chunk size
        seqimp.perturbation_importance(model, X, n_repeats=n_repeats, batch_size=64, random_state=0)
    entries = _FORWARD_CACHE[model]
    assert list(entries) == [(64, (T, F), False)]
    assert entries[(64, (T, F), False)]._fn.experimental_get_tracing_count() == 1


def test_recurrent_models_use_xla():
    keras = require("keras")
    inp = keras.Input((T, F))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(4)(inp)))
    assert as_predictor(model).jit_compile is True
    assert as_predictor(linear_keras(keras)).jit_compile is False


def test_predict_method_objects_are_used(X):
    class Model:
        def predict(self, x):
            return linear_numpy(x)

    r = seqimp.perturbation_importance(Model(), X, random_state=1)
    assert r.importances_mean[0] > r.importances_mean[1] > r.importances_mean[2] == 0.0


def test_wrong_number_of_rows_names_the_model_and_both_shapes(X):
    with pytest.raises(ValueError, match=r"model returned predictions of shape \(\d+,\) for an input of "
                                         r"shape \(\d+, 6, 3\); expected \d+ rows"):
        seqimp.perturbation_importance(lambda x: linear_numpy(x)[:-1], X)


def test_model_that_rejects_the_input_names_the_shape(X):
    def picky(x):
        raise ValueError("expected 4 features")

    with pytest.raises(ValueError, match=r"model \(callable\) failed on input of shape \(\d+, 6, 3\).*"
                                         r"expected 4 features"):
        seqimp.perturbation_importance(picky, X)


def test_keras_model_with_other_input_shape_names_both_shapes(X):
    keras = require("keras")
    with pytest.raises(ValueError, match=r"model expects input of shape \(None, 6, 3\), but X has shape "
                                         r"\(300, 6, 2\)"):
        seqimp.perturbation_importance(linear_keras(keras), X[:, :, :2])


def test_several_outputs_are_refused_with_advice(X):
    with pytest.raises(ValueError, match="returned 2 output arrays; seqimp explains one output"):
        seqimp.perturbation_importance(lambda x: [x.sum(axis=(1, 2)), x.sum(axis=(1, 2))], X)


def test_not_a_model_is_a_type_error():
    with pytest.raises(TypeError, match="'model' parameter of perturbation_importance must be a Keras "
                                        "model, a callable"):
        seqimp.perturbation_importance(42, np.ones((3, 2, 2)))


@pytest.mark.parametrize("method", ["perturbation", "permutation", "gradient", "lek"])
def test_the_model_is_read_once_per_call(method, X, monkeypatch):
    # One ModelSpec per call, handed to the input stage, the masks, the tokens and the predictor: the
    # model's padding layers (one of the things the spec holds) are read once, not once per consumer.
    keras = require("keras")
    import seqimp.adapters.spec as spec_module

    model = linear_keras(keras)
    reads = []
    original = spec_module.keras_padding
    monkeypatch.setattr(spec_module, "keras_padding", lambda m: reads.append(m) or original(m))
    y = linear_numpy(X)
    {"perturbation": lambda: seqimp.perturbation_importance(model, X, random_state=0),
     "permutation": lambda: seqimp.permutation_importance(model, X, y, n_repeats=1, random_state=0),
     "gradient": lambda: seqimp.gradient_importance(model, X),
     "lek": lambda: seqimp.lek_profile(model, X, n_points=3)}[method]()
    assert reads == [model]
