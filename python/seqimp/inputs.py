"""Input normalisation: where the caller's ``X`` and ``y`` become seqimp's own data.

Every public function turns its ``X`` into a :class:`SequenceData` once: a float32, C-order copy of
shape (n, T, F) and the feature names. 2-D input (n, F) is a sequence of length 1; the model still
sees the 2-D shape it was given (:meth:`SequenceData.to_model_input`). Everything after this works on
``SequenceData``; arguments that only make sense against it (a gradient baseline, LOFO folds, the model's
declared input shape) are checked where they are used, against ``SequenceData``'s shapes. The caller's
array is read, never written, so read-only arrays (R's memory seen through reticulate) work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import checks
from .adapters import is_rpy2_object


@dataclass(frozen=True)
class SequenceData:
    """X as (n, T, F) float32 C-order, with feature names.

    ``input_ndim`` is 2 when the caller passed (n, F); the model then gets 2-D blocks back.
    """

    X: np.ndarray
    feature_names: tuple
    input_ndim: int

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_timesteps(self):
        return self.X.shape[1]

    @property
    def n_features(self):
        return self.X.shape[2]

    @property
    def input_shape(self):
        """The shape the caller gave, which is the shape the model expects."""
        return self.X.shape[:1] + self.X.shape[2:] if self.input_ndim == 2 else self.X.shape

    def feature_values(self):
        """Every (sample, timestep) value of each feature: a (n * T, F) view of X."""
        return self.X.reshape(-1, self.n_features)

    def feature_mean(self):
        """Each feature's mean over samples and timesteps, float64 of shape (F,)."""
        return self.feature_values().mean(axis=0, dtype=np.float64)

    def feature_std(self):
        """Each feature's standard deviation over samples and timesteps (ddof=0), float64 of shape (F,)."""
        return self.feature_values().std(axis=0, dtype=np.float64)

    def feature_range(self):
        """Each feature's max - min over samples and timesteps, float64 of shape (F,)."""
        return np.ptp(self.feature_values(), axis=0).astype(np.float64)

    def to_model_input(self, block):
        """A (m, T, F) block in the layout the model expects."""
        return block.reshape(block.shape[0], block.shape[2]) if self.input_ndim == 2 else block


def _from_frame(X):
    names = [str(c) for c in X.columns]
    bad = [str(c) for c, dt in X.dtypes.items() if not (np.issubdtype(dt, np.number) or dt == bool)]
    if bad:
        raise TypeError(f"X must hold numbers only; the DataFrame columns {bad} are not numeric.")
    return X.to_numpy(dtype=np.float64, copy=False), names


def as_sequence_data(X, feature_names=None, *, func="seqimp", name="X") -> SequenceData:
    """Validate and copy ``X`` into a :class:`SequenceData`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features)
        NumPy arrays (read-only ones too), pandas DataFrames, nested lists, R arrays via reticulate
        or rpy2.
    feature_names : sequence of str, default=None
        Names for the last axis. Defaults to DataFrame columns, then ``x1..xF``.
    """
    if isinstance(X, SequenceData):
        return X
    if X is None:
        raise TypeError(f"The '{name}' parameter of {func} is required: pass an array of shape (samples, "
                        f"timesteps, features) or (samples, features). Got None instead.")
    frame_names = None
    if is_rpy2_object(X):
        from .r import from_r  # noqa: WPS433  (rpy2 only when the caller already uses it)

        X, frame_names = from_r(X, with_names=True, name=name)
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        array, frame_names = _from_frame(X)
    else:
        try:
            array = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be array-like of numbers; could not convert a "
                            f"{type(X).__name__}: {exc}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold numbers only; got an array of dtype {array.dtype}.")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; got an array of dtype {array.dtype}.")
    if array.ndim not in (2, 3):
        raise ValueError(f"{name} must be 3-D (samples, timesteps, features) or 2-D (samples, features); "
                         f"got {array.ndim}-D input of shape {array.shape}.")
    if 0 in array.shape:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}.")
    input_ndim = array.ndim
    data = np.array(array, dtype=np.float32, order="C", copy=True)
    if not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"{name} must be finite (no NaN, NA or inf); the first bad value is at index "
                         f"{tuple(int(i) for i in bad)}.")
    if input_ndim == 2:
        data = data[:, np.newaxis, :]
    names = _feature_names(feature_names if feature_names is not None else frame_names,
                           data.shape[2], func)
    data.setflags(write=False)
    return SequenceData(X=data, feature_names=names, input_ndim=input_ndim)


def _feature_names(names, n_features, func):
    if names is None:
        return tuple(f"x{i + 1}" for i in range(n_features))
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)) and not hasattr(names, "__iter__"):
        checks.fail("feature_names", func, f"a sequence of {n_features} strings", names, TypeError)
    names = tuple(str(n) for n in names)
    if len(names) != n_features:
        raise ValueError(f"The 'feature_names' parameter of {func} must have one name per feature "
                         f"({n_features}). Got {len(names)} names instead.")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"The 'feature_names' parameter of {func} must hold unique names. "
                         f"Got duplicates {dupes} instead.")
    return names


def as_target(y, n_samples, *, func="seqimp", name="y"):
    """``y`` as a float64 array with ``n_samples`` rows (copied; never written)."""
    if y is None:
        raise ValueError(f"The '{name}' parameter of {func} is required: pass the true targets, "
                         f"one row per sample of X ({n_samples}).")
    if is_rpy2_object(y):
        from .r import from_r

        y, _ = from_r(y, with_names=True, name=name)
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    array = np.asarray(y)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"The '{name}' parameter of {func} must hold numbers; got dtype {array.dtype}.")
    if array.ndim == 0 or array.shape[0] != n_samples:
        raise ValueError(f"The '{name}' parameter of {func} must have one row per sample of X "
                         f"({n_samples}); got shape {array.shape}.")
    array = np.array(array, dtype=np.float64, copy=True)
    if not np.isfinite(array).all():
        raise ValueError(f"The '{name}' parameter of {func} must be finite (no NaN, NA or inf).")
    return array
