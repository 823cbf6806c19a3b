"""How LOFO retrains a scikit-learn estimator: a clone of the caller's estimator for every fit, seeded
from the fold's seed where the estimator leaves its ``random_state`` open.

The estimator travels to worker processes as an :class:`EstimatorRecipe`, an unfitted clone taken once
at the boundary, so a fitted estimator's learned state is never shipped and the caller's object is never
touched.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from ..errors import Raised, SeqimpTypeError

_API = ("get_params", "fit", "predict")


def _has_api(obj):
    return all(callable(getattr(obj, name, None)) for name in _API)


def is_sklearn_estimator(obj):
    """True for a scikit-learn estimator instance, or any object with ``get_params``, ``fit`` and
    ``predict`` (the API :func:`sklearn.base.clone` needs)."""
    return not isinstance(obj, type) and _has_api(obj)


def is_sklearn_estimator_class(obj):
    """True for an estimator *class* (``Ridge`` rather than ``Ridge()``): called as a builder it would
    take the number of features as its first parameter."""
    return isinstance(obj, type) and _has_api(obj)


@dataclass(frozen=True)
class EstimatorRecipe:
    """An unfitted clone of the caller's estimator; every fit clones it again."""

    estimator: object


def estimator_recipe(estimator, *, func="seqimp"):
    """An :class:`EstimatorRecipe` for ``estimator``, cloned now so that a clone failure is reported
    at the boundary, naming the argument."""
    from sklearn.base import clone

    try:
        template = clone(estimator)
    except Exception as exc:  # noqa: BLE001 - re-raised naming the argument
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be an estimator that "
                              "sklearn.base.clone can copy (its get_params() must give back the arguments of its "
                              "__init__). Cloning the {estimator} failed: {exc}", argument="model_or_builder",
                              function=func, estimator=type(estimator).__name__, exc=Raised(exc)) from None
    return EstimatorRecipe(template)


def _open_random_states(estimator):
    """Names of the ``random_state`` parameters left at None, nested ones (``step__random_state``) too."""
    params = estimator.get_params(deep=True)
    return sorted(key for key, value in params.items()
                  if (key == "random_state" or key.endswith("__random_state")) and value is None)


def build_estimator(recipe, seed):
    """A fresh clone for one fit. ``random_state`` parameters left at None are drawn from ``seed``, so
    every fit of a fold starts from the same draws whatever process runs it; a ``random_state`` the
    caller set is kept, as ``sklearn.model_selection.cross_validate`` would keep it."""
    from sklearn.base import clone

    seed = int(seed)
    # Estimators with no random_state parameter may still draw from the global generators.
    random.seed(seed)
    np.random.seed(seed)
    estimator = clone(recipe.estimator)
    open_keys = _open_random_states(estimator)
    if open_keys:
        rng = np.random.RandomState(seed)
        estimator.set_params(**{key: int(rng.randint(np.iinfo(np.int32).max)) for key in open_keys})
    return estimator
