"""The batched engine: streams perturbed copies of X through a model in fixed-size chunks.

The work is one long virtual array of rows: the unperturbed baseline (task 0), then one copy of X per
(label, repeat) task. It is cut into chunks of ``chunk_rows`` rows regardless of task boundaries, so
every forward call but the last has the same size (a compiled model never retraces) and memory is
bounded by a chunk plus the predictions of the at most few tasks a chunk touches, never by
labels x repeats.

Randomness never depends on the chunking: each task's seed is derived from ``random_state`` by its
(label, repeat) key, and a transform draws its random numbers in fixed blocks of rows
(:func:`block_draws`), each block seeded by its index.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import checks

# Rows per random block. Fixed: it is part of what a seed means, so changing it changes results.
RANDOM_BLOCK_ROWS = 256


def task_seed(root, label_index, repeat):
    """The seed of one (label, repeat) task, independent of every other task and of the chunking."""
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (label_index, repeat))


def block_draws(seed, i0, i1, n_samples, draw):
    """Rows ``i0:i1`` of a task's (n_samples, ...) random array, drawn block by block.

    ``draw(rng, n_rows)`` returns an array with ``n_rows`` rows. The result for any row is the same
    whatever ``i0``/``i1`` a chunk asks for.
    """
    parts = []
    first, last = i0 // RANDOM_BLOCK_ROWS, (i1 - 1) // RANDOM_BLOCK_ROWS
    for b in range(first, last + 1):
        b0 = b * RANDOM_BLOCK_ROWS
        b1 = min(b0 + RANDOM_BLOCK_ROWS, n_samples)
        block_seed = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (b,))
        values = draw(np.random.default_rng(block_seed), b1 - b0)
        parts.append(values[max(i0, b0) - b0: min(i1, b1) - b0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Transform:
    """How one perturbed copy is built. The engine owns the loop; a transform owns one step.

    ``start`` is called once per task and returns small per-task state (never an X-sized array).
    ``apply`` overwrites ``out`` (a float32 copy of ``X[i0:i1]``, shape (m, T, F)) in place.
    """

    def __init__(self, X):
        self.X = X

    def start(self, label, seed):
        return seed

    def apply(self, out, i0, i1, label, state):
        raise NotImplementedError


class _Identity(Transform):
    def apply(self, out, i0, i1, label, state):
        pass


@dataclass
class EngineResult:
    baseline: np.ndarray  # predictions on the unperturbed X, (n, ...)
    scores: np.ndarray  # (n_labels, n_repeats)


def resolve_chunk_rows(predictor, data, batch_size, func):
    """Rows per forward call: ``batch_size`` if given, else the adapter's choice."""
    batch_size = checks.check_int(batch_size, "batch_size", func, low=1, allow_none=True)
    if batch_size is None:
        batch_size = predictor.default_chunk_rows(data.X.shape[1:])
    return batch_size


def predict_all(predictor, data, chunk_rows):
    """Predictions on the unperturbed X, in chunks."""
    return run(predictor, data, [], _Identity(data.X), n_repeats=0, root_seed=np.random.SeedSequence(0),
               chunk_rows=chunk_rows, score=None).baseline


def run(predictor, data, labels, transform, *, n_repeats, root_seed, chunk_rows, score):
    """Stream the baseline and every (label, repeat) copy through ``predictor``.

    ``score(baseline_predictions, predictions, label_index, repeat) -> float`` reduces each finished
    task as soon as its last row comes back, so its predictions are freed at once.
    """
    X = data.X
    n = X.shape[0]
    n_tasks = 1 + len(labels) * n_repeats
    total = n * n_tasks
    if total < chunk_rows:
        # A small job gets a power-of-two chunk: a compiled model then traces at most log2 sizes,
        # whatever the data's size, and pads less than 2x.
        chunk_rows = min(chunk_rows, 1 << (total - 1).bit_length())
    predictor.prepare(chunk_rows, data)

    identity = _Identity(X)
    scores = np.full((len(labels), n_repeats), np.nan)
    # Chunks in flight at once: compiled TensorFlow predictors run two concurrently (the next chunk is
    # built and starts while the last one computes); everything else, R above all, runs serially.
    workers = max(1, int(getattr(predictor, "concurrent_chunks", 1)))
    # Two more chunks than workers wait built and queued, so a worker that finishes never idles while
    # the main thread waits for an older chunk; memory stays a few chunks.
    in_flight = workers + 2 if workers > 1 else 1
    buffers = [np.empty((chunk_rows,) + X.shape[1:], dtype=np.float32) for _ in range(in_flight)]
    pending = {}  # task -> [predictions buffer, state]
    result = {"baseline": None}

    def task_parts(k):
        if k == 0:
            return identity, None, -1, -1
        j, r = divmod(k - 1, n_repeats)
        return transform, labels[j], j, r

    def build(buffer, start, stop):
        """Fill ``buffer`` with rows start:stop of the virtual stream; return its task segments."""
        segments = []
        pos = start
        while pos < stop:
            k, i0 = divmod(pos, n)
            i1 = min(n, i0 + (stop - pos))
            step, label, j, r = task_parts(k)
            if k not in pending:
                state = step.start(label, task_seed(root_seed, j, r) if k else None)
                pending[k] = [None, state]
            out = buffer[pos - start: pos - start + (i1 - i0)]
            out[...] = X[i0:i1]
            step.apply(out, i0, i1, label, pending[k][1])
            segments.append((k, i0, i1, pos - start))
            pos += i1 - i0
        return segments

    def consume(preds, segments):
        """Store a chunk's predictions by task, and score every task it completes (in stream order)."""
        for k, i0, i1, off in segments:
            entry = pending[k]
            if entry[0] is None:
                entry[0] = np.empty((n,) + preds.shape[1:], dtype=preds.dtype)
            elif entry[0].shape[1:] != preds.shape[1:]:
                raise ValueError(f"The model returned predictions of shape {preds.shape[1:]} per sample "
                                 f"in one chunk and {entry[0].shape[1:]} in another.")
            entry[0][i0:i1] = preds[off: off + (i1 - i0)]
            if i1 == n:
                task_preds = pending.pop(k)[0]
                if k == 0:
                    result["baseline"] = task_preds
                else:
                    j, r = divmod(k - 1, n_repeats)
                    scores[j, r] = score(result["baseline"], task_preds, j, r)

    starts = range(0, total, chunk_rows)
    if in_flight == 1:
        for start in starts:
            stop = min(start + chunk_rows, total)
            segments = build(buffers[0], start, stop)
            consume(predictor(data.to_model_input(buffers[0][: stop - start])), segments)
    else:
        queue = deque()
        with ThreadPoolExecutor(workers, thread_name_prefix="seqimp-chunk") as pool:
            try:
                for index, start in enumerate(starts):
                    if len(queue) == in_flight:  # the oldest chunk's buffer is about to be refilled
                        consume(*_done(queue.popleft()))
                    stop = min(start + chunk_rows, total)
                    buffer = buffers[index % in_flight]
                    segments = build(buffer, start, stop)
                    queue.append((pool.submit(predictor, data.to_model_input(buffer[: stop - start])),
                                  segments))
                while queue:
                    consume(*_done(queue.popleft()))
            finally:
                for future, _ in queue:
                    future.cancel()
    return EngineResult(baseline=result["baseline"], scores=scores)


def _done(queued):
    future, segments = queued
    return future.result(), segments
