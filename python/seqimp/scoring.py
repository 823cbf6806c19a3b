"""One call's metrics against one ``y``: the model asked for what they score, the weights checked, and
every task scored by every metric in the same pass.

:func:`metrics_predictor` wraps the model so that each chunk carries every response the metrics need
(a classifier's ``predict_proba`` and ``predict``, say, each called once per chunk). :class:`Scoring`
is the engine's ``score`` hook: it scores the baseline once, then each (label, repeat) task with
every metric on the same permuted predictions, and keeps one importance matrix per metric, and, for
every metric with per-sample values, the sums of per-sample effects its standard errors come from
(:mod:`seqimp.effects`).
"""

from __future__ import annotations

import numpy as np

from . import checks
from .adapters import as_predictor
from .effects import COVERS_PERMUTATION, EffectSums, matched
from .inputs import as_target
from .metrics import check_target
from .outputs import select_predictions


def metrics_predictor(model, named_metrics, output, func):
    """The model as a predictor that gives every response the metrics score, with ``output`` applied."""
    predictor = as_predictor(model, func=func, responses=[metric.request for _, metric in named_metrics])
    if output is not None and getattr(predictor, "methods", ["predict"]) != ["predict"]:
        methods = getattr(predictor, "methods")
        raise ValueError(f"The 'output' parameter of {func} must be None when the metric scores the "
                         f"classifier's {' and '.join(methods)}: the metric then decides what is scored "
                         f"(for a binary classifier, the positive class). Got {output!r}.")
    return select_predictions(predictor, output, func)


def check_sample_weight(sample_weight, n_samples, named_metrics, func):
    """``sample_weight`` as a float64 array of shape (n_samples,): finite, >= 0, not all zero, and taken
    by every metric. None stays None."""
    if sample_weight is None:
        return None
    w = as_target(sample_weight, n_samples, func=func, name="sample_weight")
    if w.ndim != 1:
        raise ValueError(f"The 'sample_weight' parameter of {func} must be a 1-D array of shape "
                         f"({n_samples},), one weight per sample of X. Got shape {w.shape} instead.")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"The 'sample_weight' parameter of {func} must hold weights >= 0. Got {w[i]:g} for "
                         f"sample {checks.shown_index(i)} instead.")
    check_weight_total(w, func)
    refusing = [name or metric.name for name, metric in named_metrics if not metric.accepts_sample_weight]
    if refusing:
        raise ValueError(f"The 'sample_weight' parameter of {func} cannot be used with the metric "
                         f"{refusing[0]!r}: its function takes no sample_weight. Drop sample_weight, use a "
                         f"metric that takes it (seqimp's and most of scikit-learn's do; a Python function "
                         f"takes it with a sample_weight=None parameter).")
    return w


def check_weight_total(w, func, after=""):
    """Refuse weights that are all zero (``after``: the step that left them so, e.g. max_samples)."""
    if w is not None and not w.sum() > 0:
        raise ValueError(f"The 'sample_weight' parameter of {func} must not be all zero{after}: the metric "
                         f"would weigh no sample.")


class Scoring:
    """The engine's ``score`` hook for several metrics scored in one pass.

    ``importances[i]`` is metric i's (n_labels, n_repeats) matrix, oriented so that positive is worse;
    called as ``score(baseline, predictions, label, repeat)`` it fills every metric's entry and returns
    the first metric's, which the engine stores as its own scores. ``donors(label, repeat)`` gives the
    task's donor rows (n,), or None where no values move between rows.
    """

    def __init__(self, named_metrics, y, sample_weight, predictor, n_labels, n_repeats, func, donors=None):
        self.metrics = [metric for _, metric in named_metrics]
        self.y = y
        self.sample_weight = sample_weight
        self.func = func
        self._split = getattr(predictor, "split", None)
        self.importances = np.full((len(self.metrics), n_labels, n_repeats), np.nan)
        self.baseline_scores = None
        self.donors = donors
        self._sums = [None] * len(self.metrics)
        self._baseline_values = [None] * len(self.metrics)
        self._why_no_se = [None] * len(self.metrics)
        self._n_labels = n_labels

    def responses(self, predictions):
        """Each metric's predictions (its response of a classifier; for other models all the same)."""
        if self._split is None:
            return [predictions] * len(self.metrics)
        return self._split(predictions)

    def check(self, predictions, *, partial=False):
        """:func:`~seqimp.metrics.check_target` for every metric; ``partial`` on leading rows only."""
        y = self.y[: len(predictions)]
        for metric, response in zip(self.metrics, self.responses(predictions)):
            check_target(metric, y, response, self.func, partial=partial)

    def scores(self, predictions):
        return [metric(self.y, response, self.sample_weight, func=self.func)
                for metric, response in zip(self.metrics, self.responses(predictions))]

    def _start_effects(self, baseline_predictions):
        """Per-sample values of every metric on the baseline; a metric without them gets a reason."""
        for i, (metric, response) in enumerate(zip(self.metrics, self.responses(baseline_predictions))):
            if metric.per_sample is None:
                self._why_no_se[i] = (f"the metric {metric.name!r} is not a mean over samples and seqimp "
                                      f"knows no per-sample linearisation of it. Metrics with standard errors: "
                                      f"'mae', 'mse', 'rmse', 'r2', 'log_loss', 'accuracy', 'auc' (and "
                                      f"scikit-learn's scorers of them), or a seqimp.metrics.Metric with "
                                      f"per_sample=.")
                continue
            try:
                values = self._values(metric, response)
            except NotImplementedError as exc:
                self._why_no_se[i] = f"the metric {metric.name!r} has no per-sample values here: {exc}."
                continue
            # Checked against the metric, but not shifted: a task whose predictions do not change then
            # has effects of exactly 0.
            matched(values, self.baseline_scores[i], f"The metric {metric.name!r}")
            self._baseline_values[i] = values
            self._sums[i] = EffectSums(len(self.y), self._n_labels, donors=self.donors is not None,
                                       donates_once=getattr(self.donors, "donates_once", False))
        if self.donors is not None and all(sums is None for sums in self._sums):
            self.donors.stop()  # the transform keeps no donors nobody will ask for
            self.donors = None

    def _values(self, metric, response):
        values = np.asarray(metric.per_sample(self.y, response, self.sample_weight), dtype=np.float64)
        if values.shape != (len(self.y),) or not np.isfinite(values.sum()):
            raise ValueError(f"The metric {metric.name!r}: per_sample must return {len(self.y)} finite "
                             f"values, one per sample; got shape {values.shape}.")
        return values

    def __call__(self, baseline_predictions, predictions, label_index, repeat):
        if self.baseline_scores is None:
            self.check(baseline_predictions)
            self.baseline_scores = self.scores(baseline_predictions)
            self._start_effects(baseline_predictions)
        donors = None
        for i, (metric, response, score) in enumerate(zip(self.metrics, self.responses(predictions),
                                                          self.scores(predictions))):
            importance = metric.worsening(self.baseline_scores[i], score)
            self.importances[i, label_index, repeat] = importance
            if self._sums[i] is not None:
                if donors is None and self.donors is not None:
                    donors = self.donors(label_index, repeat)
                effects = metric.worsening(self._baseline_values[i], self._values(metric, response))
                self._sums[i].add(label_index, matched(effects, importance, f"The metric {metric.name!r}"),
                                  donors)
        return self.importances[0, label_index, repeat]

    def inference(self, i):
        """Metric i's ``ImportanceResult.inference``."""
        if self._sums[i] is None:
            return {"why_no_se": self._why_no_se[i] or "no task was scored."}
        return self._sums[i].inference(self.importances[i], covers=COVERS_PERMUTATION)
