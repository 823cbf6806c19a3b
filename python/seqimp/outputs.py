"""Which prediction is explained: ``output=`` on every method that reads a model's predictions.

An int indexes the flattened per-sample output, a tuple its shape (``(timestep, class)``), and "sum",
"mean" or "max" reduce it; None keeps the whole output (perturbation and permutation) or explains the
only output, or the mean of several (gradients, Lek's profile). :func:`select_output` resolves it once
the per-sample output shape is known; :class:`SelectedOutput` applies it to a predictor's every chunk,
so the engine, effects and metrics see the selected output only.
"""

from __future__ import annotations

import numbers
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import checks
from .errors import Options, Phrase, Position, Positions, SeqimpValueError, Shape, Value, Words, text
from .adapters.protocol import PredictorWrapper

OUTPUT_REDUCTIONS = ("sum", "mean", "max")


@dataclass(frozen=True)
class OutputSelection:
    """Which scalar per sample is explained: ``weights . vec(f(x))``, or ``max(vec(f(x)))``."""

    weights: Optional[np.ndarray]  # (k,) float32; None for "max"
    mode: str  # "weighted" or "max"
    description: str
    averaged: bool  # True when several outputs are summed or averaged

    def apply(self, predictions):
        """Predictions of shape (m, ...) -> the selected scalar per row, shape (m,)."""
        flat = np.asarray(predictions, dtype=np.float64).reshape(len(predictions), -1)
        if self.mode == "max":
            return flat.max(axis=1)
        return flat @ self.weights.astype(np.float64)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) or (
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        and float(value).is_integer())


def check_output(output, func, *, reductions=OUTPUT_REDUCTIONS):
    """Check the type of ``output`` before any work is done (its range needs the model's outputs)."""
    expected = text("{None}, {an_int} index into the model's per-sample outputs, a tuple index, or one of {options}",
                    options=Options(reductions))
    if output is not None and not isinstance(output, (str, tuple, list)) and not _is_int(output):
        checks.fail("output", func, expected, output, TypeError)
    if isinstance(output, str) and output not in reductions:
        checks.fail("output", func, expected, output)
    return output


def select_output(output, output_shape, func, *, reductions=OUTPUT_REDUCTIONS):
    """Resolve ``output`` against the per-sample output shape.

    ``None`` explains the only output, or the mean of several; an int indexes the flattened per-sample
    output (negative counts from the end); a tuple indexes the per-sample output shape, e.g.
    ``(timestep, class)``; a string names a reduction.
    """
    check_output(output, func, reductions=reductions)
    output_shape = tuple(int(d) for d in output_shape)
    k = int(np.prod(output_shape)) if output_shape else 1

    def weighted(weights, description, averaged=False):
        return OutputSelection(np.asarray(weights, np.float32), "weighted", description, averaged)

    if output is None:
        if k == 1:
            return weighted(np.ones(1), "the output")
        return weighted(np.full(k, 1.0 / k), f"mean of {k} outputs", averaged=True)
    if isinstance(output, str):
        if output == "max":
            return OutputSelection(None, "max", f"max of {k} outputs", False)
        scale = 1.0 if output == "sum" else 1.0 / k
        return weighted(np.full(k, scale), f"{output} of {k} outputs", averaged=k > 1)
    if isinstance(output, (tuple, list)):
        index = tuple(output)
        if len(index) != len(output_shape) or not all(_is_int(i) for i in index) or not all(
                -d <= int(i) < d for i, d in zip(index, output_shape)):
            got = Positions(index, as_vector=True) if all(_is_int(i) for i in index) else Value(index)
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {index} into the model's "
                                   "per-sample output {shape} {output_shape}. Got {got} instead.", argument="output",
                                   function=func, index=Words("a tuple index", "a vector of 1-based indices"),
                                   shape=Words("shape", "dims"), output_shape=Shape(output_shape, worded=False),
                                   got=got)
        flat = int(np.ravel_multi_index(tuple(int(i) % d for i, d in zip(index, output_shape)),
                                        output_shape))
        one_hot = np.zeros(k)
        one_hot[flat] = 1.0
        shown = Positions([int(i) % d for i, d in zip(index, output_shape)], as_vector=True)
        return weighted(one_hot, Phrase(text("output {index}", index=shown)))
    index = int(output)
    if not -k <= index < k:
        # R's outputs run from 1 to k and have no negative indices.
        raise SeqimpValueError(
            "The '{argument}' {parameter} of {function} must be {an_int} in the range [{low}, {high}] (the model has "
            "{k} outputs per sample, {shape}), or one of {options}. Got {got} instead.", argument="output",
            function=func, low=Words(str(-k), "1"), high=Position(k - 1), k=k, shape=Shape(output_shape),
            options=Options(reductions), got=Position(index))
    one_hot = np.zeros(k)
    one_hot[index % k] = 1.0
    return weighted(one_hot, Phrase(text("output {index}", index=Position(index % k))))


class SelectedOutput(PredictorWrapper):
    """A predictor whose predictions are the selected output, shape (m,), of the wrapped one.

    ``output`` is resolved against the first chunk's per-sample shape; every later chunk must have the
    same shape (the engine checks). Everything else (prepare, chunk sizes, concurrency) is the wrapped
    predictor's.
    """

    def __init__(self, predictor, output, func):
        super().__init__(predictor)
        self._output = output
        self._func = func
        self._lock = threading.Lock()
        self.selection = None

    def __call__(self, chunk, **arguments):
        predictions = self._predictor(chunk, **arguments)
        with self._lock:
            if self.selection is None:
                self.selection = select_output(self._output, predictions.shape[1:], self._func)
        return self.selection.apply(predictions)

    def resolve(self, data):
        """The selection; resolved here from one row of ``data`` when no chunk ran in this process (the
        engine's chunks ran on joblib workers, n_jobs > 1)."""
        if self.selection is None:
            self(data.to_model_input([block.X[:1] for block in data.blocks]))
        return self.selection


def select_predictions(predictor, output, func):
    """``predictor`` itself when ``output`` is None (the whole prediction), else a :class:`SelectedOutput`."""
    check_output(output, func)
    return predictor if output is None else SelectedOutput(predictor, output, func)
