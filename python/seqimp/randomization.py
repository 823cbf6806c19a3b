"""The randomization test (Olden & Jackson 2002; PIMP, Altmann et al. 2010): p-values for any importance
method from refits on permuted responses.

The model is fitted once on ``y`` and ``n_permutations`` times on ``y`` with its rows permuted (a
sequence's targets move together), always from the same initial weights, and the importance is
recomputed after every fit; the observed importance is compared with its null distribution. The fits
reuse LOFO's machinery (:mod:`seqimp.lofo`): the same rebuild of a compiled Keras model or clone of an
estimator, the same builder calls, seeds, ``fit_kwargs``, joblib/Dask dispatch and checkpoint file
(one line per finished permutation, holding its importances).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import time
import traceback

import numpy as np

from . import adapters, checks
from .edge import python_arguments
from .errors import Phrase, Raised, SeqimpValueError, Shape, Value, text
from .inference import worded
from .inputs import as_sequence_data, as_target
from .lofo import checkpoint as ckpt
from .lofo.folds import Inputs, fit_widths, fold_fit_kwargs, fold_inputs
from .lofo.retrain import (_FIT_LOCK, FitError, _kept_global_rng, _local_nested_jobs, _PerInput, _portable,
                           _Task, _worker_threads)
from .lofo.setup import _check_checkpoint, _check_fit_kwargs, _check_n_jobs, _check_picklable, _model_source

_FUNC = "randomization_test"
# Spawn keys under random_state: 1 the fits' initial weights (LOFO's fold-0 key), 2 the permutations of
# y, 3 the importance method's own randomness.
_FIT_KEY, _PERMUTATION_KEY, _METHOD_KEY = (1, 0), 2, 3
# method's public name -> (short name, whether it takes X, whether it takes y)
_METHODS = {
    "olden_importance": ("olden", False, False),
    "garson_importance": ("garson", False, False),
    "permutation_importance": ("permutation", True, True),
    "perturbation_importance": ("perturbation", True, False),
    "gradient_importance": ("gradient", True, False),
    "improved_stepwise_importance": ("improved_stepwise", True, True),
    "sage_importance": ("sage", True, True),
}
_RETRAINING = ("lofo_importance", "stepwise_importance", "lofo", "stepwise")


def _resolve_method(method):
    """(the importance function, its public name, whether it takes X, whether it takes y)."""
    import seqimp

    names = {short: full for full, (short, _, _) in _METHODS.items()}
    available = [full for full in _METHODS if hasattr(seqimp, full)]
    expected = ("one of seqimp's importance functions, or its name: "
                + ", ".join(repr(_METHODS[full][0]) for full in available))
    name = getattr(method, "__name__", None) if callable(method) else method
    if isinstance(name, str) and name in _RETRAINING:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be an importance computed from one "
                               "fitted model; {name} retrains models itself, so a randomization test of it would "
                               "fit n_permutations times its own fits. Use {permutation} or another method.",
                               argument="method", function=_FUNC, name=Value(name),
                               permutation=Value("permutation"))
    full = names.get(name, name) if isinstance(name, str) else None
    function = getattr(seqimp, full, None) if full in available else None
    if function is None or (callable(method) and method is not function):
        checks.fail("method", _FUNC, expected, method, TypeError if not isinstance(method, str) else ValueError)
    _, takes_x, takes_y = _METHODS[full]
    return function, full, takes_x, takes_y


def _method_kwargs(method_kwargs, function, full, takes_x):
    """``method_kwargs`` as a dict the function takes; its own progress bar off unless asked for."""
    if method_kwargs is None:
        method_kwargs = {}
    if not hasattr(method_kwargs, "items"):
        checks.fail("method_kwargs", _FUNC, f"a dict of keyword arguments for {full}, or None", method_kwargs,
                    TypeError)
    kwargs = dict(method_kwargs)
    parameters = inspect.signature(function).parameters
    passed_here = {"model", "X", "y"}
    for key in kwargs:
        if key in passed_here or key not in parameters or parameters[key].kind != inspect.Parameter.KEYWORD_ONLY:
            taken = sorted(k for k, p in parameters.items() if p.kind == inspect.Parameter.KEYWORD_ONLY)
            raise SeqimpValueError("The '{argument}' {parameter} of {function} has {key}, which {full} does not "
                                   "take as a keyword (the model{x} and {y} are passed by {function}). It takes "
                                   "{taken}.", argument="method_kwargs", function=_FUNC, key=Value(key), full=full,
                                   x=text(", {X}") if takes_x else "", y="y", taken=Value(taken))
    if "progress" in parameters and "progress" not in kwargs:
        kwargs["progress"] = False
    return kwargs, "random_state" in parameters and "random_state" not in kwargs


@dataclasses.dataclass(frozen=True)
class _Call:
    """What every fit of one run needs, sent once to each worker."""

    source: object          # a builder, or a Keras / estimator recipe
    X_fit: object           # X as each fit gets it (LOFO's form)
    y: np.ndarray
    fit_kwargs: dict
    task: object            # LOFO's task with every feature kept: widths and the fit seed
    method: object
    X_method: object        # X as the caller gave it, for the importance method
    takes_y: bool
    method_kwargs: dict
    root: object

    def permuted_y(self, b):
        if b == 0:
            return self.y
        seed = np.random.SeedSequence(self.root.entropy, spawn_key=tuple(self.root.spawn_key) + (_PERMUTATION_KEY, b))
        return self.y[np.random.default_rng(seed).permutation(len(self.y))]

    def importance(self, model, y):
        args = (model,) if self.X_method is None else (model, self.X_method) + ((y,) if self.takes_y else ())
        return self.method(*args, **self.method_kwargs)


def _fit_and_measure(call, b, threads, main_pid):
    """Fit on y (b = 0) or its permutation b, then the importance. Returns ("ok", b, result, seconds) with
    the full result for b = 0 and the importances' means otherwise, or ("error", b, exc, traceback)."""
    started = time.perf_counter()
    in_caller = os.getpid() == main_pid
    try:
        if not in_caller:
            adapters.limit_tf_threads(_worker_threads(threads))
        y = call.permuted_y(b)
        source = call.source
        if isinstance(call.X_fit, Inputs) and not call.X_fit.single:
            source = _PerInput(source, fit_widths(call.X_fit, call.task))
        kwargs = fold_fit_kwargs(call.fit_kwargs, np.arange(len(y)))
        with _FIT_LOCK, _kept_global_rng(in_caller), _local_nested_jobs(in_caller):
            model = adapters.build_for_fit(source, len(call.task.keep), call.task.seed)
            adapters.fit_model(model, call.X_fit, y, kwargs)
            result = call.importance(model, y)
            del model
            if not in_caller:
                adapters.release_keras_state()
        value = result if b == 0 else np.asarray(result.importances_mean, dtype=np.float64)
        return ("ok", b, value, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported by the caller with the permutation
        return ("error", b, exc, None) if in_caller else ("error", b, _portable(exc), traceback.format_exc())


class _NullCheckpoint(ckpt.Checkpoint):
    """LOFO's checkpoint file (header, fingerprint, lock), one line per permutation: its importances."""

    def _load(self, records):
        n_labels = len(self.label_names)
        for record in records:
            b, values = record.get("permutation"), record.get("importances")
            if not (isinstance(b, int) and b >= 1 and isinstance(values, list) and len(values) == n_labels
                    and all(isinstance(v, (int, float)) for v in values)):
                raise SeqimpValueError("The '{argument}' file {path} holds an invalid record {record}. Delete it to "
                                       "start over.", argument="checkpoint", path=Value(self.path),
                                       record=Value(record))
            self.done[b] = np.asarray(values, dtype=np.float64)

    def append(self, b, values, seconds):
        self.done[b] = values
        self._write({"permutation": b, "importances": [float(v) for v in values], "seconds": round(seconds, 3)})


def _fingerprint(full, method_kwargs, data, y, fit_kwargs, source, model_id, root):
    return {
        "function": _FUNC,
        "method": full,
        "method_kwargs": ckpt.digest(ckpt.stable(method_kwargs)),
        "X": ckpt.digest(*[b.X for b in data.blocks], data.input_ndim),
        "y": ckpt.digest(y),
        "random_state": ckpt.digest(root.entropy, tuple(root.spawn_key)),
        "fit_kwargs": ckpt.digest(ckpt.stable(fit_kwargs)),
        "model": ckpt.digest(model_id),
        **({"builder code": ckpt.builder_code(source)} if callable(source) else {}),
    }


def _seed(root, *key):
    return int(np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key).generate_state(1)[0])


def p_values(observed, null, signed):
    """(k + 1) / (B + 1), k the null values at least as extreme as the observed one: above it, or for a
    signed method (Olden's) on the observed value's side of 0 (below a negative one)."""
    observed = np.asarray(observed, dtype=np.float64)[:, np.newaxis]
    extreme = null >= observed
    if signed:
        extreme = np.where(observed < 0, null <= observed, extreme)
    return (extreme.sum(axis=1) + 1.0) / (null.shape[1] + 1.0)


def randomization_test(method, model_or_builder, X, y, *, n_permutations=99, fit_kwargs=None, method_kwargs=None,
                       n_jobs=1, checkpoint=None, random_state=None, progress=True):
    """P-values for an importance method from refits on permuted responses (a randomization test).

    The model is fitted on ``X`` and ``y`` and its importance computed by ``method``; then, for each of
    ``n_permutations`` random permutations of the rows of ``y`` (a sample's targets, a whole sequence
    of them for a sequence output, move together), it is fitted again from the same initial weights and
    the importance recomputed. The permuted fits give each label's null distribution: what the method
    reports when y carries no information about X. This is Olden & Jackson's (2002) test for connection
    weights, and the PIMP test of Altmann et al. (2010) for any importance.

    Parameters
    ----------
    method : str or callable
        One of seqimp's importance functions computed from one fitted model, or its name:
        "olden", "garson", "permutation", "perturbation", "gradient", "improved_stepwise" (and "sage"
        where seqimp has it); the full names ("olden_importance", ...) work too. Methods that take ``y``
        are scored against the ``y`` the model was fitted on (permuted, for the null fits).
    model_or_builder : compiled Keras model, scikit-learn estimator or callable
        As in :func:`lofo_importance`: a compiled Keras model is rebuilt with fresh weights, an estimator
        cloned, a builder ``build(n_features)`` called, for every fit; trained weights are not used. The
        weight methods ("olden", "garson") need Keras models of Dense layers. A scikit-learn estimator
        takes 2-D X here (the method gets X as given).
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features), or a list or dict of them
        The data every fit is trained on and every importance computed on.
    y : array-like of shape (n_samples, ...)
    n_permutations : int, default=99
        B, the number of permuted fits. The smallest p-value is 1 / (B + 1).
    fit_kwargs : dict, default=None
        Passed to every ``fit``, as in :func:`lofo_importance` (``sample_weight`` stays with its rows of
        X). ``validation_split`` is taken from the end of the data, as Keras does.
    method_kwargs : dict, default=None
        Keyword arguments for ``method``, e.g. ``{"metric": "mse", "n_repeats": 5}`` or
        ``{"method": "pad"}`` for gradients. Its ``random_state`` defaults to one seed drawn from
        ``random_state`` and used for every fit; its progress bar is off unless asked for.
    n_jobs : int or None, default=1
        Fits run in parallel through joblib, on a Dask cluster inside ``joblib.parallel_backend("dask")``,
        as in :func:`lofo_importance`. The numbers do not depend on it.
    checkpoint : str or path-like, default=None
        A file that records each finished permutation's importances; rerunning the same call (a larger
        ``n_permutations`` too) resumes from it, as :func:`lofo_importance`'s checkpoint does. The fit on
        ``y`` itself is redone (one fit).
    random_state : int, Generator, SeedSequence or None, default=None
        Seeds the initial weights (the same for every fit), the permutations (permutation b by
        (random_state, b), so the first B do not depend on ``n_permutations``) and the method.
    progress : bool, default=True
        A tqdm progress bar over the fits.

    Returns
    -------
    ImportanceResult
        The method's result for the model fitted on ``y``, with ``inference["pvalues"]`` (ndarray
        (n_labels,)) and ``inference["null"]`` (ndarray (n_labels, B): each permuted fit's
        ``importances_mean``), also in ``extra["null"]`` and ``extra["pvalues"]``. A p-value is
        (k + 1) / (B + 1), k the permuted fits whose importance is at least the observed one: one-sided,
        as every method but Olden's is "larger = more important"; for Olden's signed connection weights,
        k counts the null values on the observed value's side (above a positive one, below a negative
        one), as Olden & Jackson do. ``extra["n_fitted"]`` counts the fits this call ran.

    Notes
    -----
    What a p-value covers: the null hypothesis that y is exchangeable across samples given X (no input
    carries information about y), with the learner's own variability (the fit, and the method's
    randomness) included in the null. A label's p-value is exact under that global null; for an unused
    input beside useful ones it is a heuristic (Altmann et al. 2010), conservative for permutation-type
    importances (an unused input gets less importance than in a fit to noise), and for Olden's weights
    it depends on the size of the output weights a real signal brings. It does not correct for testing
    several labels: use ``p.adjust``-style corrections (Holm, BH) on ``inference["pvalues"]``. The cost
    is B + 1 fits and B + 1 importance computations.

    References
    ----------
    .. [1] Olden and Jackson (2002), "Illuminating the 'black box': a randomization approach for
       understanding variable contributions in artificial neural networks", Ecological Modelling 154,
       135-150.
    .. [2] Altmann, Tolosi, Sander and Lengauer (2010), "Permutation importance: a corrected feature
       importance measure", Bioinformatics 26(10), 1340-1347.

    Examples
    --------
    >>> import numpy as np, seqimp
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = 2 * X[:, 0] + rng.normal(size=100)
    >>> r = seqimp.randomization_test("permutation", LinearRegression(), X, y, n_permutations=19,
    ...                               method_kwargs={"metric": "mse"}, random_state=0, progress=False)
    >>> r.inference["pvalues"].round(2).tolist(), r.inference["null"].shape  # 1 / (19 + 1) is the least
    ([0.05, 0.45, 0.55], (3, 19))
    >>> r.to_frame()["p_value"].round(2).tolist() == r.pvalues.round(2).tolist()  # the table's column
    True
    >>> r.significant(correction=None).tolist(), r.significant(correction="holm").tolist()
    ([True, False, False], [False, False, False])

    With 19 permutations no p-value is below 0.05 / 3, so Holm's correction over three labels flags
    none: take B large enough for the correction (B = 99 gives 0.01).
    """
    given = python_arguments(_FUNC, X=X, y=y)
    X = given["X"]
    function, full, takes_x, takes_y = _resolve_method(method)
    method_kwargs, seeds_method = _method_kwargs(method_kwargs, function, full, takes_x)
    B = checks.check_int(n_permutations, "n_permutations", _FUNC)
    progress = checks.check_bool(progress, "progress", _FUNC)
    n_jobs = _check_n_jobs(n_jobs, _FUNC)
    path = _check_checkpoint(checkpoint, _FUNC)
    data = as_sequence_data(X, None, func=_FUNC)
    y = as_target(given["y"], data.n_samples, func=_FUNC, data=data)
    fit_kwargs = _check_fit_kwargs(fit_kwargs, data.n_samples, _FUNC)
    stored = _NullCheckpoint.stored_seed(path) if random_state is None and path is not None else None
    root = stored if stored is not None else checks.check_random_state(random_state, _FUNC)
    source, model_id = _model_source(model_or_builder, data, _FUNC)
    if not callable(source):  # a Keras recipe or an estimator: fit is known now; a builder's at its first fit
        adapters.check_fit_kwargs(model_or_builder, fit_kwargs, _FUNC)
    estimator = isinstance(source, adapters.EstimatorRecipe)
    if estimator and data.input_ndim == 3:
        raise SeqimpValueError("{function} fits a scikit-learn estimator on 2-D {X} and hands the fitted estimator "
                               "to {full} with {X} as given; {X} is 3-D, {shape}. Pass {X} flattened to (n_samples, "
                               "n_timesteps * n_features), or a builder of a sequence model.", argument="X",
                               function=_FUNC, full=full, shape=Shape(data.input_shape))
    _check_picklable(source, n_jobs, _FUNC)
    if seeds_method:
        method_kwargs["random_state"] = _seed(root, _METHOD_KEY)
    everything = _Task((), 0, tuple(range(data.n_features)), (), _seed(root, *_FIT_KEY))
    X_fit = fold_inputs(Inputs.of(data, frames=estimator), np.arange(data.n_samples), np.arange(1), everything,
                        2 if estimator else data.input_ndim)[0]
    call = _Call(source, X_fit, y, fit_kwargs, everything, function, X if takes_x else None, takes_y,
                 method_kwargs, root)
    runner = _Runner(call, n_jobs, progress, B)
    with runner.bar_open():
        observed = runner.observed()
        checkpoint = None
        if path is not None:
            checkpoint = _NullCheckpoint(path, _FUNC, _fingerprint(full, method_kwargs, data, y, fit_kwargs, source,
                                                                   model_id, root),
                                         observed.label_names, B)
        null = runner.null(checkpoint)
    return _with_inference(observed, null, full, B, runner.n_fitted)


def _with_inference(observed, null, full, B, n_fitted):
    signed = observed.method == "olden"
    pvalues = p_values(observed.importances_mean, null, signed)
    side = ("on the observed value's side of 0 (Olden's weights are signed)" if signed else
            "above the observed value")
    estimator = (f"randomization test: {B} refits on permuted y (Olden & Jackson 2002; Altmann et al. 2010), "
                 f"p = (k + 1) / (B + 1) with k the null values {side}")
    covers = ("the p-values test the global null that y carries no information about X, with the refits' and "
              "the method's variability in the null; heuristic for one unused input beside useful ones; no "
              "correction for testing several labels (use significant(correction=...))")
    inference = {**(observed.inference or {}), "pvalues": pvalues, "null": null}
    inference.pop("why_no_pvalues", None)
    if "se" in inference:  # the method's own intervals stay, and say what they cover
        covers = Phrase(text("{covers}. The intervals are the method's: {method}", covers=covers,
                             method=worded(inference.get("covers", ""))))
        estimator = Phrase(text("{estimator}. Standard errors: {method}", estimator=estimator,
                                method=worded(inference.get("estimator", ""))))
    inference.update(estimator=estimator, covers=covers)
    extra = dict(observed.extra) if isinstance(observed.extra, dict) else {}
    extra.update(null=null, pvalues=pvalues, n_permutations=B, n_fitted=n_fitted)
    params = {**observed.params, "randomization_test": {"method": full, "n_permutations": B}}
    return dataclasses.replace(observed, inference=inference, extra=extra, params=params)


class _Runner:
    """The fit on y in this process, then the permuted fits through joblib, in permutation order."""

    def __init__(self, call, n_jobs, progress, B):
        self.call, self.n_jobs, self.progress, self.B = call, n_jobs, progress, B
        self.bar, self.n_fitted = None, 0

    @contextlib.contextmanager
    def bar_open(self):
        if self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.B + 1, desc=_FUNC, unit="fit", dynamic_ncols=True)
        try:
            yield
        finally:
            if self.bar is not None:
                self.bar.close()

    def _tick(self, n=1):
        if self.bar is not None:
            self.bar.update(n)

    def observed(self):
        status, b, value, tb = _fit_and_measure(self.call, 0, 1, os.getpid())
        if status == "error":
            self._raise(b, value, tb, None)
        self.n_fitted += 1
        self._tick()
        return value

    def null(self, checkpoint):
        import joblib

        done = {}
        if checkpoint is not None:
            checkpoint.open(self.call.root)
        try:
            if checkpoint is not None:
                done = {b: v for b, v in checkpoint.done.items() if b <= self.B}
                self._tick(len(done))
            todo = [b for b in range(1, self.B + 1) if b not in done]
            threads = max(1, joblib.cpu_count() // max(1, joblib.effective_n_jobs(self.n_jobs)))
            calls = (joblib.delayed(_fit_and_measure)(self.call, b, threads, os.getpid()) for b in todo)
            with joblib.Parallel(n_jobs=self.n_jobs, return_as="generator_unordered", batch_size=1) as parallel:
                for status, b, value, extra in parallel(calls):
                    if status == "error":
                        self._raise(b, value, extra, checkpoint)
                    done[b] = value
                    if checkpoint is not None:
                        checkpoint.append(b, value, extra)
                    self.n_fitted += 1
                    self._tick()
        finally:
            if checkpoint is not None:
                checkpoint.close()
        return np.stack([done[b] for b in range(1, self.B + 1)], axis=1)

    def _raise(self, b, exc, tb, checkpoint):
        where = "on y" if b == 0 else text("on permutation {b} of {B} of y", b=b, B=self.B)
        kept = ""
        if checkpoint is not None:
            kept = text(" The {n} finished permutations are kept in {path}; rerun with the same arguments to "
                        "resume.", n=len(checkpoint.done), path=Value(checkpoint.path))
        trace = "" if tb is None else f"\n\nTraceback of the failed fit (in a worker process):\n{tb}"
        raise FitError("{function}: the fit {where} (or its importance) failed: {exc}.{kept}{trace}", function=_FUNC,
                       where=where, exc=Raised(exc, sentence=True), kept=kept, trace=trace) from exc
