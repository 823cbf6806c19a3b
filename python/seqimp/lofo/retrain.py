"""One fit, and the retrain loop that LOFO and stepwise selection share.

Every fit is one task: a set of *active* labels (features or groups the model sees) and a fold. A task
runs anywhere joblib can send it (the caller's process, local worker processes, a Dask cluster) and
returns one validation score. The caller's process alone owns the order of the work, the seeds, the
checkpoint file and the progress bar, so workers need no shared disk and results never depend on
where a fit ran.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import sys
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np

from .. import adapters, errors
from ..errors import Raised, SeqimpError, Value, text
from ..metrics import check_target
from .folds import Inputs, fit_widths, fold_fit_kwargs, fold_inputs

# Seeding and building use process-wide state (Python's, NumPy's and TensorFlow's global seeds), so
# fits that share a process (a threaded Dask worker) take turns; each still gets every core it owns.
_FIT_LOCK = threading.Lock()


class FitError(SeqimpError, RuntimeError):
    """A retraining fit failed. The message names the feature (or group) and the fold."""

    type_name = "FitError"


# The public name: what users catch, and what tracebacks show.
FitError.__module__ = "seqimp.lofo"


@dataclass(frozen=True)
class _Task:
    active: tuple       # indices of the labels the model sees
    fold: int
    keep: tuple         # feature columns given to the model (mode="drop")
    constant: tuple     # feature columns held at their training-fold mean (mode="constant")
    seed: int


@contextlib.contextmanager
def _kept_global_rng(active):
    """Leave the caller's Python and NumPy global random states as they were (fits reseed them)."""
    if not active:
        yield
        return
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _local_nested_jobs(in_caller):
    """In a worker, a fit's own joblib calls (a random forest's trees) run in the worker's threads.

    On a Dask worker they would otherwise go back to the cluster, whose slots are held by fits waiting
    for this process's fit lock: a deadlock. ``n_jobs`` set on the estimator still applies.
    """
    if in_caller:
        return contextlib.nullcontext()
    import joblib

    return joblib.parallel_config(backend="threading")


def _portable(exc):
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{errors.type_name(exc)}: {exc}")


def _worker_threads(default):
    """TensorFlow threads for one fit: a Dask worker's own thread count, else what the caller chose."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return max(1, int(get_worker().state.nthreads))
        except Exception:  # noqa: BLE001 - not running inside a Dask worker
            pass
    return default


def _fit_task(source, X, y, task, train, test, fit_kwargs, input_ndim, metric, threads, main_pid, func,
              sample_weight=None):
    """Build, fit and score one model. Returns ("ok", task, score, seconds) or ("error", task, exc, tb).

    Errors are returned, not raised, so that the caller can name the feature and fold and keep the
    other finished work; from a worker process the traceback comes back as text.
    """
    started = time.perf_counter()
    in_caller = os.getpid() == main_pid
    try:
        if not in_caller:
            adapters.limit_tf_threads(_worker_threads(threads))
        X_train, X_test = fold_inputs(X, train, test, task, input_ndim)
        kwargs = fold_fit_kwargs(fit_kwargs, train)
        n_features = len(task.keep)
        if isinstance(X, Inputs) and not X.single:  # several inputs: the builder gets one count per input
            source = _PerInput(source, fit_widths(X, task))
        with _FIT_LOCK, _kept_global_rng(in_caller), _local_nested_jobs(in_caller):
            model = adapters.build_for_fit(source, n_features, task.seed)
            adapters.fit_model(model, X_train, y[train], kwargs, func)
            predictions = _predict(model, X_test, metric)
            del model
            if not in_caller:
                adapters.release_keras_state()
        check_target(metric, y[test], predictions, func)
        score = metric(y[test], predictions, _rows(sample_weight, test), func=func)
        return ("ok", task, score, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported by the caller with the feature and fold
        if in_caller:
            return ("error", task, exc, None)  # the exception keeps its own traceback
        return ("error", task, _portable(exc), traceback.format_exc())


class _PerInput:
    """A builder for several inputs, called as ``build(widths)`` (a list, or a dict keyed like X) where
    a builder of one input gets the number of features."""

    def __init__(self, builder, widths):
        self.builder, self.widths = builder, widths

    def __call__(self, n_features):
        return self.builder(self.widths)


def _predict(model, X_test, metric):
    """The fitted model's predictions on the test fold; several inputs in rows of 512, as one-input data
    is (a Keras model is called on each, a fitted object's .predict on the whole)."""
    if not isinstance(X_test, (list, dict)):
        return adapters.predict_fitted(model, X_test, metric.request)
    if adapters.keras_model_flavour(model) is None:
        return adapters.protocol.as_prediction_array(model.predict(X_test), "fitted model")
    values = list(X_test.values()) if isinstance(X_test, dict) else X_test
    parts = []
    for i in range(0, len(values[0]), 512):
        rows = [v[i:i + 512] for v in values]
        chunk = dict(zip(X_test, rows)) if isinstance(X_test, dict) else rows
        parts.append(adapters.protocol.as_prediction_array(model(chunk, training=False), "Keras model"))
    return np.concatenate(parts, axis=0)


def _rows(sample_weight, rows):
    return None if sample_weight is None else sample_weight[rows]


def _null_prediction(y, train, n_test, metric):
    """What a model that sees no input predicts: the training-fold mean (class frequencies for labels).

    Whether ``y`` holds class labels, and how many classes there are, is read from all of ``y``: a class
    that is missing from one training fold still gets its column (with frequency 0).
    """
    y_train = y[train]
    classes = y.ndim == 1 and metric.needs_classes and \
        np.all(y == np.round(y)) and y.min() >= 0 and y.max() > 1
    if classes:
        freq = np.bincount(y_train.astype(np.int64), minlength=int(y.max()) + 1) / y_train.shape[0]
        return np.tile(freq, (n_test, 1))
    return np.broadcast_to(y_train.mean(axis=0), (n_test,) + y_train.shape[1:]).copy()


class Retrainer:
    """Scores sets of active labels on every fold: from the checkpoint, the null model, or new fits."""

    def __init__(self, setup):
        self.s = setup
        F = setup.data.n_features
        self._label_cols = [set(lb.features.tolist()) for lb in setup.labels]
        self._all_cols = set(range(F))
        self.bar = None
        self.n_fitted = 0
        self._counted = set()  # (active, fold) already shown on the progress bar

    def columns(self, active):
        """(kept columns, constant columns) when the labels in ``active`` are the ones the model sees."""
        inactive = set().union(*[cols for i, cols in enumerate(self._label_cols) if i not in active])
        if self.s.mode == "drop":
            return tuple(sorted(self._all_cols - inactive)), ()
        return tuple(range(len(self._all_cols))), tuple(sorted(inactive))

    def is_null(self, active):
        keep, constant = self.columns(active)
        return len(keep) == 0 or len(constant) == len(keep)

    def n_fits(self, actives):
        return sum(len(self.s.folds) for a in actives if not self.is_null(a))

    def _keys(self, actives):
        # Fold-major: the first fold tries every feature set, so a set that cannot be fitted fails early.
        return [(a, k) for k in range(len(self.s.folds)) for a in actives if not self.is_null(a)]

    def pending(self, actives):
        done = self.s.checkpoint.done if self.s.checkpoint is not None else {}
        return [key for key in self._keys(actives) if key not in done]

    def start_progress(self, total, known_actives=()):
        """Open the progress bar; fits of ``known_actives`` found in the checkpoint count as done."""
        s = self.s
        done = s.checkpoint.done if s.checkpoint is not None else {}
        cached = {key for key in self._keys([tuple(sorted(a)) for a in known_actives]) if key in done}
        self._counted |= cached
        if s.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=len(cached), desc=s.func, unit="fit", dynamic_ncols=True)
        if done and self.bar is not None:
            self.bar.write(f"{s.func}: resuming from {s.checkpoint.path!r}, which holds {len(done)} "
                           f"finished fits.")

    def close_progress(self):
        if self.bar is not None:
            self.bar.close()

    def null_scores(self):
        s = self.s
        out = np.empty(len(s.folds))
        for k, (train, test) in enumerate(s.folds):
            pred = _null_prediction(s.y, train, len(test), s.metric)
            out[k] = s.metric(s.y[test], pred, _rows(s.sample_weight, test), func=s.func)
        return out

    def scores(self, actives):
        """ndarray of shape (len(actives), n_folds)."""
        s = self.s
        actives = [tuple(sorted(a)) for a in actives]
        results = dict(s.checkpoint.done) if s.checkpoint is not None else {}
        todo = self.pending(actives)
        cached = [key for key in self._keys(actives) if key in results and key not in self._counted]
        self._counted.update(cached)
        if cached and self.bar is not None:
            self.bar.update(len(cached))
        if todo:
            results.update(self._run(todo))
        null = None
        out = np.empty((len(actives), len(s.folds)))
        for i, a in enumerate(actives):
            if self.is_null(a):
                null = self.null_scores() if null is None else null
                out[i] = null
            else:
                out[i] = [results[(a, k)] for k in range(len(s.folds))]
        return out

    def _run(self, todo):
        import joblib

        s = self.s
        tasks = []
        for active, k in todo:
            keep, constant = self.columns(active)
            tasks.append(_Task(active, k, keep, constant, s.fold_seeds[k]))
        n_jobs = s.n_jobs
        if n_jobs != 1 and "rpy2.robjects" in sys.modules:
            # rpy2's R start-up left a library path that breaks child Pythons; see adapters.r_models.
            from ..adapters.r_models import clean_child_environment

            clean_child_environment()
        # Each worker process gets its share of the cores for TensorFlow (Dask workers: their own
        # thread count, see _worker_threads).
        workers = joblib.effective_n_jobs(n_jobs)
        threads = max(1, joblib.cpu_count() // max(1, workers))
        main_pid = os.getpid()
        X, y = Inputs.of(s.data, frames=isinstance(s.source, adapters.EstimatorRecipe)), s.y
        calls = (joblib.delayed(_fit_task)(s.source, X, y, t, s.folds[t.fold][0], s.folds[t.fold][1],
                                            s.fits_kwargs(), s.fit_ndim, s.metric, threads, main_pid,
                                            s.func, s.sample_weight)
                 for t in tasks)
        results = {}
        with joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1) as parallel:
            for status, task, value, extra in parallel(calls):
                if status == "error":
                    self._raise(task, value, extra)
                results[(task.active, task.fold)] = value
                if s.checkpoint is not None:
                    s.checkpoint.append(task, value, extra)
                self.n_fitted += 1
                self._counted.add((task.active, task.fold))
                if self.bar is not None:
                    self.bar.update(1)
        return results

    def _raise(self, task, exc, tb):
        s = self.s
        if isinstance(exc, SeqimpError) and exc.argument == "fit_kwargs":  # the caller's, not the fit's
            raise exc
        kept = ""
        if s.checkpoint is not None:
            kept = text(" The {n} finished fits are kept in {path}; rerun with the same arguments to resume.",
                        n=len(s.checkpoint.done), path=Value(s.checkpoint.path))
        trace = "" if tb is None else f"\n\nTraceback of the failed fit (in a worker process):\n{tb}"
        raise FitError("{function}: the fit {where}, fold {fold} of {n_folds} failed: {exc}.{kept}{trace}",
                       function=s.func, where=_describe_fit(s, task.active), fold=task.fold + 1,
                       n_folds=len(s.folds), exc=Raised(exc, sentence=True), kept=kept, trace=trace) from exc


@contextlib.contextmanager
def session(setup, total, known_actives=()):
    """Open the checkpoint and the progress bar for one call; close both however the call ends."""
    runner = Retrainer(setup)
    if setup.checkpoint is not None:
        setup.checkpoint.open(setup.root)
    try:
        runner.start_progress(total, known_actives)
        yield runner
    finally:
        runner.close_progress()
        if setup.checkpoint is not None:
            setup.checkpoint.close()


def _describe_fit(setup, active):
    """Words for the fit of one set of active labels, for error messages: "without feature 'b'"."""
    names = [lb.name for lb in setup.labels]
    kind = setup.kind
    missing = [name for i, name in enumerate(names) if i not in active]
    if not missing:
        return f"with every {kind}"
    if len(missing) == 1:
        if setup.mode == "drop":
            return text("without {kind} {name}", kind=kind, name=Value(missing[0]))
        return text("with {kind} {name} held at its training mean", kind=kind, name=Value(missing[0]))
    shown = text("with only the {kind}s {names}", kind=kind, names=Value([names[i] for i in active]))
    return shown if setup.mode == "drop" else text("{shown} (the others held at their training means)", shown=shown)
