"""ImportanceResult: the one result type every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from . import inference

# What the columns of ``importances`` are, per method. Gradient methods have one per sample of X (and
# attributions); Olden's and Garson's one column counts as one repeat.
_COLUMN_NAMES = {"perturbation": "repeats", "permutation": "repeats", "lofo": "folds",
                 "stepwise_backward": "folds", "stepwise_forward": "folds", "sage": "rounds"}


# The entries of ``extra`` that hold one row per label (in label order): a subset of the labels keeps
# the same rows of them (the R package's ``[`` does).
LABEL_EXTRAS = ("n_real_samples", "scores", "rank", "se_permutations", "null", "pvalues", "ssd", "relative_contribution")


@dataclass(frozen=True, eq=False)
class ImportanceResult:
    """Importances of every label, with the repeats (or folds) they were measured over.

    Attributes
    ----------
    method : str
        "perturbation", "permutation", "lofo", "saliency", ...
    labels : list of Label
        What each row measures; ``label.feature`` and ``label.timestep`` give its parts.
    importances : ndarray of shape (n_labels, n_repeats)
        Raw scores, one column per repeat (or per fold for LOFO; per sample of X for gradient
        methods, so ``importances_std`` is the spread over samples; one column for Olden/Garson).
        Positive means the model relies on the label (Olden's are signed: the sign is the direction).
    granularity : str
        "feature", "timestep" or "cell".
    metric : str
        The effect or metric the importances are measured in.
    baseline_score : float or None
        The metric on unperturbed data, where the method has one.
    attributions : ndarray of X's shape, (n, T, F) or (n, F), or None
        Per-sample attributions, for gradient methods.
    extra : dict or None
        A method's diagnostics, documented with each method: gradient methods' ``predictions`` (and
        integrated gradients' ``baseline_predictions`` and ``completeness_gap``, per sample),
        ``n_real_samples`` per label under a mask, LOFO's per-fold ``scores`` and ``folds``, stepwise's
        ``rank``, ``order`` and ``path``, SAGE's ``converged``, ``se_permutations`` (per label),
        ``loss_empty`` and ``loss_full``. The R package returns them as ``attr(r, "extra")``.
    inference : dict or None
        What a method knows about the uncertainty of ``importances_mean`` (None where it reports
        nothing). Keys, each optional: ``"se"`` (ndarray (n_labels,), the standard error of
        ``importances_mean``), ``"df"`` (degrees of freedom of a t interval; None or absent for a
        normal one), ``"pvalues"`` (ndarray (n_labels,), one-sided p-values a method computed itself,
        e.g. from a null distribution), ``"null"`` (ndarray (n_labels, B), a null distribution),
        ``"sample_effects"`` (ndarray (n_labels, n_samples), perturbation and permutation: each row's
        effect as the changed row, averaged over repeats; SAGE: each row's contribution, averaged over
        its orderings; their mean over rows is ``importances_mean``),
        ``"estimator"`` (str: how the standard error was estimated), ``"covers"`` (str: what the
        interval covers and what it does not, in words), ``"why_no_se"`` (str: why the method gives
        no standard error, said when one is asked for) and ``"why_no_pvalues"`` (str: why it gives no
        test, e.g. for measures that are non-negative by construction). :attr:`importances_se`,
        :meth:`confidence_interval`, :attr:`pvalues` and :meth:`significant` read it
        (:mod:`seqimp.inference`).
    """

    method: str
    labels: list
    importances: np.ndarray
    granularity: str
    metric: str
    baseline_score: Optional[float] = None
    attributions: Optional[np.ndarray] = None
    feature_names: tuple = ()
    params: dict = field(default_factory=dict)
    extra: Any = None
    inference: Optional[dict] = None

    @property
    def importances_mean(self):
        """ndarray of shape (n_labels,): mean over repeats (scikit-learn's name)."""
        return self.importances.mean(axis=1)

    @property
    def importances_std(self):
        """ndarray of shape (n_labels,): standard deviation over repeats (ddof=0, as scikit-learn)."""
        return self.importances.std(axis=1)

    @property
    def importances_se(self):
        """ndarray of shape (n_labels,): the standard error of ``importances_mean``.

        It counts what the method samples: the rows of X (and, for permutation, the rows the values
        come from; a conditional draw comes from no other row) and the repeats for perturbation and
        permutation, the samples for gradient methods, the samples and orderings for SAGE, the folds
        and refits for LOFO and stepwise. ``inference["covers"]`` says what it covers and
        what not; a method with no sampling to measure (Olden, Garson) raises a ValueError saying so.
        See the how-to page "Is this variable really important?".
        """
        return inference.standard_errors(self)

    def confidence_interval(self, level=0.95):
        """Confidence intervals of the importances.

        Parameters
        ----------
        level : float, default=0.95
            The coverage asked for, in (0, 1).

        Returns
        -------
        ndarray of shape (n_labels, 2)
            ``importances_mean`` -/+ the ``(1 + level) / 2`` quantile times ``importances_se``:
            Student's t with ``inference["df"]`` degrees of freedom, or the normal where it is None.
            Perturbation and permutation intervals cover the importance of this fitted model on the
            distribution X was drawn from (the model is held fixed: they say nothing about a refit);
            LOFO and stepwise ones, that of the learner (Nadeau-Bengio). ``inference["covers"]``
            says it in words.

        Examples
        --------
        >>> import numpy as np, seqimp
        >>> X = np.random.default_rng(0).normal(size=(1000, 3))
        >>> def model(x):
        ...     return x[:, 0] + 0.5 * x[:, 1]
        >>> y = model(X) + np.random.default_rng(1).normal(size=1000)
        >>> r = seqimp.permutation_importance(model, X, y, metric="mse", random_state=0)
        >>> ci = r.confidence_interval(0.95)  # truth: 2 w^2 = 2, 0.5 and 0
        >>> ci.round(2)
        array([[1.79, 2.27],
               [0.42, 0.59],
               [0.  , 0.  ]])
        """
        return inference.confidence_interval(self, level)

    @property
    def pvalues(self):
        """ndarray of shape (n_labels,): one-sided p-values of H0 "importance <= 0", unadjusted.

        The method's own where it gives them (a null distribution); else from ``importances_se``. A
        label whose effects are all exactly 0 (a variable the model does not read) gets p = 1, never
        NaN. Measures that are non-negative by construction (perturbation's RMS or mean absolute
        change, gradient methods' attributions) have no test and raise a ValueError saying why:
        test them with :func:`permutation_importance`. Correct for the number of labels with
        :meth:`significant`.
        """
        return inference.pvalues(self)

    def significant(self, alpha=0.05, correction="holm"):
        """Which labels are important, at a stated error rate over all the labels.

        Parameters
        ----------
        alpha : float, default=0.05
            The error rate.
        correction : {"holm", "bonferroni", "bh"} or None, default="holm"
            "holm" and "bonferroni" keep the family-wise error (any label falsely flagged) at
            ``alpha``; "bh" (Benjamini-Hochberg) keeps the false discovery rate (the expected share of
            flagged labels that are not important) at ``alpha``; None tests each label at ``alpha``
            alone, so with many labels (a heatmap's T x F cells) some look important by chance.

        Returns
        -------
        ndarray of bool, shape (n_labels,)
            True where the adjusted p-value of :attr:`pvalues` is <= ``alpha``.

        Examples
        --------
        >>> import numpy as np, seqimp
        >>> X = np.random.default_rng(0).normal(size=(500, 8, 2))
        >>> def model(x):
        ...     return x[:, -1, 0]
        >>> y = model(X) + np.random.default_rng(1).normal(size=500)
        >>> r = seqimp.permutation_importance(model, X, y, metric="mse", granularity="timestep",
        ...                                   random_state=0)
        >>> r.significant(0.05, correction="holm")
        array([False, False, False, False, False, False, False,  True])
        """
        return inference.significant(self, alpha, correction)

    @property
    def importances_columns(self):
        """str: what the columns of ``importances`` are: "repeats", "folds" (LOFO and stepwise),
        "samples" (gradient methods) or "rounds" (SAGE). Shown by ``repr`` and by the R package's ``print``."""
        if self.method in _COLUMN_NAMES:
            return _COLUMN_NAMES[self.method]
        return "samples" if self.attributions is not None else "repeats"

    @property
    def label_extras(self):
        """The keys of ``extra`` whose entries hold one row per label, in label order."""
        return [key for key in LABEL_EXTRAS if isinstance(self.extra, dict) and key in self.extra]

    @property
    def label_names(self):
        return [label.name for label in self.labels]

    def to_frame(self, sort=False, level=0.95):
        """A tidy pandas DataFrame: ``feature`` (``timestep`` too, unless granularity is "feature"),
        ``importance`` and ``std``, one row per label, in label order unless ``sort``.

        Where the method gives a standard error, also ``se``, ``ci_low`` and ``ci_high`` (the
        ``level`` confidence interval, :meth:`confidence_interval`) and, where it gives a test,
        ``p_value`` (:attr:`pvalues`, unadjusted). For granularity "timestep" the ``feature`` column
        reads "(all)"; timesteps are 0-based.
        """
        import pandas as pd

        columns = {"feature": [lbl.feature if lbl.feature is not None else "(all)" for lbl in self.labels]}
        if self.granularity != "feature":
            timesteps = [lbl.timestep for lbl in self.labels]
            # Features of 2-D inputs have no timestep (several inputs): a missing value, not a float.
            columns["timestep"] = timesteps if None not in timesteps else pd.array(timesteps, dtype="Int64")
        columns["importance"] = self.importances_mean
        columns["std"] = self.importances_std
        columns.update(self._inference_columns(level))
        if self.granularity != "feature" and isinstance(self.extra, dict) and "n_real_samples" in self.extra:
            columns["n_real"] = self.extra["n_real_samples"]  # padded sequences: samples real at the step
        frame = pd.DataFrame(columns)
        if sort:
            frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        return frame

    def _inference_columns(self, level):
        """``se``, ``ci_low``, ``ci_high`` and ``p_value`` where the method gives them."""
        info = self.inference or {}
        columns = {}
        if "se" in info:
            interval = self.confidence_interval(level)
            columns = {"se": self.importances_se, "ci_low": interval[:, 0], "ci_high": interval[:, 1]}
        # A method's own p-values (a randomization test's) show without a standard error too.
        if info.get("pvalues") is not None or ("se" in info and "why_no_pvalues" not in info):
            columns["p_value"] = self.pvalues
        return columns

    def plot(self, ax=None, **kwargs):
        """Bars with confidence intervals, sorted; a timestep x feature heatmap for cells.

        Keyword arguments: ``top`` (keep the most important bars), ``title``, ``level`` (of the
        intervals, 0.95), ``alpha`` and ``correction`` (mark the labels :meth:`significant` flags; on
        a heatmap, hide the cells it does not flag). See :func:`seqimp.plotting.plot_importance`.
        """
        from .plotting import plot_importance

        return plot_importance(self, ax=ax, **kwargs)

    def to_r(self):
        """The R data.frame the seqimp R package returns (needs rpy2); see :func:`seqimp.r.to_r`."""
        from .edge import to_r

        return to_r(self)

    def __repr__(self):
        head = (f"ImportanceResult(method={self.method!r}, granularity={self.granularity!r}, "
                f"metric={self.metric!r}, n_labels={len(self.labels)}, "
                f"n_{self.importances_columns}={self.importances.shape[1]}")
        if self.baseline_score is not None:
            head += f", baseline_score={self.baseline_score:.6g}"
        head += ")"
        frame = self.to_frame()
        shown = frame if len(frame) <= 20 else frame.head(20)
        body = shown.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        more = "" if len(frame) <= 20 else f"\n... {len(frame) - 20} more rows"
        return f"{head}\n{body}{more}"
