"""Compiled functions over many models: no "excessive retracing" warning from TensorFlow, and the per-model
caches let go of a model once it is deleted."""

import gc
import logging
import os
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest
from conftest import require

import seqimp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def tf_warnings():
    """The messages TensorFlow logs while the test runs (its Python logger is "tensorflow")."""
    handler = _Records()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _scalers(n):
    """``n`` functions made by one ``def``, as the adapters make one per model."""
    def make(k):
        def scaled(x):
            return x * k
        return scaled
    return [make(float(k)) for k in range(n)]


def _shifters(n):
    """The same from another ``def``: TensorFlow warns at most twice per code object, so the control
    below needs a code object of its own."""
    def make(k):
        def shifted(x):
            return x + k
        return shifted
    return [make(float(k)) for k in range(n)]


def test_compiled_functions_from_one_def_are_counted_apart(tf_warnings):
    tf = require("tensorflow")
    from seqimp.adapters.keras_compiled import compiled_function

    spec = [tf.TensorSpec((2,), tf.float32)]
    ones = tf.ones(2)
    outputs = []
    for fn in _scalers(8):
        compiled = compiled_function(fn, spec, False)
        outputs.append(compiled(ones).numpy())
        compiled(ones)
        assert compiled.experimental_get_tracing_count() == 1  # the fixed signature: one trace each
    assert not [m for m in tf_warnings if "retracing" in m]
    np.testing.assert_array_equal(outputs, [[k, k] for k in range(8)])
    # The control: plain tf.functions of closures of one def count as one function; the fifth warns.
    for fn in _shifters(6):
        tf.function(fn, input_signature=spec, autograph=False)(ones)
    assert any("triggered tf.function retracing" in m for m in tf_warnings)


def test_explaining_many_models_logs_no_retracing_warning(tmp_path):
    require("keras")
    script = textwrap.dedent("""
        import numpy as np, keras, seqimp
        X = np.random.default_rng(0).normal(size=(32, 5, 2)).astype(np.float32)
        for i in range(6):
            body = [keras.layers.LSTM(3)] if i % 2 else [keras.layers.Flatten(), keras.layers.Dense(4)]
            model = keras.Sequential([keras.Input((5, 2)), *body, keras.layers.Dense(1)])
            seqimp.perturbation_importance(model, X, random_state=0)
            seqimp.gradient_importance(model, X)
        print("explained", i + 1)
        for i in range(6):  # timestep labels on a recurrent stack: the prefix-state cache's functions
            model = keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
            seqimp.perturbation_importance(model, X, granularity="timestep", random_state=0)
        print("cached", i + 1)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "explained 6" in proc.stdout and "cached 6" in proc.stdout
    assert "retracing" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize("method", ["perturbation", "gradient"])
def test_a_deleted_model_leaves_the_compiled_caches(method):
    keras = require("keras")
    from seqimp.adapters.keras_forward import _FORWARD_CACHE
    from seqimp.adapters.keras_gradient import _GRADIENT_CACHE

    cache = _FORWARD_CACHE if method == "perturbation" else _GRADIENT_CACHE
    gc.collect()  # earlier tests' dead models leave now, not during the count below
    X = np.random.default_rng(1).normal(size=(16, 4, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.Flatten(), keras.layers.Dense(1)])
    if method == "perturbation":
        seqimp.perturbation_importance(model, X, random_state=0)
    else:
        seqimp.gradient_importance(model, X)
    assert model in cache
    entry = weakref.ref(next(iter(cache[model].values())))
    before = len(cache)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None          # the cache did not keep the model alive...
    assert len(cache) <= before - 1  # ...and its entry went with it (other dead models may go too),
    assert entry() is None          # the compiled function too
