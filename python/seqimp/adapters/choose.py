"""Which adapter a model gets: :func:`as_predictor` looks at what the caller passed (a Keras 3 or
tf_keras model, an rpy2 R function or R model, an object with ``.predict``, a callable) and wraps it in
the matching :class:`~seqimp.adapters.protocol.Predictor`.
"""

from __future__ import annotations

from .keras_forward import KerasPredictor
from .protocol import (CallablePredictor, PredictMethodPredictor, Predictor, is_rpy2_object,
                       keras_model_flavour)
from .responses import ResponsePredictor, needs_responses


def as_predictor(model, *, func="seqimp", responses=None):
    """Wrap ``model`` as a :class:`Predictor`.

    Accepts a Keras 3 model, a tf_keras model, an R keras model (the same Python object through
    reticulate), an rpy2 R function or fitted R model, a callable ``f(X) -> predictions``, or any object
    with ``.predict(X)``. ``responses`` lists what the metrics score, one ``(response_method, pos_label,
    metric name)`` each (:mod:`~seqimp.adapters.responses`): an object with ``.predict`` is then asked
    for ``predict_proba`` or ``decision_function`` where a metric needs them, and a binomial R ``glm``
    for ``type = "response"``. Keras models and callables are scored on their outputs as they are.
    """
    if isinstance(model, Predictor):
        return model
    if model is None:
        raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an "
                        f"object with .predict(X). Got None instead.")
    if is_rpy2_object(model):
        from .r_models import probability_args, r_model  # imports rpy2: only when an R object comes in

        return r_model(model, func=func, **(probability_args(model) if needs_responses(responses) else {}))
    flavour = keras_model_flavour(model)
    if flavour is not None:
        return KerasPredictor(model, flavour)
    if hasattr(model, "predict") and callable(model.predict):
        if needs_responses(responses):
            return ResponsePredictor(model, responses, func=func)
        return PredictMethodPredictor(model)
    if callable(model):
        return CallablePredictor(model)
    raise TypeError(f"The 'model' parameter of {func} must be a Keras model, a callable f(X) or an object "
                    f"with .predict(X). Got an object of type {type(model).__name__} instead.")
