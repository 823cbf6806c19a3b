"""Improved stepwise selection 1 and 2 (Gevrey, Dimopoulos & Lek 2003): backward elimination on the
trained model, without retraining.

Each step neutralises every remaining input in turn, on top of the inputs already neutralised, scores
the model against ``y``, and neutralises for good the one whose loss hurts least. Variant 1 removes the
input's connection weights (fed 0, which equals zeroing its rows of the first layer's kernel where that
layer reads the input through a kernel: :mod:`seqimp.adapters.input_kernels` checks it); variant 2 holds
the input at its mean over real cells. Every candidate is one task of the chunked engine (a
:class:`~seqimp.transforms.Constant` copy of X), so a step costs one forward pass per remaining input.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import checks
from .adapters.input_kernels import check_inputs_read_linearly
from .errors import Keyword, Phrase, SeqimpTypeError, Value, text
from .inputs import as_target
from .labels import Label
from .metrics import get_metric
from .preamble import finish, prepare
from .task_scoring import Scoring, metrics_predictor
from .transforms import Constant

_FUNC = "improved_stepwise_importance"
VARIANTS = (1, 2)
_NEUTRALISED = {1: "connection weights removed (fed 0)", 2: "held at its mean over real cells"}


def _check_variant(variant):
    if isinstance(variant, numbers.Real) and not isinstance(variant, (bool, np.bool_)) and variant in VARIANTS:
        return int(variant)
    checks.fail("variant", _FUNC, "1 (connection weights removed) or 2 (input held at its mean)", variant,
                TypeError if not isinstance(variant, numbers.Real) else ValueError)


def _refuse_categorical(data, variant):
    names = [data.feature_names[j] for j in data.categorical_features]
    if names:
        raise SeqimpTypeError("{function} with {variant} neutralises an input by setting it to a number (it is "
                              "{what}), and {X} has categorical features {names} (named in categorical_features, "
                              "non-numeric or boolean columns, or token ids), which have no such value. Encode "
                              "them as numbers the model reads linearly, or use permutation_importance.",
                              argument="X", function=_FUNC, variant=Keyword("variant", variant),
                              what="fed 0" if variant == 1 else "held at its mean", names=Value(names))


def _make_predictor(named, output, variant):
    """The call's predictor; variant 1 first checks that the model reads every input through a kernel."""
    def make(model, spec):
        if variant == 1:
            check_inputs_read_linearly(model, _FUNC)
        return metrics_predictor(model, named, output, _FUNC, spec=spec)
    return make


# Improved stepwise selection walks one fitted model's path deterministically: nothing is sampled.
_NO_SE = Phrase(text("improved stepwise selection follows one deterministic path on one fitted model and one data "
                     "set: nothing is resampled, so there is no standard error. For p-values, use "
                     "randomization_test with {method}; for the data's uncertainty, permutation_importance.",
                     method=Keyword("method", "improved_stepwise")))


def _union(labels, members, name):
    """One label over the cells of ``labels[members]``: the inputs neutralised together in one candidate."""
    parts = {}
    for j in members:
        for b, cells in labels[j].parts:
            parts[b] = cells | parts[b] if b in parts else cells.copy()
    features = tuple(sorted({f for j in members for f in labels[j].features.tolist()}))
    return Label(name, name, None, tuple(sorted(parts.items(), key=lambda item: item[0])), features)


def improved_stepwise_importance(model, X, y, *, variant=1, metric="mse", groups=None, feature_names=None,
                                 output=None, mask=None, mask_value=None, batch_size=None, progress=None):
    """Improved stepwise selection 1 or 2 (Gevrey et al. 2003): backward elimination on the trained model.

    Starting from the model with every input, each step neutralises each remaining input in turn (the
    ones removed earlier stay neutralised), scores the model against ``y``, and removes for good the
    input whose neutralisation raises the error least. The input removed last ranks first. Nothing is
    retrained: this is the trained-network counterpart of :func:`stepwise_importance`.

    - ``variant=1`` ("improved stepwise a"): the input's connection weights are removed, that is its
      rows of the kernel of the first layer reading it are set to 0. That equals feeding the input 0
      wherever that layer reads the input through a kernel product (Dense, Conv1D, SimpleRNN, LSTM,
      GRU, also after Dropout, Flatten, Reshape or Concatenate), which is how it is computed; any other
      layer between the input and its kernel (Normalization, Embedding, a Lambda, Masking with
      mask_value 0) is refused with an error. Biases stay, as in the method.
    - ``variant=2`` ("improved stepwise b"): the input is held at its mean over samples and real
      timesteps, on real cells only. Works for any model seqimp can call.

    Parameters
    ----------
    model : Keras model, callable or object with ``.predict``
        The trained model (variant 1: a Keras model, see above). It is never fitted.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        As in :func:`permutation_importance`. Categorical features are refused (a category has no 0
        or mean).
    y : array-like of shape (n_samples,) or (n_samples, ...)
        True targets, as in :func:`permutation_importance`.
    variant : {1, 2}, default=1
    metric : str, scorer, callable or Metric, default="mse"
        One metric, as in :func:`permutation_importance` (Gevrey et al. use the mean squared error).
    groups : dict, default=None
        ``{name: [feature names or indices]}`` neutralised together: one row per group (features in
        no group are not neutralised).
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        Which prediction is scored against ``y``, as in :func:`permutation_importance`.
    mask, mask_value : default=None
        Padded sequences, as in :func:`permutation_importance`: padded cells are never changed and the
        means of variant 2 are over real cells.
    batch_size : int, default=None
        Rows per forward call. Results do not depend on it.
    progress : None, bool or callable, default=None
        A progress bar over the rows of each step, as in :func:`permutation_importance`.

    Returns
    -------
    ImportanceResult
        ``importances`` of shape (n_labels, 1): the rise of the metric (oriented so that worse is
        positive) at the step that removed the label, so in label order they add up to the metric with
        every input neutralised minus ``baseline_score``. ``extra`` holds ``"rank"`` (ndarray
        (n_labels,), 1 = most important, removed last), ``"order"`` (label names in the order they were
        removed), ``"path"`` (one dict per step: ``step``, ``feature``, ``action`` ("removed"),
        ``n_active``, ``score`` (the metric after the step) and ``candidates`` (the metric with each
        candidate neutralised)), and ``"n_forward_passes"``, as :func:`stepwise_importance` reports.

    Notes
    -----
    The cost is n_labels x (n_labels + 1) / 2 forward passes over X, plus one per step for the
    unperturbed predictions. Ties go to the label listed first. Unlike Gevrey et al., who read the
    contributions off the error of each step on the whole path, seqimp reports each input's own step
    (the same numbers; the path is in ``extra``). Gevrey et al. state no rule for holding an input at
    its mean on sequences: seqimp uses the mean over samples and real timesteps, as
    :func:`perturbation_importance` does for ``noise="mean"``.

    References
    ----------
    .. [1] Gevrey, Dimopoulos and Lek (2003), "Review and comparison of methods to study the
       contribution of variables in artificial neural network models", Ecological Modelling 160,
       249-264.
    .. [2] Olden, Joy and Death (2004), Ecological Modelling 178, 389-397.

    Examples
    --------
    A linear network y = 3 a + 1 b + 0 c with inputs of unit spread: c is removed first, then b.

    >>> import numpy as np, keras, seqimp
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.set_weights([np.array([[3.0], [1.0], [0.0]]), np.zeros(1)])
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> r = seqimp.improved_stepwise_importance(model, X, X @ [3.0, 1.0, 0.0], variant=1,
    ...                                         feature_names=["a", "b", "c"])
    >>> r.extra["order"], r.extra["rank"].tolist()
    (['c', 'b', 'a'], [1, 2, 3])
    """
    variant = _check_variant(variant)
    named = [(None, get_metric(metric, _FUNC))]
    call = prepare(_FUNC, model, X, make_predictor=_make_predictor(named, output, variant),
                   responses=[m.request for _, m in named], groups=groups, feature_names=feature_names,
                   mask=mask, mask_value=mask_value, progress=progress, batch_size=batch_size, output=output,
                   y=y)
    data, labels = call.data, call.labels
    _refuse_categorical(data, variant)
    y = as_target(call.given["y"], data.n_samples, func=_FUNC, data=data)
    values = 0.0 if variant == 1 else [block.feature_mean() for block in data.blocks]
    walk = _Walk(call, Constant(data, values), Scoring(named, y, None, call.predictor, 1, 1, _FUNC))
    contributions, order, path = walk.run()
    metric_used = named[0][1]
    params = {"variant": variant, "neutralised": _NEUTRALISED[variant],
              "greater_is_better": metric_used.greater_is_better}
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels), 0, -1)
    return finish(call, method=f"improved_stepwise_{variant}", importances=contributions[:, np.newaxis],
                  metric=metric_used.name, params=params, baseline_score=walk.baseline_score,
                  extra={"rank": rank, "order": [labels[j].name for j in order], "path": path,
                         "n_forward_passes": walk.n_passes},
                  inference={"why_no_se": _NO_SE})


class _Walk:
    """The backward path: one engine run per step, one task per remaining label."""

    def __init__(self, call, transform, scoring):
        self.call, self.labels = call, call.labels
        self.transform, self.scoring = transform, scoring
        self.metric = scoring.metrics[0]
        self.baseline_score = None
        self.n_passes = 0

    def _score(self, baseline, predictions, j, repeat):
        if self.baseline_score is None:
            self.scoring.check(baseline)
            self.baseline_score = float(self.scoring.scores(baseline)[0])
        return self.scoring.scores(predictions)[0]

    def _step_scores(self, removed, movable):
        candidates = [_union(self.labels, removed + [j], self.labels[j].name) for j in movable]
        out = self.call.run(self.transform, labels=candidates, score=self._score,
                            describe_task=_describe_candidate(self.labels, removed))
        self.n_passes += len(candidates) + 1
        return out.scores[:, 0]

    def run(self):
        L = len(self.labels)
        contributions = np.zeros(L)
        removed, path, current = [], [], None
        while len(removed) < L:
            movable = [j for j in range(L) if j not in removed]
            scores = self._step_scores(removed, movable)
            current = self.baseline_score if current is None else current
            change = np.array([self.metric.worsening(current, s) for s in scores])
            pick = int(np.argmin(change))
            j = movable[pick]
            contributions[j] = change[pick]
            removed.append(j)
            path.append({"step": len(removed), "feature": self.labels[j].name, "action": "removed",
                         "n_active": L - len(removed), "score": float(scores[pick]),
                         "candidates": {self.labels[c].name: float(scores[i]) for i, c in enumerate(movable)}})
            current = float(scores[pick])
        return contributions, removed, path


def _describe_candidate(labels, removed):
    before = [labels[j].name for j in removed]
    suffix = f" (with {before} already removed)" if before else ""
    return lambda label: f"when {label.name!r} was neutralised{suffix}"
