"""Model adapters: the only module that imports keras or tensorflow.

``as_predictor(model)`` turns a Keras 3 model, a legacy ``tf_keras`` model, a callable ``f(X)``, or an
object with ``.predict(X)`` into a :class:`Predictor`, which maps a block of inputs to an ndarray of
predictions with one row per input row.

For Keras models the forward pass is a ``tf.function`` traced once per (model, chunk shape) with a fixed
input signature, cached across calls, and fed fixed-size chunks (the last one padded), so it never
retraces. ``model.predict`` is never called per perturbed copy.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

# Rows per chunk when nothing else is known: bounded bytes, not a row count, so wide inputs stay small.
_CHUNK_BYTES = 32 * 2**20
_KERAS_CHUNK_ROWS = 512
_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D")


def _module_names(obj):
    return [getattr(k, "__module__", "") or "" for k in type(obj).__mro__]


def keras_flavour(model):
    """'keras' for Keras 3, 'tf_keras' for legacy Keras 2 models, None for anything else."""
    modules = _module_names(model)
    if any(m.startswith(("tf_keras", "tensorflow.python.keras")) for m in modules):
        return "tf_keras"
    if any(m == "keras" or m.startswith("keras.") for m in modules):
        return "keras"
    return None


def is_rpy2_object(obj):
    return type(obj).__module__.startswith("rpy2.")


class Predictor:
    """Maps a block of model inputs to predictions, one row per input row.

    Subclasses implement :meth:`_call`. ``__call__`` checks the shapes and names ``model`` in errors.
    """

    kind = "callable"

    def __init__(self, model):
        self.model = model

    def default_chunk_rows(self, row_shape):
        row_bytes = int(np.prod(row_shape)) * 4
        return max(1, _CHUNK_BYTES // max(row_bytes, 1))

    def prepare(self, chunk_rows, row_shape):
        """Called once before a run, with the fixed chunk size and the per-row input shape."""

    def _call(self, block):
        raise NotImplementedError

    def __call__(self, block):
        try:
            out = self._call(block)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised with the shapes the user needs
            raise ValueError(f"The model ({self.kind}) failed on input of shape {block.shape}"
                             f"{self._expected()}: {type(exc).__name__}: {exc}") from exc
        out = _as_prediction_array(out, self.kind)
        if out.ndim == 0 or out.shape[0] != block.shape[0]:
            raise ValueError(f"The model returned predictions of shape {out.shape} for an input of shape "
                             f"{block.shape}; expected {block.shape[0]} rows, one per input sample.")
        return out

    def _expected(self):
        return ""


def _as_prediction_array(out, kind):
    if isinstance(out, (list, tuple)) and len(out) > 0 and not np.isscalar(out[0]) and len(out) != 1 \
            and all(hasattr(o, "shape") for o in out):
        raise ValueError(f"The model ({kind}) returned {len(out)} output arrays; seqimp explains one output. "
                         f"Wrap the model so that it returns the output you want explained.")
    if isinstance(out, dict):
        raise ValueError(f"The model ({kind}) returned a dict of outputs {list(out)}; seqimp explains one "
                         f"output. Wrap the model so that it returns the output you want explained.")
    if isinstance(out, (list, tuple)) and len(out) == 1 and hasattr(out[0], "shape"):
        out = out[0]
    if hasattr(out, "numpy"):
        out = out.numpy()
    out = np.asarray(out)
    if out.dtype == object or not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
        raise ValueError(f"The model ({kind}) returned predictions of dtype {out.dtype}; expected numbers.")
    return out.astype(np.float64, copy=False)


class CallablePredictor(Predictor):
    kind = "callable"

    def _call(self, block):
        return self.model(block)


class PredictMethodPredictor(Predictor):
    kind = "object with .predict"

    def _call(self, block):
        return self.model.predict(block)


# model -> {(chunk_rows, row_shape, jit): tf.function}. Weak keys: a cache entry dies with its model.
_FORWARD_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _has_recurrent_layer(model):
    stack, seen = [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if any(k.__name__ in _RECURRENT for k in type(layer).__mro__):
            return True
        stack.extend(getattr(layer, "layers", []) or [])
        inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
        if inner is not None:
            stack.append(inner)
    return False


def _keras_input_shape(model):
    """The model's declared input shape, e.g. (None, 10, 3), or None where it is not known."""
    try:
        shape = model.input_shape
    except Exception:  # noqa: BLE001 - unbuilt or multi-input models simply have no single shape
        return None
    if isinstance(shape, list):
        return None
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return shape
    return None


class KerasPredictor(Predictor):
    """Keras 3 (TensorFlow backend) or tf_keras: a cached, compiled forward pass over fixed-size chunks.

    ``jit_compile='auto'`` uses XLA for models with recurrent layers, where it is measured to be faster
    on CPU; XLA that fails to compile falls back to a plain graph.
    """

    def __init__(self, model, flavour, jit_compile="auto"):
        super().__init__(model)
        self.flavour = flavour
        self.kind = "Keras 3 model" if flavour == "keras" else "tf_keras model"
        if jit_compile == "auto":
            jit_compile = _has_recurrent_layer(model)
        self.jit_compile = bool(jit_compile)
        self._forward = None
        self._chunk_rows = None
        self._eager = flavour == "keras" and _keras_backend() != "tensorflow"

    def default_chunk_rows(self, row_shape):
        return min(_KERAS_CHUNK_ROWS, super().default_chunk_rows(row_shape))

    def _expected(self):
        shape = _keras_input_shape(self.model)
        return f" (the model expects input of shape {shape})" if shape is not None else ""

    def check_input_shape(self, input_shape):
        expected = _keras_input_shape(self.model)
        if expected is None:
            return
        got = (None,) + tuple(input_shape[1:])
        if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
            raise ValueError(f"The model expects input of shape {expected}, but X has shape "
                             f"{tuple(input_shape)}. Pass X with the model's timesteps and features.")

    def prepare(self, chunk_rows, row_shape):
        self._chunk_rows = int(chunk_rows)
        if self._eager:
            return
        key = (self._chunk_rows, tuple(row_shape), self.jit_compile)
        with _CACHE_LOCK:
            per_model = _FORWARD_CACHE.setdefault(self.model, {})
            if key not in per_model:
                per_model[key] = _compiled_forward(self.model, self._chunk_rows, tuple(row_shape),
                                                   self.jit_compile)
            self._forward = per_model[key]

    def _call(self, block):
        if self._eager:
            return self.model.predict_on_batch(block)
        if self._forward is None or block.shape[0] > self._chunk_rows:
            self.prepare(block.shape[0], block.shape[1:])
        m = block.shape[0]
        if m < self._chunk_rows:
            # Pad to the traced size: one signature, never a retrace.
            padded = np.zeros((self._chunk_rows,) + block.shape[1:], dtype=np.float32)
            padded[:m] = block
            block = padded
        out = self._forward(block)
        out = _as_prediction_array(out, self.kind)
        return out[:m]


def _keras_backend():
    import keras

    return keras.backend.backend()


class _CompiledForward:
    """A tf.function with a fixed input signature; falls back from XLA to a plain graph once."""

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

        @tf.function(input_signature=[self._spec], jit_compile=jit, reduce_retracing=False)
        def forward(x):
            return model_ref()(x, training=False)

        return forward

    def __call__(self, block):
        try:
            return self._fn(block)
        except Exception:  # noqa: BLE001
            if not self._jit:
                raise
            # Some layers have no XLA kernel on CPU; a plain graph is still compiled and still fast.
            self._jit = False
            self._fn = self._build(False)
            return self._fn(block)


def _compiled_forward(model, chunk_rows, row_shape, jit):
    return _CompiledForward(model, chunk_rows, row_shape, jit)


def as_predictor(model, *, func="seqimp"):
    """Wrap ``model`` as a :class:`Predictor`.

    Accepts a Keras 3 model, a tf_keras model, an R keras model (the same Python object through
    reticulate), an rpy2 R function or fitted R model, a callable ``f(X) -> predictions``, or any object
    with ``.predict(X)``.
    """
    if isinstance(model, Predictor):
        return model
    if model is None:
        raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an "
                        f"object with .predict(X). Got None instead.")
    if is_rpy2_object(model):
        from .r import r_model

        return r_model(model, func=func)
    flavour = keras_flavour(model)
    if flavour is not None and hasattr(model, "layers"):
        return KerasPredictor(model, flavour)
    if hasattr(model, "predict") and callable(model.predict):
        return PredictMethodPredictor(model)
    if callable(model):
        return CallablePredictor(model)
    raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an object "
                    f"with .predict(X). Got an object of type {type(model).__name__} instead.")
