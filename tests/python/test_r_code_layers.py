"""R code inside a Keras model (issue 23, item 1), seen from Python: reticulate makes an R function a
Python function of the module "rpytools.call", and seqimp tells such layers apart by that name. The
testthat file test-r-code-in-keras.R explains real R layers from R; here a stand-in function with that
module name checks what the predictor and the engine do with them."""

import numpy as np
import pytest

import seqimp
from conftest import require
from seqimp.adapters.keras_forward import KerasPredictor
from seqimp.adapters.keras_layers import r_code_layers

keras = require("keras")


def _as_if_from_r(f):
    f.__module__ = "rpytools.call"
    return f


def _model(function):
    inp = keras.Input((4, 2))
    h = keras.layers.Lambda(function, output_shape=(4, 2), name="lambda_from_r")(inp)
    return keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(h)))


def test_layers_running_r_code_run_one_chunk_at_a_time_on_the_calling_thread():
    with_r = _model(_as_if_from_r(lambda t: t))
    plain = _model(lambda t: t)
    assert r_code_layers(with_r) == ["lambda_from_r"] and r_code_layers(plain) == []
    assert KerasPredictor(with_r, "keras").concurrent_chunks == 1
    assert KerasPredictor(plain, "keras").concurrent_chunks == 2  # plain Keras keeps its concurrency

    class RMethods(keras.layers.Layer):  # a layer class defined from R: its methods are R functions
        call = _as_if_from_r(lambda self, inputs: inputs)

    inp = keras.Input((4, 2))
    custom = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(RMethods(name="r_layer")(inp))))
    assert r_code_layers(custom) == ["r_layer"]


def test_n_jobs_is_refused_for_a_model_with_r_code():
    X = np.random.default_rng(0).random((30, 4, 2)).astype("float32")
    with pytest.raises(ValueError, match=r"'n_jobs' parameter of perturbation_importance must be 1 for this "
                                         r"model: its layers \['lambda_from_r'\] run R code"):
        seqimp.perturbation_importance(_model(_as_if_from_r(lambda t: t)), X, n_jobs=2, random_state=0)
