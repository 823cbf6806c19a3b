"""The engine on workers: ``n_jobs=`` on perturbation, permutation and gradient importance.

The stream of a run (the baseline rows, then every (label, repeat) task's copy; see
:mod:`seqimp.engine`) is cut into *jobs*: ranges of whole chunks, so a worker's forward calls are the
serial run's own chunks. Each job goes through joblib, so ``with joblib.parallel_backend("dask")`` (beside
a ``dask.distributed.Client``) runs them on a Dask cluster and the default runs them in local processes
(loky). A worker builds its rows with the stream's own :meth:`~seqimp.engine._Stream.build` (each task's
seed and random tiles as in one process) and returns their predictions; the caller files them with
:meth:`~seqimp.engine._Stream.consume` in stream order, scores each task as it completes, and moves one
progress bar. The numbers are those of ``n_jobs=1`` for any ``n_jobs`` and backend (where ``n_jobs=1``
takes the cached path of :mod:`seqimp.engine_prefix`, to float32 round-off: workers run the plain path).

What travels: the predictor (the model, a Keras model pickled with its weights, seqimp's wrappers; each
predictor leaves behind what a worker rebuilds, such as compiled functions, by its own pickling), X and
the labels, serialised once per call into one byte array. joblib sends that array once per worker
process (loky memory-maps it; the Dask backend scatters it once), and each worker unpickles it once per
call (:func:`_payload` keeps the last two). R models run in the R process that holds them (their
predictor says so: ``process_bound``) and refuse ``n_jobs > 1``; a model that cannot be pickled (a lambda is fine, cloudpickle takes it; an open
connection is not) is an error that says to use ``n_jobs=1``.

Memory per worker: the payload (X, the model), one chunk buffer, and one job's predictions: a job holds
at most :data:`JOB_BUDGET_BYTES` of input rows (at least one chunk), and the same rows' predictions. The
caller holds the stream's usual pending tasks plus the results joblib has ready and not yet handed over
(at most about twice as many jobs as workers).
"""

from __future__ import annotations

import contextvars
import io
import math
import numbers
import threading
import uuid
from collections import OrderedDict

import numpy as np

from . import checks
from .errors import Keyword, Raised, SeqimpTypeError, SeqimpValueError, Value, text
from .adapters.protocol import limit_tf_threads

# Input bytes per job (rounded to whole chunks, at least one chunk).
JOB_BUDGET_BYTES = 64 * 2**20
# Jobs per worker, at least, when the budget allows: small jobs balance the load.
JOBS_PER_WORKER = 4

def check_n_jobs(n_jobs, func):
    """``n_jobs`` as joblib takes it: None or an int other than 0."""
    expected = text("{None} or {an_int} other than 0 (-1: every core)")
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Real) \
            or not float(n_jobs).is_integer():
        checks.fail("n_jobs", func, expected, n_jobs, TypeError)
    if int(n_jobs) == 0:
        checks.fail("n_jobs", func, expected, n_jobs)
    return int(n_jobs)


def n_workers(n_jobs):
    """How many workers ``n_jobs`` means under the active joblib backend (1: run in this process)."""
    if n_jobs is None or n_jobs == 1:
        return 1
    import joblib

    return max(1, int(joblib.effective_n_jobs(n_jobs)))


def _refuse_r(predictor, n_jobs, func):
    adapter = predictor.innermost()
    if getattr(adapter, "r_code", ()):
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be 1 for this model: its layers "
                               "{layers} run R code, which runs in this R session only (on its main thread); got "
                               "{got}.", argument="n_jobs", function=func, layers=Value(list(adapter.r_code)),
                               got=n_jobs)
    if adapter.process_bound:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be 1 for an R model ({model}); got "
                               "{got}. An R model runs in the R process that holds it and cannot be sent to worker "
                               "processes.", argument="n_jobs", function=func,
                               model=getattr(adapter, "description", "R model"), got=n_jobs)


def _pickler(buffer):
    """A cloudpickle pickler that leaves locks and contexts behind (a worker makes them afresh). What a
    predictor leaves behind (compiled functions) its own pickling says."""
    import cloudpickle  # joblib's own (its loky backend pickles with it)

    lock_types = (type(threading.Lock()), type(threading.RLock()))

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, lock_types):
                return threading.Lock, ()
            if isinstance(obj, contextvars.Context):
                return contextvars.copy_context, ()
            return super().reducer_override(obj)

    return Pickler(buffer, protocol=5)


def ship(stream, predictor, data, chunk_rows, n_jobs, func):
    """(payload bytes as a uint8 array, token): what every job needs, serialised once."""
    _refuse_r(predictor, n_jobs, func)
    worker_stream = stream.for_worker()
    buffer = io.BytesIO()
    pickler = _pickler(buffer)
    try:
        pickler.dump((worker_stream, predictor, data, chunk_rows))
    except Exception as exc:  # noqa: BLE001 - whatever pickling raises, the advice is the same
        raise SeqimpTypeError("The model ({model}) cannot be sent to worker processes for {function}({n_jobs}): "
                              "{exc}. Use {one} to run it in this process.", argument="n_jobs", function=func,
                              model=getattr(predictor, "description", "model"), n_jobs=Keyword("n_jobs", n_jobs),
                              exc=Raised(exc), one=Keyword("n_jobs", 1)) from exc
    return np.frombuffer(buffer.getbuffer(), dtype=np.uint8).copy(), uuid.uuid4().hex


_LOADED: "OrderedDict[str, tuple]" = OrderedDict()
_LOADED_LOCK = threading.Lock()


def _payload(blob, token):
    """The unpickled payload of ``token``, once per worker process (the last two calls' kept)."""
    import pickle

    with _LOADED_LOCK:
        if token not in _LOADED:
            stream, predictor, data, chunk_rows = pickle.loads(np.asarray(blob).tobytes())
            predictor.prepare(chunk_rows, data)
            _LOADED[token] = (stream, predictor, data, chunk_rows)
            while len(_LOADED) > 2:
                _LOADED.popitem(last=False)
        return _LOADED[token]


def _worker_threads(default):
    """TensorFlow threads in a worker: a Dask worker's own thread count, else ``default``."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except Exception:  # noqa: BLE001 - not inside a Dask worker
        return default


def _job(blob, token, start, stop, threads):
    """Predictions for stream rows start:stop, and their (task, i0, i1, offset) segments."""
    limit_tf_threads(_worker_threads(threads))  # before the payload (and TensorFlow with it) is loaded
    stream, predictor, data, chunk_rows = _payload(blob, token)
    job = stream.for_worker()  # its own per-task transform state, the payload's left as it is
    buffers = job.new_buffer(chunk_rows)
    outputs, segments = [], []
    for begin in range(start, stop, chunk_rows):
        end = min(begin + chunk_rows, stop)
        chunk_segments = job.build(buffers, begin, end)
        outputs.append(job.predict(predictor, buffers, chunk_segments, end - begin))
        segments += [(k, i0, i1, offset + begin - start) for k, i0, i1, offset in chunk_segments]
    return np.concatenate(outputs), segments


def job_bounds(total_rows, chunk_rows, row_bytes, workers):
    """(start, stop) of every job: whole chunks, about :data:`JOBS_PER_WORKER` jobs per worker, at most
    :data:`JOB_BUDGET_BYTES` of input each."""
    chunks = math.ceil(total_rows / chunk_rows)
    per_job = max(1, min(math.ceil(chunks / (JOBS_PER_WORKER * workers)),
                         JOB_BUDGET_BYTES // max(1, chunk_rows * row_bytes)))
    step = per_job * chunk_rows
    return [(start, min(start + step, total_rows)) for start in range(0, total_rows, step)]


def run_jobs(stream, predictor, data, chunk_rows, n_jobs, workers, bar, func):
    """The whole stream through joblib, consumed in stream order."""
    import joblib

    blob, token = ship(stream, predictor, data, chunk_rows, n_jobs, func)
    row_bytes = stream.row_bytes  # the chunk buffers' own itemsize: float64 X takes 8 bytes a value
    threads = max(1, joblib.cpu_count() // workers)
    calls = (joblib.delayed(_job)(blob, token, start, stop, threads)
             for start, stop in job_bounds(stream.total_rows, chunk_rows, row_bytes, workers))
    with joblib.Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1) as parallel:
        for predictions, segments in parallel(calls):
            stream.consume(predictions, segments)
            bar.update(sum(i1 - i0 for _, i0, i1, _ in segments))
