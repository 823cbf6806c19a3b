"""Prefix-state caching for recurrent stacks: perturbed copies that differ from X only at steps >= t0
start from the baseline's recurrent states and run only the remaining steps.

Which models qualify (:func:`prefix_plan`): a Keras 3 model (TensorFlow backend) or a tf_keras model,
Sequential or functional, with one input of shape (n, T, F) and one output, whose layers form one chain:

- the *trunk*: LSTM, GRU and SimpleRNN layers (the library's own classes, not subclasses; not stateful,
  not go_backwards, no return_state, float32), with layers between and before them that act on each
  step alone: Dense, TimeDistributed (of such a layer), Activation, ReLU/LeakyReLU/ELU/Softmax,
  LayerNormalization and BatchNormalization over the last axis, and the noise/dropout layers (identity
  in inference);
- the *head*: whatever follows the last recurrent layer among Dense, TimeDistributed, the layers above,
  Flatten and global 1-D pooling. It may mix steps: it always sees the whole last-layer sequence.

Everything else gets ``None`` and takes the plain path: Bidirectional, convolution, attention, Masking
(not supported yet), Embedding, RepeatVector, several inputs or outputs, nested models, custom layers,
a Keras 3 backend other than TensorFlow.

How (:class:`PrefixForward`): one compiled loop over timesteps calls every recurrent layer's own cell
(``layer.cell``, so activation, recurrent_activation, use_bias, unit_forget_bias, reset_after and the
weights are the layer's own) step by step, trunk layers in order within each step. The baseline pass
records every layer's states at the *boundaries* ``0, L, 2L, ...`` (``L = ceil(T / n_segments)``) and,
when the last recurrent layer returns sequences, its whole output sequence. A perturbed copy that
equals X before step t0 runs from the boundary ``b <= t0`` of its segment: recomputing steps b..t0-1
reproduces the baseline's states exactly, so the suffix equals the full forward to float32 round-off.
The segment start is an *input* of one compiled function, so there are two traces per (model,
chunk_rows, T, F, n_segments), whatever the number of segments: more segments cost memory, not compile.

Memory for the cached states of one chunk of rows (float32)::

    4 * chunk_rows * (n_segments * W + T * U)  bytes

where W is the sum of the recurrent layers' state sizes (2 * units for an LSTM, units for a GRU or a
SimpleRNN) and U is the last recurrent layer's units when it returns sequences (0 otherwise).
``n_segments=None`` picks as many segments as keep this within :data:`STATE_BUDGET_BYTES` (16 MiB),
at most T and :data:`MAX_SEGMENTS`, at least 1.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .keras_compiled import cached_compiled, compiled_function
from .keras_layers import keras_backend, keras_module
from .protocol import keras_model_flavour

# n_segments=None: as many segments as fit this many bytes of cached states per chunk, at most T and
# MAX_SEGMENTS. Measured on LSTM(48, sequences) -> LSTM(24), T = 48, 1024 rows: more segments keep
# shrinking the work (a copy recomputes (L - 1) / 2 steps before its t0 on average) and cost only memory
# and a little baseline time (the boundary buffer is copied once per segment); compile time is flat.
STATE_BUDGET_BYTES = 16 * 2**20
MAX_SEGMENTS = 64

_RECURRENT = ("LSTM", "GRU", "SimpleRNN")
# Identity in inference: skipped, never called (some of them want 3-D input).
_IDENTITY = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
             "ActivityRegularization")
# Act on each step alone; called on one step at a time, shaped (rows, 1, features).
_PER_STEP = ("Dense", "TimeDistributed", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
             "LayerNormalization", "BatchNormalization")
_HEAD_ONLY = ("Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D")

# model -> {(chunk_rows, T, F, n_segments, jit): PrefixForward}. Weak keys: an entry dies with its model
# (an entry holds the model's layers, never the model).
_PREFIX_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PrefixPlan:
    """What :func:`prefix_plan` found. ``trunk``: (kind, layer) pairs up to the last recurrent layer,
    kind 'skip', 'step' or 'rnn'; ``head``: the layers after it; ``state_sizes``: per recurrent layer,
    the sizes of its states; ``units``: the last recurrent layer's units; ``sequences``: whether it
    returns sequences."""

    flavour: str
    trunk: tuple
    head: tuple
    state_sizes: tuple
    units: int
    sequences: bool

    @property
    def state_width(self):
        """W: floats of recurrent state per row and boundary, every layer together."""
        return int(sum(sum(sizes) for sizes in self.state_sizes))


def _flavour(model):
    """'keras' (Keras 3 on TensorFlow) or 'tf_keras' for a Keras model, else None."""
    flavour = keras_model_flavour(model)
    return None if flavour == "keras" and keras_backend() != "tensorflow" else flavour


def _is(layer, names, layers):
    """True when ``layer`` is exactly one of the library's classes ``names`` (a subclass is custom)."""
    return any(type(layer) is getattr(layers, name, None) for name in names)


def _chain(model):
    """The model's layers (InputLayer left out) when they form one chain from its one input to its one
    output, else None."""
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1 or len(model.inputs[0].shape) != 3:
            return None
        layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        tensor = model.inputs[0]
        for layer in layers:
            if layer.input is not tensor:
                return None
            tensor = layer.output
        return layers if layers and tensor is model.outputs[0] else None
    except Exception:  # noqa: BLE001 - unbuilt models, layers used twice, several tensors: not a chain
        return None


def _float32(layer):
    return str(getattr(layer, "compute_dtype", "float32")) == "float32"


def _per_step(layer, layers):
    """Whether ``layer`` acts on each timestep alone (and is safe to call on one step)."""
    if _is(layer, ("LayerNormalization",), layers):
        axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        return list(axis) in ([-1], [2])
    if _is(layer, ("BatchNormalization",), layers):
        return layer.axis in (-1, 2, [-1], [2])
    if _is(layer, ("Softmax",), layers):
        return layer.axis in (-1, 2)
    if _is(layer, ("TimeDistributed",), layers):
        return _is(layer.layer, _PER_STEP + _IDENTITY, layers) and _per_step(layer.layer, layers)
    return _is(layer, _PER_STEP, layers)


def _plain_rnn(layer):
    return not (layer.stateful or layer.go_backwards or layer.return_state
                or getattr(layer, "time_major", False))


def _state_sizes(cell):
    size = cell.state_size  # an int, or a list of ints (an LSTM's [h, c]; tf_keras wraps it)
    return tuple(int(s) for s in (size if hasattr(size, "__iter__") else [size]))


def prefix_plan(model):
    """The chain of ``model`` that prefix-state caching can serve, as a :class:`PrefixPlan`, or None
    when it cannot be served exactly (the engine then takes the plain path). See the module docstring
    for what qualifies. Never raises for an unsupported model."""
    flavour = _flavour(model)
    if flavour is None:
        return None
    layers_mod = keras_module(flavour).layers
    chain = _chain(model)
    if chain is None or not all(_float32(layer) for layer in chain):
        return None
    rnn_at = [i for i, layer in enumerate(chain) if _is(layer, _RECURRENT, layers_mod)]
    if not rnn_at:
        return None
    trunk, sizes = [], []
    for i, layer in enumerate(chain[:rnn_at[-1] + 1]):
        if i in rnn_at:
            if not _plain_rnn(layer) or (i != rnn_at[-1] and not layer.return_sequences):
                return None
            trunk.append(("rnn", layer))
            sizes.append(_state_sizes(layer.cell))
        elif _is(layer, _IDENTITY, layers_mod):
            trunk.append(("skip", layer))
        elif _per_step(layer, layers_mod):
            trunk.append(("step", layer))
        else:
            return None
    head = chain[rnn_at[-1] + 1:]
    if not all(_is(layer, _IDENTITY + _HEAD_ONLY, layers_mod) or _per_step(layer, layers_mod)
               for layer in head):
        return None
    last = chain[rnn_at[-1]]
    return PrefixPlan(flavour, tuple(trunk), tuple(head), tuple(sizes), int(last.cell.units),
                      bool(last.return_sequences))


class PrefixStates:
    """The baseline's cached states for one chunk of rows (opaque to the engine: pass it back to
    :meth:`PrefixForward.suffix`). ``boundary``: (n_segments, rows, W) states at every boundary;
    ``outputs``: (T, rows, U) the last recurrent layer's outputs, or None when it returns only its last
    step. Both are tf.Tensors, kept where TensorFlow computed them."""

    def __init__(self, boundary, outputs):
        self.boundary = boundary
        self.outputs = outputs

    @property
    def rows(self):
        return int(self.boundary.shape[1])

    @property
    def nbytes(self):
        return 4 * sum(int(np.prod(t.shape)) for t in (self.boundary, self.outputs) if t is not None)

    def take(self, rows):
        """The states of the rows ``rows`` (indices into this chunk), e.g. to assemble a chunk that
        mixes rows of several tasks."""
        import tensorflow as tf

        rows = tf.constant(np.asarray(rows, dtype=np.int32))
        outputs = None if self.outputs is None else tf.gather(self.outputs, rows, axis=1)
        return PrefixStates(tf.gather(self.boundary, rows, axis=1), outputs)


def default_segments(plan, chunk_rows, n_timesteps, budget=STATE_BUDGET_BYTES):
    """As many segments as keep one chunk's cached states within ``budget`` bytes: at least 1, at most
    T and :data:`MAX_SEGMENTS`."""
    fixed = 4 * chunk_rows * n_timesteps * (plan.units if plan.sequences else 0)
    per_segment = 4 * chunk_rows * max(plan.state_width, 1)
    return int(np.clip((budget - fixed) // per_segment, 1, min(n_timesteps, MAX_SEGMENTS)))


def state_bytes(plan, chunk_rows, n_timesteps, n_segments):
    """The documented bound: bytes of cached states for one chunk of ``chunk_rows`` rows."""
    units = plan.units if plan.sequences else 0
    return 4 * chunk_rows * (n_segments * plan.state_width + n_timesteps * units)


class PrefixForward:
    """The compiled cached computation for one (model, chunk_rows, T, F, n_segments).

    ``boundaries``: the steps where states are cached, ``0, L, 2L, ...``; segment s starts at
    ``boundaries[s]``. :meth:`segment_of` maps a label's first perturbed step t0 to its segment.
    :meth:`baseline` runs an unperturbed chunk and returns its predictions and :class:`PrefixStates`;
    :meth:`suffix` runs a perturbed chunk, equal to that chunk before ``boundaries[segment]``, from
    those states. Chunks of fewer rows are padded to ``chunk_rows`` (one signature, never retraced).
    ``plan=None`` asks :func:`prefix_plan`; a model it refuses is a ValueError. The instance holds the
    model's layers, not the model. Prefer :func:`prefix_forward`, which caches instances per model.
    """

    def __init__(self, model, plan, chunk_rows, n_timesteps, n_features, n_segments=None, jit_compile=True):
        import tensorflow as tf

        self._tf = tf
        self.plan = prefix_plan(model) if plan is None else plan
        if self.plan is None:
            raise ValueError("This model cannot be served by prefix-state caching (prefix_plan(model) is "
                             "None): run it through the plain forward.")
        plan = self.plan
        self.chunk_rows, self.n_timesteps = int(chunk_rows), int(n_timesteps)
        self.n_features = int(n_features)
        if n_segments is None:
            n_segments = default_segments(plan, self.chunk_rows, self.n_timesteps)
        self.segment_length = math.ceil(self.n_timesteps / int(np.clip(n_segments, 1, self.n_timesteps)))
        self.boundaries = tuple(range(0, self.n_timesteps, self.segment_length))
        self._lock = threading.Lock()
        self._jit = bool(jit_compile)
        self._baseline_fn, self._suffix_fn = self._build(self._jit)

    @property
    def n_segments(self):
        return len(self.boundaries)

    @property
    def state_bytes(self):
        """Bytes of cached states per chunk (see the module docstring for the formula)."""
        return state_bytes(self.plan, self.chunk_rows, self.n_timesteps, self.n_segments)

    def segment_of(self, t0):
        """The segment whose run serves a copy equal to the baseline before step ``t0``."""
        return min(int(t0) // self.segment_length, self.n_segments - 1)

    # -- the traced computation ------------------------------------------------------------------
    def _step(self, x_t, flat):
        """One timestep through the trunk: (input at t, flat states) -> (new flat states, output)."""
        h, new, sizes = x_t, [], iter(self.plan.state_sizes)
        for kind, layer in self.plan.trunk:
            if kind == "step":
                h = layer(h[:, None], training=False)[:, 0]
            elif kind == "rnn":
                n = len(next(sizes))
                h, states = layer.cell(h, list(flat[len(new):len(new) + n]), training=False)
                new.extend(self._tf.nest.flatten(states))
        return tuple(new), h

    def _head(self, y):
        for layer in self.plan.head:
            if layer.__class__.__name__ not in _IDENTITY:
                y = layer(y, training=False)
        return y

    def _run(self, x, segment, flat, seq, record):
        """Segments ``segment``..S-1 of the time-major input ``x`` from the states ``flat``: an outer
        loop over segments around an inner loop over their steps. ``seq``: the last recurrent layer's
        outputs, (S * L, rows, U), to update, or its last output. With ``record``, the states at every
        boundary too. Large buffers are updated once per segment, not per step: XLA copies a
        loop-carried buffer on every iteration of the loop that carries it."""
        tf, L, T, plan = self._tf, self.segment_length, self.n_timesteps, self.plan
        buf = tf.zeros((self.n_segments if record else 0, self.chunk_rows, plan.state_width))

        def one_segment(s, flat, seq, buf):
            if record:
                buf = tf.tensor_scatter_nd_update(buf, [[s]], tf.concat(flat, -1)[None])
            start = s * L

            def step(i, flat, block):
                flat, out = self._step(tf.gather(x, i), flat)
                if plan.sequences:
                    out = tf.tensor_scatter_nd_update(block, [[i - start]], out[None])
                return i + 1, flat, out

            block = tf.zeros((L, self.chunk_rows, plan.units)) if plan.sequences else seq
            _, flat, block = tf.while_loop(lambda i, *_: i < tf.minimum(start + L, T), step,
                                           (start, flat, block))
            if plan.sequences:
                seq = tf.tensor_scatter_nd_update(seq, (start + tf.range(L))[:, None], block)
            else:
                seq = block
            return s + 1, flat, seq, buf

        _, flat, seq, buf = tf.while_loop(lambda s, *_: s < self.n_segments, one_segment,
                                          (segment, tuple(flat), seq, buf))
        y = tf.transpose(seq[:T], [1, 0, 2]) if plan.sequences else seq
        return self._head(y), buf, seq[:T] if plan.sequences else seq

    def _build(self, jit):
        tf, plan, rows, T = self._tf, self.plan, self.chunk_rows, self.n_timesteps
        sizes = [s for layer_sizes in plan.state_sizes for s in layer_sizes]
        padded = self.n_segments * self.segment_length
        x_spec = tf.TensorSpec((rows, T, self.n_features), tf.float32)
        seg_spec = tf.TensorSpec((), tf.int32)
        buf_spec = tf.TensorSpec((self.n_segments, rows, plan.state_width), tf.float32)
        out_specs = [tf.TensorSpec((T, rows, plan.units), tf.float32)] if plan.sequences else []

        def init_seq(outputs):
            if plan.sequences:
                return tf.pad(outputs[0], [[0, padded - T], [0, 0], [0, 0]]) if outputs else \
                    tf.zeros((padded, rows, plan.units))
            return tf.zeros((rows, plan.units))

        def baseline(x):
            flat = [tf.zeros((rows, s)) for s in sizes]
            pred, buf, seq = self._run(tf.transpose(x, [1, 0, 2]), tf.constant(0), flat, init_seq(()), True)
            return (pred, buf, seq) if plan.sequences else (pred, buf)

        def suffix(x, segment, boundary, *outputs):
            flat = tf.split(tf.gather(boundary, segment), sizes, axis=-1)
            pred, _, _ = self._run(tf.transpose(x, [1, 0, 2]), segment, flat, init_seq(outputs), False)
            return pred

        # compiled_function: each model's two functions count their own traces (no "excessive
        # retracing" warning when many models are explained in one session).
        return (compiled_function(baseline, [x_spec], jit),
                compiled_function(suffix, [x_spec, seg_spec, buf_spec] + out_specs, jit))

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, which, *args):
        try:
            return (self._baseline_fn if which == "baseline" else self._suffix_fn)(*args)
        except Exception:  # noqa: BLE001
            if not self._jit:
                raise
            with self._lock:  # some layers have no XLA kernel on CPU: a plain graph, once
                if self._jit:
                    self._jit = False
                    self._baseline_fn, self._suffix_fn = self._build(False)
            return (self._baseline_fn if which == "baseline" else self._suffix_fn)(*args)

    def _pad(self, x_chunk):
        x = np.asarray(x_chunk, dtype=np.float32)
        n = x.shape[0]
        if x.shape[1:] != (self.n_timesteps, self.n_features) or n > self.chunk_rows:
            raise ValueError(f"Expected a chunk of at most {self.chunk_rows} rows of shape "
                             f"({self.n_timesteps}, {self.n_features}), got shape {x.shape}.")
        if n < self.chunk_rows:
            x = np.concatenate([x, np.zeros((self.chunk_rows - n,) + x.shape[1:], np.float32)])
        return x, n

    def baseline(self, x_chunk):
        """(predictions, states) of an unperturbed chunk: predictions as the model gives them, one row
        per input row (an ndarray), and the :class:`PrefixStates` of the (padded) chunk."""
        x, n = self._pad(x_chunk)
        out = self._call("baseline", x)
        return np.asarray(out[0])[:n], PrefixStates(out[1], out[2] if self.plan.sequences else None)

    def suffix(self, x_chunk, segment, states):
        """Predictions for a perturbed chunk that equals the baseline's chunk (the one ``states``
        came from, row for row) before step ``boundaries[segment]``; runs only the steps from there.
        Any segment up to ``segment_of(t0)`` (t0: the copy's first changed step) gives the same
        numbers; ``segment_of(t0)`` does the least work."""
        tf = self._tf
        x, n = self._pad(x_chunk)
        if not 0 <= int(segment) < self.n_segments:
            raise ValueError(f"segment must be in [0, {self.n_segments}), got {segment}.")
        if states.rows not in (n, self.chunk_rows):
            raise ValueError(f"states hold {states.rows} rows; the chunk has {n} (states must come from "
                             f"this chunk's baseline, or be taken row for row with states.take).")
        tensors = [states.boundary] + ([states.outputs] if self.plan.sequences else [])
        if states.rows < self.chunk_rows:
            tensors = [tf.pad(t, [[0, 0], [0, self.chunk_rows - states.rows], [0, 0]]) for t in tensors]
        out = self._call("suffix", x, tf.constant(int(segment), tf.int32), *tensors)
        return np.asarray(out)[:n]


def prefix_forward(model, chunk_rows, n_timesteps, n_features, n_segments=None, jit_compile=True, plan=None):
    """The cached :class:`PrefixForward` of ``model`` for this chunk shape, or None when
    :func:`prefix_plan` refuses the model (``plan``: the model's plan, when it was read already). One
    instance per (model, chunk_rows, T, F, n_segments, jit), kept while the model lives (weak keys)."""
    plan = plan if plan is not None else prefix_plan(model)
    if plan is None:
        return None
    if n_segments is None:
        n_segments = default_segments(plan, chunk_rows, n_timesteps)
    key = (int(chunk_rows), int(n_timesteps), int(n_features), int(n_segments), bool(jit_compile))
    return cached_compiled(_PREFIX_CACHE, model, key, lambda: PrefixForward(
        model, plan, chunk_rows, n_timesteps, n_features, n_segments, jit_compile))
