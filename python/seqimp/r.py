"""The rpy2 bridge: R data and R models into seqimp, results back out as R data.frames.

Importing this module imports rpy2 and starts its embedded R; nothing else in seqimp imports it
unless it is handed an rpy2 object (detected by module name, so rpy2 need not be installed).

- :func:`from_r` turns an R array (dims and dimnames), matrix or vector into NumPy, and a data.frame
  into a pandas DataFrame (factors as ``pandas.Categorical`` with their levels), keeping the feature
  names (the last dimnames, or the column names).
- :func:`r_model` wraps an R function or a fitted R model (anything with a ``predict`` method: ``lm``,
  ``glm``, ``randomForest``, ...) as a model. An R model sees a whole chunk of perturbed copies in one
  call, never one sample at a time. It lives in :mod:`seqimp.adapters.r_models`.
- :func:`to_r` turns an :class:`~seqimp.ImportanceResult` into the R data.frame the R package returns,
  with the R package's own constructor.

The R code behind all three is one file shared with the R package (``seqimp/adapters/r_bridge.R``).
Every R call runs under rpy2's local converter (``localconverter``), never a global ``activate()``,
so a user's own conversion rules neither change what seqimp gets nor are changed by it. This module
never loads reticulate inside the embedded R: with reticulate 1.28 that can abort the process at exit.
"""

from __future__ import annotations

import numbers

import numpy as np

from .adapters.r_models import (RFunctionPredictor, RModelPredictor, call_bridge, clean_child_environment,
                                is_r_null, r_array, r_classes, r_item, r_model, r_string, r_view)
from .errors import Argument, SeqimpTypeError, SeqimpValueError, Value
from .r_convert import frame_from_r_parts, result_parts

import rpy2.rinterface as ri  # noqa: E402 - after r_models, which says how to install rpy2
import rpy2.robjects as ro  # noqa: E402
from rpy2.robjects.conversion import localconverter  # noqa: E402

# The public names (documented on the Python site). r_list_items, RFunctionPredictor, RModelPredictor
# and clean_child_environment stay importable from here for seqimp's own modules and tests, but they
# are internals: not listed, not documented, free to change.
__all__ = ["from_r", "r_model", "to_r"]


def _names(value):
    return None if is_r_null(value) else [str(v) for v in value]


def from_r(obj, *, with_names=False, name="X"):
    """An R object as a NumPy array, or an R data.frame as a pandas DataFrame, with its feature names.

    Parameters
    ----------
    obj : rpy2 R object
        A numeric, integer or logical array (for example ``array(x, dim = c(n, T, F))``), matrix or
        vector, or a data.frame of numeric, integer, logical, factor and character columns.
    with_names : bool, default=False
        Also return the names of the last axis: the last element of ``dimnames`` for an array or
        matrix, the column names for a data.frame, None for a vector or where there are none.
    name : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    array : ndarray or pandas.DataFrame
        For an array, matrix or vector: float64 with R's shape and index meaning (``array[i, t, f]`` is
        R's ``x[i+1, t+1, f+1]``). For numeric (double) arrays this is a read-only view of R's memory;
        seqimp copies it once, in its own dtype (float32 for Keras models), when it normalises its
        input. R's ``NA`` becomes NaN, which seqimp rejects with the index of the first one.

        For a data.frame: a pandas DataFrame with the same column names, one column per R column:
        doubles as float64, integers as int32, logicals as bool (pandas ``boolean`` where some are NA),
        factors as ``pandas.Categorical`` with the factor's levels in order (ordered for an ordered
        factor; NA as a missing value), characters as object columns of str (None for NA). seqimp
        treats its non-numeric columns as categorical (only ever swapped between samples), and an R
        model gets every chunk back as an R data.frame with the same column types and levels. NA in a
        numeric column is rejected with the column and row; other column classes (Date, POSIXct, list
        columns, ...) are rejected here, naming them.
    names : list of str or None
        Only when ``with_names`` is True.
    """
    if not isinstance(obj, ri.Sexp):
        raise SeqimpTypeError("{name} must be an rpy2 R object for from_r; got a {type}.", argument=name,
                              name=Argument(name), type=type(obj).__name__)
    kind = r_string(call_bridge("value_kind", obj))
    if kind == "data.frame":
        frame = _frame_from_r(obj, name)
        return (frame, [str(c) for c in frame.columns]) if with_names else frame
    if kind == "numeric":
        out = call_bridge("as_doubles", obj)
    elif kind == "factor":
        raise SeqimpTypeError("{name} must hold numbers; got an R factor. Convert it first, e.g. "
                              "as.integer(x) - 1L for 0-based class codes.", argument=name, name=Argument(name))
    else:
        raise SeqimpTypeError("{name} must be an R array, matrix, vector or data.frame of numbers; got an R "
                              "object of class {classes}.", argument=name, name=Argument(name),
                              classes=Value(r_classes(obj)))
    array = r_view(r_item(out, "values"))
    names = _names(r_item(out, "names"))
    return (array, names) if with_names else array


def _r_list(r_list):
    """The elements of an R list, as rpy2 objects."""
    with localconverter(ro.default_converter):
        return [r_list[i] for i in range(len(r_list))]


def _frame_from_r(obj, name):
    """An R data.frame as a pandas DataFrame (through ``frame_to_python_parts`` of the shared R code)."""
    parts = call_bridge("frame_to_python_parts", obj)
    kinds = [str(k) for k in r_item(parts, "kinds")]
    names = [str(n) for n in r_item(parts, "names")]
    bad = [f"{n} ({c})" for n, k, c in zip(names, kinds, r_item(parts, "classes")) if k == "other"]
    if bad:
        raise SeqimpTypeError("{name} must be an R data.frame of numeric, integer, logical, factor or character "
                              "columns; the columns {bad} are not. Convert them first (e.g. as.character() or "
                              "as.numeric()).", argument=name, name=Argument(name), bad=Value(bad))
    values = [None if is_r_null(v) else r_view(v) for v in _r_list(r_item(parts, "values"))]
    levels = [_names(v) for v in _r_list(r_item(parts, "levels"))]
    ordered = [bool(v) for v in r_item(parts, "ordered")]
    missing = [None if is_r_null(v) else r_view(v).astype(bool) for v in _r_list(r_item(parts, "missing"))]
    return frame_from_r_parts(names, kinds, values, levels, ordered, missing)


def r_strings(obj):
    """An R character vector as a list of str (NA as None); None for any other R object."""
    if not isinstance(obj, ri.StrSexpVector):
        return None
    return [None if v is ri.NA_Character else str(v) for v in obj]


def r_list_items(obj):
    """An R list of arrays (several model inputs) as a dict by its names, or a list when it has none;
    any other R object is returned as it is. A data.frame is one input, not a list of columns."""
    if not isinstance(obj, ri.ListSexpVector) or "data.frame" in r_classes(obj):
        return obj
    with localconverter(ro.default_converter):
        items = [obj[i] for i in range(len(obj))]
        names = _names(ro.baseenv["names"](obj))
    if names is None or all(n == "" for n in names):
        return items
    if any(n == "" for n in names) or len(set(names)) != len(names):
        raise SeqimpValueError("{X}, an R list of inputs, must have a unique name for every element or none; "
                               "got names {names}.", argument="X", names=Value(names))
    return dict(zip(names, items))


def _as_r(value):
    """One part of a result as an R value: None as NULL, text as character, numbers as vectors, a dict
    as a named list (several inputs' attributions, a result's ``extra``), a list of names as
    character and any other list as an R list; arrays keep their dims."""
    if value is None:
        return ri.NULL
    if isinstance(value, str):
        return ro.StrVector([value])
    if isinstance(value, (bool, np.bool_)):
        return ro.BoolVector([bool(value)])
    if isinstance(value, numbers.Integral):
        return ro.IntVector([int(value)])
    if isinstance(value, numbers.Real):
        return ro.FloatVector([float(value)])
    if isinstance(value, dict):
        with localconverter(ro.default_converter):
            return ro.baseenv["list"](**{str(k): _as_r(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)) and not all(isinstance(v, str) for v in value):
        with localconverter(ro.default_converter):
            return ro.baseenv["list"](*[_as_r(v) for v in value])
    if isinstance(value, (list, tuple)):
        return ro.StrVector([str(v) for v in value])
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.integer) and array.ndim == 1:
        return ro.IntVector(array.tolist())
    return r_array(array)


def to_r(result):
    """An :class:`~seqimp.ImportanceResult` as the R data.frame the seqimp R package returns.

    Class ``c("seqimp_importance", "data.frame")``; columns ``feature`` (character, "(all)" for
    granularity "timestep"), ``timestep`` (integer, 1-based as R indexes; only when granularity is not
    "feature"), ``importance`` and ``std`` (doubles), and where the method gives them ``se``,
    ``ci_low``, ``ci_high`` (95%) and ``p_value`` (doubles, the numbers of
    :meth:`~seqimp.ImportanceResult.to_frame`), one row per label in the result's order.
    Attributes: ``inference_df``, ``inference_estimator``, ``inference_covers`` (and
    ``inference_why_no_se``/``inference_why_no_pvalues`` where there are none; texts in R's words),
    ``importances`` (numeric matrix labels x repeats, rownames the label names),
    ``importances_columns`` ("repeats", "folds" or "samples"), ``method``, ``metric``,
    ``granularity`` (character) and ``baseline_score`` (double or NA); for gradient methods also
    ``attributions``, an array (samples, timesteps, features). Built by the R package's own
    constructor from :func:`seqimp.r_convert.result_parts`, as the R package builds it.
    """
    parts = {key: _as_r(value) for key, value in result_parts(result).items()}
    return call_bridge("new_importance", **parts)
