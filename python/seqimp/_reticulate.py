"""What the seqimp R package calls through reticulate, beside the public API.

Plain Python: it imports neither rpy2 nor anything that would, so reticulate's Python never starts a
second R. :func:`result_parts` is also what :func:`seqimp.r.to_r` (rpy2) builds its data.frame from,
so both ways into R make the same ``seqimp_importance`` frame with the same R constructor
(``new_importance`` in :data:`R_BRIDGE`).
"""

from __future__ import annotations

import os

import numpy as np

# The R code both R bridges share (how an R model is called, the result's constructor); the R package
# sources it from here on first use.
R_BRIDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adapters", "r_bridge.R")


def result_parts(result):
    """An :class:`~seqimp.ImportanceResult` as plain parts, the arguments of R's ``new_importance``.

    Timesteps are 0-based, -1 for a label without one; ``columns`` says what the columns of
    ``importances`` are ("repeats", "folds" or "samples").
    """
    labels = result.labels
    return {
        "names": [str(label.name) for label in labels],
        "feature": ["(all)" if label.feature is None else str(label.feature) for label in labels],
        "timestep": np.array([-1 if label.timestep is None else int(label.timestep) for label in labels],
                             dtype=np.int32).reshape(-1),
        "importances": np.asarray(result.importances, dtype=np.float64),
        "mean": np.asarray(result.importances_mean, dtype=np.float64).reshape(-1),
        "std": np.asarray(result.importances_std, dtype=np.float64).reshape(-1),
        "method": None if result.method is None else str(result.method),
        "metric": None if result.metric is None else str(result.metric),
        "granularity": str(result.granularity),
        "baseline_score": None if result.baseline_score is None else float(result.baseline_score),
        "columns": result.importances_columns,
        "attributions": result.attributions,
    }


def lek_profile_parts(frame):
    """The data.frame of :func:`seqimp.lek_profile` as columns R converts in one step each."""
    return {
        "feature": [str(f) for f in frame["feature"]],
        "quantile": np.asarray(frame["quantile"], dtype=np.float64),
        "value": np.asarray(frame["value"], dtype=np.float64),
        "response": np.asarray(frame["response"], dtype=np.float64),
        "output": frame.attrs.get("output"),
    }


def named(f, name):
    """``f`` under the name results show (an R function wrapped by reticulate has no useful one)."""
    def fn(*args):
        return f(*args)

    fn.__name__ = fn.__qualname__ = str(name)
    return fn
