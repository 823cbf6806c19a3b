"""Gradient importance: saliency, gradient x input, integrated gradients and SmoothGrad.

A gradient costs one backward pass over X, where a perturbation method costs one forward pass per
variable. The gradients come from the model adapter (:class:`seqimp.adapters.KerasGradient`, a cached
compiled ``tf.GradientTape``); this module is NumPy. The interpolated copies of integrated gradients and
the noisy copies of SmoothGrad are tasks of the chunked engine, so they are streamed in fixed-size
chunks (no retracing, memory bounded by a chunk) and SmoothGrad's noise does not depend on
``batch_size``.
"""

from __future__ import annotations

import numbers
import warnings
from collections import namedtuple
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import adapters, checks, engine
from .inputs import as_sequence_data
from .labels import Label, make_labels
from .progress import check_progress
from .result import ImportanceResult
from .transforms import AdditiveNoise

METHODS = ("saliency", "gradient_x_input", "integrated_gradients", "smoothgrad")
OUTPUT_REDUCTIONS = ("sum", "mean", "max")
_FUNC = "gradient_importance"
# Attributions of these methods add up (to f(x) - f(baseline) for integrated gradients), so a label's
# attribution is the sum over its cells; the other two are gradients, averaged in size over the cells.
_ADDITIVE = ("gradient_x_input", "integrated_gradients")
_METRICS = {
    "saliency": "mean |gradient|",
    "gradient_x_input": "mean |gradient x input|",
    "integrated_gradients": "mean |integrated gradients|",
    "smoothgrad": "mean |smoothed gradient|",
}


@dataclass(frozen=True)
class OutputSelection:
    """Which scalar per sample is explained: ``weights . vec(f(x))``, or ``max(vec(f(x)))``."""

    weights: Optional[np.ndarray]  # (k,) float32; None for "max"
    mode: str  # "weighted" or "max"
    description: str
    averaged: bool  # True when several outputs are summed or averaged

    def apply(self, predictions):
        """Predictions of shape (m, ...) -> the selected scalar per row, shape (m,)."""
        flat = np.asarray(predictions, dtype=np.float64).reshape(len(predictions), -1)
        if self.mode == "max":
            return flat.max(axis=1)
        return flat @ self.weights.astype(np.float64)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) or (
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        and float(value).is_integer())


def check_output(output, func, *, reductions=OUTPUT_REDUCTIONS):
    """Check the type of ``output`` before any work is done (its range needs the model's outputs)."""
    expected = (f"None, an int index into the model's per-sample outputs, a tuple index, or one of "
                f"{{{', '.join(repr(r) for r in reductions)}}}")
    if output is not None and not isinstance(output, (str, tuple, list)) and not _is_int(output):
        checks.fail("output", func, expected, output, TypeError)
    if isinstance(output, str) and output not in reductions:
        checks.fail("output", func, expected, output)
    return output


def select_output(output, output_shape, func, *, reductions=OUTPUT_REDUCTIONS):
    """Resolve ``output`` against the per-sample output shape.

    ``None`` explains the only output, or the mean of several; an int indexes the flattened per-sample
    output (negative counts from the end); a tuple indexes the per-sample output shape, e.g.
    ``(timestep, class)``; a string names a reduction.
    """
    check_output(output, func, reductions=reductions)
    output_shape = tuple(int(d) for d in output_shape)
    k = int(np.prod(output_shape)) if output_shape else 1

    def weighted(weights, description, averaged=False):
        return OutputSelection(np.asarray(weights, np.float32), "weighted", description, averaged)

    if output is None:
        if k == 1:
            return weighted(np.ones(1), "the output")
        return weighted(np.full(k, 1.0 / k), f"mean of {k} outputs", averaged=True)
    if isinstance(output, str):
        if output == "max":
            return OutputSelection(None, "max", f"max of {k} outputs", False)
        scale = 1.0 if output == "sum" else 1.0 / k
        return weighted(np.full(k, scale), f"{output} of {k} outputs", averaged=k > 1)
    if isinstance(output, (tuple, list)):
        index = tuple(output)
        if len(index) != len(output_shape) or not all(_is_int(i) for i in index) or not all(
                -d <= int(i) < d for i, d in zip(index, output_shape)):
            raise ValueError(f"The 'output' parameter of {func} must be a tuple index into the model's "
                             f"per-sample output shape {output_shape}. Got {index!r} instead.")
        flat = int(np.ravel_multi_index(tuple(int(i) % d for i, d in zip(index, output_shape)),
                                        output_shape))
        one_hot = np.zeros(k)
        one_hot[flat] = 1.0
        return weighted(one_hot, f"output {index!r}")
    index = int(output)
    if not -k <= index < k:
        checks.fail("output", func, f"an int in the range [{-k}, {k - 1}] (the model has {k} outputs per "
                    f"sample, shape {output_shape}), or one of "
                    f"{{{', '.join(repr(r) for r in reductions)}}}", output)
    one_hot = np.zeros(k)
    one_hot[index % k] = 1.0
    return weighted(one_hot, f"output {index % k}")


def resolve_baseline(baseline, data, func=_FUNC):
    """The integrated-gradients baseline as a float32 array of shape (n, T, F), and its description."""
    shape = data.input_shape
    if baseline is None:
        return np.zeros(data.X.shape, np.float32), "zeros"
    if isinstance(baseline, str):
        if baseline != "mean":
            checks.fail("baseline", func, "None (zeros), 'mean', or an array that broadcasts to X's shape",
                        baseline)
        # Per feature over samples and timesteps, the same "mean" as perturbation_importance's.
        mean = data.feature_mean().astype(np.float32)
        return np.broadcast_to(mean, data.X.shape).copy(), "mean"
    if hasattr(baseline, "to_numpy"):
        baseline = baseline.to_numpy()
    array = np.asarray(baseline)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        checks.fail("baseline", func, "None (zeros), 'mean', or an array of numbers that broadcasts to X's "
                    "shape", baseline, TypeError)
    examples = f"({shape[-1]},), {shape[1:]} or {shape}" if len(shape) == 3 else f"({shape[-1]},) or {shape}"
    try:
        full = np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(f"The 'baseline' parameter of {func} must be None (zeros), 'mean', or an array that "
                         f"broadcasts to X's shape {shape}, such as shape {examples}. Got an array of "
                         f"shape {array.shape} instead.") from None
    full = np.array(full, dtype=np.float32).reshape(data.X.shape)
    if not np.isfinite(full).all():
        raise ValueError(f"The 'baseline' parameter of {func} must be finite (no NaN, NA or inf).")
    return full, f"array of shape {array.shape}"


_Step = namedtuple("_Step", "alpha weight")


class _Interpolate(engine.Transform):
    """A copy of X on the straight path from the baseline: ``b + alpha (x - b)``."""

    def __init__(self, X, baseline):
        super().__init__(X)
        self.baseline = baseline

    def apply(self, out, i0, i1, step, state):
        b = self.baseline[i0:i1]
        out -= b
        out *= np.float32(step.alpha)
        out += b


def trapezoid_path(n_steps):
    """``n_steps`` equally spaced points on [0, 1], both ends included, with trapezoidal weights."""
    alphas = np.linspace(0.0, 1.0, n_steps)
    weights = np.full(n_steps, 1.0 / (n_steps - 1))
    weights[[0, -1]] /= 2.0
    return alphas, weights


def label_importances(attributions, labels, additive):
    """(n, T, F) attributions -> (n_labels, n) per-sample importances.

    Additive attributions: |sum over the label's cells|. Gradients: mean over the label's cells of |.|.
    """
    n = attributions.shape[0]
    flat = attributions.reshape(n, -1)
    size = np.abs(flat) if not additive else None
    out = np.empty((len(labels), n))
    for j, label in enumerate(labels):
        cells = np.flatnonzero(label.mask.ravel())
        out[j] = np.abs(flat[:, cells].sum(axis=1)) if additive else size[:, cells].mean(axis=1)
    return out


def gradient_importance(model, X, *, method="saliency", granularity="feature", groups=None, baseline=None,
                        n_steps=50, noise_scale=0.1, n_samples=20, output=None, feature_names=None,
                        batch_size=None, random_state=None, progress=None):
    """Importance from the gradients of the model's output with respect to its input.

    Parameters
    ----------
    model : Keras model
        Keras 3 with the TensorFlow backend, or tf_keras (an R keras model is the same object). Models
        seqimp cannot differentiate (plain callables, R functions) raise an error that points to
        :func:`perturbation_importance` and :func:`permutation_importance`.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features)
        Integer arrays (R integer arrays) are cast to float32 first.
    method : {"saliency", "gradient_x_input", "integrated_gradients", "smoothgrad"}, default="saliency"
        - "saliency": attributions |ds/dx| (Simonyan et al. 2014); a label's importance is the mean of
          |ds/dx| over samples and its cells, e.g. over timesteps for a feature (seed 004).
        - "gradient_x_input": attributions x * ds/dx.
        - "integrated_gradients": attributions (x - b) * integral over alpha in [0, 1] of
          ds/dx at b + alpha (x - b) (Sundararajan et al. 2017), by the trapezoidal rule over
          ``n_steps`` points, both ends included. They add up to s(x) - s(b) ("completeness").
        - "smoothgrad": the mean gradient over ``n_samples`` copies of X with Gaussian noise added
          (Smilkov et al. 2017); signed, as in the paper. Importance is the mean of its size.
    granularity : {"feature", "timestep", "cell"}, default="feature"
    groups : dict, default=None
        ``{name: [feature names or indices]}``; one row per group.
    baseline : None, "mean" or array-like, default=None
        Integrated gradients only. None: zeros. "mean": each feature's mean over samples and timesteps.
        An array broadcasting to X's shape: shape (F,), (T, F) or X's own shape.
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
    feature_names : sequence of str, default=None
    batch_size : int, default=None
        Rows per gradient call (the engine's fixed chunk size). Results do not depend on it.
    random_state : int, Generator, SeedSequence or None, default=None
        SmoothGrad's noise.
    progress : None, bool or callable, default=None
        A progress bar over the rows streamed through the model. None shows a tqdm bar in interactive
        sessions (a terminal or a notebook) once the run has taken a few seconds; True always, False
        never; a callable ``progress(done, total)`` is called after every chunk instead.

    Returns
    -------
    ImportanceResult
        ``attributions``: ndarray of X's shape, per sample and cell. ``importances``: ndarray of
        shape (n_labels, n_samples), one column per sample of X, so ``importances_mean`` is the
        importance and ``importances_std`` its spread over samples. Always >= 0. ``extra`` holds
        ``"predictions"`` (s(x), shape (n,)) and, for integrated gradients, ``"baseline_predictions"``
        (s(b)) and ``"completeness_gap"`` (sum of attributions - (s(x) - s(b)), per sample).

    References
    ----------
    Simonyan, Vedaldi, Zisserman (2014). Deep inside convolutional networks. arXiv:1312.6034.
    Sundararajan, Taly, Yan (2017). Axiomatic attribution for deep networks. ICML.
    Smilkov, Thorat, Kim, Viegas, Wattenberg (2017). SmoothGrad. arXiv:1706.03825.

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
    root_seed = checks.check_random_state(random_state, _FUNC)
    progress = check_progress(progress, _FUNC)
    if baseline is not None and method != "integrated_gradients":
        raise ValueError(f"The 'baseline' parameter of {_FUNC} is used by method='integrated_gradients' "
                         f"only. Got a baseline with method={method!r}; drop it, or use integrated "
                         f"gradients.")
    predictor = adapters.gradient_predictor(model, func=_FUNC)
    data = as_sequence_data(X, feature_names, func=_FUNC)
    granularity, labels = make_labels(data, granularity, groups, _FUNC)
    base = resolve_baseline(baseline, data) if method == "integrated_gradients" else None
    predictor.check_input_shape(data.input_shape)
    selection = select_output(output, predictor.output_shape(data.input_shape[1:]), _FUNC)
    predictor.select(selection.weights, selection.mode)
    chunk_rows = engine.resolve_chunk_rows(predictor, data, batch_size, _FUNC)
    passes = {"integrated_gradients": n_steps, "smoothgrad": n_samples + 1}.get(method, 1)
    checks.check_job_size(_FUNC, data.n_samples, passes - 1, f"{passes} gradient passes")
    predictor.plan(data.n_samples * passes)
    run_options = {"chunk_rows": chunk_rows, "root_seed": root_seed, "progress": progress, "func": _FUNC}

    n, P = data.n_samples, data.n_timesteps * data.n_features
    extra = {"output": selection.description}
    if method in ("saliency", "gradient_x_input"):
        rows = engine.baseline_predictions(predictor, data, chunk_rows, progress=progress, func=_FUNC)
        gradient = rows[:, :P].reshape(data.X.shape)
        attributions = np.abs(gradient) if method == "saliency" else data.X * gradient
    elif method == "integrated_gradients":
        b, baseline_text = base
        rows, attributions, s_b = _integrated_gradients(predictor, data, b, n_steps, run_options)
        extra["baseline_predictions"] = s_b
        extra["completeness_gap"] = attributions.reshape(n, -1).sum(axis=1) - (rows[:, P] - s_b)
    else:
        sigma = noise_scale * data.feature_range()
        rows, mean_gradient = _smoothgrad(predictor, data, sigma, n_samples, run_options)
        attributions = mean_gradient
    extra["predictions"] = rows[:, P].copy()
    _warn_if_constant(selection, extra["predictions"])

    importances = label_importances(attributions, labels, method in _ADDITIVE)
    if data.input_ndim == 2:
        attributions = attributions[:, 0, :]
    params = {"method": method, "output": selection.description}
    if method == "integrated_gradients":
        params.update(baseline=baseline_text, n_steps=n_steps)
    if method == "smoothgrad":
        params.update(noise_scale=noise_scale, n_samples=n_samples)
    return ImportanceResult(method=method, labels=labels, importances=importances, granularity=granularity,
                            metric=_METRICS[method], attributions=attributions,
                            feature_names=data.feature_names, params=params, extra=extra)


def _integrated_gradients(predictor, data, baseline, n_steps, run_options):
    """Trapezoidal integrated gradients. alpha = 1 is X itself, the engine's unperturbed task 0, so the
    run costs exactly ``n_steps`` passes and yields s(x) and s(b) on the way."""
    n, P = data.n_samples, data.n_timesteps * data.n_features
    alphas, weights = trapezoid_path(n_steps)
    steps = [_Step(a, w) for a, w in zip(alphas[:-1], weights[:-1])]
    total = np.zeros((n, P))
    s_b = np.empty(n)

    def accumulate(unperturbed, rows, j, repeat):
        total[...] += steps[j].weight * rows[:, :P]
        if j == 0:
            s_b[:] = rows[:, P]

    out = engine.run(predictor, data, steps, _Interpolate(data.X, baseline), n_repeats=1, collect=accumulate,
                     describe_task=lambda step: f"at alpha={step.alpha:.4g} on the integrated-gradients path",
                     **run_options)
    total += weights[-1] * out.baseline[:, :P]
    difference = data.X.astype(np.float64) - baseline.astype(np.float64)
    attributions = difference * total.reshape(data.X.shape)
    return out.baseline, attributions, s_b


def _smoothgrad(predictor, data, sigma, n_samples, run_options):
    """Mean gradient over noisy copies; copy k's noise is seeded by (random_state, k) alone."""
    n, P = data.n_samples, data.n_timesteps * data.n_features
    everything = Label("all", None, None, np.ones(data.X.shape[1:], dtype=bool))
    total = np.zeros((n, P))

    def accumulate(unperturbed, rows, j, repeat):
        total[...] += rows[:, :P]

    out = engine.run(predictor, data, [everything] * n_samples,
                     AdditiveNoise(data.X, sigma.astype(np.float32), "gaussian"), n_repeats=1,
                     collect=accumulate, describe_task=lambda label: "on a SmoothGrad noisy copy",
                     **run_options)
    return out.baseline, (total / n_samples).reshape(data.X.shape)


def _warn_if_constant(selection, predictions):
    if not selection.averaged or len(predictions) < 2:
        return
    spread = np.ptp(predictions)
    if spread <= 1e-6 * max(1.0, float(np.abs(predictions).max())):
        warnings.warn(f"The explained output ({selection.description}) is the same for every sample "
                      f"({predictions[0]:.6g}), so its gradients are about 0; a softmax's outputs always "
                      f"sum to 1. Pass output=<class index> or output='max' to explain a class.",
                      UserWarning, stacklevel=3)
