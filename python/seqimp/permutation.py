"""Permutation importance: how much worse a metric gets when a variable's values are shuffled across samples."""

from __future__ import annotations

import numbers

import numpy as np

from . import checks, engine
from .adapters.protocol import PredictorWrapper
from .conditional import Conditional, check_conditional, describe_conditional
from .effects import COVERS_PERMUTATION
from .errors import text
from .inputs import as_target
from .metrics import get_metrics
from .preamble import finish, prepare
from .task_scoring import Scoring, check_sample_weight, check_weight_total, metrics_predictor
from .transforms import Resample

_FUNC = "permutation_importance"

# The subsample's seed is the root seed extended by this one-word spawn key. Task seeds extend it by
# two words (label, repeat) and random tiles by three, so the subsample never shares a seed with a
# permutation, and it does not depend on batch_size.
_SUBSAMPLE_KEY = 0x5EB5


def _n_rows(max_samples, n_samples):
    """Rows to use: ``max_samples`` as a count (int) or a fraction (float in (0, 1]), as scikit-learn.

    A float that is a whole number above 1 is a count, since R passes every number as a double.
    """
    if max_samples is None:
        return n_samples
    expected = text("{an_int} in the range [1, {n}] (a number of rows of {X}), {a_float} in the range ({low}, {high}] "
                    "(a fraction of them), or {None}", n=n_samples, low=0.0, high=1.0)
    if isinstance(max_samples, (bool, np.bool_)) or not isinstance(max_samples, numbers.Real):
        checks.fail("max_samples", _FUNC, expected, max_samples, TypeError)
    if isinstance(max_samples, numbers.Integral):
        count = int(max_samples)
    elif 0.0 < max_samples <= 1.0:
        count = max(1, int(max_samples * n_samples))
    elif float(max_samples).is_integer():
        count = int(max_samples)
    else:
        checks.fail("max_samples", _FUNC, expected, max_samples)
    if not 1 <= count <= n_samples:
        checks.fail("max_samples", _FUNC, expected, max_samples)
    return count


def _subsample(data, y, sample_weight, count, root_seed):
    """The same rows of X, y and the weights."""
    if count == data.n_samples:
        return data, y, sample_weight
    seed = np.random.SeedSequence(root_seed.entropy, spawn_key=tuple(root_seed.spawn_key) + (_SUBSAMPLE_KEY,))
    rows = np.sort(np.random.default_rng(seed).choice(data.n_samples, size=count, replace=False))
    if sample_weight is not None:
        sample_weight = sample_weight[rows]
        check_weight_total(sample_weight, _FUNC, text(" on the {count} rows that max_samples drew", count=count))
    return data.take(rows), y[rows], sample_weight


class _CheckFirstChunk(PredictorWrapper):
    """The predictor, with ``y`` checked against the first chunk of unperturbed predictions by every
    metric.

    A ``y`` of the wrong shape, or a metric the predictions cannot satisfy, then fails after one
    forward call rather than after a full pass over the data; no extra forward call is made.
    """

    def __init__(self, predictor, scoring):
        super().__init__(predictor)
        self._scoring = scoring
        self._checked = False

    def __call__(self, chunk, **arguments):
        predictions = self._predictor(chunk, **arguments)
        if not self._checked:
            # The engine's first chunk starts with X's own first rows.
            self._scoring.check(predictions[:len(self._scoring.y)], partial=True)
            self._checked = True
        return predictions


def permutation_importance(model, X, y, *, metric="mae", n_repeats=5, granularity="feature", groups=None,
                           feature_names=None, categorical_features=None, output=None, mask=None, mask_value=None, max_samples=None,
                           sample_weight=None, batch_size=None, random_state=None, progress=None,
                           n_jobs=None, conditional=None):
    """Permutation importance for sequence models: the metric's loss when a variable is shuffled.

    For every label (a feature, a timestep, a cell or a group) and every repeat, the label's values
    are permuted across samples and the model is scored again; the importance is how much worse the
    metric is than on the unperturbed data (positive means the model relies on the label). With
    ``granularity="feature"`` a feature's whole trajectory moves: sample i gets sample π(i)'s values
    of that feature at every timestep, so the order of timesteps within each sample is kept.

    The baseline prediction is computed once; all (labels x repeats) permuted copies are streamed
    through the model in fixed-size chunks, so memory is bounded by a chunk.

    Parameters
    ----------
    model : Keras model, tf_keras model, callable or object with ``.predict``
        Maps X of shape (n, T, F) (or (n, F)) to predictions of shape (n,), (n, k) or (n, T, ...). A
        model with several inputs gets them as X gives them (a list or a dict) in every chunk.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        Held-out data; never modified. Several inputs (a sequence plus static covariates): a list in
        the model's input order or a dict keyed by its input names, all with the same n_samples; every
        feature of every input gets a label, and a feature's values move between samples within its
        own input.
    y : array-like of shape (n_samples,) or (n_samples, ...)
        True targets, the shape of the model's predictions (trailing axes of length 1 may be
        dropped). For sequence outputs every element is scored. For "log_loss", "accuracy" and
        "auc" against (n, k) class probabilities, y may also hold class labels 0..k-1.
    metric : str, scorer, callable, Metric, or a list or dict of them, default="mae"
        "mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc"; any scikit-learn scorer name
        (``sklearn.metrics.get_scorer_names()``: "neg_log_loss", "roc_auc", "f1", "neg_brier_score",
        ...) or scorer object (``make_scorer(fbeta_score, beta=2)``), with scikit-learn's meaning, sign
        and response method; a bare callable ``f(y_true, y_pred) -> float`` is a loss (lower is
        better); for a score use ``seqimp.metrics.Metric(f, greater_is_better=True)``. A classifier
        (an object with ``.predict`` and ``classes_``) is asked for what the metric scores, as
        scikit-learn's scorers ask: ``predict_proba`` for log loss and Brier, ``decision_function``
        (else ``predict_proba``) for ROC AUC and average precision, ``predict`` for labels; a binary
        classifier gives its positive class, ``classes_[1]``. One without the method a probability
        metric needs is refused. Keras models and callables are scored on their outputs as they are.
        A list or dict of metrics returns a dict ``{name: ImportanceResult}`` from one pass over the
        data: every metric scores the same permuted copies, and the model is asked once per chunk
        for each response the metrics need.
    n_repeats : int, default=5
        Independent permutations per label; their spread gives ``importances_std``.
    granularity : {"feature", "timestep", "cell"}, default="feature"
        "feature" permutes a feature at every timestep, "timestep" every feature at one timestep,
        "cell" one feature at one timestep (labels ordered t0/f0, t0/f1, ...).
    groups : dict, default=None
        ``{name: [feature names or indices]}``: the members are permuted together, with one
        permutation, and the result has one row per group.
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
        Names of the features (the last axis of X). Defaults to DataFrame columns or R dimnames, then
        x1..xF (per input; a name two inputs share is prefixed with the input's name, "static.x1").
    categorical_features : list of str or int, default=None
        Features whose values are categories (names or indices). Permutation moves every feature's
        values between samples, whatever their dtype, so this changes no number; it is recorded in
        ``result.params["categorical_features"]`` beside the features categorical anyway (non-numeric
        DataFrame columns, booleans, R factors, token inputs).
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        Which prediction is scored against ``y``, as in :func:`gradient_importance`: an index into the
        flattened per-sample output (e.g. the last step of a sequence-to-sequence model), a tuple index
        such as ``(timestep, class)``, or a reduction. ``y`` then has one value per sample. None scores
        the whole prediction.
    mask : None, False, bool array of shape (n_samples, n_timesteps), or a dict or list of them, default=None
        Padded sequences: True marks a real step. None finds the padding from the model (a Keras
        ``Masking`` layer or ``Embedding(mask_zero=True)``); False turns that off. Values move between
        real cells only, aligned by position from the end: the k-th real step from the end of sample i
        takes the k-th real step from the end of sample π(i) (the latest observations meet the latest,
        as a forecast reads them; with padding at the start this is the same timestep). Where π(i) has
        fewer real steps, i's earlier steps take theirs from another sample that has them, so every
        real cell moves. ``result.extra["n_real_samples"]`` counts the samples real in each label's
        cells.
    mask_value : float, or a dict or list of them, default=None
        For any model: a step is padding where every feature of its input equals this value. Not with
        ``mask``.
    max_samples : int or float, default=None
        Score on a random subset of the rows, for speed on big data: an int is a number of rows, a
        float in (0, 1] a fraction of them; None uses every row. Unlike scikit-learn, which scores
        the baseline on all rows and draws a subset per feature, one subset is drawn per call and
        used for the baseline and every label, so every importance compares the same rows.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples in every metric, as scikit-learn's ``sample_weight``: finite, >= 0 and
        not all zero. With ``max_samples`` the drawn rows keep their weights.
    batch_size : int, default=None
        Rows per forward call. Results do not depend on it.
    random_state : int, Generator, RandomState, SeedSequence or None, default=None
        Seeds the permutations and the subsample. Each (label, repeat) gets its own seed derived
        from it, so results are identical for any ``batch_size``.
    progress : None, bool or callable, default=None
        A progress bar over the rows streamed through the model. None shows a tqdm bar in interactive
        sessions (a terminal or a notebook) once the run has taken a few seconds; True always, False
        never; a callable ``progress(done, total)`` is called after every chunk instead.
    n_jobs : int, default=None
        Run the permuted copies on joblib workers: None or 1 in this process, -1 on every core.
        ``with joblib.parallel_backend("dask")`` runs them on a Dask cluster. The numbers do not depend
        on it (a Keras model's: to float32 round-off). The model travels to each worker once (pickled;
        a Keras model with its weights); R models and models that cannot be pickled need ``n_jobs=1``.
        Each worker compiles a Keras model's forward pass once per call (seconds), and TensorFlow
        already uses every core of one machine: for Keras, workers pay only on long jobs over many
        machines or cores (measured on 2 cores: 0.13x-0.26x for a 0.2-0.3 s LSTM job, 0.93x-1.04x for
        a random forest).
    conditional : None, {"gaussian", "knn"} or a sampler object, default=None
        None permutes each label's values across samples (marginal permutation). Otherwise each
        sample's label cells are replaced by a draw from their distribution given every other cell of
        the same sample (the other features' trajectories, the neighbouring steps for timestep and
        cell labels, the other inputs), so the importance is what the label adds beyond what the rest
        already tells (conditional permutation importance; Strobl et al. 2008). "gaussian": the numeric
        cells of every input are jointly Gaussian, with one covariance over the flattened (T x F)
        cells shrunk towards a multiple of the identity (Ledoit-Wolf's form, the intensity by
        cross-validated likelihood), fitted once per call on the rows scored; at most 2048 cells, and
        it needs many more samples than cells (with fewer, the shrinkage pulls the importances
        towards the marginal ones). "knn": the cells come from one of the sample's 10 nearest
        neighbours in the other numeric cells (standardised, Euclidean): no distribution assumed,
        O(n^2 x cells) per label, blurrier as cells grow. An object with ``fit(X_other, X_label)`` and
        ``sample(X_other, rng)`` (arrays of the flattened numeric cells; ``sample`` returns one row per
        row of X_other) is copied and fitted once per label. Categorical cells (codes, token ids) are
        never drawn as numbers: they are swapped with a near neighbour's (nearest in the other numeric
        cells; any sample when there are none). Padded and missing cells are never used as
        information, and padding is never written (under "knn", a real step beyond the neighbour's
        length keeps its value). ``result.params["conditional"]`` records it. Standard errors count
        the rows, the draws and, for "gaussian", each row's influence on the fitted Gaussian (on a
        correlated linear problem, n = 500: 95% intervals covered the conditional truth 94-96% of the
        time; counting the rows alone, 87-90%); "knn" counts the neighbours as donors; a sampler of
        your own is held as fitted. ``result.inference["covers"]`` says what each interval covers.

    Returns
    -------
    ImportanceResult, or a dict of them
        ``importances`` is an ndarray of shape (n_labels, n_repeats); ``importances_mean`` and
        ``importances_std`` summarise it; ``baseline_score`` is the metric on unperturbed data and
        ``metric`` its name. For a list or dict of metrics, ``{name: ImportanceResult}`` in their order
        (a list's names are the names given, else each metric's name).

    See Also
    --------
    perturbation_importance : needs no ``y``; measures how much the predictions move.
    sage_importance : Shapley values of the loss; credit shared fairly between correlated and
        interacting inputs.

    References
    ----------
    .. [1] L. Breiman, "Random Forests", Machine Learning, 45(1), 5-32, 2001.
    .. [2] A. Fisher, C. Rudin and F. Dominici, "All Models are Wrong, but Many are Useful",
       JMLR 20(177), 1-81, 2019.
    .. [3] C. Strobl, A.-L. Boulesteix, T. Kneib, T. Augustin and A. Zeileis, "Conditional variable
       importance for random forests", BMC Bioinformatics 9, 307, 2008.

    Examples
    --------
    A linear sequence model y = sum over t of (x_t1 + 0.5 x_t2) that ignores feature 3, with U(0, 1)
    inputs: permuting feature j raises the MSE by 2·T·w_j²·Var(x) = 2·10·w_j²/12.

    >>> import numpy as np, seqimp
    >>> X = np.random.default_rng(0).random((2000, 10, 3))
    >>> def model(x):
    ...     return x[:, :, 0].sum(axis=1) + 0.5 * x[:, :, 1].sum(axis=1)
    >>> r = seqimp.permutation_importance(model, X, model(X), metric="mse", random_state=0)
    >>> print(np.round(r.importances_mean, 2))  # 1.67, 0.42 and 0 expected, up to sampling error
    [1.65 0.42 0.  ]
    >>> r.to_frame(sort=True)["feature"].tolist()
    ['x1', 'x2', 'x3']
    """
    metrics, several = get_metrics(metric, _FUNC)
    conditional = check_conditional(conditional, _FUNC)
    n_repeats = checks.check_int(n_repeats, "n_repeats", _FUNC)
    call = prepare(_FUNC, model, X, make_predictor=lambda model, spec: metrics_predictor(
                       model, metrics, output, _FUNC, spec=spec),
                   responses=[m.request for _, m in metrics], granularity=granularity, groups=groups,
                   feature_names=feature_names, categorical_features=categorical_features, mask=mask,
                   mask_value=mask_value, random_state=random_state, progress=progress, n_jobs=n_jobs,
                   batch_size=batch_size, output=output, y=y, sample_weight=sample_weight)
    n = call.data.n_samples
    y = as_target(call.given["y"], n, func=_FUNC, data=call.data)
    sample_weight = check_sample_weight(call.given["sample_weight"], n, metrics, _FUNC)
    count = _n_rows(max_samples, n)
    chunk_rows = call.chunk_rows()
    engine.check_size(call.data, call.labels, n_repeats, _FUNC)  # before Scoring allocates metrics x labels x repeats
    call.data, y, sample_weight = _subsample(call.data, y, sample_weight, count, call.root_seed)
    if conditional is None:
        transform, covers = Resample(call.data, "permutation"), COVERS_PERMUTATION
    else:
        transform = Conditional(call.data, conditional, _FUNC)
        covers = transform.covers
    score = Scoring(metrics, y, sample_weight, call.predictor, len(call.labels), n_repeats, _FUNC,
                    donors=engine.task_donors(transform, call.labels, call.root_seed), covers=covers)

    call.run(transform, n_repeats=n_repeats, chunk_rows=chunk_rows, score=score,
             predictor=_CheckFirstChunk(call.predictor, score))
    params = {"n_repeats": n_repeats, "max_samples": max_samples, "n_samples": call.data.n_samples,
              "sample_weight": sample_weight is not None, "conditional": describe_conditional(conditional)}
    results = {name: finish(call, method="permutation", importances=score.importances[i], metric=m.name,
                            baseline_score=score.baseline_scores[i],
                            params={**params, "greater_is_better": m.greater_is_better},
                            inference=score.inference(i))
               for i, (name, m) in enumerate(metrics)}
    return results if several else next(iter(results.values()))
