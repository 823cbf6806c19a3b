"""Conditional permutation: a label's cells replaced by a draw from their distribution given every other
cell of the same sample (``permutation_importance(conditional=...)``).

:class:`Conditional` is the engine's transform for it, as :class:`~seqimp.transforms.Resample` is for
marginal permutation: the sampler is fitted once per call (the Gaussian) or once per label (nearest
neighbours, the caller's sampler), and each (label, repeat) task draws from it in the engine's fixed
random blocks of rows, seeded by the task, so the numbers do not depend on ``batch_size`` or ``n_jobs``.

- ``"gaussian"``: the numeric cells are jointly Gaussian, with a shrunk covariance (Ledoit-Wolf's form,
  the intensity cross-validated) over the flattened (T x F) cells of every input
  (:class:`~seqimp.samplers.GaussianConditional`);
- ``"knn"``: the label's cells come from one of the sample's nearest neighbours in the other numeric
  cells (:class:`~seqimp.samplers.NearestDonors`);
- an object with ``fit(X_other, X_label)`` and ``sample(X_other, rng)``: the caller's sampler, fitted
  on a copy per label.

Categorical cells (category codes, token ids) are never drawn as numbers: whatever the sampler, they
are swapped with a near neighbour's (nearest in the other numeric cells). Under a mask the engine puts
padded cells back, samples are conditioned on their real cells only, and swaps align steps from the
end of each sequence as marginal permutation does.
"""

from __future__ import annotations

import copy

import numpy as np

from . import checks
from .engine import RANDOM_BLOCK_ROWS, Transform, block_draws
from .samplers import MAX_GAUSSIAN_CELLS, CellLayout, GaussianConditional, NearestDonors, _LRU
from .transforms import Resample, _Cells

OPTIONS = ("gaussian", "knn")
# Neighbours a swap draws its donor from (``"knn"``, and categorical cells under every sampler).
N_NEIGHBORS = 10
# Extends a task's seed for the swap of its categorical cells, beside the numeric draws.
_SWAP_KEY = (0xC0D, 0)


def check_conditional(conditional, func):
    """None, "gaussian", "knn", or a sampler object with ``fit`` and ``sample`` methods."""
    expected = ("None, 'gaussian', 'knn', or an object with fit(X_other, X_label) and sample(X_other, rng) "
                "methods")
    if conditional is None:
        return None
    if isinstance(conditional, str):
        if conditional in OPTIONS:
            return conditional
        checks.fail("conditional", func, expected, conditional)
    if callable(getattr(conditional, "fit", None)) and callable(getattr(conditional, "sample", None)):
        return conditional
    checks.fail("conditional", func, expected, conditional, TypeError)


def describe_conditional(conditional):
    """What ``result.params["conditional"]`` records: the option, or the sampler's class name."""
    if conditional is None or isinstance(conditional, str):
        return conditional
    return type(conditional).__name__


def by_random_blocks(seed, i0, i1, n_samples, draw):
    """Rows ``i0:i1`` of ``draw(rng, b0, b1)`` computed over whole random blocks of rows, each seeded as
    :func:`seqimp.engine.block_draws` seeds it: a row's values are the same whatever chunk asks for
    them, to the last bit (matrix products are computed on the same rows every time)."""
    parts = []
    for b in range(i0 // RANDOM_BLOCK_ROWS, (i1 - 1) // RANDOM_BLOCK_ROWS + 1):
        b0 = b * RANDOM_BLOCK_ROWS
        b1 = min(b0 + RANDOM_BLOCK_ROWS, n_samples)
        block_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (b,))
        values = draw(np.random.default_rng(block_seed), b0, b1)
        parts.append(values[max(i0, b0) - b0: min(i1, b1) - b0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Conditional(Transform):
    """The label's cells of each sample drawn given the sample's other cells (see the module docstring)."""

    def __init__(self, data, conditional, func):
        super().__init__(data)
        self.func = func
        self.layout = CellLayout(data)
        self.kind = conditional if isinstance(conditional, str) else "sampler"
        self.sampler = None if isinstance(conditional, str) else conditional
        self.numeric = self.layout.numeric
        self.swap = Resample(data, "swap")  # its end-aligned copy from a donor row, never its draws
        self.writes_fractions = self.kind != "knn"
        self._donors = None
        self._fitted = _LRU()
        self.gaussian = None
        if self.kind == "gaussian":
            n_numeric = int(self.numeric.sum())
            if n_numeric > MAX_GAUSSIAN_CELLS:
                raise ValueError(f"The 'conditional' parameter of {func} is 'gaussian', which models the "
                                 f"{n_numeric} numeric cells of X (timesteps x features, every input) "
                                 f"jointly; seqimp's limit is {MAX_GAUSSIAN_CELLS} (the covariance alone "
                                 f"grows as the square). Use conditional='knn', fewer timesteps, or a "
                                 f"sampler of your own.")
            Z, real = self._numeric_rows()
            self.gaussian = GaussianConditional(Z, real)

    def __getstate__(self):
        # Workers rebuild neighbours and the caller's fitted samplers themselves (deterministic).
        return {**self.__dict__, "_donors": None, "_fitted": _LRU()}

    def _numeric_rows(self, i0=0, i1=None):
        """Rows i0:i1 of the numeric cells (m, D) float64, and where they are real (None: everywhere)."""
        i1 = self.data.n_samples if i1 is None else i1
        return self.layout.rows(i0, i1)[:, self.numeric], self._numeric_real(i0, i1)

    def _numeric_real(self, i0, i1):
        real = self.layout.real(i0, i1)
        return None if real is None else real[:, self.numeric]

    @property
    def donors(self):
        if self._donors is None:
            self._donors = NearestDonors(*self._numeric_rows(), N_NEIGHBORS)
        return self._donors

    def _parts(self, flat):
        """``_Cells`` of the blocks' (T, F) masks for a flat cell mask."""
        parts = []
        for b, block in enumerate(self.blocks):
            local = flat[self.layout.offsets[b]:self.layout.offsets[b + 1]].reshape(block.X.shape[1:])
            if local.any():
                parts.append((b, local))
        return _Cells(parts)

    def _swap_source(self, given, seed):
        """A donor for every sample: one of its nearest neighbours in the ``given`` numeric cells."""
        found = self.donors.neighbours(given)
        n, k = found.shape
        pick = block_draws(seed, 0, n, n, lambda rng, rows: rng.integers(0, k, size=rows))
        return found[np.arange(n), pick]

    def start(self, label, seed):
        cells = self.layout.cells(label)
        target = cells[self.numeric]  # the label's numeric cells, among the numeric cells
        categorical = cells & ~self.numeric
        state = {"seed": seed, "target": target, "numeric_cells": cells & self.numeric, "swap": None}
        if self.kind == "knn":
            state["swap"] = (self._parts(cells), self._swap_source(~target, seed))
            return state
        if categorical.any():
            swap_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + _SWAP_KEY)
            state["swap"] = (self._parts(categorical), self._swap_source(~target, swap_seed))
        if self.kind == "sampler" and target.any():
            state["sampler"] = self._fitted.fetch(label.name, lambda: self._fit(target))
        return state

    def apply(self, outs, i0, i1, label, state):
        if state["swap"] is not None:
            self.swap.apply(outs, i0, i1, *state["swap"])
        if self.kind == "knn" or not state["target"].any():
            return
        if self.kind == "gaussian":
            values, where = self._gaussian(i0, i1, state["target"], state["seed"])
        else:
            values, where = self._sampled(i0, i1, state["target"], state["sampler"], state["seed"])
        self.layout.write(outs, state["numeric_cells"], values, where)

    def _gaussian(self, i0, i1, target, seed):
        k = int(target.sum())

        def draw(rng, b0, b1):
            x, real = self._numeric_rows(b0, b1)
            z = rng.standard_normal((b1 - b0, k))
            if real is None:
                return self.gaussian.draw(x, target, ~target, z)
            values = np.zeros((b1 - b0, k))
            patterns, which = np.unique(real, axis=0, return_inverse=True)
            for p, pattern in enumerate(patterns):
                drawn = target & pattern
                if drawn.any():
                    cells = np.ix_(np.flatnonzero(which.ravel() == p), np.flatnonzero(drawn[target]))
                    values[cells] = self.gaussian.draw(x[cells[0].ravel()], drawn, pattern & ~target, z[cells])
            return values

        real = self._numeric_real(i0, i1)
        return by_random_blocks(seed, i0, i1, self.data.n_samples, draw), None if real is None else real[:, target]

    def _fit(self, target):
        Z, _ = self._numeric_rows()
        sampler = copy.deepcopy(self.sampler)
        sampler.fit(Z[:, ~target], Z[:, target])
        return sampler

    def _sampled(self, i0, i1, target, sampler, seed):
        k = int(target.sum())

        def draw(rng, b0, b1):
            Z, _ = self._numeric_rows(b0, b1)
            return self._checked(sampler.sample(Z[:, ~target], rng), b1 - b0, k)

        real = self._numeric_real(i0, i1)
        return by_random_blocks(seed, i0, i1, self.data.n_samples, draw), None if real is None else real[:, target]

    def _checked(self, values, rows, k):
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is not None and k == 1 and values.shape == (rows,):
            values = values.reshape(rows, 1)
        name = type(self.sampler).__name__
        if values is None or values.shape != (rows, k):
            got = "an object that is not an array of numbers" if values is None else f"shape {values.shape}"
            raise ValueError(f"The 'conditional' sampler of {self.func} ({name}) must return an array of shape "
                             f"({rows}, {k}) from sample(X_other, rng) for {rows} rows of X_other: one value "
                             f"per row for each of the label's {k} numeric cells. Got {got}.")
        if not np.isfinite(values).all():
            raise ValueError(f"The 'conditional' sampler of {self.func} ({name}) returned non-finite values "
                             f"from sample(); seqimp never feeds them to the model.")
        return values
