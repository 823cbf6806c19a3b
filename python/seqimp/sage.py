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

from . import engine
from .coalitions import Coalition, Coalitions, coalition_sizes, contributions, describe_coalition, draw_orderings
from .errors import Phrase, text
from .inputs import as_target
from .metrics import check_target
from .preamble import finish, prepare
from .progress import open_progress
from .sage_inputs import background_rows, check_gaussian, check_loss, check_options
from .samplers import CellLayout, GaussianConditional
from .task_scoring import metrics_predictor

_FUNC = "sage_importance"
# Orderings per sample when max_permutations is None and the values never converge.
MAX_ORDERINGS = 10_000
# Rounds extend the root seed by (_ROUNDS_KEY, round).
_ROUNDS_KEY = 0x5A6F
# Distinct coalitions whose Gaussian conditionals the gaussian imputer keeps.
_GAUSSIAN_CACHE = 1024

COVERS = Phrase(text(
    "the sampling of the rows of {X} from their distribution and of the orderings (each sample's "
    "contribution is its mean over its orderings; samples are independent given the background): the "
    "interval covers the SAGE values of this fitted model on that distribution. It does not cover the "
    "choice of the background rows (or the Gaussian's fit), the model's own variability (another fit), "
    "nor a shift between {X} and the data the model will see."))


def _averaged(predictions):
    """The mean over the first axis, summed in order as the coalitions' draws are."""
    total = np.zeros(predictions.shape[1:])
    for row in predictions:
        total += row
    return total / len(predictions)


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

    def inference(self):
        """``ImportanceResult.inference``: the standard error over the samples of X (t, n - 1 degrees of
        freedom), and each sample's contribution (its mean over its orderings) as ``sample_effects``."""
        n = len(self.sum)
        if n < 2:
            return {"why_no_se": "one sample gives no spread to estimate a standard error from."}
        return {"se": self.se_samples(), "df": n - 1, "sample_effects": (self.sum / self.rounds).T,
                "estimator": Phrase(text("per-sample SAGE contributions (each the mean over its orderings), "
                                         "standard deviation over the samples of {X} / sqrt(n)")),
                "covers": COVERS}

    def ratio(self):
        values = self.values
        return float(self.se_orderings().max() / max(values.max() - values.min(), 1e-12))


class _Round:
    """Runs rounds of coalitions through the engine and turns their predictions into contributions."""

    def __init__(self, call, loss, y, imputer, background, n_draws, chunk_rows, check):
        self.predictor, self.data, self.loss, self.y = call.predictor, call.data, loss, y
        self.chunk_rows, self.n_jobs, self.root_seed = chunk_rows, call.n_jobs, call.root_seed
        data = call.data
        self.d = len(call.labels)
        gaussian = None
        if imputer == "gaussian":
            layout = CellLayout(data)
            Z, real = layout.rows(0, data.n_samples)[:, layout.numeric], layout.real(0, data.n_samples)
            gaussian = GaussianConditional(Z, None if real is None else real[:, layout.numeric], _GAUSSIAN_CACHE)
        self.transform = Coalitions(data, call.labels, background, gaussian)
        self.n_draws = n_draws  # background rows, or Gaussian draws, per sample and coalition
        self.sizes = coalition_sizes(self.d)
        self.full = self._unperturbed(data)
        check(self.full)  # y against the predictions, before any coalition runs
        self.model_rows = data.n_samples
        self.empty_loss, self.empty_sum, self.rounds = None, 0.0, 0
        every_cell = self.transform.label_cells.any(axis=0).all()
        if background is None or not every_cell:  # the empty coalition differs by sample: a task too
            self.sizes = [(0, 0)] + self.sizes
        else:  # every sample's empty coalition is background row r: its predictions, once
            empty = self._unperturbed(background)
            self.model_rows += background.n_samples
            self.empty_loss = loss(y, np.broadcast_to(_averaged(empty), self.full.shape))

    def _unperturbed(self, data):
        return engine.unperturbed_predictions(self.predictor, data, self.chunk_rows, func=_FUNC, n_jobs=self.n_jobs)

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
        label kept. ``importances_se`` (``inference["se"]``) is the standard error of the values for
        the population X was sampled from (over the samples of X of their contributions, each the
        mean over its orderings, in ``inference["sample_effects"]``; t with n_samples - 1 degrees of
        freedom), which ``confidence_interval``, ``pvalues`` and ``significant`` use: it does not cover
        the choice of background rows (or the Gaussian's fit) nor the model's training. ``extra``:
        ``converged``, ``n_permutations`` (orderings per sample), ``rounds``, ``convergence_ratio``,
        ``se_permutations`` (per label, the Monte Carlo error given X, which the convergence rule
        uses), ``loss_empty`` and ``loss_full`` (their difference is the sum of the values),
        ``model_rows``.

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
    >>> print(np.round(r.importances_se, 2))  # over the 500 samples: 0.94 is within one
    [0.08 0.08 0.  ]
    >>> r.confidence_interval(0.95).round(2)  # both cover 1; the unused input is exactly 0
    array([[0.83, 1.15],
           [0.79, 1.09],
           [0.  , 0.  ]])
    >>> r.significant().tolist()
    [True, True, False]
    >>> bool(np.isclose(r.importances_mean.sum(), r.extra["loss_empty"] - r.extra["loss_full"]))
    True
    """
    metric_obj, loss = check_loss(metric, _FUNC)
    imputer, n_background, convergence, max_permutations = check_options(imputer, n_background, convergence,
                                                                         max_permutations, _FUNC)
    call = prepare(_FUNC, model, X, make_predictor=lambda model, spec: metrics_predictor(
                       model, [(None, metric_obj)], output, _FUNC, spec=spec),
                   responses=[metric_obj.request], granularity=granularity, groups=groups,
                   feature_names=feature_names, mask=mask, mask_value=mask_value, random_state=random_state,
                   progress=progress, n_jobs=n_jobs, batch_size=batch_size, output=output, y=y,
                   background=background)
    data = call.data
    y = as_target(call.given["y"], data.n_samples, func=_FUNC, data=data)
    check_gaussian(data, imputer, _FUNC)
    given = call.given["background"] is not None
    background = background_rows(call, call.given["background"], n_background, imputer, mask_value)
    n_draws = n_background if background is None else background.n_samples
    rounds = _Round(call, loss, y, imputer, background, n_draws, call.chunk_rows(),
                    lambda full: check_target(metric_obj, y, full, _FUNC))
    tracker = _Tracker(data.n_samples, len(call.labels))
    bar = open_progress(call.progress, 100, _FUNC)
    try:
        converged, ratio = _run_rounds(rounds, tracker, convergence, -(-(max_permutations or MAX_ORDERINGS) // 2),
                                       bar)
    finally:
        bar.close()
    extra = {"converged": converged, "n_permutations": 2 * tracker.rounds, "rounds": tracker.rounds,
             "convergence_ratio": ratio, "se_permutations": tracker.se_orderings(),
             "loss_empty": float(np.mean(rounds.empty_losses())), "loss_full": float(np.mean(rounds.full_loss)),
             "model_rows": rounds.model_rows}
    params = {"imputer": imputer, "n_background": n_draws, "background": "given" if given else "X",
              "convergence": convergence, "max_permutations": max_permutations, "n_samples": data.n_samples}
    return finish(call, method="sage", importances=np.column_stack(tracker.round_means), metric=metric_obj.name,
                  params=params, extra=extra, baseline_score=metric_obj(y, rounds.full, func=_FUNC),
                  inference=tracker.inference())
