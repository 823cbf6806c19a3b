"""Metrics: named ones backed by sklearn.metrics, or the caller's own.

A :class:`Metric` knows whether greater is better, so every method can report importance as
"how much worse than the baseline" (positive means important) with :meth:`Metric.worsening`.
Sequence outputs are scored over all their elements.

Names: the short ones ("mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc"), scikit-learn's
function names ("mean_absolute_error", ...) and scikit-learn's scorer names ("neg_mean_absolute_error",
"roc_auc", ...). A "neg_" scorer is the negated loss with greater_is_better=True, exactly as in
scikit-learn: its importances equal the loss's, and its baseline_score is negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import checks


@dataclass(frozen=True)
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
        predicted probabilities.

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

    def __post_init__(self):
        if not callable(self.func):
            checks.fail("func", "Metric", "a callable (y_true, y_pred) -> float", self.func, TypeError)
        checks.check_bool(self.greater_is_better, "greater_is_better", "Metric")
        if self.name is None:
            object.__setattr__(self, "name", getattr(self.func, "__name__", "custom"))

    def __call__(self, y_true, y_pred):
        try:
            value = self.func(y_true, y_pred)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised naming the metric and the shapes
            raise ValueError(f"The metric {self.name!r} failed on y of shape {np.shape(y_true)} and "
                             f"predictions of shape {np.shape(y_pred)}: {type(exc).__name__}: {exc}") from exc
        try:
            value = float(np.asarray(value, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise TypeError(f"The metric {self.name!r} must return one number; got {type(value).__name__} "
                            f"of shape {np.shape(value)}.") from None
        return checks.check_finite_score(value, f"The metric {self.name!r}")

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

    # force_finite=False: R² of a constant y is undefined (NaN), which the caller then refuses, rather
    # than scikit-learn's stand-in 0.0 or 1.0, which would make every importance a plausible 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return r2_score(*_flat(y_true, y_pred), force_finite=False)


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


# Binary AUC ranks scores, so logits or decision values are as good as probabilities: it needs classes
# in y, not probabilities. Log loss is meaningless without probabilities.
METRICS = {
    "mae": Metric(_mae, False, "mae"),
    "mse": Metric(_mse, False, "mse"),
    "rmse": Metric(_rmse, False, "rmse"),
    "r2": Metric(_r2, True, "r2"),
    "log_loss": Metric(_log_loss, False, "log_loss", needs_proba=True, needs_classes=True),
    "accuracy": Metric(_accuracy, True, "accuracy", needs_classes=True),
    "auc": Metric(_auc, True, "auc", needs_classes=True),
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
    def func(y_true, y_pred):
        return -base.func(y_true, y_pred)

    return Metric(func, True, name, needs_proba=base.needs_proba, needs_classes=base.needs_classes)


def get_metric(metric, func):
    """A :class:`Metric` from a name, a Metric, or a bare callable (taken as a loss: lower is better).

    Names are case-insensitive; see the module docstring for the names understood.
    """
    if isinstance(metric, Metric):
        return metric
    if type(metric).__module__.startswith("sklearn.metrics._scorer"):
        # A scorer takes (estimator, X, y); there is no estimator here, only predictions.
        checks.fail("metric", func, "a metric name, a seqimp.metrics.Metric or a callable (y_true, y_pred) -> "
                    "float, not a scikit-learn scorer (estimator, X, y); pass its name (e.g. 'r2') or "
                    "Metric(sklearn.metrics.r2_score, greater_is_better=True)", metric, TypeError)
    if callable(metric) and not isinstance(metric, str):
        return Metric(metric, greater_is_better=False)
    if isinstance(metric, str):
        key = metric.strip().lower()
        if key in METRICS:
            return METRICS[key]
        if key in ALIASES:
            return METRICS[ALIASES[key]]
        if key in NEGATED:
            return _negated(key, METRICS[NEGATED[key]])
    listed = ", ".join(repr(m) for m in METRICS)
    checks.fail("metric", func, f"one of {{{listed}}} (or a scikit-learn scorer name such as "
                f"'neg_mean_absolute_error'), a seqimp.metrics.Metric, or a callable loss (y_true, y_pred) "
                f"-> float", metric, ValueError if isinstance(metric, str) else TypeError)


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
        raise ValueError(f"The 'y' parameter of {func} must have one row per prediction "
                         f"({predictions.shape[0]}); got shape {y.shape}.")
    if not np.isfinite(predictions).all():
        raise ValueError(f"The model's predictions contain NaN or inf (shape {predictions.shape}), so "
                         f"{metric.name!r} cannot score them. Check the model and X.")
    # (n,) class labels against (n, k) class probabilities.
    multiclass_labels = metric.needs_classes and y.ndim == 1 and predictions.ndim == 2 \
        and predictions.shape[1] > 1
    per_row = predictions.shape[1:]
    if not multiclass_labels and _squeezed(y.shape[1:]) != _squeezed(per_row):
        hint = f" (or class labels of shape ({y.shape[0]},))" if metric.needs_classes and len(per_row) == 1 \
            and per_row[0] > 1 else ""
        raise ValueError(f"The 'y' parameter of {func} must match the shape of the model's predictions: "
                         f"{(y.shape[0],) + per_row}{hint}. Got shape {y.shape} instead.")
    if metric.needs_classes:
        values = np.unique(y)
        if multiclass_labels:
            k = predictions.shape[1]
            if not (np.isin(values, np.arange(k))).all():
                raise ValueError(f"The 'y' parameter of {func} must hold class labels 0..{k - 1} for "
                                 f"{metric.name!r} against {k} predicted class probabilities; got values "
                                 f"such as {values[:5].tolist()}.")
        elif not np.isin(values, [0, 1]).all():
            raise ValueError(f"The 'y' parameter of {func} must hold class labels 0/1 (or one-hot rows) for "
                             f"the metric {metric.name!r}; got values such as {values[:5].tolist()}.")
    if metric.func is _auc and not partial and not multiclass_labels and np.unique(y).size < 2:
        raise ValueError(f"The 'y' parameter of {func} holds only the class {np.unique(y).tolist()}; the "
                         f"metric {metric.name!r} needs both classes present in y.")
    if metric.needs_proba:
        lo, hi = float(predictions.min()), float(predictions.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"The 'metric' parameter of {func} is {metric.name!r}, which needs predicted "
                             f"probabilities in [0, 1]; the model's predictions range from {lo:.4g} to "
                             f"{hi:.4g}. Use a model with a sigmoid/softmax output, or a metric such as "
                             f"'mae'.")

