"""The input stage: where the caller's X meets the model, in one pass, once per call.

:func:`prepare_inputs` reads X into blocks (:func:`seqimp.inputs.read_inputs`), turns a Keras model's
token inputs into token blocks (:mod:`seqimp.tokens`), puts the feature names on once
(:func:`seqimp.inputs.name_inputs`), marks the categorical features, gives each block its Keras input's
dtype (every other model gets X in its own dtype, a DataFrame as a DataFrame), and finds the padding
(:func:`seqimp.masks.apply_mask`). What it knows of the model comes from its
:class:`~seqimp.adapters.spec.ModelSpec`, read once per call. The result is complete: nothing
after it changes a block.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import checks
from .errors import SeqimpTypeError, SeqimpValueError, Value, about, text
from .adapters.spec import model_spec
from .inputs import name_inputs, read_inputs
from .labels import feature_index
from .masks import apply_mask
from .tokens import model_positions, token_blocks


def prepare_inputs(X, feature_names, model, func, *, categorical_features=None, mask=None, mask_value=None):
    """The complete :class:`~seqimp.sequence_data.SequenceData` a method works on.

    ``model`` is the model, its predictor, or its :class:`~seqimp.adapters.spec.ModelSpec`.
    Names are put on after a Keras model's token inputs are known, so a token input (n, T) takes one
    name, not T."""
    spec = model_spec(model)
    data = name_inputs(token_blocks(read_inputs(X, func=func), spec, func), feature_names, func)
    data = mark_categorical(data, categorical_features, func)
    if spec.is_keras:
        data = for_keras(data, spec, func)
    return apply_mask(data, spec, mask, mask_value, func)


def mark_categorical(data, categorical_features, func):
    """Flag ``categorical_features`` (names or indices into ``feature_names``) as categorical, beside the
    features that are categorical anyway (non-numeric DataFrame columns, R factors, booleans)."""
    if categorical_features is None:
        return data
    if isinstance(categorical_features, (str, int, np.integer)):
        categorical_features = [categorical_features]
    if isinstance(categorical_features, (bool, np.bool_)) or not hasattr(categorical_features, "__iter__"):
        checks.fail("categorical_features", func, text("a list of feature names or indices, or {None}"),
                    categorical_features, TypeError)
    where = about("categorical_features", func)
    chosen = {feature_index(m, data.feature_names, where, data) for m in categorical_features}
    blocks, offset = [], 0
    for block in data.blocks:
        flags = block.categorical_mask.copy()
        for j in chosen:
            if offset <= j < offset + block.n_features:
                flags[j - offset] = True
        blocks.append(replace(block, categorical=tuple(bool(f) for f in flags)))
        offset += block.n_features
    return data.with_blocks(blocks)


def for_keras(data, spec, func):
    """Each block in its Keras input's dtype (float32 where the model does not say); a DataFrame's
    columns as one array (Keras takes arrays).

    A non-numeric DataFrame column cannot reach a Keras model: it is refused, naming it."""
    blocks = []
    for block, position in zip(data.blocks, model_positions(data, spec)):
        if block.tokens:
            blocks.append(block)
            continue
        if block.frame is not None:
            coded = [name for name, values in zip(block.feature_names, block.frame.values) if values is not None]
            if coded:
                raise SeqimpTypeError("The '{argument}' {parameter} of {function} has non-numeric columns {coded}; a "
                                      "Keras model takes arrays of numbers. Encode them (e.g. as integer ids into "
                                      "an Embedding input) before the model.", argument="X", function=func,
                                      coded=Value(coded))
        if block.has_missing:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} has missing values (NaN) in {names}; "
                                   "a Keras model cannot take them. Impute them first.", argument="X", function=func,
                                   names=Value(list(block.feature_names)))
        dtype = spec.input_dtype(position)
        if dtype.kind != "f" and not (dtype.kind in "iu" and block.X.dtype.kind in "biu"):
            dtype = np.dtype(np.float32)  # ids the model takes as they are; anything else as float32
        X = block.X if block.X.dtype == dtype else np.ascontiguousarray(block.X, dtype=dtype)
        X.setflags(write=False)
        blocks.append(replace(block, X=X, frame=None))
    return data.with_blocks(blocks)
