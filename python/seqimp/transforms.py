"""How a perturbed copy is built: the one step each method changes in the engine's loop.

- :class:`AdditiveNoise`: add Gaussian or uniform noise to the label's cells.
- :class:`Constant`: set the label's cells to a per-feature value (zero, the mean).
- :class:`Resample`: take the label's cells from other samples, by a permutation of the rows
  (permutation importance) or by an independent draw of another row for each row ("swap").
- :class:`SwapCategorical`: another transform on a label's numeric cells, a swap on its categorical
  ones (category codes and token ids are never noised, zeroed or averaged).

Each works block by block over the cells a label touches in every model input. Under a mask the engine
restores padded cells after every step (:class:`seqimp.engine.Transform`); :class:`Resample` also
reads donors' real steps only (:func:`end_aligned_steps`).
"""

from __future__ import annotations

import numpy as np

from .engine import Transform, tile_draws


def per_block(data, values):
    """``values`` for every block, each broadcast to that block's (T, F): one value, a per-feature
    array for one block, or a list with one entry per block. float32 for a float32 block (its noise is
    computed as it always was), float64 for every other."""
    if not isinstance(values, (list, tuple)):
        values = [values] * len(data.blocks)
    return [np.broadcast_to(np.asarray(v, dtype=np.float32 if block.X.dtype == np.float32 else np.float64),
                            block.X.shape[1:])
            for v, block in zip(values, data.blocks)]


class AdditiveNoise(Transform):
    """``x += scale_f * e`` on the label's cells, e ~ N(0, 1) or U(-1, 1).

    One draw per task covers the label's cells in every block, in block order, so a single block draws
    exactly as it always has.
    """

    writes_fractions = True

    def __init__(self, data, scale, distribution):
        super().__init__(data)
        self.scales = per_block(data, scale)
        self.distribution = distribution

    def _draw(self, k):
        if self.distribution == "gaussian":
            return lambda rng, rows: rng.standard_normal((rows, k), dtype=np.float32)
        return lambda rng, rows: rng.uniform(-1.0, 1.0, size=(rows, k)).astype(np.float32)

    def apply(self, outs, i0, i1, label, seed):
        sizes = [int(cells.sum()) for _, cells in label.parts]
        noise = tile_draws(seed, i0, i1, self.data.n_samples, self._draw(sum(sizes)))
        offset = 0
        for (b, cells), k in zip(label.parts, sizes):
            outs[b][:, cells] += noise[:, offset:offset + k] * self.scales[b][cells]
            offset += k


class Constant(Transform):
    """The label's cells are set to a per-feature value."""

    writes_fractions = True

    def __init__(self, data, values):
        super().__init__(data)
        self.values = per_block(data, values)

    def apply(self, outs, i0, i1, label, state):
        for b, cells in label.parts:
            outs[b][:, cells] = self.values[b][cells]


def end_aligned_steps(mask):
    """Where each row's real steps are, counted from its last real step.

    Returns ``rank`` (n, T): k for the k-th real step from the end (0 = the last), -1 for padding; and
    ``order`` (n, T): the timestep of the row's k-th real step from the end, -1 beyond its real steps.
    """
    real_from_end = np.cumsum(mask[:, ::-1], axis=1)[:, ::-1]
    rank = np.where(mask, real_from_end - 1, -1).astype(np.int64)
    order = np.full(mask.shape, -1, dtype=np.int64)
    rows, steps = np.nonzero(mask)
    order[rows, rank[rows, steps]] = steps
    return rank, order


class Resample(Transform):
    """The label's cells of row i come from row ``source[i]``.

    ``kind="permutation"``: source is a permutation of the rows (the same one for every cell of the
    label, so a feature's whole trajectory moves together and the order of timesteps is kept).
    ``kind="swap"``: source[i] is another row drawn at random, never i itself.

    Padded sequences (a block with a mask) align by position from the end: the k-th real step from the
    end of row i takes the k-th real step from the end of its donor, so the latest observations meet
    the latest, which is what a forecast reads; with padding at the start (Keras' ``pad_sequences``
    default) that is the same timestep. Real steps of row i beyond the donor's length keep their own
    values, and padding is never read from nor written to.
    """

    def __init__(self, data, kind):
        super().__init__(data)
        self.kind = kind
        self.aligned = {b: end_aligned_steps(block.mask) for b, block in enumerate(data.blocks)
                        if block.mask is not None}

    def start(self, label, seed):
        n = self.data.n_samples
        rng = np.random.default_rng(seed)
        if self.kind == "permutation":
            return rng.permutation(n)
        if n < 2:
            return np.zeros(n, dtype=np.int64)
        source = rng.integers(0, n - 1, size=n)
        return source + (source >= np.arange(n))

    def apply(self, outs, i0, i1, label, source):
        rows = source[i0:i1]
        for b, cells in label.parts:
            X = self.blocks[b].X
            if b not in self.aligned:
                donors = X[rows]
                outs[b][:, cells] = donors[:, cells]
                continue
            rank, order = self.aligned[b]
            k = rank[i0:i1]
            steps = np.where(k >= 0, order[rows[:, np.newaxis], np.maximum(k, 0)], -1)
            donors = X[rows[:, np.newaxis], np.maximum(steps, 0)]
            np.copyto(outs[b], donors, where=(steps >= 0)[:, :, np.newaxis] & cells[np.newaxis])


class _Cells:
    """The part of a label one transform of :class:`SwapCategorical` works on (its ``parts`` only)."""

    def __init__(self, parts):
        self.parts = tuple(parts)


# Extends a task's seed for the swap of its categorical cells: two words, where random tiles extend it
# by one, so the swap never shares a seed with the numeric transform's draws.
_SWAP_KEY = (0x5A9, 0)


class SwapCategorical(Transform):
    """``numeric`` on a label's numeric cells; a swap with another sample on its categorical cells.

    A label over numeric features only draws exactly as ``numeric`` alone does.
    """

    def __init__(self, data, numeric):
        super().__init__(data)
        self.numeric = numeric
        self.swap = Resample(data, "swap")
        self.categorical = [block.categorical_mask[np.newaxis, :] for block in data.blocks]
        self.writes_fractions = numeric.writes_fractions

    def split(self, label):
        """(the label's numeric cells, its categorical cells), each a :class:`_Cells`."""
        numeric, categorical = [], []
        for b, cells in label.parts:
            swapped = cells & self.categorical[b]
            if swapped.any():
                categorical.append((b, swapped))
            if (cells & ~swapped).any():
                numeric.append((b, cells & ~swapped))
        return _Cells(numeric), _Cells(categorical)

    def start(self, label, seed):
        numeric, categorical = self.split(label)
        swap_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + _SWAP_KEY)
        return (numeric, self.numeric.start(numeric, seed), categorical,
                self.swap.start(categorical, swap_seed) if categorical.parts else None)

    def apply(self, outs, i0, i1, label, state):
        numeric, numeric_state, categorical, swap_state = state
        if numeric.parts:
            self.numeric.apply(outs, i0, i1, numeric, numeric_state)
        if categorical.parts:
            self.swap.apply(outs, i0, i1, categorical, swap_state)
