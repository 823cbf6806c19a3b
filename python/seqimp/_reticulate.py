"""What the seqimp R package calls through reticulate, beside the public API.

Plain Python: it imports neither rpy2 nor anything that would, so reticulate's Python never starts a
second R. The conversions both ways into R share are :mod:`seqimp.r_convert`; an R model is an
:class:`~seqimp.adapters.r_predictor.RChunkPredictor`, as it is for rpy2.

Every core call from the R package goes through :func:`call_from_r`: an exception comes back as a plain
outcome that R turns into an R error, with no Python class prefix, traceback or trailing newline, and a
:class:`~seqimp.errors.SeqimpError` worded in R's terms (argument names as R has them, NULL, c(...),
1-based positions). Python callers never see any of this.
"""

from __future__ import annotations

from . import errors
from .adapters.r_predictor import R_BRIDGE, RCallFailed, RChunkPredictor
from .r_convert import chunk_for_r, frame_from_r_parts, lek_profile_parts, result_parts

__all__ = ["R_BRIDGE", "Outcome", "RPredictor", "call_from_r", "chunk_for_r", "frame_from_r_parts",
           "lek_profile_parts", "named", "r_argument_message", "r_predictor", "result_parts"]


def named(f, name):
    """``f`` under the name results show (an R function wrapped by reticulate has no useful one)."""
    def fn(*args):
        return f(*args)

    fn.__name__ = fn.__qualname__ = str(name)
    return fn


class RPredictor(RChunkPredictor):
    """An R function or fitted R model handed in by the R package: ``call`` is the R closure that calls
    it on one chunk (the R array, or a data.frame's parts, in; an R array of predictions out). Its
    ``description`` ("R function", "R model") names it in errors."""

    def __init__(self, call, description, feature_names=None, variables=None, x_shape=None):
        super().__init__(call, feature_names, variables, x_shape)
        self.description = str(description)

    def _call(self, block):
        try:
            return self.model(chunk_for_r(block))
        except Exception as exc:  # noqa: BLE001 - an R error, worded by RChunkPredictor
            raise RCallFailed(str(exc).strip()) from None


def r_predictor(call, description, feature_names=None, variables=None, x_shape=None):
    """The :class:`RPredictor` the R package passes as ``model``: ``feature_names`` are the names the R
    closure gives the model, ``variables`` those a fitted model reads (checked against them), and
    ``x_shape`` the shape of the caller's x, for errors."""
    return RPredictor(call, description, feature_names, variables, _shape(x_shape))


def _shape(x_shape):
    """x's dims from R (a vector, or a named or unnamed list of them for several inputs) as a shape."""
    if x_shape is None:
        return None
    if isinstance(x_shape, dict):
        return {str(k): _shape(v) for k, v in x_shape.items()}
    if isinstance(x_shape, list) and x_shape and isinstance(x_shape[0], (list, tuple)):
        return [_shape(v) for v in x_shape]
    if isinstance(x_shape, (int, float)):
        return (int(x_shape),)
    return tuple(int(d) for d in x_shape)


def r_argument_message(argument, function, expected, got):
    """The one "must be" sentence for the R package's own checks, in R's words (see
    :func:`seqimp.errors.r_argument_message`)."""
    return errors.r_argument_message(argument, function, expected, got)


# -- calls from R ------------------------------------------------------------------------------------

class Outcome:
    """What :func:`call_from_r` returns: ``value``, or the exception's ``error_type`` and
    ``error_message`` (in R's words)."""

    def __init__(self, value=None, error_type=None, error_message=None):
        self.value, self.error_type, self.error_message = value, error_type, error_message


def call_from_r(fun, *args, **kwargs):
    """``fun(*args, **kwargs)`` as the R package calls the core. Returns an :class:`Outcome`; an exception
    becomes its type's name (``ValueError`` for a :class:`~seqimp.errors.SeqimpValueError`) and its
    message in R's words (no prefix, no traceback, no trailing newline) for R to raise as an R error."""
    try:
        return Outcome(value=fun(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - every core error becomes an R error
        return Outcome(error_type=errors.type_name(exc), error_message=errors.in_language(exc, errors.R))
