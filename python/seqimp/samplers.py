"""Conditional samplers: a label's cells drawn given every other cell of the same sample.

Every sample's cells are laid out as one flat vector (:class:`CellLayout`): block by block (one block
per model input), timestep-major within a block (t0/f0, t0/f1, ..., t1/f0, ...). A label is a boolean
mask over that vector, so one sampler serves every granularity, groups and several inputs alike.

- :class:`GaussianConditional`: the numeric cells are jointly Gaussian, with the covariance estimated
  once and shrunk towards a multiple of the identity (Ledoit-Wolf's form), the intensity chosen by
  cross-validated likelihood; a label's cells are drawn from their conditional
  given the sample's other real cells (:meth:`GaussianConditional.conditional`, cached).
- :class:`NearestDonors`: for each sample, its ``n_neighbors`` nearest samples in the other numeric
  cells (each cell standardised; padded and missing cells count as the cell's mean); a label's values
  are taken from one of them.

Padding and missing values (NaN in a DataFrame's numeric columns) are never used as information: the
covariance is estimated from the pairs of cells real in each sample, and a sample is conditioned on its
own real cells only.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .engine import RANDOM_TILE_ROWS

# Beyond this many numeric cells (T x F summed over the inputs) the Gaussian sampler is refused with the
# way out: its fit decomposes a cells x cells covariance once per fold (seconds at 2048, minutes beyond).
MAX_GAUSSIAN_CELLS = 2048
# Conditionals (and precisions of real-cell patterns) kept per sampler, least recently used dropped.
_CACHE_ENTRIES = 64
# Bytes of precision matrices kept per sampler (a 2048-cell one is 32 MiB).
_PRECISION_BYTES = 2 ** 28


def by_random_tiles(seed, i0, i1, n_samples, draw):
    """Rows ``i0:i1`` of ``draw(rng, t0, t1)`` computed over whole random tiles of rows, each seeded as
    :func:`seqimp.engine.tile_draws` seeds it: a row's values are the same whatever chunk asks for
    them, to the last bit (matrix products are computed on the same rows every time)."""
    parts = []
    for t in range(i0 // RANDOM_TILE_ROWS, (i1 - 1) // RANDOM_TILE_ROWS + 1):
        t0 = t * RANDOM_TILE_ROWS
        t1 = min(t0 + RANDOM_TILE_ROWS, n_samples)
        tile_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (t,))
        values = draw(np.random.default_rng(tile_seed), t0, t1)
        parts.append(values[max(i0, t0) - t0: min(i1, t1) - t0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class CellLayout:
    """Where each cell of every block sits in one flat vector per sample."""

    def __init__(self, data):
        self.data = data
        self.blocks = data.blocks
        self.sizes = [int(np.prod(block.X.shape[1:])) for block in data.blocks]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n_cells = int(self.offsets[-1])
        self.numeric = np.concatenate([np.broadcast_to(~block.categorical_mask[np.newaxis, :] & (not block.tokens),
                                                       block.X.shape[1:]).ravel() for block in data.blocks])

    def cells(self, label):
        """The label's cells as a (n_cells,) bool mask."""
        flat = np.zeros(self.n_cells, dtype=bool)
        for b, cells in label.parts:
            flat[self.offsets[b]:self.offsets[b + 1]] = np.asarray(cells, dtype=bool).ravel()
        return flat

    def rows(self, i0, i1):
        """Rows i0:i1 of every block as (m, n_cells) float64 (missing values stay NaN)."""
        return np.concatenate([block.X[i0:i1].reshape(i1 - i0, -1).astype(np.float64) for block in self.blocks],
                              axis=1)

    def real(self, i0, i1):
        """(m, n_cells) bool: True where rows i0:i1 hold a real value (not padding, not missing), or None
        when every cell of every row is real."""
        parts, any_missing = [], False
        for block in self.blocks:
            m = i1 - i0
            real = np.ones((m,) + block.X.shape[1:], dtype=bool)
            if block.mask is not None:
                real &= block.mask[i0:i1, :, np.newaxis]
                any_missing = True
            if block.X.dtype.kind == "f":
                finite = ~np.isnan(block.X[i0:i1])
                if not finite.all():
                    real &= finite
                    any_missing = True
            parts.append(real.reshape(m, -1))
        return np.concatenate(parts, axis=1) if any_missing else None

    def write(self, outs, cells, values, where=None):
        """Put ``values`` (m, cells.sum()) into the label's ``cells`` of the chunk ``outs``, block by block;
        ``where`` (m, cells.sum()) bool limits it to some entries."""
        start = 0
        for b, out in enumerate(outs):
            local = cells[self.offsets[b]:self.offsets[b + 1]].reshape(out.shape[1:])
            k = int(local.sum())
            if not k:
                continue
            part = values[:, start:start + k]
            if where is None:
                out[:, local] = part
            else:
                view = out[:, local]
                np.copyto(view, part.astype(view.dtype, copy=False), where=where[:, start:start + k])
                out[:, local] = view
            start += k


class _LRU(OrderedDict):
    """A dict that keeps its ``size`` most recently fetched entries."""

    def __init__(self, size=_CACHE_ENTRIES):
        super().__init__()
        self.size = size

    def fetch(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.size:
            self.popitem(last=False)
        return value


# Shrinkage intensities the cross-validation tries (0: the empirical covariance, where it is invertible).
SHRINKAGE_GRID = np.concatenate([[0.0], np.logspace(-4, 0, 41)])
SHRINKAGE_FOLDS = 5


def cv_shrinkage(centred, folds=SHRINKAGE_FOLDS, grid=SHRINKAGE_GRID):
    """The shrinkage intensity d in ``(1 - d) S + d (trace(S) / D) I`` (Ledoit-Wolf's form and target)
    that gives held-out rows the highest Gaussian likelihood, over ``folds`` interleaved folds.

    Each fold costs one eigendecomposition of its training covariance; every ``d`` shares its
    eigenvectors, so the whole grid is scored from it.
    """
    n, D = centred.shape
    if n < 2 * folds:
        return 1.0
    scores = np.zeros(len(grid))
    fold = np.arange(n) % folds
    for k in range(folds):
        train, test = centred[fold != k], centred[fold == k]
        mean = train.mean(axis=0)
        S = (train - mean).T @ (train - mean) / len(train)
        target = np.trace(S) / D
        values, vectors = np.linalg.eigh(S)
        projected = ((test - mean) @ vectors) ** 2
        for i, d in enumerate(grid):
            spectrum = (1.0 - d) * np.maximum(values, 0.0) + d * target
            if spectrum.min() <= 1e-12 * max(target, 1e-300):
                scores[i] = -np.inf
                continue
            scores[i] -= 0.5 * (len(test) * np.log(spectrum).sum() + (projected / spectrum).sum())
    return float(grid[int(np.argmax(scores))])


def shrunk_covariance(Z, real):
    """Mean (D,), covariance (D, D) and shrinkage intensity of ``Z`` (n, D); ``real`` (n, D) bool or None.

    The covariance is shrunk towards a multiple of the identity, as scikit-learn's ``ShrunkCovariance``
    and ``LedoitWolf`` do, with the intensity chosen by cross-validated likelihood
    (:func:`cv_shrinkage`): Ledoit-Wolf's own intensity, optimal for the matrix, shrinks the
    conditionals of strongly correlated cells towards the marginal (on 8 steps x 3 features with
    2000 samples and correlation 0.8 it overstated the conditional variance by 10%, this choice by 3%).
    Where some cells are not real, each entry comes from the samples where both cells are real, the
    intensity from the data with unreal cells at their mean, and eigenvalues below 1e-10 of the largest
    are raised to it, so the matrix stays positive definite.
    """
    if real is None:
        mean = Z.mean(axis=0)
        centred = Z - mean
        empirical = centred.T @ centred / len(Z)
    else:
        counts = real.sum(axis=0)
        mean = np.where(real, Z, 0.0).sum(axis=0) / np.maximum(counts, 1)
        centred = np.where(real, Z - mean, 0.0)
        pairs = real.T.astype(np.float64) @ real.astype(np.float64)
        empirical = (centred.T @ centred) / np.maximum(pairs, 1.0)
    shrinkage = cv_shrinkage(centred)
    target = np.trace(empirical) / len(empirical)
    covariance = (1.0 - shrinkage) * empirical + shrinkage * target * np.eye(len(empirical))
    values, vectors = np.linalg.eigh(covariance)
    floor = 1e-10 * max(float(values.max()), 1e-300)
    if values.min() < floor:
        covariance = (vectors * np.maximum(values, floor)) @ vectors.T
    return mean, covariance, shrinkage


class GaussianConditional:
    """The numeric cells as one Gaussian (shrunk covariance); draws of some cells given the others.

    ``conditional(target, given)`` -> (mean part, coefficients, Cholesky factor) for the cells in
    ``target`` given the cells in ``given`` (both (D,) bool masks over the numeric cells, disjoint): a
    draw is ``mu_t + (x_g - mu_g) @ coef.T + z @ chol.T`` with ``z`` standard normal. The precision of the
    ``target | given`` cells is inverted once per pattern of real cells and kept, so a label given every
    other cell costs one small solve.
    """

    def __init__(self, Z, real, cache_entries=_CACHE_ENTRIES):
        self.mean, self.covariance, self.shrinkage = shrunk_covariance(Z, real)
        D = len(self.covariance)
        self._precisions = _LRU(max(1, min(_CACHE_ENTRIES, _PRECISION_BYTES // max(8 * D * D, 1))))
        self._conditionals = _LRU(cache_entries)

    def precision(self, cells):
        """The inverse of the covariance of ``cells`` (a (D,) bool mask), kept for the patterns last used."""
        def make():
            index = np.flatnonzero(cells)
            factor = np.linalg.cholesky(self.covariance[np.ix_(index, index)])
            inverse = np.linalg.inv(factor)
            return inverse.T @ inverse
        return self._precisions.fetch(cells.tobytes(), make)

    def conditional(self, target, given):
        key = target.tobytes() + given.tobytes()
        return self._conditionals.fetch(key, lambda: self._make_conditional(target, given))

    def _make_conditional(self, target, given):
        both = target | given
        precision = self.precision(both)
        inside = target[both]  # the target's places among target | given
        p_tt = precision[np.ix_(inside, inside)]
        p_tg = precision[np.ix_(inside, ~inside)]
        covariance = np.linalg.inv(p_tt)
        covariance = (covariance + covariance.T) / 2.0
        coef = -covariance @ p_tg
        return coef, np.linalg.cholesky(covariance)

    def draw(self, x, target, given, z):
        """Draws of the ``target`` cells for rows ``x`` (m, D) given their ``given`` cells; ``z`` (m,
        target.sum()) standard normal."""
        coef, chol = self.conditional(target, given)
        values = self.mean[target] + z @ chol.T
        if coef.shape[1]:
            values += (x[:, given] - self.mean[given]) @ coef.T
        return values


class NearestDonors:
    """Each sample's ``n_neighbors`` nearest other samples in a chosen set of numeric cells.

    Distances are Euclidean over the cells standardised to unit variance (their real values' mean and
    standard deviation; padded and missing cells at the mean), computed by scikit-learn's
    ``NearestNeighbors``: O(n^2 x cells) per set of cells. A sample is never its own neighbour.
    """

    def __init__(self, Z, real, n_neighbors):
        if real is None:
            mean, std = Z.mean(axis=0), Z.std(axis=0)
        else:
            counts = np.maximum(real.sum(axis=0), 1)
            mean = np.where(real, Z, 0.0).sum(axis=0) / counts
            std = np.sqrt(np.where(real, (Z - mean) ** 2, 0.0).sum(axis=0) / counts)
        scaled = (Z - mean) / np.where(std > 0, std, 1.0)
        self.scaled = scaled if real is None else np.where(real, scaled, 0.0)
        self.n_neighbors = int(n_neighbors)
        self._found = _LRU()

    def neighbours(self, given):
        """(n, k) indices of each sample's nearest other samples in the ``given`` cells (k is
        ``n_neighbors``, at most n - 1); None with no given cell, where every other sample is as near
        (an (n, n - 1) table would grow as the square of the samples)."""
        if not given.any():
            return None
        return self._found.fetch(given.tobytes(), lambda: self._search(given))

    def _search(self, given):
        from sklearn.neighbors import NearestNeighbors

        n = len(self.scaled)
        if n < 2:
            return np.zeros((n, 1), dtype=np.int64)
        k = min(self.n_neighbors, n - 1)
        Z = np.ascontiguousarray(self.scaled[:, given])
        _, found = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(Z).kneighbors(Z)
        # Ties at distance 0 may put the sample itself anywhere among its k + 1: drop it, else the last.
        is_self = found == np.arange(n)[:, np.newaxis]
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(found, dtype=bool)
        keep[np.arange(n), drop] = False
        return found[keep].reshape(n, k)
