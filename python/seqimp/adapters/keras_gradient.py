"""How gradients are taken (gradient_importance): :class:`KerasGradient` and its compiled gradient.

Gradients need a differentiable model, so only Keras models qualify: Keras 3 with the TensorFlow
backend, and tf_keras. They are taken in a tf.function traced once per (model, chunk shape, XLA or not,
output mode) and cached like the forward pass. Which output is explained is an *input* of that function
(a weight vector over the flattened per-sample outputs), so another output index reuses the same trace.

Token inputs (ids feeding an ``Embedding``, :mod:`seqimp.tokens`) have no gradient: the ids are cast to
integers before the lookup. Their gradients are taken in embedding space instead
(:class:`CompiledEmbeddingGradient`): each Embedding's output ``e`` (rows, T, D) is computed from the
ids, moved along the path ``e + (1 - alpha) (b - e)`` from a baseline embedding ``b`` (alpha = 1 is
``e`` itself), and handed to the model in place of the layer's output (the layer's ``call`` is replaced
by one returning it while the function is traced; the layer's mask still comes from the ids). A token
cell's value is the gradient with respect to ``e`` at that step, summed over the D dimensions
(direction "sum"), or its dot product with ``e - b`` (direction "path": gradient x input with b = 0,
and the integrand of integrated gradients). Each row's ``alpha`` comes with its chunk as an argument of
the call (``predictor(chunk, alpha=...)``: the engine passes every row's task value, see
:class:`seqimp.engine.Transform`).
"""

from __future__ import annotations

import threading
import weakref
from ..errors import SeqimpTypeError, SeqimpValueError, Shape, Value, text
from contextlib import contextmanager

import numpy as np

from .keras_compiled import CompiledForward, as_model_inputs, cached_compiled, compiled_function, pad_rows
from .keras_forward import KerasPredictor
from .keras_layers import embedding_readers, is_embedding, walk_layers
from .spec import model_spec
from .protocol import (PREDICTIONS_ONLY, TORCH_WRAPPER, Predictor, as_prediction_array, describe_model, input_rows,
                       refuse_torch)

GRADIENT_FRAMEWORKS = "Keras 3 with the TensorFlow backend, or tf_keras"
# model -> {(chunk_rows, row_shape, jit, mode): CompiledGradient}, weak keys as for the forward pass.
_GRADIENT_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
# Held while an Embedding's call is replaced, so that no other trace of the model sees the replacement.
_SUPPLY_LOCK = threading.RLock()


def gradient_predictor(model, *, func="seqimp", spec=None):
    """A :class:`KerasGradient` for ``model`` (``spec``: its ModelSpec, read here when not given), or an
    error that says what works instead."""
    if isinstance(model, KerasGradient):
        return model
    refuse_torch(model, func, advice=f"Gradients are taken through Keras layers; for this model use "
                 f"{PREDICTIONS_ONLY}, with model={TORCH_WRAPPER}")
    spec = spec if spec is not None else model_spec(model)
    flavour = spec.flavour if not isinstance(model, Predictor) else None
    if flavour is None:
        raise SeqimpTypeError(
            "The '{argument}' {parameter} of {function} must be a Keras model ({frameworks}), because gradients are "
            "taken through the model's layers. Got {got} instead, which seqimp can call but not differentiate. For "
            "such a model use {instead}.", argument="model", function=func, frameworks=GRADIENT_FRAMEWORKS,
            got=describe_model(model), instead=PREDICTIONS_ONLY)
    if flavour == "keras":
        backend = spec.backend
        if backend != "tensorflow":
            raise SeqimpValueError(
                "{function} supports {frameworks}; this model is a Keras 3 model on the {backend} backend. Set "
                "KERAS_BACKEND=tensorflow before importing keras, or use {instead} and work with every backend.",
                argument="model", function=func, frameworks=GRADIENT_FRAMEWORKS, backend=Value(backend),
                instead=PREDICTIONS_ONLY)
    return KerasGradient(model, flavour, spec=spec)


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

    def __init__(self, model, flavour=None, spec=None):
        super().__init__(model, flavour, jit_compile=False, spec=spec)
        self._recurrent = self.spec.recurrent
        self._mode = "weighted"
        self._weights = None
        self._fn = None
        self._tokens = ()  # model-order positions of the token inputs (gradients in embedding space)
        self._readers = []  # (model input position, Embedding layer) for each token input's Embeddings
        self._direction = "sum"
        self._bases = None  # one float32 (D,) baseline embedding per reader

    def prefix_forward(self, chunk_rows, n_timesteps, n_features):
        """None: gradients are never resumed from cached states."""
        return None

    def output_shape(self, row_shape):
        """The per-sample output shape: the model's declared one, else from one eager call on zeros.

        The declared shape saves the eager call, which costs about 1 s on a two-layer LSTM over 30 steps.
        """
        if self.spec.output_shape is not None:
            return self.spec.output_shape
        if row_shape and isinstance(row_shape[0], tuple):  # several inputs: one shape each, model order
            zeros = as_model_inputs([np.zeros((1,) + s, dtype=np.float32) for s in row_shape],
                                    list(self.spec.input_names) if self.spec.takes_dict else None)
        else:
            zeros = np.zeros((1,) + tuple(row_shape), dtype=np.float32)
        return _EagerOnce(self.model, self.description, self._expected())(zeros).shape[1:]

    def select(self, weights=None, mode="weighted"):
        """Which output the gradients are of: a weight vector over the flattened outputs, or "max"."""
        self._mode = mode
        self._weights = np.zeros(1, np.float32) if weights is None else np.asarray(weights, np.float32)
        self._fn = None

    def check_inputs(self, data):
        """Check X's inputs against the model's, and find its token inputs and their Embeddings."""
        super().check_inputs(data)
        order = self._layout.order if self._layout is not None else [0]
        blocks = [data.blocks[b] for b in order]  # in the model's input order
        self._tokens = tuple(m for m, block in enumerate(blocks) if block.tokens)
        readers = list(self.spec.embeddings)
        self._readers = [(m, layer) for m, layer in readers if m in self._tokens]
        _check_differentiable(self.model, self.spec, blocks, readers, self._tokens, data)

    def path(self, direction, data, baselines=None, func="gradient_importance"):
        """Token inputs: what a token cell's value is ("sum": the embedding gradient summed over its
        dimensions; "path": its dot product with ``e - b``) and the baseline embedding ``b`` of each
        Embedding. ``baselines`` has one entry per block of ``data``: None (the embedding of token 0 for
        ``mask_zero=True``, else zeros), a token id, "mean" (the mean embedding over real steps) or
        "zeros". A no-op without token inputs."""
        self._direction = direction
        self._fn = None
        if not self._readers:
            return
        order = self._layout.order if self._layout is not None else [0]
        given = list(baselines) if baselines is not None else [None] * len(order)
        self._bases = [_base_embedding(layer, given[order[m]], data.blocks[order[m]], func)
                       for m, layer in self._readers]

    def plan(self, total_rows):
        """Use XLA for recurrent models when the run is long enough to repay its compile time."""
        self.jit_compile = bool(self._recurrent and total_rows >= self.XLA_MIN_ROWS)

    def _compile(self, chunk_rows, row_shape):
        self._chunk_rows = int(chunk_rows)
        row_shape = tuple(row_shape)
        key = (self._chunk_rows, row_shape, self.jit_compile, self._mode)
        if self._readers:
            key += ("embedding", self._direction, self._tokens)
            self._fn = cached_compiled(_GRADIENT_CACHE, self.model, key, lambda: CompiledEmbeddingGradient(
                self.model, self._chunk_rows, row_shape, self.jit_compile, self._mode, self._tokens,
                self._direction))
            return
        self._fn = cached_compiled(
            _GRADIENT_CACHE, self.model, key,
            lambda: CompiledGradient(self.model, self._chunk_rows, row_shape, self.jit_compile, self._mode))

    def _call(self, chunk, alpha=None):
        """(m, P + 1) gradients and outputs of a chunk; ``alpha`` (m,): each row's place on the
        integrated-gradients path, which token inputs take in embedding space (1, X itself, if None)."""
        if self._weights is None:
            raise RuntimeError("KerasGradient.select() must be called before the gradients are taken.")
        layout = self._layout
        chunk = layout.arrange(chunk) if layout is not None else np.ascontiguousarray(chunk, dtype=np.float32)
        rows = input_rows(chunk)
        if self._fn is None or rows > self._chunk_rows:
            self._compile(rows, layout.row_shapes if layout is not None else chunk.shape[1:])
        args = (pad_rows(chunk, self._chunk_rows), self._weights)
        if self._readers:
            if self._bases is None:
                raise RuntimeError("KerasGradient.path() must be called before gradients of token inputs.")
            alpha = np.ones(rows, np.float32) if alpha is None else np.asarray(alpha, np.float32).reshape(rows)
            args += (pad_rows(alpha, self._chunk_rows), self._bases)
        out = as_prediction_array(self._fn(*args), self.description)
        # Several inputs: the gradient's columns come in the model's input order; give them X's.
        return out[:rows] if layout is None else out[:rows, layout.x_order_columns()]


class _EagerOnce(Predictor):
    """One eager call, to learn the output shape without tracing a function for it."""

    def __init__(self, model, description, expected):
        super().__init__(model)
        self.description = description
        self._expected_text = expected

    def _call(self, chunk):
        return self.model(chunk, training=False)

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


def _check_differentiable(model, spec, blocks, readers, tokens, data):
    """Never silent zeros: a token input needs an Embedding that reads it (its gradients are taken in
    embedding space), and any other input read as ids (integer-typed, or by an Embedding) is refused:
    its gradient would be zero, not an attribution."""
    dtypes = list(spec.input_dtypes or [])
    read = {m for m, _ in readers}
    for m, block in enumerate(blocks):
        which = text("{X}") if data.is_single else text("{X}'s input {name}", name=Value(block.name))
        if m in tokens and m not in read:
            raise SeqimpValueError("gradient_importance: {which} holds token ids (an integer input of the model), but "
                                   "no Embedding layer reads it directly, so its gradients cannot be taken (ids are "
                                   "not differentiable) nor moved to an embedding space. Use perturbation_importance "
                                   "or permutation_importance, which need only predictions.", argument="X",
                                   function="gradient_importance", which=which)
        integer = m < len(dtypes) and dtypes[m] is not None and dtypes[m].kind in "iub"
        if m not in tokens and (m in read or integer):
            raise SeqimpValueError("gradient_importance: the model reads {which} ({shape}) as integer ids{through}, "
                                   "whose gradients would be zero. Token ids are explained in embedding space when "
                                   "they come as a 2-D array (samples, timesteps); otherwise use "
                                   "perturbation_importance or permutation_importance.", argument="X",
                                   function="gradient_importance", which=which, shape=Shape(block.input_shape),
                                   through=" through an Embedding" if m in read else "")
    covered = {id(layer) for m, layer in readers if m in tokens}
    stray = [layer.name for layer in walk_layers(model) if is_embedding(layer) and id(layer) not in covered]
    if stray:
        raise SeqimpValueError("gradient_importance: the model's Embedding layers {stray} do not read a token input "
                               "of {X} directly (they read another layer's output, sit in a nested model, or are "
                               "shared), so seqimp cannot take their gradients in embedding space, and through the "
                               "lookup they would be zero. Use perturbation_importance or permutation_importance, "
                               "which need only predictions.", argument="model", function="gradient_importance",
                               stray=Value(stray))


def _embedding_lookup(layer):
    """The layer's own lookup (its ``call``, or ``quantized_call`` for a quantized Keras 3 layer)."""
    if getattr(layer, "quantization_mode", None) is not None:
        return layer.quantized_call
    return layer.call


def _embed(layer, ids):
    """The embeddings of ``ids`` (an int array) by ``layer``, eagerly, as float64 NumPy."""
    import tensorflow as tf

    with _SUPPLY_LOCK:
        out = _embedding_lookup(layer)(tf.constant(np.asarray(ids), tf.int32))
    return np.asarray(tf.cast(out, tf.float64))


def _base_embedding(layer, given, block, func):
    """The (D,) float32 baseline embedding of ``layer`` for ``given`` (see :meth:`KerasGradient.path`)."""
    zero = _embed(layer, np.zeros((1, 1), np.int32))[0, 0]
    if given is None:
        return (zero if getattr(layer, "mask_zero", False) else np.zeros_like(zero)).astype(np.float32)
    if isinstance(given, str) and given == "zeros":
        return np.zeros_like(zero, dtype=np.float32)
    if isinstance(given, str) and given == "mean":
        ids = block.X[:, :, 0] if block.mask is None else block.X[:, :, 0][block.mask]
        values, counts = np.unique(ids, return_counts=True)
        table = _embed(layer, values.reshape(1, -1))[0]
        return (counts @ table / counts.sum()).astype(np.float32)
    vocab = int(getattr(layer, "input_dim", 2**31 - 1))
    if isinstance(given, (int, np.integer)) and not isinstance(given, (bool, np.bool_)) and 0 <= given < vocab:
        return _embed(layer, np.full((1, 1), given, np.int32))[0, 0].astype(np.float32)
    where = "" if block.name is None else text(" for input {name}", name=Value(block.name))
    raise SeqimpTypeError("The '{argument}' {parameter} of {function}{where} must be {None} (the embedding of token "
                          "0 for an Embedding with mask_zero=True, else the zero vector), {mean} (the mean embedding "
                          "over real steps) or a token id in 0..{top}: a token input's baseline is an embedding, "
                          "since ids have no values in between. Got {got} instead.", argument="baseline", function=func,
                          where=where, mean=Value("mean"), top=vocab - 1, got=Value(given))


@contextmanager
def supplied_embeddings(pairs):
    """While inside: each (Embedding layer, tensor) pair's layer returns the tensor instead of looking
    its ids up. The layer still computes its mask from the ids."""
    with _SUPPLY_LOCK:
        for layer, tensor in pairs:
            def supply(*args, _tensor=tensor, **kwargs):
                return _tensor

            layer.__dict__["call"] = supply
            layer.__dict__["quantized_call"] = supply
        try:
            yield
        finally:
            for layer, _ in pairs:
                layer.__dict__.pop("call", None)
                layer.__dict__.pop("quantized_call", None)


class CompiledEmbeddingGradient(CompiledForward):
    """``x, w, alpha, bases -> [per-cell values, s]`` for a model with token inputs: the gradients of
    dense inputs as :class:`CompiledGradient` gives them, and each token cell's value in embedding
    space (see the module docstring). ``bases`` holds one (D,) baseline embedding per Embedding."""

    def __init__(self, model, chunk_rows, row_shape, jit, mode, tokens, direction):
        self._mode, self._tokens, self._direction = mode, tuple(tokens), direction
        self._n_bases = sum(1 for m, _ in embedding_readers(model) if m in tokens)
        super().__init__(model, chunk_rows, row_shape, jit)

    def _build(self, jit):
        tf = self._tf
        model_ref, names, tokens = self._model_ref, self._input_names, self._tokens
        mode, direction = self._mode, self._direction

        def gradient(x, w, alpha, bases):
            model = model_ref()
            xs = list(x) if isinstance(x, (list, tuple)) else [x]
            rows = tf.shape(xs[0])[0]
            readers = [(m, layer) for m, layer in embedding_readers(model) if m in tokens]
            alpha = tf.reshape(alpha, (-1, 1, 1))
            embedded, directions = [], []
            for (m, layer), b in zip(readers, bases):
                e = tf.cast(_embedding_lookup(layer)(tf.cast(xs[m], tf.int32)), tf.float32)
                embedded.append(e + (1.0 - alpha) * (b - e))  # alpha = 1: e itself, exactly
                directions.append(e - b)
            dense = [t for m, t in enumerate(xs) if m not in tokens]
            with tf.GradientTape() as tape:
                for t in dense + embedded:
                    tape.watch(t)
                supplied = [(layer, tf.cast(e, layer.compute_dtype))
                            for (_, layer), e in zip(readers, embedded)]
                with supplied_embeddings(supplied):
                    y = model(as_model_inputs(x, names), training=False)
                if isinstance(y, (list, tuple)):
                    y = y[0]
                y = tf.reshape(tf.cast(y, tf.float32), (rows, -1))
                s = tf.reduce_max(y, axis=1) if mode == "max" else tf.linalg.matvec(y, w)
            grads = tape.gradient(s, dense + embedded, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            per_token = {}
            for (m, _), g, d in zip(readers, grads[len(dense):], directions):
                g = tf.cast(g, tf.float32)
                value = tf.reduce_sum(g * d if direction == "path" else g, axis=-1)
                per_token[m] = per_token[m] + value if m in per_token else value
            dense_grads = iter(grads[:len(dense)])
            flat = [tf.reshape(tf.cast(per_token[m] if m in tokens else next(dense_grads), tf.float32),
                               (rows, -1)) for m in range(len(xs))]
            return tf.concat(flat + [s[:, None]], axis=1)

        signature = [self._spec, tf.TensorSpec((None,), tf.float32), tf.TensorSpec((None,), tf.float32),
                     [tf.TensorSpec((None,), tf.float32)] * self._n_bases]
        return compiled_function(gradient, signature, jit)
