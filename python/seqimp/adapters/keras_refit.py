"""How LOFO retrains a model (lofo_importance, stepwise_importance): fresh-weight rebuilds, seeded
fits, one-shot predictions of a fitted model, and the thread and memory limits of worker processes.

A compiled model travels to worker processes as a :class:`KerasRecipe` (JSON architecture, compile config
and the caller's custom objects), never as a live model: a worker rebuilds it with fresh weights, for as
many input features as the fit needs. Seeding, building and fitting use process-wide state, so the LOFO
code runs them under one lock per process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import random
import sys
from dataclasses import dataclass

import numpy as np

from ..errors import Keyword, Raised, SeqimpTypeError, SeqimpValueError, Shape, Value
from .choose import as_predictor
from .keras_layers import check_keras_input_shape, check_stateless, keras_input_shape, keras_module, walk_layers
from .protocol import as_prediction_array, keras_flavour, keras_model_flavour
from .sklearn_refit import EstimatorRecipe, build_estimator

_PREDICT_BATCH = 512
_KERAS_MODULES = ("keras", "tf_keras", "tensorflow")


def is_compiled_keras(model):
    """True for a Keras 3 or tf_keras model on which compile() was called."""
    compiled = getattr(model, "compiled", None)  # Keras 3
    if compiled is None:
        compiled = getattr(model, "_is_compiled", None)  # tf_keras
    return bool(compiled)


@dataclass(frozen=True)
class KerasRecipe:
    """Everything needed to rebuild a compiled Keras model with fresh weights, in any process.

    ``fingerprint`` identifies the architecture and compile settings without layer names, which change
    from one Python session to the next.
    """

    flavour: str
    model_json: str
    compile_config: dict
    custom_objects: dict
    input_shape: tuple
    fingerprint: str


def _is_keras_class(cls):
    return (getattr(cls, "__module__", "") or "").split(".")[0] in _KERAS_MODULES


def _custom_objects(model, compile_args):
    """The caller's own layer classes, loss and metric functions or classes, by the names configs use."""
    found = {type(layer).__name__: type(layer) for layer in walk_layers(model)
             if not _is_keras_class(type(layer))}

    def visit(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                visit(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                visit(v)
        elif isinstance(obj, type) and not _is_keras_class(obj):
            found[obj.__name__] = obj
        elif callable(obj) and hasattr(obj, "__name__") and not _is_keras_class(obj):
            found[obj.__name__] = obj
        elif obj is not None and not isinstance(obj, (str, int, float, bool)) and \
                not _is_keras_class(type(obj)):
            found[type(obj).__name__] = type(obj)

    visit(compile_args)
    return found


def _canonical_names(config):
    """``config`` with every layer, model and optimizer name replaced by its order of appearance."""
    names = {}

    def collect(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("name"), str):
                names.setdefault(obj["name"], f"<{len(names)}>")
            for v in obj.values():
                collect(v)
        elif isinstance(obj, list):
            for v in obj:
                collect(v)

    def replace(obj):
        if isinstance(obj, dict):
            return {k: replace(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [replace(v) for v in obj]
        if isinstance(obj, str):
            return names.get(obj, obj)
        return obj

    collect(config)
    return replace(config)


def keras_recipe(model, input_shape, *, func="seqimp"):
    """A :class:`KerasRecipe` for a compiled Keras model whose input matches ``input_shape`` (n, ..., F)."""
    flavour = keras_flavour(model)
    if not is_compiled_keras(model):
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be a compiled Keras model or a "
                               "builder function. Got a Keras model that was not compiled: call "
                               "model.compile(optimizer=..., loss=...) first, so that every refit can be "
                               "compiled the same way.", argument="model_or_builder", function=func)
    expected = keras_input_shape(model)
    if expected is None:
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be a Keras model with a single "
                               "input of known rank. Got a model with several or unknown inputs; pass a "
                               "builder build(n_features) -> compiled model instead.", argument="model_or_builder",
                               function=func)
    check_keras_input_shape(model, input_shape)
    check_stateless(model)
    keras = keras_module(flavour)
    compile_config = model.get_compile_config()
    if getattr(model, "optimizer", None) is not None:
        # The optimizer as configured (learning rate included), not the string it may have been given.
        compile_config = dict(compile_config, optimizer=keras.optimizers.serialize(model.optimizer))
    stored = getattr(getattr(model, "_compile_config", None), "config", None) or {}
    custom = _custom_objects(model, {k: stored.get(k) for k in ("loss", "metrics", "weighted_metrics")})
    model_json = model.to_json()
    canonical = _canonical_names({"model": json.loads(model_json), "compile": compile_config})
    fingerprint = f"{flavour}:" + json.dumps(canonical, sort_keys=True, default=repr)
    return KerasRecipe(flavour, model_json, compile_config, custom, tuple(expected), fingerprint)


def rebuild_keras(recipe, n_features, seed):
    """A new compiled model from ``recipe`` for ``n_features`` input features, weights drawn from ``seed``.

    The model is always cloned onto a new Input after reseeding, so models of every width draw their
    layers' initial weights in the same order from the same seed.
    """
    keras = keras_module(recipe.flavour)
    shape = tuple(recipe.input_shape[1:-1]) + (int(n_features),)
    with keras.utils.custom_object_scope(recipe.custom_objects):
        try:
            with _keras_seed_source(seed):
                template = keras.models.model_from_json(recipe.model_json)
            seed_fit(seed, recipe.flavour)
            with _keras_seed_source(seed):
                model = keras.models.clone_model(template, input_tensors=keras.Input(shape=shape))
        except Exception as exc:  # noqa: BLE001 - re-raised with what to do instead
            raise SeqimpValueError("Could not rebuild the model for input shape {shape}: {exc}. Layers whose "
                                   "configuration fixes the number of features need a builder build(n_features) "
                                   "-> compiled model, or {constant}.", shape=Shape((None,) + shape, worded=False),
                                   exc=Raised(exc), constant=Keyword("mode", "constant")) from exc
        model.compile_from_config(recipe.compile_config)
    return model


# Keras 3 draws the seed of every unseeded initializer and dropout layer from Python's global `random`
# (keras.src.random.seed_generator.python_random). Other threads of the process draw from it too (a Dask
# worker's event loop does, between any two lines of a task), which made builds differ from run to run.
# While a model is built, Keras gets a private generator seeded like the fit; the module attribute is
# restored at once, so nothing changes for the caller's own models.
_KERAS_SEED_MODULE = "keras.src.random.seed_generator"


@contextlib.contextmanager
def _keras_seed_source(seed):
    module = sys.modules.get(_KERAS_SEED_MODULE)
    if module is None or not hasattr(module, "python_random"):
        yield
        return
    saved = module.python_random
    module.python_random = random.Random(int(seed))
    try:
        yield
    finally:
        module.python_random = saved


def seed_fit(seed, flavour=None):
    """Seed Python, NumPy, TensorFlow and Keras (``keras.utils.set_random_seed``) for one fit."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    if flavour == "tf_keras":
        import tf_keras

        tf_keras.utils.set_random_seed(seed)
    elif flavour == "keras" or "keras" in sys.modules or importlib.util.find_spec("keras") is not None:
        import keras

        keras.utils.set_random_seed(seed)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def build_for_fit(source, n_features, seed):
    """A fresh, compiled model for one fit: from a :class:`KerasRecipe`, an
    :class:`~seqimp.adapters.sklearn_refit.EstimatorRecipe` (a clone; ``n_features`` is learned by its
    fit) or the caller's builder."""
    if isinstance(source, EstimatorRecipe):
        return build_estimator(source, seed)
    if isinstance(source, KerasRecipe):
        seed_fit(seed, source.flavour)
        return rebuild_keras(source, n_features, seed)
    seed_fit(seed)
    with _keras_seed_source(seed):
        model = source(int(n_features))
    if keras_model_flavour(model) is not None:
        if not is_compiled_keras(model):
            raise SeqimpTypeError("The builder returned a Keras model that was not compiled; call "
                                  "model.compile(...) inside build(n_features).", argument="model_or_builder")
    elif not (hasattr(model, "fit") and callable(model.fit)):
        raise SeqimpTypeError("The builder must return a compiled Keras model (or an object with fit({X}, y) and "
                              "predict({X})); it returned an object of type {type}.", argument="model_or_builder",
                              type=type(model).__name__)
    return model


def check_fit_kwargs(model, fit_kwargs, func):
    """Refuse ``fit_kwargs`` that ``model.fit`` does not take, naming them, before any fit runs (Keras
    would raise "TensorFlowTrainer.fit() got an unexpected keyword argument" from inside a fit).

    A ``fit`` with ``**kwargs`` takes anything. ``sample_weight`` is left to ``fit``: seqimp passes it
    itself wherever weights are given, and a ``fit`` without it says so.
    """
    try:
        parameters = inspect.signature(model.fit).parameters
    except (TypeError, ValueError):  # a fit whose signature Python cannot read
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    named = [name for name, p in parameters.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = [key for key in fit_kwargs if key not in named and key != "sample_weight"]
    if unknown:
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} names {unknown}, which {fit} does not "
                              "take; it takes {known}.", argument="fit_kwargs", function=func,
                              unknown=Value(unknown), fit=f"{type(model).__name__}.fit()", known=Value(named[2:]))


def fit_model(model, X, y, fit_kwargs, func="seqimp"):
    """``model.fit(X, y, **fit_kwargs)``, once ``fit_kwargs`` are checked against it; Keras models train
    silently unless ``verbose`` is given."""
    check_fit_kwargs(model, fit_kwargs, func)
    if keras_flavour(model) is not None:
        fit_kwargs = {"verbose": 0, **fit_kwargs}
        y = np.asarray(y, dtype=np.float32)
    model.fit(X, y, **fit_kwargs)


def predict_fitted(model, X, request=None):
    """Predictions for every row of X as a float64 ndarray.

    A model that is scored once is called directly, chunk by chunk: tracing ``model.predict`` for one
    use costs more than it saves, and retracing it for every new model floods the log with warnings.
    ``request`` is one metric's ``(response_method, pos_label, name)``: a classifier is asked for
    ``predict_proba`` or ``decision_function`` where the metric scores them.
    """
    if keras_model_flavour(model) is not None:
        parts = [as_prediction_array(model(X[i:i + _PREDICT_BATCH], training=False), "Keras model")
                 for i in range(0, X.shape[0], _PREDICT_BATCH)]
        return np.concatenate(parts, axis=0)
    return as_predictor(model, responses=None if request is None else [request])(X)


def release_keras_state():
    """Free the global state Keras keeps for every model built (call in workers, between fits)."""
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        if module is not None:
            try:
                module.backend.clear_session()
            except Exception:  # noqa: BLE001 - nothing to free is not an error
                pass
