"""ImportanceResult: the one result type every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


# What the columns of ``importances`` are, per method. Gradient methods have one per sample of X (and
# attributions); Olden's and Garson's one column counts as one repeat.
_COLUMN_NAMES = {"perturbation": "repeats", "permutation": "repeats", "lofo": "folds",
                 "stepwise_backward": "folds", "stepwise_forward": "folds"}


# The entries of ``extra`` that hold one row per label (in label order): a subset of the labels keeps
# the same rows of them (the R package's ``[`` does).
LABEL_EXTRAS = ("n_real_samples", "scores", "rank")


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
        ``rank``, ``order`` and ``path``. The R package returns them as ``attr(r, "extra")``.
    inference : dict or None
        What a method knows about the uncertainty of ``importances_mean`` (None where it reports
        nothing). Keys, each optional: ``"se"`` (ndarray (n_labels,), the standard error of
        ``importances_mean``), ``"df"`` (degrees of freedom of a t interval; None or absent for a
        normal one), ``"pvalues"`` (ndarray (n_labels,), one-sided p-values a method computed itself,
        e.g. from a null distribution), ``"null"`` (ndarray (n_labels, B), a null distribution),
        ``"estimator"`` (str: how the standard error was estimated) and ``"covers"`` (str: what the
        interval covers and what it does not, in words).
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
    def importances_columns(self):
        """str: what the columns of ``importances`` are: "repeats", "folds" (LOFO and stepwise) or
        "samples" (gradient methods). Shown by ``repr`` and by the R package's ``print``."""
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

    def to_frame(self, sort=False):
        """A tidy pandas DataFrame: ``feature`` (``timestep`` too, unless granularity is "feature"),
        ``importance`` and ``std``, one row per label, in label order unless ``sort``.

        For granularity "timestep" the ``feature`` column reads "(all)"; timesteps are 0-based.
        """
        import pandas as pd

        columns = {"feature": [lbl.feature if lbl.feature is not None else "(all)" for lbl in self.labels]}
        if self.granularity != "feature":
            timesteps = [lbl.timestep for lbl in self.labels]
            # Features of 2-D inputs have no timestep (several inputs): a missing value, not a float.
            columns["timestep"] = timesteps if None not in timesteps else pd.array(timesteps, dtype="Int64")
        columns["importance"] = self.importances_mean
        columns["std"] = self.importances_std
        if self.granularity != "feature" and isinstance(self.extra, dict) and "n_real_samples" in self.extra:
            columns["n_real"] = self.extra["n_real_samples"]  # padded sequences: samples real at the step
        frame = pd.DataFrame(columns)
        if sort:
            frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        return frame

    def plot(self, ax=None, **kwargs):
        """Bars with error bars across repeats, sorted; a timestep x feature heatmap for cells."""
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
