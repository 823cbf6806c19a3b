"""The batched engine: streams perturbed copies of X through a model in fixed-size chunks.

Words: a *block* is one model input's data (:class:`~seqimp.sequence_data.Block`), a *chunk* the rows
of one forward call, a *tile* a fixed run of :data:`RANDOM_TILE_ROWS` rows whose random numbers share one
seed, and the *unperturbed* predictions are the model's on X itself (what every task is compared with).

The work is one long virtual array of rows (a :class:`_Stream`): X unperturbed (task 0), then one copy
of X per (label, repeat) task. It is cut into chunks of ``chunk_rows`` rows regardless of
task boundaries, so every forward call but the last has the same size (a compiled model never
retraces) and memory is bounded by a chunk plus the predictions of the at most few tasks a chunk
touches, never by labels x repeats. The stream builds chunks and consumes their predictions; the serial
and the concurrent runners only decide when. So does the cached runner (:mod:`seqimp.engine_prefix`),
which serves recurrent stacks row chunk first from the unperturbed pass's cached states when labels
start after step 0 (see its docstring for its memory bounds). The engine knows no model: what it needs
it asks the predictor (:class:`seqimp.adapters.Predictor`).

Randomness never depends on the chunking: each task's seed is derived from ``random_state`` by its
(label, repeat) key, and a transform draws its random numbers tile by tile (:func:`tile_draws`), each
tile seeded by its index.
"""

from __future__ import annotations

import contextvars
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import checks, engine_jobs, engine_prefix
from .errors import Position, SeqimpValueError, Shape, Value, text
from .progress import open_progress

# Rows per random tile. Fixed: it is part of what a seed means, so changing it changes results.
RANDOM_TILE_ROWS = 256


def task_seed(root, label_index, repeat):
    """The seed of one (label, repeat) task, independent of every other task and of the chunking."""
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (label_index, repeat))


def tile_draws(seed, i0, i1, n_samples, draw):
    """Rows ``i0:i1`` of a task's (n_samples, ...) random array, drawn tile by tile.

    ``draw(rng, n_rows)`` returns an array with ``n_rows`` rows. The result for any row is the same
    whatever ``i0``/``i1`` a chunk asks for.
    """
    parts = []
    first, last = i0 // RANDOM_TILE_ROWS, (i1 - 1) // RANDOM_TILE_ROWS
    for t in range(first, last + 1):
        t0 = t * RANDOM_TILE_ROWS
        t1 = min(t0 + RANDOM_TILE_ROWS, n_samples)
        tile_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (t,))
        values = draw(np.random.default_rng(tile_seed), t1 - t0)
        parts.append(values[max(i0, t0) - t0: min(i1, t1) - t0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Transform:
    """How one perturbed copy is built. The engine owns the loop; a transform owns one step.

    ``start`` is called once per task and returns small per-task state (never an X-sized array).
    ``apply`` overwrites ``outs`` in place: one copy of ``block.X[i0:i1]`` per block of the data, each
    of shape (m, T_i, F_i) in :meth:`buffer_dtype` (the block's own dtype, or float64 where a transform
    writes fractions into integers). ``touched(label)`` says which cells ``apply`` may write, as
    (block index, (T_i, F_i) cells) pairs; under a mask the engine then puts every padded one of them
    back as it was, so no transform ever changes a padded cell.

    A transform whose model call takes a per-task value (integrated gradients' alpha) names that
    keyword in ``argument``; :meth:`argument_value` gives a task's value (``label`` None for the
    unperturbed task), and every chunk's call gets one value per row, ``predictor(chunk, alpha=...)``.
    """

    argument = None

    def __init__(self, data):
        self.data = data
        self.blocks = data.blocks

    def start(self, label, seed):
        return seed

    def apply(self, outs, i0, i1, label, state):
        raise NotImplementedError

    def touched(self, label):
        return label.parts

    def argument_value(self, label):
        """The value of :attr:`argument` for ``label``'s rows (``label`` None: the unperturbed task)."""
        raise NotImplementedError

    # True for a transform whose rows take values from other rows (a permutation, a swap).
    moves_rows = False
    # Set by a caller that will ask donors() for every task: start() then keeps what it drew.
    remember_donors = False
    # True where every row gives its values to exactly one row per task (a permutation).
    donates_once = False

    def forget_donors(self):
        """Drop the donors start() kept."""

    def drawn_donors(self, key, label):
        """The donors start() drew and kept for ``label``'s task whose seed's spawn key is ``key``
        (handed over once, as :meth:`donors` gives them), or None."""
        return None

    def donors(self, label, seed):
        """(n,) the row each row's new values come from in the task of ``seed``, or None where values
        do not move between rows (noise, a constant); or (rows, donors, weights) where a row's values
        come from several rows. Drawn as :meth:`start` draws them, so the standard error
        (:mod:`seqimp.effects`) can count the donors without the engine's state."""
        return None

    # True for a transform that may write non-integers (noise, a mean): integer blocks are then
    # streamed as float64, so nothing is truncated.
    writes_fractions = False

    def buffer_dtype(self, block):
        """The dtype of the copies of ``block`` this transform writes into."""
        # A block of categorical features only (booleans, codes) is only ever swapped: it keeps its dtype,
        # so an R model gets a logical matrix back as logical.
        if self.writes_fractions and block.X.dtype.kind in "biu" and not block.tokens \
                and not block.categorical_mask.all():
            return np.dtype(np.float64)
        return block.X.dtype


def task_donors(transform, labels, root_seed):
    """``donors(label_index, repeat)`` for :mod:`seqimp.effects`, or None for a transform that moves no
    values between rows. The transform keeps the donors it draws until they are asked for."""
    if not transform.moves_rows:
        return None
    transform.remember_donors = True
    prefix = tuple(root_seed.spawn_key)

    def donors(j, r):
        drawn = transform.drawn_donors(prefix + (j, r), labels[j])
        return drawn if drawn is not None else transform.donors(labels[j], task_seed(root_seed, j, r))

    def stop():
        """No donors will be asked for after all (no metric has per-sample values): keep none."""
        transform.remember_donors = False
        transform.forget_donors()

    donors.donates_once = transform.donates_once
    donors.stop = stop
    return donors


class _Identity(Transform):
    def apply(self, outs, i0, i1, label, state):
        pass

    def touched(self, label):
        return ()


@dataclass
class EngineResult:
    unperturbed: np.ndarray  # predictions on X itself, (n, ...)
    scores: Optional[np.ndarray]  # (n_labels, n_repeats) from ``score``; None when ``collect`` was used
    path: str = "plain"  # "prefix": the cached runner served it (engine_prefix); "jobs": workers (engine_jobs)


def resolve_chunk_rows(predictor, data, batch_size, func, transform=None):
    """Rows per forward call: ``batch_size`` if given, else the adapter's choice for rows of X's real
    size (each value as many bytes as the chunk buffers hold: ``transform``'s buffer dtype, else X's)."""
    batch_size = checks.check_int(batch_size, "batch_size", func, low=1, allow_none=True)
    if batch_size is None:
        dtypes = [transform.buffer_dtype(b) if transform is not None else b.X.dtype for b in data.blocks]
        batch_size = predictor.default_chunk_rows(data.row_shape, max(d.itemsize for d in dtypes))
    return batch_size


def unperturbed_predictions(predictor, data, chunk_rows, *, progress=False, func="seqimp", n_jobs=None):
    """Predictions on X itself, in chunks (task 0 alone; jobs of chunks on ``n_jobs`` workers)."""
    return run(predictor, data, [], _Identity(data), n_repeats=0, root_seed=np.random.SeedSequence(0),
               chunk_rows=chunk_rows, progress=progress, func=func, n_jobs=n_jobs).unperturbed


def check_size(data, labels, n_repeats, func):
    """Refuse a run of ``labels`` x ``n_repeats`` copies of X beyond the sane bounds, before anything is
    allocated (a method that allocates per-task arrays of its own calls this first)."""
    checks.check_job_size(func, data.n_samples, len(labels) * n_repeats,
                          f"{len(labels)} labels x {n_repeats} repeats")


def describe_label(label):
    """When a (label, repeat) task ran, in words for an error message: "when feature 'x2' was perturbed
    at timestep 3"."""
    feature = getattr(label, "feature", None)
    timestep = getattr(label, "timestep", None)
    if timestep is None:
        return text("when {feature} was perturbed", feature=Value(feature))
    if feature is None:
        return text("when timestep {t} was perturbed", t=Position(timestep))
    return text("when feature {feature} was perturbed at timestep {t}", feature=Value(feature), t=Position(timestep))


class _Stream:
    """The virtual row stream of one run: task 0 is X itself, task 1 + j * n_repeats + r is label j's
    repeat r. :meth:`build` fills a chunk of it; :meth:`consume` files a chunk's predictions by task and
    hands every task it completes, in stream order, to ``on_task(unperturbed, predictions, j, r)``.
    """

    def __init__(self, data, labels, transform, n_repeats, root_seed, on_task, *, model_description="model",
                 describe_task=describe_label):
        self.model_description = model_description
        self.describe_task = describe_task
        self.data = data
        self.blocks = data.blocks
        # Blocks with padding, whose padded cells the engine restores after every transform.
        self.padded = [(b, block) for b, block in enumerate(data.blocks) if block.mask is not None]
        self.n = data.n_samples
        self.labels = labels
        self.transform = transform
        self.n_repeats = n_repeats
        self.root_seed = root_seed
        self.on_task = on_task
        self.total_rows = self.n * (1 + len(labels) * n_repeats)
        self.unperturbed = None
        self._identity = _Identity(data)
        self._pending = {}  # task -> [predictions (n, ...) or None, the transform's per-task state]

    def for_worker(self):
        """A copy that builds chunks on its own (no pending tasks, no ``on_task``): what a job of
        :mod:`seqimp.engine_jobs` runs."""
        copy = object.__new__(_Stream)
        copy.__dict__.update(self.__dict__, on_task=None, unperturbed=None, _pending={})
        return copy

    @property
    def row_bytes(self):
        """Bytes of one row of the chunk buffers, every block together."""
        return sum(self.transform.buffer_dtype(block).itemsize * int(np.prod(block.X.shape[1:]))
                   for block in self.blocks)

    def call_arguments(self, segments):
        """The keyword arguments of a chunk's model call: the transform's per-task value, one per row
        (``{}`` for a transform without one)."""
        name = self.transform.argument
        if name is None:
            return {}
        values = [np.full(i1 - i0, self.transform.argument_value(self._task(k)[1]), dtype=np.float32)
                  for k, i0, i1, _ in segments]
        return {name: values[0] if len(values) == 1 else np.concatenate(values)}

    def model_input(self, buffers, segments, rows):
        """(the chunk as the model takes it, the keyword arguments of its call) for the first ``rows``
        rows of ``buffers``, built as ``segments``."""
        chunk = self.data.to_model_input([b[:rows] for b in buffers], self.segment_rows(segments))
        return chunk, self.call_arguments(segments)

    def predict(self, predictor, buffers, segments, rows):
        """The model's predictions on the first ``rows`` rows of ``buffers`` (built as ``segments``)."""
        chunk, arguments = self.model_input(buffers, segments, rows)
        return predictor(chunk, **arguments)

    def chunk_bounds(self, chunk_rows):
        """(start, stop) of every chunk, in stream order."""
        for start in range(0, self.total_rows, chunk_rows):
            yield start, min(start + chunk_rows, self.total_rows)

    def new_buffer(self, chunk_rows):
        """One chunk's rows for every block: a tuple of (chunk_rows, T_i, F_i) arrays, in the dtype the
        transform writes (every task of the stream shares them, so the unperturbed rows have it too)."""
        return tuple(np.empty((chunk_rows,) + block.X.shape[1:], dtype=self.transform.buffer_dtype(block))
                     for block in self.blocks)

    @staticmethod
    def segment_rows(segments):
        """The samples a chunk's rows are copies of, from its (task, i0, i1, offset) segments."""
        if len(segments) == 1:
            return np.arange(segments[0][1], segments[0][2])
        return np.concatenate([np.arange(i0, i1) for _, i0, i1, _ in segments])

    def _task(self, k):
        """(transform, label, label index, repeat) of task ``k``."""
        if k == 0:
            return self._identity, None, -1, -1
        j, r = divmod(k - 1, self.n_repeats)
        return self.transform, self.labels[j], j, r

    def build(self, buffers, start, stop):
        """Fill ``buffers`` with rows start:stop of the stream; return its (task, i0, i1, offset) segments."""
        segments = []
        pos = start
        while pos < stop:
            k, i0 = divmod(pos, self.n)
            i1 = min(self.n, i0 + (stop - pos))
            step, label, j, r = self._task(k)
            if k not in self._pending:
                state = step.start(label, task_seed(self.root_seed, j, r) if k else None)
                self._pending[k] = [None, state]
            outs = tuple(buffer[pos - start: pos - start + (i1 - i0)] for buffer in buffers)
            for out, block in zip(outs, self.blocks):
                out[...] = block.X[i0:i1]
            step.apply(outs, i0, i1, label, self._pending[k][1])
            if self.padded and k:
                self._keep_padding(step, label, outs, i0, i1)
            segments.append((k, i0, i1, pos - start))
            pos += i1 - i0
        return segments

    def _keep_padding(self, step, label, outs, i0, i1):
        touched = dict(step.touched(label))
        for b, block in self.padded:
            if b in touched:
                padded = ~block.mask[i0:i1]
                np.copyto(outs[b], block.X[i0:i1], where=padded[:, :, np.newaxis] & touched[b][np.newaxis])

    def consume(self, predictions, segments):
        self._check_finite(predictions, segments)
        for k, i0, i1, offset in segments:
            entry = self._pending.setdefault(k, [None, None])  # built elsewhere: by a worker's job
            if entry[0] is None:
                entry[0] = np.empty((self.n,) + predictions.shape[1:], dtype=predictions.dtype)
            elif entry[0].shape[1:] != predictions.shape[1:]:
                raise SeqimpValueError("The model returned predictions of {shape} per sample in one chunk and {other} "
                                       "in another.", shape=Shape(predictions.shape[1:]),
                                       other=Shape(entry[0].shape[1:], worded=False))
            entry[0][i0:i1] = predictions[offset: offset + (i1 - i0)]
            if i1 == self.n:
                self._finish(k, self._pending.pop(k)[0])

    def _check_finite(self, predictions, segments):
        """A NaN or inf prediction is an error naming the model, the sample and the task, never a NaN
        importance."""
        finite = np.isfinite(predictions.reshape(len(predictions), -1))
        if finite.all():
            return
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        value = predictions.reshape(len(predictions), -1)[row][~finite[row]][0]
        k, i0, _, offset = next(seg for seg in segments if seg[3] <= row < seg[3] + seg[2] - seg[1])
        if k == 0:
            when = text("on the unperturbed {X} (the baseline)")  # the words users know (and tests match)
        else:
            j, r = divmod(k - 1, self.n_repeats)
            when = self.describe_task(self.labels[j])
            if self.n_repeats > 1:
                when = text("{when} (repeat {r})", when=when, r=Position(r))
        raise SeqimpValueError("The model ({model}) returned {value} for sample {sample} {when}. seqimp never turns "
                               "non-finite predictions into importances; check the model and {X}.",
                               model=self.model_description, value=Value(value), sample=Position(i0 + row - offset),
                               when=when)

    def _finish(self, k, task_predictions):
        if k == 0:
            self.unperturbed = task_predictions
            return
        j, r = divmod(k - 1, self.n_repeats)
        self.on_task(self.unperturbed, task_predictions, j, r)


def run(predictor, data, labels, transform, *, n_repeats, root_seed, chunk_rows, score=None, collect=None,
        progress=False, describe_task=describe_label, func="seqimp", n_jobs=None):
    """Stream X itself and every (label, repeat) copy through ``predictor``.

    Each finished task is handed over as soon as its last row comes back, so its predictions are freed
    at once. Give at most one of:

    - ``score(unperturbed, predictions, label_index, repeat) -> float``: reduces the task to the number
      stored in ``EngineResult.scores[label_index, repeat]`` (``unperturbed``: the predictions on X);
    - ``collect(unperturbed, predictions, label_index, repeat)``: keeps per-sample values (gradients,
      Lek's responses); ``EngineResult.scores`` is then None.

    ``progress`` is the public argument (see :mod:`seqimp.progress`); ``describe_task(label)`` says in
    words when a task ran, for the error a non-finite prediction raises; ``func`` names the caller;
    ``n_jobs`` > 1 runs the stream's chunks on joblib workers (:mod:`seqimp.engine_jobs`).
    """
    if score is not None and collect is not None:
        raise TypeError("engine.run takes score= or collect=, not both.")
    check_size(data, labels, n_repeats, func)
    scores = np.full((len(labels), n_repeats), np.nan) if score is not None else None

    def on_task(unperturbed, predictions, j, r):
        if scores is not None:
            scores[j, r] = score(unperturbed, predictions, j, r)
        elif collect is not None:
            collect(unperturbed, predictions, j, r)

    stream = _Stream(data, labels, transform, n_repeats, root_seed, on_task, describe_task=describe_task,
                     model_description=getattr(predictor, "description", "model"))
    if stream.total_rows < chunk_rows:
        # A small job gets a power-of-two chunk: a compiled model then traces at most log2 sizes,
        # whatever the data's size, and pads less than 2x.
        chunk_rows = min(chunk_rows, 1 << (stream.total_rows - 1).bit_length())
    predictor.prepare(chunk_rows, data)
    # Chunks in flight at once: compiled TensorFlow predictors run two concurrently (the next chunk is
    # built and starts while the last one computes); everything else, R above all, runs serially.
    workers = max(1, int(getattr(predictor, "concurrent_chunks", 1)))
    bar = open_progress(progress, stream.total_rows, func)
    path, jobs = "plain", engine_jobs.n_workers(n_jobs)
    try:
        # Recurrent stacks with labels after step 0 resume from the unperturbed pass's cached states.
        runner = None if jobs > 1 else \
            engine_prefix.prefix_runner(predictor, data, labels, transform, n_repeats, chunk_rows)
        if jobs > 1:
            path = "jobs"
            engine_jobs.run_jobs(stream, predictor, data, chunk_rows, n_jobs, jobs, bar, func)
        elif runner is not None and runner.run(stream, predictor, bar):
            path = "prefix"
        elif workers == 1:
            _run_serial(stream, predictor, data, chunk_rows, bar)
        else:
            _run_concurrent(stream, predictor, data, chunk_rows, workers, bar)
    finally:
        bar.close()
    return EngineResult(unperturbed=stream.unperturbed, scores=scores, path=path)


def _run_serial(stream, predictor, data, chunk_rows, bar):
    buffers = stream.new_buffer(chunk_rows)
    for start, stop in stream.chunk_bounds(chunk_rows):
        segments = stream.build(buffers, start, stop)
        stream.consume(stream.predict(predictor, buffers, segments, stop - start), segments)
        bar.update(stop - start)


def _run_concurrent(stream, predictor, data, chunk_rows, workers, bar):
    # Two more chunks than workers wait built and queued, so a worker that finishes never idles while
    # the main thread waits for an older chunk; memory stays a few chunks.
    in_flight = workers + 2
    buffers = [stream.new_buffer(chunk_rows) for _ in range(in_flight)]
    queue = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="seqimp-chunk") as pool:
        try:
            for index, (start, stop) in enumerate(stream.chunk_bounds(chunk_rows)):
                if len(queue) == in_flight:  # the oldest chunk's buffer is about to be refilled
                    _consume_oldest(stream, queue, bar)
                chunk = buffers[index % in_flight]
                segments = stream.build(chunk, start, stop)
                rows, arguments = stream.model_input(chunk, segments, stop - start)
                # The caller's context (e.g. an R caller's 1-based positions) travels with each chunk.
                queue.append((pool.submit(contextvars.copy_context().run, predictor, rows, **arguments),
                              segments))
            while queue:
                _consume_oldest(stream, queue, bar)
        finally:
            for future, _ in queue:
                future.cancel()


def _consume_oldest(stream, queue, bar):
    future, segments = queue.popleft()
    stream.consume(future.result(), segments)
    bar.update(sum(i1 - i0 for _, i0, i1, _ in segments))
