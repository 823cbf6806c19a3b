"""How a Keras model is run: :class:`KerasPredictor` and its compiled forward pass.

For Keras 3 (TensorFlow backend) and tf_keras the forward pass is a ``tf.function`` traced once per
(model, chunk shape, XLA or not) with a fixed input signature, cached across calls, and fed fixed-size
chunks (the last one padded), so it never retraces. ``model.predict`` is never called per perturbed
copy. Keras 3 on another backend runs eagerly, chunk by chunk.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .keras_layers import check_keras_input_shape, has_recurrent_layer, keras_backend, keras_input_shape
from .protocol import Predictor, as_prediction_array

# Keras: about 2 MB of input per forward call, as a power of two between 256 and 4096 rows. Measured on
# LSTM(64)->LSTM(32) with T=50, F=8 (XLA, 2 cores): 1024 rows ran 1.3x faster than 512, 1.1x than 2048.
_KERAS_CHUNK_BYTES = 2 * 2**20
_KERAS_CHUNK_ROWS = (256, 4096)

# model -> {(chunk_rows, row_shape, jit): CompiledForward}. Weak keys: a cache entry dies with its model.
_FORWARD_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def cached_compiled(cache, model, key, build):
    """``cache[model][key]``, built by ``build()`` the first time; one lock for every compiled cache."""
    with _CACHE_LOCK:
        per_model = cache.setdefault(model, {})
        if key not in per_model:
            per_model[key] = build()
        return per_model[key]


class KerasPredictor(Predictor):
    """Keras 3 (TensorFlow backend) or tf_keras: a cached, compiled forward pass over fixed-size chunks.

    ``jit_compile='auto'`` uses XLA for models with recurrent layers, where it is measured to be faster
    on CPU; XLA that fails to compile falls back to a plain graph.
    """

    def __init__(self, model, flavour, jit_compile="auto"):
        super().__init__(model)
        self.flavour = flavour
        self.description = "Keras 3 model" if flavour == "keras" else "tf_keras model"
        if jit_compile == "auto":
            jit_compile = has_recurrent_layer(model)
        self.jit_compile = bool(jit_compile)
        self._forward = None
        self._chunk_rows = None
        self._eager = flavour == "keras" and keras_backend() != "tensorflow"

    @property
    def concurrent_chunks(self):
        """Two chunks in flight for a compiled graph (TensorFlow runs them concurrently and releases the
        GIL). Measured on LSTM(64)->LSTM(32), T=50, F=8, 1024-row chunks, 2 cores: 1.25x the throughput
        of one at a time. Eager (other-backend) models run one at a time."""
        return 1 if self._eager else 2

    def default_chunk_rows(self, row_shape):
        rows = _KERAS_CHUNK_BYTES // max(int(np.prod(row_shape)) * 4, 1)
        rows = 2 ** int(np.log2(max(rows, 1)))
        return int(np.clip(rows, *_KERAS_CHUNK_ROWS))

    def _expected(self):
        shape = keras_input_shape(self.model)
        return f" (the model expects input of shape {shape})" if shape is not None else ""

    def check_input_shape(self, input_shape):
        check_keras_input_shape(self.model, input_shape)

    def prepare(self, chunk_rows, data):
        self.check_input_shape(data.input_shape)
        self._compile(chunk_rows, data.input_shape[1:])

    def _compile(self, chunk_rows, row_shape):
        self._chunk_rows = int(chunk_rows)
        if self._eager:
            return
        row_shape = tuple(row_shape)
        self._forward = cached_compiled(
            _FORWARD_CACHE, self.model, (self._chunk_rows, row_shape, self.jit_compile),
            lambda: CompiledForward(self.model, self._chunk_rows, row_shape, self.jit_compile))

    def _call(self, block):
        if self._eager:
            return self.model.predict_on_batch(block)
        if self._forward is None or block.shape[0] > self._chunk_rows:
            self._compile(block.shape[0], block.shape[1:])
        out = as_prediction_array(self._forward(pad_rows(block, self._chunk_rows)), self.description)
        return out[:block.shape[0]]


def pad_rows(block, rows):
    """``block`` with zero rows appended up to ``rows``: the compiled function keeps one signature and
    never retraces for a short last chunk."""
    if block.shape[0] == rows:
        return block
    padded = np.zeros((rows,) + block.shape[1:], dtype=np.float32)
    padded[:block.shape[0]] = block
    return padded


class CompiledForward:
    """A tf.function with a fixed input signature; falls back from XLA to a plain graph once.

    Subclasses change :meth:`_build` only (the compiled gradient does); the fallback serves them all.
    """

    def __init__(self, model, chunk_rows, row_shape, jit):
        import tensorflow as tf

        self._tf = tf
        self._model_ref = weakref.ref(model)
        self._spec = tf.TensorSpec((chunk_rows,) + row_shape, tf.float32)
        self._fn = self._build(jit)
        self._jit = jit

    def _build(self, jit):
        tf = self._tf
        model_ref = self._model_ref  # no strong reference: the cache must not keep the model alive

        @tf.function(input_signature=[self._spec], jit_compile=jit, reduce_retracing=False, autograph=False)
        def forward(x):
            return model_ref()(x, training=False)

        return forward

    def __call__(self, *tensors):
        try:
            return self._fn(*tensors)
        except Exception:  # noqa: BLE001
            if not self._jit:
                raise
            # Some layers have no XLA kernel on CPU; a plain graph is still compiled and still fast.
            self._jit = False
            self._fn = self._build(False)
            return self._fn(*tensors)
