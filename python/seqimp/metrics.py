"""Metrics: named ones backed by sklearn.metrics, or the caller's own.

A :class:`Metric` knows whether greater is better, so every method can report importance as
"how much worse than the baseline" (positive means important) with :meth:`Metric.worsening`.
Sequence outputs are scored over all their elements.

Names: the short ones ("mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc"), scikit-learn's
function names ("mean_absolute_error", ...) and every scorer name of scikit-learn
(``sklearn.metrics.get_scorer_names()``, see :mod:`seqimp.sklearn_scorers`). A "neg_" scorer is the negated
loss with greater_is_better=True, exactly as in scikit-learn: its importances equal the loss's, and its
baseline_score is negative.

On a network's outputs they mean what they mean in scikit-learn (see :mod:`seqimp.sklearn_scorers`): a metric
scored on labels ("accuracy", "f1", "precision", ...) cuts a sigmoid's probability at 0.5 and takes a
softmax's largest class, and refuses outputs that are neither labels nor probabilities; probabilities
are checked in the precision the model computed them in (a float32 softmax is no warning); "auc" and
"roc_auc" are binary, as scikit-learn's "roc_auc" scorer: on three or more classes they raise, naming
"roc_auc_ovr" and "roc_auc_ovo".

Each metric knows what it scores (``response_method``, as scikit-learn's scorers do): "predict",
"predict_proba", "decision_function" or a preference list. A classifier (an object with ``.predict``
and ``classes_``) is asked for that response; Keras models, callables and R functions are scored on
their outputs as they are. seqimp's and scikit-learn's metrics take ``sample_weight``, one weight per
sample (repeated over a sample's elements for sequence outputs).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

import numpy as np

from . import checks, errors, sample_scores, sklearn_scorers
from .errors import Options, Raised, SeqimpTypeError, SeqimpValueError, Shape, Value, Words, about, text

# A Python function as a metric, and what R users pass in its place.
_A_SCORE_FUNCTION = Words("a callable (y_true, y_pred) -> float", "an R function(y_true, y_pred) returning a number")
_A_LOSS = Words("a callable loss (y_true, y_pred) -> float", "an R function(y_true, y_pred) returning a number")
_PER_SAMPLE_VALUES = Words("None or a callable (y_true, y_pred, sample_weight=None) -> ndarray of shape (n_samples,)",
                           "NULL or an R function(y_true, y_pred, sample_weight = NULL) returning one number per "
                           "sample")

PREDICT = "predict"
# scikit-learn's preference for metrics that rank scores: decision values where the model has them.
SCORES = ("decision_function", "predict_proba")


@dataclasses.dataclass(frozen=True)
class Metric:
    """A metric ``func(y_true, y_pred) -> float``.

    Parameters
    ----------
    func : callable
        ``func(y_true, y_pred) -> float``, given arrays of the shapes ``y`` and the model's
        predictions have (for sequence outputs, e.g. (n, T)); flatten them if the metric needs 1-D.
    greater_is_better : bool, default=False
        False for losses and errors (MAE, log loss), True for scores (R², accuracy, AUC). Importances
        are oriented by it, so they are positive when the model gets worse either way.
    name : str, default=None
        Shown in results; defaults to the function's name.
    needs_proba : bool, default=False
        The predictions must be probabilities in [0, 1] (checked before any work is done).
    needs_classes : bool, default=False
        ``y`` must hold class labels: 0/1 (or one-hot rows), or integer labels 0..k-1 against (n, k)
        predicted probabilities; for a metric scored on predicted labels (``response_method="predict"``),
        any integer labels. A continuous ``y`` is refused.
    response_method : str or tuple of str, default="predict"
        What a classifier is asked for: "predict", "predict_proba", "decision_function", or a
        preference list such as ``("decision_function", "predict_proba")`` (the first method the
        model has). Keras models and callables are scored on their outputs as they are.
    pos_label : int, float, bool, str or None, default=None
        The positive class of a binary classifier, whose column of ``predict_proba`` is scored (and
        whose sign ``decision_function`` takes); None is ``classes_[-1]``, as in scikit-learn.
    per_sample : callable, default=None
        ``per_sample(y_true, y_pred, sample_weight=None) -> ndarray (n_samples,)``: per-sample values
        whose plain mean is the metric (with weights, sample i's loss times ``n w_i / sum(w)``; for a
        metric that is not a mean over samples, its linearisation: see :mod:`seqimp.sample_scores`).
        With them :func:`permutation_importance` gives standard errors, intervals and p-values; without
        them it gives none. seqimp's named metrics and scikit-learn's MAE, MSE, RMSE, R², accuracy,
        ROC AUC and Brier scorers have them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import median_absolute_error
    >>> medae = Metric(lambda y, p: median_absolute_error(np.ravel(y), np.ravel(p)), name="medae")
    >>> medae(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 5.0]))
    0.5
    >>> medae.worsening(0.5, 0.75)  # a loss that rose by 0.25: positive means worse
    0.25
    >>> Metric(lambda y, p: 1.0, greater_is_better=True).worsening(0.9, 0.6)  # a score that fell
    0.30000000000000004
    """

    func: Callable
    greater_is_better: bool = False
    name: str = None
    needs_proba: bool = False
    needs_classes: bool = False
    response_method: object = PREDICT
    pos_label: object = None
    per_sample: Callable = None

    def __post_init__(self):
        if not callable(self.func):
            checks.fail("func", "Metric", _A_SCORE_FUNCTION, self.func, TypeError)
        checks.check_bool(self.greater_is_better, "greater_is_better", "Metric")
        if self.per_sample is not None and not callable(self.per_sample):
            checks.fail("per_sample", "Metric", _PER_SAMPLE_VALUES, self.per_sample, TypeError)
        if self.name is None:
            object.__setattr__(self, "name", getattr(self.func, "__name__", "custom"))
        response = self.response_method
        options = (response,) if isinstance(response, str) else tuple(response) \
            if isinstance(response, (tuple, list)) else ()
        if not options or not all(o in (PREDICT,) + SCORES for o in options):
            checks.fail("response_method", "Metric", text("{p}, {pp}, {df} or {a_tuple} of them", p=Value(PREDICT),
                                                          pp=Value("predict_proba"), df=Value("decision_function")),
                        response)
        object.__setattr__(self, "response_method", options[0] if len(options) == 1 else options)

    @property
    def request(self):
        """(response_method, pos_label, name): what a model adapter is asked for on this metric's behalf."""
        return self.response_method, self.pos_label, self.name

    @property
    def scores_labels(self):
        """True for a classification metric scored on predicted labels (accuracy, F1, ...)."""
        return self.needs_classes and self.response_method == PREDICT

    @property
    def accepts_sample_weight(self):
        """Whether ``func`` takes a ``sample_weight`` keyword."""
        declared = getattr(self.func, "accepts_sample_weight", None)  # a scikit-learn score function's
        if declared is not None:
            return bool(declared)
        try:
            params = inspect.signature(self.func).parameters.values()
        except (TypeError, ValueError):  # a builtin or an R function without a readable signature
            return False
        return any(p.name == "sample_weight" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)

    def __call__(self, y_true, y_pred, sample_weight=None, *, func=None):
        """The metric's value; ``func`` (the public function) is named in a failure's message."""
        try:
            if sample_weight is None:
                value = self.func(y_true, y_pred)
            else:
                value = self.func(y_true, y_pred, sample_weight=sample_weight)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised naming the metric and the shapes
            where = about("metric", func, ": metric") if func else "The metric"
            raise SeqimpValueError("{where} {name} failed on y of {y_shape} and predictions of {p_shape}: {exc}",
                                   argument="metric", function=func, where=where, name=Value(self.name),
                                   y_shape=Shape(np.shape(y_true)), p_shape=Shape(np.shape(y_pred)),
                                   exc=Raised(exc)) from exc
        try:
            value = float(np.asarray(value, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise SeqimpTypeError("The metric {name} must return one number; got {type} of {shape}.",
                                  argument="metric", name=Value(self.name), type=type(value).__name__,
                                  shape=Shape(np.shape(value))) from None
        return checks.check_finite_score(value, text("The metric {name}", name=Value(self.name)))

    def worsening(self, baseline_score, score):
        """How much worse ``score`` is than ``baseline_score``; positive means worse."""
        return baseline_score - score if self.greater_is_better else score - baseline_score


def _flat(y_true, y_pred, sample_weight=None):
    """Every element of y and of the predictions, each sample's weight repeated over its elements."""
    y, p = np.ravel(y_true), np.ravel(y_pred)
    if sample_weight is not None:
        sample_weight = np.repeat(np.asarray(sample_weight, dtype=np.float64), p.size // len(sample_weight))
    return y, p, sample_weight


def _mae(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import mean_absolute_error

    y, p, w = _flat(y_true, y_pred, sample_weight)
    return mean_absolute_error(y, p, sample_weight=w)


def _mse(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import mean_squared_error

    y, p, w = _flat(y_true, y_pred, sample_weight)
    return mean_squared_error(y, p, sample_weight=w)


def _rmse(y_true, y_pred, sample_weight=None):
    return float(np.sqrt(_mse(y_true, y_pred, sample_weight)))


def _r2(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import r2_score

    y, p, w = _flat(y_true, y_pred, sample_weight)
    # force_finite=False: R² of a constant y is undefined (NaN), which the caller then refuses, rather
    # than scikit-learn's stand-in 0.0 or 1.0, which would make every importance a plausible 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return r2_score(y, p, sample_weight=w, force_finite=False)


_is_multiclass = sklearn_scorers.is_multiclass
_class_labels = sklearn_scorers.class_labels


def _log_loss(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import log_loss

    if _is_multiclass(y_true, y_pred):
        return log_loss(_class_labels(y_true), sklearn_scorers.in_own_precision(y_pred), labels=np.arange(y_pred.shape[1]),
                        sample_weight=sample_weight)
    y, p, w = _flat(y_true, y_pred, sample_weight)
    return log_loss(y, p, labels=[0, 1], sample_weight=w)


def _accuracy(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import accuracy_score

    if _is_multiclass(y_true, y_pred):
        return accuracy_score(*sklearn_scorers.predicted_labels(y_true, y_pred), sample_weight=sample_weight)
    y, p, w = _flat(y_true, y_pred, sample_weight)
    # Predicted labels (a classifier's predict) are compared as they are; probabilities cut at 0.5.
    y, labels = sklearn_scorers.predicted_labels(y, p)
    return accuracy_score(y.astype(np.int64), labels.astype(np.int64), sample_weight=w)


def _auc(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import roc_auc_score

    if _is_multiclass(y_true, y_pred):
        raise _multiclass_auc_error("auc", y_pred.shape[1])
    y, p, w = _flat(y_true, y_pred, sample_weight)
    return roc_auc_score(y, p, sample_weight=w)


def _multiclass_auc_error(name, k, func=None):
    where = "The '{argument}' {parameter} of {function} is {name}, which" if func else "The metric {name}"
    return SeqimpValueError(where + " scikit-learn defines for two classes (its 'roc_auc' scorer raises on "
                            "more); the model gives {k} class scores. Name the multiclass AUC you mean: "
                            "'roc_auc_ovr' (one-vs-rest) or 'roc_auc_ovo' (one-vs-one), or their '_weighted' "
                            "versions.", argument="metric", function=func or "", name=Value(name), k=k)


# Binary AUC ranks scores, so logits or decision values are as good as probabilities: it needs classes
# in y, not probabilities. Log loss is meaningless without probabilities. What a classifier is asked for
# is what scikit-learn's scorer of the same name asks for.
METRICS = {
    "mae": Metric(_mae, False, "mae", per_sample=sample_scores.absolute_errors),
    "mse": Metric(_mse, False, "mse", per_sample=sample_scores.squared_errors),
    "rmse": Metric(_rmse, False, "rmse", per_sample=sample_scores.root_squared_errors),
    "r2": Metric(_r2, True, "r2", per_sample=sample_scores.r2_values),
    "log_loss": Metric(_log_loss, False, "log_loss", needs_proba=True, needs_classes=True,
                       response_method="predict_proba", per_sample=sample_scores.log_losses),
    "accuracy": Metric(_accuracy, True, "accuracy", needs_classes=True, per_sample=sample_scores.hits),
    "auc": Metric(_auc, True, "auc", needs_classes=True, response_method=SCORES,
                  per_sample=sample_scores.auc_values),
}

# scikit-learn's metric-function and scorer names for the same metrics.
ALIASES = {
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "r2_score": "r2",
    "accuracy_score": "accuracy",
    "roc_auc": "auc",
    "roc_auc_score": "auc",
}
NEGATED = {
    "neg_mean_absolute_error": "mae",
    "neg_mean_squared_error": "mse",
    "neg_root_mean_squared_error": "rmse",
    "neg_log_loss": "log_loss",
}


def _negated(name, base):
    def func(y_true, y_pred, sample_weight=None):
        return -base.func(y_true, y_pred, sample_weight=sample_weight)

    func.__wrapped__ = base.func
    return Metric(func, True, name, needs_proba=base.needs_proba, needs_classes=base.needs_classes,
                  response_method=base.response_method,
                  per_sample=sample_scores.negated(base.per_sample) if base.per_sample else None)


def _with_sample_values(arguments):
    """A scorer's Metric arguments with its per-sample values, where scikit-learn's function has them."""
    func = arguments["func"]
    values = sample_scores.for_score_function(func.score_func, func.sign, func.kwargs)
    return {**arguments, "per_sample": values}


def _from_scorer(metric, func):
    arguments = sklearn_scorers.scorer_arguments(metric)
    if arguments is None:
        checks.fail("metric", func, text("a scikit-learn scorer with one score function (from make_scorer or "
                                         "get_scorer; for several metrics pass a list or dict of them), a metric "
                                         "name, a {Metric} or {score}", score=_A_SCORE_FUNCTION), metric, TypeError)
    return Metric(**_with_sample_values(arguments))


def get_metric(metric, func):
    """A :class:`Metric` from a name, a scikit-learn scorer, a Metric, or a bare callable (taken as a
    loss: lower is better).

    Names are case-insensitive; see the module docstring for the names understood.
    """
    if isinstance(metric, Metric):
        return metric
    if sklearn_scorers.is_scorer(metric):
        return _from_scorer(metric, func)
    if callable(metric) and not isinstance(metric, str):
        return Metric(metric, greater_is_better=False)
    if isinstance(metric, str):
        key = metric.strip().lower()
        if key in METRICS:
            return METRICS[key]
        if key in ALIASES:  # the same metric, under the name the caller knows
            return dataclasses.replace(METRICS[ALIASES[key]], name=key)
        if key in NEGATED:
            return _negated(key, METRICS[NEGATED[key]])
        arguments = sklearn_scorers.named_scorer_arguments(key)
        if arguments is not None:
            return Metric(**_with_sample_values(arguments))
    checks.fail("metric", func, text("one of {names} or a scikit-learn scorer name (any of "
                                     "sklearn.metrics.get_scorer_names(), such as {example}), a scikit-learn scorer, "
                                     "a {Metric}, or {loss}", names=Options(METRICS), example=Value("neg_log_loss"),
                                     loss=_A_LOSS), metric, ValueError if isinstance(metric, str) else TypeError)


def get_metrics(metric, func):
    """``[(name, Metric), ...]`` and whether several were asked for: a list or tuple of metrics (named
    by the names given, else by each Metric's name) or a dict ``{name: metric}``."""
    if isinstance(metric, dict):
        if not metric or not all(isinstance(k, str) for k in metric):
            checks.fail("metric", func, text("a non-empty {dict} {{name: metric}} with string names"), metric,
                        TypeError)
        return [(k, get_metric(v, func)) for k, v in metric.items()], True
    if isinstance(metric, (list, tuple)):
        if not metric:
            checks.fail("metric", func, text("a metric, or a non-empty list or {dict} of metrics"), metric)
        named = [(m.strip() if isinstance(m, str) else get_metric(m, func).name, get_metric(m, func))
                 for m in metric]
        names = [name for name, _ in named]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} names {repeated} more than once; "
                                   "pass {a_dict} {{name: metric}} to give each metric its own name.",
                                   argument="metric", function=func, repeated=Value(repeated))
        return named, True
    return [(None, get_metric(metric, func))], False


def scores_beyond_predict(metric, func):
    """True when some metric of ``metric`` (one, or a list or dict) scores a classifier's
    ``predict_proba`` or ``decision_function`` rather than its ``predict``. The R package asks, to call
    a binomial ``glm``'s ``predict`` with ``type = "response"``."""
    return any(m.response_method != PREDICT for _, m in get_metrics(metric, func)[0])


def _base_func(metric):
    return getattr(metric.func, "__wrapped__", metric.func)


def _squeezed(shape):
    return tuple(d for d in shape if d != 1)


def check_target(metric, y, predictions, func, *, partial=False):
    """Check that ``y`` fits the predictions and that the metric can score them.

    ``partial=True`` checks leading rows of both (the first chunk is enough to catch a wrong shape
    before a full pass) and skips what needs every row (AUC needs both classes in y). Raises a ValueError naming ``y`` (wrong shape, values that are not classes) or ``metric``
    (e.g. log loss without probabilities), or saying that the model's predictions are not finite.
    """
    y = np.asarray(y)
    predictions = np.asarray(predictions)
    if y.shape[0] != predictions.shape[0]:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must have one row per prediction "
                               "({expected}); got {got}.", argument="y", function=func,
                               expected=int(predictions.shape[0]), got=Shape(y.shape))
    if not np.isfinite(predictions).all():
        raise SeqimpValueError("The model's predictions contain NaN or {inf} ({shape}), so {name} cannot score "
                               "them. Check the model and {X}.", function=func, shape=Shape(predictions.shape),
                               name=Value(metric.name))
    # (n,) class labels against (n, k) class probabilities.
    multiclass_labels = metric.needs_classes and y.ndim == 1 and predictions.ndim == 2 \
        and predictions.shape[1] > 1
    per_row = predictions.shape[1:]
    if not multiclass_labels and _squeezed(y.shape[1:]) != _squeezed(per_row):
        hint = text(" (or class labels of {shape})", shape=Shape((y.shape[0],))) if metric.needs_classes and \
            len(per_row) == 1 and per_row[0] > 1 else ""
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must match the {shape} of the model's "
                               "predictions: {expected}{hint}. Got {got} instead.", argument="y", function=func,
                               shape=Words("shape", "dims"), expected=Shape((y.shape[0],) + per_row, worded=False),
                               hint=hint, got=Shape(y.shape))
    multiclass = _is_multiclass(y, predictions)
    if _base_func(metric) is _auc and multiclass:
        raise _multiclass_auc_error(metric.name, predictions.shape[1], func)
    if metric.needs_classes:
        _check_classes(metric, y, predictions, multiclass, func)
    if metric.func is _auc and not partial and not multiclass_labels and np.unique(y).size < 2:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} holds only the class {classes}; the "
                               "metric {name} needs both classes present in y.", argument="y", function=func,
                               classes=Value(np.unique(y).tolist()), name=Value(metric.name))
    if metric.scores_labels and not multiclass and not _integral(predictions):
        _check_thresholdable(metric, predictions, func)
    if metric.needs_proba:
        _check_probabilities(metric, predictions, partial, func)
        if multiclass:
            _check_sums(metric, predictions, func)


# seqimp's own classification metrics that score probabilities or scores take classes 0/1 (or 0..k-1).
_ZERO_ONE = (_log_loss, _auc)


def _integral(values):
    return np.array_equal(values, np.round(values))


def _check_classes(metric, y, predictions, multiclass, func):
    values = np.unique(y)
    base = _base_func(metric)
    multiclass_labels = multiclass and y.ndim == 1
    # A metric on labels cuts probabilities at 0.5, which means classes 0/1; predicted labels may be any
    # integers, and k class probabilities give labels 0..k-1.
    zero_one = base in _ZERO_ONE or (metric.scores_labels and not multiclass and not _integral(predictions))
    if not zero_one and not (multiclass_labels and metric.scores_labels):
        if not _integral(values):
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold class labels 0/1 or other "
                                   "integers for the metric {name}, a classification metric; got continuous values "
                                   "such as {values}. Use a regression metric such as {mse} or {mae} for a continuous "
                                   "y.", argument="y", function=func, name=Value(metric.name),
                                   values=errors.join(text("{v:.4g}", v=float(v)) for v in values[:5]),
                                   mse=Value("mse"), mae=Value("neg_mean_absolute_error"))
    elif multiclass_labels:
        k = predictions.shape[1]
        if not (np.isin(values, np.arange(k))).all():
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold class labels 0..{top} for "
                                   "{name} against {k} predicted class probabilities; got values such as {values}.",
                                   argument="y", function=func, top=k - 1, name=Value(metric.name), k=k,
                                   values=Value(values[:5].tolist()))
    elif not np.isin(values, [0, 1]).all():
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold class labels 0/1 (or one-hot "
                               "rows) for the metric {name}; got values such as {values}.", argument="y",
                               function=func, name=Value(metric.name), values=Value(values[:5].tolist()))


def _check_thresholdable(metric, predictions, func):
    """A metric on predicted labels given outputs that are not integers: they must be probabilities,
    cut at 0.5 (:func:`seqimp.sklearn_scorers.predicted_labels`)."""
    lo, hi = float(predictions.min()), float(predictions.max())
    if lo < 0.0 or hi > 1.0:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {name}, which scores predicted "
                               "class labels; the model's outputs range from {lo:.4g} to {hi:.4g}: neither labels "
                               "(integers) nor probabilities in [0, 1], which seqimp cuts at 0.5. Use a model with "
                               "a sigmoid/softmax output or one that returns labels, or a metric that ranks "
                               "scores such as 'roc_auc'.", argument="metric", function=func,
                               name=Value(metric.name), lo=Value(lo), hi=Value(hi))


def _check_sums(metric, predictions, func):
    """k class probabilities must sum to one per sample, within the rounding of their own precision."""
    if sklearn_scorers.sums_to_one(predictions):
        return
    sums = predictions.sum(axis=1)
    raise SeqimpValueError("The '{argument}' {parameter} of {function} is {name}, which needs class "
                           "probabilities that sum to one for every sample (a softmax output); the model's {k} "
                           "outputs per sample sum to between {lo:.6g} and {hi:.6g}. Use a softmax output, or a "
                           "metric for independent outputs.", argument="metric", function=func,
                           name=Value(metric.name), k=int(predictions.shape[1]), lo=Value(float(sums.min())),
                           hi=Value(float(sums.max())))


def _check_probabilities(metric, predictions, partial, func):
    lo, hi = float(predictions.min()), float(predictions.max())
    if lo < 0.0 or hi > 1.0:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {name}, which needs predicted "
                               "probabilities in [0, 1]; the model's predictions range from {lo:.4g} to {hi:.4g}. "
                               "Use a model with a sigmoid/softmax output, or a metric such as {mae}.",
                               argument="metric", function=func, name=Value(metric.name), lo=lo, hi=hi,
                               mae=Value("mae"))
    # Every prediction exactly 0 or 1 is a model's class labels: a probability metric never scores them.
    if not partial and predictions.size > 1 and np.isin(predictions, (0.0, 1.0)).all():
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {name}, which needs predicted "
                               "probabilities, but every prediction of the model is exactly 0 or 1: class labels. "
                               "seqimp never scores labels with a probability metric. Pass a model that returns "
                               "probabilities (a scikit-learn classifier is asked for its predict_proba), or a metric "
                               "scored on labels such as {accuracy}.", argument="metric", function=func,
                               name=Value(metric.name), accuracy=Value("accuracy"))
