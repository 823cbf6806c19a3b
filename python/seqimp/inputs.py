"""Input normalisation: where the caller's ``X`` and ``y`` become seqimp's own data.

Every public function turns its ``X`` into a :class:`SequenceData` once: one :class:`Block` per model
input, each a C-order, read-only copy of shape (n, T, F) in X's own dtype (float64 stays float64,
integers stay integers; :mod:`seqimp.model_inputs` casts to a Keras model's dtype), with its feature
names. 2-D input (n, F) is a block without timesteps (T = 1); the model still sees the 2-D shape it was
given (:meth:`SequenceData.to_model_input`), and a DataFrame a DataFrame (:mod:`seqimp.frames`).
``X`` may be one array, a list of arrays (the model's input order) or a dict keyed by the model's input
names, and the model gets the same structure back.
Everything after this works on blocks; arguments that only make sense against them (a gradient
baseline, LOFO folds, the model's declared input shapes, the mask of padded steps,
:mod:`seqimp.masks`) are checked where they are used. The caller's arrays are read, never written, so
read-only arrays (R's memory seen through reticulate) work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np

from . import checks
from .adapters import is_rpy2_object
from .frames import FrameInfo, frame_block, is_frame

STRUCTURES = ("array", "list", "dict")


@dataclass(frozen=True)
class Block:
    """One model input as (n, T, F) C-order (read-only) in its own dtype, with its own feature names.

    ``input_ndim`` is 2 when the caller passed (n, F): T is then 1 and the model gets 2-D chunks back.
    ``mask`` is None (every step real) or a read-only (n, T) bool array, True for a real step and False
    for padding; only sequence blocks have one. ``name`` is the input's name: its dict key, its model
    input name, or ``input1..`` by list position (None for a single array). ``categorical`` flags the
    features whose values are categories (only ever moved between samples, never noised); empty when
    none is. ``frame`` rebuilds a DataFrame's chunks (:mod:`seqimp.frames`). ``tokens`` marks an
    input of token ids (n, T) feeding an embedding: one categorical feature over T timesteps, stored
    as (n, T, 1) and given to the model as (n, T).
    """

    X: np.ndarray
    feature_names: tuple
    input_ndim: int
    name: Optional[str] = None
    mask: Optional[np.ndarray] = None
    categorical: tuple = ()
    frame: Optional[FrameInfo] = None
    tokens: bool = False

    @property
    def n_timesteps(self):
        return self.X.shape[1]

    @property
    def n_features(self):
        return self.X.shape[2]

    @property
    def is_sequence(self):
        return self.input_ndim == 3 or self.tokens

    @property
    def categorical_mask(self):
        """(F,) bool: True for a categorical feature."""
        if not self.categorical:
            return np.zeros(self.n_features, dtype=bool)
        return np.asarray(self.categorical, dtype=bool)

    @property
    def input_shape(self):
        """The shape the caller gave, which is the shape the model expects."""
        if self.tokens:
            return self.X.shape[:2]
        return self.X.shape[:1] + self.X.shape[2:] if self.input_ndim == 2 else self.X.shape

    def to_model_input(self, chunk, rows=None):
        """A (m, T, F) chunk in the layout the model expects: (m, T) token ids, (m, F) for a 2-D input, a
        DataFrame for a frame (``rows``: the caller's rows the chunk holds, for its index)."""
        if self.tokens:
            return chunk.reshape(chunk.shape[0], chunk.shape[1])
        if self.input_ndim != 2:
            return chunk
        flat = chunk.reshape(chunk.shape[0], chunk.shape[2])
        return flat if self.frame is None else self.frame.rebuild(flat, rows)

    def real_values(self):
        """Every real (sample, timestep) row of each feature: (n_real_steps, F); a view without a mask."""
        if self.mask is None:
            return self.X.reshape(-1, self.n_features)
        return self.X[self.mask]

    @property
    def has_missing(self):
        """True where X holds NaN: missing values of a DataFrame's numeric columns (arrays have none)."""
        return self.X.dtype.kind == "f" and bool(np.isnan(self.X).any())

    def feature_mean(self):
        """Each feature's mean over samples and real timesteps (missing values left out), float64 (F,)."""
        mean = np.nanmean if self.has_missing else np.mean
        return mean(self.real_values(), axis=0, dtype=np.float64)

    def feature_std(self):
        """Each feature's standard deviation over samples and real timesteps (ddof=0; missing values left
        out), float64 of shape (F,)."""
        std = np.nanstd if self.has_missing else np.std
        return std(self.real_values(), axis=0, dtype=np.float64)

    def feature_range(self):
        """Each feature's max - min over samples and real timesteps (missing values left out), float64 (F,)."""
        values = self.real_values()
        if self.has_missing:
            return (np.nanmax(values, axis=0) - np.nanmin(values, axis=0)).astype(np.float64)
        return np.ptp(values, axis=0).astype(np.float64)

    def take(self, rows):
        """The block restricted to ``rows`` (a sorted index array): a new read-only copy."""
        X = np.ascontiguousarray(self.X[rows])
        X.setflags(write=False)
        mask = None
        if self.mask is not None:
            mask = np.ascontiguousarray(self.mask[rows])
            mask.setflags(write=False)
        frame = self.frame
        if frame is not None:
            frame = replace(frame, index=frame.index.take(rows))
        return replace(self, X=X, mask=mask, frame=frame)


@dataclass(frozen=True)
class SequenceData:
    """X as one :class:`Block` per model input, with one unique name per feature across all inputs.

    ``structure`` is how the model takes its input: "array" (one array), "list" (in the model's input
    order) or "dict" (keyed by the blocks' names). ``feature_names`` are the label names, one per
    feature in block order: each block's own names, prefixed with the input's name (``"static.age"``)
    only where two inputs share a name. ``mask_source`` says where the blocks' masks came from.

    For one block, ``X``, ``input_ndim``, ``input_shape`` and the ``feature_*`` statistics are that
    block's, as before several inputs existed.
    """

    blocks: tuple
    structure: str = "array"
    feature_names: tuple = ()
    mask_source: str = "none"

    @classmethod
    def single(cls, X, feature_names, input_ndim):
        """One array's data (X already (n, T, F) float32 C-order and read-only)."""
        names = tuple(feature_names)
        return cls(blocks=(Block(X, names, input_ndim),), structure="array", feature_names=names)

    @property
    def n_samples(self):
        return self.blocks[0].X.shape[0]

    @property
    def n_blocks(self):
        return len(self.blocks)

    @property
    def is_single(self):
        return len(self.blocks) == 1

    @property
    def n_timesteps(self):
        """T of the one block, or the longest sequence input's (1 when every input is 2-D)."""
        return max(b.n_timesteps for b in self.blocks)

    @property
    def n_features(self):
        """Features across every input."""
        return sum(b.n_features for b in self.blocks)

    @property
    def has_mask(self):
        return any(b.mask is not None for b in self.blocks)

    @property
    def input_names(self):
        return tuple(b.name for b in self.blocks)

    @property
    def input_shapes(self):
        return tuple(b.input_shape for b in self.blocks)

    @property
    def row_shape(self):
        """The shape of one row for sizing chunks: the block's (T, F), or (values per row,) for several."""
        if self.is_single:
            return self.blocks[0].X.shape[1:]
        return (sum(b.n_timesteps * b.n_features for b in self.blocks),)

    def _one(self, what):
        if not self.is_single:
            raise TypeError(f"SequenceData.{what} is defined for one input; this X has {self.n_blocks} "
                            f"inputs ({list(self.input_names)}). Use data.blocks.")
        return self.blocks[0]

    @property
    def X(self):
        """The one block's (n, T, F) array. With several inputs, every input's values side by side as
        (n, sum of T*F), a copy (what identifies the data, e.g. in a checkpoint's fingerprint)."""
        if self.is_single:
            return self.blocks[0].X
        return np.concatenate([b.X.reshape(b.X.shape[0], -1) for b in self.blocks], axis=1)

    @property
    def input_ndim(self):
        """The one block's ndim (2 or 3); a tuple of them with several inputs."""
        if self.is_single:
            return self.blocks[0].input_ndim
        return tuple(b.input_ndim for b in self.blocks)

    @property
    def input_shape(self):
        return self._one("input_shape").input_shape

    def feature_values(self):
        return self._one("feature_values()").real_values()

    def feature_mean(self):
        return self._one("feature_mean()").feature_mean()

    def feature_std(self):
        return self._one("feature_std()").feature_std()

    def feature_range(self):
        return self._one("feature_range()").feature_range()

    def feature_offsets(self):
        """Where each block's features start in ``feature_names`` (length n_blocks + 1)."""
        return np.cumsum([0] + [b.n_features for b in self.blocks])

    def locate(self, feature):
        """A global feature index -> (block index, the feature's index in that block)."""
        offsets = self.feature_offsets()
        b = int(np.searchsorted(offsets, feature, side="right") - 1)
        return b, int(feature - offsets[b])

    def to_model_input(self, chunks, rows=None):
        """One (m, T_i, F_i) chunk per block -> what the model takes: an array, a list or a dict.
        ``rows`` are the samples the chunk's rows are copies of (a DataFrame chunk's index)."""
        if self.structure == "array":
            chunk = chunks[0] if isinstance(chunks, (list, tuple)) else chunks
            return self.blocks[0].to_model_input(chunk, rows)
        parts = [b.to_model_input(c, rows) for b, c in zip(self.blocks, chunks)]
        if self.structure == "dict":
            return {b.name: p for b, p in zip(self.blocks, parts)}
        return parts

    @property
    def categorical_features(self):
        """Indices (into ``feature_names``) of the categorical features, across every input."""
        return np.flatnonzero(np.concatenate([b.categorical_mask for b in self.blocks]))

    def with_blocks(self, blocks, **changes):
        return replace(self, blocks=tuple(blocks), **changes)

    def take(self, rows):
        """The data restricted to ``rows`` (sorted indices), masks included."""
        return self.with_blocks([b.take(rows) for b in self.blocks])

    def structured(self, values):
        """Per-block ``values`` arranged like the caller's X: the value, a list, or a dict."""
        if self.structure == "array":
            return values[0]
        if self.structure == "dict":
            return {b.name: v for b, v in zip(self.blocks, values)}
        return list(values)


def _is_several(X):
    """True for X given as several inputs: a dict, or a list/tuple of arrays (not a nested list of numbers)."""
    if isinstance(X, Mapping):
        return True
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return all(hasattr(x, "shape") or is_rpy2_object(x) or isinstance(x, Mapping) for x in X)
    return False


def _array_block(X, name, func):
    """One array-like -> a :class:`Block` (its X an (n, T, F) read-only copy in X's own dtype) and the
    names it carries (or None)."""
    frame_names = None
    if is_rpy2_object(X):
        from .r import from_r  # noqa: WPS433  (rpy2 only when the caller already uses it)

        X, frame_names = from_r(X, with_names=True, name=name)
    if is_frame(X):
        data, names, info, categorical = frame_block(X, name, func)
        return Block(data, tuple(names), 2, frame=info, categorical=categorical), names
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
    data = np.array(array, dtype=_stored_dtype(array.dtype), order="C", copy=True)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(f"{name} must be finite (no NaN, NA or inf); the first bad value is at index "
                         f"{tuple(checks.shown_index(i) for i in bad)}.")
    if input_ndim == 2:
        data = data[:, np.newaxis, :]
    data.setflags(write=False)
    categorical = (True,) * data.shape[2] if data.dtype == bool else ()
    return Block(data, (), input_ndim, categorical=categorical), frame_names


def _stored_dtype(dtype):
    """X's own dtype, except float16 (float32: NumPy computes in it anyway) and big-endian (native)."""
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype.newbyteorder("=") if dtype.byteorder not in ("=", "|") else dtype


def as_sequence_data(X, feature_names=None, *, func="seqimp", name="X") -> SequenceData:
    """Validate and copy ``X`` into a :class:`SequenceData`.

    Parameters
    ----------
    X : array-like, or a list or dict of them
        One array of shape (n_samples, n_timesteps, n_features) or (n_samples, n_features): NumPy
        arrays (read-only ones too), pandas DataFrames, nested lists, R arrays via reticulate or rpy2.
        Several inputs: a list of such arrays (the model's input order) or a dict keyed by the model's
        input names, all with the same n_samples; an R list through rpy2 too.
    feature_names : sequence of str, or a list or dict of them, default=None
        Names for the last axis. Defaults to DataFrame columns or R dimnames, then ``x1..xF``. With
        several inputs, a dict keyed like X or a list with one entry (a sequence of names or None) per
        input.
    """
    if isinstance(X, SequenceData):
        return X
    if X is None:
        raise TypeError(f"The '{name}' parameter of {func} is required: pass an array of shape (samples, "
                        f"timesteps, features) or (samples, features), or a list or dict of them. Got "
                        f"None instead.")
    if is_rpy2_object(X):
        from .r import r_list_items  # noqa: WPS433

        X = r_list_items(X)
    if not _is_several(X):
        block, frame_names = _array_block(X, name, func)
        names = _feature_names(feature_names if feature_names is not None else frame_names,
                               block.n_features, func)
        block = replace(block, feature_names=names)
        return SequenceData(blocks=(block,), structure="array", feature_names=names)
    return _several(X, feature_names, func, name)


def _several(X, feature_names, func, name):
    if len(X) == 0:
        raise ValueError(f"The '{name}' parameter of {func} must hold at least one array; got an empty "
                         f"{type(X).__name__}.")
    structure = "dict" if isinstance(X, Mapping) else "list"
    keys = [str(k) for k in X] if structure == "dict" else [f"input{i + 1}" for i in range(len(X))]
    if structure == "dict" and len(set(keys)) != len(keys):
        raise ValueError(f"The '{name}' parameter of {func} has keys that are equal as strings: {list(X)}.")
    values = list(X.values()) if structure == "dict" else list(X)
    shown = [f"{name}[{k!r}]" if structure == "dict" else f"{name}[{checks.shown_index(i)}]"
             for i, k in enumerate(keys)]
    names_per_input = _names_per_input(feature_names, keys, structure, func)
    blocks = []
    for key, value, where, given in zip(keys, values, shown, names_per_input):
        block, carried = _array_block(value, where, func)
        names = _feature_names(given if given is not None else carried, block.n_features, func,
                               where=f" for {where}")
        blocks.append(replace(block, feature_names=names, name=key))
    counts = {where: b.X.shape[0] for where, b in zip(shown, blocks)}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{w} has {c}" for w, c in counts.items())
        raise ValueError(f"The '{name}' parameter of {func} must hold arrays with the same number of samples "
                         f"(first axis); got {listed}.")
    return SequenceData(blocks=tuple(blocks), structure=structure,
                        feature_names=label_names(blocks, func))


def with_feature_names(data, feature_names, func="seqimp"):
    """``data`` with the caller's ``feature_names`` (shaped like X) put on its blocks as they are now (a
    token input, say, has one feature where its 2-D array had T columns); a block given None keeps its
    names."""
    if feature_names is None:
        return data
    if data.structure == "array":
        per, shown = [feature_names], [""]
    else:
        per = _names_per_input(feature_names, list(data.input_names), data.structure, func)
        shown = [f" for X[{b.name!r}]" if data.structure == "dict" else f" for X[{checks.shown_index(i)}]"
                 for i, b in enumerate(data.blocks)]
    blocks = [block if given is None else replace(block, feature_names=_feature_names(
        given, block.n_features, func, where=where)) for block, given, where in zip(data.blocks, per, shown)]
    return data.with_blocks(blocks, feature_names=label_names(blocks, func))


def _names_per_input(feature_names, keys, structure, func):
    """``feature_names`` for several inputs -> one entry (names or None) per input, in order."""
    if feature_names is None:
        return [None] * len(keys)
    expected = (f"a dict keyed like X ({keys}) or a list with one entry (a sequence of names, or None) "
                f"per input ({len(keys)})")
    if isinstance(feature_names, Mapping):
        return entries_by_input(feature_names, keys, "feature_names", func)
    if isinstance(feature_names, str) or not hasattr(feature_names, "__len__") or \
            len(feature_names) != len(keys) or \
            not all(v is None or (not isinstance(v, str) and hasattr(v, "__iter__")) for v in feature_names):
        checks.fail("feature_names", func, expected, feature_names, TypeError)
    return list(feature_names)


def entries_by_input(value, keys, name, func):
    """A dict keyed like X -> its values in X's order of inputs (None for an input it does not name).
    Keys that are not inputs of X are refused, naming them."""
    given = {str(k): v for k, v in value.items()}
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise ValueError(f"The '{name}' parameter of {func} has keys {unknown} that are not inputs of X; "
                         f"X's inputs are {list(keys)}.")
    return [given.get(k) for k in keys]


def label_names(blocks, func="seqimp"):
    """One unique name per feature across ``blocks``: a feature's own name, prefixed with its input's
    name (``"static.age"``) only where another input has a feature of the same name."""
    counts = {}
    for block in blocks:
        for n in block.feature_names:
            counts[n] = counts.get(n, 0) + 1
    names = tuple(n if counts[n] == 1 else f"{block.name}.{n}" for block in blocks for n in block.feature_names)
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"The 'feature_names' parameter of {func} must give every feature a unique name "
                         f"across inputs (shared names are prefixed with the input's name); got "
                         f"duplicates {dupes}.")
    return names


def _feature_names(names, n_features, func, where=""):
    if names is None:
        return tuple(f"x{i + 1}" for i in range(n_features))
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)) and not hasattr(names, "__iter__"):
        checks.fail("feature_names", func, f"a sequence of {n_features} strings{where}", names, TypeError)
    names = tuple(str(n) for n in names)
    if len(names) != n_features:
        raise ValueError(f"The 'feature_names' parameter of {func} must have one name per feature "
                         f"({n_features}){where}. Got {len(names)} names instead.")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"The 'feature_names' parameter of {func} must hold unique names{where}. "
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
