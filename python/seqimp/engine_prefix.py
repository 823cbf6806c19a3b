"""The engine's cached runner: recurrent stacks resumed from the unperturbed pass's states (prefix
caching).

:func:`seqimp.engine.run` asks :func:`prefix_runner` first. It serves a run when the adapter behind the
predictor (:meth:`~seqimp.adapters.Predictor.innermost`, behind any of seqimp's wrappers: ``output=``,
the metrics' first-chunk check) gives a resumable forward pass
(:meth:`~seqimp.adapters.Predictor.prefix_forward`: a Keras recurrent stack that
:func:`seqimp.adapters.keras_prefix.prefix_plan` accepts), X is one 3-D block without a mask, and some
label touches only steps >= t0 > 0 (timestep and cell labels, groups within one step). Everything else
(feature labels alone, Bidirectional, attention, convolution, Masking, several inputs, masks, models
without a resumable pass) takes the plain stream, and so does a run whose pending predictions would pass
the budget below. This module knows no model: the forward pass it resumes is the adapter's.

Order: row chunk first. For each chunk of sample rows the unperturbed rows run once (their predictions
and the recurrent states at every segment boundary), then every (label, repeat) task's copy of those
rows runs from the boundary at or before the label's first perturbed step t0, so only steps from there
on are computed. The copies are built by the stream (:meth:`engine._Stream.build`) and their predictions filed
by it (:meth:`engine._Stream.consume`), exactly as on the plain path: same seeds, same random tiles,
so the numbers equal the plain path's to float32 round-off, whatever ``batch_size``.

Memory, beyond the plain path's chunk buffers:

- cached states: one chunk of rows at a time, ``4 * rows * (S * W + T * U)`` bytes (S segments, W the
  recurrent layers' state floats per row, U the last recurrent layer's units when it returns
  sequences), which ``prefix_forward`` keeps within 16 MiB by its choice of S, and as much again when a
  call packs the copies of several tasks (``states.take``): at most about 32 MiB;
- pending predictions: when X has more rows than one chunk, every task of a group waits for its last
  row chunk, so tasks run in groups of at most :data:`PENDING_BUDGET_BYTES` of predictions
  (n x the bytes of one row's prediction, per task); each further group recomputes the unperturbed states
  (one more pass over X). Groups of fewer than :data:`MIN_GROUP_TASKS` tasks would not pay for that: the
  run then takes the plain path.

How a resumed call reaches the model: each chunk is a :class:`_Chunk` carrying its ``route`` (the
states to resume from, or None to record them), and while the runner runs, the adapter's calls are
routed (:meth:`~seqimp.adapters.Predictor.routed`) to the resumable pass. The wrappers around the
adapter see an ordinary chunk and predictions, and do what they always do.
"""

from __future__ import annotations

import math

import numpy as np

# Predictions of the tasks that wait for their last row chunk, in bytes (see the module docstring).
PENDING_BUDGET_BYTES = 128 * 2**20
# Fewer tasks per group than this: the extra unperturbed passes eat the gain; the plain path runs instead.
MIN_GROUP_TASKS = 4


class _Chunk(np.ndarray):
    """A chunk of model input that tells the routed adapter how to run it (``route``)."""

    def __array_finalize__(self, obj):
        self.route = getattr(obj, "route", None)


def _first_step(transform, label, n_timesteps):
    """The first timestep ``transform`` may change for ``label``.

    A transform that names no cells is taken to change any step (0): the cache must never skip a step
    it was not told is unchanged (Lek's profile said "none" and got another model's numbers).
    """
    steps = np.zeros(n_timesteps, dtype=bool)
    for _, cells in transform.touched(label):
        steps |= np.asarray(cells, dtype=bool).any(axis=1)
    changed = np.flatnonzero(steps)
    return int(changed[0]) if changed.size else 0


def prefix_runner(predictor, data, labels, transform, n_repeats, chunk_rows):
    """A :class:`PrefixRunner` when prefix caching can serve this run, else None."""
    if not labels or n_repeats < 1:
        return None
    if getattr(data, "structure", "array") != "array" or len(data.blocks) != 1:
        return None
    block = data.blocks[0]
    if block.X.ndim != 3 or block.input_ndim != 3 or block.mask is not None:
        return None
    n_timesteps = block.X.shape[1]
    t0s = [_first_step(transform, label, n_timesteps) for label in labels]
    if max(t0s) == 0:
        return None
    runner = PrefixRunner(predictor.innermost(), data, t0s, n_repeats, chunk_rows)
    return runner if runner.forward is not None else None


class PrefixRunner:
    """Row chunks of ``rows`` samples; a call packs ``tasks_per_call`` tasks' copies of one row chunk
    (several when X has fewer rows than a chunk, else one). ``forward`` is the adapter's resumable pass
    (None: the adapter has none)."""

    def __init__(self, adapter, data, t0s, n_repeats, chunk_rows):
        self.adapter, self.data, self.t0s, self.n_repeats = adapter, data, t0s, n_repeats
        n, T, F = data.blocks[0].X.shape
        self.n = n
        if n <= chunk_rows:
            self.rows, self.tasks_per_call = n, chunk_rows // n
        else:
            self.rows, self.tasks_per_call = math.ceil(n / math.ceil(n / chunk_rows)), 1
        self.forward = adapter.prefix_forward(self.rows * self.tasks_per_call, T, F)

    def _segment(self, k):
        return self.forward.segment_of(self.t0s[(k - 1) // self.n_repeats])

    def _route(self, original, chunk, **arguments):
        """One call of the adapter while the runner runs: resumed where the chunk carries a route."""
        route = getattr(chunk, "route", None)
        if route is None:
            return original(chunk, **arguments)
        x = np.asarray(chunk)
        if route["states"] is None:
            predictions, route["states"] = self.forward.baseline(x)
            return predictions
        return self.forward.suffix(x, route["segment"], route["states"])

    def run(self, stream, predictor, bar):
        """Stream every task through ``predictor`` row chunk first; False (nothing consumed) when the
        pending predictions would pass the budget and the plain path should run instead."""
        with self.adapter.routed(self._route):  # this run's own predictor: routed while it runs
            return self._run(stream, predictor, bar)

    def _run(self, stream, predictor, bar):
        n, X = self.n, self.data.blocks[0].X
        n_tasks = len(self.t0s) * self.n_repeats
        buffers = stream.new_buffer(self.rows * self.tasks_per_call)
        group, first_task, unperturbed_done = None, 1, False
        while first_task <= n_tasks:
            for i0 in range(0, n, self.rows):
                i1 = min(n, i0 + self.rows)
                route = {"states": None}
                # The first group's unperturbed rows are task 0 of the stream; later groups only need states.
                segments = None if unperturbed_done else stream.build(buffers, i0, i1)
                rows = X[i0:i1] if unperturbed_done else buffers[0][: i1 - i0]
                predictions = predictor(self._chunk(rows, route))
                if group is None:
                    group = n_tasks if self.rows == n else \
                        PENDING_BUDGET_BYTES // max(1, n * predictions[:1].nbytes)
                    if group < MIN_GROUP_TASKS:
                        return False
                if not unperturbed_done:
                    stream.consume(predictions, segments)
                    bar.update(i1 - i0)
                last_task = min(n_tasks, first_task + group - 1)
                self._tasks(stream, predictor, bar, buffers, route["states"], i0, i1, first_task, last_task)
            unperturbed_done = True
            first_task = last_task + 1
        return True

    def _tasks(self, stream, predictor, bar, buffers, states, i0, i1, first_task, last_task):
        """Tasks first_task..last_task on rows i0:i1, ``tasks_per_call`` at a time."""
        n, packed = self.n, {}
        for k0 in range(first_task, last_task + 1, self.tasks_per_call):
            k1 = min(last_task + 1, k0 + self.tasks_per_call)
            start, stop = (k0 * n, k1 * n) if self.tasks_per_call > 1 else (k0 * n + i0, k0 * n + i1)
            segments = stream.build(buffers, start, stop)
            if k1 - k0 > 1:
                if k1 - k0 not in packed:  # each task's copy resumes from the same rows' states
                    packed[k1 - k0] = states.take(np.tile(np.arange(n), k1 - k0))
                chunk_states = packed[k1 - k0]
            else:
                chunk_states = states
            route = {"states": chunk_states, "segment": min(self._segment(k) for k in range(k0, k1))}
            rows = self.data.to_model_input([b[: stop - start] for b in buffers])
            stream.consume(predictor(self._chunk(rows, route)), segments)
            bar.update(stop - start)

    @staticmethod
    def _chunk(rows, route):
        chunk = np.ascontiguousarray(rows, dtype=np.float32).view(_Chunk)
        chunk.route = route
        return chunk
