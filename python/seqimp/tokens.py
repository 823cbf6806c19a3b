"""Token inputs: a Keras model's integer input that feeds an ``Embedding``.

:func:`token_blocks` turns such an input's 2-D block (n, T) of token ids into one categorical feature
over T timesteps (a block with ``tokens=True``, stored as (n, T, 1)); every other block is returned as
it is.

A model input is a token input when it is integer-typed (``keras.Input(..., dtype="int32")``) or an
``Embedding`` layer reads it directly. Its X must be 2-D (samples, timesteps) and hold whole numbers:
integers, or floats that are all integral (R passes doubles), which are cast to the input's integer
dtype (int32 for a float-typed input). Ids outside an Embedding's vocabulary are refused, naming X:
Keras would fail on them on a CPU and silently read zeros on a GPU.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import Element, Positions, SeqimpValueError, Value, argument_name, text

# Token ids reach a compiled Keras function as float32 (seqimp's transport), which is exact up to 2**24.
MAX_TOKEN_ID = 2**24


def token_blocks(data, spec, func):
    """``data`` with every token input of the Keras model described by ``spec`` (a
    :class:`~seqimp.adapters.spec.ModelSpec`) as a token block; names are put on after this."""
    if not spec.is_keras:
        return data
    positions = model_positions(data, spec)
    blocks, changed = [], False
    for b, block in enumerate(data.blocks):
        m = positions[b]
        layers = spec.embeddings_of(m) if m is not None else []
        dtype = spec.input_dtype(m, default=None)
        integer_input = dtype is not None and dtype.kind in "iu"
        if block.tokens or not (layers or integer_input) or not _token_shaped(block):
            blocks.append(block)
            continue
        blocks.append(_as_tokens(block, data, layers, dtype if integer_input else np.dtype(np.int32), func))
        changed = True
    return data.with_blocks(blocks) if changed else data


def model_positions(data, spec):
    """The model input each block feeds (its position in the model's input order), or None."""
    if data.structure == "array":
        return [0]
    if data.structure == "list":
        return list(range(data.n_blocks))
    names = list(spec.input_names or [])
    return [names.index(b.name) if b.name in names else None for b in data.blocks]


def _token_shaped(block):
    """A 2-D block (samples, timesteps) of numbers (a DataFrame of numeric columns too)."""
    if block.input_ndim != 2 or block.X.shape[1] != 1:
        return False
    if block.frame is not None and any(v is not None for v in block.frame.values):
        return False  # non-numeric columns: refused for Keras by seqimp.model_inputs.for_keras
    return block.X.dtype.kind in "biuf"


def _where(data, block):
    return argument_name("X") if data.is_single else Element("X", block.name)


def _as_tokens(block, data, layers, dtype, func):
    """``block`` (n, 1, T) as a token block: ids (n, T, 1) in ``dtype``, one categorical feature."""
    ids = block.X[:, 0, :]
    where = _where(data, block)
    fed = text("the model's Embedding layer {name}", name=Value(layers[0].name)) if layers else \
        "an integer input of the model"
    if ids.dtype.kind == "f":
        fractional = np.argwhere(ids != np.round(ids))
        if fractional.size:
            raise SeqimpValueError("The '{argument}' {parameter} of {function}: {where} feeds {fed}, so it must hold "
                                   "token ids (whole numbers), but it has {n} non-integer values, the first {value} at "
                                   "index {at}. Pass the ids themselves.", argument="X", function=func, where=where,
                                   fed=fed, n=len(fractional), value=ids[tuple(fractional[0])],
                                   at=Positions(fractional[0]))
    low, high = (ids.min(), ids.max()) if ids.size else (0, 0)
    vocab = min([int(layer.input_dim) for layer in layers if getattr(layer, "input_dim", None)]
                or [MAX_TOKEN_ID])
    if low < 0 or high >= min(vocab, MAX_TOKEN_ID, np.iinfo(dtype).max + 1):
        raise SeqimpValueError("The '{argument}' {parameter} of {function}: {where} feeds {fed}, so it must hold token "
                               "ids in 0..{top}; got ids from {low} to {high}.", argument="X", function=func,
                               where=where, fed=fed, top=min(vocab, MAX_TOKEN_ID) - 1, low=Value(low),
                               high=Value(high))
    X = np.ascontiguousarray(ids.astype(dtype, copy=False)).reshape(ids.shape[0], ids.shape[1], 1)
    X.setflags(write=False)
    names = block.feature_names
    name = names[0] if len(names) == 1 else block.name if block.name is not None else "tokens"
    return replace(block, X=X, feature_names=(str(name),), categorical=(True,), frame=None, tokens=True)
