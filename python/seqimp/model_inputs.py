"""Where the caller's X meets the model: every method's inputs are prepared here, once.

:func:`prepare_inputs` reads X (:func:`seqimp.inputs.as_sequence_data`), fits it to the model (a Keras
model gets its inputs' dtypes, token inputs become token blocks, :mod:`seqimp.tokens`; every other model
gets X in its own dtype, a DataFrame as a DataFrame), marks the categorical features, and finds the
padding (:func:`seqimp.masks.apply_mask`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import checks
from .adapters.keras_layers import keras_input_dtypes
from .adapters.protocol import keras_model_flavour
from .inputs import as_sequence_data, with_feature_names
from .labels import feature_index
from .masks import apply_mask
from .tokens import token_blocks


def prepare_inputs(X, feature_names, model, func, *, categorical_features=None, mask=None, mask_value=None):
    """The :class:`~seqimp.inputs.SequenceData` a method works on. For a Keras model the names are put
    on after its token inputs are known, so a token input (n, T) takes one name, not T."""
    keras = keras_model_flavour(model) is not None
    data = as_sequence_data(X, None if keras else feature_names, func=func)
    if keras:
        data = with_feature_names(token_blocks(data, model, func), feature_names, func)
    data = mark_categorical(data, categorical_features, func)
    if keras:
        data = for_keras(data, model, func)
    return apply_mask(data, model, mask, mask_value, func)


def mark_categorical(data, categorical_features, func):
    """Flag ``categorical_features`` (names or indices into ``feature_names``) as categorical, beside the
    features that are categorical anyway (non-numeric DataFrame columns, R factors, booleans)."""
    if categorical_features is None:
        return data
    if isinstance(categorical_features, (str, int, np.integer)):
        categorical_features = [categorical_features]
    if isinstance(categorical_features, (bool, np.bool_)) or not hasattr(categorical_features, "__iter__"):
        checks.fail("categorical_features", func, "a list of feature names or indices, or None",
                    categorical_features, TypeError)
    where = f"The 'categorical_features' parameter of {func}"
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


def _keras_input_dtypes(model, n_blocks):
    """The dtype of each of the Keras model's inputs (float32 where the model does not say)."""
    dtypes = keras_input_dtypes(model) or []
    if len(dtypes) != n_blocks:
        return [np.dtype(np.float32)] * n_blocks
    return [_numpy_dtype(d) for d in dtypes]


def _numpy_dtype(name):
    try:
        return np.dtype(name)
    except TypeError:  # a dtype NumPy does not know ("string"): the model's own conversion decides
        return np.dtype(np.float32)


def for_keras(data, model, func):
    """Each block in its Keras input's dtype; a DataFrame's columns as one array (Keras takes arrays).

    A non-numeric DataFrame column cannot reach a Keras model: it is refused, naming it."""
    blocks = []
    for block, dtype in zip(data.blocks, _keras_input_dtypes(model, data.n_blocks)):
        if block.tokens:
            blocks.append(block)
            continue
        if block.frame is not None:
            coded = [name for name, values in zip(block.feature_names, block.frame.values) if values is not None]
            if coded:
                raise TypeError(f"The 'X' parameter of {func} has non-numeric columns {coded}; a Keras model "
                                f"takes arrays of numbers. Encode them (e.g. as integer ids into an Embedding "
                                f"input) before the model.")
        if block.has_missing:
            raise ValueError(f"The 'X' parameter of {func} has missing values (NaN) in "
                             f"{list(block.feature_names)}; a Keras model cannot take them. Impute them first.")
        if dtype.kind != "f" and not (dtype.kind in "iu" and block.X.dtype.kind in "biu"):
            dtype = np.dtype(np.float32)  # ids the model takes as they are; anything else as float32
        X = block.X if block.X.dtype == dtype else np.ascontiguousarray(block.X, dtype=dtype)
        X.setflags(write=False)
        blocks.append(replace(block, X=X, frame=None))
    return data.with_blocks(blocks)
