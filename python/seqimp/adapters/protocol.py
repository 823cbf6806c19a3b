"""What every model adapter is: the :class:`Predictor` protocol, the wrappers for a callable and for an
object with ``.predict``, the conversion of whatever a model returns into one float64 ndarray, and the
few checks that tell kinds of model apart without importing their frameworks.
"""

from __future__ import annotations

import numpy as np

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


def is_rpy2_object(obj):
    """True for an object that rpy2 made (an R function, model or vector seen from Python)."""
    # Checked by module name so that rpy2 is never imported when it is not installed.
    return type(obj).__module__.startswith("rpy2.")


def describe_model(model):
    """A few words on what ``model`` is, for errors that say why it cannot be used."""
    if is_rpy2_object(model):
        return "an R function or R model (through rpy2)"
    if callable(model) and not hasattr(model, "predict"):
        return f"a plain callable ({type(model).__name__})"
    return f"an object of type {type(model).__name__}"


class Predictor:
    """Maps a block of model inputs to predictions, one row per input row.

    Subclasses implement :meth:`_call`. ``__call__`` checks the shapes and names the model in errors
    by its ``description`` ("Keras 3 model", "callable", ...).
    """

    description = "callable"

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
            raise ValueError(f"The model ({self.description}) failed on input of shape {input_shapes(block)}"
                             f"{self._expected()}: {type(exc).__name__}: {exc}") from exc
        out = as_prediction_array(out, self.description)
        rows = input_rows(block)
        if out.ndim == 0 or out.shape[0] != rows:
            raise ValueError(f"The model returned predictions of shape {out.shape} for an input of shape "
                             f"{input_shapes(block)}; expected {rows} rows, one per input sample.")
        return out

    def _expected(self):
        return ""


def input_rows(block):
    """Rows of a chunk of model input: one array, or a list or dict of them (several inputs)."""
    if isinstance(block, dict):
        block = next(iter(block.values()))
    elif isinstance(block, (list, tuple)):
        block = block[0]
    return block.shape[0]


def input_shapes(block):
    """The shape of a chunk of model input, for messages: a shape, or a list or dict of shapes."""
    if isinstance(block, dict):
        return {k: tuple(v.shape) for k, v in block.items()}
    if isinstance(block, (list, tuple)):
        return [tuple(v.shape) for v in block]
    return tuple(block.shape)


def as_prediction_array(out, description):
    """A model's return value (array, tensor, one-element list) as a float64 ndarray; several outputs,
    a dict of outputs or non-numbers raise an error naming the model by ``description``."""
    if isinstance(out, (list, tuple)) and len(out) > 0 and not np.isscalar(out[0]) and len(out) != 1 \
            and all(hasattr(o, "shape") for o in out):
        raise ValueError(f"The model ({description}) returned {len(out)} output arrays; seqimp explains one "
                         f"output. Wrap the model so that it returns the output you want explained.")
    if isinstance(out, dict):
        raise ValueError(f"The model ({description}) returned a dict of outputs {list(out)}; seqimp explains "
                         f"one output. Wrap the model so that it returns the output you want explained.")
    if isinstance(out, (list, tuple)) and len(out) == 1 and hasattr(out[0], "shape"):
        out = out[0]
    if hasattr(out, "numpy"):
        out = out.numpy()
    out = np.asarray(out)
    if out.dtype == object or not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
        raise ValueError(f"The model ({description}) returned predictions of dtype {out.dtype}; expected "
                         f"numbers.")
    return out.astype(np.float64, copy=False)


class CallablePredictor(Predictor):
    description = "callable"

    def _call(self, block):
        return self.model(block)


class PredictMethodPredictor(Predictor):
    description = "object with .predict"

    def _call(self, block):
        return self.model.predict(block)
