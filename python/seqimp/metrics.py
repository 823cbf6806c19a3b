"""Metrics: named ones backed by sklearn.metrics, or the caller's own.

A :class:`Metric` knows whether greater is better, so every method can report importance as
"how much worse than the baseline" (positive means important) with :meth:`Metric.worsening`.
Sequence outputs are scored over all their elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import checks

_PROBA_METRICS = ("log_loss", "auc")


@dataclass(frozen=True)
class Metric:
    """A metric ``func(y_true, y_pred) -> float``.

    Parameters
    ----------
    func : callable
        ``func(y_true, y_pred) -> float``, given arrays of the shapes the model and ``y`` have.
    greater_is_better : bool, default=False
        False for losses and errors (MAE, log loss), True for scores (R², accuracy, AUC).
    name : str, default=None
        Shown in results; defaults to the function's name.

    Examples
    --------
    >>> from sklearn.metrics import median_absolute_error
    >>> Metric(lambda y, p: median_absolute_error(y.ravel(), p.ravel()), name="medae")  # doctest: +SKIP
    """

    func: Callable
    greater_is_better: bool = False
    name: str = None
    needs_proba: bool = False

    def __post_init__(self):
        if not callable(self.func):
            checks.fail("func", "Metric", "a callable (y_true, y_pred) -> float", self.func, TypeError)
        if self.name is None:
            object.__setattr__(self, "name", getattr(self.func, "__name__", "custom"))

    def __call__(self, y_true, y_pred):
        value = self.func(y_true, y_pred)
        try:
            value = float(np.asarray(value, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise TypeError(f"The metric {self.name!r} must return one number; got {type(value).__name__} "
                            f"of shape {np.shape(value)}.") from None
        return value

    def worsening(self, baseline_score, score):
        """How much worse ``score`` is than ``baseline_score``; positive means worse."""
        return baseline_score - score if self.greater_is_better else score - baseline_score


def _flat(y_true, y_pred):
    return np.ravel(y_true), np.ravel(y_pred)


def _mae(y_true, y_pred):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(*_flat(y_true, y_pred))


def _mse(y_true, y_pred):
    from sklearn.metrics import mean_squared_error

    return mean_squared_error(*_flat(y_true, y_pred))


def _rmse(y_true, y_pred):
    return float(np.sqrt(_mse(y_true, y_pred)))


def _r2(y_true, y_pred):
    from sklearn.metrics import r2_score

    return r2_score(*_flat(y_true, y_pred))


def _is_multiclass(y_true, y_pred):
    """(n, k) probabilities with k > 1 against (n,) class labels or (n, k) one-hot rows."""
    return y_pred.ndim == 2 and y_pred.shape[1] > 1 and (
        y_true.ndim == 1 or (y_true.shape == y_pred.shape and np.allclose(y_true.sum(axis=1), 1.0)))


def _class_labels(y_true):
    return y_true.argmax(axis=1) if y_true.ndim == 2 else y_true.astype(np.int64)


def _log_loss(y_true, y_pred):
    from sklearn.metrics import log_loss

    if _is_multiclass(y_true, y_pred):
        return log_loss(_class_labels(y_true), y_pred, labels=np.arange(y_pred.shape[1]))
    y, p = _flat(y_true, y_pred)
    return log_loss(y, p, labels=[0, 1])


def _accuracy(y_true, y_pred):
    from sklearn.metrics import accuracy_score

    if _is_multiclass(y_true, y_pred):
        return accuracy_score(_class_labels(y_true), y_pred.argmax(axis=1))
    y, p = _flat(y_true, y_pred)
    return accuracy_score(y.astype(np.int64), (p >= 0.5).astype(np.int64))


def _auc(y_true, y_pred):
    from sklearn.metrics import roc_auc_score

    if _is_multiclass(y_true, y_pred):
        return roc_auc_score(_class_labels(y_true), y_pred, multi_class="ovr",
                             labels=np.arange(y_pred.shape[1]))
    return roc_auc_score(*_flat(y_true, y_pred))


METRICS = {
    "mae": Metric(_mae, False, "mae"),
    "mse": Metric(_mse, False, "mse"),
    "rmse": Metric(_rmse, False, "rmse"),
    "r2": Metric(_r2, True, "r2"),
    "log_loss": Metric(_log_loss, False, "log_loss", needs_proba=True),
    "accuracy": Metric(_accuracy, True, "accuracy"),
    "auc": Metric(_auc, True, "auc", needs_proba=True),
}


def get_metric(metric, func):
    """A :class:`Metric` from a name, a Metric, or a bare callable (taken as a loss: lower is better)."""
    if isinstance(metric, Metric):
        return metric
    if callable(metric) and not isinstance(metric, str):
        return Metric(metric, greater_is_better=False)
    return METRICS[checks.check_option(metric, "metric", func, tuple(METRICS), allow_callable=True)]


def check_target(metric, y, predictions, func):
    """Check that ``y`` fits the predictions and that the metric can score them.

    Raises a ValueError naming ``y`` (wrong shape) or ``metric`` (e.g. log loss without probabilities).
    """
    multiclass_labels = y.ndim == 1 and predictions.ndim == 2 and predictions.shape[1] > 1 and \
        metric.name in ("log_loss", "accuracy", "auc")
    if not multiclass_labels and y.size != predictions.size:
        raise ValueError(f"The 'y' parameter of {func} must match the shape of the model's predictions "
                         f"{predictions.shape}; got shape {y.shape}.")
    if not multiclass_labels and y.shape != predictions.shape and \
            np.squeeze(y).shape != np.squeeze(predictions).shape:
        raise ValueError(f"The 'y' parameter of {func} must match the shape of the model's predictions "
                         f"{predictions.shape}; got shape {y.shape}.")
    if metric.name in ("log_loss", "accuracy", "auc") and metric in METRICS.values():
        if not np.isin(np.unique(y), [0, 1]).all() and not multiclass_labels:
            raise ValueError(f"The 'metric' parameter of {func} is {metric.name!r}, which needs class labels "
                             f"0/1 (or one-hot rows) in 'y'; got values such as {np.unique(y)[:5].tolist()}.")
    if metric.needs_proba and metric in METRICS.values():
        lo, hi = float(predictions.min()), float(predictions.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"The 'metric' parameter of {func} is {metric.name!r}, which needs predicted "
                             f"probabilities in [0, 1]; the model's predictions range from {lo:.4g} to "
                             f"{hi:.4g}. Use a model with a sigmoid/softmax output, or a metric such as "
                             f"'mae'.")
