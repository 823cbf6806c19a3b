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
    default) that is the same timestep. Every real cell is moved: where the donor has fewer real steps
    than row i, row i's earlier steps take their values from another donor that has them, drawn among
    the rows whose k-th step from the end is real (for a permutation: the next such row along the
    permutation's cycle, which is a uniform random permutation of those rows, so every real value at
    that position is used once; for a swap: a new random row). Padding is never read from nor written
    to. Only a row that alone has steps that far back keeps them (no other row has a value to give).
    """

    moves_rows = True

    def __init__(self, data, kind):
        super().__init__(data)
        self.kind = kind
        # Donors drawn by start(), kept until donors() asks for them (the standard error's bookkeeping
        # then draws nothing twice); only while remember_donors is set.
        self.remember_donors = False
        self._drawn = {}
        self.aligned = {b: end_aligned_steps(block.mask) for b, block in enumerate(data.blocks)
                        if block.mask is not None}
        self.lengths = {b: block.mask.sum(axis=1) for b, block in enumerate(data.blocks)
                        if block.mask is not None}

    def __getstate__(self):
        # Workers (n_jobs) draw their own copies of the donors and never hand them over: they keep none.
        return {**self.__dict__, "remember_donors": False, "_drawn": {}}

    def _source(self, rng):
        n = self.data.n_samples
        if self.kind == "permutation":
            return rng.permutation(n)
        if n < 2:
            return np.zeros(n, dtype=np.int64)
        source = rng.integers(0, n - 1, size=n)
        return source + (source >= np.arange(n))

    @property
    def donates_once(self):
        # Under a mask a row may give early steps to one row and late ones to another.
        return self.kind == "permutation" and not self.aligned

    def forget_donors(self):
        self._drawn.clear()

    def drawn_donors(self, key, label):
        state = self._drawn.pop(key, None)
        return None if state is None else self._donors_of(label, *state)

    def donors(self, label, seed):
        """The donor of each row (n,); under a mask, where a row's cells come from several donors,
        (rows, donors, weights) with each row's weights the shares of its real cells each donor gave."""
        state = self._drawn.pop(tuple(seed.spawn_key), None)
        return self._donors_of(label, *(state if state is not None else self._draw(label, seed)))

    def start(self, label, seed):
        state = self._draw(label, seed)
        if self.remember_donors:
            self._drawn[tuple(seed.spawn_key)] = state
        return state

    def _draw(self, label, seed):
        rng = np.random.default_rng(seed)
        source = self._source(rng)
        blocks = sorted({b for b, _ in label.parts if b in self.aligned})
        return source, {b: self._later_donors(b, source, rng) for b in blocks}

    def _donors_of(self, label, source, later):
        if not any(later.values()):
            return source
        n = len(source)
        rows, donors, weights = [], [], []
        for b, cells in label.parts:
            if b not in self.aligned:  # every row's cells here come from its first donor
                rows.append(np.arange(n))
                donors.append(source)
                weights.append(np.full(n, float(cells.sum())))
                continue
            steps = np.flatnonzero(cells.any(axis=1))
            k = self.aligned[b][0][:, steps]  # position from the end of each touched step, -1: padding
            by_position = self._by_position(source, later[b], 0, n, self.blocks[b].X.shape[1])
            real = k >= 0
            rows.append(np.broadcast_to(np.arange(n)[:, np.newaxis], k.shape)[real])
            donors.append(np.take_along_axis(by_position, np.maximum(k, 0), axis=1)[real])
            weights.append(np.broadcast_to(cells.sum(axis=1)[steps].astype(float), k.shape)[real])
        rows, donors, weights = (np.concatenate(parts) for parts in (rows, donors, weights))
        total = np.bincount(rows, weights=weights, minlength=n)
        return rows, donors, weights / total[rows]

    @staticmethod
    def _by_position(source, changes, i0, i1, n_steps):
        """(i1 - i0, n_steps): the donor of rows i0:i1 at each position from the end."""
        by_position = np.repeat(source[i0:i1, np.newaxis], n_steps, axis=1)
        for position, changed, new in changes:
            lo, hi = np.searchsorted(changed, (i0, i1))
            by_position[changed[lo:hi] - i0, position:] = new[lo:hi, np.newaxis]
        return by_position

    def _later_donors(self, b, source, rng):
        """Where a donor has fewer real steps than the row: [(position, rows, donors)], in order of
        position, each saying that ``rows`` take their k-th real step from the end, k >= position,
        from ``donors`` instead."""
        lengths = self.lengths[b]
        steps = np.unique(lengths)
        current = source.copy()
        changes = []
        for before, length in zip(steps[:-1], steps[1:]):
            # Positions before..length-1 from the end are real exactly in the rows at least `length` long.
            real = lengths >= length
            rows = np.flatnonzero(real)
            new = self._among(current, real, rows, rng)
            moved = new != current[rows]
            current[rows] = new
            if moved.any():
                changes.append((int(before), rows[moved], new[moved]))
        return changes

    def _among(self, current, real, rows, rng):
        """Each of ``rows``' donor among the ``real`` rows."""
        if self.kind == "permutation":
            # The permutation induced on the real rows: follow each row's cycle to the next real row
            # (pointer jumping: log2 of the longest gap rounds).
            jump = current.copy()
            while not real[jump[rows]].all():
                jump = np.where(real[jump], jump, jump[jump])
            return jump[rows]
        new = current[rows].copy()
        redraw = ~real[new]
        if len(rows) == 1:
            return rows.copy()
        if redraw.any():
            mine = np.searchsorted(rows, rows[redraw])
            pick = rng.integers(0, len(rows) - 1, size=int(redraw.sum()))
            new[redraw] = rows[pick + (pick >= mine)]
        return new

    def apply(self, outs, i0, i1, label, state):
        source, later = state
        rows = source[i0:i1]
        for b, cells in label.parts:
            X = self.blocks[b].X
            if b not in self.aligned:
                donors = X[rows]
                outs[b][:, cells] = donors[:, cells]
                continue
            rank, order = self.aligned[b]
            k = rank[i0:i1]
            by_position = self._by_position(source, later[b], i0, i1, X.shape[1])
            donor_rows = np.take_along_axis(by_position, np.maximum(k, 0), axis=1)
            steps = np.where(k >= 0, order[donor_rows, np.maximum(k, 0)], -1)
            donors = X[donor_rows, np.maximum(steps, 0)]
            np.copyto(outs[b], donors, where=(steps >= 0)[:, :, np.newaxis] & cells[np.newaxis])


class _Cells:
    """The part of a label one transform of :class:`SwapCategorical` works on (its ``parts`` only)."""

    def __init__(self, parts):
        self.parts = tuple(parts)


# Extends a task's seed for the swap of its categorical cells: two words, where random tiles extend it
# by one, so the swap never shares a seed with the numeric transform's draws.
_SWAP_KEY = (0x5A9, 0)


def _swap_seed(seed):
    return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + _SWAP_KEY)


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
        self.moves_rows = True

    def forget_donors(self):
        self.swap.forget_donors()

    def drawn_donors(self, key, label):
        categorical = self.split(label)[1]
        return self.swap.drawn_donors(key + _SWAP_KEY, categorical) if categorical.parts else None

    @property
    def remember_donors(self):
        return self.swap.remember_donors

    @remember_donors.setter
    def remember_donors(self, value):
        self.swap.remember_donors = value

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
        return (numeric, self.numeric.start(numeric, seed), categorical,
                self.swap.start(categorical, _swap_seed(seed)) if categorical.parts else None)

    def donors(self, label, seed):
        numeric, categorical = self.split(label)
        if categorical.parts:
            return self.swap.donors(categorical, _swap_seed(seed))
        return self.numeric.donors(numeric, seed)

    def apply(self, outs, i0, i1, label, state):
        numeric, numeric_state, categorical, swap_state = state
        if numeric.parts:
            self.numeric.apply(outs, i0, i1, numeric, numeric_state)
        if categorical.parts:
            self.swap.apply(outs, i0, i1, categorical, swap_state)
