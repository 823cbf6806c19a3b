"""Matplotlib plots of an ImportanceResult."""

from __future__ import annotations

import numpy as np


def plot_importance(result, ax=None, *, top=None, title=None):
    """Horizontal bars with error bars (std across repeats), most important on top.

    For granularity "cell" a timestep x feature heatmap of the mean importance instead.
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, max(2.4, 0.35 * min(len(result.labels), top or 10**9) + 1.2)))
    title = title or f"{result.method} importance ({result.metric})"
    if result.granularity == "cell":
        return _heatmap(result, ax, title)
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
    ax.set_xticks(range(len(features)), labels=features)
    ax.set_ylabel("timestep")
    ax.set_xlabel("feature")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=f"importance ({result.metric})")
    ax.figure.tight_layout()
    return ax
