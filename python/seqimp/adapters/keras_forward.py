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

from .keras_layers import (check_keras_input_shape, check_keras_inputs, has_recurrent_layer, keras_backend,
                           keras_input_names, keras_input_shape, takes_dict)
from .protocol import Predictor, as_prediction_array, input_rows

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
    on CPU; XLA that fails to compile falls back to a plain graph. The compiled functions go with the
    model (weak keys), but TensorFlow keeps every XLA executable for the life of the process (its
    compilation cache has no eviction; tensorflow/tensorflow#64170): about 2.4 MB per recurrent model
    explained, measured on LSTM(4) with TF 2.21 on CPU. A plain graph leaves no more than an eager call.
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
        self._layout = None  # how several inputs are fed (InputLayout); None for one
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

    def check_inputs(self, data):
        """Check X's input or inputs against the model's, and keep how several inputs feed it."""
        self._layout = InputLayout.of(self.model, data)
        if self._layout is None:
            self.check_input_shape(data.input_shape)

    def row_shape(self, data):
        """One row's input shape as the compiled function takes it: one shape, or one per model input."""
        return self._layout.row_shapes if self._layout is not None else tuple(data.input_shape[1:])

    def prepare(self, chunk_rows, data):
        self.check_inputs(data)
        self._compile(chunk_rows, self.row_shape(data))

    def _compile(self, chunk_rows, row_shape):
        self._chunk_rows = int(chunk_rows)
        if self._eager:
            return
        row_shape = tuple(row_shape)
        self._forward = cached_compiled(
            _FORWARD_CACHE, self.model, (self._chunk_rows, row_shape, self.jit_compile),
            lambda: CompiledForward(self.model, self._chunk_rows, row_shape, self.jit_compile))

    def _call(self, block):
        if self._layout is not None:
            block = self._layout.arrange(block)
        if self._eager:
            return self.model.predict_on_batch(block)
        rows = input_rows(block)
        if self._forward is None or rows > self._chunk_rows:
            self._compile(rows, self._layout.row_shapes if self._layout else block.shape[1:])
        out = as_prediction_array(self._forward(pad_rows(block, self._chunk_rows)), self.description)
        return out[:rows]


def pad_rows(block, rows):
    """``block`` with zero rows appended up to ``rows``: the compiled function keeps one signature and
    never retraces for a short last chunk. A list (several inputs) is padded input by input."""
    if isinstance(block, list):
        return [pad_rows(b, rows) for b in block]
    if block.shape[0] == rows:
        return block
    padded = np.zeros((rows,) + block.shape[1:], dtype=np.float32)
    padded[:block.shape[0]] = block
    return padded


def compiled_function(fn, input_signature, jit):
    """``tf.function(fn)`` with a fixed input signature (traced once), whose traces TensorFlow counts on
    their own.

    TensorFlow warns about "excessive retracing" when 5 of the last 10 calls of one Python function
    traced, and it keys that count by the function's code object, so every closure of one ``def``
    counts as one function: tracing each model's own forward once made the fifth model explained in a
    session look like a retrace. Wrapped in an object without ``__code__``, each compiled function is
    its own key (TensorFlow then keys by the callable, weakly, so the count dies with the function),
    while the fixed signature still traces it once per model and chunk shape.
    """
    import tensorflow as tf

    return tf.function(_OwnTraceCount(fn), input_signature=input_signature, jit_compile=jit,
                       reduce_retracing=False, autograph=False)


class _OwnTraceCount:
    """Calls ``fn``; see :func:`compiled_function` for why it is not ``fn`` itself."""

    __slots__ = ("_fn", "__weakref__")

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, *args):
        return self._fn(*args)


class CompiledForward:
    """A tf.function with a fixed input signature; falls back from XLA to a plain graph once.

    Subclasses change :meth:`_build` only (the compiled gradient does); the fallback serves them all.
    """

    def __init__(self, model, chunk_rows, row_shape, jit):
        import tensorflow as tf

        self._tf = tf
        self._model_ref = weakref.ref(model)
        # Several inputs: row_shape is one shape per input, and the function takes a list of them.
        self._spec = [tf.TensorSpec((chunk_rows,) + shape, tf.float32) for shape in row_shape] \
            if row_shape and isinstance(row_shape[0], tuple) else tf.TensorSpec((chunk_rows,) + row_shape,
                                                                                 tf.float32)
        self._input_names = keras_input_names(model) if takes_dict(model) else None
        self._fn = self._build(jit)
        self._jit = jit

    def _build(self, jit):
        model_ref = self._model_ref  # no strong reference: the cache must not keep the model alive
        names = self._input_names

        def forward(x):
            return model_ref()(as_model_inputs(x, names), training=False)

        return compiled_function(forward, [self._spec], jit)

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


def as_model_inputs(x, names):
    """What a traced function hands the model: a dict by input name for a model built on a dict."""
    return dict(zip(names, x)) if names is not None and isinstance(x, (list, tuple)) else x


class InputLayout:
    """How X's several inputs feed a multi-input Keras model: a list in the model's input order."""

    def __init__(self, order, keys, row_shapes):
        self.order = order          # X's block positions, in the model's input order
        self.keys = keys            # X's dict keys, or None for a list
        self.row_shapes = row_shapes  # per-row shape of each model input, in the model's order

    @classmethod
    def of(cls, model, data):
        """None for single-array X; else the layout, after checking X's inputs against the model's."""
        if getattr(data, "structure", "array") == "array":
            return None
        order = check_keras_inputs(model, data.input_shapes, data.structure, data.input_names)
        keys = list(data.input_names) if data.structure == "dict" else None
        return cls(order, keys, tuple(tuple(data.input_shapes[i][1:]) for i in order))

    def arrange(self, block):
        values = [block[k] for k in self.keys] if self.keys is not None else list(block)
        return [np.ascontiguousarray(values[i], dtype=np.float32) for i in self.order]

    def x_order_columns(self):
        """Column indices that put per-row values laid out input by input in the model's order (one
        flattened block per input, then anything after them) back in X's order of inputs."""
        sizes = [int(np.prod(shape)) for shape in self.row_shapes]
        starts = np.cumsum([0] + sizes)
        by_x = sorted(range(len(self.order)), key=lambda m: self.order[m])
        columns = [np.arange(starts[m], starts[m + 1]) for m in by_x]
        return np.concatenate(columns + [np.arange(starts[-1], starts[-1] + 1)])

