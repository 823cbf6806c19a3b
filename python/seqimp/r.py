"""The rpy2 bridge: R data and R models into seqimp, results back out as R data.frames.

Importing this module imports rpy2 and starts its embedded R; nothing else in seqimp imports it
unless it is handed an rpy2 object (detected by module name, so rpy2 need not be installed).

- :func:`from_r` turns an R array (dims and dimnames), matrix, data.frame or vector into NumPy,
  keeping the feature names (the last dimnames, or the column names).
- :func:`r_model` wraps an R function or a fitted R model (anything with a ``predict`` method: ``lm``,
  ``glm``, ``randomForest``, ...) as a model. An R model sees a whole chunk of perturbed copies in one
  call, never one sample at a time.
- :func:`to_r` turns an :class:`~seqimp.ImportanceResult` into the R data.frame the R package returns.

Every R call runs under rpy2's local converter (``localconverter``), never a global ``activate()``,
so a user's own conversion rules neither change what seqimp gets nor are changed by it. This module
never loads reticulate inside the embedded R: with reticulate 1.28 that can abort the process at exit.
"""

from __future__ import annotations

import numpy as np

try:
    import rpy2.rinterface as ri
    import rpy2.robjects as ro
    from rpy2.robjects.conversion import localconverter
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("seqimp.r needs rpy2 (pip install 'seqimp[r]'); with R older than 4.5 use "
                      f"'rpy2<3.6'. Importing rpy2 failed: {exc}") from exc

from .adapters import Predictor, is_rpy2_object


def clean_child_environment():
    """Undo the R library path that rpy2 puts in front of ``LD_LIBRARY_PATH`` when it starts R.

    rpy2 sets it after the process has started, where it cannot help this process (its own comment
    says so), but every child Python then inherits it: with Debian's R that path holds Debian's
    libpython, and a worker started by joblib or Dask loads it instead of its own and fails
    ("undefined symbol" in ``_ssl``). The embedded R has already loaded its libraries.
    """
    import os

    from rpy2.rinterface_lib import openrlib

    added = getattr(openrlib, "LD_LIBRARY_PATH", "") or ""
    current = os.environ.get("LD_LIBRARY_PATH")
    if not added or current is None or not current.startswith(added + ":"):
        return
    rest = current[len(added) + 1:]
    if rest:
        os.environ["LD_LIBRARY_PATH"] = rest
    else:
        del os.environ["LD_LIBRARY_PATH"]


clean_child_environment()

__all__ = ["from_r", "r_model", "to_r", "RFunctionPredictor", "RModelPredictor"]

# Bytes of R doubles per chunk for R models. Large on purpose: each chunk is one R call, and an R
# model's per-call overhead (building a data.frame, S3 dispatch) dwarfs its per-row cost.
_R_CHUNK_BYTES = 128 * 2**20

# The R side of the bridge, evaluated once into its own environment (never the user's globalenv).
_R_CODE = r"""
local({
  kind <- function(x) {
    if (is.data.frame(x)) "data.frame"
    else if (is.function(x)) "function"
    else if (is.factor(x)) "factor"
    else if (is.numeric(x) || is.logical(x)) "numeric"
    else "other"
  }
  # R's NA_real_ is a signalling NaN; casting it to float32 in NumPy warns. A quiet NaN does not.
  quiet_na <- function(x) {
    if (anyNA(x)) x[is.na(x)] <- NaN
    x
  }
  # Numbers as doubles with dims and dimnames kept (NA_integer_ becomes NA_real_, i.e. NaN), plus
  # the names of the last axis. A 1-D array is a vector.
  as_doubles <- function(x) {
    if (!is.double(x)) storage.mode(x) <- "double"
    x <- quiet_na(x)
    d <- dim(x)
    if (length(d) < 2L) {
      return(list(values = as.vector(x), names = NULL))
    }
    dn <- dimnames(x)
    list(values = x, names = if (is.null(dn)) NULL else dn[[length(d)]])
  }
  frame_columns_bad <- function(x) {
    ok <- vapply(x, function(col) (is.numeric(col) || is.logical(col)) && !is.factor(col) &&
                   is.null(dim(col)), logical(1))
    sprintf("%s (%s)", names(x)[!ok], vapply(x[!ok], function(col) class(col)[1], character(1)))
  }
  frame_as_matrix <- function(x) {
    m <- quiet_na(matrix(as.double(unlist(x, use.names = FALSE)), nrow = nrow(x), ncol = ncol(x)))
    list(values = m, names = names(x))
  }
  has_predict <- function(x) {
    s3 <- any(vapply(class(x), function(k) !is.null(utils::getS3method("predict", k, optional = TRUE)),
                     logical(1)))
    s3 || (isS4(x) && methods::hasMethod("predict", class(x)[1]))
  }
  # The variables a fitted model reads, where it has terms; NULL where it does not say.
  model_variables <- function(model) {
    tt <- tryCatch(stats::delete.response(stats::terms(model)), error = function(e) NULL)
    if (is.null(tt)) NULL else all.vars(tt)
  }
  shape <- function(v, dims, names) {
    dim(v) <- dims
    dimnames(v) <- c(rep(list(NULL), length(dims) - 1L), list(names))
    v
  }
  as_prediction <- function(p) {
    if (is.data.frame(p)) p <- as.matrix(p)
    if (is.factor(p) || !(is.numeric(p) || is.logical(p))) {
      stop(sprintf(paste0("the R model returned %s, not numbers; ask predict() for numbers ",
                          "(for classifiers, e.g. type = \"prob\" or type = \"response\")"),
                   paste(class(p), collapse = "/")), call. = FALSE)
    }
    if (!is.double(p)) storage.mode(p) <- "double"
    d <- dim(p)
    p <- as.vector(p)
    list(values = p, dim = if (is.null(d)) length(p) else d)
  }
  call_function <- function(f, v, dims, names) as_prediction(f(shape(v, dims, names)))
  call_predict <- function(model, v, dims, names, ...) {
    x <- shape(v, dims, names)
    newdata <- if (length(dims) == 2L) as.data.frame(x) else x
    as_prediction(stats::predict(model, newdata = newdata, ...))
  }
  new_importance <- function(feature, timestep, importance, std, importances, label_names,
                             method, metric, granularity, baseline_score, attributions) {
    out <- data.frame(feature = feature, stringsAsFactors = FALSE)
    if (!is.null(timestep)) out$timestep <- timestep
    out$importance <- importance
    out$std <- std
    rownames(importances) <- label_names
    attr(out, "importances") <- importances
    attr(out, "method") <- method
    attr(out, "metric") <- metric
    attr(out, "granularity") <- granularity
    attr(out, "baseline_score") <- baseline_score
    if (!is.null(attributions)) attr(out, "attributions") <- attributions
    class(out) <- c("seqimp_importance", "data.frame")
    out
  }
  environment()
})
"""

_helpers = None


def _r():
    """The R helper environment, created on first use."""
    global _helpers
    if _helpers is None:
        with localconverter(ro.default_converter):
            _helpers = ro.r(_R_CODE)
    return _helpers


def _call(name, *args, **kwargs):
    with localconverter(ro.default_converter):
        return _r()[name](*args, **kwargs)


def _str(value):
    return str(value[0])


def _r_classes(obj):
    with localconverter(ro.default_converter):
        return [str(k) for k in ro.baseenv["class"](obj)]


def _item(r_list, name):
    with localconverter(ro.default_converter):
        return r_list.rx2(name)


def _view(values):
    """A read-only NumPy view of an R double vector or array (R's own memory, Fortran order)."""
    array = np.asarray(values.memoryview())
    array.setflags(write=False)
    return array


def _to_r_doubles(array):
    """An R double vector holding ``array`` in Fortran (R) order: one copy, in R's memory."""
    flat = np.array(array, dtype=np.float64, order="F", copy=True).ravel(order="K")
    return ri.FloatSexpVector.from_memoryview(memoryview(flat))


def _names(value):
    if value is ri.NULL or value is None or isinstance(value, type(ri.NULL)):
        return None
    return [str(v) for v in value]


def from_r(obj, *, with_names=False, name="X"):
    """An R object as a NumPy array, with its feature names.

    Parameters
    ----------
    obj : rpy2 R object
        A numeric, integer or logical array (for example ``array(x, dim = c(n, T, F))``), matrix or
        vector, or a data.frame of numeric or logical columns.
    with_names : bool, default=False
        Also return the names of the last axis: the last element of ``dimnames`` for an array or
        matrix, the column names for a data.frame, None for a vector or where there are none.
    name : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    array : ndarray
        float64 with R's shape and index meaning (``array[i, t, f]`` is R's ``x[i+1, t+1, f+1]``).
        For numeric (double) arrays this is a read-only view of R's memory; seqimp copies it once, to
        float32 C order, when it normalises its input. R's ``NA`` becomes NaN, which seqimp rejects
        with the index of the first one.
    names : list of str or None
        Only when ``with_names`` is True.
    """
    if not is_rpy2_object(obj):
        raise TypeError(f"{name} must be an rpy2 R object for from_r; got a {type(obj).__name__}.")
    kind = _str(_call("kind", obj))
    if kind == "data.frame":
        bad = [str(b) for b in _call("frame_columns_bad", obj)]
        if bad:
            raise TypeError(f"{name} must hold numbers only; the R data.frame columns {bad} are not "
                            f"numeric. Drop them or convert them (e.g. model.matrix() for factors).")
        out = _call("frame_as_matrix", obj)
    elif kind == "numeric":
        out = _call("as_doubles", obj)
    elif kind == "factor":
        raise TypeError(f"{name} must hold numbers; got an R factor. Convert it first, e.g. "
                        f"as.integer(x) - 1L for 0-based class codes.")
    else:
        raise TypeError(f"{name} must be an R array, matrix, vector or data.frame of numbers; got an "
                        f"R object of class {_r_classes(obj)}.")
    array = _view(_item(out, "values"))
    names = _names(_item(out, "names"))
    return (array, names) if with_names else array


class _RPredictor(Predictor):
    """An R model: one R call per chunk, with chunks far larger than for Keras."""

    def __init__(self, model, feature_names=None, predict_args=None):
        super().__init__(model)
        self._fixed_names = feature_names is not None
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.predict_args = dict(predict_args or {})

    def default_chunk_rows(self, row_shape):
        return max(1, _R_CHUNK_BYTES // (int(np.prod(row_shape)) * 8))

    def prepare(self, chunk_rows, data):
        """R sees X's feature names as column names or dimnames.

        Names given to :func:`r_model` win, as long as there is one per feature."""
        names = data.feature_names
        if not (self._fixed_names and len(self.feature_names) == len(names)):
            self.feature_names = [str(n) for n in names]

    def _names_for(self, n_features):
        if self.feature_names is not None and len(self.feature_names) == n_features:
            return ro.StrVector(self.feature_names)
        return ro.StrVector([f"x{i + 1}" for i in range(n_features)])

    def _r_call(self, block):
        raise NotImplementedError

    def _call(self, block):
        out = self._r_call(block)
        values = np.array(_view(_item(out, "values")))  # a copy: R may collect its memory after this
        dims = tuple(int(d) for d in _item(out, "dim"))
        return values.reshape(dims, order="F")


class RFunctionPredictor(_RPredictor):
    """An R function ``f(x)``: ``x`` is an R array of dims (n, T, F) or a matrix (n, F), with the
    feature names as the last dimnames; ``f`` returns numbers, one row (or element) per sample."""

    kind = "R function"

    def _r_call(self, block):
        return _call("call_function", self.model, _to_r_doubles(block), ro.IntVector(block.shape),
                     self._names_for(block.shape[-1]))


class RModelPredictor(_RPredictor):
    """A fitted R model, called as ``predict(model, newdata = data.frame(...), ...)`` for 2-D data (the
    feature names are the column names) and ``predict(model, newdata = <R array (n, T, F)>, ...)`` for
    3-D data."""

    kind = "R model"

    def prepare(self, chunk_rows, data):
        super().prepare(chunk_rows, data)
        needed = _call("model_variables", self.model)
        if needed is ri.NULL or isinstance(needed, type(ri.NULL)):
            return
        missing = [str(v) for v in needed if str(v) not in self.feature_names]
        if missing:
            raise ValueError(f"The R model uses the variables {missing}, which X does not have; X's "
                             f"features are {list(self.feature_names)}. Pass X with the model's "
                             f"variables as column names (or feature_names=).")

    def _r_call(self, block):
        return _call("call_predict", self.model, _to_r_doubles(block), ro.IntVector(block.shape),
                     self._names_for(block.shape[-1]), **self.predict_args)


def r_model(obj, *, feature_names=None, func="seqimp", **predict_args):
    """Wrap an R function or a fitted R model as a seqimp model.

    Parameters
    ----------
    obj : rpy2 R function or fitted R model
        A function ``f(x)`` taking an R array (n, T, F) or matrix (n, F) and returning numbers, one per
        sample (or one row per sample); or any R object with a ``predict`` method (``lm``, ``glm``,
        ``randomForest``, ...), which is called with ``newdata = data.frame(...)`` for 2-D data.
    feature_names : sequence of str, default=None
        Column names the model is given. By default, X's feature names (from a data.frame's columns,
        an R array's dimnames, or ``feature_names=`` of the importance function).
    **predict_args
        Extra arguments to ``predict`` for fitted models, e.g. ``type="response"`` for a ``glm``.

    Returns
    -------
    Predictor
        Pass it as ``model`` to any importance function. R models given directly as ``model`` are
        wrapped by this function with no extra arguments.
    """
    if not is_rpy2_object(obj):
        raise TypeError(f"The 'model' parameter of {func} must be an rpy2 R function or fitted R model "
                        f"for r_model. Got an object of type {type(obj).__name__} instead.")
    kind = _str(_call("kind", obj))
    if kind == "function":
        if predict_args:
            raise TypeError(f"predict arguments {sorted(predict_args)} apply to fitted R models; an R "
                            f"function is called as f(x). Got an R function.")
        return RFunctionPredictor(obj, feature_names)
    if bool(_call("has_predict", obj)[0]):
        return RModelPredictor(obj, feature_names, predict_args)
    raise TypeError(f"The 'model' parameter of {func} must be an R function or a fitted R model with a "
                    f"predict() method. Got an R object of class {_r_classes(obj)} instead.")


def to_r(result):
    """An :class:`~seqimp.ImportanceResult` as the R data.frame the seqimp R package returns.

    Class ``c("seqimp_importance", "data.frame")``; columns ``feature`` (character, "(all)" for
    granularity "timestep"), ``timestep`` (integer, 1-based as R indexes; only when granularity is not
    "feature"), ``importance`` and ``std`` (doubles), one row per label in the result's order.
    Attributes: ``importances`` (numeric matrix labels x repeats, rownames the label names),
    ``method``, ``metric``, ``granularity`` (character) and ``baseline_score`` (double or NA); for
    gradient methods also ``attributions``, an array (samples, timesteps, features).
    """
    frame = result.to_frame()
    timestep = ri.NULL
    if "timestep" in frame.columns:
        timestep = ro.IntVector([int(t) + 1 for t in frame["timestep"]])
    importances = np.asarray(result.importances, dtype=np.float64)
    matrix = _call("shape", _to_r_doubles(importances), ro.IntVector(importances.shape), ri.NULL)

    def text(value):
        return ro.StrVector([str(value)]) if value is not None else ro.StrVector([ri.NA_Character])

    attributions = ri.NULL
    if result.attributions is not None:
        values = np.asarray(result.attributions, dtype=np.float64)
        attributions = _call("shape", _to_r_doubles(values), ro.IntVector(values.shape), ri.NULL)
    baseline = result.baseline_score
    return _call(
        "new_importance",
        ro.StrVector([str(f) for f in frame["feature"]]),
        timestep,
        ro.FloatVector(frame["importance"].to_numpy(dtype=np.float64)),
        ro.FloatVector(frame["std"].to_numpy(dtype=np.float64)),
        matrix,
        ro.StrVector(result.label_names),
        text(result.method),
        text(result.metric),
        text(result.granularity),
        ro.FloatVector([ri.NA_Real if baseline is None else float(baseline)]),
        attributions,
    )
