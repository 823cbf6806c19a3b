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

from .errors import Keyword, Phrase, Position, Raised, SeqimpValueError, Shape, Value, Words, join, text
from .adapters import as_predictor
from .effects import COVERS_PERMUTATION, EffectSums, matched
from .inputs import as_target
from .metrics import check_target
from .outputs import select_predictions
from .sample_scores import NoSampleValues

# seqimp's named metrics with per-sample values (seqimp.sample_scores), as a metric without them says.
_WITH_SAMPLE_VALUES = ("mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc")


def _the_metric(metric):
    """A metric as messages name it: "The metric 'rmse'"."""
    return text("The metric {name}", name=Value(metric.name))


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
    metrics on the unperturbed predictions (each result's ``baseline_score``). ``donors(label, repeat)``
    gives the task's donor rows (n,), or None where no values move between rows. ``covers`` says what
    the standard errors cover (``inference["covers"]``; marginal permutation's by default).
    """

    def __init__(self, named_metrics, y, sample_weight, predictor, n_labels, n_repeats, func, donors=None,
                 covers=COVERS_PERMUTATION):
        self.metrics = [metric for _, metric in named_metrics]
        self.y = y
        self.sample_weight = sample_weight
        self.func = func
        self._split = getattr(predictor, "split", None)
        self.importances = np.full((len(self.metrics), n_labels, n_repeats), np.nan)
        self.baseline_scores = None
        self.donors = donors
        self._sums = [None] * len(self.metrics)
        self._unperturbed_values = [None] * len(self.metrics)
        self._why_no_se = [None] * len(self.metrics)
        self._n_labels = n_labels
        self.covers = covers

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

    def _start_effects(self, unperturbed):
        """Per-sample values of every metric on the unperturbed predictions; a metric without them gets a
        reason."""
        for i, (metric, response) in enumerate(zip(self.metrics, self.responses(unperturbed))):
            if metric.per_sample is None:
                self._why_no_se[i] = Phrase(text(
                    "the metric {name} is not a mean over samples and seqimp knows no per-sample linearisation "
                    "of it. Metrics with standard errors: {names} (and scikit-learn's scorers of them){custom}.",
                    name=Value(metric.name), names=join(Value(m) for m in _WITH_SAMPLE_VALUES),
                    custom=Words(", or a seqimp.metrics.Metric with per_sample=", "")))
                continue
            try:
                values = self._values(metric, response)
            except NoSampleValues as exc:
                self._why_no_se[i] = Phrase(text("the metric {name} has no per-sample values here: {why}.",
                                                 name=Value(metric.name), why=Raised(exc, typed=False, sentence=True)))
                continue
            # Checked against the metric, but not shifted: a task whose predictions do not change then
            # has effects of exactly 0.
            matched(values, self.baseline_scores[i], _the_metric(metric))
            self._unperturbed_values[i] = values
            self._sums[i] = EffectSums(len(self.y), self._n_labels, donors=self.donors is not None,
                                       donates_once=getattr(self.donors, "donates_once", False))
        if self.donors is not None and all(sums is None for sums in self._sums):
            self.donors.stop()  # the transform keeps no donors nobody will ask for
            self.donors = None

    def _values(self, metric, response):
        values = np.asarray(metric.per_sample(self.y, response, self.sample_weight), dtype=np.float64)
        if values.shape != (len(self.y),) or not np.isfinite(values.sum()):
            raise SeqimpValueError("{what}: per_sample must return {n} finite values, one per sample; got {got}.",
                                   what=_the_metric(metric), n=len(self.y), got=Shape(values.shape))
        return values

    def __call__(self, unperturbed, predictions, label_index, repeat):
        if self.baseline_scores is None:
            self.check(unperturbed)
            self.baseline_scores = self.scores(unperturbed)
            self._start_effects(unperturbed)
        donors = None
        for i, (metric, response, score) in enumerate(zip(self.metrics, self.responses(predictions),
                                                          self.scores(predictions))):
            importance = metric.worsening(self.baseline_scores[i], score)
            self.importances[i, label_index, repeat] = importance
            if self._sums[i] is not None:
                if donors is None and self.donors is not None:
                    donors = self.donors(label_index, repeat)
                effects = metric.worsening(self._unperturbed_values[i], self._values(metric, response))
                self._sums[i].add(label_index, matched(effects, importance, _the_metric(metric)), donors)
        return self.importances[0, label_index, repeat]

    def inference(self, i):
        """Metric i's ``ImportanceResult.inference``."""
        if self._sums[i] is None:
            return {"why_no_se": self._why_no_se[i] or "no task was scored."}
        return self._sums[i].inference(self.importances[i], covers=self.covers)
