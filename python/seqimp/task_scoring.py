"""One call's metrics against one ``y``: the model asked for what they score, the weights checked, and
every task scored by every metric in the same pass.

:func:`metrics_predictor` wraps the model so that each chunk carries every response the metrics need
(a classifier's ``predict_proba`` and ``predict``, say, each called once per chunk). :class:`Scoring`
is the engine's ``score`` hook: it scores the baseline once, then each (label, repeat) task with
every metric on the same permuted predictions, and keeps one importance matrix per metric.
"""

from __future__ import annotations

import numpy as np

from .errors import Keyword, Position, SeqimpValueError, Shape, Value, text
from .adapters import as_predictor
from .inputs import as_target
from .metrics import check_target
from .outputs import select_predictions


def metrics_predictor(model, named_metrics, output, func, spec=None):
    """The model as a predictor that gives every response the metrics score, with ``output`` applied
    (``spec``: the model's ModelSpec, when it was read already)."""
    predictor = as_predictor(model, func=func, responses=[metric.request for _, metric in named_metrics],
                             spec=spec)
    if output is not None and getattr(predictor, "methods", ["predict"]) != ["predict"]:
        methods = getattr(predictor, "methods")
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {None} when the metric scores the "
                               "classifier's {methods}: the metric then decides what is scored (for a binary "
                               "classifier, the positive class). Got {got}.", argument="output", function=func,
                               methods=" and ".join(methods), got=Value(output))
    return select_predictions(predictor, output, func)


def check_sample_weight(sample_weight, n_samples, named_metrics, func):
    """``sample_weight`` as a float64 array of shape (n_samples,): finite, >= 0, not all zero, and taken
    by every metric. None stays None."""
    if sample_weight is None:
        return None
    w = as_target(sample_weight, n_samples, func=func, name="sample_weight")
    if w.ndim != 1:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be a 1-D array of {expected}, one "
                               "weight per sample of {X}. Got {got} instead.", argument="sample_weight",
                               function=func, expected=Shape((n_samples,)), got=Shape(w.shape))
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must hold weights >= 0. Got {got:g} for "
                               "sample {sample} instead.", argument="sample_weight", function=func,
                               got=float(w[i]), sample=Position(i))
    check_weight_total(w, func)
    refusing = [name or metric.name for name, metric in named_metrics if not metric.accepts_sample_weight]
    if refusing:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} cannot be used with the metric {name}: its "
                               "function takes no sample_weight. Drop sample_weight, use a metric that takes it "
                               "(seqimp's and most of scikit-learn's do; a Python function takes it with a "
                               "{keyword} parameter).", argument="sample_weight", function=func,
                               name=Value(refusing[0]), keyword=Keyword("sample_weight", None))
    return w


def check_weight_total(w, func, after=""):
    """Refuse weights that are all zero (``after``: the step that left them so, e.g. max_samples)."""
    if w is not None and not w.sum() > 0:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must not be all zero{after}: the metric "
                               "would weigh no sample.", argument="sample_weight", function=func, after=after)


class Scoring:
    """The engine's ``score`` hook for several metrics scored in one pass.

    ``importances[i]`` is metric i's (n_labels, n_repeats) matrix, oriented so that positive is worse;
    called as ``score(unperturbed, predictions, label, repeat)`` it fills every metric's entry and
    returns the first metric's, which the engine stores as its own scores. ``baseline_scores`` are the
    metrics on the unperturbed predictions (each result's ``baseline_score``).
    """

    def __init__(self, named_metrics, y, sample_weight, predictor, n_labels, n_repeats, func):
        self.metrics = [metric for _, metric in named_metrics]
        self.y = y
        self.sample_weight = sample_weight
        self.func = func
        self._split = getattr(predictor, "split", None)
        self.importances = np.full((len(self.metrics), n_labels, n_repeats), np.nan)
        self.baseline_scores = None

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

    def __call__(self, unperturbed, predictions, label_index, repeat):
        if self.baseline_scores is None:
            self.check(unperturbed)
            self.baseline_scores = self.scores(unperturbed)
        for i, (metric, score) in enumerate(zip(self.metrics, self.scores(predictions))):
            self.importances[i, label_index, repeat] = metric.worsening(self.baseline_scores[i], score)
        return self.importances[0, label_index, repeat]
