"""What a classifier is asked for: scikit-learn's response methods.

Each metric names the method it scores, as scikit-learn's scorers do (``response_method``):
"predict", "predict_proba", "decision_function", or a preference list such as
``("decision_function", "predict_proba")``, of which the first the model has is used. A
:class:`ResponsePredictor` calls each method the metrics need once per chunk; a binary classifier gives
the positive class's column of ``predict_proba`` (``classes_[-1]`` unless the metric names a
``pos_label``) and a ``decision_function`` whose sign favours that class, as
``sklearn.utils._response._get_response_values`` does.

A classifier is an object with ``.predict`` and ``classes_`` (or scikit-learn's classifier tag). One
that lacks the method a probability metric needs is refused, never scored on its labels. Any other
object with ``.predict`` (a regressor, a user's wrapper) is scored on what ``predict`` returns, as
callables and Keras models are.
"""

from __future__ import annotations

import numpy as np

from ..errors import Keyword, SeqimpValueError, Shape, Value

from .protocol import Predictor, as_prediction_array, describe_model

PREDICT = "predict"

_WHAT = {"predict_proba": "predicted probabilities (predict_proba)",
         "decision_function": "decision values (decision_function)"}


def is_classifier(model):
    """True for a scikit-learn classifier, or any object with ``.predict`` and ``classes_``."""
    if getattr(model, "classes_", None) is not None:
        return True
    try:
        from sklearn.base import is_classifier as sklearn_is_classifier

        return bool(sklearn_is_classifier(model))
    except Exception:  # noqa: BLE001 - not a scikit-learn object, or an old scikit-learn
        return getattr(model, "_estimator_type", None) == "classifier"


def needs_responses(requests):
    """True when some metric asks for more than ``predict``."""
    return any(_options(response) != (PREDICT,) for response, _, _ in (requests or ()))


def _options(response):
    return (response,) if isinstance(response, str) else tuple(response)


class ResponsePredictor(Predictor):
    """An object with ``.predict`` asked, chunk by chunk, for the responses its metrics score.

    ``requests`` holds one ``(response_method, pos_label, metric name)`` per metric. With one distinct
    response the predictions are that response as the model gives it; with several they are the
    responses side by side, (m, sum of their widths), and :meth:`split` gives each metric its own.
    """

    description = "object with .predict"

    def __init__(self, model, requests, *, func="seqimp"):
        super().__init__(model)
        self.classes = getattr(model, "classes_", None)
        self.classifier = is_classifier(model)
        self._plan = []   # distinct (method, column of a binary classifier's positive class or None)
        self._slots = []  # for each request, its index in the plan
        for response, pos_label, name in requests:
            method = self._method(response, name, func)
            key = (method, None if method == PREDICT else self._positive(pos_label, name, func))
            if key not in self._plan:
                self._plan.append(key)
            self._slots.append(self._plan.index(key))
        self._shapes = None  # per-row shape of each response, known after the first chunk

    @property
    def methods(self):
        """The model's methods called on every chunk, in order."""
        return list(dict.fromkeys(method for method, _ in self._plan))

    def _method(self, response, name, func):
        options = _options(response)
        if options == (PREDICT,):
            return PREDICT
        for option in options:
            if callable(getattr(self.model, option, None)):
                return option
        if not self.classifier:
            return PREDICT  # a regressor or a plain object: its predictions are scored as they are
        wanted = " or ".join(_WHAT.get(o, o) for o in options)
        raise SeqimpValueError(
            "The '{argument}' {parameter} of {function} is {name}, which scores {wanted}, but the model ({model}) has "
            "no {methods}: it gives only class labels, and seqimp never scores labels with a probability or ranking "
            "metric. Use a classifier with predict_proba (e.g. wrapped in sklearn.calibration.CalibratedClassifierCV), "
            "or a metric scored on labels such as {accuracy} or {f1}.", argument="metric", function=func,
            name=Value(name), wanted=wanted, model=describe_model(self.model), methods=" or ".join(options),
            accuracy=Value("accuracy"), f1=Value("f1"))

    def _positive(self, pos_label, name, func):
        """The column of a binary classifier's positive class (None for other models)."""
        classes = None if self.classes is None else np.asarray(self.classes)
        if classes is None or classes.ndim != 1 or len(classes) != 2:
            return None
        if pos_label is None:
            return 1
        known = classes.tolist()
        if pos_label not in known:
            raise SeqimpValueError("The '{argument}' {parameter} of {function} is {name}, whose {pos_label} is not one "
                                   "of the model's classes {known}. Pass make_scorer(..., pos_label=<one of them>).",
                                   argument="metric", function=func, name=Value(name),
                                   pos_label=Keyword("pos_label", pos_label), known=Value(known))
        return known.index(pos_label)

    def _response(self, raw, method, column):
        if column is None:
            return raw
        if method == "predict_proba" or method == "predict_log_proba":
            if raw.ndim != 2 or raw.shape[1] != 2:
                raise SeqimpValueError("{method} of a binary classifier returned {shape}; expected (n, 2).",
                                       method=method, shape=Shape(raw.shape))
            return raw[:, column]
        if method == "decision_function" and raw.ndim == 1 and column == 0:
            return -raw
        return raw

    def prepare(self, chunk_rows, data):
        """Learn each response's per-row shape from one row, so that :meth:`split` works wherever the
        chunks were computed (in this process, or in the engine's worker processes)."""
        if len(self._plan) > 1 and self._shapes is None:
            self(data.to_model_input([block.X[:1] for block in data.blocks]))

    def _call(self, block):
        raw = {method: as_prediction_array(getattr(self.model, method)(block), self.description)
               for method in self.methods}
        outs = [self._response(raw[method], method, column) for method, column in self._plan]
        if len(outs) == 1:
            return outs[0]
        shapes = [out.shape[1:] for out in outs]
        if self._shapes is None:
            self._shapes = shapes
        return np.concatenate([out.reshape(len(out), -1) for out in outs], axis=1)

    def split(self, predictions):
        """One array of predictions per request, from what :meth:`__call__` returned."""
        if len(self._plan) == 1:
            return [predictions] * len(self._slots)
        parts, start = [], 0
        for shape in self._shapes:
            width = int(np.prod(shape)) if shape else 1
            parts.append(predictions[:, start:start + width].reshape((len(predictions),) + tuple(shape)))
            start += width
        return [parts[slot] for slot in self._slots]
