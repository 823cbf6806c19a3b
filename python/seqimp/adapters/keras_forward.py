"""How a Keras model is run: :class:`KerasPredictor` and its compiled forward pass.

For Keras 3 (TensorFlow backend) and tf_keras the forward pass is a ``tf.function`` traced once per
(model, chunk shape, XLA or not) with a fixed input signature, cached across calls, and fed fixed-size
chunks (the last one padded), so it never retraces. ``model.predict`` is never called per perturbed
copy. Keras 3 on another backend runs eagerly, chunk by chunk.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..errors import Shape, text

from .keras_compiled import CompiledForward, cached_compiled, pad_rows
from .keras_layers import check_declared_shape, check_keras_inputs, check_stateless
from .spec import model_spec
from .protocol import Predictor, as_prediction_array, input_rows

# Keras: about 2 MB of input per forward call, as a power of two between 256 and 4096 rows. Measured on
# LSTM(64)->LSTM(32) with T=50, F=8 (XLA, 2 cores): 1024 rows ran 1.3x faster than 512, 1.1x than 2048.
_KERAS_CHUNK_BYTES = 2 * 2**20
_KERAS_CHUNK_ROWS = (256, 4096)

# model -> {(chunk_rows, row_shape, jit): CompiledForward}. Weak keys: a cache entry dies with its model.
_FORWARD_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class KerasPredictor(Predictor):
    """Keras 3 (TensorFlow backend) or tf_keras: a cached, compiled forward pass over fixed-size chunks.

    ``jit_compile='auto'`` uses XLA for models with recurrent layers, where it is measured to be faster
    on CPU; XLA that fails to compile falls back to a plain graph. The compiled functions go with the
    model (weak keys), but TensorFlow keeps every XLA executable for the life of the process (its
    compilation cache has no eviction; tensorflow/tensorflow#64170): about 2.4 MB per recurrent model
    explained, measured on LSTM(4) with TF 2.21 on CPU. A plain graph leaves no more than an eager call.

    ``spec`` is the model's :class:`~seqimp.adapters.spec.ModelSpec` (read here when not given).
    Pickled for worker processes, it leaves its compiled functions and its spec behind; the worker
    reads the spec from its own copy of the model and compiles its own functions.
    """

    # What a worker rebuilds rather than receives (compiled functions, layers read from the model).
    _NOT_SHIPPED = ("_forward", "_fn", "spec")

    def __init__(self, model, flavour=None, jit_compile="auto", spec=None):
        super().__init__(model)
        self.spec = spec if spec is not None else model_spec(model)
        self.flavour = flavour if flavour is not None else self.spec.flavour
        self.description = "Keras 3 model" if self.flavour == "keras" else "tf_keras model"
        if jit_compile == "auto":
            jit_compile = self.spec.recurrent
        self.jit_compile = bool(jit_compile)
        self._forward = None
        self._chunk_rows = None
        self._layout = None  # how several inputs are fed (InputLayout); None for one
        self._eager = self.flavour == "keras" and self.spec.backend != "tensorflow"
        check_stateless(self.spec)

    def __getstate__(self):
        return {k: (None if k in self._NOT_SHIPPED else v) for k, v in self.__dict__.items()}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.spec = model_spec(self.model)

    def prefix_forward(self, chunk_rows, n_timesteps, n_features):
        """The model resumed from the baseline's cached recurrent states
        (:func:`~seqimp.adapters.keras_prefix.prefix_forward`), or None where its layers do not allow it."""
        if self.spec.prefix_plan is None:
            return None
        from .keras_prefix import prefix_forward  # noqa: WPS433

        return prefix_forward(self.model, chunk_rows, n_timesteps, n_features, jit_compile=self.jit_compile,
                              plan=self.spec.prefix_plan)

    @property
    def concurrent_chunks(self):
        """Two chunks in flight for a compiled graph (TensorFlow runs them concurrently and releases the
        GIL). Measured on LSTM(64)->LSTM(32), T=50, F=8, 1024-row chunks, 2 cores: 1.25x the throughput
        of one at a time. Eager (other-backend) models and models that run R code run one at a time."""
        return 1 if self._eager or self.r_code else 2

    @property
    def r_code(self):
        """The layers that run R code (an R Lambda, a layer class defined from R): R runs them on its main
        thread only, so their chunks go one at a time on the calling thread, and never to workers."""
        return self.spec.r_code

    @property
    def process_bound(self):
        return bool(self.r_code)

    def default_chunk_rows(self, row_shape, itemsize=4):
        # Chunks reach the compiled function as float32 whatever X's dtype: 4 bytes a value.
        rows = _KERAS_CHUNK_BYTES // max(int(np.prod(row_shape)) * 4, 1)
        rows = 2 ** int(np.log2(max(rows, 1)))
        return int(np.clip(rows, *_KERAS_CHUNK_ROWS))

    def _expected(self):
        shape = self.spec.input_shape
        return text(" (the model expects input of {shape})", shape=Shape(shape)) if shape is not None else ""

    def check_inputs(self, data):
        """Check X's input or inputs against the model's, and keep how several inputs feed it."""
        self._layout = InputLayout.of(self.spec, data)
        if self._layout is None:
            check_declared_shape(self.spec.input_shape, data.input_shape)

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

    def _call(self, chunk):
        if self._layout is not None:
            chunk = self._layout.arrange(chunk)
        if self._eager:
            return self.model.predict_on_batch(chunk)
        rows = input_rows(chunk)
        if self._forward is None or rows > self._chunk_rows:
            self._compile(rows, self._layout.row_shapes if self._layout else chunk.shape[1:])
        out = as_prediction_array(self._forward(pad_rows(chunk, self._chunk_rows)), self.description)
        return out[:rows]


class InputLayout:
    """How X's several inputs feed a multi-input Keras model: a list in the model's input order."""

    def __init__(self, order, keys, row_shapes):
        self.order = order          # X's block positions, in the model's input order
        self.keys = keys            # X's dict keys, or None for a list
        self.row_shapes = row_shapes  # per-row shape of each model input, in the model's order

    @classmethod
    def of(cls, spec, data):
        """None for single-array X; else the layout, after checking X's inputs against the model's."""
        if getattr(data, "structure", "array") == "array":
            return None
        order = check_keras_inputs(spec, data.input_shapes, data.structure, data.input_names)
        keys = list(data.input_names) if data.structure == "dict" else None
        return cls(order, keys, tuple(tuple(data.input_shapes[i][1:]) for i in order))

    def arrange(self, chunk):
        values = [chunk[k] for k in self.keys] if self.keys is not None else list(chunk)
        return [np.ascontiguousarray(values[i], dtype=np.float32) for i in self.order]

    def x_order_columns(self):
        """Column indices that put per-row values laid out input by input in the model's order (one
        flattened block per input, then anything after them) back in X's order of inputs."""
        sizes = [int(np.prod(shape)) for shape in self.row_shapes]
        starts = np.cumsum([0] + sizes)
        by_x = sorted(range(len(self.order)), key=lambda m: self.order[m])
        columns = [np.arange(starts[m], starts[m + 1]) for m in by_x]
        return np.concatenate(columns + [np.arange(starts[-1], starts[-1] + 1)])

