"""scikit-learn's scorers as seqimp metrics: every name in ``sklearn.metrics.get_scorer_names()`` and
the objects ``sklearn.metrics.make_scorer`` and ``get_scorer`` return.

A scorer is taken apart rather than called as ``scorer(estimator, X, y)``: its score function, sign,
keyword arguments and response method (``_score_func``, ``_sign``, ``_kwargs``, ``_response_method``)
become a :class:`~seqimp.metrics.Metric`. The model is then asked once per chunk for each response the
metrics need, and one pass over the data serves several metrics, which calling the scorer on every
perturbed copy of X could not do. The metric's value is ``sign * score_func(y, response, **kwargs)``
with greater_is_better=True, so importances (baseline minus permuted score) equal scikit-learn's in
sign and value: a "neg_" scorer's baseline score is negative, its importances positive when worse.

Two rules make a scorer mean on a network's outputs what it means on a classifier's responses, and
seqimp's own metrics follow them too:

- A metric scored on predicted labels (``accuracy``, ``f1``, ``precision``, ``recall``, ...) given
  class probabilities (a sigmoid's (n,) or (n, 1), a softmax's (n, k)) scores the labels
  :func:`predicted_labels` reads from them: a probability >= 0.5 is class 1, the largest of k class
  probabilities is its class. Integer outputs (a classifier's ``predict``) are labels as they are.
- Probabilities are checked in the precision the model computed them in: float32 softmax outputs sum
  to one within float32's rounding, which scikit-learn's float64 check would call "not summing to
  one" at every scoring call. Such rows are normalised in float64 first (:func:`in_own_precision`), a
  change below float32's rounding; rows that do not sum to one in their own precision are refused
  before any work is done (:mod:`seqimp.metrics`).

This module is a leaf: it builds the arguments of a Metric and imports nothing else from seqimp.
"""

from __future__ import annotations

import inspect

import numpy as np

# scikit-learn before 1.4 told a scorer's response method by its class.
_LEGACY_RESPONSES = {"_PredictScorer": "predict", "_ProbaScorer": "predict_proba",
                     "_ThresholdScorer": ("decision_function", "predict_proba")}
# Score functions whose y must hold class labels (classification and clustering agreement metrics).
_LABEL_MODULES = ("sklearn.metrics._classification", "sklearn.metrics.cluster")


def scorer_names():
    """Every scorer name scikit-learn knows (``sklearn.metrics.get_scorer_names()``)."""
    from sklearn.metrics import get_scorer_names

    return tuple(get_scorer_names())


def is_scorer(obj):
    """True for a scikit-learn scorer object (from ``make_scorer``, ``get_scorer`` or ``check_scoring``)."""
    return any(getattr(k, "__module__", "").startswith("sklearn.metrics._scorer") for k in type(obj).__mro__)


def is_multiclass(y_true, y_pred):
    """(n, k) class scores with k > 1 against (n,) class labels or (n, k) one-hot rows."""
    return y_pred.ndim == 2 and y_pred.shape[1] > 1 and (
        y_true.ndim == 1 or (y_true.shape == y_pred.shape and np.allclose(y_true.sum(axis=1), 1.0)))


def class_labels(y_true):
    """(n,) class labels from class labels or one-hot rows."""
    return y_true.argmax(axis=1) if y_true.ndim == 2 else y_true.astype(np.int64)


def predicted_labels(y_true, y_pred):
    """``(y_true, labels)`` as a metric scored on labels needs them: against (n, k) class scores the
    class with the largest score (y as class labels); for one value per element, integers as they are
    (a classifier's ``predict``) and probabilities cut at 0.5 (>= 0.5 is class 1)."""
    if is_multiclass(y_true, y_pred):
        return class_labels(y_true), y_pred.argmax(axis=1)
    if np.array_equal(y_pred, np.round(y_pred)):
        return y_true, y_pred
    return y_true, (y_pred >= 0.5).astype(np.int64)


def own_eps(values):
    """The machine epsilon of the precision ``values`` were computed in: float32's for float64 values
    that are all float32 numbers (a float32 model's outputs, upcast), else their dtype's."""
    values = np.asarray(values)
    if values.dtype == np.float64 and np.array_equal(values.astype(np.float32), values):
        return float(np.finfo(np.float32).eps)
    return float(np.finfo(values.dtype if values.dtype.kind == "f" else np.float64).eps)


def sums_to_one(probabilities):
    """True where every row of (n, k) probabilities sums to one within their own precision's rounding,
    the tolerance scikit-learn's ``log_loss`` uses (sqrt(eps))."""
    sums = probabilities.sum(axis=1, dtype=np.float64)
    return bool(np.allclose(sums, 1.0, rtol=np.sqrt(own_eps(probabilities)), atol=0.0))


def in_own_precision(probabilities):
    """(n, k) probabilities that sum to one in their own precision, normalised in float64 so that
    scikit-learn's float64 check agrees; anything else is returned as it is."""
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        return probabilities
    sums = probabilities.sum(axis=1, keepdims=True)
    if np.allclose(sums, 1.0, rtol=np.sqrt(np.finfo(np.float64).eps), atol=0.0) or not sums_to_one(probabilities):
        return probabilities
    return probabilities / sums


class ScoreFunction:
    """``sign * score_func(y_true, y_pred, **kwargs)``, given y and predictions in the shapes scikit-learn's
    metrics take: (n,) where there is one value per sample, (n, k) for several outputs or classes.

    ``on_labels``: the score function takes predicted labels (``response_method="predict"`` and a
    classification metric), so probabilities become labels by :func:`predicted_labels`.
    ``on_probabilities``: it takes ``predict_proba``, checked in the probabilities' own precision.
    """

    def __init__(self, score_func, sign, kwargs, on_labels=False, on_probabilities=False):
        self.score_func = score_func
        self.sign = sign
        self.kwargs = dict(kwargs)
        self.on_labels = on_labels
        self.on_probabilities = on_probabilities
        self.__name__ = getattr(score_func, "__name__", type(score_func).__name__)

    @property
    def accepts_sample_weight(self):
        try:
            return "sample_weight" in inspect.signature(self.score_func).parameters
        except (TypeError, ValueError):
            return False

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _sklearn_shapes(np.asarray(y_true), np.asarray(y_pred))
        if self.on_labels:
            y_true, y_pred = predicted_labels(y_true, y_pred)
        elif self.on_probabilities:
            y_pred = in_own_precision(y_pred)
        kwargs = dict(self.kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return self.sign * self.score_func(y_true, y_pred, **kwargs)

    def __repr__(self):
        return f"ScoreFunction({self.__name__}, sign={self.sign}, kwargs={self.kwargs})"


def _sklearn_shapes(y, p):
    n = y.shape[0]
    if y.ndim == 1 and p.ndim == 2 and p.shape[1] > 1:  # class labels against class scores
        return y, p
    y, p = y.reshape(n, -1), p.reshape(n, -1)
    return (y[:, 0] if y.shape[1] == 1 else y), (p[:, 0] if p.shape[1] == 1 else p)


def _response_method(scorer):
    response = getattr(scorer, "_response_method", None)
    if response is None:
        response = _LEGACY_RESPONSES.get(type(scorer).__name__)
    return response


def _pos_label(score_func, kwargs):
    """The positive class, as scikit-learn's ``_BaseScorer._get_pos_label`` finds it."""
    if "pos_label" in kwargs:
        return kwargs["pos_label"]
    try:
        params = inspect.signature(score_func).parameters
    except (TypeError, ValueError):
        return None
    return params["pos_label"].default if "pos_label" in params else None


def _scorer_name(score_func, sign, kwargs):
    """The scorer's name in ``get_scorer_names()`` when it is one of those, else e.g. "neg_log_loss" or
    "f1_score(average='macro')"."""
    from sklearn.metrics import get_scorer

    for name in scorer_names():
        known = get_scorer(name)
        if getattr(known, "_score_func", None) is score_func and getattr(known, "_sign", None) == sign \
                and getattr(known, "_kwargs", None) == kwargs:
            return name
    base = ("neg_" if sign < 0 else "") + getattr(score_func, "__name__", "scorer")
    if kwargs:
        base += "(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    return base


def scorer_arguments(scorer, name=None):
    """The arguments of a :class:`~seqimp.metrics.Metric` equal to a scikit-learn scorer, or None when
    the scorer cannot be taken apart (it has no single score function, e.g. a multimetric scorer)."""
    score_func = getattr(scorer, "_score_func", None)
    sign = getattr(scorer, "_sign", None)
    kwargs = dict(getattr(scorer, "_kwargs", None) or {})
    response = _response_method(scorer)
    if not callable(score_func) or sign not in (1, -1) or response is None:
        return None
    if not isinstance(response, str):
        response = tuple(response)
    module = getattr(score_func, "__module__", "") or ""
    on_labels = response == "predict" and module.startswith(_LABEL_MODULES)
    return {
        "func": ScoreFunction(score_func, sign, kwargs, on_labels=on_labels,
                              on_probabilities=response == "predict_proba"),
        "greater_is_better": True,
        "name": name or _scorer_name(score_func, sign, kwargs),
        "needs_proba": response == "predict_proba",
        "needs_classes": response != "predict" or module.startswith(_LABEL_MODULES),
        "response_method": response,
        "pos_label": _pos_label(score_func, kwargs),
    }


def named_scorer_arguments(name):
    """:func:`scorer_arguments` for a name in ``get_scorer_names()``; None for any other name."""
    if name not in scorer_names():
        return None
    from sklearn.metrics import get_scorer

    return scorer_arguments(get_scorer(name), name)
