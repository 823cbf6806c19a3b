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
# Keras: about 2 MB of input per forward call, as a power of two between 256 and 4096 rows. Measured on
# LSTM(64)->LSTM(32) with T=50, F=8 (XLA, 2 cores): 1024 rows ran 1.3x faster than 512, 1.1x than 2048.
_KERAS_CHUNK_BYTES = 2 * 2**20
_KERAS_CHUNK_ROWS = (256, 4096)
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

    def prepare(self, chunk_rows, data):
        """Called by the engine once before a run, with the fixed chunk size and the SequenceData.

        Keras adapters check the input shape and compile here; R adapters take the feature names.
        """

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


def _walk_layers(model):
    """Every layer of ``model`` once, nested models and wrapped layers (Bidirectional, RNN cells) too."""
    stack, seen = [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "layers", []) or [])
        for attr in ("layer", "forward_layer", "backward_layer", "cell"):
            inner = getattr(layer, attr, None)
            if inner is not None and hasattr(inner, "get_config"):
                stack.append(inner)


def _has_recurrent_layer(model):
    return any(k.__name__ in _RECURRENT for layer in _walk_layers(model) for k in type(layer).__mro__)


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
        shape = _keras_input_shape(self.model)
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
        key = (self._chunk_rows, tuple(row_shape), self.jit_compile)
        with _CACHE_LOCK:
            per_model = _FORWARD_CACHE.setdefault(self.model, {})
            if key not in per_model:
                per_model[key] = _CompiledForward(self.model, self._chunk_rows, tuple(row_shape),
                                                  self.jit_compile)
            self._forward = per_model[key]

    def _call(self, block):
        if self._eager:
            return self.model.predict_on_batch(block)
        if self._forward is None or block.shape[0] > self._chunk_rows:
            self._compile(block.shape[0], block.shape[1:])
        out = _as_prediction_array(self._forward(_pad_rows(block, self._chunk_rows)), self.kind)
        return out[:block.shape[0]]


def _pad_rows(block, rows):
    """``block`` with zero rows appended up to ``rows``: the compiled function keeps one signature and
    never retraces for a short last chunk."""
    if block.shape[0] == rows:
        return block
    padded = np.zeros((rows,) + block.shape[1:], dtype=np.float32)
    padded[:block.shape[0]] = block
    return padded


def check_keras_input_shape(model, input_shape):
    """Raise a ValueError naming both shapes when X of ``input_shape`` cannot feed ``model``'s input."""
    expected = _keras_input_shape(model)
    if expected is None:
        return
    got = (None,) + tuple(input_shape[1:])
    if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
        raise ValueError(f"The model expects input of shape {expected}, but X has shape "
                         f"{tuple(input_shape)}. Pass X with the model's timesteps and features.")


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

        @tf.function(input_signature=[self._spec], jit_compile=jit, reduce_retracing=False, autograph=False)
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


# ======================================================================================================
# Gradients and connection weights (gradient_importance, olden_importance, garson_importance)
# ======================================================================================================
# Gradients need a differentiable model, so only Keras models qualify: Keras 3 with the TensorFlow
# backend, and tf_keras. They are taken in a tf.function traced once per (model, chunk shape, output
# mode) and cached like the forward pass. Which output is explained is an *input* of that function (a
# weight vector over the flattened per-sample outputs), so another output index reuses the same trace.

GRADIENT_FRAMEWORKS = "Keras 3 with the TensorFlow backend, or tf_keras"
_GRADIENT_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_PREDICTIONS_ONLY = ("perturbation_importance, permutation_importance or lofo_importance, which need "
                     "only predictions")


def _describe(model):
    if is_rpy2_object(model):
        return "an R function or R model (through rpy2)"
    if callable(model) and not hasattr(model, "predict"):
        return f"a plain callable ({type(model).__name__})"
    return f"an object of type {type(model).__name__}"


def gradient_predictor(model, *, func="seqimp"):
    """A :class:`KerasGradient` for ``model``, or an error that says what works instead."""
    if isinstance(model, KerasGradient):
        return model
    flavour = None if is_rpy2_object(model) else keras_flavour(model)
    if flavour is None or not hasattr(model, "layers"):
        raise TypeError(
            f"The 'model' parameter of {func} must be a Keras model ({GRADIENT_FRAMEWORKS}), because "
            f"gradients are taken through the model's layers. Got {_describe(model)} instead, which "
            f"seqimp can call but not differentiate. For such a model use {_PREDICTIONS_ONLY}.")
    if flavour == "keras":
        backend = _keras_backend()
        if backend != "tensorflow":
            raise ValueError(
                f"{func} supports {GRADIENT_FRAMEWORKS}; this model is a Keras 3 model on the "
                f"'{backend}' backend. Set KERAS_BACKEND=tensorflow before importing keras, or use "
                f"{_PREDICTIONS_ONLY} and work with every backend.")
    return KerasGradient(model, flavour)


class KerasGradient(KerasPredictor):
    """Per-row gradients of one selected output with respect to the input, in fixed-size chunks.

    The selected output is ``s(x) = w . vec(f(x))`` (``mode="weighted"``: an index is a one-hot
    ``w``, "sum" a vector of ones, "mean" of 1/k) or ``s(x) = max(vec(f(x)))`` (``mode="max"``). A call
    returns an array of shape (m, P + 1): the gradient ds/dx flattened to P values, then s(x). Rows are
    independent (the model runs with ``training=False``), so the gradient of the chunk's sum of s is
    every row's own gradient.

    XLA is off by default: on the seed LSTM it made a gradient chunk 1.8x faster but took 8.5 s
    instead of 2 s to compile, so it pays only for runs of several hundred thousand rows
    (:meth:`plan` turns it on for those).
    """

    XLA_MIN_ROWS = 300_000

    def __init__(self, model, flavour):
        super().__init__(model, flavour, jit_compile=False)
        self._recurrent = _has_recurrent_layer(model)
        self._mode = "weighted"
        self._weights = None
        self._fn = None

    def output_shape(self, row_shape):
        """The per-sample output shape: the model's declared one, else from one eager call on zeros.

        The declared shape saves the eager call, which costs about 1 s on a two-layer LSTM over 30 steps.
        """
        try:
            declared = self.model.output_shape
        except Exception:  # noqa: BLE001 - subclassed or unbuilt models declare none
            declared = None
        if isinstance(declared, list) and len(declared) == 1:
            declared = declared[0]
        if isinstance(declared, tuple) and len(declared) >= 1 and \
                all(isinstance(d, int) for d in declared[1:]):
            return tuple(declared[1:])
        zeros = np.zeros((1,) + tuple(row_shape), dtype=np.float32)
        return _EagerOnce(self.model, self.kind, self._expected())(zeros).shape[1:]

    def select(self, weights=None, mode="weighted"):
        """Which output the gradients are of: a weight vector over the flattened outputs, or "max"."""
        self._mode = mode
        self._weights = np.zeros(1, np.float32) if weights is None else np.asarray(weights, np.float32)
        self._fn = None

    def plan(self, total_rows):
        """Use XLA for recurrent models when the run is long enough to repay its compile time."""
        self.jit_compile = bool(self._recurrent and total_rows >= self.XLA_MIN_ROWS)

    def _compile(self, chunk_rows, row_shape):
        self._chunk_rows = int(chunk_rows)
        key = (self._chunk_rows, tuple(row_shape), self.jit_compile, self._mode)
        with _CACHE_LOCK:
            per_model = _GRADIENT_CACHE.setdefault(self.model, {})
            if key not in per_model:
                per_model[key] = _CompiledGradient(self.model, self._chunk_rows, tuple(row_shape),
                                                   self.jit_compile, self._mode)
            self._fn = per_model[key]

    def _call(self, block):
        if self._weights is None:
            raise RuntimeError("KerasGradient.select() must be called before the gradients are taken.")
        if self._fn is None or block.shape[0] > self._chunk_rows:
            self._compile(block.shape[0], block.shape[1:])
        padded = _pad_rows(np.ascontiguousarray(block, dtype=np.float32), self._chunk_rows)
        out = _as_prediction_array(self._fn(padded, self._weights), self.kind)
        return out[:block.shape[0]]


class _EagerOnce(Predictor):
    """One eager call, to learn the output shape without tracing a function for it."""

    def __init__(self, model, kind, expected):
        super().__init__(model)
        self.kind = kind
        self._expected_text = expected

    def _call(self, block):
        return self.model(block, training=False)

    def _expected(self):
        return self._expected_text


class _CompiledGradient(_CompiledForward):
    """``x, w -> [ds/dx, s]`` as a tf.function with a fixed signature (falls back from XLA once)."""

    def __init__(self, model, chunk_rows, row_shape, jit, mode):
        self._mode = mode
        super().__init__(model, chunk_rows, row_shape, jit)

    def _build(self, jit):
        tf = self._tf
        model_ref, mode = self._model_ref, self._mode

        @tf.function(input_signature=[self._spec, tf.TensorSpec((None,), tf.float32)], jit_compile=jit,
                     reduce_retracing=False, autograph=False)
        def gradient(x, w):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = model_ref()(x, training=False)
                if isinstance(y, (list, tuple)):  # a one-output model may return [y]; checked earlier
                    y = y[0]
                y = tf.reshape(tf.cast(y, tf.float32), (tf.shape(x)[0], -1))
                s = tf.reduce_max(y, axis=1) if mode == "max" else tf.linalg.matvec(y, w)
            g = tape.gradient(s, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return tf.concat([tf.reshape(tf.cast(g, tf.float32), (tf.shape(x)[0], -1)), s[:, None]], axis=1)

        return gradient

    def __call__(self, block, weights):
        try:
            return self._fn(block, weights)
        except Exception:  # noqa: BLE001
            if not self._jit:
                raise
            self._jit = False
            self._fn = self._build(False)
            return self._fn(block, weights)


# Layers that carry no weights of their own at inference and leave Olden's and Garson's paths intact.
_PASS_THROUGH = ("InputLayer", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "Activation")


def _class_names(obj):
    return {k.__name__ for k in type(obj).__mro__}


def _flat_layers(model):
    """Layers in order, nested Sequential/functional models expanded."""
    out = []
    for layer in getattr(model, "layers", []):
        if "Functional" in _class_names(layer) or "Sequential" in _class_names(layer) or \
                type(layer).__name__ in ("Model", "Sequential"):
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def dense_kernels(model, *, func="seqimp"):
    """The kernels of a Keras network of Dense layers, in order, for connection-weight methods.

    Returns ``(kernels, input_shape, flattened)``: float64 arrays of shape (units_in, units_out), the
    model's declared input shape without the batch axis, and whether a Flatten turns (T, F) input into
    T*F input units (index t*F + f) before the first Dense layer. Dropout, noise, Activation and input
    layers are skipped (identity at inference; both methods ignore activations). Anything else raises.
    """
    flavour = None if is_rpy2_object(model) else keras_flavour(model)
    if flavour is None or not hasattr(model, "layers"):
        raise TypeError(f"The 'model' parameter of {func} must be a Keras model made of Dense layers "
                        f"(Keras 3 or tf_keras). Got {_describe(model)} instead. For any other model use "
                        f"{_PREDICTIONS_ONLY}.")
    shape = _keras_input_shape(model)
    if shape is None:
        raise ValueError(f"The 'model' parameter of {func} must be a built model with one input; this "
                         f"model has no single known input shape. Build it with keras.Input(shape=...) or "
                         f"call it on data first.")
    kernels, flattened = [], False
    for layer in _flat_layers(model):
        names = _class_names(layer)
        kind = type(layer).__name__
        if kind in _PASS_THROUGH or names & set(_PASS_THROUGH):
            continue
        if kind == "Flatten" and not kernels and not flattened:
            flattened = True
            continue
        if "Dense" in names and kind not in ("EinsumDense", "QuantizedDense"):
            weights = layer.get_weights()
            if not weights:
                raise ValueError(f"The Dense layer {layer.name!r} has no weights yet; build the model first.")
            kernels.append(np.asarray(weights[0], dtype=np.float64))
            continue
        where = " after the first Dense layer" if kind == "Flatten" else ""
        raise ValueError(
            f"{func} works on networks of Dense layers (with Dropout, Activation and a leading Flatten); "
            f"this model has a layer {layer.name!r} of type {kind}{where}. Olden's and Garson's methods "
            f"read input-to-output connection weights, which recurrent, convolutional, attention and "
            f"normalisation layers do not have. For this model use gradient_importance, "
            f"{_PREDICTIONS_ONLY}.")
    if not kernels:
        raise ValueError(f"The 'model' parameter of {func} must contain at least one Dense layer; this "
                         f"model has none.")
    for a, b, layer_index in zip(kernels, kernels[1:], range(1, len(kernels))):
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"{func} needs the Dense layers to form one chain; Dense layer {layer_index} "
                             f"has {a.shape[1]} units but the next one takes {b.shape[0]} inputs.")
    return kernels, tuple(shape[1:]), flattened


# ======================================================================================================
# Retraining (lofo_importance, stepwise_importance): fresh-weight rebuilds, seeded fits, thread caps
# ======================================================================================================
# A compiled model travels to worker processes as a KerasRecipe (JSON architecture, compile config and
# the caller's custom objects), never as a live model: a worker rebuilds it with fresh weights, for as
# many input features as the fit needs. Seeding, building and fitting use process-wide state, so
# lofo.py runs them under one lock per process.

import contextlib as _contextlib  # noqa: E402
import importlib.util as _importlib_util  # noqa: E402
import json as _json  # noqa: E402
import os as _os  # noqa: E402
import random as _random  # noqa: E402
import sys as _sys  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402

_PREDICT_BATCH = 512
_KERAS_MODULES = ("keras", "tf_keras", "tensorflow")


def _keras_module(flavour):
    if flavour == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def is_compiled_keras(model):
    """True for a Keras 3 or tf_keras model on which compile() was called."""
    compiled = getattr(model, "compiled", None)  # Keras 3
    if compiled is None:
        compiled = getattr(model, "_is_compiled", None)  # tf_keras
    return bool(compiled)


@_dataclass(frozen=True)
class KerasRecipe:
    """Everything needed to rebuild a compiled Keras model with fresh weights, in any process.

    ``fingerprint`` identifies the architecture and compile settings without layer names, which change
    from one Python session to the next.
    """

    flavour: str
    model_json: str
    compile_config: dict
    custom_objects: dict
    input_shape: tuple
    fingerprint: str


def _is_keras_class(cls):
    return (getattr(cls, "__module__", "") or "").split(".")[0] in _KERAS_MODULES


def _custom_objects(model, compile_args):
    """The caller's own layer classes, loss and metric functions or classes, by the names configs use."""
    found = {type(layer).__name__: type(layer) for layer in _walk_layers(model)
             if not _is_keras_class(type(layer))}

    def visit(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                visit(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                visit(v)
        elif isinstance(obj, type) and not _is_keras_class(obj):
            found[obj.__name__] = obj
        elif callable(obj) and hasattr(obj, "__name__") and not _is_keras_class(obj):
            found[obj.__name__] = obj
        elif obj is not None and not isinstance(obj, (str, int, float, bool)) and \
                not _is_keras_class(type(obj)):
            found[type(obj).__name__] = type(obj)

    visit(compile_args)
    return found


def _canonical_names(config):
    """``config`` with every layer, model and optimizer name replaced by its order of appearance."""
    names = {}

    def collect(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("name"), str):
                names.setdefault(obj["name"], f"<{len(names)}>")
            for v in obj.values():
                collect(v)
        elif isinstance(obj, list):
            for v in obj:
                collect(v)

    def replace(obj):
        if isinstance(obj, dict):
            return {k: replace(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [replace(v) for v in obj]
        if isinstance(obj, str):
            return names.get(obj, obj)
        return obj

    collect(config)
    return replace(config)


def keras_recipe(model, input_shape, *, func="seqimp"):
    """A :class:`KerasRecipe` for a compiled Keras model whose input matches ``input_shape`` (n, ..., F)."""
    flavour = keras_flavour(model)
    if not is_compiled_keras(model):
        raise ValueError(f"The 'model_or_builder' parameter of {func} must be a compiled Keras model or a "
                         f"builder function. Got a Keras model that was not compiled: call "
                         f"model.compile(optimizer=..., loss=...) first, so that every refit can be "
                         f"compiled the same way.")
    expected = _keras_input_shape(model)
    if expected is None:
        raise ValueError(f"The 'model_or_builder' parameter of {func} must be a Keras model with a single "
                         f"input of known rank. Got a model with several or unknown inputs; pass a "
                         f"builder build(n_features) -> compiled model instead.")
    check_keras_input_shape(model, input_shape)
    keras = _keras_module(flavour)
    compile_config = model.get_compile_config()
    if getattr(model, "optimizer", None) is not None:
        # The optimizer as configured (learning rate included), not the string it may have been given.
        compile_config = dict(compile_config, optimizer=keras.optimizers.serialize(model.optimizer))
    stored = getattr(getattr(model, "_compile_config", None), "config", None) or {}
    custom = _custom_objects(model, {k: stored.get(k) for k in ("loss", "metrics", "weighted_metrics")})
    model_json = model.to_json()
    canonical = _canonical_names({"model": _json.loads(model_json), "compile": compile_config})
    fingerprint = f"{flavour}:" + _json.dumps(canonical, sort_keys=True, default=repr)
    return KerasRecipe(flavour, model_json, compile_config, custom, tuple(expected), fingerprint)


def rebuild_keras(recipe, n_features, seed):
    """A new compiled model from ``recipe`` for ``n_features`` input features, weights drawn from ``seed``.

    The model is always cloned onto a new Input after reseeding, so models of every width draw their
    layers' initial weights in the same order from the same seed.
    """
    keras = _keras_module(recipe.flavour)
    shape = tuple(recipe.input_shape[1:-1]) + (int(n_features),)
    with keras.utils.custom_object_scope(recipe.custom_objects):
        try:
            with _keras_seed_source(seed):
                template = keras.models.model_from_json(recipe.model_json)
            seed_fit(seed, recipe.flavour)
            with _keras_seed_source(seed):
                model = keras.models.clone_model(template, input_tensors=keras.Input(shape=shape))
        except Exception as exc:  # noqa: BLE001 - re-raised with what to do instead
            raise ValueError(f"Could not rebuild the model for input shape {(None,) + shape}: "
                             f"{type(exc).__name__}: {exc}. Layers whose configuration fixes the number of "
                             f"features need a builder build(n_features) -> compiled model, or "
                             f"mode='constant'.") from exc
        model.compile_from_config(recipe.compile_config)
    return model


# Keras 3 draws the seed of every unseeded initializer and dropout layer from Python's global `random`
# (keras.src.random.seed_generator.python_random). Other threads of the process draw from it too (a Dask
# worker's event loop does, between any two lines of a task), which made builds differ from run to run.
# While a model is built, Keras gets a private generator seeded like the fit; the module attribute is
# restored at once, so nothing changes for the caller's own models.
_KERAS_SEED_MODULE = "keras.src.random.seed_generator"


@_contextlib.contextmanager
def _keras_seed_source(seed):
    module = _sys.modules.get(_KERAS_SEED_MODULE)
    if module is None or not hasattr(module, "python_random"):
        yield
        return
    saved = module.python_random
    module.python_random = _random.Random(int(seed))
    try:
        yield
    finally:
        module.python_random = saved


def seed_fit(seed, flavour=None):
    """Seed Python, NumPy, TensorFlow and Keras (``keras.utils.set_random_seed``) for one fit."""
    seed = int(seed)
    _random.seed(seed)
    np.random.seed(seed)
    if flavour == "tf_keras":
        import tf_keras

        tf_keras.utils.set_random_seed(seed)
    elif flavour == "keras" or "keras" in _sys.modules or _importlib_util.find_spec("keras") is not None:
        import keras

        keras.utils.set_random_seed(seed)
    if "tensorflow" in _sys.modules:
        _sys.modules["tensorflow"].random.set_seed(seed)


def build_for_fit(source, n_features, seed):
    """A fresh, compiled model for one fit: from a :class:`KerasRecipe` or the caller's builder."""
    if isinstance(source, KerasRecipe):
        seed_fit(seed, source.flavour)
        return rebuild_keras(source, n_features, seed)
    seed_fit(seed)
    with _keras_seed_source(seed):
        model = source(int(n_features))
    flavour = keras_flavour(model)
    if flavour is not None and hasattr(model, "layers"):
        if not is_compiled_keras(model):
            raise TypeError("The builder returned a Keras model that was not compiled; call "
                            "model.compile(...) inside build(n_features).")
    elif not (hasattr(model, "fit") and callable(model.fit)):
        raise TypeError(f"The builder must return a compiled Keras model (or an object with fit(X, y) and "
                        f"predict(X)); it returned an object of type {type(model).__name__}.")
    return model


def fit_model(model, X, y, fit_kwargs):
    """``model.fit(X, y, **fit_kwargs)``; Keras models train silently unless ``verbose`` is given."""
    if keras_flavour(model) is not None:
        fit_kwargs = {"verbose": 0, **fit_kwargs}
        y = np.asarray(y, dtype=np.float32)
    model.fit(X, y, **fit_kwargs)


def predict_all(model, X):
    """Predictions for every row of X as a float64 ndarray.

    A model that is scored once is called directly, chunk by chunk: tracing ``model.predict`` for one
    use costs more than it saves, and retracing it for every new model floods the log with warnings.
    """
    if keras_flavour(model) is not None and hasattr(model, "layers"):
        parts = [_as_prediction_array(model(X[i:i + _PREDICT_BATCH], training=False), "Keras model")
                 for i in range(0, X.shape[0], _PREDICT_BATCH)]
        return np.concatenate(parts, axis=0)
    return as_predictor(model)(X)


def limit_tf_threads(n_threads):
    """Cap TensorFlow's thread pools in this (worker) process at ``n_threads``.

    Before TensorFlow is imported the environment variables it reads at start-up are set; after, the
    threading config, unless TensorFlow has already started (then its pools are left as they are).
    """
    n_threads = str(max(1, int(n_threads)))
    tf = _sys.modules.get("tensorflow")
    if tf is None:
        _os.environ["TF_NUM_INTRAOP_THREADS"] = n_threads
        _os.environ["TF_NUM_INTEROP_THREADS"] = n_threads
        return
    try:
        if tf.config.threading.get_intra_op_parallelism_threads() != int(n_threads):
            tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError:
        pass  # TensorFlow already runs in this process; its pools cannot change any more


def release_keras_state():
    """Free the global state Keras keeps for every model built (call in workers, between fits)."""
    for name in ("keras", "tf_keras"):
        module = _sys.modules.get(name)
        if module is not None:
            try:
                module.backend.clear_session()
            except Exception:  # noqa: BLE001 - nothing to free is not an error
                pass
