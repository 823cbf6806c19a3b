"""Folds and seeds: the (train, test) splits of a retraining run, the seeds drawn from its
``random_state``, and what one fit of one fold is given (its columns of X, its fit arguments).

Seeds are derived once from ``random_state``: one for an int ``cv``'s shuffle, and one per fold,
shared by every fit of that fold (common random numbers: the full model and the model without a
feature start from the same draws, so their difference measures the feature and not the luck of the
initialisation).
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import checks
from ..errors import Position, Raised, SeqimpValueError, text


def _sub_seed(root, *key):
    seq = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key)
    return int(seq.generate_state(1)[0])


def fold_seeds(root, n_folds):
    """One seed per fold, shared by every fit of that fold."""
    return [_sub_seed(root, 1, k) for k in range(n_folds)]


_CV_EXPECTED = text("{an_int} in the range [2, n_samples], a scikit-learn splitter (an object with .split) or "
                    "an iterable of (train, test) index arrays")


def make_folds(cv, n_samples, y, root, func):
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
            raise SeqimpValueError(
                "The '{argument}' {parameter} of {function} could not split the {n_samples} samples of {X}: "
                "{exc}. A splitter that needs sample groups (GroupKFold) can be given as its splits: "
                "cv=list(GroupKFold(5).split(np.zeros((n, 1)), groups=g)).", argument="cv", function=func,
                n_samples=n_samples, exc=Raised(exc)) from None
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
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must give (train, test) index "
                                   "pairs; split {i} is {type}.", argument="cv", function=func, i=Position(i),
                                   type=type(split).__name__) from None
        pair = []
        for part, idx in (("train", train), ("test", test)):
            idx = np.asarray(idx)
            if idx.dtype == bool and idx.shape == (n_samples,):
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) or \
                    idx.min() < 0 or idx.max() >= n_samples:
                raise SeqimpValueError("The '{argument}' {parameter} of {function} gave an invalid {part} part in "
                                       "split {i}: it must be a non-empty array of sample indices in "
                                       "[{first}, {last}].", argument="cv", function=func, part=part,
                                       i=Position(i), first=Position(0), last=Position(n_samples - 1))
            pair.append(idx.astype(np.int64))
        folds.append(tuple(pair))
    if not folds:
        checks.fail("cv", func, "a splitter that gives at least one (train, test) split", cv)
    return folds, description


@dataclass(frozen=True)
class Inputs:
    """Several model inputs as a fit gets them: ``arrays`` (n, T_i, F_i) in X's order, ``ndims`` (2 or 3
    each, the rank the model takes), ``keys`` (X's dict keys, or None for a list). Features are numbered
    across the inputs in this order, as the labels number them."""

    arrays: tuple
    ndims: tuple
    keys: Optional[tuple] = None
    masks: Optional[tuple] = None  # per input, (n, T) True for a real step, or None (padded sequences)
    single: bool = False           # one array (with a mask): fits get the array, not a list
    frames: Optional[tuple] = None  # per input, the FrameInfo a DataFrame came with (fits get DataFrames)

    @classmethod
    def of(cls, data, frames=False):
        """X as a fit gets it: the one array, or an :class:`Inputs` for several inputs, a mask, or (with
        ``frames``, for a scikit-learn estimator) a DataFrame, which each fit gets as a DataFrame."""
        with_frames = frames and any(b.frame is not None for b in data.blocks)
        if data.is_single and not data.has_mask and not with_frames:
            return data.X
        keys = tuple(data.input_names) if data.structure == "dict" else None
        return cls(tuple(b.X for b in data.blocks), tuple(b.input_ndim for b in data.blocks), keys,
                   tuple(b.mask for b in data.blocks), data.is_single,
                   tuple(b.frame for b in data.blocks) if with_frames else None)

    def local(self, columns):
        """Global feature indices -> one sorted list of local indices per input."""
        offsets = np.cumsum([0] + [a.shape[2] for a in self.arrays])
        return [[j - offsets[b] for j in columns if offsets[b] <= j < offsets[b + 1]]
                for b in range(len(self.arrays))]

    def structured(self, values):
        if self.single:
            return values[0]
        return dict(zip(self.keys, values)) if self.keys is not None else list(values)


def fit_widths(X, task):
    """What a builder is called with: the number of kept features; with several inputs, one count per
    input (a list, or a dict keyed like X)."""
    if not isinstance(X, Inputs) or X.single:
        return len(task.keep)
    return X.structured([len(cols) for cols in X.local(task.keep)])


def fold_inputs(X, train, test, task, input_ndim, mask=None, frame=None):
    """One fit's (X_train, X_test) from X of shape (n, T, F): the kept columns, constants held at the
    training-fold mean. ``input_ndim`` 2 gives (n, T * F_kept), timestep-major (t0/f0, t0/f1, ...,
    as ``X.reshape(n, -1)``): 2-D data (T = 1) as it came, or 3-D data for a scikit-learn estimator.
    Several inputs (:class:`Inputs`): each input narrowed to its own kept features, in X's structure.
    Under a ``mask`` a constant is the mean over the training fold's real cells, set on real cells only.
    A ``frame`` (:class:`seqimp.frames.FrameInfo`) makes each a DataFrame of the kept columns."""
    if isinstance(X, Inputs):
        masks = X.masks or (None,) * len(X.arrays)
        frames = X.frames or (None,) * len(X.arrays)
        parts = [fold_inputs(array, train, test, _InputTask(keep, constant), ndim, mask, frame)
                 for array, ndim, keep, constant, mask, frame in zip(X.arrays, X.ndims, X.local(task.keep),
                                                                     X.local(task.constant), masks, frames)]
        return X.structured([p[0] for p in parts]), X.structured([p[1] for p in parts])
    X_train, X_test = X[train], X[test]  # fancy indexing copies; the caller's X is never written
    if task.constant and X.dtype.kind != "f":
        X_train, X_test = X_train.astype(np.float64), X_test.astype(np.float64)  # means are fractions
    if task.constant and mask is not None:
        _hold_real_cells(X_train, X_test, list(task.constant), mask[train], mask[test])
    elif task.constant:
        cols = list(task.constant)
        mean = np.nanmean if X_train.dtype.kind == "f" and np.isnan(X_train).any() else np.mean
        means = mean(X_train[:, :, cols], axis=(0, 1), dtype=np.float64).astype(X_train.dtype)
        X_train[:, :, cols] = means
        X_test[:, :, cols] = means
    if len(task.keep) != X.shape[2]:
        X_train = np.ascontiguousarray(X_train[:, :, list(task.keep)])
        X_test = np.ascontiguousarray(X_test[:, :, list(task.keep)])
    if input_ndim == 2:
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    if frame is not None and X.shape[1] == 1:
        kept = frame.subset(task.keep)
        X_train, X_test = kept.rebuild(X_train, np.asarray(train)), kept.rebuild(X_test, np.asarray(test))
    return X_train, X_test


def _hold_real_cells(X_train, X_test, cols, real_train, real_test):
    """mode="constant" on padded sequences: the training fold's mean over real cells, on real cells only,
    so padding stays padding."""
    means = X_train[real_train][:, cols].mean(axis=0, dtype=np.float64).astype(X_train.dtype)
    for part, real in ((X_train, real_train), (X_test, real_test)):
        part[:, :, cols] = np.where(real[:, :, np.newaxis], means, part[:, :, cols])


@dataclass(frozen=True)
class _InputTask:
    """One input's share of a fit's task: its kept and constant columns (local indices)."""

    keep: list
    constant: list


def fold_fit_kwargs(fit_kwargs, train):
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
