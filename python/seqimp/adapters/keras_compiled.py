"""Compiled Keras functions, shared by the forward pass, the gradient and the prefix cache: one
``tf.function`` per (model, chunk shape, ...), traced once with a fixed input signature and cached with
weak keys, so a cache entry dies with its model (:func:`cached_compiled`, :class:`CompiledForward`).
TensorFlow is imported only inside these functions.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .keras_layers import keras_input_names, takes_dict

_CACHE_LOCK = threading.Lock()


def cached_compiled(cache, model, key, build):
    """``cache[model][key]``, built by ``build()`` the first time; one lock for every compiled cache."""
    with _CACHE_LOCK:
        per_model = cache.setdefault(model, {})
        if key not in per_model:
            per_model[key] = build()
        return per_model[key]


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
