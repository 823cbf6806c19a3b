"""Long panels to sequences: a table with one row per (sample, timestep) becomes the (n, T, F) array
every method takes, the mask of real steps, and the target per sample.

Time series usually live in long tables: ``id, time, x1, x2, ...``, one row per series and time. The
obvious reshape (``values.reshape(n, T, F)``) silently scrambles samples and steps unless the rows
happen to be sorted by id and time and every series has the same length; :func:`as_sequences` sorts,
checks and pads instead. Steps are aligned by position within each series (as Keras'
``pad_sequences`` does): a shorter series is padded before its first step (``pad="pre"``) or after
its last (``pad="post"``), and the mask says which steps are real, ready for ``mask=``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import checks

_FUNC = "as_sequences"
PADS = ("pre", "post")


@dataclass(frozen=True, eq=False)
class Sequences:
    """A long panel as sequences: what :func:`as_sequences` returns.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_timesteps, n_features), float64
        One sample per id, in the order of ``ids``; each sample's steps in time order, padded with
        ``pad_value`` where ``mask`` is False.
    mask : ndarray of shape (n_samples, n_timesteps), bool
        True for a real step, False for padding: pass it as ``mask=`` to any method.
    ids : ndarray of shape (n_samples,)
        The id of each sample: sorted (a categorical id in the order of its categories).
    times : ndarray of shape (n_samples, n_timesteps)
        The time of each step, in the time column's dtype for datetimes (NaT where padded) and
        float64 for numbers (NaN where padded).
    y : ndarray of shape (n_samples,) or None
        The target of each sample (the target column, constant within an id), when one was named.
    feature_names : tuple of str
        The features, in the order of X's last axis: pass them as ``feature_names=``.
    """

    X: np.ndarray
    mask: np.ndarray
    ids: np.ndarray
    times: np.ndarray
    y: Optional[np.ndarray]
    feature_names: tuple

    @property
    def lengths(self):
        """ndarray of shape (n_samples,): the number of real steps of each sample."""
        return self.mask.sum(axis=1)

    def __repr__(self):
        n, T, F = self.X.shape
        lengths = self.lengths
        return (f"Sequences(n_samples={n}, n_timesteps={T}, n_features={F}, lengths {lengths.min()}.."
                f"{lengths.max()}, features={list(self.feature_names)}, y={'None' if self.y is None else 'set'})")


def as_sequences(df, id, time, features=None, target=None, *, pad="pre", pad_value=0.0):
    """Turn a long panel (one row per sample and timestep) into sequences, a mask and targets.

    Parameters
    ----------
    df : pandas.DataFrame
        The long table: an id column, a time column and one column per feature (and the target).
    id : column label
        The column that says which sample (series) a row belongs to. Samples are the sorted ids (a
        categorical column's in the order of its categories).
    time : column label
        The column that orders the steps within an id: numbers or datetimes. Within every id the
        times must be regular: each step one panel step after the last, where the panel step is the
        smallest gap between consecutive times of any id. A gap (a missing step) or a repeated
        (id, time) pair is an error naming the first offender, never silently closed up.
    features : list of column labels, default=None
        The feature columns, in the order of X's last axis: numbers or booleans (as 0/1), no missing
        values. None takes every column except ``id``, ``time`` and ``target``.
    target : column label, default=None
        A column holding each sample's target, the same on every row of an id; ``y`` is then one
        value per sample. None: ``y`` is None.
    pad : {"pre", "post"}, default="pre"
        Where a shorter series is padded: "pre" puts padding before its first step (its last step
        is aligned with every other series' last step, as Keras' ``pad_sequences``), "post" after its
        last step.
    pad_value : float, default=0.0
        The value of padded cells. The mask, not this value, tells seqimp which steps are padding.

    Returns
    -------
    Sequences
        With ``X`` (n, T, F) float64, ``mask`` (n, T) bool, ``ids`` (n,), ``times`` (n, T), ``y`` (n,)
        or None, and ``feature_names``; T is the longest series' length.

    Raises
    ------
    ValueError
        A column that is not in ``df``, a missing id or time, a missing or non-finite feature value
        (naming its id and time), a repeated (id, time) pair or a gap in an id's times, a target that
        changes within an id.
    TypeError
        ``df`` not a DataFrame, a time column of neither numbers nor datetimes, a feature column that
        is not numeric or boolean.

    See Also
    --------
    seqimp.permutation_importance : takes ``X``, ``y``, ``mask=`` and ``feature_names=``.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqimp import as_sequences
    >>> panel = pd.DataFrame({"id": ["b", "b", "a", "a", "a"], "time": [2, 1, 1, 2, 3],
    ...                       "x1": [20.0, 10.0, 1.0, 2.0, 3.0], "x2": [0.2, 0.1, 0.0, 0.0, 0.0],
    ...                       "label": [1, 1, 0, 0, 0]})
    >>> seq = as_sequences(panel, id="id", time="time", target="label")
    >>> seq.X.shape, list(seq.ids), seq.feature_names
    ((2, 3, 2), ['a', 'b'], ('x1', 'x2'))
    >>> seq.X[1, :, 0]  # b's two steps, in time order, after one step of padding
    array([ 0., 10., 20.])
    >>> seq.mask
    array([[ True,  True,  True],
           [False,  True,  True]])
    >>> seq.y
    array([0, 1])
    >>> as_sequences(panel, id="id", time="time", target="label", pad="post").X[1, :, 0]
    array([10., 20.,  0.])
    """
    _check_frame(df)
    pad = checks.check_option(pad, "pad", _FUNC, PADS)
    pad_value = _pad_value(pad_value)
    columns = list(df.columns)
    for name, value in (("id", id), ("time", time)):
        _check_column(value, name, columns)
    if target is not None:
        _check_column(target, "target", columns)
    features = _features(features, columns, (id, time, target))
    codes, ids = _id_codes(df[id])
    order, stamps, times = _time_order(df[time], codes, ids)
    codes = codes[order]
    lengths = np.bincount(codes, minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    _check_steps(stamps, codes, starts, lengths, ids, times[order], df[time].dtype)
    n, T = len(ids), int(lengths.max())
    step = np.arange(len(codes)) - starts[codes]
    position = step + (T - lengths[codes] if pad == "pre" else 0)
    values = _feature_values(df, features, order, ids[codes], times[order])
    X = np.full((n, T, len(features)), pad_value, dtype=np.float64)
    X[codes, position] = values
    mask = np.zeros((n, T), dtype=bool)
    mask[codes, position] = True
    grid = np.full((n, T), np.datetime64("NaT") if times.dtype.kind == "M" else np.nan,
                   dtype=times.dtype if times.dtype.kind in "mM" else np.float64)
    grid[codes, position] = times[order]
    y = None if target is None else _target(df[target].to_numpy()[order], codes, starts, ids, target)
    return Sequences(X=X, mask=mask, ids=ids, times=grid, y=y, feature_names=tuple(str(f) for f in features))


def _check_frame(df):
    if not (hasattr(df, "columns") and hasattr(df, "iloc") and hasattr(df, "dtypes")):
        checks.fail("df", _FUNC, "a pandas DataFrame in long form (one row per sample and timestep)", df,
                    TypeError)
    if len(df) == 0:
        raise ValueError(f"The 'df' parameter of {_FUNC} must have at least one row; got an empty DataFrame.")


def _pad_value(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        checks.fail("pad_value", _FUNC, "a finite number", value, TypeError)
    return float(value)


def _check_column(value, name, columns):
    try:
        known = value in columns
    except TypeError:  # an unhashable label
        known = False
    if not known:
        raise ValueError(f"The '{name}' parameter of {_FUNC} must name a column of df; got {value!r}. "
                         f"df's columns are {columns}.")


def _features(features, columns, taken):
    """The feature columns: the ones given (checked), or every column but id, time and target."""
    taken = [c for c in taken if c is not None]
    if features is None:
        chosen = [c for c in columns if c not in taken]
        if not chosen:
            raise ValueError(f"{_FUNC}: df has no columns besides id, time and target, so there are no "
                             f"features. Its columns are {columns}.")
        return chosen
    if isinstance(features, str) or not hasattr(features, "__iter__"):
        features = [features]
    chosen = list(features)
    if not chosen:
        checks.fail("features", _FUNC, "a non-empty list of column labels, or None", features, TypeError)
    unknown = [c for c in chosen if c not in columns]
    if unknown:
        raise ValueError(f"The 'features' parameter of {_FUNC} names {unknown}, which are not columns of "
                         f"df; its columns are {columns}.")
    reused = [c for c in chosen if c in taken]
    if reused:
        raise ValueError(f"The 'features' parameter of {_FUNC} names {reused}, which are the id, time or "
                         f"target column; a feature must be another column.")
    repeated = sorted({str(c) for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise ValueError(f"The 'features' parameter of {_FUNC} names {repeated} more than once.")
    return chosen


def _id_codes(column):
    """Each row's sample code (0..n-1) and the ids in sample order; a missing id is an error."""
    import pandas as pd

    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise ValueError(f"The 'id' column of df must not be missing; row {int(missing[0])} "
                         f"(index label {column.index[missing[0]]!r}) has no id ({missing.size} rows in all).")
    try:
        codes, ids = pd.factorize(column, sort=True)
    except TypeError as exc:
        raise TypeError(f"The 'id' column of df must hold values that sort (one type); got {exc}.") from None
    return np.asarray(codes, dtype=np.int64), np.asarray(ids)


def _time_order(column, codes, ids):
    """Rows sorted by (id, time), the times as int64 or float64 stamps, and the times as NumPy values."""
    import pandas as pd

    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column, kind = column.dt.tz_convert(None), "M"
    if kind not in ("i", "u", "f", "M", "m"):
        raise TypeError(f"The 'time' column of df must hold numbers or datetimes (its order and gaps are "
                        f"checked); got dtype {column.dtype}. Convert it, e.g. with pd.to_datetime().")
    times = column.to_numpy()
    missing = np.flatnonzero(pd.isna(times) | (~np.isfinite(times) if kind == "f" else False))
    if missing.size:
        i = missing[0]
        raise ValueError(f"The 'time' column of df must be finite and not missing; row {int(i)} "
                         f"(id {ids[codes[i]]!r}) has time {times[i]!r}.")
    stamps = times.view(np.int64) if kind in "mM" else times
    order = np.lexsort((stamps, codes))
    return order, stamps[order], times


def _check_steps(stamps, codes, starts, lengths, ids, times, dtype):
    """Refuse a repeated (id, time) pair and a gap in an id's times, naming the first one."""
    same_id = codes[1:] == codes[:-1]
    gaps = stamps[1:] - stamps[:-1]
    repeated = np.flatnonzero(same_id & (gaps == 0))
    if repeated.size:
        i = repeated[0]
        raise ValueError(f"{_FUNC}: the (id, time) pair ({ids[codes[i]]!r}, {_shown(times[i])}) appears more "
                         f"than once in df; each sample needs one row per time. Aggregate or drop the "
                         f"duplicates first ({repeated.size} repeated pairs in all).")
    within = gaps[same_id]
    if within.size == 0:
        return
    step = within.min()
    exact = dtype.kind != "f"
    off = (gaps != step) if exact else ~np.isclose(gaps, step, rtol=1e-9, atol=0.0)
    irregular = np.flatnonzero(same_id & off)
    if irregular.size:
        i = irregular[0]
        raise ValueError(f"{_FUNC}: the times of id {ids[codes[i]]!r} are irregular: it goes from time "
                         f"{_shown(times[i])} to {_shown(times[i + 1])}, but the panel's step (the smallest "
                         f"gap between consecutive times) is {_shown(_as_step(step, times.dtype))}. "
                         f"A missing step would silently join its neighbours; add the missing rows "
                         f"(imputed) or resample to a regular grid.")


def _as_step(step, dtype):
    """A gap between int64 stamps as the time column counts it: a timedelta for datetimes."""
    if dtype.kind in "mM":
        return np.timedelta64(int(step), np.datetime_data(dtype)[0])
    return step


def _shown(value):
    import pandas as pd

    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value))
    if isinstance(value, np.timedelta64):
        return str(pd.Timedelta(value))
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _feature_values(df, features, order, row_ids, row_times):
    """The feature columns as float64 (rows in ``order``), refusing non-numbers and missing values."""
    blocks = []
    for name in features:
        column = df[name]
        dtype = column.dtype
        numeric = isinstance(dtype, np.dtype) and dtype.kind in "biuf" or str(dtype) in (
            "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64",
            "boolean")
        if not numeric:
            raise TypeError(f"The 'features' of {_FUNC} must be numeric or boolean columns; column {name!r} "
                            f"has dtype {dtype}. Encode it as integer codes first (and name it in "
                            f"categorical_features= of the method), or leave it out with features=.")
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)[order]
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = bad[0]
            raise ValueError(f"{_FUNC}: feature {name!r} is missing or not finite at id {row_ids[i]!r}, time "
                             f"{_shown(row_times[i])} ({bad.size} rows in all). Fill or drop such values "
                             f"first; padding is what the mask marks, never a missing value.")
        blocks.append(values)
    return np.stack(blocks, axis=1)


def _target(values, codes, starts, ids, target):
    """One target per sample: the value on the id's first row, refusing one that changes within an id."""
    import pandas as pd

    missing = np.flatnonzero(pd.isna(values))
    if missing.size:
        raise ValueError(f"The target column {target!r} of df must not be missing; id "
                         f"{ids[codes[missing[0]]]!r} has a missing target.")
    first = values[starts]
    changed = np.flatnonzero(values != first[codes])
    if changed.size:
        i = changed[0]
        raise ValueError(f"The target column {target!r} of df must hold one value per id (a per-sample "
                         f"target); id {ids[codes[i]]!r} has both {_shown(first[codes[i]])} and "
                         f"{_shown(values[i])}.")
    return first
