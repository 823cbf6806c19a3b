"""How Olden's and Garson's methods read a dense network: :func:`dense_kernels` extracts the Dense
layers' kernels, in order, from a Keras model, and refuses with advice any layer that has no
input-to-output connection weights.
"""

from __future__ import annotations

import numpy as np

from ..errors import SeqimpTypeError, SeqimpValueError, Value
from .keras_layers import keras_input_shape
from .protocol import PREDICTIONS_ONLY, describe_model, keras_model_flavour

# Layers that carry no weights of their own at inference and leave Olden's and Garson's paths intact.
_PASS_THROUGH = ("InputLayer", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "Activation")


def _class_names(obj):
    return {k.__name__ for k in type(obj).__mro__}


def _flat_layers(model):
    """Layers in order, nested Sequential/functional models expanded."""
    out = []
    for layer in getattr(model, "layers", []):
        if "Functional" in _class_names(layer) or "Sequential" in _class_names(layer) or \
                type(layer).__name__ in ("Model", "Sequential"):
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def dense_kernels(model, *, func="seqimp"):
    """The kernels of a Keras network of Dense layers, in order, for connection-weight methods.

    Returns ``(kernels, input_shape, flattened)``: float64 arrays of shape (units_in, units_out), the
    model's declared input shape without the batch axis, and whether a Flatten turns (T, F) input into
    T*F input units (index t*F + f) before the first Dense layer. Dropout, noise, Activation and input
    layers are skipped (identity at inference; both methods ignore activations). Anything else raises.
    """
    if keras_model_flavour(model) is None:
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be a Keras model made of Dense layers "
                              "(Keras 3 or tf_keras). Got {got} instead. For any other model use {instead}.",
                              argument="model", function=func, got=describe_model(model), instead=PREDICTIONS_ONLY)
    shape = keras_input_shape(model)
    if shape is None:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be a built model with one input; this "
                               "model has no single known input shape. Build it with keras.Input(shape=...) or call "
                               "it on data first.", argument="model", function=func)
    kernels, flattened = [], False
    for layer in _flat_layers(model):
        names = _class_names(layer)
        kind = type(layer).__name__
        if kind in _PASS_THROUGH or names & set(_PASS_THROUGH):
            continue
        if kind == "Flatten" and not kernels and not flattened:
            flattened = True
            continue
        if "Dense" in names and kind not in ("EinsumDense", "QuantizedDense"):
            weights = layer.get_weights()
            if not weights:
                raise SeqimpValueError("The Dense layer {name} has no weights yet; build the model first.",
                                       argument="model", function=func, name=Value(layer.name))
            kernels.append(np.asarray(weights[0], dtype=np.float64))
            continue
        where = " after the first Dense layer" if kind == "Flatten" else ""
        raise SeqimpValueError(
            "{function} works on networks of Dense layers (with Dropout, Activation and a leading Flatten); this "
            "model has a layer {name} of type {kind}{where}. Olden's and Garson's methods read input-to-output "
            "connection weights, which recurrent, convolutional, attention and normalisation layers do not have. "
            "For this model use gradient_importance, {instead}.", argument="model", function=func,
            name=Value(layer.name), kind=kind, where=where, instead=PREDICTIONS_ONLY)
    if not kernels:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must contain at least one Dense layer; "
                               "this model has none.", argument="model", function=func)
    for a, b, layer_index in zip(kernels, kernels[1:], range(1, len(kernels))):
        if a.shape[1] != b.shape[0]:
            raise SeqimpValueError("{function} needs the Dense layers to form one chain; Dense layer {index} has "
                                   "{units} units but the next one takes {inputs} inputs.", argument="model",
                                   function=func, index=layer_index, units=int(a.shape[1]), inputs=int(b.shape[0]))
    return kernels, tuple(shape[1:]), flattened
