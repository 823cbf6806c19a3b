"""How gradients are taken (gradient_importance): :class:`KerasGradient` and its compiled gradient.

Gradients need a differentiable model, so only Keras models qualify: Keras 3 with the TensorFlow
backend, and tf_keras. They are taken in a tf.function traced once per (model, chunk shape, XLA or not,
output mode) and cached like the forward pass. Which output is explained is an *input* of that function
(a weight vector over the flattened per-sample outputs), so another output index reuses the same trace.
"""

from __future__ import annotations

import weakref

import numpy as np

from .keras_forward import (CompiledForward, KerasPredictor, as_model_inputs, cached_compiled, compiled_function,
                            pad_rows)
from .keras_layers import has_recurrent_layer, keras_backend, keras_input_names, takes_dict
from .protocol import (PREDICTIONS_ONLY, Predictor, as_prediction_array, describe_model, input_rows,
                       keras_model_flavour)

GRADIENT_FRAMEWORKS = "Keras 3 with the TensorFlow backend, or tf_keras"
# model -> {(chunk_rows, row_shape, jit, mode): CompiledGradient}, weak keys as for the forward pass.
_GRADIENT_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def gradient_predictor(model, *, func="seqimp"):
    """A :class:`KerasGradient` for ``model``, or an error that says what works instead."""
    if isinstance(model, KerasGradient):
        return model
    flavour = keras_model_flavour(model)
    if flavour is None:
        raise TypeError(
            f"The 'model' parameter of {func} must be a Keras model ({GRADIENT_FRAMEWORKS}), because "
            f"gradients are taken through the model's layers. Got {describe_model(model)} instead, which "
            f"seqimp can call but not differentiate. For such a model use {PREDICTIONS_ONLY}.")
    if flavour == "keras":
        backend = keras_backend()
        if backend != "tensorflow":
            raise ValueError(
                f"{func} supports {GRADIENT_FRAMEWORKS}; this model is a Keras 3 model on the "
                f"'{backend}' backend. Set KERAS_BACKEND=tensorflow before importing keras, or use "
                f"{PREDICTIONS_ONLY} and work with every backend.")
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
        self._recurrent = has_recurrent_layer(model)
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
        if row_shape and isinstance(row_shape[0], tuple):  # several inputs: one shape each, model order
            zeros = as_model_inputs([np.zeros((1,) + s, dtype=np.float32) for s in row_shape],
                                    keras_input_names(self.model) if takes_dict(self.model) else None)
        else:
            zeros = np.zeros((1,) + tuple(row_shape), dtype=np.float32)
        return _EagerOnce(self.model, self.description, self._expected())(zeros).shape[1:]

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
        row_shape = tuple(row_shape)
        self._fn = cached_compiled(
            _GRADIENT_CACHE, self.model, (self._chunk_rows, row_shape, self.jit_compile, self._mode),
            lambda: CompiledGradient(self.model, self._chunk_rows, row_shape, self.jit_compile, self._mode))

    def _call(self, block):
        if self._weights is None:
            raise RuntimeError("KerasGradient.select() must be called before the gradients are taken.")
        layout = self._layout
        block = layout.arrange(block) if layout is not None else np.ascontiguousarray(block, dtype=np.float32)
        rows = input_rows(block)
        if self._fn is None or rows > self._chunk_rows:
            self._compile(rows, layout.row_shapes if layout is not None else block.shape[1:])
        out = as_prediction_array(self._fn(pad_rows(block, self._chunk_rows), self._weights), self.description)
        # Several inputs: the gradient's columns come in the model's input order; give them X's.
        return out[:rows] if layout is None else out[:rows, layout.x_order_columns()]


class _EagerOnce(Predictor):
    """One eager call, to learn the output shape without tracing a function for it."""

    def __init__(self, model, description, expected):
        super().__init__(model)
        self.description = description
        self._expected_text = expected

    def _call(self, block):
        return self.model(block, training=False)

    def _expected(self):
        return self._expected_text


class CompiledGradient(CompiledForward):
    """``x, w -> [ds/dx, s]`` as a tf.function with a fixed signature (falls back from XLA once)."""

    def __init__(self, model, chunk_rows, row_shape, jit, mode):
        self._mode = mode
        super().__init__(model, chunk_rows, row_shape, jit)

    def _build(self, jit):
        tf = self._tf
        model_ref, mode = self._model_ref, self._mode
        names = self._input_names

        def gradient(x, w):
            xs = list(x) if isinstance(x, (list, tuple)) else [x]  # several inputs: a list, model order
            rows = tf.shape(xs[0])[0]
            with tf.GradientTape() as tape:
                for t in xs:
                    tape.watch(t)
                y = model_ref()(as_model_inputs(x, names), training=False)
                if isinstance(y, (list, tuple)):  # a one-output model may return [y]; checked earlier
                    y = y[0]
                y = tf.reshape(tf.cast(y, tf.float32), (rows, -1))
                s = tf.reduce_max(y, axis=1) if mode == "max" else tf.linalg.matvec(y, w)
            grads = tape.gradient(s, xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            flat = [tf.reshape(tf.cast(g, tf.float32), (rows, -1)) for g in grads]
            return tf.concat(flat + [s[:, None]], axis=1)

        return compiled_function(gradient, [self._spec, tf.TensorSpec((None,), tf.float32)], jit)
