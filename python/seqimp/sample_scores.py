"""Per-sample values of metrics: n numbers whose mean is the metric, so that an importance (the change
of a metric) is a mean of per-sample effects and has a standard error (:mod:`seqimp.effects`).

For a metric that is a mean over samples (MAE, MSE, log loss, accuracy, the Brier score) the values
are the samples' own losses, weighted as the metric weighs them: ``n w_i l_i / sum(w)``. For one that
is not, they are the metric plus its influence function at each sample (the delta method, a
first-order expansion): RMSE = sqrt(MSE) gives ``RMSE + (n w_i e_i² / sum(w) - MSE) / (2 RMSE)``; R² =
1 - MSE / V(y) gives ``R² - (s_i - MSE) / V + MSE (v_i - V) / V²`` with s_i and v_i the samples' weighted
squared error and squared deviation of y; ROC AUC gives DeLong's placement values, ``AUC + n w_i
(V_i - AUC) / W_class``, V_i the (weighted) share of the other class a sample outranks. Each is exact
in mean. Sequence outputs (several elements per sample) give each sample the mean over its elements.

A metric with no per-sample values (F1, a custom callable) gives no standard error; a
:class:`seqimp.metrics.Metric` can bring its own with ``per_sample=``.

This module imports nothing from seqimp but its errors.
"""

from __future__ import annotations

import numpy as np

from .errors import SeqimpError, Shape


class NoSampleValues(SeqimpError, NotImplementedError):
    """A metric's per-sample values do not cover this y (several outputs where the metric averages per
    output, classes other than 0/1): the caller reports no standard error, saying why."""

    type_name = "NotImplementedError"


def _flat(y_true, y_pred, sample_weight):
    """Every element, each sample's weight repeated over its elements (as the metrics flatten)."""
    y, p = np.ravel(y_true), np.ravel(y_pred)
    w = None
    if sample_weight is not None:
        w = np.repeat(np.asarray(sample_weight, dtype=np.float64), p.size // len(sample_weight))
    return y, p, w


def _shares(w, size):
    """Each element's weight as a multiple of the mean weight (1 without weights)."""
    return np.ones(size) if w is None else w * (size / w.sum())


def _weights(sample_weight):
    return None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)


def _per_sample(values, n):
    values = np.asarray(values, dtype=np.float64)
    return values if values.size == n else values.reshape(n, -1).mean(axis=1)


def _mean_loss(loss):
    def per_sample(y_true, y_pred, sample_weight=None):
        y, p, w = _flat(y_true, y_pred, sample_weight)
        values = loss(y.astype(np.float64, copy=False), p.astype(np.float64, copy=False))
        return _per_sample(values if w is None else values * _shares(w, p.size), np.shape(y_pred)[0])
    return per_sample


absolute_errors = _mean_loss(lambda y, p: np.abs(y - p))
squared_errors = _mean_loss(lambda y, p: (y - p) ** 2)


def root_squared_errors(y_true, y_pred, sample_weight=None):
    """RMSE's delta-method values: RMSE + (s_i - MSE) / (2 RMSE); all 0 where RMSE is 0."""
    n = np.shape(y_pred)[0]
    errors = squared_errors(y_true, y_pred, sample_weight)
    mse = float(errors.mean())
    if mse <= 0.0:
        return np.zeros(n)
    rmse = np.sqrt(mse)
    return rmse + (errors - mse) / (2.0 * rmse)


def r2_values(y_true, y_pred, sample_weight=None):
    """R²'s delta-method values, from the flattened elements as scikit-learn's r2_score sees them."""
    y, p, w = _flat(y_true, y_pred, sample_weight)
    y, p = y.astype(np.float64), p.astype(np.float64)
    share = _shares(w, p.size)
    s = share * (y - p) ** 2
    centre = np.average(y, weights=w)
    v = share * (y - centre) ** 2
    mse, var = s.mean(), v.mean()
    values = 1.0 - mse / var - (s - mse) / var + mse * (v - var) / var ** 2
    return _per_sample(values, np.shape(y_pred)[0])


def _multiclass(y_true, y_pred):
    return y_pred.ndim == 2 and y_pred.shape[1] > 1 and (
        y_true.ndim == 1 or (y_true.shape == y_pred.shape and np.allclose(y_true.sum(axis=1), 1.0)))


def _labels(y_true):
    return y_true.argmax(axis=1) if y_true.ndim == 2 else y_true.astype(np.int64)


def log_losses(y_true, y_pred, sample_weight=None):
    """Each sample's -log of the probability of its class, clipped as scikit-learn's log_loss clips."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    eps = np.finfo(y_pred.dtype if y_pred.dtype.kind == "f" else np.float64).eps
    if _multiclass(y_true, y_pred):
        p = np.clip(y_pred, eps, 1 - eps).astype(np.float64)[np.arange(len(y_pred)), _labels(y_true)]
        return -np.log(p) * _shares(_weights(sample_weight), len(p))
    y, p, w = _flat(y_true, y_pred, sample_weight)
    p = np.clip(p, eps, 1 - eps).astype(np.float64)
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return _per_sample(loss * _shares(w, p.size), np.shape(y_pred)[0])


def hits(y_true, y_pred, sample_weight=None):
    """1 where the predicted class is right (accuracy), as seqimp's accuracy decides it."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if _multiclass(y_true, y_pred):
        right = (_labels(y_true) == y_pred.argmax(axis=1)).astype(np.float64)
        return right * _shares(_weights(sample_weight), len(right))
    y, p, w = _flat(y_true, y_pred, sample_weight)
    labels = p if np.array_equal(p, np.round(p)) else (p >= 0.5)
    right = (y.astype(np.int64) == labels.astype(np.int64)).astype(np.float64)
    return _per_sample(right * _shares(w, p.size), np.shape(y_pred)[0])


def _binary_auc_values(positive, scores, w):
    """DeLong's placement values of one binary AUC over elements: mean = the weighted AUC."""
    size = scores.size
    w = np.ones(size) if w is None else w
    pos, neg = positive, ~positive
    w_pos, w_neg = w[pos].sum(), w[neg].sum()
    # For each element: the weight of the other class below its score, plus half the weight tied with it.
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    below_neg = np.concatenate([[0.0], np.cumsum(np.where(neg[order], w[order], 0.0))])
    below_pos = np.concatenate([[0.0], np.cumsum(np.where(pos[order], w[order], 0.0))])
    lo = np.searchsorted(sorted_scores, scores, side="left")
    hi = np.searchsorted(sorted_scores, scores, side="right")
    placement = np.where(pos, (below_neg[lo] + 0.5 * (below_neg[hi] - below_neg[lo])) / w_neg,
                         ((w_pos - below_pos[hi]) + 0.5 * (below_pos[hi] - below_pos[lo])) / w_pos)
    auc = float((w[pos] * placement[pos]).sum() / w_pos)
    return auc + np.where(pos, size * w * (placement - auc) / w_pos, size * w * (placement - auc) / w_neg)


def auc_values(y_true, y_pred, sample_weight=None):
    """ROC AUC's placement values (binary, or one-vs-rest macro average over classes)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = y_pred.shape[0]
    if _multiclass(y_true, y_pred):
        labels = _labels(y_true)
        w = _weights(sample_weight)
        return np.mean([_binary_auc_values(labels == c, y_pred[:, c].astype(np.float64), w)
                        for c in range(y_pred.shape[1])], axis=0)
    y, p, w = _flat(y_true, y_pred, sample_weight)
    return _per_sample(_binary_auc_values(y == 1, p.astype(np.float64), w), n)


def negated(per_sample):
    """The values of a "neg_" metric: the loss's, negated."""
    def values(y_true, y_pred, sample_weight=None):
        return -per_sample(y_true, y_pred, sample_weight)
    return values


def _equal(y_true, y_pred, sample_weight=None):
    """accuracy_score's values: 1 where the predicted label equals y."""
    y, p = np.ravel(y_true), np.ravel(y_pred)
    return (y == p).astype(np.float64) * _shares(_weights(sample_weight), y.size)


def _zero_one(y):
    return np.isin(y, (0, 1)).all()


# scikit-learn's score functions with per-sample values here, when a scorer calls them without keyword
# arguments (which change the metric: multioutput weights, a positive label), and the y they need:
# "any" (a mean over every element), "1d" (one output), "binary" (one output, classes 0/1).
_SKLEARN = {"mean_absolute_error": (absolute_errors, "any"), "mean_squared_error": (squared_errors, "any"),
            "root_mean_squared_error": (root_squared_errors, "1d"), "r2_score": (r2_values, "1d"),
            "accuracy_score": (_equal, "1d"), "roc_auc_score": (auc_values, "binary"),
            "brier_score_loss": (squared_errors, "binary")}


def for_score_function(score_func, sign, kwargs):
    """Per-sample values of ``sign * score_func`` (a scikit-learn scorer's parts), or None.

    The values raise :class:`NoSampleValues` for a y they do not cover (several outputs where the metric
    averages per output, classes other than 0/1); the caller then reports no standard error.
    """
    name = getattr(score_func, "__name__", None)
    if not getattr(score_func, "__module__", "").startswith("sklearn."):
        return None
    if name == "roc_auc_score" and kwargs == {"multi_class": "ovr"}:
        # scikit-learn's 'roc_auc_ovr' (macro one-vs-rest): auc_values' values over the classes
        base, needs = auc_values, "ovr"
    elif kwargs or name not in _SKLEARN:
        return None
    else:
        base, needs = _SKLEARN[name]

    def values(y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        one = y_true.ndim == 1 or (y_true.ndim == 2 and y_true.shape[1] == 1)
        binary = needs == "binary" or (needs == "ovr" and not _multiclass(y_true, y_pred))
        if (needs != "any" and not one) or (binary and not _zero_one(y_true)):
            raise NoSampleValues("{name} has per-sample values here for one output{classes}; got y of {got}",
                                 name=name, classes=" with classes 0/1" if binary else "",
                                 got=Shape(y_true.shape))
        return sign * base(y_true, y_pred, sample_weight)
    return values
