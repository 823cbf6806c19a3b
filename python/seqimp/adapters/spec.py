"""The model read once: :func:`model_spec` describes what a call needs to know about its model.

One :class:`ModelSpec` is built per call, before X is read, and handed to the input stage (dtypes, token
inputs), the masks (padding layers), the predictor (input names and shapes, output shape, backend, the
recurrent chain the prefix cache resumes) and, through the predictor, the engine. Nothing after it asks
the model again. For anything that is not a Keras model the spec says only what kind of model it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .keras_layers import (embedding_readers, has_recurrent_layer, keras_backend, keras_input_dtypes,
                           keras_input_names, keras_input_shape, keras_input_shapes, keras_padding, r_code_layers,
                           stateful_layers, takes_dict)
from .protocol import Predictor, keras_model_flavour


@dataclass(frozen=True)
class ModelSpec:
    """What a call knows about its model, read once.

    ``kind`` is "keras" (Keras 3), "tf_keras", or "other" (a callable, an object with ``.predict``, an
    R model, any seqimp predictor). For Keras models: ``backend`` (Keras 3's backend, "tensorflow" for
    tf_keras), the inputs' ``input_names``, declared ``input_shapes`` (batch axis None) and
    ``input_dtypes`` (NumPy dtypes; None where the model does not say), ``input_shape`` (the one
    declared shape of a single-input model, else None), ``takes_dict`` (built on a dict of inputs),
    ``embeddings`` (``(model input position, Embedding layer)`` for every Embedding that reads an input
    directly), ``padding`` (``(input position or None, mask value, layer in words, shape it reads)`` per
    Masking layer and ``Embedding(mask_zero=True)``), ``recurrent`` (some layer is recurrent),
    ``prefix_plan`` (the recurrent chain the prefix cache can resume, or None), ``output_shape``
    (declared, without the batch axis, or None), ``r_code`` (the names of layers that run R code: an R
    function in a Lambda, a layer class defined from R) and ``stateful`` (the names of stateful
    recurrent layers).
    """

    kind: str = "other"
    backend: Optional[str] = None
    input_names: Optional[tuple] = None
    input_shapes: Optional[tuple] = None
    input_dtypes: Optional[tuple] = None
    input_shape: Optional[tuple] = None
    takes_dict: bool = False
    embeddings: tuple = field(default=(), repr=False)
    padding: tuple = ()
    recurrent: bool = False
    prefix_plan: object = field(default=None, repr=False)
    output_shape: Optional[tuple] = None
    r_code: tuple = ()
    stateful: tuple = ()

    @property
    def is_keras(self):
        return self.kind in ("keras", "tf_keras")

    @property
    def flavour(self):
        """'keras' or 'tf_keras' for a Keras model, else None."""
        return self.kind if self.is_keras else None

    def input_dtype(self, position, default=np.dtype(np.float32)):
        """The NumPy dtype of model input ``position``: ``default`` where unknown or not a NumPy dtype
        ("string": the model's own conversion decides)."""
        if self.input_dtypes is None or position is None or position >= len(self.input_dtypes):
            return default
        dtype = self.input_dtypes[position]
        return default if dtype is None else dtype

    def embeddings_of(self, position):
        """The Embedding layers that read model input ``position`` directly."""
        return [layer for m, layer in self.embeddings if m == position]


OTHER = ModelSpec()


def _numpy_dtype(name):
    try:
        return np.dtype(name)
    except TypeError:  # a dtype NumPy does not know ("string"): the model's own conversion decides
        return None


def _declared_output_shape(model):
    try:
        declared = model.output_shape
    except Exception:  # noqa: BLE001 - subclassed or unbuilt models declare none
        return None
    if isinstance(declared, list) and len(declared) == 1:
        declared = declared[0]
    if isinstance(declared, tuple) and len(declared) >= 1 and all(isinstance(d, int) for d in declared[1:]):
        return tuple(declared[1:])
    return None


def model_spec(model):
    """The :class:`ModelSpec` of ``model``: a Keras model is read here, once; a seqimp predictor gives
    the spec it was built with; anything else is "other"."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, Predictor) or hasattr(model, "innermost"):
        return getattr(model.innermost(), "spec", OTHER)
    flavour = keras_model_flavour(model)
    if flavour is None:
        return OTHER
    from .keras_prefix import prefix_plan  # noqa: WPS433 - keras is imported: the model is a Keras one

    dtypes = keras_input_dtypes(model)
    shapes = keras_input_shapes(model)
    names = keras_input_names(model)
    return ModelSpec(
        kind=flavour, backend=keras_backend() if flavour == "keras" else "tensorflow",
        input_names=None if names is None else tuple(names),
        input_shapes=None if shapes is None else tuple(shapes),
        input_dtypes=None if dtypes is None else tuple(_numpy_dtype(d) for d in dtypes),
        input_shape=keras_input_shape(model), takes_dict=takes_dict(model),
        embeddings=tuple(embedding_readers(model)), padding=tuple(keras_padding(model)),
        recurrent=has_recurrent_layer(model), prefix_plan=prefix_plan(model),
        output_shape=_declared_output_shape(model), r_code=tuple(r_code_layers(model)),
        stateful=tuple(stateful_layers(model)))
