"""What gets an importance: a label is a named set of (input, timestep, feature) cells.

One idea covers every granularity: for each model input (block) a label touches, it holds its boolean
*cells* over that block's (T, F) (a block's *mask*, by contrast, marks its real steps). A feature is a
column of its block's cells, a timestep a row (in every
sequence input), a cell one entry, and a group the union of its features' columns, in one input or
several. 2-D inputs (n, F) have no timesteps: at granularity "timestep" or "cell" their features take
part as feature labels (timestep None), after the sequence inputs' labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import checks
from .errors import Keyword, Position, SeqimpValueError, Value, about, text
from .sequence_data import Block

GRANULARITIES = ("feature", "timestep", "cell")


@dataclass(frozen=True)
class Label:
    """One row of a result.

    ``feature`` is the feature (or group) name, or None for a timestep label; ``timestep`` is the
    0-based timestep, or None for a feature label. ``parts`` holds ``(block index, cells)`` pairs, one
    per model input the label touches, each a boolean array of that block's shape (T, F); a bare (T, F)
    array is taken as the cells of the only block. ``feature_indices`` are the label's features as indices into
    the data's ``feature_names`` (across every input); by default the columns of the first part's cells.
    """

    name: str
    feature: Optional[str]
    timestep: Optional[int]
    parts: tuple = field(repr=False, compare=False)
    feature_indices: Optional[tuple] = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.parts, np.ndarray):
            object.__setattr__(self, "parts", ((0, self.parts),))

    @property
    def cells(self):
        """The (T, F) cells of a label that touches one input (the only one, for single-input data)."""
        if len(self.parts) != 1:
            raise TypeError(f"Label {self.name!r} touches {len(self.parts)} inputs; read label.parts.")
        return self.parts[0][1]

    @property
    def features(self):
        """Indices of the features this label touches (across every input)."""
        if self.feature_indices is not None:
            return np.asarray(self.feature_indices, dtype=np.int64)
        return np.flatnonzero(self.parts[0][1].any(axis=0))


def feature_index(member, feature_names, where, data=None):
    """A feature given by name or 0-based index -> its index; ``where`` starts the error message.

    With ``data`` (several inputs), a feature's own name is found too where it is unique across inputs,
    and ``"input.feature"`` always.
    """
    argument = getattr(where, "argument", None)
    if isinstance(member, (int, np.integer)) and not isinstance(member, (bool, np.bool_)):
        if not 0 <= member < len(feature_names):
            raise SeqimpValueError("{where} names feature index {member}, but {X} has features {first}..{last}.",
                                   argument=argument, where=where, member=Position(member), first=Position(0),
                                   last=Position(len(feature_names) - 1))
        return int(member)
    names = list(feature_names)
    if str(member) in names:
        return names.index(str(member))
    if data is not None and not data.is_single:
        found = [j for j, (b, f) in enumerate(_owners(data))
                 if str(member) in (data.blocks[b].feature_names[f],
                                    f"{data.blocks[b].name}.{data.blocks[b].feature_names[f]}")]
        if len(found) == 1:
            return found[0]
        if found:
            raise SeqimpValueError("{where} names feature {member}, which several inputs have; name one of "
                                   "{candidates}.", argument=argument, where=where, member=Value(member),
                                   candidates=Value([names[j] for j in found]))
    raise SeqimpValueError("{where} names an unknown feature {member}. Known features: {names}.", argument=argument,
                           where=where, member=Value(member), names=Value(names))


def _owners(data):
    """(block index, feature index in the block) of every feature, in ``feature_names`` order."""
    return [(b, f) for b, block in enumerate(data.blocks) for f in range(block.n_features)]


def resolve_groups(groups, feature_names, func, data=None):
    """``{name: [feature names or indices]}`` -> ``{name: sorted feature indices}``."""
    if groups is None:
        return None
    if not hasattr(groups, "items"):
        checks.fail("groups", func, text("{a_dict} {{group name: [feature names or indices]}} or {None}"), groups,
                    TypeError)
    if len(groups) == 0:
        checks.fail("groups", func, text("a non-empty {dict}"), groups)
    resolved = {}
    for group, members in groups.items():
        if isinstance(members, (str, int, np.integer)):
            members = [members]
        members = list(members)
        if not members:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} has an empty group {group}.",
                                   argument="groups", function=func, group=Value(group))
        where = about("groups", func, text(": group {group}", group=Value(group)))
        resolved[str(group)] = sorted({feature_index(m, feature_names, where, data) for m in members})
    return resolved


# Each label holds (T, F) boolean cells; beyond this many bytes of them a call is refused up front.
MAX_MASK_BYTES = 2**31


def _check_mask_memory(granularity, n_labels, T, F, func):
    if n_labels * T * F <= MAX_MASK_BYTES:
        return
    raise SeqimpValueError("The '{argument}' {parameter} of {function} is {granularity}, which on {X} with {T} "
                           "timesteps and {F} features makes {n_labels:,} labels, whose masks need {gib:.3g} GiB "
                           "(the limit is {limit:.0f} GiB). Use a coarser granularity, groups, or fewer timesteps.",
                           argument="granularity", function=func, granularity=Value(granularity), T=T, F=F,
                           n_labels=n_labels, gib=n_labels * T * F / 2**30, limit=MAX_MASK_BYTES / 2**30)


class _Layout:
    """A single input's (T, F) layout without data, for callers that have only the shape (Olden's and
    Garson's methods read weights): ``like`` has ``n_timesteps``, ``n_features`` and ``feature_names``."""

    is_single = True
    structure = "array"

    def __init__(self, like):
        self.feature_names = tuple(like.feature_names)
        self.n_timesteps, self.n_features = int(like.n_timesteps), int(like.n_features)
        empty = np.empty((0, self.n_timesteps, self.n_features), dtype=np.float32)
        self.blocks = (Block(empty, self.feature_names, 3),)


class _Builder:
    """Makes the cells of labels over the blocks of one SequenceData."""

    def __init__(self, data):
        self.data = data
        self.owners = _owners(data)
        # One 2-D array keeps its one timestep, as before several inputs existed ("t0", "x1@t0").
        self.sequence = [data.is_single or block.is_sequence for block in data.blocks]

    def columns(self, features, timestep=None):
        """``parts`` for the given global features, at every timestep or at one (sequence blocks)."""
        by_block = {}
        for j in features:
            b, f = self.owners[j]
            block = self.data.blocks[b]
            if timestep is not None and self.sequence[b] and timestep >= block.n_timesteps:
                continue
            if b not in by_block:
                by_block[b] = np.zeros(block.X.shape[1:], dtype=bool)
            if timestep is None or not self.sequence[b]:
                by_block[b][:, f] = True
            else:
                by_block[b][timestep, f] = True
        return tuple(sorted(by_block.items()))

    def timestep(self, t):
        parts = []
        for b, block in enumerate(self.data.blocks):
            if self.sequence[b] and t < block.n_timesteps:
                cells = np.zeros(block.X.shape[1:], dtype=bool)
                cells[t, :] = True
                parts.append((b, cells))
        return tuple(parts)

    def in_sequence(self, features):
        """Which of ``features`` belong to sequence inputs."""
        return [j for j in features if self.sequence[self.owners[j][0]]]


def make_labels(data, granularity, groups, func):
    """The labels for one call, in result order (cells are timestep-major: t0/f0, t0/f1, ...; with
    several inputs, features of 2-D inputs follow as feature labels at granularity "timestep"/"cell")."""
    granularity = checks.check_option(granularity, "granularity", func, GRANULARITIES)
    T, F = data.n_timesteps, data.n_features
    groups = resolve_groups(groups, data.feature_names, func, data if hasattr(data, "blocks") else None)
    if groups is not None and granularity == "timestep":
        raise SeqimpValueError("The '{argument}' {parameter} of {function} works with granularity {feature} or "
                               "{cell}; with {timestep} every feature is perturbed together. Got groups with "
                               "{got}.", argument="groups", function=func, feature=Value("feature"),
                               cell=Value("cell"), timestep=Value("timestep"), got=Keyword("granularity", "timestep"))
    columns = groups if groups is not None else {name: [j] for j, name in enumerate(data.feature_names)}
    n_labels = {"feature": len(columns), "timestep": T, "cell": T * len(columns)}[granularity]
    _check_mask_memory(granularity, n_labels, T, F, func)
    if not hasattr(data, "blocks"):
        data = _Layout(data)
    if granularity != "feature" and not any(block.is_sequence for block in data.blocks):
        where = text("{X} is 2-D (samples, features)") if len(data.blocks) == 1 else \
            text("every input of {X} is 2-D")
        raise SeqimpValueError("The '{argument}' {parameter} of {function} is {got}, but {where}: there are no "
                               "timesteps to tell apart. Use {feature}, or pass {X} as (samples, timesteps, "
                               "features).", argument="granularity", function=func, got=Value(granularity),
                               where=where, feature=Keyword("granularity", "feature"))
    builder = _Builder(data)
    if granularity == "feature":
        return granularity, [Label(name, name, None, builder.columns(idx), tuple(idx))
                             for name, idx in columns.items()]
    static = {name: idx for name, idx in columns.items() if not builder.in_sequence(idx)}
    mixed = [name for name, idx in columns.items() if name not in static and len(builder.in_sequence(idx)) != len(idx)]
    if mixed:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} has groups {mixed} that mix features of "
                               "sequence inputs and of 2-D inputs, which have no timesteps; with {cell} put them in "
                               "separate groups, or use {feature}.", argument="groups", function=func,
                               mixed=Value(mixed), cell=Keyword("granularity", "cell"),
                               feature=Keyword("granularity", "feature"))
    seq_features = [j for j, (b, _) in enumerate(builder.owners) if builder.sequence[b]]
    labels = []
    for t in range(T):
        if granularity == "timestep":
            labels.append(Label(f"t{t}", None, t, builder.timestep(t), tuple(seq_features)))
            continue
        for name, idx in columns.items():
            if name in static:
                continue
            parts = builder.columns(idx, t)
            if parts:
                present = tuple(j for j in idx if data.blocks[builder.owners[j][0]].n_timesteps > t)
                labels.append(Label(f"{name}@t{t}", name, t, parts, present))
    for name, idx in columns.items():
        if name in static:
            labels.append(Label(name, name, None, builder.columns(idx), tuple(idx)))
    return granularity, labels


def feature_label(data, j):
    """The feature label of feature ``j`` (an index into ``data.feature_names``)."""
    name = data.feature_names[j]
    return Label(name, name, None, _Builder(data).columns([j]), (j,))
