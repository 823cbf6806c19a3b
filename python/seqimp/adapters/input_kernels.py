"""Which layers read a Keras model's inputs, and whether they read them linearly (improved stepwise 1).

Improved stepwise selection 1 (Gevrey et al. 2003) removes an input's connection weights: the rows of
the first layer's kernel that the input feeds. For a layer that reads its input only through a kernel
product (``x @ W`` in Dense, Conv1D and the input half of a recurrent cell), zeroing the rows of feature
j gives exactly the output of feeding x_j = 0, on every sample and step. So the method is computed by
feeding 0, which reuses the compiled forward pass, after this module has checked, layer by layer from
the model's inputs, that nothing between an input and its kernels reads the values otherwise.
"""

from __future__ import annotations

from ..errors import Keyword, SeqimpTypeError, SeqimpValueError, text
from .protocol import keras_model_flavour

# Layers that read their input through a kernel product only (the input enters as x @ W).
_KERNEL_READERS = ("Dense", "EinsumDense", "Conv1D", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
                   "ConvLSTM1D")
# Layers that move, copy or drop values without reading them (identities at inference), so a 0 fed to
# a feature reaches the kernel as a 0 in the same cells.
_PASS_THROUGH = ("InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
                 "AlphaDropout", "ActivityRegularization", "Identity", "Flatten", "Reshape", "Permute",
                 "Concatenate")
_RNN_CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell")


def _class_names(layer):
    return {k.__name__ for k in type(layer).__mro__}


def _listed(tensors):
    if tensors is None:
        return []
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _reads_linearly(layer):
    """True for a layer whose output depends on its input only through ``x @ kernel``."""
    names = _class_names(layer)
    if names & set(_KERNEL_READERS):
        return True
    if "RNN" in names:  # keras.layers.RNN over a built-in cell
        return bool(_class_names(getattr(layer, "cell", None)) & set(_RNN_CELLS))
    if "TimeDistributed" in names:
        return _reads_linearly(getattr(layer, "layer", None))
    return False


def _masking_problem(layer):
    """Masking passes values through, but a step whose every feature equals ``mask_value`` is padding:
    with mask_value 0, a step whose features are all fed 0 turns into padding, which removing weights
    never does."""
    value = float(getattr(layer, "mask_value", 0.0))
    if value == 0.0:
        return text("its Masking layer {layer} has {zero}, so a step whose features are all fed 0 would read as "
                    "padding, which removing connection weights never does", layer=repr(layer.name),
                    zero=Keyword("mask_value", 0))
    return None


def input_readers(model):
    """(layer, how) for every layer that reads the model's inputs before a kernel does: how is "kernel",
    "pass" or "other". Keras 3 and tf_keras functional and Sequential models."""
    reached = {id(t) for t in _listed(getattr(model, "inputs", None))}
    found = []
    for layer in getattr(model, "layers", []):
        for node in getattr(layer, "_inbound_nodes", []) or []:
            if not any(id(t) in reached for t in _listed(getattr(node, "input_tensors", None))):
                continue
            names = _class_names(layer)
            if _reads_linearly(layer):
                found.append((layer, "kernel"))
            elif names & set(_PASS_THROUGH) or "Masking" in names:
                found.append((layer, "pass"))
                reached |= {id(t) for t in _listed(getattr(node, "output_tensors", None))}
            else:
                found.append((layer, "other"))
    return found


def check_inputs_read_linearly(model, func):
    """Raise a clear error unless feeding a feature 0 equals removing its first-layer connection weights.

    Needs a Keras model. Every layer that reads an input (after pass-through layers such as Dropout,
    Flatten or Concatenate) must read it through a kernel product: Dense, Conv1D, SimpleRNN, LSTM, GRU
    (also in Bidirectional or TimeDistributed). A Masking layer with mask_value 0 is refused.
    """
    fix = text("Use {variant2} (each input held at its mean), which works for any model.",
               variant2=Keyword("variant", 2))
    variant1 = Keyword("variant", 1)
    if keras_model_flavour(model) is None:
        raise SeqimpTypeError("{function} with {variant1} removes the connection weights of an input, so the model "
                              "must be a Keras model whose first layers read the input through a kernel (Dense, "
                              "Conv1D, LSTM, GRU, SimpleRNN). Got {kind}. {fix}", argument="model", function=func,
                              variant1=variant1, kind=type(model).__name__, fix=fix)
    readers = input_readers(model)
    if not readers:
        raise SeqimpValueError("{function} with {variant1} could not find the layers that read this model's inputs "
                               "(a subclassed model has no layer graph to read). {fix}", argument="model",
                               function=func, variant1=variant1, fix=fix)
    for layer, how in readers:
        problem = None
        if how == "other":
            problem = text("the layer {layer} ({kind}) reads the input, and it is not a kernel product (Dense, "
                           "Conv1D, LSTM, GRU, SimpleRNN), so removing the weights of the first layer with a "
                           "kernel is not the same as feeding the input 0", layer=repr(layer.name),
                           kind=type(layer).__name__)
        elif "Masking" in _class_names(layer):
            problem = _masking_problem(layer)
        if problem is not None:
            raise SeqimpValueError("{function} with {variant1} removes an input's connection weights by feeding it "
                                   "0, which is exact only where the first layer is linear in the input; here "
                                   "{problem}. {fix}", argument="model", function=func, variant1=variant1,
                                   problem=problem, fix=fix)
