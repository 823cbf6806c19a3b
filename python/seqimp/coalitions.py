"""SAGE's coalitions: the engine's transform that removes the labels outside a coalition, and the
orderings and marginal contributions of the permutation-sampling estimator (:mod:`seqimp.sage`).

Every sample gets its own ordering of the labels in every round, and its reverse (an antithetic pair).
Coalition task (direction, k, r) keeps, in row i, the first k labels of row i's ordering (direction 0)
or of its reverse (direction 1); every other label's cells are removed:

- ``imputer="marginal"``: filled from background row r, so the mean over r of the predictions is
  the model's prediction with the removed labels marginalised out, as ``sage.MarginalImputer``;
- ``imputer="gaussian"``: drawn from their Gaussian conditional given the row's kept cells
  (:class:`~seqimp.samplers.GaussianConditional`), draw r seeded by the task.

Cells in no label (features outside every group) are always kept. Under a mask background values
align by position from the end of each sequence (as marginal permutation's donors do): a real step of
row i beyond the background row's length keeps its own value, and padding is never written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Transform, tile_draws
from .errors import Position, text
from .samplers import CellLayout, by_random_tiles
from .transforms import end_aligned_steps

# The orderings' seed extends the round's seed by these two words; the engine's tasks extend it by
# (task index, repeat), and a task index never reaches 2**32 - 1.
_ORDERINGS_KEY = (2**32 - 1, 0)


@dataclass(frozen=True)
class Coalition:
    """One engine task of a round: ``size`` labels kept, from the row's ordering (``direction`` 0) or
    its reverse (1), the rest filled from background row / draw ``draw``."""

    direction: int
    size: int
    draw: int

    @property
    def name(self):
        return f"coalition {self.size} ({'forward' if self.direction == 0 else 'reverse'}), draw {self.draw}"


def describe_coalition(coalition):
    """When a task ran, in words, for the error a non-finite prediction raises."""
    order = "its ordering" if coalition.direction == 0 else "the reverse of its ordering"
    return text("when each sample kept the first {size} labels of {order} and the rest came from background "
                "row (or Gaussian draw) {draw}", size=coalition.size, order=order, draw=Position(coalition.draw))


def coalition_sizes(n_labels):
    """(direction, size) of the coalitions between the empty and the full one, for both directions."""
    return [(0, k) for k in range(1, n_labels)] + [(1, k) for k in range(1, n_labels)]


def draw_orderings(round_seed, n_samples, n_labels):
    """(n_samples, n_labels) int: row i's ordering of the labels in this round (in fixed random tiles)."""
    seed = np.random.SeedSequence(round_seed.entropy, spawn_key=tuple(round_seed.spawn_key) + _ORDERINGS_KEY)
    return tile_draws(seed, 0, n_samples, n_samples,
                       lambda rng, rows: np.argsort(rng.random((rows, n_labels)), axis=1, kind="stable"))


def contributions(orderings, forward, reverse):
    """Each row's marginal contributions, averaged over its ordering and the reverse: (n, d).

    ``forward[:, k]`` is row i's loss with the first k labels of its ordering kept (k = 0..d);
    ``reverse[:, k]`` with the last k. Label ``orderings[i, k]`` is added at step k + 1, and its
    contribution is the loss it removes; each row's contributions sum to loss(empty) - loss(full).
    """
    out = np.zeros(orderings.shape)
    np.put_along_axis(out, orderings, forward[:, :-1] - forward[:, 1:], axis=1)
    backward = np.zeros(orderings.shape)
    np.put_along_axis(backward, orderings[:, ::-1], reverse[:, :-1] - reverse[:, 1:], axis=1)
    return (out + backward) / 2.0


class Coalitions(Transform):
    """The engine's transform for one round of SAGE (see the module docstring)."""

    def __init__(self, data, labels, background=None, gaussian=None):
        super().__init__(data)
        self.layout = CellLayout(data)
        self.label_cells = np.array([self.layout.cells(label) for label in labels], dtype=np.float32)
        self.background = background
        self.gaussian = gaussian
        self.writes_fractions = gaussian is not None
        self.everything = tuple((b, np.ones(block.X.shape[1:], dtype=bool)) for b, block in enumerate(data.blocks))
        self.aligned = {}
        if background is not None:
            for b, block in enumerate(data.blocks):
                if block.mask is not None:
                    rank, _ = end_aligned_steps(block.mask)
                    self.aligned[b] = (rank, end_aligned_steps(background.blocks[b].mask)[1])
        self.ranks = None

    def set_orderings(self, orderings):
        """This round's orderings (n, d); kept as each label's position in each row's ordering."""
        ranks = np.empty_like(orderings)
        np.put_along_axis(ranks, orderings, np.arange(orderings.shape[1])[np.newaxis, :], axis=1)
        self.ranks = ranks

    def touched(self, coalition):
        return self.everything

    def removed(self, i0, i1, coalition):
        """(m, n_cells) bool: the cells of rows i0:i1 this coalition removes."""
        ranks = self.ranks[i0:i1]
        d = ranks.shape[1]
        kept = ranks < coalition.size if coalition.direction == 0 else ranks >= d - coalition.size
        return ((~kept).astype(np.float32) @ self.label_cells) > 0

    def apply(self, outs, i0, i1, coalition, seed):
        if self.gaussian is None:
            self._from_background(outs, i0, i1, self.removed(i0, i1, coalition), coalition.draw)
        else:
            self._from_gaussian(outs, i0, i1, coalition, seed)

    def _from_background(self, outs, i0, i1, removed, row):
        for b, out in enumerate(outs):
            cells = removed[:, self.layout.offsets[b]:self.layout.offsets[b + 1]].reshape(out.shape)
            X = self.background.blocks[b].X
            if b not in self.aligned:
                np.copyto(out, X[row][np.newaxis], where=cells)
                continue
            rank, order = self.aligned[b]
            steps = np.where(rank[i0:i1] >= 0, order[row][np.maximum(rank[i0:i1], 0)], -1)
            np.copyto(out, X[row][np.maximum(steps, 0)], where=cells & (steps >= 0)[:, :, np.newaxis])

    def _from_gaussian(self, outs, i0, i1, coalition, seed):
        numeric = self.layout.numeric

        def draw(rng, b0, b1):  # whole random tiles, so the numbers do not depend on the chunk
            x = self.layout.rows(b0, b1)[:, numeric]
            real = self.layout.real(b0, b1)
            real = np.ones_like(x, dtype=bool) if real is None else real[:, numeric]
            gone = self.removed(b0, b1, coalition)[:, numeric]
            target, given = gone & real, ~gone & real
            z = rng.standard_normal(x.shape)
            values = np.zeros_like(x)
            keys, which = np.unique(np.concatenate([target, given], axis=1), axis=0, return_inverse=True)
            for g, key in enumerate(keys):
                t, kept = key[:x.shape[1]], key[x.shape[1]:]
                if t.any():
                    cells = np.ix_(np.flatnonzero(which.ravel() == g), np.flatnonzero(t))
                    values[cells] = self.gaussian.draw(x[cells[0].ravel()], t, kept, z[cells])
            return np.concatenate([values, target], axis=1)

        drawn = by_random_tiles(seed, i0, i1, self.data.n_samples, draw)
        width = drawn.shape[1] // 2
        self.layout.write(outs, numeric, drawn[:, :width], drawn[:, width:] > 0)
