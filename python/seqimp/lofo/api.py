"""The public functions: leave-one-feature-out importance and stepwise selection, both by retraining."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import checks
from ..inference import nadeau_bengio
from ..result import ImportanceResult
from .retrain import Retrainer, session
from .setup import make_setup

DIRECTIONS = ("backward", "forward")
_LOFO = "lofo_importance"
_STEPWISE = "stepwise_importance"


def lofo_importance(model_or_builder, X, y, *, fit_kwargs=None, metric="mae", cv=5, mode="drop",
                    groups=None, feature_names=None, n_jobs=1, checkpoint=None, random_state=None,
                    progress=True, sample_weight=None, mask=None, mask_value=None):
    """Leave-one-feature-out importance: how much worse the model gets when retrained without a feature.

    For every fold of ``cv`` the model is trained once with every feature and once without each
    feature (or group); the importance of a feature on a fold is the validation score without it
    minus the score with every feature, oriented so that positive means the model needs the feature.
    Unlike perturbation or permutation, this asks whether a model could do as well without the
    variable, so two correlated features can each have an importance near 0.

    Parameters
    ----------
    model_or_builder : compiled Keras model or callable
        A compiled Keras 3 or tf_keras model (an R keras model is the same object): it is cloned with
        fresh weights, rebuilt for the narrower input when a feature is dropped, and compiled with the
        same optimizer configuration, loss and metrics. Its trained weights are not used. Or a
        scikit-learn estimator (anything with ``get_params``, ``fit`` and ``predict``): every fit uses
        ``sklearn.base.clone(estimator)``, so a fitted one is accepted and its fitted state ignored, and
        the caller's object is never changed. Or a builder ``build(n_features) -> compiled model``,
        called once per fit; it may also return any object with ``fit(X, y, **fit_kwargs)`` and
        ``predict(X)``.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features)
        A scikit-learn estimator takes 2-D input, so 3-D X reaches it flattened timestep-major, as
        ``X.reshape(n_samples, -1)`` would (columns t0/f0, t0/f1, ..., t1/f0, ...); leaving a feature
        out removes its n_timesteps columns. A pandas DataFrame reaches a scikit-learn estimator as a
        DataFrame without the left-out columns (dtypes and index kept), so a pipeline that selects
        columns by dtype (``make_column_selector``) and encodes strings or categoricals works; a builder
        or a Keras model gets arrays of numbers, and non-numeric columns are refused. Categorical
        features cannot be held at a mean, so ``mode="constant"`` refuses them.
    y : array-like of shape (n_samples, ...)
        Targets, in the shape the model is trained on.
    fit_kwargs : dict, default=None
        Passed to ``model.fit``, e.g. ``{"epochs": 20, "batch_size": 32}``. ``verbose`` defaults to 0.
        ``sample_weight`` (one weight per sample of X) is split with the folds; ``validation_split``
        is taken from each training fold. ``x``, ``y`` and ``validation_data`` are refused.
    metric : str, scorer, Metric or callable, default="mae"
        "mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc", any scikit-learn scorer name or
        ``make_scorer`` object (a fitted classifier is asked for ``predict_proba`` or
        ``decision_function`` where the metric scores them, as in :func:`permutation_importance`), a
        :class:`seqimp.metrics.Metric`, or ``f(y_true, y_pred) -> float`` taken as a loss (lower is
        better). One metric: every fit is scored once.
    cv : int, scikit-learn splitter or iterable of (train, test), default=5
        An int is ``KFold(cv, shuffle=True)`` seeded from ``random_state``. Any splitter works, e.g.
        ``TimeSeriesSplit(5)`` to validate on the future only. Splits are over samples.
    mode : {"drop", "constant"}, default="drop"
        "drop" removes the feature's column (the model has one input fewer); "constant" keeps the
        architecture and replaces the feature, in training and validation data, by its training-fold
        mean over samples and timesteps.
    groups : dict, default=None
        ``{name: [feature names or indices]}`` left out together; one row per group, then, as the
        lofo-importance package does, one row for each feature in no group, left out on its own (in
        column order, under its own name; a group may not take the name of such a feature). To ask
        about the groups alone, put the other features in one group of their own: one fit per fold
        instead of one per feature.
    feature_names : sequence of str, default=None
    n_jobs : int or None, default=1
        Fits run in parallel through joblib: -1 uses every core. Inside
        ``with joblib.parallel_backend("dask"):`` (beside a ``dask.distributed.Client``) the fits run
        on the Dask cluster; pass ``n_jobs=-1`` there, since ``n_jobs=1`` always runs in this
        process. Each worker process caps TensorFlow at its share of the cores (a Dask worker: its
        thread count). The model or builder must be picklable when ``n_jobs != 1``.
    checkpoint : str or path-like, default=None
        A file that records every finished (feature, fold) score as soon as it is known. Rerunning the
        same call resumes: nothing already done is retrained and the numbers are the same. A file
        written for other data or arguments is refused. An interruption (Ctrl-C, a killed process)
        loses at most the fits that were running. With ``random_state=None`` the seed drawn by the
        first run is stored in the file and reused. A builder is recognised by its qualified name
        and its code (its bytecode, constants, defaults and closure values, and the functions and
        classes of its module that it uses; comments do not count), so an edited builder is refused;
        a compiled model by its architecture and compile settings, an estimator by its class and
        ``get_params()``. One run writes a file at a time: a call on a file that another run (another
        process, or another thread) is writing raises a RuntimeError; the lock goes with the run,
        however it ends.
    random_state : int, Generator, SeedSequence or None, default=None
        Seeds the folds (for an int ``cv``) and every fit (``keras.utils.set_random_seed``; for a
        scikit-learn estimator, every ``random_state`` parameter it leaves at None, nested ones in a
        pipeline too; one it sets is kept, as ``cross_validate`` keeps it). One seed per fold is
        shared by all of that fold's fits, so the numbers do not depend on ``n_jobs``, the backend, or
        the order in which fits finish.
    progress : bool, default=True
        Show a tqdm progress bar over fits, with an estimate of the time left.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples: each fold's validation metric weighs its test rows by them, and each
        fit gets its training rows' weights where ``fit`` takes ``sample_weight`` (Keras models and
        builders, and estimators whose ``fit`` has that parameter; a ``Pipeline``'s has not, so it is
        fitted unweighted). A ``sample_weight`` in ``fit_kwargs`` weighs the fits instead. Finite,
        >= 0, not all zero.
    mask, mask_value : default=None
        Padded sequences, as in :func:`perturbation_importance` (None: a compiled Keras model's
        ``Masking`` layer; a builder declares none). With ``mode="constant"`` a feature is held at its
        training-fold mean over real cells, on real cells only, so padding stays padding.

    Returns
    -------
    ImportanceResult
        ``importances`` of shape (n_labels, n_folds); ``baseline_score`` is the mean validation score
        of the model with every feature. ``extra`` holds ``"scores"`` (n_labels, n_folds), the
        validation scores without each label, ``"baseline_scores"`` (n_folds,), ``"folds"`` (the
        (train, test) indices) and ``"n_fitted"`` (fits run by this call; 0 when all came from the
        checkpoint).

    Raises
    ------
    FitError
        When a fit fails; the message names the feature and the fold, and finished fits stay in the
        checkpoint.

    Notes
    -----
    The cost is (n_labels + 1) x n_folds fits. Numbers are identical across ``n_jobs`` and backends
    as long as TensorFlow's kernels give the same bits with the worker's thread count (true for the
    small and medium layers measured; very large matrix products may split work by thread count).

    References
    ----------
    .. [1] Olden, Joy and Death (2004), "An accurate comparison of methods for quantifying variable
       importance in artificial neural networks using simulated data", Ecological Modelling 178.
    .. [2] The LOFO importance package, https://github.com/aerdem4/lofo-importance

    Examples
    --------
    A builder for a Keras LSTM on (samples, timesteps, features) data, fitted (3 + 1) x 2 times (pass
    ``checkpoint="lofo.jsonl"`` to keep finished fits, and ``n_jobs=-1`` to fit on every core):

    >>> import numpy as np, keras, seqimp
    >>> X = np.random.default_rng(0).random((120, 6, 3)).astype("float32")
    >>> y = X[:, :, 0].mean(axis=1)
    >>> def build(n_features):
    ...     model = keras.Sequential([keras.Input((6, n_features)), keras.layers.LSTM(4),
    ...                               keras.layers.Dense(1)])
    ...     model.compile(optimizer="adam", loss="mse")
    ...     return model
    >>> r = seqimp.lofo_importance(build, X, y, fit_kwargs={"epochs": 2}, cv=2, random_state=0)
    >>> r.importances.shape  # 3 features x 2 folds
    (3, 2)

    A scikit-learn estimator, cloned for every fit; under MSE a linear model that loses x_j gains
    w_j**2 Var(x_j), here 4, 0.25 and 0:

    >>> import numpy as np, seqimp
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = 2 * X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.normal(size=200)
    >>> r = seqimp.lofo_importance(LinearRegression(), X, y, metric="mse", cv=5, random_state=0,
    ...                            progress=False)
    >>> r.importances_mean[:2].round(2).tolist(), bool(abs(r.importances_mean[2]) < 0.01)
    ([4.27, 0.25], True)
    """
    setup = make_setup(_LOFO, model_or_builder=model_or_builder, X=X, y=y, fit_kwargs=fit_kwargs,
                       metric=metric, cv=cv, mode=mode, groups=groups, feature_names=feature_names,
                       n_jobs=n_jobs, checkpoint=checkpoint, random_state=random_state, progress=progress,
                       sample_weight=sample_weight, mask=mask, mask_value=mask_value)
    everything = tuple(range(len(setup.labels)))
    actives = [everything] + [tuple(j for j in everything if j != i) for i in everything]
    total = Retrainer(setup).n_fits(actives)
    with session(setup, total, actives) as runner:
        scores = runner.scores(actives)
    baseline, without = scores[0], scores[1:]
    importances = setup.metric.worsening(baseline[np.newaxis, :], without)
    return _result(setup, "lofo", importances, baseline,
                   {"scores": without, "baseline_scores": baseline, "folds": setup.folds,
                    "n_fitted": runner.n_fitted},
                   sample_weight=setup.sample_weight is not None, weighted_fits=setup.weighted_fits)


def stepwise_importance(model_or_builder, X, y, *, direction="backward", fit_kwargs=None, metric="mae",
                        cv=5, mode="drop", groups=None, feature_names=None, n_jobs=1, checkpoint=None,
                        random_state=None, progress=True, mask=None, mask_value=None):
    """Stepwise importance: rank features by backward elimination or forward addition, retraining each time.

    ``direction="backward"`` starts from every feature; each step retrains the model without each
    remaining feature and removes the one whose loss hurts the cross-validated score least. The
    feature removed last ranks first. ``direction="forward"`` starts from no feature; each step adds
    the feature that improves the score most. The feature added first ranks first. These are the
    backward-elimination and forward-addition methods compared by Olden et al. (2004).

    The importance of a feature is its step's change in the validation score along the chosen path
    (backward: the worsening when it was removed; forward: the improvement when it was added), per
    fold. A model with no feature predicts the training-fold mean of ``y``, so in both directions the
    importances sum to the improvement of the full model over that mean. Every argument shared with
    :func:`lofo_importance` means the same; fits with the same features and fold are the same fit,
    with the same seed.

    Parameters
    ----------
    model_or_builder, X, y, fit_kwargs, metric, cv, mode, groups, feature_names, n_jobs, checkpoint, \
random_state, progress, mask, mask_value
        As in :func:`lofo_importance`.
    direction : {"backward", "forward"}, default="backward"

    Returns
    -------
    ImportanceResult
        ``importances`` of shape (n_labels, n_folds), in label order. ``extra`` holds ``"rank"``
        (ndarray of shape (n_labels,), 1 = most important by the path), ``"order"`` (label names in
        the order they were removed or added), ``"path"`` (one dict per step: ``step``, ``feature``,
        ``action``, ``n_active``, ``score`` (mean over folds after the step) and ``candidates``
        (mean score of every candidate tried)), ``"null_scores"`` and ``"n_fitted"``.

    Notes
    -----
    The cost is n_labels x (n_labels + 1) / 2 x n_folds fits in either direction; the fits of one
    step run in parallel. Ties go to the label listed first.

    References
    ----------
    .. [1] Olden, Joy and Death (2004), Ecological Modelling 178, 389-397.
    .. [2] Gevrey, Dimopoulos and Lek (2003), "Review and comparison of methods to study the
       contribution of variables in artificial neural network models", Ecological Modelling 160.
    """
    direction = checks.check_option(direction, "direction", _STEPWISE, DIRECTIONS)
    setup = make_setup(_STEPWISE, model_or_builder=model_or_builder, X=X, y=y, fit_kwargs=fit_kwargs,
                       metric=metric, cv=cv, mode=mode, groups=groups, feature_names=feature_names,
                       n_jobs=n_jobs, checkpoint=checkpoint, random_state=random_state, progress=progress,
                       extra_fingerprint={"direction": direction}, mask=mask, mask_value=mask_value)
    L = len(setup.labels)
    names = [lb.name for lb in setup.labels]
    # Every path visits L (L + 1) / 2 + 1 feature sets, the empty one (usually the null model) included.
    total = L * (L + 1) // 2 * len(setup.folds) + (0 if Retrainer(setup).is_null(()) else len(setup.folds))
    with session(setup, total) as runner:
        null = runner.scores([()])[0]
        full = runner.scores([tuple(range(L))])[0]
        walk = _DIRECTIONS[direction]
        contributions, order, path = walk.run(runner, names, null, full, setup.metric.worsening)
    return _result(setup, f"stepwise_{direction}", contributions, full,
                   {"rank": walk.ranks(order), "order": [names[j] for j in order], "path": path,
                    "null_scores": null, "full_scores": full, "folds": setup.folds,
                    "n_fitted": runner.n_fitted},
                   direction=direction)


def _result(setup, method, importances, baseline, extra, **params):
    """The ImportanceResult of a retraining run; ``params`` come before the ones both functions share."""
    return ImportanceResult(
        method=method, labels=setup.labels, importances=importances, granularity=setup.granularity,
        metric=setup.metric.name, baseline_score=float(baseline.mean()),
        feature_names=setup.data.feature_names,
        params={**params, "mode": setup.mode, "mask": setup.data.mask_source, "cv": setup.cv_description,
                "n_folds": len(setup.folds),
                "fit_kwargs": dict(setup.fit_kwargs)},
        extra=extra, inference=nadeau_bengio(importances, setup.folds, selected=method != "lofo"),
    )


@dataclass(frozen=True)
class _Direction:
    """What tells backward elimination from forward addition; the walk itself is the same.

    Each step moves one label between the active set and the rest, trying every label that can move,
    and scores the change it makes as the worsening of the model *without* that label: backward, the
    loss from removing it; forward, the gain from adding it. Backward removes the label whose loss
    hurts least, forward adds the one that helps most, so the label moved first ranks last backward
    and first forward.
    """

    removes: bool       # the active set starts full and shrinks (else starts empty and grows)
    action: str         # the path's word for a step
    choose: object      # np.argmin or np.argmax over the candidates' mean change

    def run(self, runner, names, null, full, worsening):
        """(contributions of shape (n_labels, n_folds), labels in the order moved, the path's steps).

        ``null`` and ``full`` are the scores of the empty and the full active set, per fold.
        """
        L = len(names)
        active, current = (tuple(range(L)), full) if self.removes else ((), null)
        contributions = np.zeros((L, len(current)))
        order, path = [], []
        while movable := self._movable(active, L):
            candidates = [tuple(sorted(set(active) ^ {j})) for j in movable]
            scores = runner.scores(candidates)
            change = self._worsening_without(worsening, current, scores)
            pick = int(self.choose(change.mean(axis=1)))
            j = movable[pick]
            contributions[j] = change[pick]
            order.append(j)
            path.append({"step": len(order), "feature": names[j], "action": self.action,
                         "n_active": len(candidates[pick]), "score": float(scores[pick].mean()),
                         "candidates": {names[c]: float(scores[i].mean()) for i, c in enumerate(movable)}})
            active, current = candidates[pick], scores[pick]
        return contributions, order, path

    def _movable(self, active, n_labels):
        """The labels a step may move: the active ones backward, the others forward (ascending)."""
        return [j for j in range(n_labels) if (j in active) == self.removes]

    def _worsening_without(self, worsening, current, scores):
        """Per candidate and fold, how much worse the model is without the label the candidate moves."""
        if self.removes:
            return worsening(current[np.newaxis, :], scores)
        return worsening(scores, current[np.newaxis, :])

    def ranks(self, order):
        """1 = most important: backward removes the most important label last, forward adds it first."""
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), 0, -1) if self.removes else np.arange(1, len(order) + 1)
        return rank


_DIRECTIONS = {"backward": _Direction(removes=True, action="removed", choose=np.argmin),
               "forward": _Direction(removes=False, action="added", choose=np.argmax)}
