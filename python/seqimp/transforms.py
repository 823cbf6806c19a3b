"""How a perturbed copy is built: the one step each method changes in the engine's loop.

- :class:`AdditiveNoise`: add Gaussian or uniform noise to the label's cells.
- :class:`Constant`: set the label's cells to a per-feature value (zero, the mean).
- :class:`Resample`: take the label's cells from other samples, by a permutation of the rows
  (permutation importance) or by an independent draw of another row for each row ("swap").
"""

from __future__ import annotations

import numpy as np

from .engine import Transform, block_draws


class AdditiveNoise(Transform):
    """``x += scale_f * e`` on the label's cells, e ~ N(0, 1) or U(-1, 1)."""

    def __init__(self, X, scale, distribution):
        super().__init__(X)
        self.scale = np.broadcast_to(np.asarray(scale, dtype=np.float32), X.shape[1:])
        self.distribution = distribution

    def _draw(self, k):
        if self.distribution == "gaussian":
            return lambda rng, rows: rng.standard_normal((rows, k), dtype=np.float32)
        return lambda rng, rows: rng.uniform(-1.0, 1.0, size=(rows, k)).astype(np.float32)

    def apply(self, out, i0, i1, label, seed):
        k = int(label.mask.sum())
        noise = block_draws(seed, i0, i1, self.X.shape[0], self._draw(k))
        out[:, label.mask] += noise * self.scale[label.mask]


class Constant(Transform):
    """The label's cells are set to a per-feature value."""

    def __init__(self, X, values):
        super().__init__(X)
        self.values = np.broadcast_to(np.asarray(values, dtype=np.float32), X.shape[1:])

    def apply(self, out, i0, i1, label, state):
        out[:, label.mask] = self.values[label.mask]


class Resample(Transform):
    """The label's cells of row i come from row ``source[i]``.

    ``kind="permutation"``: source is a permutation of the rows (the same one for every cell of the
    label, so a feature's whole trajectory moves together and the order of timesteps is kept).
    ``kind="swap"``: source[i] is another row drawn at random, never i itself.
    """

    def __init__(self, X, kind):
        super().__init__(X)
        self.kind = kind

    def start(self, label, seed):
        n = self.X.shape[0]
        rng = np.random.default_rng(seed)
        if self.kind == "permutation":
            return rng.permutation(n)
        if n < 2:
            return np.zeros(n, dtype=np.int64)
        source = rng.integers(0, n - 1, size=n)
        return source + (source >= np.arange(n))

    def apply(self, out, i0, i1, label, source):
        donors = self.X[source[i0:i1]]
        out[:, label.mask] = donors[:, label.mask]
