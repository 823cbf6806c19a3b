"""Which adapter a model gets: :func:`as_predictor` looks at what the caller passed (a Keras 3 or
tf_keras model, an rpy2 R function or R model, an object with ``.predict``, a callable) and wraps it in
the matching :class:`~seqimp.adapters.protocol.Predictor`.
"""

from __future__ import annotations

from .keras_forward import KerasPredictor
from .protocol import (CallablePredictor, PredictMethodPredictor, Predictor, is_rpy2_object,
                       keras_model_flavour)


def as_predictor(model, *, func="seqimp"):
    """Wrap ``model`` as a :class:`Predictor`.

    Accepts a Keras 3 model, a tf_keras model, an R keras model (the same Python object through
    reticulate), an rpy2 R function or fitted R model, a callable ``f(X) -> predictions``, or any object
    with ``.predict(X)``.
    """
    if isinstance(model, Predictor):
        return model
    if model is None:
        raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an "
                        f"object with .predict(X). Got None instead.")
    if is_rpy2_object(model):
        from .r_models import r_model  # imports rpy2, so only when an R object is handed in

        return r_model(model, func=func)
    flavour = keras_model_flavour(model)
    if flavour is not None:
        return KerasPredictor(model, flavour)
    if hasattr(model, "predict") and callable(model.predict):
        return PredictMethodPredictor(model)
    if callable(model):
        return CallablePredictor(model)
    raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an object "
                    f"with .predict(X). Got an object of type {type(model).__name__} instead.")
