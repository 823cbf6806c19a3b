"""Matplotlib plots of an ImportanceResult."""

from __future__ import annotations

import numpy as np

from . import checks, inference

_FUNC = "ImportanceResult.plot"
_BAR = "#4C72B0"
_FADED = "#C5CCD6"


def _intervals(result, level):
    """(n_labels, 2) confidence intervals, or None where the method gives no standard error."""
    if "se" not in (result.inference or {}):
        return None
    return result.confidence_interval(level)


def _flags(result, alpha, correction):
    """The labels :meth:`significant` flags, or None when ``alpha`` is None."""
    if alpha is None:
        return None
    return inference.significant(result, alpha, correction, func=_FUNC)


def plot_importance(result, ax=None, *, top=None, title=None, level=0.95, alpha=None, correction="holm"):
    """Horizontal bars with confidence intervals, most important on top.

    For granularity "cell" a timestep x feature heatmap of the mean importance instead (rows are
    timesteps from the top, columns features in label order). Returns the matplotlib Axes.

    Parameters
    ----------
    result : ImportanceResult
    ax : matplotlib Axes, default=None
    top : int, default=None
        Keep the ``top`` most important bars.
    title : str, default=None
    level : float, default=0.95
        The level of the error bars: :meth:`ImportanceResult.confidence_interval`. A method without
        standard errors (Olden, Garson) gets no error bars: the spread across repeats is not an
        interval for the importance.
    alpha : float, default=None
        Mark the labels :meth:`ImportanceResult.significant` flags at this error rate: their bars in
        colour, the others faded; on a heatmap, cells it does not flag are left blank. None marks
        nothing.
    correction : {"holm", "bonferroni", "bh"} or None, default="holm"
        The multiple-testing correction for ``alpha``.
    """
    import matplotlib.pyplot as plt

    top = checks.check_int(top, "top", _FUNC, allow_none=True)
    level = inference.check_level(level, _FUNC)
    flags = _flags(result, alpha, correction)

    title = title or f"{result.method} importance ({result.metric})"
    if result.granularity == "cell":
        if ax is None:
            n_t = len({lbl.timestep for lbl in result.labels})
            n_f = len({lbl.feature for lbl in result.labels})
            _, ax = plt.subplots(figsize=(min(12.0, max(4.8, 0.7 * n_f + 2.4)),
                                          min(10.0, max(3.2, 0.3 * n_t + 1.6))))
        return _heatmap(result, ax, title, flags, alpha, correction)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, max(2.4, 0.35 * min(len(result.labels), top or 10**9) + 1.2)))
    mean = result.importances_mean
    order = np.argsort(-mean, kind="stable")
    if top is not None:
        order = order[:top]
    order = order[::-1]  # barh draws bottom-up
    names = [result.labels[i].name for i in order]
    interval = _intervals(result, level)
    xerr = None
    if interval is not None:
        xerr = np.abs(np.stack([mean[order] - interval[order, 0], interval[order, 1] - mean[order]]))
    colours = _BAR if flags is None else [_BAR if flags[i] else _FADED for i in order]
    ax.barh(names, mean[order], xerr=xerr, color=colours, ecolor="#333333", capsize=3)
    ax.axvline(0, color="#999999", linewidth=0.8)
    label = f"importance ({result.metric})"
    if interval is not None:
        label += f", {level:.0%} confidence intervals"
    ax.set_xlabel(label)
    if flags is not None:
        ax.set_title(f"{title}\n{_marked(alpha, correction)}", fontsize="medium")
    else:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax


def _marked(alpha, correction):
    how = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini-Hochberg (FDR)", None: "no correction"}
    return f"coloured: significant at {alpha:g}, {how[correction]}"


def _heatmap(result, ax, title, flags, alpha, correction):
    features = list(dict.fromkeys(lbl.feature for lbl in result.labels))
    timesteps = sorted({lbl.timestep for lbl in result.labels})
    grid = np.full((len(timesteps), len(features)), np.nan)
    t_index = {t: i for i, t in enumerate(timesteps)}
    f_index = {f: j for j, f in enumerate(features)}
    values = np.array(result.importances_mean, dtype=np.float64)
    if flags is not None:
        values[~flags] = np.nan  # blank: not significant
    for lbl, value in zip(result.labels, values):
        grid[t_index[lbl.timestep], f_index[lbl.feature]] = value
    image = ax.imshow(grid, aspect="auto", cmap="viridis", origin="upper")
    ax.set_xticks(range(len(features)), labels=features, rotation=90 if len(features) > 12 else 0)
    if len(timesteps) <= 30:
        ax.set_yticks(range(len(timesteps)), labels=[str(t) for t in timesteps])
    ax.set_ylabel("timestep")
    ax.set_xlabel("feature")
    if flags is not None:
        ax.set_title(f"{title}\nblank: not significant at {alpha:g} ({_marked(alpha, correction).split(', ')[1]})",
                     fontsize="medium")
    else:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=f"importance ({result.metric})")
    ax.figure.tight_layout()
    return ax
