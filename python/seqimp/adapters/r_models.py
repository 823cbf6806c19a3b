"""R functions and fitted R models through rpy2, and the R side they share with the R package.

Importing this module imports rpy2 and starts its embedded R; :func:`~seqimp.adapters.as_predictor`
imports it only when it is handed an rpy2 object. How an R model is called on a chunk is R code in
``r_bridge.R`` beside this file, the same file the seqimp R package evaluates (through reticulate), so
both ways in shape chunks, call ``predict`` and check predictions alike; what a chunked R model is to the
core (chunk sizes, the variables check, errors naming X) is :class:`~seqimp.adapters.r_predictor.RChunkPredictor`,
shared with the R package too. Every R call runs under rpy2's local converter (``localconverter``), never a
global ``activate()``. Nothing here loads reticulate inside the embedded R: with reticulate 1.28 that can
abort the process at exit.
"""

from __future__ import annotations

import os

import numpy as np

try:
    import rpy2.rinterface as ri
    import rpy2.robjects as ro
    from rpy2.robjects.conversion import localconverter
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("seqimp's R bridge needs rpy2 (pip install 'seqimp[r]'); with R older than 4.5 use "
                      f"'rpy2<3.6'. Importing rpy2 failed: {exc}") from exc

from ..errors import SeqimpTypeError, Value
from ..frames import is_frame
from ..r_convert import frame_to_r_parts
from .r_predictor import R_BRIDGE, RCallFailed, RChunkPredictor


def clean_child_environment():
    """Undo the R library path that rpy2 puts in front of ``LD_LIBRARY_PATH`` when it starts R.

    rpy2 sets it after the process has started, where it cannot help this process (its own comment
    says so), but every child Python then inherits it: with Debian's R that path holds Debian's
    libpython, and a worker started by joblib or Dask loads it instead of its own and fails
    ("undefined symbol" in ``_ssl``). The embedded R has already loaded its libraries.
    """
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

_bridge = None


def call_bridge(name, *args, **kwargs):
    """Calls the function ``name`` of the shared R code (evaluated on first use: its value is its functions
    in a private environment)."""
    global _bridge
    with localconverter(ro.default_converter):
        if _bridge is None:
            _bridge = ro.baseenv["source"](R_BRIDGE, keep_source=False)[0]
        return _bridge[name](*args, **kwargs)


def call_model(name, *args, **kwargs):
    """Like :func:`call_bridge` for the functions that call the user's R code: an R error is raised as
    :class:`~seqimp.adapters.r_predictor.RCallFailed` with R's own message (rpy2 would print it to the
    console and prefix it with the call)."""
    out = call_bridge("guarded", name, *args, **kwargs)
    error = r_item(out, "error")
    if not is_r_null(error):
        raise RCallFailed(r_string(error))
    return r_item(out, "value")


def is_r_null(value):
    return value is None or value is ri.NULL or isinstance(value, type(ri.NULL))


def r_string(value):
    return str(value[0])


def r_classes(obj):
    with localconverter(ro.default_converter):
        return [str(k) for k in ro.baseenv["class"](obj)]


def r_item(r_list, name):
    with localconverter(ro.default_converter):
        return r_list.rx2(name)


def r_view(values):
    """A read-only NumPy view of an R double vector or array (R's own memory, Fortran order)."""
    array = np.asarray(values.memoryview())
    array.setflags(write=False)
    return array


def to_r_doubles(array):
    """An R double vector holding ``array`` in Fortran (R) order: one copy, in R's memory."""
    flat = np.array(array, dtype=np.float64, order="F", copy=True).ravel(order="K")
    return ri.FloatSexpVector.from_memoryview(memoryview(flat))


def r_array(array):
    """``array`` as an R double array of the same shape, without dimnames."""
    array = np.asarray(array)
    return call_bridge("shape", to_r_doubles(array), ro.IntVector(array.shape), ri.NULL)


def _r_vector(values):
    """A part of a column as an R vector: doubles, integers (codes, 0/1) or NULL."""
    if values is None:
        return ri.NULL
    if values.dtype.kind == "f":
        return to_r_doubles(values)
    return ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(values, dtype=np.int32)))


def r_frame(frame):
    """A pandas DataFrame (a chunk of a data.frame X) as an R data.frame: factors with their levels
    (ordered where they are), logicals, characters, integers and doubles, NA where values are missing
    (:func:`seqimp.r_convert.frame_to_r_parts`, built by ``build_frame`` in :data:`R_BRIDGE`)."""
    parts = frame_to_r_parts(frame)
    with localconverter(ro.default_converter):
        r_list = ro.baseenv["list"]
        values = r_list(*[_r_vector(v) for v in parts["values"]])
        levels = r_list(*[ri.NULL if v is None else ro.StrVector(v) for v in parts["levels"]])
        missing = r_list(*[_r_vector(None if v is None else v.astype(np.int32)) for v in parts["missing"]])
    return call_bridge("build_frame", ro.StrVector(parts["names"]), ro.StrVector(parts["kinds"]), values, levels,
                       ro.BoolVector(parts["ordered"]), missing)


def _r_chunk(block):
    """A chunk for the shared R code: an R data.frame for a DataFrame; values in R's order otherwise."""
    return r_frame(block) if is_frame(block) else to_r_doubles(block)


class _Rpy2Predictor(RChunkPredictor):
    """An R model through rpy2: one R call per chunk, as the R package's (see RChunkPredictor)."""

    described_as = "an R function or R model (through rpy2)"

    def __init__(self, model, feature_names=None, variables=None, predict_args=None):
        super().__init__(model, feature_names, variables)
        self.predict_args = dict(predict_args or {})

    def prepare(self, chunk_rows, data):
        super().prepare(chunk_rows, data)
        # Several inputs: each array gets its own input's names.
        self.input_feature_names = None if data.is_single else [list(b.feature_names) for b in data.blocks]

    def _names_for(self, n_features, block=None):
        """The names the model sees: X's feature names, else a DataFrame chunk's columns, else x1..xF."""
        if self.feature_names is not None and len(self.feature_names) == n_features:
            return ro.StrVector(self.feature_names)
        if block is not None and is_frame(block):
            return ro.StrVector([str(c) for c in block.columns])
        return ro.StrVector([f"x{i + 1}" for i in range(n_features)])

    def _r_call(self, block):
        raise NotImplementedError

    def _call(self, block):
        out = self._r_call(block)
        values = np.array(r_view(r_item(out, "values")))  # a copy: R may collect its memory after this
        dims = tuple(int(d) for d in r_item(out, "dim"))
        return values.reshape(dims, order="F")


class RFunctionPredictor(_Rpy2Predictor):
    """An R function ``f(x)``: ``x`` is an R array of dims (n, T, F) or a matrix (n, F), with the
    feature names as the last dimnames, or an R data.frame (factors and all) when X is a data.frame;
    ``f`` returns numbers, one row (or element) per sample."""

    description = "R function"

    def _r_call(self, block):
        if isinstance(block, (dict, list)):
            return self._call_several(block)
        return call_model("call_function", self.model, _r_chunk(block), ro.IntVector(block.shape),
                          self._names_for(block.shape[-1], block))

    def _call_several(self, block):
        """Several inputs: ``f`` gets one R list of arrays (named like X's dict), each with its input's
        feature names as its last dimnames."""
        keys = list(block) if isinstance(block, dict) else None
        values = list(block.values()) if keys is not None else list(block)
        names = getattr(self, "input_feature_names", None) or [None] * len(values)
        with localconverter(ro.default_converter):
            r_list = ro.baseenv["list"]
            chunks = [_r_chunk(v) for v in values]
            chunks = r_list(**dict(zip(keys, chunks))) if keys is not None else r_list(*chunks)
            dims = r_list(*[ro.IntVector(v.shape) for v in values])
            labels = r_list(*[ro.StrVector(n if n else [f"x{i + 1}" for i in range(v.shape[-1])])
                              for v, n in zip(values, names)])
        return call_model("call_function_several", self.model, chunks, dims, labels)


class RModelPredictor(_Rpy2Predictor):
    """A fitted R model, called as ``predict(model, newdata = data.frame(...), ...)`` for 2-D data (the
    feature names are the column names; a data.frame X's factors, logicals and characters reach it as
    they were, factors with their levels) and ``predict(model, newdata = <R array (n, T, F)>, ...)`` for
    3-D data; S4 ``predict`` methods too. The variables it reads (from its terms) must be among X's
    feature names."""

    description = "R model"

    def _r_call(self, block):
        return call_model("call_predict", self.model, _r_chunk(block), ro.IntVector(block.shape),
                          self._names_for(block.shape[-1], block), **self.predict_args)


def probability_args(obj):
    """``{"type": "response"}`` for a binomial ``glm``, whose ``predict`` gives log-odds by default: what
    a probability metric needs from it. Nothing for any other R object."""
    return {"type": "response"} if bool(call_bridge("is_binomial_glm", obj)[0]) else {}


def _variables(obj):
    variables = call_bridge("model_variables", obj)
    return None if is_r_null(variables) else [str(v) for v in variables]


def r_model(obj, *, feature_names=None, func="seqimp", **predict_args):
    """Wrap an R function or a fitted R model as a seqimp model.

    Parameters
    ----------
    obj : rpy2 R function or fitted R model
        A function ``f(x)`` taking an R array (n, T, F) or matrix (n, F) (a data.frame when X is one)
        and returning numbers, one per sample (or one row per sample); or any R object with a
        ``predict`` method, S3 or S4 (``lm``, ``glm``, ``randomForest``, ...), which is called with
        ``newdata = data.frame(...)`` for 2-D data. A data.frame X (an R one, or pandas) reaches it as
        an R data.frame whose factors keep their levels.
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
    if not isinstance(obj, ri.Sexp):
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be an rpy2 R function or fitted "
                              "R model for r_model. Got an object of type {type} instead.", argument="model",
                              function=func, type=type(obj).__name__)
    kind = r_string(call_bridge("value_kind", obj))
    if kind == "function":
        if predict_args:
            raise SeqimpTypeError("predict arguments {names} apply to fitted R models; an R function is called "
                                  "as f(x). Got an R function.", names=Value(sorted(predict_args)))
        return RFunctionPredictor(obj, feature_names)
    if bool(call_bridge("has_predict", obj)[0]):
        return RModelPredictor(obj, feature_names, _variables(obj), predict_args)
    raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be an R function or a fitted R model "
                          "with a predict() method. Got an R object of class {classes} instead.", argument="model",
                          function=func, classes=Value(r_classes(obj)))
