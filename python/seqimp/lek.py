"""Lek's profile: how the prediction responds as one input moves across its range.

The sensitivity-analysis method of Lek et al. (1996), as NeuralNetTools' ``lekprofile``: one input
takes ``n_points`` values from its minimum to its maximum while every other input is held at one of
several quantiles (by default the minimum, 20%, 40%, 60%, 80% and the maximum); the model's response is
recorded for each. For sequences, each input is held constant over the timesteps: the varied feature
at the grid value, the others at their quantiles, all taken over samples and timesteps.

The profiles are tasks of the chunked engine: a (quantile) template sequence per row, and one task per
(feature, value) that sets that feature. Memory is bounded by a chunk whatever the grid's size.
"""

from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np

from . import checks, engine
from .errors import SeqimpTypeError, SeqimpValueError, Value, about, text
from .adapters import as_predictor, model_spec
from .edge import python_arguments
from .sequence_data import Block
from .labels import feature_index
from .masks import check_mask_arguments
from .model_inputs import prepare_inputs
from .outputs import check_output, select_output

_FUNC = "lek_profile"
DEFAULT_QUANTILES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class _SetFeature(engine.Transform):
    """Feature ``task[0]`` (an index across every input) set to ``task[1]`` at every timestep."""

    def apply(self, outs, i0, i1, task, state):
        b, f = self.data.locate(task[0])
        outs[b][:, :, f] = task[1]

    def touched(self, task):
        b, f = self.data.locate(task[0])
        column = np.zeros(self.blocks[b].X.shape[1:], dtype=bool)
        column[:, f] = True
        return ((b, column),)


def _resolve_features(features, data):
    names = data.feature_names
    if features is None:
        return list(range(len(names)))
    if isinstance(features, (str, numbers.Integral)) and not isinstance(features, bool):
        features = [features]
    chosen = [feature_index(f, names, about("features", _FUNC), data) for f in features]
    if not chosen:
        checks.fail("features", _FUNC, text("{None} or a non-empty list of feature names or indices"), features)
    return list(dict.fromkeys(chosen))


def _refuse_categorical(data):
    if len(data.categorical_features):
        names = [data.feature_names[j] for j in data.categorical_features]
        raise SeqimpTypeError("{function} holds every other feature at its quantiles, and categories have none; {X} "
                              "has categorical features {names}. Use permutation_importance or "
                              "perturbation_importance, which swap categories between samples.", argument="X",
                              function=_FUNC, names=Value(names))


def _resolve_quantiles(quantiles):
    if isinstance(quantiles, numbers.Real) and not isinstance(quantiles, bool):
        quantiles = [quantiles]
    try:
        values = list(quantiles)
    except TypeError:
        checks.fail("quantiles", _FUNC, text("a sequence of {floats} in the range [0, 1]"), quantiles, TypeError)
    if not values:
        checks.fail("quantiles", _FUNC, text("a non-empty sequence of {floats} in the range [0, 1]"), quantiles)
    return [checks.check_float(q, "quantiles", _FUNC, low=0.0, high=1.0) for q in values]


def lek_profile(model, X, *, features=None, quantiles=DEFAULT_QUANTILES, n_points=50, output=None,
                feature_names=None, mask=None, mask_value=None, batch_size=None):
    """Lek's profile of each input: the response across its range, the others held at quantiles.

    Parameters
    ----------
    model : Keras model, tf_keras model, callable or object with ``.predict``
        Needs predictions only, so every model :func:`perturbation_importance` takes works here.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        Used for the ranges and quantiles of the inputs. Several inputs (a list in the model's input
        order or a dict keyed by its input names): every feature of every input is profiled, the others
        held at their quantiles in their own inputs.
    features : None, str, int or sequence, default=None
        The inputs to profile (names or 0-based indices). None: all.
    quantiles : sequence of float in [0, 1], default=(0, 0.2, 0.4, 0.6, 0.8, 1)
        The levels the other inputs are held at, one profile per level (NeuralNetTools' defaults).
    n_points : int, default=50
        Values of the varied input, equally spaced from its minimum to its maximum.
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        The response, for models with several outputs per sample; as in :func:`gradient_importance`.
        None: the only output, or the mean of all of them.
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
    mask, mask_value : default=None
        Padded sequences, as in :func:`perturbation_importance`: ranges and quantiles are taken over real
        cells only. The profiles' template sequences are real at every step.
    batch_size : int, default=None
        Rows per forward call.

    Returns
    -------
    pandas.DataFrame
        One row per (feature, quantile, value) with columns ``feature`` (the varied input),
        ``quantile`` (the level the other inputs are held at), ``value`` (the varied input's value) and
        ``response``. ``frame.attrs["output"]`` says which output the response is. Plot it with
        :func:`plot_lek_profile`.

    References
    ----------
    Lek, Delacoste, Baran, Dimopoulos, Lauga, Aulagnier (1996). Application of neural networks to
    modelling nonlinear relationships in ecology. Ecological Modelling 90, 39-52.
    Beck (2018). NeuralNetTools: visualization and analysis tools for neural networks. Journal of
    Statistical Software 85(11).

    Examples
    --------
    >>> import numpy as np, seqimp
    >>> X = np.random.default_rng(0).random((100, 10, 3))
    >>> frame = seqimp.lek_profile(lambda x: (x[:, :, 0] * x[:, :, 1]).mean(axis=1), X, n_points=5)
    >>> list(frame.columns)
    ['feature', 'quantile', 'value', 'response']
    """
    import pandas as pd

    given = python_arguments(_FUNC, model=model, X=X, features=features, quantiles=quantiles,
                             feature_names=feature_names, mask=mask, mask_value=mask_value)
    n_points = checks.check_int(n_points, "n_points", _FUNC, low=2)
    quantiles = _resolve_quantiles(given["quantiles"])
    check_output(output, _FUNC)
    check_mask_arguments(given["mask"], given["mask_value"], _FUNC)
    spec = model_spec(given["model"])
    data = prepare_inputs(given["X"], given["feature_names"], spec, _FUNC, mask=given["mask"],
                          mask_value=given["mask_value"])
    _refuse_categorical(data)
    chosen = _resolve_features(given["features"], data)
    predictor = as_predictor(given["model"], func=_FUNC, spec=spec)

    blocks, low, high = [], [], []
    for block in data.blocks:
        per_feature = block.real_values()
        # Missing values (NaN in a DataFrame's numeric column) are left out of the levels and the range.
        nan = block.has_missing
        levels = (np.nanquantile if nan else np.quantile)(per_feature, quantiles, axis=0)  # (n_quantiles, F)
        low.extend((np.nanmin if nan else np.min)(per_feature, axis=0))
        high.extend((np.nanmax if nan else np.max)(per_feature, axis=0))
        dtype = block.X.dtype if block.X.dtype.kind == "f" else np.dtype(np.float64)
        templates = np.repeat(levels.astype(dtype)[:, np.newaxis, :], block.n_timesteps, axis=1)
        templates.setflags(write=False)
        frame = None if block.frame is None else replace(block.frame, index=pd.RangeIndex(len(levels)))
        blocks.append(Block(templates, block.feature_names, block.input_ndim, name=block.name, frame=frame))
    grid = data.with_blocks(blocks, mask_source="none")
    tasks = [(f, blocks[data.locate(f)[0]].X.dtype.type(v)) for f in chosen
             for v in np.linspace(low[f], high[f], n_points)]

    responses = [None] * len(tasks)

    def keep(unperturbed, predictions, j, repeat):
        responses[j] = predictions

    chunk_rows = engine.resolve_chunk_rows(predictor, grid, batch_size, _FUNC)
    engine.run(predictor, grid, tasks, _SetFeature(grid), n_repeats=1,
               root_seed=np.random.SeedSequence(0), chunk_rows=chunk_rows, collect=keep,
               describe_task=lambda task: text("when {name} was set to {value:.6g}",
                                              name=Value(data.feature_names[task[0]]), value=float(task[1])),
               func=_FUNC)
    selection = select_output(output, responses[0].shape[1:], _FUNC)
    # Tasks run feature by feature, value by value; the frame reads feature, quantile, then value.
    n_f, n_q = len(chosen), len(quantiles)
    response = np.stack([selection.apply(r) for r in responses]).reshape(n_f, n_points, n_q)
    values = np.array([t[1] for t in tasks], dtype=np.float64).reshape(n_f, n_points)
    frame = pd.DataFrame({
        "feature": np.repeat([data.feature_names[f] for f in chosen], n_q * n_points),
        "quantile": np.tile(np.repeat(quantiles, n_points), n_f),
        "value": np.repeat(values[:, np.newaxis, :], n_q, axis=1).ravel(),
        "response": response.transpose(0, 2, 1).ravel(),
    })
    frame.attrs["output"] = selection.description
    frame.attrs["mask"] = data.mask_source
    return frame


def plot_lek_profile(frame, axes=None, *, ncols=3, title=None):
    """One panel per varied input, one line per quantile the others are held at.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`lek_profile`.
    axes : sequence of matplotlib Axes, default=None
        One per feature; new ones in a grid of ``ncols`` columns when None.

    Returns
    -------
    ndarray of matplotlib Axes
    """
    import matplotlib.pyplot as plt

    missing = {"feature", "quantile", "value", "response"} - set(frame.columns)
    if missing:
        raise SeqimpValueError("plot_lek_profile needs the frame lek_profile returns; missing columns {missing}.",
                               argument="frame", function="plot_lek_profile", missing=Value(sorted(missing)))
    features = list(dict.fromkeys(frame["feature"]))
    if axes is None:
        ncols = max(1, min(int(ncols), len(features)))
        nrows = -(-len(features) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), sharey=True,
                                 squeeze=False)
        for extra in axes.ravel()[len(features):]:
            extra.set_visible(False)
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) < len(features):
        raise SeqimpValueError("plot_lek_profile needs one Axes per feature ({n}); got {got}.", argument="axes",
                               function="plot_lek_profile", n=len(features), got=len(axes))
    levels = sorted(frame["quantile"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(levels)))
    for ax, feature in zip(axes, features):
        part = frame[frame["feature"] == feature]
        for colour, q in zip(colours, levels):
            line = part[part["quantile"] == q]
            ax.plot(line["value"], line["response"], color=colour, label=f"{q:g}")
        ax.set_title(str(feature))
        ax.set_xlabel("value")
    axes[0].set_ylabel(f"response ({frame.attrs.get('output', 'prediction')})")
    axes[0].legend(title="others at quantile", fontsize="small", title_fontsize="small")
    figure = axes[0].figure
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return axes
