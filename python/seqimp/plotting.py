"""Matplotlib plots of an ImportanceResult."""

from __future__ import annotations

import numpy as np

from . import checks


def plot_importance(result, ax=None, *, top=None, title=None):
    """Horizontal bars with error bars (std across repeats), most important on top.

    For granularity "cell" a timestep x feature heatmap of the mean importance instead (rows are
    timesteps from the top, columns features in label order). ``top`` keeps the ``top`` most important
    bars. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    top = checks.check_int(top, "top", "ImportanceResult.plot", allow_none=True)

    title = title or f"{result.method} importance ({result.metric})"
    if result.granularity == "cell":
        if ax is None:
            n_t = len({lbl.timestep for lbl in result.labels})
            n_f = len({lbl.feature for lbl in result.labels})
            _, ax = plt.subplots(figsize=(min(12.0, max(4.8, 0.7 * n_f + 2.4)),
                                          min(10.0, max(3.2, 0.3 * n_t + 1.6))))
        return _heatmap(result, ax, title)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, max(2.4, 0.35 * min(len(result.labels), top or 10**9) + 1.2)))
    mean, std = result.importances_mean, result.importances_std
    order = np.argsort(-mean, kind="stable")
    if top is not None:
        order = order[:top]
    order = order[::-1]  # barh draws bottom-up
    names = [result.labels[i].name for i in order]
    show_err = result.importances.shape[1] > 1
    ax.barh(names, mean[order], xerr=std[order] if show_err else None, color="#4C72B0",
            ecolor="#333333", capsize=3)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_xlabel(f"importance ({result.metric})")
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax


def _heatmap(result, ax, title):
    features = list(dict.fromkeys(lbl.feature for lbl in result.labels))
    timesteps = sorted({lbl.timestep for lbl in result.labels})
    grid = np.full((len(timesteps), len(features)), np.nan)
    t_index = {t: i for i, t in enumerate(timesteps)}
    f_index = {f: j for j, f in enumerate(features)}
    for lbl, value in zip(result.labels, result.importances_mean):
        grid[t_index[lbl.timestep], f_index[lbl.feature]] = value
    image = ax.imshow(grid, aspect="auto", cmap="viridis", origin="upper")
    ax.set_xticks(range(len(features)), labels=features, rotation=90 if len(features) > 12 else 0)
    if len(timesteps) <= 30:
        ax.set_yticks(range(len(timesteps)), labels=[str(t) for t in timesteps])
    ax.set_ylabel("timestep")
    ax.set_xlabel("feature")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=f"importance ({result.metric})")
    ax.figure.tight_layout()
    return ax
