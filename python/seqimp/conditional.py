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
end of each sequence (a real step beyond the neighbour's length keeps its own value).

Standard errors (:mod:`seqimp.effects`): a drawn value comes from no other row, so a row's effect is its
own, and rows are independent given the fitted sampler; a value taken from a neighbour (``"knn"``,
categorical cells) has that neighbour as its donor, and the effects are filed under both, as marginal
permutation's are (:meth:`Conditional.donors`).
"""

from __future__ import annotations

import copy

import numpy as np

from . import checks
from .conditional_influence import FitInfluence
from .effects import FittedDraws
from .engine import Transform, tile_draws
from .errors import Keyword, Phrase, SeqimpValueError, Shape, Value, Words, text
from .samplers import MAX_GAUSSIAN_CELLS, CellLayout, GaussianConditional, NearestDonors, _LRU, by_random_tiles
from .transforms import Resample, _Cells

OPTIONS = ("gaussian", "knn")
# Neighbours a swap draws its donor from (``"knn"``, and categorical cells under every sampler).
N_NEIGHBORS = 10
# Extends a task's seed for the swap of its categorical cells, beside the numeric draws.
_SWAP_KEY = (0xC0D, 0)


def check_conditional(conditional, func):
    """None, "gaussian", "knn", or a sampler object with ``fit`` and ``sample`` methods."""
    expected = text("{None}, {gaussian}, {knn}, or {an_object} with fit(X_other, X_label) and sample(X_other, rng) "
                    "methods", gaussian=Value("gaussian"), knn=Value("knn"),
                    an_object=Words("an object", "a Python object"))
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


COVERS_GAUSSIAN = Phrase(text(
    "the sampling of the rows of {X} from their distribution, the conditional draws, and the Gaussian's fit "
    "to those same rows (to first order: each row's effect plus its influence on the fitted conditional; "
    "under a mask that influence is approximated, and the choice of the shrinkage intensity is not "
    "counted). The interval covers the importance of this fitted model when a label's values are drawn "
    "from the Gaussian conditional of the distribution {X} was drawn from: the conditional importance "
    "itself where the inputs are jointly Gaussian, up to a bias of the order of the cells over the "
    "samples. It does not cover the model's own variability (another fit), nor a shift between {X} and "
    "the data the model will see."))

COVERS_SAMPLER = Phrase(text(
    "the sampling of the rows of {X} from their distribution and the conditional draws, with your sampler "
    "held as fitted on {X} (a drawn value comes from no other row: each row's effect is its own). It does "
    "not cover the error of the sampler's fit, which can be as large as the rest where it was fitted on "
    "the same rows; nor the model's own variability (another fit), nor a shift between {X} and the data "
    "the model will see."))

COVERS_NEIGHBOURS = Phrase(text(
    "the sampling of the rows of {X} from their distribution and the draws among each row's nearest "
    "neighbours (each row both as the row changed and as the donor of the values, a two-sample "
    "U-statistic). The interval covers the importance under this nearest-neighbour sampler, which "
    "nears the conditional importance as the samples grow but lies between it and the marginal one "
    "with few samples or many cells; it does not cover that gap, the model's own variability (another "
    "fit), nor a shift between {X} and the data the model will see."))


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
        # Values move between rows (so the standard error counts donors) for "knn" and categorical cells;
        # the Gaussian's draws come from a fit to every row (the standard error counts its influence).
        self.moves_rows = self.kind != "sampler" or not self.numeric.all()
        self.remember_donors = False
        self._drawn = {}
        self._neighbours = None
        self._fitted = _LRU()
        self.gaussian = None
        if self.kind == "gaussian":
            n_numeric = int(self.numeric.sum())
            if n_numeric > MAX_GAUSSIAN_CELLS:
                raise SeqimpValueError(
                    "The '{argument}' {parameter} of {function} is {gaussian}, which models the {n} numeric cells "
                    "of {X} (timesteps x features, every input) jointly; seqimp's limit is {limit} (the "
                    "covariance alone grows as the square). Use {knn}, fewer timesteps, or a sampler of your "
                    "own.", argument="conditional", function=func, gaussian=Value("gaussian"), n=n_numeric,
                    limit=MAX_GAUSSIAN_CELLS, knn=Keyword("conditional", "knn"))
            Z, real = self._numeric_rows()
            self.gaussian = GaussianConditional(Z, real)
            self.fit_influence = FitInfluence(self.gaussian, Z, real)

    @property
    def covers(self):
        """What the standard error covers, in words (``inference["covers"]``)."""
        return {"gaussian": COVERS_GAUSSIAN, "knn": COVERS_NEIGHBOURS, "sampler": COVERS_SAMPLER}[self.kind]

    def __getstate__(self):
        # Workers rebuild neighbours and the caller's fitted samplers themselves (deterministic), and
        # never hand donors over.
        return {**self.__dict__, "_neighbours": None, "_fitted": _LRU(), "remember_donors": False, "_drawn": {},
                "fit_influence": None}

    def _numeric_rows(self, i0=0, i1=None):
        """Rows i0:i1 of the numeric cells (m, D) float64, and where they are real (None: everywhere)."""
        i1 = self.data.n_samples if i1 is None else i1
        return self.layout.rows(i0, i1)[:, self.numeric], self._numeric_real(i0, i1)

    def _numeric_real(self, i0, i1):
        real = self.layout.real(i0, i1)
        return None if real is None else real[:, self.numeric]

    @property
    def neighbours(self):
        if self._neighbours is None:
            self._neighbours = NearestDonors(*self._numeric_rows(), N_NEIGHBORS)
        return self._neighbours

    def _parts(self, flat):
        """``_Cells`` of the blocks' (T, F) masks for a flat cell mask."""
        parts = []
        for b, block in enumerate(self.blocks):
            local = flat[self.layout.offsets[b]:self.layout.offsets[b + 1]].reshape(block.X.shape[1:])
            if local.any():
                parts.append((b, local))
        return _Cells(parts)

    def _swap_source(self, given, seed):
        """A donor for every sample: one of its nearest neighbours in the ``given`` numeric cells (any
        other sample where no numeric cell is given)."""
        n = self.data.n_samples
        found = self.neighbours.neighbours(given)
        if found is None:
            pick = tile_draws(seed, 0, n, n, lambda rng, rows: rng.integers(0, max(n - 1, 1), size=rows))
            return pick + (pick >= np.arange(n)) if n > 1 else np.zeros(n, dtype=np.int64)
        k = found.shape[1]
        pick = tile_draws(seed, 0, n, n, lambda rng, rows: rng.integers(0, k, size=rows))
        return found[np.arange(n), pick]

    def _swap_plan(self, label, seed):
        """(the cells a neighbour gives, the seed of its draw), or None where no cell is swapped."""
        cells = self.layout.cells(label)
        if self.kind == "knn":
            return cells, seed
        categorical = cells & ~self.numeric
        if not categorical.any():
            return None
        return categorical, np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + _SWAP_KEY)

    def start(self, label, seed):
        cells = self.layout.cells(label)
        target = cells[self.numeric]  # the label's numeric cells, among the numeric cells
        state = {"seed": seed, "target": target, "numeric_cells": cells & self.numeric, "swap": None}
        plan = self._swap_plan(label, seed)
        if plan is not None:
            source = self._swap_source(~target, plan[1])
            if self.remember_donors:
                self._drawn[tuple(seed.spawn_key)] = source
            state["swap"] = (self._parts(plan[0]), (source, {b: [] for b in self.swap.aligned}))
        if self.kind == "sampler" and target.any():
            state["sampler"] = self._fitted.fetch(label.name, lambda: self._fit(target))
        return state

    def forget_donors(self):
        self._drawn.clear()

    def drawn_donors(self, key, label):
        return None  # donors() hands over what start() kept, with the Gaussian's influence

    def donors(self, label, seed):
        """The neighbour each row's swapped cells come from (n,), or None where every value of the
        label is drawn (a row's effect is then its own; a row whose label has drawn numeric cells and
        swapped categorical ones files its effect under that neighbour too). For the Gaussian,
        :class:`~seqimp.effects.FittedDraws` with them and the rows' influence on its fit."""
        source = self._drawn.pop(tuple(seed.spawn_key), None)
        plan = self._swap_plan(label, seed)
        target = self.layout.cells(label)[self.numeric]
        if source is None and plan is not None:
            source = self._swap_source(~target, plan[1])
        if self.kind != "gaussian" or not target.any():
            return source
        return FittedDraws(source, lambda effects: self._influence(target, seed, effects))

    def _influence(self, target, seed, effects):
        n, k = self.data.n_samples, int(target.sum())
        z = by_random_tiles(seed, 0, n, n, lambda rng, t0, t1: rng.standard_normal((t1 - t0, k)))
        return self.fit_influence(target, z, effects)

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

        def draw(rng, t0, t1):
            x, real = self._numeric_rows(t0, t1)
            z = rng.standard_normal((t1 - t0, k))
            if real is None:
                return self.gaussian.draw(x, target, ~target, z)
            values = np.zeros((t1 - t0, k))
            patterns, which = np.unique(real, axis=0, return_inverse=True)
            for p, pattern in enumerate(patterns):
                drawn = target & pattern
                if drawn.any():
                    cells = np.ix_(np.flatnonzero(which.ravel() == p), np.flatnonzero(drawn[target]))
                    values[cells] = self.gaussian.draw(x[cells[0].ravel()], drawn, pattern & ~target, z[cells])
            return values

        real = self._numeric_real(i0, i1)
        return by_random_tiles(seed, i0, i1, self.data.n_samples, draw), None if real is None else real[:, target]

    def _fit(self, target):
        Z, _ = self._numeric_rows()
        sampler = copy.deepcopy(self.sampler)
        sampler.fit(Z[:, ~target], Z[:, target])
        return sampler

    def _sampled(self, i0, i1, target, sampler, seed):
        k = int(target.sum())

        def draw(rng, t0, t1):
            Z, _ = self._numeric_rows(t0, t1)
            return self._checked(sampler.sample(Z[:, ~target], rng), t1 - t0, k)

        real = self._numeric_real(i0, i1)
        return by_random_tiles(seed, i0, i1, self.data.n_samples, draw), None if real is None else real[:, target]

    def _checked(self, values, rows, k):
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is not None and k == 1 and values.shape == (rows,):
            values = values.reshape(rows, 1)
        opening = dict(argument="conditional", function=self.func, name=type(self.sampler).__name__)
        if values is None or values.shape != (rows, k):
            raise SeqimpValueError(
                "The '{argument}' sampler of {function} ({name}) must return an array of {expected} from "
                "sample(X_other, rng) for {rows} rows of X_other: one value per row for each of the label's "
                "{k} numeric cells. Got {got}.", expected=Shape((rows, k)), rows=rows, k=k,
                got="an object that is not an array of numbers" if values is None else Shape(values.shape),
                **opening)
        if not np.isfinite(values).all():
            raise SeqimpValueError("The '{argument}' sampler of {function} ({name}) returned non-finite values from "
                                   "sample(); seqimp never feeds them to the model.", **opening)
        return values
