"""What perturbation, permutation and gradient importance share before and after their own step.

Each public function checks its own parameters, then calls :func:`prepare`: foreign objects converted
at the edge (:mod:`seqimp.edge`), the seed, progress and ``n_jobs`` resolved, the model read once
(:func:`seqimp.adapters.spec`) and wrapped as the method's predictor, X read in one pass
(:func:`seqimp.model_inputs.prepare_inputs`) and the labels made. It runs the engine with its own
transform and scoring, and hands its numbers to :func:`finish`, which writes what every result of these
methods records (the mask's source, the categorical features, the output explained, the samples real
in each label's cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from . import checks, engine
from .adapters import model_spec
from .edge import python_arguments
from .engine_jobs import check_n_jobs
from .labels import make_labels
from .masks import check_mask_arguments, mask_extra
from .model_inputs import prepare_inputs
from .progress import check_progress
from .result import ImportanceResult


@dataclass
class Prepared:
    """One call, prepared: its predictor, data (complete, :class:`~seqimp.sequence_data.SequenceData`),
    labels, the root seed every draw derives from, and the engine's options. ``given`` holds the other
    arguments the edge converted (``y``, ``sample_weight``, ``baseline``, ...), by name."""

    func: str
    predictor: object
    data: object
    granularity: str
    labels: list
    root_seed: object
    progress: object
    n_jobs: Optional[int]
    batch_size: object
    output: object = None
    given: dict = field(default_factory=dict)

    def chunk_rows(self, transform=None):
        """Rows per forward call: ``batch_size``, else the predictor's choice for rows of X's size."""
        return engine.resolve_chunk_rows(self.predictor, self.data, self.batch_size, self.func, transform)

    def run(self, transform, *, n_repeats=1, chunk_rows=None, **hooks):
        """:func:`seqimp.engine.run` over this call's labels (``hooks``: ``score`` or ``collect``,
        ``describe_task``); a wrapped ``predictor`` may be passed among them."""
        predictor = hooks.pop("predictor", self.predictor)
        return engine.run(predictor, self.data, hooks.pop("labels", self.labels), transform,
                          n_repeats=n_repeats, root_seed=self.root_seed,
                          chunk_rows=chunk_rows if chunk_rows is not None else self.chunk_rows(transform),
                          progress=self.progress, func=self.func, n_jobs=self.n_jobs, **hooks)


def prepare(func, model, X, *, make_predictor, granularity="feature", groups=None, feature_names=None,
            categorical_features=None, mask=None, mask_value=None, random_state=None, progress=None,
            n_jobs=None, batch_size=None, output=None, responses=None, **given):
    """Everything before a method's own step, in a fixed order (so that of several bad arguments the
    same one is always reported): the edge, seed, progress, ``n_jobs``, the mask arguments, the model
    (``make_predictor(model, spec)`` gives the method's predictor), X, the labels.

    ``given`` are the method's other arguments that may hold R objects (``y``, ``sample_weight``,
    ``baseline``); they come back converted in :attr:`Prepared.given`.
    """
    args = python_arguments(func, responses=responses, model=model, X=X, feature_names=feature_names,
                            groups=groups, categorical_features=categorical_features, mask=mask,
                            mask_value=mask_value, **given)
    root_seed = checks.check_random_state(random_state, func)
    progress = check_progress(progress, func)
    n_jobs = check_n_jobs(n_jobs, func)
    check_mask_arguments(args["mask"], args["mask_value"], func)
    model = args["model"]
    spec = model_spec(model)
    predictor = make_predictor(model, spec)
    data = prepare_inputs(args["X"], args["feature_names"], spec, func,
                          categorical_features=args["categorical_features"], mask=args["mask"],
                          mask_value=args["mask_value"])
    granularity, labels = make_labels(data, granularity, args["groups"], func)
    return Prepared(func=func, predictor=predictor, data=data, granularity=granularity, labels=labels,
                    root_seed=root_seed, progress=progress, n_jobs=n_jobs, batch_size=batch_size,
                    output=output, given={name: args[name] for name in given})


def finish(prepared, *, method, importances, metric, params, extra=None, predictor=None, **fields):
    """The :class:`~seqimp.ImportanceResult` of a prepared call: ``params`` with the mask's source, the
    categorical features (``params["categorical_features"]``, one key for every method) and the output
    explained; ``extra`` with the samples real in each label's cells under a mask."""
    data = prepared.data
    params = {**params, "mask": data.mask_source,
              "categorical_features": [data.feature_names[j] for j in data.categorical_features]}
    if prepared.output is not None and "output" not in params:
        params["output"] = (predictor or prepared.predictor).resolve(data).description
    extra = {**(extra or {}), **mask_extra(data, prepared.labels)}
    return ImportanceResult(method=method, labels=prepared.labels, importances=importances,
                            granularity=prepared.granularity, metric=metric, feature_names=data.feature_names,
                            params=params, extra=extra or None, **fields)
