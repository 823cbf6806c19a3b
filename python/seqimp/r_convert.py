"""R values and the core's, both ways: the one module for conversions between R and Python.

Plain Python (NumPy and pandas): it imports neither rpy2 nor reticulate, so both ways into R build on it.
An R data.frame reaches Python as parts (the R bridge's ``frame_to_python_parts``), made into a pandas
DataFrame by :func:`frame_from_r_parts`; a DataFrame goes back as :func:`frame_to_r_parts`, which the R
bridge's ``frame_from_python_parts`` makes an R data.frame of. A result goes to R as :func:`result_parts`,
the arguments of the one R constructor (``new_importance`` in the R bridge), whichever way it goes.
"""

from __future__ import annotations

import numpy as np

from .errors import r_words


def result_parts(result):
    """An :class:`~seqimp.ImportanceResult` as plain parts, the arguments of R's ``new_importance``.

    Timesteps are 0-based, -1 for a label without one; ``columns`` says what the columns of
    ``importances`` are ("repeats", "folds" or "samples"); ``feature_names`` name the last axis of
    ``attributions``; ``swapped`` (perturbation) and ``categorical_features`` (permutation) name the
    categorical features, from ``result.params["categorical_features"]`` (None where there are none);
    ``extra`` is the result's diagnostics (:func:`r_extra`) and ``label_extras`` names those with one row
    per label.
    """
    labels = result.labels
    categorical = _names_or_none(result.params.get("categorical_features"))
    return {
        "names": [str(label.name) for label in labels],
        "feature": ["(all)" if label.feature is None else str(label.feature) for label in labels],
        "timestep": np.array([-1 if label.timestep is None else int(label.timestep) for label in labels],
                             dtype=np.int32).reshape(-1),
        "importances": np.asarray(result.importances, dtype=np.float64),
        "mean": np.asarray(result.importances_mean, dtype=np.float64).reshape(-1),
        "std": np.asarray(result.importances_std, dtype=np.float64).reshape(-1),
        "method": None if result.method is None else str(result.method),
        "metric": None if result.metric is None else str(result.metric),
        "granularity": str(result.granularity),
        "baseline_score": None if result.baseline_score is None else float(result.baseline_score),
        "columns": result.importances_columns,
        "attributions": result.attributions,
        "feature_names": [str(name) for name in (result.feature_names or ())],
        "swapped": categorical if result.method == "perturbation" else None,
        "categorical_features": categorical if result.method == "permutation" else None,
        "inference": inference_parts(result),
        "extra": r_extra(result.extra),
        "label_extras": list(result.label_extras),
    }


def inference_parts(result):
    """The R columns and attributes of a result's inference: ``se``, ``ci_low``, ``ci_high`` (95%) and
    ``p_value`` (each None where the method gives none), ``df`` (None for a normal interval), and the
    texts ``estimator``, ``covers``, ``why_no_se`` and ``why_no_pvalues``, in R's words."""
    from .inference import why_no_se

    frame = result.to_frame()
    info = result.inference or {}

    def column(name):
        return np.asarray(frame[name], dtype=np.float64).reshape(-1) if name in frame else None

    def words(value):
        return None if value is None else str(r_words(value))

    return {"se": column("se"), "ci_low": column("ci_low"), "ci_high": column("ci_high"),
            "p_value": column("p_value"), "df": None if info.get("df") is None else float(info["df"]),
            "estimator": words(info.get("estimator")), "covers": words(info.get("covers")),
            "why_no_se": words(why_no_se(result)) if "se" not in info else None,
            "why_no_pvalues": words(info.get("why_no_pvalues")) if "p_value" not in frame else None}


def r_extra(extra):
    """A result's ``extra`` as R takes it: a dict (a named list), rows counted from 1 (LOFO's ``folds``
    as (train, test) pairs of 1-based int32 indices), phrases in R's words, None for none."""
    if not isinstance(extra, dict) or not extra:
        return None
    out = {key: r_words(value) for key, value in extra.items()}
    if "folds" in out:
        out["folds"] = [tuple(np.asarray(part, dtype=np.int32) + 1 for part in fold) for fold in out["folds"]]
    return out


def _names_or_none(names):
    """Feature names a result's params list (``swapped``, ``categorical_features``), None for none."""
    return [str(n) for n in names] if names else None


def lek_profile_parts(frame):
    """The data.frame of :func:`seqimp.lek_profile` as columns R converts in one step each."""
    return {
        "feature": [str(f) for f in frame["feature"]],
        "quantile": np.asarray(frame["quantile"], dtype=np.float64),
        "value": np.asarray(frame["value"], dtype=np.float64),
        "response": np.asarray(frame["response"], dtype=np.float64),
        "output": r_words(frame.attrs.get("output")),
    }


# -- data.frames ---------------------------------------------------------------------------------------

def frame_from_r_parts(names, kinds, values, levels, ordered, missing):
    """An R data.frame, taken apart by ``frame_to_python_parts`` in the R bridge, as a pandas DataFrame.

    Per column: a ``kind`` ("double", "integer", "logical", "factor" or "character"), its ``values``
    (numbers; 0/1 for logicals; 1-based codes into ``levels`` for factors and characters), its
    ``levels``, whether the factor is ``ordered``, and which rows are ``missing`` (None where none is).
    Numbers stay float64 and int32, logicals become bool (pandas ``boolean`` with missing values),
    factors ``pandas.Categorical`` with the factor's levels in order (ordered for ordered factors), and
    characters object columns of str (None where missing). Non-numeric columns are what the core treats
    as categorical.
    """
    import pandas as pd  # noqa: WPS433

    columns = {j: _column_from_parts(kind, values[j], levels[j], ordered[j], missing[j])
               for j, kind in enumerate(_as_list(kinds))}
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = pd.Index(_as_list(names), dtype=object)
    return frame


def _as_list(value):
    """A part as a list of str: reticulate makes an R string of length 1 a str and NULL None."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _column_from_parts(kind, values, levels, ordered, missing):
    import pandas as pd  # noqa: WPS433

    values = np.asarray(values).reshape(-1)
    missing = None if missing is None else np.asarray(missing, dtype=bool).reshape(-1)
    if kind == "double":
        return values.astype(np.float64, copy=False)
    if kind == "integer":
        return values.astype(np.int32, copy=False)
    if kind == "logical":
        flags = values == 1
        if missing is None or not missing.any():
            return flags
        return pd.arrays.BooleanArray(flags & ~missing, missing.copy())
    codes = values.astype(np.int64) - 1
    if missing is not None:
        codes[missing] = -1
    levels = _as_list(levels)
    if kind == "factor":
        return pd.Categorical.from_codes(codes, categories=pd.Index(levels, dtype=object), ordered=bool(ordered))
    if kind == "character":
        return np.array(levels + [None], dtype=object)[codes]
    raise ValueError(f"unknown column kind {kind!r}")  # a bug in the bridge, not the caller's


def frame_to_r_parts(frame):
    """A pandas DataFrame (a chunk the core made from an R data.frame, or any DataFrame) as the parts the R
    bridge's ``frame_from_python_parts`` makes an R data.frame of: the inverse of :func:`frame_from_r_parts`.

    Categorical columns become factors with their categories as levels (ordered where they are),
    booleans logicals, integers that fit R's integers integers, other numbers doubles, datetimes POSIXct
    (UTC), and anything else characters; missing values are NA. ``seqimp_frame`` marks the parts.
    """
    kinds, values, levels, ordered, missing = [], [], [], [], []
    for _, series in frame.items():
        kind, value, level, order, na = _column_parts(series)
        kinds.append(kind)
        values.append(value)
        levels.append(level)
        ordered.append(order)
        missing.append(na)
    return {"seqimp_frame": True, "names": [str(c) for c in frame.columns], "kinds": kinds, "values": values,
            "levels": levels, "ordered": ordered, "missing": missing}


_R_INT_MAX = 2 ** 31 - 1


def _column_parts(series):
    """One column: (kind, values, levels, ordered, missing), as :func:`frame_to_r_parts` lists them."""
    import pandas as pd  # noqa: WPS433

    api = pd.api.types
    dtype = series.dtype
    isna = np.asarray(series.isna(), dtype=bool)
    missing = isna if isna.any() else None
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(series.cat.codes, dtype=np.int32) + 1
        return "factor", codes, [str(c) for c in dtype.categories], bool(dtype.ordered), missing
    if api.is_bool_dtype(dtype):
        return "logical", series.to_numpy(dtype=np.int32, na_value=0), None, False, missing
    if api.is_integer_dtype(dtype):
        ints = series.to_numpy(dtype=np.int64, na_value=0)
        if ints.size == 0 or np.abs(ints).max() <= _R_INT_MAX:
            return "integer", ints.astype(np.int32), None, False, missing
        return "double", ints.astype(np.float64), None, False, missing
    if api.is_float_dtype(dtype):
        return "double", series.to_numpy(dtype=np.float64, na_value=np.nan), None, False, missing
    if api.is_datetime64_any_dtype(dtype):
        naive = series.dt.tz_convert(None) if getattr(dtype, "tz", None) is not None else series
        seconds = ((naive - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
        return "datetime", seconds, None, False, missing
    codes, uniques = pd.factorize(series)
    return "character", (codes + 1).astype(np.int32), [str(u) for u in uniques], False, missing


def chunk_for_r(block):
    """A chunk as the R package's model call takes it through reticulate: DataFrames as
    :func:`frame_to_r_parts` (reticulate's own conversion turns missing strings into "NA" and a missing
    logical into TRUE), arrays as they are; a dict or list of inputs element by element."""
    from .frames import is_frame  # noqa: WPS433

    if isinstance(block, dict):
        return {k: chunk_for_r(v) for k, v in block.items()}
    if isinstance(block, (list, tuple)):
        return [chunk_for_r(v) for v in block]
    return frame_to_r_parts(block) if is_frame(block) else block
