"""What the seqimp R package calls through reticulate, beside the public API.

Plain Python: it imports neither rpy2 nor anything that would, so reticulate's Python never starts a
second R. :func:`result_parts` is also what :func:`seqimp.r.to_r` (rpy2) builds its data.frame from,
so both ways into R make the same ``seqimp_importance`` frame with the same R constructor
(``new_importance`` in :data:`R_BRIDGE`).

Every core call from the R package goes through :func:`call_from_r`: inside it positions in messages
count from 1 (:func:`seqimp.checks.index_base`) and argument errors use R's words (argument, NULL,
integer, ``c("a", "b")``), and an exception comes back as a plain outcome that R turns into an R error,
with no Python class prefix, traceback or trailing newline. Python callers never see any of this.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import re

import numpy as np

from . import checks
from .adapters.protocol import Predictor

# The R code both R bridges share (how an R model is called, the result's constructor); the R package
# sources it from here on first use.
R_BRIDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adapters", "r_bridge.R")

# Bytes of R doubles per chunk for R models, as the rpy2 side (seqimp.adapters.r_models, which cannot
# be imported here: it starts rpy2's R) uses: each chunk is one R call, and an R model's per-call
# overhead (building a data.frame, S3 dispatch) dwarfs its per-row cost.
R_CHUNK_BYTES = 128 * 2**20


def result_parts(result):
    """An :class:`~seqimp.ImportanceResult` as plain parts, the arguments of R's ``new_importance``.

    Timesteps are 0-based, -1 for a label without one; ``columns`` says what the columns of
    ``importances`` are ("repeats", "folds" or "samples"); ``feature_names`` name the last axis of
    ``attributions``; ``swapped`` (perturbation) and ``categorical_features`` (permutation) name the
    categorical features, from ``result.params`` (None where there are none).
    """
    labels = result.labels
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
        "swapped": _names_or_none(result.params.get("swapped")),
        "categorical_features": _names_or_none(result.params.get("categorical_features")),
        "inference": inference_parts(result),
    }


def inference_parts(result):
    """The R columns and attributes of a result's inference: ``se``, ``ci_low``, ``ci_high`` (95%) and
    ``p_value`` (each None where the method gives none), ``df`` (None for a normal interval), and the
    texts ``estimator``, ``covers``, ``why_no_se`` and ``why_no_pvalues``."""
    from .inference import why_no_se

    frame = result.to_frame()
    info = result.inference or {}

    def column(name):
        return np.asarray(frame[name], dtype=np.float64).reshape(-1) if name in frame else None

    def text(key):
        return None if info.get(key) is None else str(info[key])

    return {"se": column("se"), "ci_low": column("ci_low"), "ci_high": column("ci_high"),
            "p_value": column("p_value"), "df": None if info.get("df") is None else float(info["df"]),
            "estimator": text("estimator"), "covers": text("covers"),
            "why_no_se": why_no_se(result) if "se" not in info else None,
            "why_no_pvalues": text("why_no_pvalues") if "p_value" not in frame else None}


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
        "output": frame.attrs.get("output"),
    }


# -- data.frames ---------------------------------------------------------------------------------------

def frame_from_parts(names, kinds, values, levels, ordered, missing):
    """An R data.frame, taken apart by ``frame_columns`` in :data:`R_BRIDGE`, as a pandas DataFrame.

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
    raise ValueError(f"unknown column kind {kind!r}")


def frame_parts(frame):
    """A pandas DataFrame (a chunk the core made from an R data.frame, or any DataFrame) as the parts R's
    ``build_frame`` (:data:`R_BRIDGE`) makes an R data.frame of: the inverse of :func:`frame_from_parts`.

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
    """One column: (kind, values, levels, ordered, missing), as :func:`frame_parts` lists them."""
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


def _r_ready(block):
    """A chunk as the R package's model call takes it: DataFrames as :func:`frame_parts` (reticulate's
    own conversion turns missing strings into "NA" and a missing logical into TRUE), arrays as they are;
    a dict or list of inputs element by element."""
    from .frames import is_frame  # noqa: WPS433

    if isinstance(block, dict):
        return {k: _r_ready(v) for k, v in block.items()}
    if isinstance(block, (list, tuple)):
        return [_r_ready(v) for v in block]
    return frame_parts(block) if is_frame(block) else block


def named(f, name):
    """``f`` under the name results show (an R function wrapped by reticulate has no useful one)."""
    def fn(*args):
        return f(*args)

    fn.__name__ = fn.__qualname__ = str(name)
    return fn


# -- R models ----------------------------------------------------------------------------------------

class _RCallFailed(Exception):
    """The R function or model raised an R error; its message is the R message."""


class RPredictor(Predictor):
    """An R function or fitted R model handed in by the R package: ``call`` is the R closure that calls
    it on one chunk (the R array in, an R array of predictions out). Chunks are sized for R, and errors
    name the model as R users know it ("R function", "R model") and quote the R error as it is."""

    def __init__(self, call, description):
        super().__init__(call)
        self.description = str(description)

    def default_chunk_rows(self, row_shape):
        return max(1, R_CHUNK_BYTES // (int(np.prod(row_shape)) * 8))

    def _call(self, block):
        try:
            return self.model(_r_ready(block))
        except Exception as exc:  # noqa: BLE001 - an R error, re-raised below in R's words
            raise _RCallFailed(str(exc).strip()) from None

    def __call__(self, block):
        try:
            return super().__call__(block)
        except ValueError as exc:
            if not isinstance(exc.__cause__, _RCallFailed):
                raise
            raise ValueError(f"The {self.description} failed on a chunk of dims {_r_dims(block)}: "
                             f"{exc.__cause__}") from None


def _r_dims(block):
    """A chunk's dims as R writes them: c(60, 3, 2), or list(a = c(60, 3, 2), b = c(60, 4)) for several
    inputs."""
    if isinstance(block, dict):
        return "list(" + ", ".join(f"{k} = {_r_dims(v)}" for k, v in block.items()) + ")"
    if isinstance(block, (list, tuple)):
        return "list(" + ", ".join(_r_dims(v) for v in block) + ")"
    return _r_vector(str(int(d)) for d in np.shape(block))


def r_predictor(call, description):
    """The :class:`RPredictor` the R package passes as ``model``."""
    return RPredictor(call, description)


# -- calls from R ------------------------------------------------------------------------------------

class Outcome:
    """What :func:`call_from_r` returns: ``value``, or the exception's ``error_type`` and
    ``error_message`` (already in R's words)."""

    def __init__(self, value=None, error_type=None, error_message=None):
        self.value, self.error_type, self.error_message = value, error_type, error_message


@contextlib.contextmanager
def r_context():
    """Inside the block, positions in messages count from 1 and argument errors use R's words."""
    with checks.index_base(1), checks.wording(r_fail_message):
        yield


def call_from_r(fun, *args, **kwargs):
    """``fun(*args, **kwargs)`` as the R package calls the core, in :func:`r_context`. Returns an
    :class:`Outcome`; an exception becomes its type's name and its message in R's words (no prefix, no
    traceback, no trailing newline) for R to raise as an R error."""
    with r_context():
        try:
            return Outcome(value=fun(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - every core error becomes an R error
            return Outcome(error_type=type(exc).__name__, error_message=r_message(str(exc)))


# Arguments the R package names differently from the core.
R_ARGUMENT_NAMES = {"X": "x", "random_state": "seed", "model_or_builder": "model"}

_QUOTED_LIST = re.compile(r"[\[{]('[^'\n]*'(?:, '[^'\n]*')*)[\]}]")
_QUOTED_WORD = re.compile(r"(?<![\w'])'([^'\s]*)'")
# Python's words for types and values in an "expected" phrase, and R's.
_R_WORDS = [
    (re.compile(r"\ba callable (?:\w+ )?\(([^)]*)\) -> float\b"), r"an R function(\1) returning a number"),
    (re.compile(r"\ban int\b"), "an integer"), (re.compile(r"\bints\b"), "integers"),
    (re.compile(r"\bint\b"), "integer"), (re.compile(r"\ba float\b"), "a number"),
    (re.compile(r"\bfloats\b"), "numbers"), (re.compile(r"\bfloat\b"), "number"),
    (re.compile(r"\ba bool\b"), "TRUE or FALSE"), (re.compile(r"\bNone\b"), "NULL"),
    (re.compile(r"\bTrue\b"), "TRUE"), (re.compile(r"\bFalse\b"), "FALSE"),
    (re.compile(r"\ba callable\b"), "an R function"), (re.compile(r"\bcallable\b"), "function"),
    (re.compile(r"\ba tuple\b"), "a vector"), (re.compile(r"\ba dict\b"), "a named list"),
    (re.compile(r"\bseqimp\.metrics\.Metric\b"), "seqimp_metric()"),
    (re.compile(r"(?<![\w.])(-?)inf\b"), r"\1Inf"), (re.compile(r"\b(\d+)\.0\b"), r"\1"),
    (re.compile(r"(?<![\w'])X(?![\w'])"), "x"),
]


def _r_vector(items):
    return "c(" + ", ".join(items) + ")"


def _r_string(text):
    return json.dumps(str(text), ensure_ascii=False)


def _r_lists(text):
    """Python's lists and sets of quoted strings as R's: {'a', 'b'} -> c("a", "b")."""
    return _QUOTED_LIST.sub(lambda m: _r_vector(_r_string(s) for s in re.findall(r"'([^'\n]*)'", m.group(1))),
                            text)


def _r_quoted(text):
    """Python's quoted strings and lists of them as R's: {'a', 'b'} -> c("a", "b"), 'a' -> "a"."""
    return _QUOTED_WORD.sub(lambda m: _r_string(m.group(1)), _r_lists(text))


def r_words(text):
    """An "expected ..." phrase of the core in R's words: integer, number, NULL, TRUE, c("a", "b")."""
    text = _r_quoted(text)
    for pattern, replacement in _R_WORDS:
        text = pattern.sub(replacement, text)
    return text


def r_value(value):
    """A value as R would print it in a message: NULL, TRUE, "text", 2.5, c(1, 2)."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return _r_string(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return f"{v:.15g}"
    if isinstance(value, (list, tuple)) and 0 < len(value) <= 10 and all(
            v is None or isinstance(v, (str, numbers.Number)) for v in value):
        return _r_vector(r_value(v) for v in value)
    if isinstance(value, dict):
        return "a named list"
    if isinstance(value, (list, tuple)):
        return f"a list of length {len(value)}"
    if isinstance(value, np.ndarray):
        return f"an array with dims c({', '.join(str(d) for d in value.shape)})"
    if callable(value):
        return "a function"
    return f"an object of Python type {type(value).__name__}"


def r_fail_message(name, func, expected, value):
    """:func:`seqimp.checks.fail`'s message in R's words, naming the R argument."""
    name = R_ARGUMENT_NAMES.get(name, name)
    return f"The '{name}' argument of {func} must be {r_words(expected)}. Got {r_value(value)} instead."


_PARAMETER = re.compile(r"The '(\w+)' parameter of")
_NON_FINITE = re.compile(r"\breturned (-?)(nan|inf)\b")


def r_message(text):
    """Any core message as R users read it: arguments by their R names, NaN and Inf, x for X, lists of
    quoted names as c(...). Only those phrases are touched, so an R error quoted inside keeps its words."""
    text = _PARAMETER.sub(lambda m: f"The '{R_ARGUMENT_NAMES.get(m.group(1), m.group(1))}' argument of",
                          text.strip())
    text = _NON_FINITE.sub(lambda m: f"returned {m.group(1)}{dict(nan='NaN', inf='Inf')[m.group(2)]}", text)
    if text.startswith("X "):  # "X must be finite ...": the argument is x in R
        text = "x" + text[1:]
    text = text.replace("the unperturbed X", "the unperturbed x")
    text = re.sub(r"([;,] |, but |when )X has\b", r"\1x has", text)  # "...; X has categorical features"
    text = text.replace("the model and X.", "the model and x.")
    return _r_lists(text)
