"""What an R model is to the core, whichever way it came in (the R package through reticulate, or rpy2).

Plain Python: it imports neither rpy2 nor reticulate. Both ways subclass :class:`RChunkPredictor` and
only say how one chunk reaches R (``_call``, raising :class:`RCallFailed` on an R error); the rest is
here, once: where the R code both ways share lives (:data:`R_BRIDGE`), how large a chunk R gets, the
check that a fitted model's variables are among x's features, and the error when the R code fails,
which names the caller's x (its shape as the caller passed it), not the internal chunk.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import Keyword, Raised, SeqimpValueError, Shape, Value
from .protocol import Predictor

# The R code both ways share (shaping chunks, calling predict(), the result's constructor). The R package
# and seqimp.adapters.r_models evaluate it; its value is its functions in a private environment.
R_BRIDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "r_bridge.R")

# Bytes of R doubles per chunk. Large on purpose: each chunk is one R call, and an R model's per-call
# overhead (building a data.frame, S3 dispatch) dwarfs its per-row cost.
R_CHUNK_BYTES = 128 * 2**20


class RCallFailed(Exception):
    """The R function or model raised an R error; the message is R's."""


class RChunkPredictor(Predictor):
    """An R function or fitted R model, called on one chunk per R call.

    Parameters
    ----------
    model : object
        What the subclass calls (an rpy2 R object, or the R package's chunk closure).
    feature_names : list of str, optional
        The names the model sees (column names or last dimnames). When None, X's feature names, taken
        in :meth:`prepare`.
    variables : list of str, optional
        The variables a fitted model reads (from its terms), checked against the names in
        :meth:`prepare`; None where the model does not say.
    x_shape : tuple, dict or list of tuples, optional
        The shape of the caller's X, for errors (also set by :meth:`describe_input`). When None, X's as
        the engine first prepares it.
    """

    description = "R model"
    process_bound = True  # it runs in the R process that holds it

    def __init__(self, model, feature_names=None, variables=None, x_shape=None):
        super().__init__(model)
        self._fixed_names = feature_names is not None
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.variables = None if variables is None else [str(v) for v in variables]
        self.x_shape = x_shape

    def describe_input(self, X):
        """Take the caller's ``X`` (an array or DataFrame, or a dict or list of them) for errors."""
        if isinstance(X, dict):
            self.x_shape = {str(k): tuple(np.shape(v)) for k, v in X.items()}
        elif isinstance(X, (list, tuple)):
            self.x_shape = [tuple(np.shape(v)) for v in X]
        else:
            self.x_shape = tuple(np.shape(X))

    def default_chunk_rows(self, row_shape, itemsize=8):
        return max(1, R_CHUNK_BYTES // (int(np.prod(row_shape)) * 8))  # R gets doubles, whatever X holds

    def prepare(self, chunk_rows, data):
        """The names the model sees (names given at construction win, where there is one per feature),
        checked against the model's variables; and X's shape for errors."""
        names = [str(n) for n in data.feature_names]
        if not (self._fixed_names and len(self.feature_names) == len(names)):
            self.feature_names = names
        if self.x_shape is None:
            shapes = [tuple(np.shape(b.X)) for b in data.blocks]
            self.x_shape = shapes[0] if data.is_single else (
                dict(zip(data.input_names, shapes)) if data.structure == "dict" else shapes)
        self._check_variables()

    def _check_variables(self):
        missing = [v for v in self.variables or () if v not in self.feature_names]
        if missing:
            raise SeqimpValueError(
                "The R model uses the variables {missing}, which {X} does not have; {X}'s features are "
                "{names}. Pass {X} with the model's variables as column names (or {feature_names}).",
                missing=Value(missing), names=Value(self.feature_names), feature_names=Keyword("feature_names"))

    def _call(self, block):
        """Predictions for one chunk; an R error is raised as :class:`RCallFailed` with R's message."""
        raise NotImplementedError

    def __call__(self, block):
        try:
            return super().__call__(block)
        except ValueError as exc:
            if not isinstance(exc.__cause__, RCallFailed):
                raise
            shape = Shape(self.x_shape if self.x_shape is not None else _shapes(block))
            raise SeqimpValueError("The {model} failed on a chunk of perturbed copies of {X} ({X} has {shape}): "
                                   "{message}", model=self.description, shape=shape,
                                   message=Raised(exc.__cause__, typed=False)) from None


def _shapes(block):
    if isinstance(block, dict):
        return {k: tuple(np.shape(v)) for k, v in block.items()}
    if isinstance(block, (list, tuple)):
        return [tuple(np.shape(v)) for v in block]
    return tuple(np.shape(block))
