"""Parameter checks at the public boundary.

Every message follows one pattern, scikit-learn's:
"The 'n_repeats' parameter of permutation_importance must be an int in the range [1, inf). Got 0 instead."
The errors are :mod:`seqimp.errors`' structured ones, so the R package words them in R's terms:
"The 'n_repeats' argument of permutation_importance must be an integer in the range [1, Inf). Got 0
instead."
"""

from __future__ import annotations

import numbers

import numpy as np

from . import errors
from .errors import Options, SeqimpValueError, Value, text

# Beyond these a job is refused before anything is allocated: the importances matrix (labels x repeats,
# float64) would pass 800 MB, or the forward passes would take days on any machine.
MAX_TASKS = 10**8
MAX_FORWARD_ROWS = 10**12


def check_job_size(func, n_samples, n_tasks, what):
    """Refuse a job of ``n_tasks`` copies of X (``n_samples`` rows each) beyond the sane bounds, before
    anything is allocated; ``what`` says what the copies are ("3 labels x 1000000000 repeats")."""
    rows = int(n_samples) * (1 + int(n_tasks))
    if n_tasks <= MAX_TASKS and rows <= MAX_FORWARD_ROWS:
        return
    raise SeqimpValueError(
        "{function} was asked for {what} = {n_tasks:,} perturbed copies of {X} ({n_samples:,} samples each): "
        "{rows:.3g} rows through the model and {gib:.3g} GiB of importances. seqimp refuses jobs over "
        "{max_tasks:.0e} copies or {max_rows:.0e} rows; ask for fewer repeats, steps or labels, or pass a "
        "subset of the rows.", function=func, what=what, n_tasks=int(n_tasks), n_samples=int(n_samples),
        rows=float(rows), gib=8 * int(n_tasks) / 2**30, max_tasks=MAX_TASKS, max_rows=MAX_FORWARD_ROWS)


def check_finite_score(value, what):
    """``value`` as a float, or an error naming ``what`` (a metric or an effect) when it is NaN or inf."""
    value = float(value)
    if not np.isfinite(value):
        raise SeqimpValueError("{what} returned {value}; seqimp never reports a non-finite importance. "
                               "Check the model's predictions and y (for {r2}, y must not be constant).",
                               what=what, value=value, r2=Value("r2"))
    return value


def fail(name, func, expected, value, exc=ValueError):
    """Raise the project's one message: "The '<name>' parameter of <func> must be <expected>. Got <value>
    instead." ``expected`` is an :func:`seqimp.errors.text` phrase (or literal text, the same in both
    languages); ``exc`` is ValueError or TypeError."""
    raise errors.argument_error(name, func, expected, value, exc)


def check_int(value, name, func, *, low=1, high=None, allow_none=False):
    """An integer in [low, high]; floats that are whole numbers (R's 5) are accepted."""
    if value is None and allow_none:
        return None
    expected = text("{an_int} in the range [{low}, {upper}{or_none}", low=int(low),
                    upper=text("{inf})") if high is None else f"{high}]", or_none=_or_none(allow_none))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, func, expected, value, TypeError)
    if not float(value).is_integer():
        fail(name, func, expected, value, TypeError)
    value = int(value)
    if value < low or (high is not None and value > high):
        fail(name, func, expected, value)
    return value


def check_float(value, name, func, *, low=None, high=None, low_inclusive=True, allow_none=False):
    """A finite real number in the given range."""
    if value is None and allow_none:
        return None
    expected = text("{a_float} in the range {bracket}{lo}, {hi}{close}{or_none}",
                    bracket="[" if (low is not None and low_inclusive) else "(",
                    lo=text("-{inf}") if low is None else Value(low), hi=text("{inf}") if high is None else Value(high),
                    close="]" if high is not None else ")", or_none=_or_none(allow_none))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, func, expected, value, TypeError)
    value = float(value)
    if not np.isfinite(value):
        fail(name, func, expected, value)
    if low is not None and (value < low or (value == low and not low_inclusive)):
        fail(name, func, expected, value)
    if high is not None and value > high:
        fail(name, func, expected, value)
    return value


def check_option(value, name, func, options, *, allow_callable=False):
    """One of the named string options (or, where allowed, a callable)."""
    if allow_callable and callable(value):
        return value
    if isinstance(value, str) and value in options:
        return value
    expected = text("one of {options}{or_callable}", options=Options(options),
                    or_callable=text(" or {a_callable}") if allow_callable else "")
    fail(name, func, expected, value)


def check_bool(value, name, func):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    fail(name, func, text("{a_bool}"), value, TypeError)


def check_random_state(random_state, func):
    """Resolve ``random_state`` once into a SeedSequence that every draw derives from."""
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(0, 2**63 - 1)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(0, 2**31 - 1)))
    if isinstance(random_state, numbers.Real) and not isinstance(random_state, (bool, np.bool_)):
        if float(random_state).is_integer() and random_state >= 0:
            return np.random.SeedSequence(int(random_state))
    fail("random_state", func, text("a non-negative {int}, a numpy Generator, RandomState or SeedSequence, "
                                    "or {None}"), random_state, TypeError)


def _or_none(allow_none):
    return text(" or {None}") if allow_none else ""
