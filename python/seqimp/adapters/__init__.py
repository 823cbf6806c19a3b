"""Model adapters: the only package that imports keras, tensorflow or rpy2 (always inside a function,
so importing seqimp imports none of them). One room per job:

- ``protocol``: the :class:`Predictor` protocol (a block of inputs in, one row of predictions per row
  out), the wrappers for a callable and a ``.predict`` object, and telling kinds of model apart.
- ``choose``: :func:`as_predictor`, which picks the adapter for whatever model the caller passed.
- ``responses``: what a classifier is asked for (``predict_proba``, ``decision_function`` or ``predict``,
  as each metric needs), once per chunk for several metrics.
- ``keras_layers``: reading a Keras model's layers, input shape and backend without running it.
- ``keras_forward``: :class:`KerasPredictor`, the compiled, cached forward pass over fixed-size chunks.
- ``keras_prefix``: recurrent stacks resumed from the baseline's cached states (perturbed suffixes only).
- ``keras_gradient``: :class:`KerasGradient`, the compiled gradient behind gradient_importance.
- ``dense_kernels``: the Dense kernels that Olden's and Garson's methods read.
- ``keras_refit``: rebuilding, seeding, fitting and scoring fresh models for LOFO's refits.
- ``sklearn_refit``: a seeded clone of a scikit-learn estimator for each of LOFO's refits.
- ``r_models``: R functions and fitted R models through rpy2, imported only when one is handed in
  (``r_bridge.R`` is the R code it runs, shared with the R package).
"""

from .choose import as_predictor
from .dense_kernels import dense_kernels
from .keras_forward import KerasPredictor
from .keras_gradient import GRADIENT_FRAMEWORKS, KerasGradient, gradient_predictor
from .keras_layers import check_keras_input_shape
from .keras_refit import (KerasRecipe, build_for_fit, fit_model, is_compiled_keras, keras_recipe,
                          limit_tf_threads, predict_fitted, rebuild_keras, release_keras_state, seed_fit)
from .protocol import (CallablePredictor, PredictMethodPredictor, Predictor, describe_model, is_rpy2_object,
                       keras_flavour, keras_model_flavour)
from .sklearn_refit import EstimatorRecipe, estimator_recipe, is_sklearn_estimator, is_sklearn_estimator_class

__all__ = [
    "as_predictor", "Predictor", "CallablePredictor", "PredictMethodPredictor", "KerasPredictor",
    "keras_flavour", "keras_model_flavour", "is_rpy2_object", "describe_model", "check_keras_input_shape",
    "gradient_predictor", "KerasGradient", "GRADIENT_FRAMEWORKS", "dense_kernels", "KerasRecipe",
    "keras_recipe", "rebuild_keras", "seed_fit", "build_for_fit", "fit_model", "predict_fitted",
    "limit_tf_threads", "release_keras_state", "is_compiled_keras", "EstimatorRecipe", "estimator_recipe",
    "is_sklearn_estimator", "is_sklearn_estimator_class",
]
