"""Progress on long runs: a tqdm bar, or the caller's own callback, over the rows the engine streams.

``progress=None`` (the default) shows a bar only in an interactive session (a terminal or a notebook)
and only once a run has taken a few seconds, so short calls and scripts stay quiet. ``True`` always
shows one, ``False`` never, and a callable ``progress(done, total)`` is called after every chunk with
the rows done so far (the R package passes one that drives R's own progress bar).
"""

from __future__ import annotations

import sys

import numpy as np

from . import checks
from .errors import text

# Seconds a run must have taken before the default bar appears (tqdm's ``delay``).
AUTO_DELAY_S = 3.0
EXPECTED = text("{None} (a bar in interactive sessions, once a run takes a few seconds), {True}, {False}, or "
                "{a_callable} progress(done, total)")


def check_progress(progress, func):
    if progress is None or isinstance(progress, (bool, np.bool_)) or callable(progress):
        return progress
    checks.fail("progress", func, EXPECTED, progress, TypeError)


def _interactive():
    if "ipykernel" in sys.modules:  # a notebook: stderr is no terminal, yet a person is watching
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Silent:
    def update(self, n):
        pass

    def close(self):
        pass


class _Callback:
    def __init__(self, callback, total):
        self.callback, self.total, self.done = callback, int(total), 0

    def update(self, n):
        self.done += int(n)
        self.callback(self.done, self.total)

    def close(self):
        pass


def open_progress(progress, total, description):
    """Something with ``update(rows)`` and ``close()`` for a run of ``total`` rows."""
    if progress is False or progress is None and not _interactive():
        return _Silent()
    if callable(progress) and not isinstance(progress, (bool, np.bool_)):
        return _Callback(progress, total)
    from tqdm.auto import tqdm

    return tqdm(total=int(total), desc=description, unit="row", unit_scale=True, dynamic_ncols=True,
                delay=AUTO_DELAY_S if progress is None else 0.0)
