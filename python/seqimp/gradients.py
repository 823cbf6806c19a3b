"""Gradient importance: saliency, gradient x input, integrated gradients and SmoothGrad.

A gradient costs one backward pass over X, where a perturbation method costs one forward pass per
variable. The gradients come from the model adapter (:class:`seqimp.adapters.KerasGradient`, a cached
compiled ``tf.GradientTape``); this module is NumPy. The interpolated copies of integrated gradients and
the noisy copies of SmoothGrad are tasks of the chunked engine, so they are streamed in fixed-size
chunks (no retracing, memory bounded by a chunk) and SmoothGrad's noise does not depend on
``batch_size``. Token inputs (ids into an ``Embedding``) are attributed in embedding space by the
adapter; on the integrated-gradients path their ids stay as they are and each row's alpha reaches the
adapter as an argument of its call (:class:`_Interpolate`'s ``argument``).
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from . import adapters, checks, engine, errors
from .errors import Keyword, SeqimpTypeError, SeqimpValueError, Shape, Value, Words, text
from .inference import sample_mean_inference
from .inputs import entries_by_input
from .labels import Label
from .outputs import check_output, select_output
from .preamble import finish, prepare
from .transforms import AdditiveNoise

# "shape" in Python's messages, "dims" in R's.
_SHAPE = Words("shape", "dims")

METHODS = ("saliency", "gradient_x_input", "integrated_gradients", "smoothgrad", "pad")
_FUNC = "gradient_importance"
# Attributions of these methods add up (to f(x) - f(baseline) for integrated gradients), so a label's
# attribution is the sum over its cells; the other two are gradients, averaged in size over the cells.
_ADDITIVE = ("gradient_x_input", "integrated_gradients")
# What a gradient method's interval covers (inference.sample_mean_inference).
_COVERS = errors.Phrase(text(
    "the sampling of the rows of {X} from their distribution (the samples are independent; SmoothGrad's noise "
    "included): the interval covers the mean attribution size of this fitted model over that distribution. It "
    "does not cover the model's own variability (another fit), nor the choice of baseline or of n_steps."))
_METRICS = {
    "saliency": "mean |gradient|",
    "gradient_x_input": "mean |gradient x input|",
    "integrated_gradients": "mean |integrated gradients|",
    "smoothgrad": "mean |smoothed gradient|",
    "pad": "mean squared gradient (PaD)",
}


def resolve_baseline(baseline, data, func=_FUNC):
    """The integrated-gradients baseline: one float32 array of each block's (n, T, F) shape (None for a
    token input, whose baseline is an embedding: :meth:`~seqimp.adapters.KerasGradient.path`), its
    description, and what was given for each block.

    Padded cells always take X's own values, so the path from the baseline never changes them (and
    they get exactly zero attribution). On a masked input the default (None) is each feature's mean
    over real cells on real steps: an all-zero baseline would read as padding to a Masking(0) model.
    """
    per = _baseline_per_input(baseline, data, func)
    out = [None if block.tokens else _block_baseline(given, block, data, func)
           for given, block in zip(per, data.blocks)]
    tokens_only = all(block.tokens for block in data.blocks)
    if baseline is None:
        text = "zeros" if not data.has_mask or tokens_only else "mean over real cells" if data.is_single else \
            "mean over real cells on masked inputs, zeros elsewhere"
    elif isinstance(baseline, str):
        text = "mean"
    elif tokens_only and data.is_single and isinstance(baseline, (int, np.integer)):
        text = f"token {baseline}"
    else:
        text = f"array of shape {np.shape(np.asarray(baseline))}" if data.is_single else "one per input"
    if any(block.tokens for block in data.blocks):
        text += (" (token inputs: " + ("the embedding of token 0 with mask_zero=True, else zero embeddings"
                                        if baseline is None else "in embedding space") + ")")
    if data.has_mask:
        text += " (padding kept)"
    return out, text, per


def _baseline_per_input(baseline, data, func):
    if data.is_single or baseline is None or isinstance(baseline, str):
        return [baseline] * len(data.blocks)
    keys = list(data.input_names)
    if isinstance(baseline, dict) and data.structure == "dict":
        return entries_by_input(baseline, keys, "baseline", func)
    if isinstance(baseline, (list, tuple)) and len(baseline) == len(keys):
        return list(baseline)
    checks.fail("baseline", func, text("{None}, {mean}, or one entry ({None}, {mean} or an array) per input of {X}, "
                                       "as {kind} ({keys})", mean=Value("mean"), keys=Value(keys),
                                       kind=text("{a_dict} keyed like {X}") if data.structure == "dict" else "a list"),
                baseline, TypeError)


def _block_baseline(given, block, data, func):
    shape = block.input_shape
    if given is None and block.mask is None:
        full = np.zeros(block.X.shape, np.float32)
    elif given is None or isinstance(given, str):
        if given is not None and given != "mean":
            checks.fail("baseline", func, text("{None} (zeros), {mean}, or an array that broadcasts to {X}'s {shape}",
                                               mean=Value("mean"), shape=_SHAPE), given)
        # Per feature over samples and (real) timesteps, the same "mean" as perturbation_importance's.
        full = np.broadcast_to(block.feature_mean().astype(np.float32), block.X.shape).copy()
    else:
        where = "" if data.is_single else text(" for input {name}", name=Value(block.name))
        full = _baseline_array(given, shape, where, func)
        full = full.reshape(block.X.shape)
    if block.mask is not None:
        np.copyto(full, block.X, where=~block.mask[:, :, np.newaxis])
    return full


def _baseline_array(baseline, shape, where, func):
    if hasattr(baseline, "to_numpy"):
        baseline = baseline.to_numpy()
    array = np.asarray(baseline)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        checks.fail("baseline", func, text("{None} (zeros), {mean}, or an array of numbers that broadcasts to {X}'s "
                                           "{shape}", mean=Value("mean"), shape=_SHAPE), baseline, TypeError)
    examples = [Shape((shape[-1],), worded=False)] + ([Shape(shape[1:], worded=False)] if len(shape) == 3 else [])
    examples = text("{first} or {last}", first=errors.join(examples), last=Shape(shape, worded=False))
    try:
        full = np.broadcast_to(array, shape)
    except ValueError:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {None} (zeros), {mean}, or an array "
                               "that broadcasts to {X}'s {x_shape}{where}, such as {shape} {examples}. Got an array of "
                               "{got} instead.", argument="baseline", function=func, mean=Value("mean"),
                               x_shape=Shape(shape), where=where, shape=_SHAPE, examples=examples,
                               got=Shape(array.shape)) from None
    full = np.array(full, dtype=np.float32)
    if not np.isfinite(full).all():
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be finite (no NaN, NA or "
                               "{inf}){where}.", argument="baseline", function=func, where=where)
    return full


_Step = namedtuple("_Step", "alpha weight")


class _Interpolate(engine.Transform):
    """A copy of X on the straight path from the baseline: ``b + alpha (x - b)``, block by block.
    Padded cells have b = x, so they stay exactly as they are. Token ids (baseline None) stay as they
    are: their path is in embedding space, and each row's alpha reaches the adapter as the ``alpha``
    argument of its call (1 for X itself, the unperturbed task)."""

    argument = "alpha"

    def __init__(self, data, baselines):
        super().__init__(data)
        self.baselines = baselines

    def argument_value(self, step):
        return 1.0 if step is None else step.alpha

    def apply(self, outs, i0, i1, step, state):
        for out, baseline in zip(outs, self.baselines):
            if baseline is None:
                continue
            b = baseline[i0:i1]
            out -= b
            out *= np.float32(step.alpha)
            out += b

    def touched(self, step):
        return ()


def trapezoid_path(n_steps):
    """``n_steps`` equally spaced points on [0, 1], both ends included, with trapezoidal weights."""
    alphas = np.linspace(0.0, 1.0, n_steps)
    weights = np.full(n_steps, 1.0 / (n_steps - 1))
    weights[[0, -1]] /= 2.0
    return alphas, weights


def label_importances(attributions, labels, additive, data=None, squared=False):
    """Attributions -> (n_labels, n) per-sample importances.

    ``attributions`` is (n, T, F) for one input, or (n, P): every block's cells flattened side by side
    in block order (with ``data``). Additive attributions: |sum over the label's cells|. Gradients: mean
    over the label's cells of |.| (padded cells count as zero). ``squared`` (PaD): the sum over the
    label's cells of the squares.
    """
    n = attributions.shape[0]
    flat = attributions.reshape(n, -1)
    offsets = np.cumsum([0] + [b.X.shape[1] * b.X.shape[2] for b in data.blocks]) if data is not None else [0]
    size = np.abs(flat) if not additive else None
    out = np.empty((len(labels), n))
    for j, label in enumerate(labels):
        columns = np.concatenate([offsets[b] + np.flatnonzero(cells.ravel()) for b, cells in label.parts])
        if squared:
            out[j] = np.square(flat[:, columns]).sum(axis=1)
        else:
            out[j] = np.abs(flat[:, columns].sum(axis=1)) if additive else size[:, columns].mean(axis=1)
    return out


def gradient_importance(model, X, *, method="saliency", granularity="feature", groups=None, baseline=None,
                        n_steps=50, noise_scale=0.1, n_samples=20, output=None, feature_names=None,
                        categorical_features=None, mask=None, mask_value=None, batch_size=None,
                        random_state=None, progress=None, n_jobs=None):
    """Importance from the gradients of the model's output with respect to its input.

    Parameters
    ----------
    model : Keras model
        Keras 3 with the TensorFlow backend, or tf_keras (an R keras model is the same object). Models
        seqimp cannot differentiate (plain callables, R functions) raise an error that points to
        :func:`perturbation_importance` and :func:`permutation_importance`.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        Numbers reach the model in its inputs' dtype (float32 unless it says otherwise). Several inputs:
        a list in the model's input order or a dict keyed by its input names; the attributions then
        come per input, in the same structure.

        Token inputs: a 2-D array (n_samples, n_timesteps) of token ids for a model input that is
        integer-typed or read by an ``Embedding`` layer (integers, or floats that are all whole numbers,
        as R passes them) is one token feature over n_timesteps timesteps. Ids have no gradient, so its
        attributions are taken in embedding space: for each timestep, the gradient of s with respect
        to the Embedding's output e_t (D values), summed over the D dimensions (saliency: its size;
        gradient x input: e_t . ds/de_t; integrated gradients: (e_t - b) . the path integral of ds/de_t,
        from the baseline embedding b to e). The attributions of a token input have shape
        (n_samples, n_timesteps), and integrated gradients stay complete. With
        ``Embedding(mask_zero=True)``, id 0 is padding (the automatic mask) and gets zero attribution.
        An integer input that no Embedding reads directly, and SmoothGrad on token inputs, are refused:
        seqimp never reports a gradient it could not take as zero.
    method : {"saliency", "gradient_x_input", "integrated_gradients", "smoothgrad", "pad"}, default="saliency"
        - "saliency": attributions |ds/dx| (Simonyan et al. 2014); a label's importance is the mean of
          |ds/dx| over samples and its cells, e.g. over timesteps for a feature (seed 004).
        - "gradient_x_input": attributions x * ds/dx.
        - "integrated_gradients": attributions (x - b) * integral over alpha in [0, 1] of
          ds/dx at b + alpha (x - b) (Sundararajan et al. 2017), by the trapezoidal rule over
          ``n_steps`` points, both ends included. They add up to s(x) - s(b) ("completeness").
        - "smoothgrad": the mean gradient over ``n_samples`` copies of X with Gaussian noise added
          (Smilkov et al. 2017); signed, as in the paper. Importance is the mean of its size.
        - "pad": the partial derivatives method (PaD) of Dimopoulos et al. (1995, 1999), as reviewed by
          Gevrey et al. (2003): attributions are the signed partial derivatives ds/dx (their profile
          against x is PaD's first result), and a label's importance per sample is the sum over its
          cells of their squares, so ``importances.sum(axis=1)`` is PaD's sum of squared derivatives
          (SSD) over the samples (and, for a feature of a sequence, over its timesteps).
          ``extra["relative_contribution"]`` is PaD's relative contribution in %: 100 SSD / (sum of
          SSD over the labels). On a linear network s = w . x it is proportional to w_j**2 (times
          the number of real timesteps). Token inputs are refused (their derivatives are taken in
          embedding space, where a squared sum over the D dimensions is not PaD).
    granularity : {"feature", "timestep", "cell"}, default="feature"
    groups : dict, default=None
        ``{name: [feature names or indices]}``; one row per group.
    baseline : None, "mean" or array-like, default=None
        Integrated gradients only. None: zeros, or on a masked input each feature's mean over real
        cells. "mean": each feature's mean over samples and (real) timesteps. An array broadcasting to
        X's shape: shape (F,), (T, F) or X's own shape; with several inputs, a dict or list keyed like X.
        Padded cells always keep X's own values, so the path never un-masks them and completeness holds.
        A token input's baseline is an embedding, the same at every step: None gives the embedding of
        token 0 for ``Embedding(mask_zero=True)`` (the padding token, so padded steps stay as they are)
        and the zero vector otherwise; "mean" the mean embedding over real steps; an int, that token's
        embedding. The sum of attributions is then s(x) - s(baseline embedding), the mask kept from X.
    n_steps : int, default=50
        Integrated gradients: points on the path (>= 2). Cost: ``n_steps`` gradient passes over X.
    noise_scale : float, default=0.1
        SmoothGrad: the noise's standard deviation as a fraction of each feature's range (max - min
        over samples and timesteps), as the paper's sigma / (x_max - x_min).
    n_samples : int, default=20
        SmoothGrad: noisy copies of X. Cost: ``n_samples + 1`` gradient passes over X.
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        The scalar s(x) explained, for models with several outputs per sample (one per timestep, or
        per class). None: the only output, or the mean of all of them (the same ranking as
        ``tape.gradient`` of all forecasts, which sums them; the mean keeps the scale of one output).
        An int indexes the flattened per-sample output (0-based; negative from the end); a tuple
        indexes its shape, e.g. ``(timestep, class)``; "max" explains each sample's largest output
        (the predicted class). For a softmax classifier pass a class or "max": the sum of a
        softmax is 1, so its gradient is 0 (a warning says so).
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
    categorical_features : list of str or int, default=None
        Features whose values are categories. Gradients need continuous inputs, so any categorical
        feature (named here, or boolean, or a non-numeric DataFrame column) is refused with a TypeError
        naming it; use :func:`permutation_importance` or :func:`perturbation_importance` for them.
        Token inputs are categorical too, but are explained in embedding space (see ``X``).
    mask : None, False, bool array of shape (n_samples, n_timesteps), or a dict or list of them, default=None
        Padded sequences, as in :func:`perturbation_importance` (None: a Keras ``Masking`` layer's, or
        an ``Embedding(mask_zero=True)``'s: a token step is real where its id is not 0).
        Padded cells get zero attribution, and SmoothGrad adds no noise to them.
    mask_value : float, or a dict or list of them, default=None
        A step is padding where every feature of its input equals this value. Not with ``mask``.
    batch_size : int, default=None
        Rows per gradient call (the engine's fixed chunk size). Results do not depend on it.
    random_state : int, Generator, SeedSequence or None, default=None
        SmoothGrad's noise.
    progress : None, bool or callable, default=None
        A progress bar over the rows streamed through the model. None shows a tqdm bar in interactive
        sessions (a terminal or a notebook) once the run has taken a few seconds; True always, False
        never; a callable ``progress(done, total)`` is called after every chunk instead.
    n_jobs : int, default=None
        Take the gradients on joblib workers: None or 1 in this process, -1 on every core.
        ``with joblib.parallel_backend("dask")`` runs them on a Dask cluster. The numbers do not depend
        on it (a Keras model's: to float32 round-off). The model travels to each worker once (pickled;
        a Keras model with its weights); R models and models that cannot be pickled need ``n_jobs=1``.
        Each worker compiles a Keras model's forward pass once per call (seconds), and TensorFlow
        already uses every core of one machine: for Keras, workers pay only on long jobs over many
        machines or cores (measured on 2 cores: 0.13x-0.26x for a 0.2-0.3 s LSTM job, 0.93x-1.04x for
        a random forest).

    Returns
    -------
    ImportanceResult
        ``attributions``: ndarray of X's shape, per sample and cell (a list or dict of them, keyed like
        X, for several inputs). ``importances``: ndarray of
        shape (n_labels, n_samples), one column per sample of X, so ``importances_mean`` is the
        importance and ``importances_std`` its spread over samples. Always >= 0. ``extra`` holds
        ``"predictions"`` (s(x), shape (n,)) and, for integrated gradients, ``"baseline_predictions"``
        (s(b)) and ``"completeness_gap"`` (sum of attributions - (s(x) - s(b)), per sample); for PaD,
        ``"ssd"`` (n_labels,) and ``"relative_contribution"`` (n_labels,) in %.

    References
    ----------
    Simonyan, Vedaldi, Zisserman (2014). Deep inside convolutional networks. arXiv:1312.6034.
    Sundararajan, Taly, Yan (2017). Axiomatic attribution for deep networks. ICML.
    Smilkov, Thorat, Kim, Viegas, Wattenberg (2017). SmoothGrad. arXiv:1706.03825.
    Dimopoulos, Bourret, Lek (1995). Use of some sensitivity criteria for choosing networks with good
    generalization ability. Neural Processing Letters 2, 1-4.
    Dimopoulos, Chronopoulos, Chronopoulou-Sereli, Lek (1999). Neural network models to study
    relationships between lead concentration in grasses and permanent urban descriptors in Athens city
    (Greece). Ecological Modelling 120, 157-165.
    Gevrey, Dimopoulos, Lek (2003). Ecological Modelling 160, 249-264.

    Examples
    --------
    >>> import keras, numpy as np, seqimp
    >>> model = keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)])
    >>> X = np.random.default_rng(0).random((100, 10, 3))
    >>> r = seqimp.gradient_importance(model, X, method="integrated_gradients", n_steps=64)
    >>> r.attributions.shape
    (100, 10, 3)
    >>> np.allclose(r.attributions.sum(axis=(1, 2)),
    ...             r.extra["predictions"] - r.extra["baseline_predictions"], atol=1e-3)
    True
    """
    method = checks.check_option(method, "method", _FUNC, METHODS)
    n_steps = checks.check_int(n_steps, "n_steps", _FUNC, low=2)
    noise_scale = checks.check_float(noise_scale, "noise_scale", _FUNC, low=0.0)
    n_samples = checks.check_int(n_samples, "n_samples", _FUNC)
    check_output(output, _FUNC)
    if baseline is not None and method != "integrated_gradients":
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is used by {ig} only. Got a baseline with "
                               "{method}; drop it, or use integrated gradients.", argument="baseline",
                               function=_FUNC, ig=Keyword("method", "integrated_gradients"),
                               method=Keyword("method", method))
    call = prepare(_FUNC, model, X, make_predictor=lambda model, spec: adapters.gradient_predictor(
                       model, func=_FUNC, spec=spec),
                   granularity=granularity, groups=groups, feature_names=feature_names,
                   categorical_features=categorical_features, mask=mask, mask_value=mask_value,
                   random_state=random_state, progress=progress, n_jobs=n_jobs, batch_size=batch_size,
                   baseline=baseline)
    data = call.data
    _refuse_categorical(data, method)
    base = resolve_baseline(call.given["baseline"], data) if method == "integrated_gradients" else None
    passes = {"integrated_gradients": n_steps, "smoothgrad": n_samples + 1}.get(method, 1)
    selection = _select(call, method, base, output, passes)
    chunk_rows = call.chunk_rows()

    P = sum(b.X.shape[1] * b.X.shape[2] for b in data.blocks)
    extra = {"output": selection.description}
    params = {"method": method, "output": selection.description}
    if method in ("saliency", "gradient_x_input", "pad"):
        rows = engine.unperturbed_predictions(call.predictor, data, chunk_rows, progress=call.progress,
                                              func=_FUNC, n_jobs=call.n_jobs)
        # A token cell's value is already the embedding gradient summed (saliency) or times e (x input).
        attributions = [np.abs(g) if method == "saliency" else g if b.tokens or method == "pad" else b.X * g
                        for g, b in zip(_split(rows, data), data.blocks)]
    elif method == "integrated_gradients":
        rows, attributions, s_b = _integrated_gradients(call, base[0], n_steps, chunk_rows)
        extra.update(baseline_predictions=s_b, completeness_gap=_flat(attributions).sum(axis=1) - (rows[:, P] - s_b))
        params.update(baseline=base[1], n_steps=n_steps)
    else:
        sigmas = [noise_scale * block.feature_range() for block in data.blocks]
        rows, attributions = _smoothgrad(call, sigmas, n_samples, chunk_rows)
        params.update(noise_scale=noise_scale, n_samples=n_samples)
    extra["predictions"] = rows[:, P].copy()
    _warn_if_constant(selection, extra["predictions"])
    attributions = [_zero_padding(a, block) for a, block in zip(attributions, data.blocks)]
    importances = label_importances(_flat(attributions), call.labels, method in _ADDITIVE, data,
                                    squared=method == "pad")
    if method == "pad":
        extra.update(_pad_contributions(importances))
    shaped = data.structured([a.reshape(block.input_shape) for a, block in zip(attributions, data.blocks)])
    return finish(call, method=method, importances=importances, metric=_METRICS[method], params=params,
                  extra=extra, attributions=shaped,
                  inference=sample_mean_inference(importances, covers=_COVERS))


def _pad_contributions(importances):
    """PaD's sum of squared derivatives per label (over the samples) and its relative contribution in %."""
    ssd = importances.sum(axis=1)
    total = ssd.sum()
    return {"ssd": ssd, "relative_contribution": 100.0 * ssd / total if total > 0 else np.zeros_like(ssd)}


def _select(call, method, base, output, passes):
    """The gradient adapter set up for this call: X's inputs checked, token inputs' embedding path and
    baselines, the explained output (resolved against the model's output shape), XLA for long runs."""
    predictor, data = call.predictor, call.data
    predictor.check_inputs(data)
    # Token inputs: a token cell's gradient is taken in embedding space (see KerasGradient.path).
    predictor.path("sum" if method in ("saliency", "pad") else "path", data,
                   base[2] if base is not None else ["zeros"] * data.n_blocks, _FUNC)
    selection = select_output(output, predictor.output_shape(predictor.row_shape(data)), _FUNC)
    predictor.select(selection.weights, selection.mode)
    checks.check_job_size(_FUNC, data.n_samples, passes - 1, f"{passes} gradient passes")
    predictor.plan(data.n_samples * passes)
    return selection


def _split(rows, data):
    """The per-row gradient columns of ``rows`` (blocks side by side) as one (n, T, F) array per block."""
    out, start = [], 0
    for block in data.blocks:
        size = block.X.shape[1] * block.X.shape[2]
        out.append(rows[:, start:start + size].reshape(block.X.shape))
        start += size
    return out


def _flat(per_block):
    n = per_block[0].shape[0]
    return np.concatenate([a.reshape(n, -1) for a in per_block], axis=1)


def _zero_padding(attributions, block):
    """No attribution for a padded cell: the model never reads it."""
    if block.mask is None:
        return attributions
    return np.where(block.mask[:, :, np.newaxis], attributions, 0.0)


def _integrated_gradients(call, baselines, n_steps, chunk_rows):
    """Trapezoidal integrated gradients. alpha = 1 is X itself, the engine's unperturbed task 0, so the
    run costs exactly ``n_steps`` passes and yields s(x) and s(b) on the way."""
    data = call.data
    P = sum(b.X.shape[1] * b.X.shape[2] for b in data.blocks)
    alphas, weights = trapezoid_path(n_steps)
    steps = [_Step(a, w) for a, w in zip(alphas[:-1], weights[:-1])]
    total = np.zeros((data.n_samples, P))
    s_b = np.empty(data.n_samples)

    def accumulate(unperturbed, rows, j, repeat):
        total[...] += steps[j].weight * rows[:, :P]
        if j == 0:
            s_b[:] = rows[:, P]

    out = call.run(_Interpolate(data, baselines), labels=steps, chunk_rows=chunk_rows, collect=accumulate,
                   describe_task=lambda step: f"at alpha={step.alpha:.4g} on the integrated-gradients path")
    total += weights[-1] * out.unperturbed[:, :P]
    # A token cell's values are already (e - b) . gradient: their weighted sum is its attribution.
    attributions = [g if block.tokens else (block.X.astype(np.float64) - b.astype(np.float64)) * g
                    for block, b, g in zip(data.blocks, baselines, _split(total, data))]
    return out.unperturbed, attributions, s_b


def _refuse_categorical(data, method):
    """Gradients need continuous inputs: categorical features other than token inputs (explained in
    embedding space) are refused, naming them. SmoothGrad's noise has no embedding path."""
    named = [data.feature_names[j] for j in data.categorical_features
             if not data.blocks[data.locate(j)[0]].tokens]
    if named:
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} has categorical features {named} (named in "
                              "categorical_features, or non-numeric or boolean columns): gradients need continuous "
                              "inputs, and a category has no direction to differentiate along. Use "
                              "permutation_importance or perturbation_importance, which swap categories between "
                              "samples, or encode them for the model (token ids into an Embedding are explained in "
                              "embedding space).", argument="X", function=_FUNC, named=Value(named))
    tokens = [b.name or "X" for b in data.blocks if b.tokens]
    # Token ids are explained in embedding space: PaD's per-value squares and SmoothGrad's noise have no meaning there.
    why = {"pad": "sums squared partial derivatives with respect to each input value, and {tokens} are token ids, "
                  "whose derivatives are taken in embedding space",
           "smoothgrad": "adds noise to the input, and {tokens} are token ids, which take no noise (their gradients "
                         "are taken in embedding space)"}.get(method)
    if tokens and why is not None:
        raise SeqimpValueError("{function}: {method} " + why + ". Use {saliency}, {gxi} or {ig}.", argument="method",
                               function=_FUNC, method=Keyword("method", method), tokens=Value(tokens),
                               saliency=Keyword("method", "saliency"), gxi=Value("gradient_x_input"),
                               ig=Value("integrated_gradients"))


def _smoothgrad(call, sigmas, n_samples, chunk_rows):
    """Mean gradient over noisy copies; copy k's noise is seeded by (random_state, k) alone. Padded cells
    get no noise (the engine keeps them)."""
    data = call.data
    P = sum(b.X.shape[1] * b.X.shape[2] for b in data.blocks)
    everything = Label("all", None, None, tuple((b, np.ones(block.X.shape[1:], dtype=bool))
                                                for b, block in enumerate(data.blocks)))
    total = np.zeros((data.n_samples, P))

    def accumulate(unperturbed, rows, j, repeat):
        total[...] += rows[:, :P]

    out = call.run(AdditiveNoise(data, [sigma.astype(np.float32) for sigma in sigmas], "gaussian"),
                   labels=[everything] * n_samples, chunk_rows=chunk_rows, collect=accumulate,
                   describe_task=lambda label: "on a SmoothGrad noisy copy")
    return out.unperturbed, _split(total / n_samples, data)


def _warn_if_constant(selection, predictions):
    if not selection.averaged or len(predictions) < 2:
        return
    spread = np.ptp(predictions)
    if spread <= 1e-6 * max(1.0, float(np.abs(predictions).max())):
        warnings.warn(f"The explained output ({selection.description}) is the same for every sample "
                      f"({predictions[0]:.6g}), so its gradients are about 0; a softmax's outputs always "
                      f"sum to 1. Pass output=<class index> or output='max' to explain a class.",
                      UserWarning, stacklevel=3)
