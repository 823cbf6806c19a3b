"""Model adapters: the only package that imports keras, tensorflow or rpy2 (always inside a function,
so importing seqimp imports none of them). One room per job:

- ``protocol``: the :class:`Predictor` protocol (a chunk of inputs in, one row of predictions per row
  out, and what the engine asks of a predictor: chunk sizes, the adapter behind wrappers, a resumable
  forward pass, pickling for workers), the wrappers for a callable and a ``.predict`` object, and
  telling kinds of model apart.
- ``spec``: :class:`ModelSpec`, what a call needs to know about its model, read once.
- ``choose``: :func:`as_predictor`, which picks the adapter for whatever model the caller passed.
- ``responses``: what a classifier is asked for (``predict_proba``, ``decision_function`` or ``predict``,
  as each metric needs), once per chunk for several metrics.
- ``keras_layers``: reading a Keras model's layers, input shape and backend without running it.
- ``keras_compiled``: compiled functions cached per model (the forward pass, the tracing helper).
- ``keras_forward``: :class:`KerasPredictor`, the compiled, cached forward pass over fixed-size chunks.
- ``keras_prefix``: recurrent stacks resumed from the baseline's cached states (perturbed suffixes only).
- ``keras_gradient``: :class:`KerasGradient`, the compiled gradient behind gradient_importance.
- ``dense_kernels``: the Dense kernels that Olden's and Garson's methods read.
- ``keras_refit``: rebuilding, seeding, fitting and scoring fresh models for LOFO's refits.
- ``sklearn_refit``: a seeded clone of a scikit-learn estimator for each of LOFO's refits.
- ``r_models``: R functions and fitted R models through rpy2, imported only when one is handed in at
  the edge (:mod:`seqimp.edge`; ``r_bridge.R`` is the R code it runs, shared with the R package).
- ``r_predictor``: what an R model is to the core, whichever way it came in (chunk sizes for R, the
  check of a fitted model's variables, errors naming the caller's X); plain Python.
"""

from .choose import as_predictor
from .dense_kernels import dense_kernels
from .keras_gradient import KerasGradient, gradient_predictor
from .keras_refit import (build_for_fit, check_fit_kwargs, fit_model, keras_recipe, predict_fitted, rebuild_keras,
                          release_keras_state)
from .spec import ModelSpec, model_spec
from .protocol import (CallablePredictor, Predictor, PredictorWrapper, is_torch_module, keras_model_flavour,
                       limit_tf_threads, refuse_torch)
from .sklearn_refit import EstimatorRecipe, estimator_recipe, is_sklearn_estimator, is_sklearn_estimator_class

__all__ = [
    "as_predictor", "Predictor", "PredictorWrapper", "CallablePredictor", "ModelSpec", "model_spec",
    "keras_model_flavour", "gradient_predictor", "KerasGradient", "dense_kernels", "keras_recipe",
    "rebuild_keras", "build_for_fit", "check_fit_kwargs", "fit_model", "predict_fitted", "limit_tf_threads",
    "release_keras_state", "EstimatorRecipe", "estimator_recipe", "is_sklearn_estimator",
    "is_sklearn_estimator_class", "is_torch_module", "refuse_torch",
]
