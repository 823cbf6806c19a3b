"""Shared by the benchmark scripts (run as `python bench/<name>.py`, so this folder is on sys.path)."""

import time


def best_of(fn, rounds):
    """The fastest of ``rounds`` runs of ``fn()``, in seconds: the least disturbed by a noisy machine."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
