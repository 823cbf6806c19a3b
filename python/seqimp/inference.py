"""Standard errors, confidence intervals, p-values and multiple-testing corrections of importances.

Every method reports what it knows about the uncertainty of its importances in one place,
``ImportanceResult.inference`` (a dict; see :class:`~seqimp.ImportanceResult`), and every interval,
test and correction is derived from it here, the same way for every method:

- ``"se"``: the standard error of ``importances_mean``, one per label;
- ``"df"``: the degrees of freedom of a t interval (None or absent: a normal one);
- ``"pvalues"``: one-sided p-values the method computed itself (from a null distribution, say);
  without them, p-values come from ``se`` and ``df``;
- ``"estimator"`` and ``"covers"``: how the standard error was estimated and what the interval covers
  (and what it does not), in words;
- ``"why_no_se"`` / ``"why_no_pvalues"``: why a method gives no standard error, or no test (for
  measures that are non-negative by construction), said to the caller when they ask for one.

The methods' own estimators live beside them: :mod:`seqimp.effects` (perturbation and permutation:
per-sample effects, rows and donors), :func:`sample_mean_inference` (gradient methods: a mean over
samples) and :func:`nadeau_bengio` (LOFO and stepwise: folds of a cross-validation).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import checks
from .errors import Options, Phrase, SeqimpValueError, Value, Words, r_words, text

CORRECTIONS = ("holm", "bonferroni", "bh")

# What a method without an ``inference`` entry is, when a caller asks for its uncertainty.
_NO_SAMPLING = ("olden", "garson")


def _info(result):
    return result.inference or {}


def why_no_se(result):
    """Why ``result`` has no standard error, in words (a :class:`~seqimp.errors.Phrase` where the words
    differ in R)."""
    info = _info(result)
    if "why_no_se" in info:
        return info["why_no_se"]
    if result.method in _NO_SAMPLING:
        return (f"{result.method} importance is computed from the weights of one trained network: nothing "
                f"is sampled, so there is no standard error. For uncertainty, use permutation_importance "
                f"(the data) or lofo_importance (the learner).")
    return Phrase(text("the {method} method put no standard error in its result's inference.",
                       method=Value(result.method)))


def no_spread():
    """The ``inference`` of a method given one sample: no standard error, saying why."""
    return {"why_no_se": "one sample gives no spread to estimate a standard error from."}


def worded(reason):
    """A reason (text, or a :class:`~seqimp.errors.Phrase`) as a fragment of a message, in each
    language's words."""
    return Words(str(reason), r_words(reason))


def standard_errors(result):
    """ndarray (n_labels,): the standard error of ``importances_mean``, or a ValueError saying why
    the method gives none."""
    info = _info(result)
    if "se" not in info:
        raise SeqimpValueError("This result has no standard errors: {why}", why=worded(why_no_se(result)))
    return np.asarray(info["se"], dtype=np.float64).reshape(-1)


def degrees_of_freedom(result):
    """The t interval's degrees of freedom, or None for a normal interval."""
    df = _info(result).get("df")
    return None if df is None else float(df)


def quantile(probability, df):
    """The ``probability`` quantile of Student's t with ``df`` degrees of freedom (normal for None)."""
    from scipy import stats

    return float(stats.norm.ppf(probability) if df is None else stats.t.ppf(probability, df))


def _upper_tail(z, df):
    from scipy import stats

    return stats.norm.sf(z) if df is None else stats.t.sf(z, df)


def check_level(level, func):
    """A confidence level in (0, 1)."""
    expected = text("{a_float} in the range ({low}, {high}), such as {example}", low=0.0, high=1.0, example=0.95)
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real):
        checks.fail("level", func, expected, level, TypeError)
    if not 0.0 < float(level) < 1.0:
        checks.fail("level", func, expected, level)
    return float(level)


def confidence_interval(result, level=0.95, *, func="ImportanceResult.confidence_interval"):
    """ndarray (n_labels, 2): ``importances_mean`` -/+ the two-sided ``level`` quantile times the
    standard error (t with the method's degrees of freedom, else normal)."""
    level = check_level(level, func)
    se = standard_errors(result)
    half = quantile(0.5 + level / 2.0, degrees_of_freedom(result)) * se
    mean = np.asarray(result.importances_mean, dtype=np.float64)
    return np.column_stack([mean - half, mean + half])


def pvalues(result):
    """ndarray (n_labels,): one-sided p-values of H0 "importance <= 0".

    The method's own (``inference["pvalues"]``) where it gave them; else from the standard error,
    ``P(T >= mean / se)``. A label with standard error 0 gets p = 1 when its mean is <= 0 (every effect
    exactly 0: a variable the model does not read) and p = 0 otherwise; never NaN.
    """
    info = _info(result)
    if "pvalues" in info and info["pvalues"] is not None:
        return np.asarray(info["pvalues"], dtype=np.float64).reshape(-1)
    if "why_no_pvalues" in info:
        raise SeqimpValueError("This result has no p-values: {why}", why=worded(info["why_no_pvalues"]))
    se = standard_errors(result)
    mean = np.asarray(result.importances_mean, dtype=np.float64)
    p = np.where(mean > 0, 0.0, 1.0)
    positive = se > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p[positive] = _upper_tail(mean[positive] / se[positive], degrees_of_freedom(result))
    return np.clip(p, 0.0, 1.0)


def check_correction(correction, func):
    if correction is None:
        return None
    if isinstance(correction, str) and correction.lower() in CORRECTIONS:
        return correction.lower()
    checks.fail("correction", func, text("one of {options} or {None}", options=Options(CORRECTIONS)), correction)


def adjust_pvalues(p, correction):
    """p-values adjusted for multiple testing, as R's ``p.adjust``: "holm" (family-wise error, Holm's
    step-down), "bonferroni" (family-wise error), "bh" (false discovery rate, Benjamini-Hochberg) or
    None (unadjusted). Adjusted p-values are capped at 1 and keep the order of the raw ones."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    m = p.size
    if correction is None or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(1.0, p * m)
    if correction == "holm":
        order = np.argsort(p, kind="stable")
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    else:  # "bh"
        order = np.argsort(p, kind="stable")[::-1]
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


def significant(result, alpha=0.05, correction="holm", *, func="ImportanceResult.significant"):
    """bool ndarray (n_labels,): labels whose adjusted p-value is <= ``alpha``."""
    alpha = checks.check_float(alpha, "alpha", func, low=0.0, high=1.0, low_inclusive=False)
    correction = check_correction(correction, func)
    return adjust_pvalues(pvalues(result), correction) <= alpha


def sample_mean_inference(per_sample, *, covers):
    """Inference for importances that are means over the samples of X of independent per-sample
    values (gradient methods): se = sd / sqrt(n) (ddof = 1), a t interval with n - 1 degrees of freedom.

    ``per_sample`` is (n_labels, n_samples). Non-negative by construction (|attributions|), so no
    p-values: a test of "<= 0" would only ask whether any attribution is non-zero.
    """
    per_sample = np.asarray(per_sample, dtype=np.float64)
    n = per_sample.shape[1]
    if n < 2:
        return no_spread()
    return {
        "se": per_sample.std(axis=1, ddof=1) / np.sqrt(n),
        "df": n - 1,
        "estimator": Phrase(text("standard deviation over the samples of {X} / sqrt(n)")),
        "covers": covers,
        "why_no_pvalues": NON_NEGATIVE,
    }


NON_NEGATIVE = ("the importance is non-negative by construction (a size of change, or of attributions), "
                "so a test of 'importance <= 0' would only ask whether the model's output moves at all: "
                "any use, however small (float32 round-off included), would be 'significant'. Read the "
                "confidence interval instead, or test with permutation_importance, whose importances "
                "are losses that can fall to or below 0.")


def nadeau_bengio(importances, folds, *, selected=False):
    """Inference across the folds of a cross-validation (LOFO, stepwise), by Nadeau and Bengio's
    corrected resampled t: var = (1 / J + n_test / n_train) * s², with s² the variance of the J fold
    values (ddof = 1), n_test / n_train the mean ratio of the folds' sizes, and J - 1 degrees of
    freedom. Repeated cross-validation (``RepeatedKFold``) counts all its J = k x repeats folds.

    ``importances`` is (n_labels, J); ``folds`` the (train, test) index pairs; ``selected``: the
    labels' order was chosen on these folds (stepwise), which the interval does not count.
    """
    importances = np.asarray(importances, dtype=np.float64)
    J = importances.shape[1]
    if J < 2:
        return {"why_no_se": "one fold gives no spread across folds to estimate a standard error from; "
                             "use cv >= 2 (or repeated cross-validation)."}
    ratio = float(np.mean([len(test) / len(train) for train, test in folds]))
    variance = (1.0 / J + ratio) * importances.var(axis=1, ddof=1)
    return {
        "se": np.sqrt(variance),
        "df": J - 1,
        "estimator": f"Nadeau-Bengio corrected resampled t over {J} folds (n_test/n_train = {ratio:.4g})",
        "covers": ("the learner as well as the data: each fold refits the model, so the interval covers "
                   "the importance of the learning procedure on samples of this size (not of one fitted "
                   "model). The correction for overlapping training sets is a heuristic: it assumes the "
                   "correlation between folds is n_test / n_train, and is conservative when folds are "
                   "nearly independent."
                   + (" Stepwise contributions follow a path chosen on these same folds: the interval "
                      "does not count that selection, so it is optimistic for the labels picked first."
                      if selected else "")),
    }
