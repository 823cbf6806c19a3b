"""pandas DataFrames as model input: a frame becomes one numeric block, and every chunk the model sees
is a DataFrame again, with the caller's columns, dtypes and index type.

The block stores one number per cell: numeric columns as they are (the block's dtype is what holds them
all exactly: float64 for a mix of int64 and float64, int64 for integers only), and every non-numeric
column (string, object, pandas categorical, datetime, boolean) as integer codes into its values, in
:class:`FrameInfo`. Those columns are categorical: the engine only moves their codes between samples
(permutation, swap), so a chunk's codes always decode to values the column had. A numeric column that
additive noise or a mean made fractional arrives as float64; everywhere else a column arrives in its
own dtype, nullable ones (``Int64``, ``Float64``) included. A missing number is stored as NaN (NA again
in a nullable column), a missing category as one of the column's values; both move between samples
like any value, and statistics leave NaN out (:class:`seqimp.inputs.Block`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import numpy as np

from .errors import Position, SeqimpValueError, Shape, Value, argument_name, argument_of

# Integers above this lose their last digits in a float64 column shared with fractional columns.
_EXACT_IN_FLOAT64 = 2 ** 53


def is_frame(X):
    """True for a pandas DataFrame (checked without importing pandas)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


@dataclass(frozen=True)
class FrameInfo:
    """How to turn a chunk of a frame block back into the caller's DataFrame.

    ``columns`` are the caller's column labels, ``dtypes`` their dtypes, ``values[j]`` the values a
    categorical column's codes index (None for a numeric column), ``index`` the caller's index.
    """

    columns: tuple
    dtypes: tuple
    values: tuple
    index: object

    def subset(self, columns):
        """The frame of only ``columns`` (positions), as LOFO fits a model without a feature."""
        columns = list(columns)
        return replace(self, columns=tuple(self.columns[j] for j in columns),
                       dtypes=tuple(self.dtypes[j] for j in columns),
                       values=tuple(self.values[j] for j in columns))

    def rebuild(self, chunk, rows=None):
        """A (m, F) chunk of the block as a DataFrame; ``rows`` are the caller's rows it came from (for
        the index: a RangeIndex stays a RangeIndex, any other index gives those rows' labels)."""
        import pandas as pd  # noqa: WPS433  (the caller passed a DataFrame, so pandas is there)

        m = chunk.shape[0]
        if rows is None:
            rows = np.arange(m)
        if isinstance(self.index, pd.RangeIndex):
            index = pd.RangeIndex(m)
        else:
            index = self.index.take(rows)
        columns = {}
        for j, (dtype, values) in enumerate(zip(self.dtypes, self.values)):
            columns[j] = _column(chunk[:, j], dtype, values, index)
        frame = pd.DataFrame(columns, index=index, copy=False)
        frame.columns = pd.Index(self.columns) if not isinstance(self.columns, pd.Index) else self.columns
        return frame


def _column(stored, dtype, values, index):
    import pandas as pd  # noqa: WPS433

    if values is not None:
        return pd.Series(values.take(stored.astype(np.int64)), index=index).astype(dtype, copy=False)
    if not isinstance(dtype, np.dtype):  # nullable (Int64, Float64): NaN is NA again
        try:
            return pd.Series(pd.array(stored, dtype=dtype), index=index)
        except (TypeError, ValueError):  # noise made an Int64 column fractional
            return pd.Series(pd.array(stored.astype(np.float64), dtype="Float64"), index=index)
    if stored.dtype != dtype:
        cast = stored.astype(dtype) if not np.isnan(stored).any() else stored
        # Back to the column's own dtype when that is exact; noise on an integer column gives float64.
        stored = cast if np.array_equal(cast, stored) else stored.astype(np.float64)
    return pd.Series(stored, index=index, copy=False)


def _numpy_dtype(dtype):
    """The NumPy dtype a numeric column holds: its own, or a nullable one's (Int64 -> int64)."""
    if isinstance(dtype, np.dtype):
        return dtype
    return np.dtype(dtype.numpy_dtype)


def _is_numeric(dtype):
    """int, unsigned, float (NumPy or nullable); bool and everything else are categorical."""
    import pandas as pd  # noqa: WPS433

    api = pd.api.types
    return (api.is_integer_dtype(dtype) or api.is_float_dtype(dtype)) and not api.is_bool_dtype(dtype) \
        and not isinstance(dtype, pd.CategoricalDtype)


def _is_plain_bool(series):
    """A boolean column without missing values: stored as 0/1 (a Keras model can take it), categorical."""
    import pandas as pd  # noqa: WPS433

    return pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any()


def frame_block(frame, name, func):
    """A DataFrame -> (stored (n, 1, F) read-only, column names as str, FrameInfo, categorical flags)."""
    import pandas as pd  # noqa: WPS433

    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise SeqimpValueError("{name} must not be empty; got a DataFrame of {shape}.", argument=argument_of(name),
                               name=argument_name(name), shape=Shape(frame.shape))
    if len(set(map(str, frame.columns))) != frame.shape[1]:
        raise SeqimpValueError("{name} must have unique column names; got {columns}.", argument=argument_of(name),
                               name=argument_name(name), columns=Value(list(map(str, frame.columns))))
    stored, values, categorical = [], [], []
    for column, dtype in frame.dtypes.items():
        series = frame[column]
        if _is_numeric(dtype) or _is_plain_bool(series):
            stored.append(_numeric(series, column, name))
            values.append(None)
            categorical.append(not _is_numeric(dtype))
        else:
            codes, uniques = pd.factorize(series, use_na_sentinel=False)
            stored.append(codes.astype(np.int64))
            values.append(uniques)
            categorical.append(True)
    dtype = np.result_type(*[s.dtype for s in stored])
    if dtype.kind == "f":
        _check_exact_in_float(stored, frame.columns, name)
    X = np.empty((frame.shape[0], 1, frame.shape[1]), dtype=dtype)
    for j, column in enumerate(stored):
        X[:, 0, j] = column
    X.setflags(write=False)
    info = FrameInfo(columns=tuple(frame.columns), dtypes=tuple(frame.dtypes), values=tuple(values),
                     index=frame.index)
    return X, [str(c) for c in frame.columns], info, tuple(categorical)


def _numeric(series, column, name):
    if series.isna().any():
        # Missing numbers are NaN, as scikit-learn's estimators that take them (HistGradientBoosting)
        # read them: moved like any value, left out of means and spreads, never noised into numbers.
        array = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        array = series.to_numpy(dtype=_numpy_dtype(series.dtype))
    if array.dtype.kind == "f" and np.isinf(array).any():
        row = int(np.flatnonzero(np.isinf(array))[0])
        raise SeqimpValueError("{name} must be finite; column {column} holds {value} at row {row}.",
                               argument=argument_of(name), name=argument_name(name), column=Value(column),
                               value=float(array[row]), row=Position(row))
    return array


def _check_exact_in_float(stored, columns, name):
    for column, values in zip(columns, stored):
        if values.dtype.kind in "iu" and values.size and np.abs(values).max() > _EXACT_IN_FLOAT64:
            raise SeqimpValueError("{name} column {column} holds integers above 2**53 beside fractional columns; "
                                   "they cannot share one float64 array exactly. Pass it as its own input, or as "
                                   "a categorical (string) column.", argument=argument_of(name),
                                   name=argument_name(name), column=Value(column))

