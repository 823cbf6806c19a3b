"""What every model adapter is: the :class:`Predictor` protocol, the wrappers for a callable and for an
object with ``.predict``, the conversion of whatever a model returns into one float64 ndarray, and the
few checks that tell kinds of model apart without importing their frameworks.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from ..errors import Raised, SeqimpTypeError, SeqimpValueError, Shape, Value, text

# Rows per chunk when nothing else is known: bounded bytes, not a row count, so wide inputs stay small.
_CHUNK_BYTES = 32 * 2**20

# The advice given wherever a method needs more than a model's predictions.
PREDICTIONS_ONLY = ("perturbation_importance, permutation_importance or lofo_importance, which need "
                    "only predictions")


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


def keras_model_flavour(model):
    """Like :func:`keras_flavour`, but only for a whole model (one with layers), not a layer or tensor."""
    flavour = keras_flavour(model)
    return flavour if flavour is not None and hasattr(model, "layers") else None


def is_torch_module(obj):
    """True for a PyTorch ``nn.Module``, told by its classes' module names (``torch.nn.*``) so that torch
    is never imported."""
    return any(m.startswith("torch.nn.") for m in _module_names(obj))


def _is_torch_tensor(obj):
    module = getattr(type(obj), "__module__", "") or ""
    return (module == "torch" or module.startswith("torch.")) and hasattr(obj, "detach")


# The one-line wrapper that makes a PyTorch module a function of NumPy arrays.
TORCH_WRAPPER = "lambda x: m(torch.from_numpy(x).float()).detach().numpy()"


def refuse_torch(model, func, argument="model", advice=None):
    """Refuse a PyTorch module where seqimp needs a model it can call on NumPy arrays, giving the one
    line that wraps it (``advice`` replaces that line where wrapping is not enough)."""
    if not is_torch_module(model):
        return
    advice = advice or f"Pass it as a function of NumPy arrays: model={TORCH_WRAPPER}, with m your module in eval() mode"
    raise SeqimpTypeError("The '{argument}' {parameter} of {function} is a PyTorch module ({name}); seqimp calls "
                          "models on NumPy arrays and does not import torch. {advice}.", argument=argument,
                          function=func, name=type(model).__name__, advice=advice)


def describe_model(model):
    """A few words on what ``model`` is, for errors that say why it cannot be used."""
    if getattr(model, "described_as", None):  # a predictor that says what it wraps (an R model)
        return model.described_as
    if callable(model) and not hasattr(model, "predict"):
        return f"a plain callable ({type(model).__name__})"
    return f"an object of type {type(model).__name__}"


class Predictor:
    """Maps a chunk of model inputs to predictions, one row per input row.

    Subclasses implement :meth:`_call`. ``__call__`` checks the shapes and names the model in errors
    by its ``description`` ("Keras 3 model", "callable", ...). What the engine needs beyond predictions
    is asked of the predictor, never read from its insides: :meth:`default_chunk_rows`, :meth:`prepare`,
    :meth:`innermost` (the adapter behind any wrappers), :meth:`prefix_forward` (recurrent stacks resumed
    from cached states; None for every model that cannot), :meth:`routed` (calls sent elsewhere while the
    prefix cache runs), ``process_bound`` (it cannot travel to worker processes) and pickling (a
    predictor pickles without what a worker rebuilds, such as compiled functions).
    """

    description = "callable"
    # What the wrapped model is, in the words of errors that refuse it (describe_model); None: its type.
    described_as = None
    # True for a model that lives in this process (an R model): the engine never ships it to workers.
    process_bound = False

    def __init__(self, model):
        self.model = model

    def default_chunk_rows(self, row_shape, itemsize=8):
        """Rows per chunk for rows of ``row_shape`` values of ``itemsize`` bytes each (X's own dtype)."""
        row_bytes = int(np.prod(row_shape)) * int(itemsize)
        return max(1, _CHUNK_BYTES // max(row_bytes, 1))

    def prepare(self, chunk_rows, data):
        """Called by the engine once before a run, with the fixed chunk size and the SequenceData.

        Keras adapters check the input shape and compile here; R adapters take the feature names.
        """

    def innermost(self):
        """The adapter itself (a wrapper gives the adapter it wraps)."""
        return self

    def prefix_forward(self, chunk_rows, n_timesteps, n_features):
        """A forward pass that resumes a recurrent stack from cached states, or None (the default: the
        model cannot be resumed, and the engine takes the plain path)."""
        return None

    @contextlib.contextmanager
    def routed(self, route):
        """While inside, every chunk goes to ``route(call, chunk)``, where ``call`` is the model's own
        call; :meth:`__call__`'s checks, and every wrapper around this predictor, still apply."""
        original = self._call
        self.__dict__["_call"] = lambda chunk, **arguments: route(original, chunk, **arguments)
        try:
            yield self
        finally:
            del self.__dict__["_call"]

    def _call(self, chunk, **arguments):
        raise NotImplementedError

    def __call__(self, chunk, **arguments):
        try:
            out = self._call(chunk, **arguments)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised with the shapes the user needs
            raise SeqimpValueError("The model ({model}) failed on input of {shape}{expected}: {exc}",
                                   model=self.description, shape=shown_shapes(chunk),
                                   expected=self._expected(), exc=Raised(exc)) from exc
        try:
            out = as_prediction_array(out, self.description)
        except (KeyboardInterrupt, MemoryError, SeqimpValueError):
            raise
        except Exception as exc:  # noqa: BLE001 - what the model returned could not be read
            raise SeqimpValueError("The model ({model}) returned a {kind} for input of {shape} that seqimp could not "
                                   "read as predictions: {exc}", model=self.description, kind=type(out).__name__,
                                   shape=shown_shapes(chunk), exc=Raised(exc)) from exc
        rows = input_rows(chunk)
        if out.ndim == 0 or out.shape[0] != rows:
            raise SeqimpValueError("The model returned predictions of {got} for an input of {shape}; expected {rows} "
                                   "rows, one per input sample.", got=Shape(out.shape),
                                   shape=shown_shapes(chunk), rows=int(rows))
        return out

    def _expected(self):
        return ""


class PredictorWrapper:
    """A predictor around another (an output selection, a check on the first chunk): what it does not
    define is the wrapped predictor's. It pickles as plain state: the delegation below answers no
    dunder name and nothing before the wrapped predictor is set."""

    def __init__(self, predictor):
        self._predictor = predictor

    def __getattr__(self, name):  # prepare, default_chunk_rows, description, ...: the wrapped one's
        if name.startswith("__") or "_predictor" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_predictor"], name)

    def innermost(self):
        return self._predictor.innermost()

    def __call__(self, chunk, **arguments):
        return self._predictor(chunk, **arguments)


def shown_shapes(chunk):
    """A chunk's shape for a message: one shape, or several inputs' (the first three and a count where
    there are more, so that a message stays a line)."""
    shapes = input_shapes(chunk)
    if isinstance(shapes, list) and len(shapes) > 3:
        return text("{shapes}, ... ({k} arrays)", shapes=Shape(shapes[:3]), k=len(shapes))
    if isinstance(shapes, dict) and len(shapes) > 3:
        return text("{shapes} and {k} more inputs", shapes=Shape(dict(list(shapes.items())[:3])), k=len(shapes) - 3)
    return Shape(shapes)


def input_rows(chunk):
    """Rows of a chunk of model input: one array, or a list or dict of them (several inputs)."""
    if isinstance(chunk, dict):
        chunk = next(iter(chunk.values()))
    elif isinstance(chunk, (list, tuple)):
        chunk = chunk[0]
    return chunk.shape[0]


def input_shapes(chunk):
    """The shape of a chunk of model input, for messages: a shape, or a list or dict of shapes."""
    if isinstance(chunk, dict):
        return {k: tuple(v.shape) for k, v in chunk.items()}
    if isinstance(chunk, (list, tuple)):
        return [tuple(v.shape) for v in chunk]
    return tuple(chunk.shape)


def as_prediction_array(out, description):
    """A model's return value (array, tensor, one-element list) as a float64 ndarray; several outputs,
    a dict of outputs or non-numbers raise an error naming the model by ``description``."""
    if isinstance(out, (list, tuple)) and len(out) > 0 and not np.isscalar(out[0]) and len(out) != 1 \
            and all(hasattr(o, "shape") for o in out):
        raise SeqimpValueError("The model ({model}) returned {n} output arrays; seqimp explains one output. Wrap the "
                               "model so that it returns the output you want explained.", model=description,
                               n=len(out))
    if isinstance(out, dict):
        raise SeqimpValueError("The model ({model}) returned {a_dict} of outputs {names}; seqimp explains one output. "
                               "Wrap the model so that it returns the output you want explained.", model=description,
                               names=Value(list(out)))
    if isinstance(out, (list, tuple)) and len(out) == 1 and hasattr(out[0], "shape"):
        out = out[0]
    if _is_torch_tensor(out):  # a tensor that requires grad, or lives on a GPU, has no .numpy() of its own
        out = out.detach()
        out = out.cpu() if hasattr(out, "cpu") else out
    if hasattr(out, "numpy"):
        out = out.numpy()
    out = np.asarray(out)
    if out.dtype == object or not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
        raise SeqimpValueError("The model ({model}) returned predictions of dtype {dtype}; expected numbers.",
                               model=description, dtype=str(out.dtype))
    return out.astype(np.float64, copy=False)


class CallablePredictor(Predictor):
    description = "callable"

    def _call(self, chunk):
        return self.model(chunk)


class PredictMethodPredictor(Predictor):
    description = "object with .predict"

    def _call(self, chunk):
        return self.model.predict(chunk)


def limit_tf_threads(n_threads):
    """Cap TensorFlow's thread pools in this (worker) process at ``n_threads``, whatever the model: a
    callable may run TensorFlow too.

    Before TensorFlow is imported the environment variables it reads at start-up are set; after, the
    threading config, unless TensorFlow has already started (then its pools are left as they are).
    """
    n_threads = str(max(1, int(n_threads)))
    tf = sys.modules.get("tensorflow")
    if tf is None:
        os.environ["TF_NUM_INTRAOP_THREADS"] = n_threads
        os.environ["TF_NUM_INTEROP_THREADS"] = n_threads
        return
    try:
        if tf.config.threading.get_intra_op_parallelism_threads() != int(n_threads):
            tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError:
        pass  # TensorFlow already runs in this process; its pools cannot change any more
