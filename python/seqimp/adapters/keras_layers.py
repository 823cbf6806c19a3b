"""Reading a Keras model without running it: its layers, its declared input shape, whether it is
recurrent, which Keras package and backend it belongs to. Shared by the forward, gradient, dense-kernel
and refit rooms; keras itself is imported only inside :func:`keras_module` and :func:`keras_backend`.
"""

from __future__ import annotations

from ..errors import Element, SeqimpValueError, Shape, Value, Words, text

_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D")


def walk_layers(model):
    """Every layer of ``model`` once, nested models and wrapped layers (Bidirectional, RNN cells) too."""
    stack, seen = [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "layers", []) or [])
        for attr in ("layer", "forward_layer", "backward_layer", "cell"):
            inner = getattr(layer, attr, None)
            if inner is not None and hasattr(inner, "get_config"):
                stack.append(inner)


def has_recurrent_layer(model):
    return any(k.__name__ in _RECURRENT for layer in walk_layers(model) for k in type(layer).__mro__)


def stateful_layers(model):
    """The names of ``model``'s stateful recurrent layers (``stateful=True``), in model order."""
    names = [layer.name for layer in walk_layers(model) if getattr(layer, "stateful", False) is True]
    return list(dict.fromkeys(names))


_STATELESS_PY = ('stateless = keras.models.clone_model(model, clone_function=lambda layer: type(layer).from_config('
                 '{**layer.get_config(), "stateful": False} if getattr(layer, "stateful", False) else '
                 'layer.get_config())); stateless.set_weights(model.get_weights())')
_STATELESS_R = ('stateless <- keras$models$clone_model(model, clone_function = function(layer) { config <- '
                'layer$get_config(); if (isTRUE(config$stateful)) config$stateful <- FALSE; '
                'layer$`__class__`$from_config(config) }); stateless$set_weights(model$get_weights())')


def check_stateless(model):
    """Refuse a model (or its :class:`~seqimp.adapters.spec.ModelSpec`) with stateful recurrent layers,
    saying why and giving the line that makes a stateless copy, in the caller's language."""
    names = list(model.stateful) if hasattr(model, "stateful") and hasattr(model, "kind") else \
        stateful_layers(model)
    if not names:
        return
    raise SeqimpValueError("The model's recurrent layers {names} are stateful (stateful=True): each batch starts "
                           "from the state the last one left, so the importances would depend on the chunking, "
                           "the batch size and earlier calls. seqimp never carries state between chunks; "
                           "explain a stateless copy with the same weights, which starts every sequence from a "
                           "zero state:\n    {recipe}", names=Value(names),
                           recipe=Words(_STATELESS_PY, _STATELESS_R))


def is_r_function(value):
    """True for a Python callable that reticulate made from an R function: calling it runs R code,
    which R allows on its main thread only (reticulate's ``rpytools`` wraps every such function)."""
    return callable(value) and str(getattr(value, "__module__", None) or "").startswith("rpytools")


def r_code_layers(model):
    """The names of ``model``'s layers (the model itself included) that run R code: an R function in a
    Lambda layer, or a layer class defined from R (``reticulate::PyClass``, ``%py_class%``) whose
    methods are R functions."""
    found = []
    for layer in walk_layers(model):
        values = list(getattr(layer, "__dict__", {}).values())
        for klass in type(layer).__mro__:
            module = str(getattr(klass, "__module__", None) or "")
            if module.startswith(("keras", "tf_keras", "tensorflow", "builtins", "abc")):
                continue
            values.extend(vars(klass).values())
        if any(is_r_function(v) for v in values):
            found.append(getattr(layer, "name", type(layer).__name__))
    return found


def keras_input_shape(model):
    """The model's declared input shape, e.g. (None, 10, 3), or None where it is not known."""
    try:
        shape = model.input_shape
    except Exception:  # noqa: BLE001 - unbuilt or multi-input models simply have no single shape
        return None
    if isinstance(shape, list):
        return None
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return shape
    return None


def check_keras_input_shape(model, input_shape):
    """Raise a ValueError naming both shapes when X of ``input_shape`` cannot feed ``model``'s input."""
    check_declared_shape(keras_input_shape(model), input_shape)


def check_declared_shape(expected, input_shape):
    """Raise a ValueError naming both shapes when X of ``input_shape`` cannot feed an input declared as
    ``expected`` (None: not declared, anything goes)."""
    if expected is None:
        return
    got = (None,) + tuple(input_shape[1:])
    if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
        raise SeqimpValueError("The model expects input of {expected}, but {X} has {got}. Pass {X} with the model's "
                               "timesteps and features.", argument="X", expected=Shape(expected),
                               got=Shape(tuple(input_shape)))


def keras_module(flavour):
    """The imported ``keras`` (Keras 3) or ``tf_keras`` package for a model of ``flavour``."""
    if flavour == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def keras_backend():
    """The active Keras 3 backend's name: 'tensorflow', 'jax', 'torch' or 'numpy'."""
    import keras

    return keras.backend.backend()


def keras_input_names(model):
    """The names of the model's inputs, in its input order, or None where it does not say."""
    names = getattr(model, "input_names", None)  # tf_keras
    if isinstance(names, (list, tuple)) and names:
        return [str(n) for n in names]
    try:
        inputs = model.inputs
    except Exception:  # noqa: BLE001 - an unbuilt or subclassed model has no inputs yet
        return None
    return [str(getattr(t, "name", "")) for t in inputs] if inputs else None


def keras_input_shapes(model):
    """The declared shape of each input, in the model's input order, or None where unknown."""
    try:
        shape = model.input_shape
    except Exception:  # noqa: BLE001
        return None
    if isinstance(shape, dict):
        names = keras_input_names(model) or list(shape)
        shape = [shape[n] for n in names if n in shape]
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        shape = [shape]
    if not isinstance(shape, list) or not all(isinstance(s, tuple) for s in shape):
        return None
    return [tuple(s) for s in shape]


def takes_dict(model):
    """True when the model was built on a dict of inputs (and is best called with one)."""
    try:
        return isinstance(model.input, dict)
    except Exception:  # noqa: BLE001
        return False


def check_keras_inputs(spec, shapes, structure, names):
    """Match X's inputs to a multi-input model's (described by its ``spec``, a
    :class:`~seqimp.adapters.spec.ModelSpec`): the positions of X's blocks in the model's input
    order. ``shapes`` are X's input shapes, ``structure`` "list" or "dict", ``names`` the dict's keys.
    Raises a ValueError naming 'X' for a wrong number of inputs, keys that do not match the model's
    input names (the missing and the extra ones), or a shape the model does not take."""
    model_names = None if spec.input_names is None else list(spec.input_names)
    declared = None if spec.input_shapes is None else list(spec.input_shapes)
    n_model = len(declared) if declared is not None else (len(model_names) if model_names else None)
    if n_model is not None and n_model != len(shapes):
        if structure == "list" and len(shapes) > n_model and len({tuple(s) for s in shapes}) == 1:
            shape = tuple(shapes[0])
            raise SeqimpValueError("The model takes {n} input{s}, but {X} is a list of {k} arrays of {shape}: one per "
                                   "sample? Pass np.stack({X}), of {stacked}.", argument="X", n=n_model,
                                   s="s" if n_model > 1 else "", k=len(shapes), shape=Shape(shape),
                                   stacked=Shape((len(shapes),) + shape))
        raise SeqimpValueError("The model takes {n} inputs {names}, but {X} has {got}. Pass {X} as a list in the "
                               "model's input order or {a_dict} keyed by its input names.", argument="X", n=n_model,
                               names=Value(model_names) if model_names else "", got=len(shapes))
    order = list(range(len(shapes)))
    if structure == "dict" and model_names is not None:
        missing = [n for n in model_names if n not in names]
        extra = [k for k in names if k not in model_names]
        if missing or extra:
            raise SeqimpValueError("The '{argument}' {parameter} must be keyed by the model's input names {names}: {X} "
                                   "lacks {missing} and has extra keys {extra}.", argument="X",
                                   names=Value(model_names), missing=Value(missing), extra=Value(extra))
        order = [list(names).index(n) for n in model_names]
    if declared is not None:
        for position, expected in zip(order, declared):
            got = (None,) + tuple(shapes[position][1:])
            which = Element("X", names[position]) if structure == "dict" else \
                text("input {n} of {X}", n=position + 1)
            if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
                raise SeqimpValueError("The model's input {name} expects {expected}, but {which} has {got}.",
                                       argument="X", name=model_names[order.index(position)] if model_names else "",
                                       expected=Shape(expected), which=which, got=Shape(tuple(shapes[position])))
    return order


def keras_padding(model):
    """What padding a Keras model declares: ``(input position or None, mask_value, layer, input shape)``
    for every ``Masking`` layer and ``Embedding(mask_zero=True)``. The position is that of the model input
    the layer reads directly, None where it reads another layer's output (whose shape is given)."""
    inputs = []
    try:
        inputs = list(model.inputs or [])
    except Exception:  # noqa: BLE001
        pass
    names = keras_input_names(model) or []
    found = []
    for layer in walk_layers(model):
        kinds = {k.__name__ for k in type(layer).__mro__}
        if "Masking" in kinds:
            found.append(_read_position(layer, inputs, names) + (float(layer.mask_value),
                                                                  f"Masking layer {layer.name!r}"))
        elif "Embedding" in kinds and getattr(layer, "mask_zero", False):
            found.append(_read_position(layer, inputs, names) + (0.0, f"Embedding layer {layer.name!r} "
                                                                      f"(mask_zero=True)"))
    return [(position, value, what, shape) for position, shape, value, what in found]


def _read_position(layer, inputs, names):
    """(position of the model input ``layer`` reads, or None; the shape of what it reads, or None)."""
    try:
        tensor = layer.input
    except Exception:  # noqa: BLE001 - a layer used more than once, or never called
        return None, None
    shape = getattr(tensor, "shape", None)
    shape = tuple(None if d is None else int(d) for d in shape) if shape is not None else None
    for i, t in enumerate(inputs):
        if t is tensor:
            return i, shape
    name = getattr(tensor, "name", None)
    if name in names and names.count(name) == 1 and len(names) > 1:
        return names.index(name), shape
    return None, shape


def is_embedding(layer):
    return any(k.__name__ == "Embedding" for k in type(layer).__mro__)


def embedding_readers(model):
    """``(model input position, Embedding layer)`` for every ``Embedding`` that reads a model input
    directly (Keras 3 and tf_keras; Sequential and functional). An Embedding that reads another layer's
    output, or sits in a nested model, is not listed. A Sequential model whose inputs are not known yet
    (built without ``Input``) counts its first layer, if that is an Embedding, as reading input 0."""
    try:
        inputs = list(model.inputs or [])
    except Exception:  # noqa: BLE001 - an unbuilt model has no inputs yet
        inputs = []
    names = keras_input_names(model) or []
    found = []
    for layer in walk_layers(model):
        if layer is model or not is_embedding(layer):
            continue
        position, _ = _read_position(layer, inputs, names) if inputs else (None, None)
        if position is not None:
            found.append((position, layer))
    layers = list(getattr(model, "layers", []) or [])
    sequential = type(model).__name__ == "Sequential"
    if not inputs and not found and sequential and layers and is_embedding(layers[0]):
        found.append((0, layers[0]))
    return found


def keras_input_dtypes(model):
    """The dtype name of each of the model's inputs ("float32", "int32", ...), in its input order; None
    where the model does not say."""
    try:
        inputs = list(model.inputs or [])
    except Exception:  # noqa: BLE001
        return None
    if not inputs:
        return None
    return [str(getattr(t.dtype, "name", t.dtype)) for t in inputs]
