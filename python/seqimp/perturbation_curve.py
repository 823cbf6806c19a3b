"""Input perturbation curves (the "perturb" method reviewed by Gevrey et al. 2003): the change in a metric
against ``y`` as white noise of growing size, 10% to 50% by default, is added to one input at a time.

Every (label, level) pair is one task of the chunked engine. The noise of label j and repeat r is the same
standard-normal draw at every level, scaled by the level (common random numbers: the curve moves with
the size of the noise alone), and it is the very draw :func:`seqimp.perturbation_importance` makes for
label j and repeat r with the same ``random_state``, so the frame's ``prediction_change`` at a level is
that function's importance with ``scale=level, scale_by_std=True``.
"""

from __future__ import annotations

import numpy as np

from . import checks, engine
from .errors import SeqimpTypeError, SeqimpValueError, Value
from .inputs import as_target
from .metrics import get_metric
from .preamble import prepare
from .task_scoring import Scoring, metrics_predictor
from .transforms import AdditiveNoise


_FUNC = "perturbation_curve"
RELATIVE_TO = ("spread", "value")
DEFAULT_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5)


class _Task:
    """One (label, level) pair; ``index`` is the label's position, which seeds its noise."""

    def __init__(self, label, index, level_index, level):
        self.label, self.index, self.level_index, self.level = label, index, level_index, level
        self.parts = label.parts

    @property
    def name(self):
        return self.label.name


class _ProportionalNoise(AdditiveNoise):
    """``x += level * x * e``: noise proportional to each value (``relative_to="value"``)."""

    def apply(self, outs, i0, i1, label, seed):
        before = [outs[b][:, cells].copy() for b, cells in label.parts]
        super().apply(outs, i0, i1, label, seed)  # x + level * e ...
        for (b, cells), x in zip(label.parts, before):
            outs[b][:, cells] = x + (outs[b][:, cells] - x) * x  # ... then x + level * x * e


class _Curve(engine.Transform):
    """One transform per level; a task's noise is seeded by (its label, the repeat), not by its level."""

    writes_fractions = True

    def __init__(self, data, per_level, root):
        super().__init__(data)
        self.per_level, self.root = per_level, root

    def start(self, task, seed):
        repeat = seed.spawn_key[-1]
        return engine.task_seed(self.root, task.index, repeat)

    def apply(self, outs, i0, i1, task, seed):
        self.per_level[task.level_index].apply(outs, i0, i1, task.label, seed)


def _check_levels(levels):
    expected = "a non-empty list of noise sizes, each a finite float > 0 (fractions: 0.1 is 10%)"
    try:
        values = [float(v) for v in np.atleast_1d(np.asarray(levels, dtype=object))]
    except (TypeError, ValueError):
        checks.fail("levels", _FUNC, expected, levels, TypeError)
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        checks.fail("levels", _FUNC, expected, levels)
    return values


def perturbation_curve(model, X, y, *, levels=DEFAULT_LEVELS, relative_to="spread", metric="mse", n_repeats=5,
                       groups=None, feature_names=None, output=None, mask=None, mask_value=None, batch_size=None,
                       random_state=None, progress=None):
    """Input perturbation curves: how much worse the model gets as noise of growing size is added to one input.

    For every input (feature or group) and every level, Gaussian white noise is added to that input's
    real cells, the model is scored against ``y``, and the worsening of the metric is recorded (the
    "perturb" method of Scardi & Harding 1999 as reviewed by Gevrey et al. 2003, who add 10% to 50%
    noise to one input and follow the mean squared error). The same run also records how much the
    predictions themselves move (root mean square), which is :func:`perturbation_importance`'s number.

    Parameters
    ----------
    model : Keras model, callable or object with ``.predict``
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        Categorical features are refused (noise has no meaning on a category).
    y : array-like of shape (n_samples,) or (n_samples, ...)
        True targets, as in :func:`permutation_importance`.
    levels : sequence of float, default=(0.1, 0.2, 0.3, 0.4, 0.5)
        Sizes of the noise, as fractions (0.1 is 10%).
    relative_to : {"spread", "value"}, default="spread"
        "spread": the noise's standard deviation is ``level`` times the input's standard deviation over
        samples and real timesteps (``x + level * sd * e``), so every input gets the same
        signal-to-noise ratio whatever its units or offset. "value": the noise is proportional to each
        value, ``x * (1 + level * e)`` (a value of 0 is never moved). Gevrey et al. (2003) speak of
        perturbations of 10% to 50% of the input; the parts of their text we could read do not say
        which of the two they meant, so both are offered.
    metric : str, scorer, callable or Metric, default="mse"
        One metric, as in :func:`permutation_importance`.
    n_repeats : int, default=5
        Independent noise draws per input and level (the same draws at every level, scaled).
    groups : dict, default=None
        ``{name: [feature names or indices]}``: noise added to the members together.
    feature_names, output, mask, mask_value, batch_size, progress
        As in :func:`permutation_importance`; padded cells never get noise.
    random_state : int, Generator, SeedSequence or None, default=None
        Seeds the noise: label j's repeat r draws what :func:`perturbation_importance` draws for it.

    Returns
    -------
    pandas.DataFrame
        One row per (label, level), labels in order, levels ascending within each: ``feature``,
        ``level``, ``importance`` (mean over repeats of the metric's worsening, positive = worse),
        ``std`` (its standard deviation over repeats), ``score`` (the mean metric with the noise) and
        ``prediction_change`` (mean root-mean-square change of the predictions). ``frame.attrs``
        holds ``metric``, ``baseline_score``, ``relative_to`` and ``n_repeats``. Plot it with
        :func:`plot_perturbation_curve`.

    References
    ----------
    .. [1] Scardi and Harding (1999), "Developing an empirical model of phytoplankton primary production:
       a neural network case study", Ecological Modelling 120, 213-223.
    .. [2] Gevrey, Dimopoulos and Lek (2003), Ecological Modelling 160, 249-264.

    Examples
    --------
    >>> import numpy as np, seqimp
    >>> X = np.random.default_rng(0).normal(size=(500, 8, 2))
    >>> model = lambda x: 2.0 * x[:, :, 0].sum(axis=1)
    >>> frame = seqimp.perturbation_curve(model, X, model(X), levels=[0.1, 0.5], random_state=0)
    >>> frame[["feature", "level"]].values.tolist()
    [['x1', 0.1], ['x1', 0.5], ['x2', 0.1], ['x2', 0.5]]
    >>> bool(frame["importance"].iloc[1] > frame["importance"].iloc[0] > 0), float(frame["importance"].iloc[3])
    (True, 0.0)
    """
    levels = _check_levels(levels)
    relative_to = checks.check_option(relative_to, "relative_to", _FUNC, RELATIVE_TO)
    named = [(None, get_metric(metric, _FUNC))]
    n_repeats = checks.check_int(n_repeats, "n_repeats", _FUNC)
    call = prepare(_FUNC, model, X, make_predictor=lambda model, spec: metrics_predictor(
                       model, named, output, _FUNC, spec=spec),
                   responses=[m.request for _, m in named], groups=groups, feature_names=feature_names,
                   mask=mask, mask_value=mask_value, random_state=random_state, progress=progress,
                   batch_size=batch_size, output=output, y=y)
    data, labels = call.data, call.labels
    _refuse_categorical(data)
    y = as_target(call.given["y"], data.n_samples, func=_FUNC, data=data)
    order = np.argsort(levels, kind="stable")
    tasks = [_Task(label, j, k, levels[k]) for j, label in enumerate(labels) for k in order]
    if relative_to == "spread":
        per_level = [AdditiveNoise(data, [level * block.feature_std() for block in data.blocks], "gaussian")
                     for level in levels]
    else:
        per_level = [_ProportionalNoise(data, level, "gaussian") for level in levels]
    scoring = Scoring(named, y, None, call.predictor, len(tasks), n_repeats, _FUNC)
    moved = np.empty((len(tasks), n_repeats))

    def score(unperturbed, predictions, t, repeat):
        moved[t, repeat] = np.sqrt(np.mean((np.asarray(predictions, np.float64) - unperturbed) ** 2))
        return scoring(unperturbed, predictions, t, repeat)

    call.run(_Curve(data, per_level, call.root_seed), labels=tasks, n_repeats=n_repeats, score=score,
             describe_task=lambda task: f"when noise of {task.level:g} was added to {task.label.name!r}")
    return _frame(tasks, scoring, moved, named[0][1], relative_to, n_repeats)


def _refuse_categorical(data):
    names = [data.feature_names[j] for j in data.categorical_features]
    if names:
        raise SeqimpTypeError("{function} adds noise to an input, and {X} has categorical features {names} (named, "
                              "non-numeric or boolean columns, or token ids), which take no noise. Use "
                              "permutation_importance for them.", argument="X", function=_FUNC,
                              names=Value(names))


def _frame(tasks, scoring, moved, metric, relative_to, n_repeats):
    import pandas as pd

    worsening = scoring.importances[0]
    sign = -1.0 if metric.greater_is_better else 1.0
    frame = pd.DataFrame({
        "feature": [task.label.name for task in tasks],
        "level": [task.level for task in tasks],
        "importance": worsening.mean(axis=1),
        "std": worsening.std(axis=1),
        "score": scoring.baseline_scores[0] + sign * worsening.mean(axis=1),
        "prediction_change": moved.mean(axis=1),
    })
    frame.attrs.update(metric=metric.name, baseline_score=float(scoring.baseline_scores[0]),
                       relative_to=relative_to, n_repeats=n_repeats)
    return frame


def plot_perturbation_curve(frame, ax=None, *, column="importance", title=None):
    """One line per input: ``column`` (the metric's worsening by default) against the noise level.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`perturbation_curve`.
    ax : matplotlib Axes, default=None
    column : {"importance", "score", "prediction_change"}, default="importance"
    title : str, default=None

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    missing = {"feature", "level", "importance", "std", "score", "prediction_change"} - set(frame.columns)
    if missing:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be the frame perturbation_curve "
                               "returns; it lacks the columns {missing}.", argument="frame",
                               function="plot_perturbation_curve", missing=Value(sorted(missing)))
    column = checks.check_option(column, "column", "plot_perturbation_curve",
                                 ("importance", "score", "prediction_change"))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    for feature in dict.fromkeys(frame["feature"]):
        part = frame[frame["feature"] == feature]
        x = 100.0 * part["level"].to_numpy()
        ax.plot(x, part[column], marker="o", label=str(feature))
        if column == "importance":
            ax.fill_between(x, part[column] - part["std"], part[column] + part["std"], alpha=0.15)
    metric = frame.attrs.get("metric", "metric")
    relative = frame.attrs.get("relative_to", "spread")
    ax.set_xlabel(f"noise (% of each input's {'standard deviation' if relative == 'spread' else 'value'})")
    ax.set_ylabel({"importance": f"rise in {metric}", "score": metric,
                   "prediction_change": "RMS change of the predictions"}[column])
    ax.legend(fontsize="small")
    ax.set_title(title or "Input perturbation curves")
    ax.figure.tight_layout()
    return ax
