"""What gets an importance: a label is a named boolean mask over (timesteps, features).

One idea covers every granularity: a feature is a column of the mask, a timestep a row, a cell one
entry, and a group the union of its features' columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import checks

GRANULARITIES = ("feature", "timestep", "cell")


@dataclass(frozen=True)
class Label:
    """One row of a result.

    ``feature`` is the feature (or group) name, or None for a timestep label; ``timestep`` is the
    0-based timestep, or None for a feature label. ``mask`` has shape (T, F).
    """

    name: str
    feature: Optional[str]
    timestep: Optional[int]
    mask: np.ndarray = field(repr=False, compare=False)

    @property
    def features(self):
        """Indices of the features this label touches."""
        return np.flatnonzero(self.mask.any(axis=0))


def feature_index(member, feature_names, where):
    """A feature given by name or 0-based index -> its index; ``where`` starts the error message."""
    if isinstance(member, (int, np.integer)) and not isinstance(member, (bool, np.bool_)):
        if not 0 <= member < len(feature_names):
            raise ValueError(f"{where} names feature index {member}, but X has features "
                             f"0..{len(feature_names) - 1}.")
        return int(member)
    names = list(feature_names)
    if str(member) in names:
        return names.index(str(member))
    raise ValueError(f"{where} names an unknown feature {member!r}. Known features: {names}.")


def resolve_groups(groups, feature_names, func):
    """``{name: [feature names or indices]}`` -> ``{name: sorted feature indices}``."""
    if groups is None:
        return None
    if not hasattr(groups, "items"):
        checks.fail("groups", func, "a dict {group name: [feature names or indices]} or None", groups,
                    TypeError)
    if len(groups) == 0:
        checks.fail("groups", func, "a non-empty dict", groups)
    resolved = {}
    for group, members in groups.items():
        if isinstance(members, (str, int, np.integer)):
            members = [members]
        members = list(members)
        if not members:
            raise ValueError(f"The 'groups' parameter of {func} has an empty group {group!r}.")
        where = f"The 'groups' parameter of {func}: group {group!r}"
        resolved[str(group)] = sorted({feature_index(m, feature_names, where) for m in members})
    return resolved


# Each label holds a (T, F) boolean mask; beyond this many bytes of masks a call is refused up front.
MAX_MASK_BYTES = 2**31


def _check_mask_memory(granularity, n_labels, T, F, func):
    if n_labels * T * F <= MAX_MASK_BYTES:
        return
    raise ValueError(f"The 'granularity' parameter of {func} is {granularity!r}, which on X with {T} "
                     f"timesteps and {F} features makes {n_labels:,} labels, whose masks need "
                     f"{n_labels * T * F / 2**30:.3g} GiB (the limit is {MAX_MASK_BYTES / 2**30:.0f} GiB). "
                     f"Use a coarser granularity, groups, or fewer timesteps.")


def make_labels(data, granularity, groups, func):
    """The labels for one call, in result order (cells are timestep-major: t0/f0, t0/f1, ...)."""
    granularity = checks.check_option(granularity, "granularity", func, GRANULARITIES)
    T, F = data.n_timesteps, data.n_features
    groups = resolve_groups(groups, data.feature_names, func)
    if groups is None:
        columns = {name: [j] for j, name in enumerate(data.feature_names)}
    else:
        columns = groups
    n_labels = {"feature": len(columns), "timestep": T, "cell": T * len(columns)}[granularity]
    _check_mask_memory(granularity, n_labels, T, F, func)
    labels = []
    if granularity == "feature":
        for name, idx in columns.items():
            mask = np.zeros((T, F), dtype=bool)
            mask[:, idx] = True
            labels.append(Label(name, name, None, mask))
    elif granularity == "timestep":
        if groups is not None:
            raise ValueError(f"The 'groups' parameter of {func} works with granularity 'feature' or "
                             f"'cell'; with 'timestep' every feature is perturbed together. Got groups "
                             f"with granularity='timestep'.")
        for t in range(T):
            mask = np.zeros((T, F), dtype=bool)
            mask[t, :] = True
            labels.append(Label(f"t{t}", None, t, mask))
    else:
        for t in range(T):
            for name, idx in columns.items():
                mask = np.zeros((T, F), dtype=bool)
                mask[t, idx] = True
                labels.append(Label(f"{name}@t{t}", name, t, mask))
    return granularity, labels
