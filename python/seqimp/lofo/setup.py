"""The arguments both retraining functions share: checked once at the boundary, then resolved into a
:class:`Setup` (data, labels, folds, seeds, what to build, the checkpoint) that the retrain loop reads.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np

from .. import adapters, checks
from ..edge import python_arguments
from ..errors import Keyword, Raised, SeqimpTypeError, SeqimpValueError, Shape, Value, text
from ..inputs import as_sequence_data, as_target
from ..labels import feature_label, make_labels
from ..masks import apply_mask
from ..metrics import get_metric
from ..task_scoring import check_sample_weight
from .checkpoint import Checkpoint, digest, fingerprint, qualname, stable
from .folds import fold_seeds, make_folds

MODES = ("drop", "constant")

_REJECTED_FIT_KWARGS = {
    "x": "X and y are passed by seqimp, fold by fold",
    "y": "X and y are passed by seqimp, fold by fold",
    "validation_data": "it would hold every feature and every sample; use 'validation_split', which "
                       "is taken from each training fold",
}


def _check_fit_kwargs(fit_kwargs, n_samples, func):
    if fit_kwargs is None:
        return {}
    if not hasattr(fit_kwargs, "items"):
        checks.fail("fit_kwargs", func, text("{a_dict} of keyword arguments for model.fit, or {None}"), fit_kwargs,
                    TypeError)
    fit_kwargs = dict(fit_kwargs)
    for key, value in fit_kwargs.items():
        if not isinstance(key, str):
            checks.fail("fit_kwargs", func, text("{a_dict} with string keys"), fit_kwargs, TypeError)
        if key in _REJECTED_FIT_KWARGS:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must not contain {key}: {why}.",
                                   argument="fit_kwargs", function=func, key=Value(key),
                                   why=_REJECTED_FIT_KWARGS[key])
        if key == "sample_weight" and value is not None and np.shape(value)[:1] != (n_samples,):
            raise SeqimpValueError("The '{argument}' {parameter} of {function}: {key} must have one weight per "
                                   "sample of {X} ({expected}); got {got}.", argument="fit_kwargs", function=func,
                                   key=Value(key), expected=n_samples, got=Shape(np.shape(value)))
    return fit_kwargs


def _check_n_jobs(n_jobs, func):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Real) or \
            not float(n_jobs).is_integer() or int(n_jobs) == 0:
        checks.fail("n_jobs", func, text("a non-zero {int} (-1 for every core or worker) or {None}"), n_jobs,
                    TypeError if not isinstance(n_jobs, numbers.Real) or isinstance(n_jobs, bool) else ValueError)
    return int(n_jobs)


def _check_checkpoint(checkpoint, func):
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        checks.fail("checkpoint", func, text("a file path (str or os.PathLike) or {None}"), checkpoint, TypeError)
    path = os.path.abspath(os.fspath(checkpoint))
    if os.path.isdir(path):
        checks.fail("checkpoint", func, "a file path, not a folder", os.fspath(checkpoint))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise SeqimpValueError("The '{argument}' {parameter} of {function} must be a path in an existing folder. "
                               "Got {got}, but the folder {folder} does not exist.", argument="checkpoint",
                               function=func, got=Value(os.fspath(checkpoint)), folder=Value(folder))
    return path


def _model_source(model_or_builder, data, func):
    """(what each fit builds from, what identifies it in a checkpoint's fingerprint)."""
    if not data.is_single and (adapters.keras_model_flavour(model_or_builder) is not None or
                               adapters.is_sklearn_estimator(model_or_builder)):
        counts = {b.name: b.n_features for b in data.blocks} if data.structure == "dict" else \
            [b.n_features for b in data.blocks]
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be a builder function when {X} has "
                              "several inputs: build(n_features) is then called with one count per input, "
                              "keyed like {X} (here {counts} with every feature), and returns a compiled model "
                              "for inputs that narrow. A compiled multi-input model cannot be rebuilt for a "
                              "narrower input yet.", argument="model_or_builder", function=func, counts=counts)
    adapters.refuse_torch(model_or_builder, func, "model_or_builder",
                          advice="LOFO refits the model on every fold, and seqimp refits Keras models, builders "
                                 "build(n_features) -> compiled Keras model, and scikit-learn estimators")
    if adapters.keras_model_flavour(model_or_builder) is not None:
        recipe = adapters.keras_recipe(model_or_builder, data.input_shape, func=func)
        return recipe, recipe.fingerprint
    if adapters.is_sklearn_estimator(model_or_builder):
        recipe = adapters.estimator_recipe(model_or_builder, func=func)
        template = recipe.estimator
        return recipe, f"estimator {qualname(template)} {stable(template.get_params(deep=True))}"
    if adapters.is_sklearn_estimator_class(model_or_builder):
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be an estimator instance, such as "
                              "{name}(), not the class {name}: a class would be called as a builder, with the "
                              "number of features as its first argument.", argument="model_or_builder",
                              function=func, name=model_or_builder.__name__)
    if callable(model_or_builder):
        return model_or_builder, "builder " + stable(model_or_builder)
    checks.fail("model_or_builder", func, "a compiled Keras model or a builder function build(n_features) -> "
                "compiled model, or a scikit-learn estimator", model_or_builder, TypeError)


def _check_picklable(source, n_jobs, func):
    if n_jobs == 1:
        return
    try:
        try:  # what joblib's workers and Dask use to send functions; older joblib vendored it
            import cloudpickle
        except ImportError:
            from joblib.externals import cloudpickle

        cloudpickle.dumps(source)
    except Exception as exc:  # noqa: BLE001
        raise SeqimpTypeError("The '{argument}' {parameter} of {function} must be picklable to run with {n_jobs} "
                              "(worker processes or a Dask cluster): {exc}. Define the builder at module level, or "
                              "use {one_job}.", argument="model_or_builder", function=func,
                              n_jobs=Keyword("n_jobs", n_jobs), exc=Raised(exc), one_job=Keyword("n_jobs", 1)) from None


def _labels(data, groups, func):
    """Every feature; or every group, then each feature in no group on its own, as the lofo-importance
    package reports them (a model retrained without one of them is asked the same question)."""
    granularity, labels = make_labels(data, "feature", groups, func)
    if groups is None:
        return granularity, labels
    grouped = set().union(*[lb.features.tolist() for lb in labels])
    names = {lb.name for lb in labels}
    for j, name in enumerate(data.feature_names):
        if j in grouped:
            continue
        if name in names:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} has a group named {name} that does "
                                   "not hold the feature {name}; that feature is in no group, so it has a row of "
                                   "its own under the same name. Rename the group or put the feature in a group.",
                                   argument="groups", function=func, name=Value(name))
        labels.append(feature_label(data, j))  # in its own input, whichever that is
    return granularity, labels


def _weighted_fits(fit_kwargs, sample_weight, source):
    """Whether ``sample_weight`` weights the fits too (each fit gets its training rows' weights, see
    folds.fold_fit_kwargs): where fit takes it, that is Keras models and builders, and estimators whose
    ``fit`` has a ``sample_weight`` parameter. A ``sample_weight`` in ``fit_kwargs`` wins for the fits."""
    if sample_weight is None or "sample_weight" in fit_kwargs:
        return False
    if isinstance(source, adapters.EstimatorRecipe):
        from sklearn.utils.validation import has_fit_parameter

        return bool(has_fit_parameter(source.estimator, "sample_weight"))
    return True


@dataclass
class Setup:
    """One call's arguments, checked and resolved."""

    func: str                 # the public function, for messages
    data: object              # SequenceData
    y: np.ndarray
    labels: list              # the features or groups left out
    granularity: str
    metric: object
    mode: str
    folds: list               # (train, test) index pairs
    cv_description: str
    fold_seeds: list          # one seed per fold
    source: object            # a builder, or the recipe of a compiled Keras model
    fit_kwargs: dict
    n_jobs: object
    progress: bool
    root: object              # the SeedSequence every seed comes from
    kind: str                 # "feature" or "group", for messages
    fit_ndim: int             # the rank of X a fit gets: a scikit-learn estimator's 3-D X is flattened
    checkpoint: object = None
    sample_weight: object = None  # (n_samples,) weights of the validation metric, or None
    weighted_fits: bool = False   # the fits get sample_weight's training rows too

    def fits_kwargs(self):
        """``fit_kwargs`` as every fit gets them (before each fold takes its rows)."""
        if not self.weighted_fits:
            return self.fit_kwargs
        return {**self.fit_kwargs, "sample_weight": self.sample_weight}


def _check_categorical(data, source, mode, func):
    """Categories are never averaged (mode="constant"), and their codes never reach a model as numbers:
    only a scikit-learn estimator gets a DataFrame's non-numeric columns, as a DataFrame."""
    names = [data.feature_names[j] for j in data.categorical_features]
    if names and mode == "constant":
        raise SeqimpTypeError("{function} with {constant} holds a feature at its training mean, and {X} has "
                              "categorical features {names} (non-numeric DataFrame columns, booleans or R "
                              "factors), which have none. Use {drop}.", argument="mode", function=func,
                              constant=Keyword("mode", "constant"), names=Value(names), drop=Keyword("mode", "drop"))
    coded = [name for block in data.blocks if block.frame is not None
             for name, values in zip(block.feature_names, block.frame.values) if values is not None]
    if coded and not isinstance(source, adapters.EstimatorRecipe):
        raise SeqimpTypeError("{function} fits a builder's or a Keras model on {X} as arrays of numbers, and {X} "
                              "has non-numeric columns {coded}. Encode them as numbers first (e.g. one-hot "
                              "columns), or pass an unfitted scikit-learn estimator, which is fitted on "
                              "DataFrames.", argument="X", function=func, coded=Value(coded))


def make_setup(func, *, model_or_builder, X, y, fit_kwargs, metric, cv, mode, groups, feature_names,
               n_jobs, checkpoint, random_state, progress, extra_fingerprint=None, sample_weight=None,
               mask=None, mask_value=None):
    """Check the arguments of ``func`` and resolve them; the checks run in a fixed order, so that of
    several bad arguments the same one is always reported."""
    given = python_arguments(func, X=X, y=y, feature_names=feature_names, groups=groups,
                             sample_weight=sample_weight, mask=mask, mask_value=mask_value)
    X, y, feature_names, groups = given["X"], given["y"], given["feature_names"], given["groups"]
    sample_weight, mask, mask_value = given["sample_weight"], given["mask"], given["mask_value"]
    mode = checks.check_option(mode, "mode", func, MODES)
    progress = checks.check_bool(progress, "progress", func)
    n_jobs = _check_n_jobs(n_jobs, func)
    path = _check_checkpoint(checkpoint, func)
    metric = get_metric(metric, func)
    data = apply_mask(as_sequence_data(X, feature_names, func=func), model_or_builder, mask, mask_value, func)
    y = as_target(y, data.n_samples, func=func, data=data)
    fit_kwargs = _check_fit_kwargs(fit_kwargs, data.n_samples, func)
    sample_weight = check_sample_weight(sample_weight, data.n_samples, [(None, metric)], func)
    granularity, labels = _labels(data, groups, func)

    stored = Checkpoint.stored_seed(path) if random_state is None and path is not None else None
    # A run that drew its own seed resumes with that seed.
    root = stored if stored is not None else checks.check_random_state(random_state, func)
    folds, cv_description = make_folds(cv, data.n_samples, y, root, func)
    source, model_id = _model_source(model_or_builder, data, func)
    if not callable(source):  # a Keras recipe or an estimator: fit is known now; a builder's at its first fit
        adapters.check_fit_kwargs(model_or_builder, fit_kwargs, func)
    _check_categorical(data, source, mode, func)
    _check_picklable(source, n_jobs, func)

    setup = Setup(func=func, data=data, y=y, labels=labels, granularity=granularity, metric=metric, mode=mode,
                  folds=folds, cv_description=cv_description, fold_seeds=fold_seeds(root, len(folds)),
                  source=source, fit_kwargs=fit_kwargs, n_jobs=n_jobs, progress=progress, root=root,
                  kind="feature" if groups is None else "group",
                  fit_ndim=2 if isinstance(source, adapters.EstimatorRecipe) else data.input_ndim,
                  sample_weight=sample_weight, weighted_fits=_weighted_fits(fit_kwargs, sample_weight, source))
    if path is not None:
        run = {**fingerprint(setup, model_id), **(extra_fingerprint or {})}
        if sample_weight is not None:
            run["sample_weight"] = digest(sample_weight)
        if data.has_mask:
            run["mask"] = digest(*[b.mask for b in data.blocks if b.mask is not None])
        setup.checkpoint = Checkpoint(path, func, run, [lb.name for lb in labels], len(folds))
    return setup
