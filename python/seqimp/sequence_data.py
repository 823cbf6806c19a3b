"""seqimp's own data: X as one :class:`Block` per model input, gathered in a :class:`SequenceData`.

The input stage (:func:`seqimp.model_inputs.prepare_inputs`) builds them once per call; everything after
it (labels, transforms, the engine, the methods) reads them and never the caller's objects. A block is
(n, T, F) C-order and read-only in X's own dtype (or the Keras input's), with its feature names, which
features are categorical, the mask of its real steps, and how to give a chunk back to the model in the
shape and type the caller used (2-D, a DataFrame, token ids).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .frames import FrameInfo


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

    For one block, ``X``, ``input_ndim`` and ``input_shape`` are that block's, as before several inputs
    existed (per-feature statistics are each block's own: :meth:`Block.feature_mean`, ...).
    """

    blocks: tuple
    structure: str = "array"
    feature_names: tuple = ()
    mask_source: str = "none"

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
