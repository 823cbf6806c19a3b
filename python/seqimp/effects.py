"""Per-sample effects of perturbation and permutation, and the standard error they give.

An importance of these methods is a mean over the rows of X of per-sample effects: the change of a
row's loss (permutation, for a metric that is a mean over samples), a linearised share of a metric
that is not (RMSE, R², ROC AUC: :mod:`seqimp.sample_scores`), or the size of a row's change of
prediction (perturbation). Where a row's new values come from another row (permutation, "swap"), its
effect depends on that donor as well as on itself, so the importance is a two-sample U-statistic over
(row, donor) pairs, and a standard error that treats the rows' effects as independent under-covers.

:class:`EffectSums` keeps, per label, each row's sum of effects as the changed row and as the donor,
and how often it donated (memory n x labels, whatever the number of repeats), plus the sum of squares
of every effect. With d(i, r) the effect of row i in repeat r, h1 and h2 the row and donor parts of the
kernel and σ² its residual variance, the variance of the importance is, to first order,

    n Var = Var(h1 + h2) + σ² / R              (a permutation of the rows in each repeat)
    n Var = Var(h1 + h2) + (Var h2 + σ²) / R   (a donor drawn independently for each row: "swap")

and both equal, in expectation, ``Var_k(c_k) - Var(d) / R``, where c_k is row k's summed effect as
the changed row plus as a donor (centred; over R) and Var(d) the variance of single effects: the
donor sums' own noise is what Var(d) / R removes. Transforms without donors (noise, a constant) make
rows independent: ``n Var = Var_k(mean_r d(k, r))``. Under a mask a row may take late steps from a
second donor (see :class:`seqimp.transforms.Resample`); its effect is then shared among its donors in
proportion to the real cells each gave (exact for a timestep or a cell, which has one donor per row).

Values drawn from a sampler fitted on X (conditional permutation's Gaussian) come from no donor, but
every row moved the fit a little: a task then hands over :class:`FittedDraws`, whose ``influence(d)``
is each row's first-order effect on the importance through the fit, ψ_k; it is added to the row's own
sum, ``n Var = Var_k(mean_r (d(k, r) + ψ_k(r)))``, as an influence function adds to a mean.
"""

from __future__ import annotations

import numpy as np

from . import engine
from .errors import Keyword, Phrase, SeqimpValueError, Value, text
from .inference import NON_NEGATIVE, no_spread

# Per-sample values may differ from the metric's own number by round-off (float32 predictions, another
# order of summation); beyond this (relative) they are a wrong linearisation, and that is an error.
_TOLERANCE = 1e-5


def matched(effects, importance, what):
    """``effects`` shifted so that their mean is ``importance`` exactly (the metric's own number).

    A gap beyond round-off means the per-sample values do not describe the metric: an error naming
    ``what`` (a :func:`seqimp.errors.text` phrase, "The metric 'rmse'"), never a silently wrong standard
    error.
    """
    importance = float(importance)
    gap = importance - float(effects.sum()) / len(effects)
    if gap == 0.0:
        return effects
    if abs(gap) > _TOLERANCE * max(1.0, abs(importance)) and \
            abs(gap) > _TOLERANCE * float(np.abs(effects).sum()) / len(effects):
        raise SeqimpValueError("{what}: its per-sample values average to {mean:.10g}, but the metric gives "
                               "{importance:.10g}. Per-sample values must average to the metric (weighted by "
                               "sample_weight where there is one).", what=what, mean=importance - gap,
                               importance=importance)
    return effects + gap


class FittedDraws:
    """What a task of a transform that draws from a sampler fitted on X hands to :class:`EffectSums`:
    its ``donors`` (as :meth:`seqimp.engine.Transform.donors` gives them; None where values come from
    no other row), and ``influence(effects) -> (n,)``, each row's first-order effect on the task's
    importance through the fitted sampler, given the task's per-sample ``effects``."""

    def __init__(self, donors, influence):
        self.donors = donors
        self.influence = influence


class EffectSums:
    """Sums of per-sample effects, per label, and the standard error of their mean.

    Parameters
    ----------
    n_samples, n_labels : int
    donors : bool
        Whether the tasks' rows take values from donor rows (permutation, swap): then each effect is
        filed under its donor too, and the standard error counts both sides.
    donates_once : bool, default=False
        Every row donates to exactly one row per task (a permutation): its uses need no counting.
    """

    def __init__(self, n_samples, n_labels, *, donors, donates_once=False):
        self.n = int(n_samples)
        self.rows = np.zeros((n_labels, self.n))
        self.given = np.zeros((n_labels, self.n)) if donors else None
        self.uses = np.zeros((n_labels, self.n)) if donors and not donates_once else None
        # Per label: whether its tasks had donors (a label of numeric features has none where only
        # categorical ones are swapped).
        self.with_donors = np.zeros(n_labels, dtype=bool)
        self.squares = np.zeros(n_labels)
        self.repeats = np.zeros(n_labels, dtype=np.int64)
        # Per label, each row's summed influence through a fitted sampler (FittedDraws); None: no sampler.
        self.fitted = None

    def add(self, j, effects, donors=None):
        """File repeat effects (n,) of label ``j``; ``donors`` (n,): row i's values came from donors[i]
        (None: from no other row), or (rows, donors, weights): row rows[m] took the share weights[m]
        of its values from donors[m] (padded sequences, where a row's steps may come from several)."""
        effects = np.asarray(effects, dtype=np.float64)
        self.rows[j] += effects
        self.squares[j] += float(effects @ effects)
        self.repeats[j] += 1
        if isinstance(donors, FittedDraws):
            if self.fitted is None:
                self.fitted = np.zeros_like(self.rows)
            self.fitted[j] += donors.influence(effects)
            donors = donors.donors
        if donors is None:
            return
        self.with_donors[j] = True
        if isinstance(donors, tuple):  # (rows, donors, weights): several donors per row
            rows, donors, weights = donors
            self.given[j] += np.bincount(donors, weights=effects[rows] * weights, minlength=self.n)
            self.uses[j] += np.bincount(donors, weights=weights, minlength=self.n)
            return
        self.given[j] += np.bincount(donors, weights=effects, minlength=self.n)
        if self.uses is not None:
            self.uses[j] += np.bincount(donors, minlength=self.n)

    def variances(self, importances):
        """Var(importances_mean), per label, from the sums and the (n_labels, n_repeats) importances."""
        n = self.n
        R = self.repeats.astype(np.float64)
        mean = self.rows.sum(axis=1) / (n * R)
        single = np.maximum(self.squares / (n * R) - mean ** 2, 0.0)  # Var(d) over every (row, repeat)
        own = self.rows if self.fitted is None else self.rows + self.fitted
        variance = (own / R[:, None]).var(axis=1, ddof=1) / n
        d = self.with_donors
        if d.any():
            uses = R[d, None] if self.uses is None else self.uses[d]
            centred = (own[d] + self.given[d] - (R[d, None] + uses) * mean[d, None]) / R[d, None]
            variance[d] = (centred.var(axis=1, ddof=1) - single[d] / R[d]) / n
        # With donors the estimate is a difference: the repeats' own spread is a floor (it estimates the
        # shuffles' share alone). Without donors it is a plain variance, and a floor would only bias it.
        repeats = importances.shape[1]
        if repeats > 1:
            variance[d] = np.maximum(variance[d], importances[d].var(axis=1, ddof=1) / repeats)
        # An estimate at or below 0 with effects that are not all 0 falls back to independent effects.
        fallback = (variance <= 0) & (single > 0)
        variance[fallback] = single[fallback] / (n * R[fallback])
        return variance

    def inference(self, importances, *, covers):
        """The ``ImportanceResult.inference`` entries: ``se``, ``df``, ``sample_effects`` (n_labels,
        n_samples: each row's effect as the changed row, averaged over the repeats; their mean is
        ``importances_mean``), ``estimator`` and ``covers``."""
        importances = np.asarray(importances, dtype=np.float64)
        if self.n < 2:
            return no_spread()
        return {
            "se": np.sqrt(self.variances(importances)),
            "df": self.n - 1,
            "sample_effects": self.rows / self.repeats[:, None],
            "estimator": ("per-sample effects, rows and donors (a two-sample U-statistic)"
                          if self.with_donors.any() else "per-sample effects, independent rows")
                         + ("" if self.fitted is None else ", with each row's influence on the fitted sampler"),
            "covers": covers,
        }


def change_score(effect, effect_fn, n_samples, labels, transform, root_seed):
    """Perturbation's ``score`` hook: a :class:`ChangeScore` for the effects "rms" and "mae", whose
    per-sample effects give standard errors; a :class:`CustomChange` (no standard error) for a callable
    ``effect``, for which the transform keeps no donors."""
    if not isinstance(effect, str):
        return CustomChange(effect_fn)
    return ChangeScore(effect, effect_fn, n_samples, len(labels), engine.task_donors(transform, labels, root_seed))


class ChangeScore:
    """Perturbation's ``score`` hook for the effects "rms" and "mae": the effect's number, as
    ``effect_fn`` computes it, with the per-sample effects filed in :class:`EffectSums`.

    ``donors(label, repeat)`` gives a task's donor rows, or None (noise, a constant)."""

    def __init__(self, effect, effect_fn, n_samples, n_labels, donors):
        self.effect = effect
        self.effect_fn = effect_fn
        self.donors = donors
        self.sums = EffectSums(n_samples, n_labels, donors=donors is not None,
                               donates_once=getattr(donors, "donates_once", False))

    def __call__(self, unperturbed, predictions, j, r):
        value = self.effect_fn(unperturbed, predictions)
        self.sums.add(j, change_effects(self.effect, unperturbed, predictions, value),
                      None if self.donors is None else self.donors(j, r))
        return value

    def inference(self, importances):
        return {**self.sums.inference(importances, covers=COVERS_PERTURBATION), "why_no_pvalues": NON_NEGATIVE}


class CustomChange:
    """Perturbation's ``score`` hook for a callable ``effect``: its number, and no standard error (a
    custom effect is not known to be a mean over samples)."""

    def __init__(self, effect_fn):
        self.effect_fn = effect_fn

    def __call__(self, unperturbed, predictions, j, r):
        return self.effect_fn(unperturbed, predictions)

    def inference(self, importances):
        return {"why_no_se": Phrase(text("a custom effect is not known to be a mean over samples; use {rms} or "
                                         "{mae} for standard errors.", rms=Keyword("effect", "rms"),
                                         mae=Value("mae")))}


def change_effects(effect, unperturbed, predictions, importance):
    """Per-sample effects (n,) of perturbation's ``effect`` ("rms" or "mae") whose mean is
    ``importance``: the mean absolute change of each row's predictions, or for the root-mean-square
    change sqrt(M) its linearisation sqrt(M) + (m_i - M) / (2 sqrt(M)), m_i a row's mean squared
    change (0 for every row where nothing changed)."""
    n = unperturbed.shape[0]
    diff = (np.asarray(predictions, dtype=np.float64) - np.asarray(unperturbed, dtype=np.float64)).reshape(n, -1)
    if effect == "mae":
        return matched(np.abs(diff).mean(axis=1), importance, _EFFECT_MAE)
    squares = (diff ** 2).mean(axis=1)
    total = float(squares.mean())
    if total <= 0.0:
        return np.zeros(n)
    root = np.sqrt(total)
    return matched(root + (squares - total) / (2.0 * root), importance, _EFFECT_RMS)


_EFFECT_MAE = text("The effect {name}", name=Value("mae"))
_EFFECT_RMS = text("The effect {name}", name=Value("rms"))

COVERS_PERMUTATION = Phrase(text(
    "the sampling of the rows of {X} from their distribution (each row both as the row changed and as "
    "the donor of the values, a two-sample U-statistic) and the random permutations: the interval "
    "covers the permutation importance of this fitted model on that distribution. It does not cover "
    "the model's own variability (another fit on other data; use lofo_importance or refits for the "
    "learner), nor a shift between {X} and the data the model will see."))

COVERS_PERTURBATION = Phrase(text(
    "the sampling of the rows of {X} from their distribution and the random perturbations (and, for "
    "swapped values, the donor rows): the interval covers the expected effect of this perturbation on "
    "this fitted model over that distribution. It does not cover the model's own variability (another "
    "fit), nor other noise scales."))
