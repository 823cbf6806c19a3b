"""scikit-learn's scorers as seqimp metrics: every name in ``sklearn.metrics.get_scorer_names()`` and
the objects ``sklearn.metrics.make_scorer`` and ``get_scorer`` return.

A scorer is taken apart rather than called as ``scorer(estimator, X, y)``: its score function, sign,
keyword arguments and response method (``_score_func``, ``_sign``, ``_kwargs``, ``_response_method``)
become a :class:`~seqimp.metrics.Metric`. The model is then asked once per chunk for each response the
metrics need, and one pass over the data serves several metrics, which calling the scorer on every
perturbed copy of X could not do. The metric's value is ``sign * score_func(y, response, **kwargs)``
with greater_is_better=True, so importances (baseline minus permuted score) equal scikit-learn's in
sign and value: a "neg_" scorer's baseline score is negative, its importances positive when worse.

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


class ScoreFunction:
    """``sign * score_func(y_true, y_pred, **kwargs)``, given y and predictions in the shapes scikit-learn's
    metrics take: (n,) where there is one value per sample, (n, k) for several outputs or classes."""

    def __init__(self, score_func, sign, kwargs):
        self.score_func = score_func
        self.sign = sign
        self.kwargs = dict(kwargs)
        self.__name__ = getattr(score_func, "__name__", type(score_func).__name__)

    @property
    def accepts_sample_weight(self):
        try:
            return "sample_weight" in inspect.signature(self.score_func).parameters
        except (TypeError, ValueError):
            return False

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _sklearn_shapes(np.asarray(y_true), np.asarray(y_pred))
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
    return {
        "func": ScoreFunction(score_func, sign, kwargs),
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
