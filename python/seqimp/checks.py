"""Parameter checks at the public boundary.

Every message follows one pattern, scikit-learn's:
"The 'n_repeats' parameter of permutation_importance must be an int in the range [1, inf). Got 0 instead."
"""

from __future__ import annotations

import numbers

import numpy as np


def _got(value):
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (bool, numbers.Number, type(None))):
        return repr(value)
    return f"an object of type {type(value).__name__}"


def fail(name, func, expected, value, exc=ValueError):
    """Raise ``exc`` with the project's one message pattern."""
    raise exc(f"The '{name}' parameter of {func} must be {expected}. Got {_got(value)} instead.")


def check_int(value, name, func, *, low=1, high=None, allow_none=False):
    """An integer in [low, high]; floats that are whole numbers (R's 5) are accepted."""
    if value is None and allow_none:
        return None
    upper = "inf)" if high is None else f"{high}]"
    expected = f"an int in the range [{low}, {upper}" + (" or None" if allow_none else "")
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
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    bracket = "[" if (low is not None and low_inclusive) else "("
    expected = f"a float in the range {bracket}{lo}, {hi}" + ("]" if high is not None else ")")
    if allow_none:
        expected += " or None"
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
    listed = ", ".join(repr(o) for o in options)
    expected = f"one of {{{listed}}}" + (" or a callable" if allow_callable else "")
    fail(name, func, expected, value)


def check_bool(value, name, func):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    fail(name, func, "a bool", value, TypeError)


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
    fail("random_state", func, "a non-negative int, a numpy Generator, RandomState or SeedSequence, or None",
         random_state, TypeError)
