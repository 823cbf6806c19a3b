"""Padded sequences: which steps of each sequence input are real, and where that was learnt.

Every method takes ``mask=`` and ``mask_value=``; the input stage (:mod:`seqimp.model_inputs`) calls
:func:`apply_mask` once, last, before labels are made:

- ``mask=None`` (default): automatic. A Keras model with a ``Masking`` layer (its ``mask_value``) or an
  ``Embedding(mask_zero=True)`` says what padding is (for the Embedding's token input, a step is real
  where its id is not 0); any other model has none.
- ``mask_value=<number>``: for any model, a step is padding where every feature of that input equals
  the number (a dict or list keyed like X gives one per input).
- ``mask=<bool array (n, T)>``: True for a real step. For several sequence inputs a dict or list keyed
  like X (None for an input without padding); one array when there is one sequence input.
- ``mask=False``: no mask, whatever the model says.

Under a mask no transform changes a padded cell (the engine restores them), statistics use real cells
only (:meth:`seqimp.inputs.Block.real_values`), resampling moves real values only, and gradients
attribute nothing to padding. ``data.mask_source`` says where the mask came from, for the result.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from . import checks
from .errors import Keyword, Position, SeqimpTypeError, SeqimpValueError, Shape, Value, Words, text
from .adapters.spec import model_spec
from .inputs import entries_by_input


def check_mask_arguments(mask, mask_value, func):
    """Refuse ``mask`` with ``mask_value`` and wrong types, before any work is done."""
    given_mask = mask is not None and mask is not False
    if given_mask and mask_value is not None:
        raise SeqimpValueError("The 'mask' and 'mask_value' {parameters} of {function} cannot be used together: "
                               "'mask' gives the real steps, 'mask_value' says how to find them. Got both; pass "
                               "one.", argument="mask", function=func)
    if mask is True:
        checks.fail("mask", func, text("{None} (automatic), {False} (off), or a boolean array (samples, timesteps) "
                                       "with {True} for a real step (a dict or list keyed like {X} for several "
                                       "inputs)"), mask, TypeError)
    if mask_value is not None and not isinstance(mask_value, (Mapping, list, tuple)):
        _number(mask_value, "mask_value", func)


def _number(value, name, func):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        checks.fail(name, func, text("a finite number (a step is padding where every feature of that input "
                                     "equals it), a dict or list of them keyed like {X}, or {None}"), value, TypeError)
    return float(value)


def _per_input(value, data, name, func):
    """One entry per block from a value for all, a dict keyed like X or a list in X's order."""
    keys = list(data.input_names)
    if isinstance(value, Mapping):
        if data.structure != "dict":
            checks.fail(name, func, text("one value or array for {X}'s {n} inputs, given as a list in {X}'s order",
                                         n=len(keys)), value, TypeError)
        return entries_by_input(value, keys, name, func)
    if isinstance(value, (list, tuple)) and not data.is_single:
        if len(value) != len(keys):
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must have one entry per input of {X} "
                                   "({expected}); got {got}.", argument=name, function=func, expected=len(keys),
                                   got=len(value))
        return list(value)
    return None


def _in_dtype(value, block):
    """``value`` as the block holds it: a float block's own rounding (0.1 in float32 is not 0.1 in
    float64), an integer block's exact value."""
    return block.X.dtype.type(value) if block.X.dtype.kind == "f" else value


def _from_values(data, mask_value, func):
    per = _per_input(mask_value, data, "mask_value", func)
    if per is None:
        per = [mask_value if block.is_sequence or data.is_single else None for block in data.blocks]
    masks = []
    for block, value in zip(data.blocks, per):
        if value is None:
            masks.append(None)
            continue
        value = _number(value, "mask_value", func)
        if not block.is_sequence:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} applies to sequence inputs; {which} is "
                                   "2-D (samples, features) and has no timesteps.", argument="mask_value",
                                   function=func, which=_which(data, block))
        masks.append(~(block.X == _in_dtype(value, block)).all(axis=2))
    shown = mask_value if not isinstance(mask_value, (Mapping, list, tuple)) else per
    return masks, f"mask_value={shown!r}"


def _which(data, block):
    return text("{X}") if data.is_single else text("input {name}", name=Value(block.name))


def _from_arrays(data, mask, func):
    per = _per_input(mask, data, "mask", func)
    if per is None:
        sequences = [b for b, block in enumerate(data.blocks) if block.is_sequence or data.is_single]
        if len(sequences) != 1:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {a_dict} or list keyed like "
                                   "{X}, with one (samples, timesteps) array per sequence input, when {X} has {n} "
                                   "sequence inputs. Got one array instead.", argument="mask", function=func,
                                   n=len(sequences))
        per = [mask if b == sequences[0] else None for b in range(len(data.blocks))]
    masks = []
    for block, given in zip(data.blocks, per):
        masks.append(None if given is None else _mask_array(given, data, block, func))
    return masks, "mask argument"


def _mask_array(given, data, block, func):
    array = np.asarray(given.to_numpy() if hasattr(given, "to_numpy") else given)
    expected = (block.X.shape[0], block.n_timesteps)
    where = "" if data.is_single else text(" for input {name}", name=Value(block.name))
    if not block.is_sequence and not data.is_single:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} applies to sequence inputs; input {name} "
                               "is 2-D (samples, features) and has no timesteps. Give it {None}.", argument="mask",
                               function=func, name=Value(block.name))
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all():
            raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be boolean ({True} for a real "
                                  "step){where}; got an array of dtype {dtype}.", argument="mask", function=func,
                                  where=where, dtype=str(array.dtype))
        array = array.astype(bool)
    if array.shape != expected:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must have {shape} (samples, timesteps) = "
                               "{expected}{where}, one entry per step, {True} for a real step. Got {got} instead.",
                               argument="mask", function=func, shape=Words("shape", "dims"),
                               expected=Shape(expected, worded=False), where=where, got=Shape(array.shape))
    return array


def _from_model(data, spec, func):
    """The masks a Keras model's Masking or Embedding(mask_zero=True) layers imply (``spec.padding``);
    (None, "none") for none."""
    found = spec.padding
    if not found:
        return None, "none"
    masks = [None] * len(data.blocks)
    described = []
    for position, value, layer, shape in found:
        if position is None:
            position = _only_sequence_input(data, shape, layer, func)
        block = data.blocks[position]
        if "Embedding" in layer and not block.is_sequence:
            raise SeqimpValueError("{function}: the model's {layer} reads {which} as token ids, but {X} there has "
                                   "{shape}, not (samples, timesteps) of ids. Pass the ids as a 2-D array, or {off} "
                                   "to explain the model without a mask.", argument="X", function=func, layer=layer,
                                   which=_which(data, block), shape=Shape(block.input_shape),
                                   off=Keyword("mask", False))
        if not block.is_sequence:
            continue
        # A token block's (n, T, 1) ids: real where the id is not 0 (Embedding(mask_zero=True)).
        masks[position] = ~(block.X == _in_dtype(value, block)).all(axis=2)
        described.append(f"{layer} (mask_value={value!r})")
    return masks, ("model: " + ", ".join(described)) if described else "none"


def _only_sequence_input(data, shape, layer, func):
    """The input a padding layer that reads no model input directly applies to: the one sequence input
    of X whose (T, F) is what the layer reads. Anything else is refused, not guessed."""
    sequences = [b for b, block in enumerate(data.blocks) if block.is_sequence]
    fits = [b for b in sequences if shape is None or tuple(shape[1:]) == tuple(data.blocks[b].input_shape[1:])]
    if len(fits) != 1:
        raise SeqimpValueError("{function}: the model's {layer} defines padding, but seqimp cannot tell which of "
                               "{X}'s inputs it applies to (it does not read a model input directly). Pass {value} "
                               "or {mask}, or {off} to ignore it.", argument="mask", function=func, layer=layer,
                               value=Keyword("mask_value"), mask=Keyword("mask"), off=Keyword("mask", False))
    return fits[0]


def apply_mask(data, model, mask, mask_value, func):
    """``data`` with each sequence block's mask of real steps set, and ``mask_source`` saying from where.
    ``model`` is the model or its :class:`~seqimp.adapters.spec.ModelSpec` (read for padding layers
    only when neither ``mask`` nor ``mask_value`` is given)."""
    check_mask_arguments(mask, mask_value, func)
    if mask is False:
        return data.with_blocks(data.blocks, mask_source="off (mask=False)")
    if mask is not None:
        masks, source = _from_arrays(data, mask, func)
    elif mask_value is not None:
        masks, source = _from_values(data, mask_value, func)
    else:
        masks, source = _from_model(data, model_spec(model), func)
        if masks is None:
            return data
    blocks = []
    for block, real in zip(data.blocks, masks):
        if real is not None:
            _check_some_real(real, data, block, source, func)
            if real.all():
                real = None  # nothing is padding: the fast path, and the source still says where
            else:
                real = np.ascontiguousarray(real)
                real.setflags(write=False)
        blocks.append(block if real is None and block.mask is None else _with_mask(block, real))
    return data.with_blocks(blocks, mask_source=source)


def _with_mask(block, real):
    return replace(block, mask=real)


def _check_some_real(real, data, block, source, func):
    empty = np.flatnonzero(~real.any(axis=1))
    if empty.size:
        raise SeqimpValueError("{function}: sample {sample} of {which} has no real step (every step is padding by "
                               "the {source}; {n} samples in all). Drop such samples, or check the mask.",
                               argument="X", function=func, sample=Position(empty[0]), which=_which(data, block),
                               source=source, n=int(empty.size))


def real_sample_counts(data, labels):
    """Per label, how many samples have at least one real cell among the label's cells; None without a
    mask. For a timestep (or cell) label this is the number of samples real at that step."""
    if not data.has_mask:
        return None
    n = data.n_samples
    counts = np.empty(len(labels), dtype=np.int64)
    for j, label in enumerate(labels):
        real = np.zeros(n, dtype=bool)
        for b, cells in label.parts:
            block_mask = data.blocks[b].mask
            if block_mask is None:
                real[:] = True
                break
            real |= block_mask[:, cells.any(axis=1)].any(axis=1)
        counts[j] = int(real.sum())
    return counts


def mask_extra(data, labels):
    """The ``extra`` entries a result gets under a mask: ``n_real_samples`` per label."""
    counts = real_sample_counts(data, labels)
    return {} if counts is None else {"n_real_samples": counts}
