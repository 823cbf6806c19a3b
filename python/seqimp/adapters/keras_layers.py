"""Reading a Keras model without running it: its layers, its declared input shape, whether it is
recurrent, which Keras package and backend it belongs to. Shared by the forward, gradient, dense-kernel
and refit rooms; keras itself is imported only inside :func:`keras_module` and :func:`keras_backend`.
"""

from __future__ import annotations

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
    expected = keras_input_shape(model)
    if expected is None:
        return
    got = (None,) + tuple(input_shape[1:])
    if len(expected) != len(got) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
        raise ValueError(f"The model expects input of shape {expected}, but X has shape "
                         f"{tuple(input_shape)}. Pass X with the model's timesteps and features.")


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
