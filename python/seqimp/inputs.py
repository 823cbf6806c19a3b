"""Reading the caller's ``X`` and ``y``: where they become seqimp's own data.

:func:`read_inputs` turns ``X`` into one :class:`~seqimp.sequence_data.Block` per model input, each a
C-order, read-only copy of shape (n, T, F) in X's own dtype (float64 stays float64, integers stay
integers; :mod:`seqimp.model_inputs` casts to a Keras model's dtype), with the names it carries
(DataFrame columns, R dimnames, else ``x1..xF``). 2-D input (n, F) is a block without timesteps (T = 1);
the model still sees the 2-D shape it was given, and a DataFrame a DataFrame (:mod:`seqimp.frames`).
``X`` may be one array, a list of arrays (the model's input order) or a dict keyed by the model's input
names, and the model gets the same structure back. :func:`name_inputs` then puts the caller's
``feature_names`` on, once, after the blocks have their final shape (a token input has one feature
where its 2-D array had T columns). :func:`as_sequence_data` does both for a call without a model.

R objects are Python by the time they get here (:mod:`seqimp.edge`). The caller's arrays are read, never
written, so read-only arrays (R's memory seen through reticulate) work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Sequence

import numpy as np

from . import checks, errors
from .errors import (Element, Positions, SeqimpTypeError, SeqimpValueError, Shape, Value, Words,
                     argument_name, argument_of, text)
from .frames import frame_block, is_frame
from .sequence_data import Block, SequenceData


class NamedArray(np.ndarray):
    """An array that carries the names of its last axis (an R array's last dimnames, see
    :mod:`seqimp.edge`), the way a DataFrame carries its columns: the feature names when the caller
    gives none."""

    feature_names = None

    @classmethod
    def of(cls, array, names):
        named = np.asarray(array).view(cls)
        named.feature_names = [str(n) for n in names]
        return named

    def __array_finalize__(self, obj):
        self.feature_names = getattr(obj, "feature_names", None)


def _is_several(X):
    """True for X given as several inputs: a dict, or a list/tuple of arrays (not a nested list of numbers)."""
    if isinstance(X, Mapping):
        return True
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return all(hasattr(x, "shape") or isinstance(x, Mapping) for x in X)
    return False


def _array_block(X, name, func):
    """One array-like -> a :class:`Block` (its X an (n, T, F) read-only copy in X's own dtype) and the
    names it carries (or None)."""
    frame_names = X.feature_names if isinstance(X, NamedArray) else None
    if is_frame(X):
        data, names, info, categorical = frame_block(X, name, func)
        return Block(data, tuple(names), 2, frame=info, categorical=categorical), names
    shown, argument = argument_name(name), argument_of(name)
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise SeqimpTypeError("{name} must be array-like of numbers; could not convert a {type}: {exc}",
                              argument=argument, name=shown, type=type(X).__name__, exc=str(exc)) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise SeqimpTypeError("{name} must hold numbers only; got an array of dtype {dtype}.", argument=argument,
                              name=shown, dtype=str(array.dtype))
    if np.issubdtype(array.dtype, np.complexfloating):
        raise SeqimpTypeError("{name} must hold real numbers; got an array of dtype {dtype}.", argument=argument,
                              name=shown, dtype=str(array.dtype))
    if array.ndim not in (2, 3):
        raise SeqimpValueError("{name} must be 3-D (samples, timesteps, features) or 2-D (samples, features); "
                               "got {ndim}-D input of {shape}.", argument=argument, name=shown, ndim=array.ndim,
                               shape=Shape(array.shape))
    if 0 in array.shape:
        raise SeqimpValueError("{name} must not be empty; got {shape}.", argument=argument, name=shown,
                               shape=Shape(array.shape))
    input_ndim = array.ndim
    data = np.array(array, dtype=_stored_dtype(array.dtype), order="C", copy=True)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))[0]
        raise SeqimpValueError("{name} must be finite (no NaN, NA or {inf}); the first bad value is at index "
                               "{index}.", argument=argument, name=shown, index=Positions(bad))
    if input_ndim == 2:
        data = data[:, np.newaxis, :]
    data.setflags(write=False)
    categorical = (True,) * data.shape[2] if data.dtype == bool else ()
    return Block(data, (), input_ndim, categorical=categorical), frame_names


def _stored_dtype(dtype):
    """X's own dtype, except float16 (float32: NumPy computes in it anyway) and big-endian (native)."""
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype.newbyteorder("=") if dtype.byteorder not in ("=", "|") else dtype


def as_sequence_data(X, feature_names=None, *, func="seqimp", name="X") -> SequenceData:
    """Validate and copy ``X`` into a :class:`SequenceData`, names put on: :func:`read_inputs`, then
    :func:`name_inputs` (for a call with a model, :func:`seqimp.model_inputs.prepare_inputs`).

    Parameters
    ----------
    X : array-like, or a list or dict of them
        One array of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features): NumPy
        arrays (read-only ones too), pandas DataFrames, nested lists, R arrays via reticulate (rpy2
        objects are converted before, :mod:`seqimp.edge`). Several inputs: a list of such arrays (the
        model's input order) or a dict keyed by the model's input names, all with the same n_samples.
    feature_names : sequence of str, or a list or dict of them, default=None
        Names for the last axis. Defaults to DataFrame columns or R dimnames, then ``x1..xF``. With
        several inputs, a dict keyed like X or a list with one entry (a sequence of names or None) per
        input.
    """
    if isinstance(X, SequenceData):
        return X
    return name_inputs(read_inputs(X, func=func, name=name), feature_names, func)


def read_inputs(X, *, func="seqimp", name="X") -> SequenceData:
    """``X`` as blocks with the names they carry (DataFrame columns, R dimnames, else ``x1..xF``); the
    caller's ``feature_names`` are put on by :func:`name_inputs`."""
    if X is None:
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} is required: pass an array of shape "
                              "(samples, timesteps, features) or (samples, features), or a list or dict of them. "
                              "Got {None} instead.", argument=name, function=func)
    if not _is_several(X):
        block, carried = _array_block(X, name, func)
        block = replace(block, feature_names=check_feature_names(carried, block.n_features, func))
        return SequenceData(blocks=(block,), structure="array")
    return _several(X, func, name)


def _several(X, func, name):
    if len(X) == 0:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold at least one array; got an "
                               "empty {type}.", argument=name, function=func, type=type(X).__name__)
    structure = "dict" if isinstance(X, Mapping) else "list"
    keys = [str(k) for k in X] if structure == "dict" else [f"input{i + 1}" for i in range(len(X))]
    if structure == "dict" and len(set(keys)) != len(keys):
        raise SeqimpValueError("The '{argument}' {parameter} of {function} has keys that are equal as strings: "
                               "{keys}.", argument=name, function=func, keys=Value(list(X)))
    values = list(X.values()) if structure == "dict" else list(X)
    shown = [Element(name, k if structure == "dict" else i) for i, k in enumerate(keys)]
    blocks = []
    for key, value, where in zip(keys, values, shown):
        block, carried = _array_block(value, where, func)
        names = check_feature_names(carried, block.n_features, func, where=text(" for {input}", input=where))
        blocks.append(replace(block, feature_names=names, name=key))
    counts = [b.X.shape[0] for b in blocks]
    if len(set(counts)) > 1:
        listed = errors.join(text("{input} has {n}", input=w, n=c) for w, c in zip(shown[:3], counts[:3]))
        more = "" if len(counts) <= 3 else text(", ... ({k} arrays of {lo} to {hi} rows)", k=len(counts),
                                                  lo=min(counts), hi=max(counts))
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold arrays with the same number "
                               "of samples (first axis); got {listed}{more}.{hint}", argument=name, function=func,
                               listed=listed, more=more, hint=_ragged_hint(blocks, structure))
    return SequenceData(blocks=tuple(blocks), structure=structure)


def _ragged_hint(blocks, structure):
    """For a list of arrays with different row counts, each (timesteps, features) or (timesteps,): the way
    to the one (samples, timesteps, features) array they were probably meant to be."""
    if structure != "list" or not all(b.input_ndim == 2 or b.X.shape[2] == 1 for b in blocks):
        return ""
    return Words(" If they are one sequence per sample, pad them into one (samples, timesteps, features) array "
                 "with a mask: seqimp.as_sequences from a long table, or keras.utils.pad_sequences(X, "
                 "padding='post', dtype='float32') and mask=.",
                 " If they are one sequence per sample, make one array (samples, timesteps, features) and a "
                 "mask of them: as_sequences() from a long table, then x = s$x and mask = s$mask.")


def stack_hint(data):
    """For X given as a list of arrays of one shape: the one-line way to read it as one array per sample
    (``np.stack(X)``), where the caller probably meant that; "" otherwise."""
    if data is None or data.structure != "list" or data.n_blocks < 2 or len(set(data.input_shapes)) != 1:
        return ""
    shape = tuple(data.input_shapes[0])
    return text(" {X} is a list of {k} arrays of {shape}, read as {k} model inputs of {n} samples each; if each "
                "array is one sample, pass np.stack({X}), of {stacked}.", k=data.n_blocks, shape=Shape(shape),
                n=int(shape[0]), stacked=Shape((data.n_blocks,) + shape))


def name_inputs(data, feature_names, func="seqimp"):
    """The one place names are put on: the caller's ``feature_names`` (shaped like X) on the blocks as
    they are now (a token input has one feature where its 2-D array had T columns), each block's own
    names where none are given, and one unique label name per feature across inputs."""
    if feature_names is None:
        per, shown = [None] * data.n_blocks, [""] * data.n_blocks
    elif data.structure == "array":
        per, shown = [feature_names], [""]
    else:
        per = _names_per_input(feature_names, list(data.input_names), data.structure, func)
        shown = [text(" for {input}", input=Element("X", b.name if data.structure == "dict" else i))
                 for i, b in enumerate(data.blocks)]
    blocks = [block if given is None else replace(block, feature_names=check_feature_names(
        given, block.n_features, func, where=where)) for block, given, where in zip(data.blocks, per, shown)]
    return data.with_blocks(blocks, feature_names=label_names(blocks, func))


def _names_per_input(feature_names, keys, structure, func):
    """``feature_names`` for several inputs -> one entry (names or None) per input, in order."""
    if feature_names is None:
        return [None] * len(keys)
    expected = text("{a_dict} keyed like {X} ({keys}) or a list with one entry (a sequence of names, or {None}) "
                    "per input ({n})", keys=Value(keys), n=len(keys))
    if isinstance(feature_names, Mapping):
        return entries_by_input(feature_names, keys, "feature_names", func)
    if isinstance(feature_names, str) or not hasattr(feature_names, "__len__") or \
            len(feature_names) != len(keys) or \
            not all(v is None or (not isinstance(v, str) and hasattr(v, "__iter__")) for v in feature_names):
        checks.fail("feature_names", func, expected, feature_names, TypeError)
    return list(feature_names)


def entries_by_input(value, keys, name, func):
    """A dict keyed like X -> its values in X's order of inputs (None for an input it does not name).
    Keys that are not inputs of X are refused, naming them."""
    given = {str(k): v for k, v in value.items()}
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} has keys {unknown} that are not inputs "
                               "of {X}; {X}'s inputs are {keys}.", argument=name, function=func,
                               unknown=Value(unknown), keys=Value(list(keys)))
    return [given.get(k) for k in keys]


def label_names(blocks, func="seqimp"):
    """One unique name per feature across ``blocks``: a feature's own name, prefixed with its input's
    name (``"static.age"``) only where another input has a feature of the same name."""
    counts = {}
    for block in blocks:
        for n in block.feature_names:
            counts[n] = counts.get(n, 0) + 1
    names = tuple(n if counts[n] == 1 else f"{block.name}.{n}" for block in blocks for n in block.feature_names)
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must give every feature a unique name "
                               "across inputs (shared names are prefixed with the input's name); got duplicates "
                               "{dupes}.", argument="feature_names", function=func, dupes=Value(dupes))
    return names


def check_feature_names(names, n_features, func, where=""):
    """``names`` as a tuple of str, one per feature and unique; ``x1..xF`` for None."""
    if names is None:
        return tuple(f"x{i + 1}" for i in range(n_features))
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)) and not hasattr(names, "__iter__"):
        checks.fail("feature_names", func, text("a sequence of {n} strings{where}", n=n_features, where=where),
                    names, TypeError)
    names = tuple(str(n) for n in names)
    if len(names) != n_features:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must have one name per feature "
                               "({expected}){where}. Got {got} names instead.", argument="feature_names",
                               function=func, expected=n_features, where=where, got=len(names))
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold unique names{where}. Got "
                               "duplicates {dupes} instead.", argument="feature_names", function=func, where=where,
                               dupes=Value(dupes))
    return names


def as_target(y, n_samples, *, func="seqimp", name="y", data=None):
    """``y`` as a float64 array with ``n_samples`` rows (copied; never written). ``data`` (X's
    SequenceData) lets a wrong row count say when X looks like a list of per-sample arrays."""
    if y is None:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is required: pass the true targets, one "
                               "row per sample of {X} ({n}).", argument=name, function=func, n=n_samples)
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    array = np.asarray(y)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must hold numbers; got dtype {dtype}.",
                              argument=name, function=func, dtype=str(array.dtype))
    if array.ndim == 0 or array.shape[0] != n_samples:
        per_array = data is not None and array.ndim > 0 and array.shape[0] == data.n_blocks
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must have one row per sample of {X} "
                               "({expected}); got {got}.{hint}", argument=name, function=func, expected=n_samples,
                               got=Shape(array.shape), hint=stack_hint(data) if per_array else "")
    array = np.array(array, dtype=np.float64, copy=True)
    if not np.isfinite(array).all():
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be finite (no NaN, NA or {inf}).",
                               argument=name, function=func)
    return array
