"""Importance by retraining: leave-one-feature-out (LOFO) and stepwise selection.

Every fit is one task: a set of *active* labels (features or groups the model sees) and a fold. A task
runs anywhere joblib can send it (the caller's process, local worker processes, a Dask cluster) and
returns one validation score. The caller's process alone owns the order of the work, the seeds, the
checkpoint file and the progress bar, so workers need no shared disk and results never depend on
where a fit ran.

- Seeds are derived once from ``random_state``: one seed per fold, shared by every task of that fold
  (common random numbers: the full model and the model without a feature start from the same
  draws, so their difference measures the feature and not the luck of the initialisation).
- The checkpoint is a JSON-lines file: a header with a fingerprint of the data and arguments, then one
  line per finished task, flushed to disk as soon as its score is known.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import numbers
import os
import pickle
import random
import sys
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np

from . import adapters, checks
from .inputs import as_sequence_data, as_target
from .labels import make_labels
from .metrics import check_target, get_metric
from .result import ImportanceResult

MODES = ("drop", "constant")
DIRECTIONS = ("backward", "forward")
_LOFO = "lofo_importance"
_STEPWISE = "stepwise_importance"
_CHECKPOINT_FORMAT = "seqimp-retrain-checkpoint"
_CHECKPOINT_VERSION = 1
_REJECTED_FIT_KWARGS = {
    "x": "X and y are passed by seqimp, fold by fold",
    "y": "X and y are passed by seqimp, fold by fold",
    "validation_data": "it would hold every feature and every sample; use 'validation_split', which "
                       "is taken from each training fold",
}
# Seeding and building use process-wide state (Python's, NumPy's and TensorFlow's global seeds), so
# fits that share a process (a threaded Dask worker) take turns; each still gets every core it owns.
_FIT_LOCK = threading.Lock()


class FitError(RuntimeError):
    """A retraining fit failed. The message names the feature (or group) and the fold."""


# --------------------------------------------------------------------------------------------------
# One fit (runs in the caller's process or in a worker)
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Task:
    active: tuple       # indices of the labels the model sees
    fold: int
    keep: tuple         # feature columns given to the model (mode="drop")
    constant: tuple     # feature columns held at their training-fold mean (mode="constant")
    seed: int


def _fold_inputs(X, train, test, task, input_ndim):
    X_train, X_test = X[train], X[test]  # fancy indexing copies; the caller's X is never written
    if task.constant:
        cols = list(task.constant)
        means = X_train[:, :, cols].mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
        X_train[:, :, cols] = means
        X_test[:, :, cols] = means
    if len(task.keep) != X.shape[2]:
        X_train = np.ascontiguousarray(X_train[:, :, list(task.keep)])
        X_test = np.ascontiguousarray(X_test[:, :, list(task.keep)])
    if input_ndim == 2:
        X_train, X_test = X_train[:, 0, :], X_test[:, 0, :]
    return X_train, X_test


def _fold_fit_kwargs(fit_kwargs, train):
    kwargs = {}
    for key, value in fit_kwargs.items():
        if key == "sample_weight" and value is not None:
            kwargs[key] = np.asarray(value)[train]
        else:
            try:
                # Stateful arguments (callbacks) must not carry state from one fit into the next.
                kwargs[key] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - an object that cannot be copied is passed as it is
                kwargs[key] = value
    return kwargs


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


def _portable(exc):
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _worker_threads(default):
    """TensorFlow threads for one fit: a Dask worker's own thread count, else what the caller chose."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return max(1, int(get_worker().state.nthreads))
        except Exception:  # noqa: BLE001 - not running inside a Dask worker
            pass
    return default


def _fit_task(source, X, y, task, train, test, fit_kwargs, input_ndim, metric, threads, main_pid, func):
    """Build, fit and score one model. Returns ("ok", task, score, seconds) or ("error", task, exc, tb).

    Errors are returned, not raised, so that the caller can name the feature and fold and keep the
    other finished work; from a worker process the traceback comes back as text.
    """
    started = time.perf_counter()
    in_caller = os.getpid() == main_pid
    try:
        if not in_caller:
            adapters.limit_tf_threads(_worker_threads(threads))
        X_train, X_test = _fold_inputs(X, train, test, task, input_ndim)
        kwargs = _fold_fit_kwargs(fit_kwargs, train)
        n_features = len(task.keep)
        with _FIT_LOCK, _kept_global_rng(in_caller):
            model = adapters.build_for_fit(source, n_features, task.seed)
            adapters.fit_model(model, X_train, y[train], kwargs)
            predictions = adapters.predict_all(model, X_test)
            del model
            if not in_caller:
                adapters.release_keras_state()
        check_target(metric, y[test], predictions, func)
        score = metric(y[test], predictions)
        return ("ok", task, score, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported by the caller with the feature and fold
        if in_caller:
            return ("error", task, exc, None)  # the exception keeps its own traceback
        return ("error", task, _portable(exc), traceback.format_exc())


def _null_prediction(y_train, n_test, metric):
    """What a model that sees no input predicts: the training-fold mean (class frequencies for labels)."""
    classes = y_train.ndim == 1 and metric.needs_classes and \
        np.all(y_train == np.round(y_train)) and y_train.min() >= 0 and y_train.max() > 1
    if classes:
        freq = np.bincount(y_train.astype(np.int64)) / y_train.shape[0]
        return np.tile(freq, (n_test, 1))
    return np.broadcast_to(y_train.mean(axis=0), (n_test,) + y_train.shape[1:]).copy()


# --------------------------------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------------------------------

def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"ndarray{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()[:20]


def _qualname(obj):
    target = obj if isinstance(obj, type) or hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(obj).__name__)}"


def _stable(value):
    """A representation that is the same in every process for equal arguments (no ids, no addresses)."""
    if value is None or isinstance(value, (bool, str, numbers.Number)):
        return repr(value)
    if isinstance(value, np.ndarray):
        return f"array:{_digest(value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_stable(k)}: {_stable(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_stable(v) for v in value) + "]"
    if hasattr(value, "func") and hasattr(value, "args") and hasattr(value, "keywords"):  # partial
        return f"partial({_qualname(value.func)}, {_stable(value.args)}, {_stable(value.keywords)})"
    config = None
    if hasattr(value, "get_config"):
        try:
            config = value.get_config()
        except Exception:  # noqa: BLE001
            config = None
    return _qualname(value) + ("" if config is None else _stable(config))


class _Checkpoint:
    """Append-only JSON lines: a header with the run's fingerprint, then one line per finished fit."""

    def __init__(self, path, func, fingerprint, label_names, n_folds):
        self.path = path
        self.func = func
        self.fingerprint = fingerprint
        self.label_names = list(label_names)
        self.n_folds = n_folds
        self.done = {}
        self._file = None

    @staticmethod
    def stored_seed(path):
        """The seed a checkpoint was written with (to resume a run that had ``random_state=None``)."""
        header = _Checkpoint._read(path)[0]
        if header is None:
            return None
        seed = header.get("seed") or {}
        return np.random.SeedSequence(seed.get("entropy"), spawn_key=tuple(seed.get("spawn_key", ())))

    @staticmethod
    def _read(path):
        """(header or None, records, byte length of the complete lines)."""
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None, [], 0
        with open(path, "rb") as fh:
            raw = fh.read()
        lines = raw.split(b"\n")
        complete = lines[:-1]  # what follows the last newline is a line torn by a killed process
        good_bytes = sum(len(line) + 1 for line in complete)
        try:
            header = json.loads(complete[0]) if complete else json.loads(lines[0])
        except (ValueError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"The 'checkpoint' file {path!r} exists but is not a seqimp checkpoint. "
                             f"Pass a path to a new file or to a checkpoint written by seqimp; the file "
                             f"was left untouched.")
        records = []
        for number, line in enumerate(complete[1:], start=2):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                raise ValueError(f"The 'checkpoint' file {path!r} is damaged at line {number}. Delete it "
                                 f"to start over.") from None
        return header, records, good_bytes

    def open(self, seed):
        header, records, good_bytes = self._read(self.path)
        if header is None:
            header = {"format": _CHECKPOINT_FORMAT, "version": _CHECKPOINT_VERSION, "func": self.func,
                      "seed": {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)},
                      "labels": self.label_names, "n_folds": self.n_folds,
                      "fingerprint": self.fingerprint}
            self._file = open(self.path, "w", encoding="utf-8")
            self._write(header)
            return self
        if header.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(f"The 'checkpoint' file {self.path!r} was written by another version of "
                             f"seqimp (format {header.get('version')}). Pass a new path.")
        stored = header.get("fingerprint", {})
        differ = [name for name in self.fingerprint if stored.get(name) != self.fingerprint[name]]
        if differ:
            raise ValueError(
                f"The 'checkpoint' file {self.path!r} was written by a {header.get('func')} run with "
                f"different {', '.join(differ)}, so its scores cannot be reused for this call. Pass a "
                f"new checkpoint path, or delete the file to start over. The file was left untouched.")
        n_labels = len(self.label_names)
        for record in records:
            active, fold, score = record.get("active"), record.get("fold"), record.get("score")
            if not (isinstance(active, list) and all(isinstance(a, int) and 0 <= a < n_labels for a in active)
                    and isinstance(fold, int) and 0 <= fold < self.n_folds
                    and isinstance(score, (int, float))):
                raise ValueError(f"The 'checkpoint' file {self.path!r} holds an invalid record {record!r}. "
                                 f"Delete it to start over.")
            self.done[(tuple(active), fold)] = float(score)
        if good_bytes < os.path.getsize(self.path):
            with open(self.path, "r+b") as fh:  # drop the torn tail so the next line starts cleanly
                fh.truncate(good_bytes)
        self._file = open(self.path, "a", encoding="utf-8")
        return self

    def _write(self, obj):
        self._file.write(json.dumps(obj) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, task, score, seconds):
        self.done[(task.active, task.fold)] = score
        self._write({"active": list(task.active), "fold": task.fold, "score": score,
                     "seconds": round(seconds, 3)})

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


# --------------------------------------------------------------------------------------------------
# Argument checks and the shared setup of both public functions
# --------------------------------------------------------------------------------------------------

def _check_fit_kwargs(fit_kwargs, n_samples, func):
    if fit_kwargs is None:
        return {}
    if not hasattr(fit_kwargs, "items"):
        checks.fail("fit_kwargs", func, "a dict of keyword arguments for model.fit, or None", fit_kwargs,
                    TypeError)
    fit_kwargs = dict(fit_kwargs)
    for key, value in fit_kwargs.items():
        if not isinstance(key, str):
            checks.fail("fit_kwargs", func, "a dict with string keys", fit_kwargs, TypeError)
        if key in _REJECTED_FIT_KWARGS:
            raise ValueError(f"The 'fit_kwargs' parameter of {func} must not contain {key!r}: "
                             f"{_REJECTED_FIT_KWARGS[key]}.")
        if key == "sample_weight" and value is not None and np.shape(value)[:1] != (n_samples,):
            raise ValueError(f"The 'fit_kwargs' parameter of {func}: 'sample_weight' must have one weight "
                             f"per sample of X ({n_samples}); got shape {np.shape(value)}.")
    return fit_kwargs


def _check_n_jobs(n_jobs, func):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Real) or \
            not float(n_jobs).is_integer() or int(n_jobs) == 0:
        checks.fail("n_jobs", func, "a non-zero int (-1 for every core or worker) or None", n_jobs, TypeError
                    if not isinstance(n_jobs, numbers.Real) or isinstance(n_jobs, bool) else ValueError)
    return int(n_jobs)


def _check_checkpoint(checkpoint, func):
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        checks.fail("checkpoint", func, "a file path (str or os.PathLike) or None", checkpoint, TypeError)
    path = os.path.abspath(os.fspath(checkpoint))
    if os.path.isdir(path):
        checks.fail("checkpoint", func, "a file path, not a folder", os.fspath(checkpoint))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ValueError(f"The 'checkpoint' parameter of {func} must be a path in an existing folder. "
                         f"Got {os.fspath(checkpoint)!r}, but the folder {folder!r} does not exist.")
    return path


def _sub_seed(root, *key):
    seq = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key)
    return int(seq.generate_state(1)[0])


_CV_EXPECTED = ("an int in the range [2, n_samples], a scikit-learn splitter (an object with .split) or "
                "an iterable of (train, test) index arrays")


def _make_folds(cv, n_samples, y, root, func):
    """The (train, test) index pairs, computed once; an int means KFold shuffled with random_state."""
    from sklearn.model_selection import KFold

    if isinstance(cv, numbers.Real) and not isinstance(cv, (bool, np.bool_)):
        k = checks.check_int(cv, "cv", func, low=2, high=n_samples)
        splits = KFold(k, shuffle=True, random_state=_sub_seed(root, 0)).split(np.zeros((n_samples, 1)))
        description = f"KFold(n_splits={k}, shuffle=True)"
    elif isinstance(cv, (str, bytes)):
        checks.fail("cv", func, _CV_EXPECTED, cv, TypeError)
    elif hasattr(cv, "split") and callable(cv.split):
        try:
            splits = list(cv.split(np.zeros((n_samples, 1)), y if y.ndim == 1 else None))
        except Exception as exc:  # noqa: BLE001
            raise ValueError(
                f"The 'cv' parameter of {func} could not split the {n_samples} samples of X: "
                f"{type(exc).__name__}: {exc}. A splitter that needs sample groups (GroupKFold) can be "
                f"given as its splits: cv=list(GroupKFold(5).split(np.zeros((n, 1)), groups=g)).") from None
        description = repr(cv)
    elif hasattr(cv, "__iter__") and not isinstance(cv, dict):
        splits = cv
        description = "given splits"
    else:
        checks.fail("cv", func, _CV_EXPECTED, cv, TypeError)
    folds = []
    for i, split in enumerate(splits):
        try:
            train, test = split
        except (TypeError, ValueError):
            raise ValueError(f"The 'cv' parameter of {func} must give (train, test) index pairs; split {i} "
                             f"is {type(split).__name__}.") from None
        pair = []
        for part, idx in (("train", train), ("test", test)):
            idx = np.asarray(idx)
            if idx.dtype == bool and idx.shape == (n_samples,):
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) or \
                    idx.min() < 0 or idx.max() >= n_samples:
                raise ValueError(f"The 'cv' parameter of {func} gave an invalid {part} part in split {i}: "
                                 f"it must be a non-empty array of sample indices in [0, {n_samples - 1}].")
            pair.append(idx.astype(np.int64))
        folds.append(tuple(pair))
    if not folds:
        checks.fail("cv", func, "a splitter that gives at least one (train, test) split", cv)
    return folds, description


@dataclass
class _Setup:
    func: str
    data: object
    y: np.ndarray
    labels: list
    granularity: str
    metric: object
    mode: str
    folds: list
    cv_description: str
    fold_seeds: list
    source: object
    source_flavour: str
    fit_kwargs: dict
    n_jobs: object
    checkpoint: object
    progress: bool
    root: object
    kind: str


def _setup(func, model_or_builder, X, y, fit_kwargs, metric, cv, mode, groups, feature_names, n_jobs,
           checkpoint, random_state, progress, extra_fingerprint):
    mode = checks.check_option(mode, "mode", func, MODES)
    progress = checks.check_bool(progress, "progress", func)
    n_jobs = _check_n_jobs(n_jobs, func)
    path = _check_checkpoint(checkpoint, func)
    metric = get_metric(metric, func)
    data = as_sequence_data(X, feature_names, func=func)
    y = as_target(y, data.n_samples, func=func)
    fit_kwargs = _check_fit_kwargs(fit_kwargs, data.n_samples, func)
    granularity, labels = make_labels(data, "feature", groups, func)

    if random_state is None and path is not None and _Checkpoint.stored_seed(path) is not None:
        root = _Checkpoint.stored_seed(path)  # resume a run that drew its own seed
    else:
        root = checks.check_random_state(random_state, func)
    folds, cv_description = _make_folds(cv, data.n_samples, y, root, func)
    fold_seeds = [_sub_seed(root, 1, k) for k in range(len(folds))]

    if adapters.keras_flavour(model_or_builder) is not None and hasattr(model_or_builder, "layers"):
        source = adapters.keras_recipe(model_or_builder, data.input_shape, func=func)
        flavour, model_id = source.flavour, source.fingerprint
    elif callable(model_or_builder):
        source, flavour, model_id = model_or_builder, None, "builder " + _stable(model_or_builder)
    else:
        checks.fail("model_or_builder", func, "a compiled Keras model or a builder function "
                    "build(n_features) -> compiled model", model_or_builder, TypeError)
    if n_jobs != 1:
        try:
            try:  # what joblib's workers and Dask use to send functions; older joblib vendored it
                import cloudpickle
            except ImportError:
                from joblib.externals import cloudpickle

            cloudpickle.dumps(source)
        except Exception as exc:  # noqa: BLE001
            raise TypeError(f"The 'model_or_builder' parameter of {func} must be picklable to run with "
                            f"n_jobs={n_jobs} (worker processes or a Dask cluster): {type(exc).__name__}: "
                            f"{exc}. Define the builder at module level, or use n_jobs=1.") from None

    store = None
    if path is not None:
        fingerprint = {
            "function": func,
            "X": _digest(data.X, data.input_ndim),
            "y": _digest(y),
            "feature names and groups": _digest(data.feature_names,
                                                [(lb.name, lb.features.tolist()) for lb in labels]),
            "cv folds": _digest(*[a for pair in folds for a in pair]),
            "random_state": _digest(root.entropy, tuple(root.spawn_key)),
            "metric": _digest(metric.name, metric.greater_is_better, _qualname(metric.func)),
            "mode": mode,
            "fit_kwargs": _digest(_stable(fit_kwargs)),
            "model": _digest(model_id),
        }
        fingerprint.update(extra_fingerprint)
        store = _Checkpoint(path, func, fingerprint, [lb.name for lb in labels], len(folds))
    return _Setup(func, data, y, labels, granularity, metric, mode, folds, cv_description, fold_seeds,
                  source, flavour, fit_kwargs, n_jobs, store, progress, root,
                  "feature" if groups is None else "group")


# --------------------------------------------------------------------------------------------------
# The retrain loop shared by LOFO and stepwise
# --------------------------------------------------------------------------------------------------

class _Retrainer:
    """Scores sets of active labels on every fold: from the checkpoint, the null model, or new fits."""

    def __init__(self, setup, describe):
        self.s = setup
        self.describe = describe
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
            pred = _null_prediction(s.y[train], len(test), s.metric)
            out[k] = s.metric(s.y[test], pred)
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
            # rpy2's R start-up left a library path that breaks child Pythons; see seqimp.r.
            from .r import clean_child_environment

            clean_child_environment()
        # Each worker process gets its share of the cores for TensorFlow (Dask workers: their own
        # thread count, see _worker_threads).
        workers = joblib.effective_n_jobs(n_jobs)
        threads = max(1, joblib.cpu_count() // max(1, workers))
        main_pid = os.getpid()
        X, y = s.data.X, s.y
        calls = (joblib.delayed(_fit_task)(s.source, X, y, t, s.folds[t.fold][0], s.folds[t.fold][1],
                                           s.fit_kwargs, s.data.input_ndim, s.metric, threads, main_pid,
                                           s.func)
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
        where = f"{self.describe(task.active)}, fold {task.fold + 1} of {len(s.folds)}"
        kept = ""
        if s.checkpoint is not None:
            kept = (f" The {len(s.checkpoint.done)} finished fits are kept in {s.checkpoint.path!r}; "
                    f"rerun with the same arguments to resume.")
        text = str(exc).rstrip(".") or "(no message)"
        message = f"{s.func}: the fit {where} failed: {type(exc).__name__}: {text}.{kept}"
        if tb is not None:
            message += f"\n\nTraceback of the failed fit (in a worker process):\n{tb}"
        raise FitError(message) from exc


@contextlib.contextmanager
def _session(setup, describe, total, known_actives=()):
    """Open the checkpoint and the progress bar for one call; close both however the call ends."""
    runner = _Retrainer(setup, describe)
    if setup.checkpoint is not None:
        setup.checkpoint.open(setup.root)
    try:
        runner.start_progress(total, known_actives)
        yield runner
    finally:
        runner.close_progress()
        if setup.checkpoint is not None:
            setup.checkpoint.close()


def _describe(setup):
    """Words for a set of active labels, for error messages: "without feature 'b'"."""
    names = [lb.name for lb in setup.labels]
    kind = setup.kind
    everything = tuple(range(len(names)))

    def describe(active):
        missing = [names[i] for i in everything if i not in active]
        if not missing:
            return f"with every {kind}"
        if len(missing) == 1:
            if setup.mode == "drop":
                return f"without {kind} {missing[0]!r}"
            return f"with {kind} {missing[0]!r} held at its training mean"
        shown = f"with only the {kind}s {[names[i] for i in active]}"
        return shown if setup.mode == "drop" else shown + " (the others held at their training means)"

    return describe


# --------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------

def lofo_importance(model_or_builder, X, y, *, fit_kwargs=None, metric="mae", cv=5, mode="drop",
                    groups=None, feature_names=None, n_jobs=1, checkpoint=None, random_state=None,
                    progress=True):
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
        same optimizer configuration, loss and metrics. Its trained weights are not used. Or a builder
        ``build(n_features) -> compiled model``, called once per fit; it may also return any object
        with ``fit(X, y, **fit_kwargs)`` and ``predict(X)``.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features)
    y : array-like of shape (n_samples, ...)
        Targets, in the shape the model is trained on.
    fit_kwargs : dict, default=None
        Passed to ``model.fit``, e.g. ``{"epochs": 20, "batch_size": 32}``. ``verbose`` defaults to 0.
        ``sample_weight`` (one weight per sample of X) is split with the folds; ``validation_split``
        is taken from each training fold. ``x``, ``y`` and ``validation_data`` are refused.
    metric : str, Metric or callable, default="mae"
        "mae", "mse", "rmse", "r2", "log_loss", "accuracy", "auc", a :class:`seqimp.metrics.Metric`,
        or ``f(y_true, y_pred) -> float`` taken as a loss (lower is better).
    cv : int, scikit-learn splitter or iterable of (train, test), default=5
        An int is ``KFold(cv, shuffle=True)`` seeded from ``random_state``. Any splitter works, e.g.
        ``TimeSeriesSplit(5)`` to validate on the future only. Splits are over samples.
    mode : {"drop", "constant"}, default="drop"
        "drop" removes the feature's column (the model has one input fewer); "constant" keeps the
        architecture and replaces the feature, in training and validation data, by its training-fold
        mean over samples and timesteps.
    groups : dict, default=None
        ``{name: [feature names or indices]}`` left out together; one row per group. Features in no
        group are always kept.
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
        (a compiled model by its architecture and compile settings): after changing what a builder
        builds, use a new file.
    random_state : int, Generator, SeedSequence or None, default=None
        Seeds the folds (for an int ``cv``) and every fit (``keras.utils.set_random_seed``). One seed
        per fold is shared by all of that fold's fits, so the numbers do not depend on ``n_jobs``,
        the backend, or the order in which fits finish.
    progress : bool, default=True
        Show a tqdm progress bar over fits, with an estimate of the time left.

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
    >>> import numpy as np, keras, seqimp                                  # doctest: +SKIP
    >>> def build(n_features):
    ...     model = keras.Sequential([keras.Input((10, n_features)), keras.layers.LSTM(8),
    ...                               keras.layers.Dense(1)])
    ...     model.compile(optimizer="adam", loss="mse")
    ...     return model
    >>> r = seqimp.lofo_importance(build, X, y, fit_kwargs={"epochs": 10}, cv=5,
    ...                            n_jobs=-1, checkpoint="lofo.jsonl", random_state=0)
    >>> r.to_frame(sort=True)
    """
    setup = _setup(_LOFO, model_or_builder, X, y, fit_kwargs, metric, cv, mode, groups, feature_names,
                   n_jobs, checkpoint, random_state, progress, {})
    L, K = len(setup.labels), len(setup.folds)
    everything = tuple(range(L))
    actives = [everything] + [tuple(j for j in everything if j != i) for i in range(L)]
    total = _Retrainer(setup, None).n_fits(actives)
    with _session(setup, _describe(setup), total, actives) as runner:
        scores = runner.scores(actives)
    baseline, without = scores[0], scores[1:]
    importances = setup.metric.worsening(baseline[np.newaxis, :], without)
    return ImportanceResult(
        method="lofo", labels=setup.labels, importances=importances, granularity=setup.granularity,
        metric=setup.metric.name, baseline_score=float(baseline.mean()),
        feature_names=setup.data.feature_names,
        params={"mode": setup.mode, "cv": setup.cv_description, "n_folds": K,
                "fit_kwargs": dict(setup.fit_kwargs)},
        extra={"scores": without, "baseline_scores": baseline, "folds": setup.folds,
               "n_fitted": runner.n_fitted},
    )


def stepwise_importance(model_or_builder, X, y, *, direction="backward", fit_kwargs=None, metric="mae",
                        cv=5, mode="drop", groups=None, feature_names=None, n_jobs=1, checkpoint=None,
                        random_state=None, progress=True):
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
random_state, progress
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
    setup = _setup(_STEPWISE, model_or_builder, X, y, fit_kwargs, metric, cv, mode, groups, feature_names,
                   n_jobs, checkpoint, random_state, progress, {"direction": direction})
    L, K = len(setup.labels), len(setup.folds)
    names = [lb.name for lb in setup.labels]
    worsening = setup.metric.worsening
    contributions = np.zeros((L, K))
    order, path = [], []
    # Every path visits L (L + 1) / 2 + 1 feature sets, the empty one (usually the null model) included.
    total = L * (L + 1) // 2 * K + (0 if _Retrainer(setup, None).is_null(()) else K)
    with _session(setup, _describe(setup), total) as runner:
        null = runner.scores([()])[0]
        full = runner.scores([tuple(range(L))])[0]
        if direction == "backward":
            active, current = tuple(range(L)), full
            while active:
                candidates = [tuple(a for a in active if a != j) for j in active]
                scores = runner.scores(candidates)
                change = worsening(current[np.newaxis, :], scores)   # how much worse without j
                pick = int(np.argmin(change.mean(axis=1)))
                j = active[pick]
                contributions[j] = change[pick]
                order.append(j)
                path.append({"step": len(order), "feature": names[j], "action": "removed",
                             "n_active": len(active) - 1, "score": float(scores[pick].mean()),
                             "candidates": {names[c]: float(scores[i].mean()) for i, c in enumerate(active)}})
                active, current = candidates[pick], scores[pick]
            rank = np.empty(L, dtype=np.int64)
            rank[order] = np.arange(L, 0, -1)
        else:
            active, current = (), null
            while len(active) < L:
                remaining = [j for j in range(L) if j not in active]
                candidates = [tuple(sorted(active + (j,))) for j in remaining]
                scores = runner.scores(candidates)
                change = worsening(scores, current[np.newaxis, :])   # how much better with j
                pick = int(np.argmax(change.mean(axis=1)))
                j = remaining[pick]
                contributions[j] = change[pick]
                order.append(j)
                path.append({"step": len(order), "feature": names[j], "action": "added",
                             "n_active": len(active) + 1, "score": float(scores[pick].mean()),
                             "candidates": {names[c]: float(scores[i].mean())
                                            for i, c in enumerate(remaining)}})
                active, current = candidates[pick], scores[pick]
            rank = np.empty(L, dtype=np.int64)
            rank[order] = np.arange(1, L + 1)
    return ImportanceResult(
        method=f"stepwise_{direction}", labels=setup.labels, importances=contributions,
        granularity=setup.granularity, metric=setup.metric.name, baseline_score=float(full.mean()),
        feature_names=setup.data.feature_names,
        params={"direction": direction, "mode": setup.mode, "cv": setup.cv_description, "n_folds": K,
                "fit_kwargs": dict(setup.fit_kwargs)},
        extra={"rank": rank, "order": [names[j] for j in order], "path": path, "null_scores": null,
               "full_scores": full, "folds": setup.folds, "n_fitted": runner.n_fitted},
    )
