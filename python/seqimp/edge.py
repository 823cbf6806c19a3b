"""The edge: foreign objects become Python ones here, once, before anything else runs.

Every public function hands its arguments to :func:`python_arguments` first. An rpy2 object (R data or
an R model seen from Python) is converted by the rpy2 bridge (:mod:`seqimp.r`, imported only when such an
object comes in): an R array, matrix or vector becomes NumPy (a :class:`~seqimp.inputs.NamedArray`
carrying its last dimnames as feature names), a data.frame a pandas DataFrame (factors as
``pandas.Categorical``), an R list of inputs a dict or list of them, character vectors lists of str, a
number of length one a float, and an R function or fitted R model its predictor
(:func:`seqimp.adapters.r_models.r_model`; a binomial ``glm`` is asked for probabilities where a metric
scores them). R objects that come through reticulate (the R package) are already Python here: the R
package converts them before it calls the core.

After this step no module asks whether something is an R object, and none but this one imports
:mod:`seqimp.r`. Results go back out through :func:`to_r`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .inputs import NamedArray

# Arguments holding one array per model input (or one array): an R list of them is a list or dict.
_PER_INPUT = ("mask", "baseline")
# Arguments holding data, converted with R's dims and index meaning kept.
_DATA = ("y", "sample_weight")
_MODELS = ("model",)
# Arguments holding inputs like X (SAGE's background rows): converted as X is.
_INPUTS = ("X", "background")


def is_rpy2_object(obj):
    """True for an object that rpy2 made (an R function, model or vector seen from Python)."""
    # Checked by module name so that rpy2 is never imported when it is not installed.
    return type(obj).__module__.startswith("rpy2.")


def _holds_rpy2(value):
    """True for an rpy2 object, or a list, tuple or dict with one among its elements (one level)."""
    if is_rpy2_object(value):
        return True
    if isinstance(value, Mapping):
        return any(is_rpy2_object(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_rpy2_object(v) for v in value)
    return False


def python_arguments(func, *, responses=None, **arguments):
    """``arguments`` with every rpy2 object among them (and in their lists and dicts) converted.

    ``model`` becomes a predictor (``responses``: what the metrics score, see
    :func:`seqimp.adapters.as_predictor`); ``X`` (and SAGE's ``background``) NumPy, pandas, or a dict
    or list of them; ``y``,
    ``sample_weight``, ``mask`` and ``baseline`` arrays (one per input for an R list); anything else
    plain Python (names as lists of str, numbers as floats). Arguments without rpy2 objects are returned
    as they are, never copied.
    """
    out = dict(arguments)
    for name, value in arguments.items():
        if not _holds_rpy2(value):
            continue
        from . import r  # noqa: WPS433 - rpy2 only when the caller already uses it

        if name in _MODELS:
            out[name] = _model(value, func, responses)
        elif name in _INPUTS:
            out[name] = _inputs(r, value, name)
        elif name in _PER_INPUT:
            out[name] = _per_input(r, value, name)
        elif name in _DATA:
            out[name] = r.from_r(value, name=name)
        else:
            out[name] = _plain(r, value, name)
    if out.get("model") is not arguments.get("model") and "X" in out:
        out["model"].describe_input(out["X"])  # its errors name the caller's X, not a chunk
    return out


def _model(model, func, responses):
    from .adapters.r_models import probability_args, r_model  # noqa: WPS433
    from .adapters.responses import needs_responses  # noqa: WPS433

    return r_model(model, func=func, **(probability_args(model) if needs_responses(responses) else {}))


def _array(r, value, name):
    """One R array or data.frame: NumPy with its last dimnames as feature names, or a DataFrame."""
    if not is_rpy2_object(value):
        return value
    array, names = r.from_r(value, with_names=True, name=name)
    if names is None or not isinstance(array, np.ndarray):
        return array
    return NamedArray.of(array, names)


def _inputs(r, X, name):
    """X: one array, or an R list of them (several inputs) as a dict by name or a list."""
    X = r.r_list_items(X) if is_rpy2_object(X) else X
    if isinstance(X, Mapping):
        return {k: _array(r, v, f"{name}[{k!r}]") for k, v in X.items()}
    if isinstance(X, (list, tuple)):
        return [_array(r, v, name) for v in X]
    return _array(r, X, name)


def _per_input(r, value, name):
    """An argument keyed like X (a mask, a baseline): one array, or one per input."""
    value = r.r_list_items(value) if is_rpy2_object(value) else value
    if isinstance(value, Mapping):
        return {k: _data(r, v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_data(r, v, name) for v in value]
    return _data(r, value, name)


def _data(r, value, name):
    return r.from_r(value, name=name) if is_rpy2_object(value) else value


def _plain(r, value, name, inside=False):
    """Names, indices and numbers: character vectors as lists of str (one string where it is an element
    of a list), a number of length one as a float, other numbers as arrays, R lists as dicts (named) or
    lists."""
    if isinstance(value, Mapping):
        return {k: _plain(r, v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(r, v, name, inside=True) for v in value]
    if not is_rpy2_object(value):
        return value
    items = r.r_list_items(value)
    if items is not value:
        return _plain(r, items, name)
    strings = r.r_strings(value)
    if strings is not None:
        return strings[0] if inside and len(strings) == 1 else strings
    array = np.asarray(r.from_r(value, name=name))
    return float(array.reshape(())) if array.size == 1 and array.ndim <= 1 else array


def to_r(result):
    """An :class:`~seqimp.ImportanceResult` as the R data.frame the R package returns (through rpy2;
    see :func:`seqimp.r.to_r`)."""
    from .r import to_r as result_to_r  # noqa: WPS433

    return result_to_r(result)
