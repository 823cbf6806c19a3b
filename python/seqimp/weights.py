"""Connection-weight importance for dense networks: Olden's and Garson's methods.

Both read only the weights of a Keras network of Dense layers (biases and activation functions are
ignored, as in the original methods); no data is needed. Olden et al. (2004) found the connection-weight
method the most accurate of the methods they compared; Garson's is kept because users ask for it and
NeuralNetTools reports it. Recurrent, convolutional and attention layers have no input-to-output
connection weights: such models get an error pointing to the gradient and perturbation methods.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import adapters
from .errors import Keyword, SeqimpValueError, Shape, Value, Words
from .checks import check_bool
from .edge import python_arguments
from .outputs import select_output
from .inputs import check_feature_names
from .labels import make_labels
from .result import ImportanceResult

_REDUCTIONS = ("sum", "mean")


def _network(model, output, granularity, groups, feature_names, func):
    """Kernels, the output weight vector, and the labels over the input units laid out as (T, F)."""
    given = python_arguments(func, feature_names=feature_names, groups=groups)
    feature_names, groups = given["feature_names"], given["groups"]
    kernels, in_shape, flattened = adapters.dense_kernels(model, func=func)
    if len(in_shape) == 1:
        T, F = 1, in_shape[0]
    elif len(in_shape) == 2 and flattened:
        T, F = in_shape
    elif len(in_shape) == 2:
        # Dense layers on (T, F) input act on every timestep alike: one weight per feature, no timestep.
        T, F = 1, in_shape[1]
        if granularity != "feature":
            raise SeqimpValueError("The '{argument}' {parameter} of {function} must be {feature} for this model: its "
                                   "Dense layers act on every timestep with the same weights, so weights say nothing "
                                   "per timestep. Got {got} instead. (A Flatten before the first Dense layer gives "
                                   "per-timestep weights.)", argument="granularity", function=func,
                                   feature=Value("feature"), got=Value(granularity))
    else:
        raise SeqimpValueError("{function} supports models whose input is (features,) or (timesteps, features); "
                               "this model's input {is_shape} {shape}.", argument="model", function=func,
                               is_shape=Words("shape is", "dims are"), shape=Shape(in_shape, worded=False))
    if kernels[0].shape[0] != T * F:
        raise SeqimpValueError("{function}: the first Dense layer takes {n} inputs, but the model's input {shape} "
                               "gives {TF}.", argument="model", function=func, n=int(kernels[0].shape[0]),
                               shape=Shape(in_shape), TF=T * F)
    n_out = kernels[-1].shape[1]
    selection = select_output(output, (n_out,), func, reductions=_REDUCTIONS)
    names = check_feature_names(feature_names, F, func)
    layout = SimpleNamespace(n_timesteps=T, n_features=F, feature_names=names)
    granularity, labels = make_labels(layout, granularity, groups, func)
    return kernels, selection, granularity, labels, names


def olden_contributions(kernels, output_weights):
    """Olden's connection weights per input unit: the sum over all paths of the product of weights.

    For one hidden layer, ``W1 @ W2[:, o]``; for more, the chained product ``W1 @ W2 @ ... @ WL``
    (each path from input i to output o contributes the product of its weights, and the matrix
    product sums over the paths). ``output_weights`` combines several outputs (one-hot for one).
    """
    product = kernels[0]
    for kernel in kernels[1:]:
        product = product @ kernel
    return product @ np.asarray(output_weights, dtype=np.float64)


def garson_shares(kernels, output_weights):
    """Garson's relative importance per input unit for at most one hidden layer, as published; sums to 1.

    With input-to-hidden weights ``w`` (inputs x hidden) and ``v_j`` the hidden unit's absolute weight
    to the explained output (``|W2| @ |output_weights|``)::

        c_ji = |w_ij| |v_j| / sum_r |w_rj| |v_j|        Q_i = sum_j c_ji / sum_i sum_j c_ji

    so ``v_j`` cancels wherever it is not 0 (Goh 1995; NeuralNetTools' ``garson.default``,
    R/NeuralNetTools_gar.R in fawda123/NeuralNetTools, computes exactly this). A hidden unit with no
    weight to the output or none from the inputs contributes nothing, where NeuralNetTools returns NaN.
    With no hidden layer the output unit plays the hidden unit's part: Q is ``|w|`` normalised.
    """
    if len(kernels) > 2:
        raise ValueError(f"garson_shares takes at most one hidden layer; got {len(kernels) - 1}.")
    weights = np.abs(np.asarray(output_weights, dtype=np.float64))
    if len(kernels) == 1:
        contributions = np.abs(kernels[0]).T * weights[:, None]
    else:
        v = np.abs(kernels[1]) @ weights
        contributions = np.abs(kernels[0]).T * v[:, None]  # (hidden, inputs)
    return _normalised(_normalised(contributions, axis=1).sum(axis=0))


def garson_layerwise_shares(kernels, output_weights):
    """seqimp's layer-wise extension of Garson's sharing to any depth; sums to 1 (``layerwise=True``).

    Each unit's absolute weight to the output is shared among the units below it in proportion to their
    absolute weights into it, layer by layer: Q is proportional to ``S1 @ S2 @ ... @ S(L-1) @ |WL| w``,
    where ``Sl`` is ``|Wl|`` with each column divided by its sum (a unit with no incoming weight passes
    nothing on). Unlike :func:`garson_shares` the hidden units are weighted by ``|v_j|``, so even with one
    hidden layer this is not the published number.
    """
    share = np.abs(kernels[-1]) @ np.abs(np.asarray(output_weights, dtype=np.float64))
    for kernel in reversed(kernels[:-1]):
        share = _normalised(np.abs(kernel), axis=0) @ share
    return _normalised(share)


def _normalised(values, axis=None):
    """``values`` divided by their sum along ``axis``; a sum of 0 leaves zeros (nothing to share)."""
    total = values.sum(axis=axis, keepdims=axis is not None)
    return np.divide(values, total, out=np.zeros_like(values), where=total > 0)


def _result(method, per_unit, labels, granularity, names, metric, params):
    cells = per_unit.reshape(-1, len(names))
    importances = np.array([[cells[label.cells].sum()] for label in labels])
    return ImportanceResult(method=method, labels=labels, importances=importances, granularity=granularity,
                            metric=metric, feature_names=names, params=params)


def olden_importance(model, *, output=None, granularity="feature", groups=None, feature_names=None):
    """Olden's connection-weight importance of a Keras network of Dense layers.

    For input i and output o, the sum over every path i -> hidden units -> o of the product of the
    weights along it: ``(W1 @ W2 @ ... @ WL)[i, o]``. Signed: positive means the input pushes the
    output up; its size is the importance. Biases and activations are ignored, as in the method.

    Parameters
    ----------
    model : Keras model (Keras 3 or tf_keras)
        A chain of Dense layers; Dropout, noise, Activation and input layers are skipped, and a Flatten
        before the first Dense layer makes every (timestep, feature) cell an input. Any other layer
        (LSTM, Conv1D, attention, normalisation) raises an error that points to the methods that work.
    output : None, int or {"sum", "mean"}, default=None
        The last Dense layer's unit explained. None: the only unit, or the mean over several.
    granularity : {"feature", "timestep", "cell"}, default="feature"
        With a leading Flatten, a feature's importance is the sum over its timesteps' cells (Olden's
        path sums add up). Without one, only "feature" has a meaning.
    groups : dict, default=None
        ``{name: [feature names or indices]}``; a group's importance is the sum over its features.
    feature_names : sequence of str, default=None

    Returns
    -------
    ImportanceResult
        ``importances`` of shape (n_labels, 1), signed.

    Examples
    --------
    >>> import keras, seqimp
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
    ...                           keras.layers.Dense(1)])
    >>> seqimp.olden_importance(model).importances.shape
    (4, 1)
    >>> round(float(seqimp.garson_importance(model).importances_mean.sum()), 6)
    1.0

    References
    ----------
    Olden, Joy, Death (2004). An accurate comparison of methods for quantifying variable importance in
    artificial neural networks using simulated data. Ecological Modelling 178, 389-397.
    """
    func = "olden_importance"
    kernels, selection, granularity, labels, names = _network(model, output, granularity, groups,
                                                              feature_names, func)
    per_unit = olden_contributions(kernels, selection.weights)
    return _result("olden", per_unit, labels, granularity, names, "connection weight (signed)",
                   {"output": selection.description, "n_dense_layers": len(kernels)})


def garson_importance(model, *, output=None, granularity="feature", groups=None, feature_names=None,
                      layerwise=False):
    """Garson's relative importance of a Keras network of Dense layers; the importances sum to 1.

    For one hidden layer, as published (Garson 1991 in Goh 1995's form) and as NeuralNetTools computes
    it: each hidden unit's absolute input weights are normalised over the inputs and summed over the
    hidden units, and the sums are normalised (see :func:`garson_shares`). The hidden-to-output weights
    cancel, so they matter only where one is 0. Unsigned, and known to rank inputs less reliably than
    Olden's method (Olden et al. 2004). Networks with more than one hidden layer are refused unless
    ``layerwise=True``.

    Parameters
    ----------
    model, granularity, groups, feature_names
        As :func:`olden_importance`.
    output : None, int or {"sum", "mean"}, default=None
        The last Dense layer's unit explained. "sum"/"mean" (and None with several units) use the hidden
        units' total absolute weight to all outputs. NeuralNetTools takes one output only.
    layerwise : bool, default=False
        Use seqimp's layer-wise extension (:func:`garson_layerwise_shares`), which also takes networks
        with several hidden layers: each unit's absolute weight to the output is shared among the units
        below it in proportion to their absolute weights into it, layer by layer. It weights hidden
        units by their output weight, so even for one hidden layer it is not the published number
        (it is what garson_importance returned before it followed the published method).

    Returns
    -------
    ImportanceResult
        ``importances`` of shape (n_labels, 1); over all features they sum to 1.

    References
    ----------
    Garson (1991). Interpreting neural-network connection weights. AI Expert 6(4), 46-51.
    Goh (1995). Back-propagation neural networks for modeling complex systems. Artificial Intelligence
    in Engineering 9, 143-151.
    Beck (2018). NeuralNetTools: Visualization and Analysis Tools for Neural Networks. Journal of
    Statistical Software 85(11), 1-20.
    """
    func = "garson_importance"
    layerwise = check_bool(layerwise, "layerwise", func)
    kernels, selection, granularity, labels, names = _network(model, output, granularity, groups,
                                                              feature_names, func)
    if len(kernels) > 2 and not layerwise:
        raise SeqimpValueError(
            "{function} computes Garson's method as published, which is defined for one hidden layer; this model "
            "has {n} hidden Dense layers. NeuralNetTools refuses such networks too. Pass {layerwise} for seqimp's "
            "layer-wise extension, or use olden_importance, whose connection weights are defined for any depth.",
            argument="model", function=func, n=len(kernels) - 1, layerwise=Keyword("layerwise", True))
    shares = garson_layerwise_shares if layerwise else garson_shares
    per_unit = shares(kernels, selection.weights)
    return _result("garson", per_unit, labels, granularity, names, "relative importance (sums to 1)",
                   {"output": selection.description, "n_dense_layers": len(kernels),
                    "layerwise": layerwise})
