"""Which adapter a model gets: :func:`as_predictor` looks at what the caller passed (a Keras 3 or
tf_keras model, an object with ``.predict``, a callable, a seqimp predictor such as an R model's) and
wraps it in the matching :class:`~seqimp.adapters.protocol.Predictor`.
"""

from __future__ import annotations

from ..errors import SeqimpTypeError, text
from .keras_forward import KerasPredictor
from .spec import model_spec
from .protocol import CallablePredictor, PredictMethodPredictor, Predictor, refuse_torch
from .responses import ResponsePredictor, needs_responses


def as_predictor(model, *, func="seqimp", responses=None, spec=None):
    """Wrap ``model`` as a :class:`Predictor`.

    Accepts a Keras 3 model, a tf_keras model, an R keras model (the same Python object through
    reticulate), a callable ``f(X) -> predictions``, any object with ``.predict(X)``, or a predictor
    (an rpy2 R function or R model becomes one at the edge, :mod:`seqimp.edge`). ``spec`` is the
    model's :class:`~seqimp.adapters.spec.ModelSpec` when the caller read it already.
    ``responses`` lists what the metrics score, one ``(response_method, pos_label, metric name)`` each
    (:mod:`~seqimp.adapters.responses`): an object with ``.predict`` is then asked for
    ``predict_proba`` or ``decision_function`` where a metric needs them. Keras models and callables
    are scored on their outputs as they are.
    """
    if isinstance(model, Predictor):
        return model
    if model is None:
        raise SeqimpTypeError(_MODEL_EXPECTED, argument="model", function=func, got=text("{None}"))
    refuse_torch(model, func)
    spec = spec if spec is not None else model_spec(model)
    if spec.is_keras:
        return KerasPredictor(model, spec.flavour, spec=spec)
    if hasattr(model, "predict") and callable(model.predict):
        if needs_responses(responses):
            return ResponsePredictor(model, responses, func=func)
        return PredictMethodPredictor(model)
    if callable(model):
        return CallablePredictor(model)
    raise SeqimpTypeError(_MODEL_EXPECTED, argument="model", function=func,
                          got=f"an object of type {type(model).__name__}")


_MODEL_EXPECTED = ("The '{argument}' {parameter} of {function} must be a Keras model, {a_callable} f({X}) or an object "
                   "with .predict({X}). Got {got} instead.")
