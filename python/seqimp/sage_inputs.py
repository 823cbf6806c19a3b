"""What SAGE is given besides the model and X: the per-sample loss it explains, and the background rows
that fill removed labels (:func:`seqimp.sage_importance`).

SAGE needs one loss per sample (a coalition's loss is the loss of the prediction averaged over the
background), so it takes squared error, absolute error, cross-entropy, or a callable that returns
per-sample losses. A background the caller gives is read as X is, then put in X's coding: a DataFrame's
category codes index X's own values (a code is only ever copied into X's rows), and a number X's block
cannot hold exactly is refused rather than rounded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import checks
from .errors import Keyword, Options, SeqimpValueError, Shape, Value, text
from .metrics import METRICS, Metric, _class_labels, _is_multiclass
from .model_inputs import prepare_inputs
from .samplers import MAX_GAUSSIAN_CELLS, CellLayout

LOSSES = ("mse", "mae", "log_loss")
IMPUTERS = ("marginal", "gaussian")
# The background rows' seed extends the root seed by this word.
_BACKGROUND_KEY = 0x5A6E


def _per_sample(y, predictions):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    return y.reshape(p.shape) if y.size == p.size else y, p


def _squared(y, predictions):
    y, p = _per_sample(y, predictions)
    return ((y - p) ** 2).reshape(len(p), -1).mean(axis=1)


def _absolute(y, predictions):
    y, p = _per_sample(y, predictions)
    return np.abs(y - p).reshape(len(p), -1).mean(axis=1)


def _cross_entropy(y, predictions):
    p = np.asarray(predictions, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    if _is_multiclass(np.asarray(y), p):  # class probabilities against labels 0..k-1 or one-hot rows
        labels = _class_labels(np.asarray(y))
        return -np.log(np.clip(p[np.arange(len(p)), labels], eps, 1.0))
    # one probability per element (binary, or a sequence of binary outputs): a sample's mean over them
    y, p = _per_sample(y, p)
    p = np.clip(p, eps, 1.0 - eps)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p)).reshape(len(p), -1).mean(axis=1)


_LOSSES = {"mse": _squared, "mae": _absolute, "log_loss": _cross_entropy}


def check_loss(metric, func):
    """(Metric for the model's response and the baseline score, per-sample loss function)."""
    if isinstance(metric, str) and metric.strip().lower() in LOSSES:
        key = metric.strip().lower()
        return METRICS[key], _LOSSES[key]
    if callable(metric) and not isinstance(metric, (str, Metric)):
        def mean_loss(y, p):
            return float(np.mean(_custom_losses(metric, y, p, func)))

        return Metric(mean_loss, name=getattr(metric, "__name__", "custom")), \
            (lambda y, p: _custom_losses(metric, y, p, func))
    checks.fail("metric", func, text("one of {options} or {a_callable} loss(y_true, y_pred) returning one loss per "
                                     "sample (SAGE needs per-sample losses)", options=Options(LOSSES)), metric,
                ValueError if isinstance(metric, str) else TypeError)


def _custom_losses(metric, y, predictions, func):
    losses = np.asarray(metric(y, predictions), dtype=np.float64)
    if losses.shape != (len(predictions),):
        raise SeqimpValueError("The '{argument}' {parameter} of {function}: the {callable} must return one loss per "
                               "sample, {expected}; got {got}.", argument="metric", function=func,
                               expected=Shape((len(predictions),)), got=Shape(losses.shape))
    if not np.isfinite(losses).all():
        raise SeqimpValueError("The '{argument}' {callable} of {function} returned non-finite losses; seqimp never "
                               "reports a non-finite importance.", argument="metric", function=func)
    return losses


def check_options(imputer, n_background, convergence, max_permutations, func):
    """The options only SAGE has, checked in the order of its signature."""
    imputer = checks.check_option(imputer, "imputer", func, IMPUTERS)
    n_background = checks.check_int(n_background, "n_background", func)
    convergence = checks.check_float(convergence, "convergence", func, low=0.0, high=1.0, low_inclusive=False)
    max_permutations = checks.check_int(max_permutations, "max_permutations", func, low=2, allow_none=True)
    return imputer, n_background, convergence, max_permutations


def check_gaussian(data, imputer, func):
    """The gaussian imputer draws numbers: refused for categorical features and beyond its cell limit."""
    if imputer != "gaussian":
        return
    categorical = [data.feature_names[j] for j in data.categorical_features]
    if categorical:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {gaussian}, which draws numbers; {X} has "
                               "categorical features {names}, which are never drawn as numbers. Use {marginal}.",
                               argument="imputer", function=func, gaussian=Value("gaussian"),
                               names=Value(categorical), marginal=Keyword("imputer", "marginal"))
    cells = int(CellLayout(data).numeric.sum())
    if cells > MAX_GAUSSIAN_CELLS:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {gaussian}, which models the {cells} "
                               "cells of {X} (timesteps x features, every input) jointly; seqimp's limit is "
                               "{limit}. Use {marginal} or fewer timesteps.", argument="imputer", function=func,
                               gaussian=Value("gaussian"), cells=cells, limit=MAX_GAUSSIAN_CELLS,
                               marginal=Keyword("imputer", "marginal"))


def background_rows(call, background, n_background, imputer, mask_value):
    """The background rows (a SequenceData in X's coding) for the marginal imputer; None for the
    gaussian one. ``call`` is the prepared call (:func:`seqimp.preamble.prepare`)."""
    func, data = call.func, call.data
    if imputer == "gaussian":
        if background is not None:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {None} with {gaussian}: the "
                                   "Gaussian is estimated on {X} and draws n_background values per sample and "
                                   "coalition. Got background as well.", argument="background", function=func,
                                   gaussian=Keyword("imputer", "gaussian"))
        return None
    if background is None:
        if n_background >= data.n_samples:
            return data
        root = call.root_seed
        seed = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (_BACKGROUND_KEY,))
        rows = np.sort(np.random.default_rng(seed).choice(data.n_samples, size=n_background, replace=False))
        return data.take(rows)
    if data.mask_source == "mask argument":
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {None} when 'mask' is an array: "
                               "the background rows are then drawn from {X}, whose real steps the mask gives. Pass "
                               "{mask_value}, or no background.", argument="background", function=func,
                               mask_value=Keyword("mask_value"))
    bg = prepare_inputs(background, None, call.predictor, func, mask_value=mask_value)
    shapes = [b.input_shape[1:] for b in bg.blocks]
    expected = [b.input_shape[1:] for b in data.blocks]
    framed = any(b.frame is not None for b in bg.blocks)
    if shapes != expected or (framed and bg.feature_names != data.feature_names):
        columns = text(" and columns {names}", names=Value(list(data.feature_names))) if framed else ""
        got = text("columns {names}", names=Value(list(bg.feature_names))) if shapes == expected else _shown(shapes)
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be rows like {X}'s: "
                               "{expected}{columns}, in {X}'s order. Got {got} instead.", argument="background",
                               function=func, expected=_shown(expected), columns=columns, got=got)
    return bg.with_blocks([_in_coding_of(b, x, func) for b, x in zip(bg.blocks, data.blocks)])


def _shown(shapes):
    """The inputs' shapes as one shape (one input) or a list of them, any number of rows."""
    shapes = [(None,) + tuple(shape) for shape in shapes]
    return Shape(shapes[0] if len(shapes) == 1 else shapes)


def _in_coding_of(block, like, func):
    """``block`` (background rows) with its values in ``like``'s (X's) coding: category codes re-pointed
    at X's values, numbers in X's block dtype (refused where they would change)."""
    X = block.X
    if block.frame is not None and like.frame is not None:
        X = X.copy()
        for j, (own, theirs) in enumerate(zip(block.frame.values, like.frame.values)):
            if own is None or theirs is None:
                continue
            import pandas as pd  # noqa: WPS433 - both are DataFrames, so pandas is there

            where = pd.Index(theirs).get_indexer(pd.Index(own))
            codes = X[..., j].astype(np.int64)
            missing = np.unique(codes[where[codes] < 0])
            if missing.size:
                raise SeqimpValueError("The '{argument}' {parameter} of {function} holds {value} in column {column}, "
                                       "which {X}'s column never holds: a coalition could only give the model a "
                                       "value it was not asked about. Use rows of {X}'s values.",
                                       argument="background", function=func, value=Value(own[missing[0]]),
                                       column=Value(like.feature_names[j]))
            X[..., j] = where[codes]
    converted = X.astype(like.X.dtype)
    if not np.array_equal(converted.astype(np.float64), X.astype(np.float64), equal_nan=True):
        raise SeqimpValueError("The '{argument}' {parameter} of {function} holds values {X}'s input of dtype {dtype} "
                               "cannot hold exactly (fractions in an integer input, say). Pass background in "
                               "{X}'s dtype.", argument="background", function=func, dtype=str(like.X.dtype))
    converted.setflags(write=False)
    return replace(block, X=converted, frame=like.frame, categorical=like.categorical)
