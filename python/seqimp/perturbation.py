"""Perturbation (sensitivity) importance: how much the predictions move when a variable is disturbed."""

from __future__ import annotations

import numpy as np

from . import checks
from .errors import SeqimpTypeError, Shape, text
from .adapters import as_predictor
from .effects import change_score
from .outputs import select_predictions
from .preamble import finish, prepare
from .transforms import AdditiveNoise, Constant, Resample, SwapCategorical

NOISES = ("gaussian", "uniform", "zero", "mean", "swap")
EFFECTS = ("rms", "mae")
_FUNC = "perturbation_importance"


def _effect_function(effect):
    if effect == "rms":
        return lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))
    if effect == "mae":
        return lambda a, b: float(np.mean(np.abs(a - b)))

    def custom(a, b):
        value = effect(a, b)
        try:
            value = float(np.asarray(value).reshape(()))
        except (TypeError, ValueError):
            raise SeqimpTypeError("The 'effect' {callable} of {function} must return one number; got {type} "
                                  "{shape}.", argument="effect", function=_FUNC, type=type(value).__name__,
                                  shape=Shape(np.shape(value), worded=False)) from None
        return checks.check_finite_score(value, text("The 'effect' {callable} of {function}", function=_FUNC))

    return custom


def perturbation_importance(model, X, *, noise="gaussian", scale=0.2, scale_by_std=False, effect="rms",
                            n_repeats=1, granularity="feature", groups=None, feature_names=None,
                            categorical_features=None, output=None, mask=None, mask_value=None, batch_size=None, random_state=None,
                            progress=None, n_jobs=None):
    """Importance as the change in predictions when each variable is perturbed.

    For every label (a feature, a timestep, a cell or a group), a copy of ``X`` has that label's
    values perturbed; the importance is the size of the change in the model's predictions.

    Parameters
    ----------
    model : Keras model, tf_keras model, callable or object with ``.predict``
        Maps X of shape (n, T, F) (or (n, F)) to predictions of shape (n,), (n, k) or (n, T, ...). A
        model with several inputs gets them as X gives them (a list or a dict) in every chunk.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        Several inputs (a sequence plus static covariates): a list in the model's input order or a
        dict keyed by its input names, all with the same n_samples. Every feature of every input gets
        a label; features of 2-D inputs take part as feature labels at granularity "timestep"/"cell".
    noise : {"gaussian", "uniform", "zero", "mean", "swap"}, default="gaussian"
        "gaussian" adds N(0, scale); "uniform" adds U(-scale, scale); "zero" sets to 0; "mean" sets to
        the feature's mean over samples and (real) timesteps; "swap" takes the values from another,
        randomly chosen sample (padded sequences align by position from the end, as in
        :func:`permutation_importance`).
    scale : float, default=0.2
        Noise scale (standard deviation for "gaussian", half-width for "uniform").
    scale_by_std : bool, default=False
        Multiply ``scale`` by each feature's standard deviation (over samples and timesteps).
    effect : {"rms", "mae"} or callable, default="rms"
        "rms": root-mean-square change of the predictions; "mae": mean absolute change; or
        ``effect(original, perturbed) -> float``. "rms" and "mae" give standard errors and confidence
        intervals (``importances_se``, :meth:`ImportanceResult.confidence_interval`) over the rows
        of X and the noise draws (rms by the delta method); being >= 0 by construction they have no
        p-values. A callable gives neither.
    n_repeats : int, default=1
        Independent perturbations per label.
    granularity : {"feature", "timestep", "cell"}, default="feature"
    groups : dict, default=None
        ``{name: [feature names or indices]}``, perturbed together; one row per group.
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
    categorical_features : list of str or int, default=None
        Features whose values are categories (names, or indices into the feature names). Their cells
        are never noised, zeroed or averaged: they are swapped with another, randomly chosen sample's
        value, whatever ``noise`` says, and ``result.params["categorical_features"]`` names them. Non-numeric
        DataFrame columns (strings, pandas categoricals, datetimes, booleans), boolean arrays, R
        factors and token inputs are categorical without being named.
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        Which prediction the effect is measured on, as in :func:`gradient_importance`: an index into the
        flattened per-sample output, a tuple index such as ``(timestep, class)``, or a reduction. None
        measures the change of the whole prediction.
    mask : None, False, bool array of shape (n_samples, n_timesteps), or a dict or list of them, default=None
        Padded sequences: True marks a real step. None finds the padding from the model (a Keras
        ``Masking`` layer or ``Embedding(mask_zero=True)``); False turns that off. Padded cells are
        never perturbed, means and standard deviations use real cells only, and
        ``result.extra["n_real_samples"]`` says how many samples are real in each label's cells. A
        real step whose every feature is set to the mask value (``noise="zero"`` on a whole step with
        ``Masking(0.0)``) reads as padding to the model: the step is then left out, as occlusion.
    mask_value : float, or a dict or list of them, default=None
        For any model: a step is padding where every feature of its input equals this value. Not with
        ``mask``.
    batch_size : int, default=None
        Rows per forward call. Results do not depend on it.
    random_state : int, Generator, SeedSequence or None, default=None
    progress : None, bool or callable, default=None
        A progress bar over the rows streamed through the model. None shows a tqdm bar in interactive
        sessions (a terminal or a notebook) once the run has taken a few seconds; True always, False
        never; a callable ``progress(done, total)`` is called after every chunk instead.
    n_jobs : int, default=None
        Run the perturbed copies on joblib workers: None or 1 in this process, -1 on every core.
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
        ``importances`` of shape (n_labels, n_repeats).

    Examples
    --------
    >>> import numpy as np, seqimp
    >>> X = np.random.default_rng(0).random((200, 10, 3))
    >>> r = seqimp.perturbation_importance(lambda x: x[:, :, 0].sum(axis=1), X, random_state=0)
    >>> r.importances_mean[2]
    0.0
    """
    noise = checks.check_option(noise, "noise", _FUNC, NOISES)
    scale = checks.check_float(scale, "scale", _FUNC, low=0.0)
    scale_by_std = checks.check_bool(scale_by_std, "scale_by_std", _FUNC)
    effect_fn = _effect_function(checks.check_option(effect, "effect", _FUNC, EFFECTS, allow_callable=True))
    n_repeats = checks.check_int(n_repeats, "n_repeats", _FUNC)
    call = prepare(_FUNC, model, X, make_predictor=lambda model, spec: select_predictions(
                       as_predictor(model, func=_FUNC, spec=spec), output, _FUNC),
                   granularity=granularity, groups=groups, feature_names=feature_names,
                   categorical_features=categorical_features, mask=mask, mask_value=mask_value,
                   random_state=random_state, progress=progress, n_jobs=n_jobs, batch_size=batch_size,
                   output=output)
    transform = _transform(call.data, noise, scale, scale_by_std)
    # "rms" and "mae" are means over samples (rms to first order): their per-sample effects give standard
    # errors; a custom effect gives none.
    score = change_score(effect, effect_fn, call.data.n_samples, call.labels, transform, call.root_seed)
    out = call.run(transform, n_repeats=n_repeats, score=score)
    return finish(call, method="perturbation", importances=out.scores,
                  metric=effect if isinstance(effect, str) else getattr(effect, "__name__", "custom"),
                  params={"noise": noise, "scale": scale, "scale_by_std": scale_by_std, "n_repeats": n_repeats},
                  inference=score.inference(out.scores))


def _transform(data, noise, scale, scale_by_std):
    """The transform of ``noise``, with categorical cells swapped instead; per-feature statistics over
    real cells, input by input."""
    if noise == "swap":
        return Resample(data, "swap")
    numeric = _numeric_transform(data, noise, scale, scale_by_std)
    return SwapCategorical(data, numeric) if len(data.categorical_features) else numeric


def _numeric_transform(data, noise, scale, scale_by_std):
    if noise in ("gaussian", "uniform"):
        scales = [scale * (block.feature_std() if scale_by_std else 1.0) for block in data.blocks]
        return AdditiveNoise(data, scales, noise)
    if noise == "zero":
        return Constant(data, 0.0)
    return Constant(data, [block.feature_mean() for block in data.blocks])
