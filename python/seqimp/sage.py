"""SAGE: Shapley additive global importance (Covert et al. 2020), the Shapley values of the loss.

The permutation-sampling estimator of the ``sage`` package, run through seqimp's engine. Each round
gives every sample of X a random ordering of the labels and its reverse (:mod:`seqimp.coalitions`); the
labels are added one at a time, and a label's contribution is the loss it removes. The coalitions of a
round go through the engine as tasks (coalition, background row), each a copy of X streamed in
fixed-size chunks, so a compiled Keras model is called once per chunk, never once per coalition.
Rounds repeat until the largest standard error is below ``convergence`` times the range of the values,
as in ``sage``.
"""

from __future__ import annotations

import numpy as np

from . import checks, engine, engine_jobs
from .coalitions import Coalition, Coalitions, coalition_sizes, contributions, describe_coalition, draw_orderings
from .inputs import as_target
from .labels import make_labels
from .masks import check_mask_arguments, mask_extra
from .metrics import METRICS, Metric, _class_labels, _is_multiclass, check_target
from .model_inputs import prepare_inputs
from .progress import check_progress, open_progress
from .result import ImportanceResult
from .samplers import MAX_GAUSSIAN_CELLS, CellLayout, GaussianConditional
from .scoring import metrics_predictor

_FUNC = "sage_importance"
IMPUTERS = ("marginal", "gaussian")
LOSSES = ("mse", "mae", "log_loss")
# Orderings per sample when max_permutations is None and the values never converge.
MAX_ORDERINGS = 10_000
# The background rows' seed extends the root seed by this word; rounds extend it by (_ROUNDS_KEY, round).
_BACKGROUND_KEY = 0x5A6E
_ROUNDS_KEY = 0x5A6F
# Distinct coalitions whose Gaussian conditionals the gaussian imputer keeps.
_GAUSSIAN_CACHE = 1024


def _per_sample(y, predictions):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    return y.reshape(p.shape) if y.size == p.size else y, p


def _squared(y, predictions):
    y, p = _per_sample(y, predictions)
    return ((y - p) ** 2).reshape(len(p), -1).mean(axis=1)


def _absolute(y, predictions):
    y, p = _per_sample(y, predictions)
    return np.abs(y - p).reshape(len(p), -1).mean(axis=1)


def _cross_entropy(y, predictions):
    p = np.asarray(predictions, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    if _is_multiclass(np.asarray(y), p):  # class probabilities against labels 0..k-1 or one-hot rows
        labels = _class_labels(np.asarray(y))
        return -np.log(np.clip(p[np.arange(len(p)), labels], eps, 1.0))
    # one probability per element (binary, or a sequence of binary outputs): a sample's mean over them
    y, p = _per_sample(y, p)
    p = np.clip(p, eps, 1.0 - eps)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p)).reshape(len(p), -1).mean(axis=1)


_LOSSES = {"mse": _squared, "mae": _absolute, "log_loss": _cross_entropy}


def _averaged(predictions):
    """The mean over the first axis, summed in order as the coalitions' draws are."""
    total = np.zeros(predictions.shape[1:])
    for row in predictions:
        total += row
    return total / len(predictions)


def _check_loss(metric):
    """(Metric for the model's response and the baseline score, per-sample loss function)."""
    if isinstance(metric, str) and metric.strip().lower() in LOSSES:
        key = metric.strip().lower()
        return METRICS[key], _LOSSES[key]
    if callable(metric) and not isinstance(metric, (str, Metric)):
        def mean_loss(y, p):
            return float(np.mean(_custom_losses(metric, y, p)))

        return Metric(mean_loss, name=getattr(metric, "__name__", "custom")), \
            (lambda y, p: _custom_losses(metric, y, p))
    checks.fail("metric", _FUNC, "one of {'mse', 'mae', 'log_loss'} or a callable loss(y_true, y_pred) "
                "returning one loss per sample (SAGE needs per-sample losses)", metric,
                ValueError if isinstance(metric, str) else TypeError)


def _custom_losses(metric, y, predictions):
    losses = np.asarray(metric(y, predictions), dtype=np.float64)
    if losses.shape != (len(predictions),):
        raise ValueError(f"The 'metric' parameter of {_FUNC}: the callable must return one loss per sample, "
                         f"shape ({len(predictions)},); got shape {losses.shape}.")
    if not np.isfinite(losses).all():
        raise ValueError(f"The 'metric' callable of {_FUNC} returned non-finite losses; seqimp never reports "
                         f"a non-finite importance.")
    return losses


def _background(background, n_background, data, X, model, mask, mask_value, root_seed, imputer):
    """The background rows (a SequenceData) for the marginal imputer; None for the gaussian one."""
    if imputer == "gaussian":
        if background is not None:
            raise ValueError(f"The 'background' parameter of {_FUNC} must be None with imputer='gaussian': the "
                             f"Gaussian is estimated on X and draws n_background values per sample and "
                             f"coalition. Got background as well.")
        return None
    if background is None:
        if n_background >= data.n_samples:
            return data
        seed = np.random.SeedSequence(root_seed.entropy, spawn_key=tuple(root_seed.spawn_key) + (_BACKGROUND_KEY,))
        rows = np.sort(np.random.default_rng(seed).choice(data.n_samples, size=n_background, replace=False))
        return data.take(rows)
    if mask is not None and mask is not False:
        raise ValueError(f"The 'background' parameter of {_FUNC} must be None when 'mask' is an array: the "
                         f"background rows are then drawn from X, whose real steps the mask gives. Pass "
                         f"mask_value=, or no background.")
    bg = prepare_inputs(background, None, model, _FUNC, mask=mask, mask_value=mask_value)
    shapes, expected = [b.input_shape[1:] for b in bg.blocks], [b.input_shape[1:] for b in data.blocks]
    columns = [list(getattr(v, "columns", [])) for v in (background, X)]
    if shapes != expected or columns[0] != columns[1]:
        got = f"columns {columns[0]}" if columns[0] != columns[1] else f"shapes {[('n',) + s for s in shapes]}"
        raise ValueError(f"The 'background' parameter of {_FUNC} must be rows like X's: inputs of shapes "
                         f"{[('n',) + s for s in expected]}" + (f" and columns {columns[1]}" if columns[1] else "")
                         + f", in X's order. Got {got} instead.")
    return bg


def _check_options(imputer, n_background, convergence, max_permutations, n_jobs, progress):
    imputer = checks.check_option(imputer, "imputer", _FUNC, IMPUTERS)
    n_background = checks.check_int(n_background, "n_background", _FUNC)
    convergence = checks.check_float(convergence, "convergence", _FUNC, low=0.0, high=1.0, low_inclusive=False)
    max_permutations = checks.check_int(max_permutations, "max_permutations", _FUNC, low=2, allow_none=True)
    return imputer, n_background, convergence, max_permutations, engine_jobs.check_n_jobs(n_jobs, _FUNC), \
        check_progress(progress, _FUNC)


class _Tracker:
    """Per-sample contributions summed over rounds, the estimate and its two standard errors."""

    def __init__(self, n, d):
        self.sum = np.zeros((n, d))
        self.sum_squares = np.zeros((n, d))
        self.round_means = []

    def add(self, units):
        self.sum += units
        self.sum_squares += units ** 2
        self.round_means.append(units.mean(axis=0))

    @property
    def rounds(self):
        return len(self.round_means)

    @property
    def values(self):
        return self.sum.mean(axis=0) / self.rounds

    def se_orderings(self):
        """The Monte Carlo error of the values given X, y and the background: from each sample's spread
        over rounds (two rounds or more), else treating the samples' contributions as independent."""
        n, q = len(self.sum), self.rounds
        if q < 2:
            return (self.sum.std(axis=0, ddof=1) if n > 1 else np.zeros(self.sum.shape[1])) / np.sqrt(n)
        within = (self.sum_squares - self.sum ** 2 / q) / (q - 1)
        return np.sqrt(np.maximum(within, 0.0).sum(axis=0) / (n ** 2 * q))

    def se_samples(self):
        """The standard error of the values as an estimate for the population X was drawn from."""
        n = len(self.sum)
        return self.sum.std(axis=0, ddof=1) / self.rounds / np.sqrt(n) if n > 1 else np.zeros(self.sum.shape[1])

    def ratio(self):
        values = self.values
        return float(self.se_orderings().max() / max(values.max() - values.min(), 1e-12))


class _Round:
    """Runs rounds of coalitions through the engine and turns their predictions into contributions."""

    def __init__(self, predictor, data, labels, loss, y, imputer, background, n_draws, chunk_rows, n_jobs,
                 root_seed, check):
        self.predictor, self.data, self.loss, self.y = predictor, data, loss, y
        self.chunk_rows, self.n_jobs, self.root_seed = chunk_rows, n_jobs, root_seed
        self.d = len(labels)
        self.imputer = imputer
        gaussian = None
        if imputer == "gaussian":
            layout = CellLayout(data)
            Z, real = layout.rows(0, data.n_samples)[:, layout.numeric], layout.real(0, data.n_samples)
            gaussian = GaussianConditional(Z, None if real is None else real[:, layout.numeric], _GAUSSIAN_CACHE)
        self.transform = Coalitions(data, labels, background, gaussian)
        self.n_draws = n_draws  # background rows, or Gaussian draws, per sample and coalition
        self.sizes = coalition_sizes(self.d)
        self.full = engine.baseline_predictions(predictor, data, chunk_rows, func=_FUNC, n_jobs=n_jobs)
        check(self.full)  # y against the predictions, before any coalition runs
        self.model_rows = data.n_samples
        self.empty_loss, self.empty_sum, self.rounds = None, 0.0, 0
        every_cell = self.transform.label_cells.any(axis=0).all()
        if background is None or not every_cell:  # the empty coalition differs by sample: a task too
            self.sizes = [(0, 0)] + self.sizes
        else:  # every sample's empty coalition is background row r: its predictions, once
            empty = engine.baseline_predictions(predictor, background, chunk_rows, func=_FUNC, n_jobs=n_jobs)
            self.model_rows += background.n_samples
            self.empty_loss = loss(y, np.broadcast_to(_averaged(empty), self.full.shape))

    @property
    def full_loss(self):
        """Each sample's loss with every label kept: the model's prediction, averaged over as many draws
        as a coalition is (in the same order), so a label the model ignores adds exactly 0."""
        return self.loss(self.y, _averaged(np.broadcast_to(self.full, (self.n_draws,) + self.full.shape)))

    def empty_losses(self):
        """Each sample's loss with no label kept (gaussian: the mean over the rounds' draws)."""
        return self.empty_loss if self.empty_loss is not None else self.empty_sum / max(self.rounds, 1)

    def run(self, q):
        seed = np.random.SeedSequence(self.root_seed.entropy,
                                      spawn_key=tuple(self.root_seed.spawn_key) + (_ROUNDS_KEY, q))
        orderings = draw_orderings(seed, self.data.n_samples, self.d)
        self.transform.set_orderings(orderings)
        tasks = [Coalition(direction, size, r) for direction, size in self.sizes for r in range(self.n_draws)]
        sums = {}

        def collect(unperturbed, predictions, j, r):
            key = self.sizes[j // self.n_draws]
            if key not in sums:
                sums[key] = np.zeros(predictions.shape)
            sums[key] += predictions

        if tasks:
            engine.run(self.predictor, self.data, tasks, self.transform, n_repeats=1, root_seed=seed,
                       chunk_rows=self.chunk_rows, collect=collect, describe_task=describe_coalition,
                       func=_FUNC, n_jobs=self.n_jobs)
        self.model_rows += self.data.n_samples * (1 + len(tasks)) if tasks else 0
        return contributions(orderings, *self._losses(sums))

    def _losses(self, sums):
        n = self.data.n_samples
        losses = {key: self.loss(self.y, total / self.n_draws) for key, total in sums.items()}
        full = self.full_loss
        empty = self.empty_loss
        if empty is None:
            empty = losses[(0, 0)]
            self.empty_sum = self.empty_sum + empty
        self.rounds += 1
        tables = []
        for direction in (0, 1):
            columns = [empty] + [losses[(direction, k)] for k in range(1, self.d)] + [full]
            tables.append(np.column_stack(columns) if n else np.zeros((0, self.d + 1)))
        return tables


def _check_gaussian(data, imputer):
    if imputer != "gaussian":
        return
    categorical = [data.feature_names[j] for j in data.categorical_features]
    if categorical:
        raise ValueError(f"The 'imputer' parameter of {_FUNC} is 'gaussian', which draws numbers; X has "
                         f"categorical features {categorical}, which are never drawn as numbers. Use "
                         f"imputer='marginal'.")
    cells = int(CellLayout(data).numeric.sum())
    if cells > MAX_GAUSSIAN_CELLS:
        raise ValueError(f"The 'imputer' parameter of {_FUNC} is 'gaussian', which models the {cells} cells "
                         f"of X (timesteps x features, every input) jointly; seqimp's limit is "
                         f"{MAX_GAUSSIAN_CELLS}. Use imputer='marginal' or fewer timesteps.")


def _run_rounds(rounds, tracker, convergence, max_rounds, bar):
    """Rounds until the largest standard error is below ``convergence`` x the range of the values (or
    ``max_rounds``); returns (converged, ratio)."""
    shown, ratio = 0, np.inf
    for q in range(max_rounds):
        tracker.add(rounds.run(q))
        ratio = tracker.ratio()
        done = 100 if ratio < convergence or q + 1 == max_rounds else \
            int(99 * max((q + 1) / max_rounds, min(1.0, (convergence / ratio) ** 2)))
        bar.update(max(0, done - shown))
        shown = max(shown, done)
        if ratio < convergence:
            return True, ratio
    return False, ratio


def sage_importance(model, X, y, *, metric="mse", imputer="marginal", background=None, n_background=128,
                    granularity="feature", groups=None, feature_names=None, output=None, mask=None,
                    mask_value=None, convergence=0.025, max_permutations=None, n_jobs=1, batch_size=None,
                    random_state=None, progress=None):
    """SAGE: each label's Shapley value of the loss, estimated by sampling orderings of the labels.

    A label's SAGE value is how much it lowers the loss on average over the orders in which the labels
    can be added to the model's input, labels not yet added being marginalised out (Covert et al.
    2020). It shares credit fairly where inputs interact (for y = x1 x2 both get half) and where they
    are correlated, and the values add up to what the model explains: loss(no label) - loss(every
    label) (efficiency). Positive means the label lowers the loss.

    Every round gives each sample of X a random ordering of the labels and its reverse; each
    coalition of those orderings is evaluated on every background row (``imputer="marginal"``) or
    on ``n_background`` Gaussian draws, the predictions averaged, and the loss taken of the average.
    All the coalitions of a round go through the model in fixed-size chunks (one compiled forward
    per chunk for a Keras model): (1 + 2 (labels - 1) x n_background) x n_samples rows per round.
    Rounds stop when the largest standard error of the values is below ``convergence`` x (max - min
    of the values), as in the ``sage`` package.

    Parameters
    ----------
    model : Keras model, tf_keras model, callable or object with ``.predict``
        As in :func:`permutation_importance`; a classifier is asked for ``predict_proba`` when
        ``metric="log_loss"``.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        The samples whose loss is explained; never modified.
    y : array-like of shape (n_samples,) or (n_samples, ...)
        True targets, as in :func:`permutation_importance`.
    metric : {"mse", "mae", "log_loss"} or callable, default="mse"
        A loss per sample (sequence outputs: the mean over a sample's elements): squared error,
        absolute error or cross-entropy (``y`` class labels 0/1, or 0..k-1 against (n, k)
        probabilities); or a callable ``loss(y_true, y_pred)`` returning one loss per sample, shape
        (n_samples,). SAGE needs per-sample losses, so metrics such as AUC are not offered.
    imputer : {"marginal", "gaussian"}, default="marginal"
        How removed labels are filled: "marginal" from the background rows (the prediction is
        averaged over them), "gaussian" with draws from their Gaussian conditional given the sample's
        kept cells (shrunk covariance estimated on X, as ``permutation_importance(conditional=
        "gaussian")``), which respects correlations between the inputs; numeric features only.
    background : array-like like X, default=None
        The rows that fill removed labels (marginal imputer). None draws ``n_background`` rows of X
        without replacement (all of X when it has fewer rows). Must be None under an array ``mask``
        and with the gaussian imputer.
    n_background : int, default=128
        Background rows drawn from X, or Gaussian draws per sample and coalition. Each costs
        2 x (labels - 1) x n_samples model rows per round.
    granularity : {"feature", "timestep", "cell"}, default="feature"
        What gets a value, as in :func:`permutation_importance`.
    groups : dict, default=None
        ``{name: [feature names or indices]}`` valued together; features in no group are always
        kept (part of every coalition).
    feature_names : sequence of str, or a dict or list of them (several inputs), default=None
        As in :func:`permutation_importance`.
    output : None, int, tuple or {"sum", "mean", "max"}, default=None
        Which prediction is explained, as in :func:`permutation_importance`.
    mask, mask_value : default=None
        Padded sequences, as in :func:`permutation_importance`: padding is never written, background
        values align by position from the end of each sequence, and a real step of a sample beyond
        its background row's length keeps its own value.
    convergence : float in (0, 1), default=0.025
        Stop when the largest standard error (over orderings, ``extra["se_permutations"]``) is below
        this fraction of (max - min) of the values; ``sage``'s ``thresh``.
    max_permutations : int, default=None
        The most orderings per sample (rounded up to pairs); None: until convergence, at most 10,000.
    n_jobs : int, default=1
        Workers for each round's chunks, as in :func:`permutation_importance`; the numbers do not
        depend on it. The model is sent to the workers once per round.
    batch_size : int, default=None
        Rows per forward call. The numbers do not depend on it.
    random_state : int, Generator, RandomState, SeedSequence or None, default=None
        Seeds the background rows, the orderings (per round and random block of samples) and the
        Gaussian draws (per task), so the numbers do not depend on ``batch_size`` or ``n_jobs``.
    progress : None, bool or callable, default=None
        A bar of the estimated way to convergence, in percent (see :func:`permutation_importance`).

    Returns
    -------
    ImportanceResult
        ``method="sage"``; ``importances`` has one column per round (each round's mean over the
        samples; ``importances_mean`` are the SAGE values); ``baseline_score`` is the metric with every
        label kept. ``inference["se"]`` is the standard error of the values for the population X was
        sampled from (over the samples of X, with the orderings' noise inside each sample's mean;
        t with n_samples - 1 degrees of freedom): it does not cover the choice of background rows or
        the model's training. ``extra``: ``converged``, ``n_permutations`` (orderings per sample),
        ``rounds``, ``convergence_ratio``, ``se_permutations`` (the Monte Carlo error given X, which
        the convergence rule uses), ``loss_empty`` and ``loss_full`` (their difference is the sum of the
        values), ``model_rows``.

    See Also
    --------
    permutation_importance : marginal or conditional permutation; one label at a time.

    References
    ----------
    .. [1] I. Covert, S. Lundberg and S.-I. Lee, "Understanding Global Feature Contributions With
       Additive Importance Measures", NeurIPS 2020.
    .. [2] R. Mitchell, J. Cooper, E. Frank and G. Holmes, "Sampling Permutations for Shapley Value
       Estimation", JMLR 23(43), 2022 (antithetic orderings).

    Examples
    --------
    An additive model of independent inputs: the SAGE value of x_j is w_j^2 Var(x_j) under the squared
    error (here 1 x 1 and 0.25 x 4 = 1), and an unused input gets exactly 0.

    >>> import numpy as np, seqimp
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)) * [1.0, 2.0, 1.0]
    >>> def model(x):
    ...     return x[:, 0] + 0.5 * x[:, 1]
    >>> r = seqimp.sage_importance(model, X, model(X), n_background=64, random_state=0)
    >>> print(np.round(r.importances_mean, 2), r.extra["converged"])  # 1, 1 and 0 expected
    [0.99 0.94 0.  ] True
    >>> print(np.round(r.inference["se"], 2))  # over the 500 samples: 0.94 is within one
    [0.08 0.08 0.  ]
    >>> bool(np.isclose(r.importances_mean.sum(), r.extra["loss_empty"] - r.extra["loss_full"]))
    True
    """
    metric_obj, loss = _check_loss(metric)
    imputer, n_background, convergence, max_permutations, n_jobs, progress = _check_options(
        imputer, n_background, convergence, max_permutations, n_jobs, progress)
    root_seed = checks.check_random_state(random_state, _FUNC)
    check_mask_arguments(mask, mask_value, _FUNC)
    predictor = metrics_predictor(model, [(None, metric_obj)], output, _FUNC)
    data = prepare_inputs(X, feature_names, model, _FUNC, mask=mask, mask_value=mask_value)
    y = as_target(y, data.n_samples, func=_FUNC)
    granularity, labels = make_labels(data, granularity, groups, _FUNC)
    _check_gaussian(data, imputer)
    given = background is not None
    background = _background(background, n_background, data, X, model, mask, mask_value, root_seed, imputer)
    chunk_rows = engine.resolve_chunk_rows(predictor, data, batch_size, _FUNC)
    n_draws = n_background if background is None else background.n_samples
    rounds = _Round(predictor, data, labels, loss, y, imputer, background, n_draws, chunk_rows, n_jobs,
                    root_seed, lambda full: check_target(metric_obj, y, full, _FUNC))
    tracker = _Tracker(data.n_samples, len(labels))
    max_rounds = -(-(max_permutations or MAX_ORDERINGS) // 2)
    bar = open_progress(progress, 100, _FUNC)
    try:
        converged, ratio = _run_rounds(rounds, tracker, convergence, max_rounds, bar)
    finally:
        bar.close()
    n = data.n_samples
    extra = {"converged": converged, "n_permutations": 2 * tracker.rounds, "rounds": tracker.rounds,
             "convergence_ratio": ratio, "se_permutations": tracker.se_orderings(),
             "loss_empty": float(np.mean(rounds.empty_losses())), "loss_full": float(np.mean(rounds.full_loss)),
             "model_rows": rounds.model_rows, **mask_extra(data, labels)}
    inference = {"se": tracker.se_samples(), "df": n - 1, "estimator": "per-sample SAGE contributions "
                 "(each the mean over its orderings), standard error over the samples of X",
                 "covers": "the sampling of the rows of X and of the orderings; not the choice of background "
                 "rows (or Gaussian fit) nor the model's training"}
    params = {"imputer": imputer, "n_background": n_background if background is None else background.n_samples,
              "background": "given" if given else "X", "convergence": convergence,
              "max_permutations": max_permutations, "n_samples": n, "mask": data.mask_source}
    return ImportanceResult(method="sage", labels=labels, importances=np.column_stack(tracker.round_means),
                            granularity=granularity, metric=metric_obj.name,
                            baseline_score=metric_obj(y, rounds.full, func=_FUNC), feature_names=data.feature_names,
                            params=params, extra=extra, inference=inference)
