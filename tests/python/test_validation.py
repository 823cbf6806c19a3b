"""Bad input to permutation_importance and perturbation_importance: every argument, each error naming it.

Also: the caller's arrays are never written, and read-only arrays (R's memory through reticulate) work.
"""

import numpy as np
import pytest
from conftest import require

import seqimp

N, T, F = 24, 4, 3
X = np.random.default_rng(0).random((N, T, F))
Y = X.sum(axis=(1, 2))


def model(x):
    return np.asarray(x, dtype=np.float64).sum(axis=(1, 2))


def seq_model(x):
    return np.asarray(x, dtype=np.float64).sum(axis=2)  # (n, T)


def prob_model(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64).sum(axis=(1, 2)) + T * F / 2))


def call(func, **overrides):
    args = {"model": model, "X": X}
    if func == "permutation_importance":
        args["y"] = Y
    args.update(overrides)
    fn = getattr(seqimp, func)
    positional = [args.pop("model"), args.pop("X")]
    if func == "permutation_importance":
        positional.append(args.pop("y"))
    return fn(*positional, **args)


BOTH = ("permutation_importance", "perturbation_importance")

# (argument, bad value, exception, message fragment). Each message must name the argument.
COMMON = [
    ("model", None, TypeError, r"'model' parameter of {f} must be a Keras model.*Got None"),
    ("model", 3, TypeError, r"'model' parameter of {f} must be a Keras model.*type int"),
    ("model", lambda x: x.sum(), ValueError, r"model returned predictions of shape \(\)"),
    ("model", lambda x: 1 / 0, ValueError, r"model \(callable\) failed on input of shape.*ZeroDivisionError"),
    ("X", None, TypeError, r"'X' parameter of {f} is required"),
    ("X", np.zeros(N), ValueError, r"X must be 3-D .* got 1-D input"),
    ("X", np.zeros((N, 2, 2, 2)), ValueError, r"X must be 3-D .* got 4-D input"),
    ("X", np.zeros((0, T, F)), ValueError, r"X must not be empty"),
    ("X", np.zeros((N, 0, F)), ValueError, r"X must not be empty"),
    ("X", np.where(np.arange(N * T * F).reshape(N, T, F) == 5, np.nan, X), ValueError,
     r"X must be finite .* index \(0, 1, 2\)"),
    ("X", np.where(np.arange(N * T * F).reshape(N, T, F) == 0, np.inf, X), ValueError, r"X must be finite"),
    ("X", np.full((N, T, F), "a"), TypeError, r"X must hold numbers only"),
    ("X", np.array([[[1 + 1j]]] * N), TypeError, r"X must hold real numbers"),
    ("X", [[1.0, 2.0], [3.0]], TypeError, r"X must be array-like of numbers"),
    ("n_repeats", 0, ValueError, r"The 'n_repeats' parameter of {f} must be an int in the range \[1, inf\). "
                                 r"Got 0 instead"),
    ("n_repeats", -2, ValueError, r"'n_repeats' parameter of {f}.*Got -2 instead"),
    ("n_repeats", 1.5, TypeError, r"'n_repeats' parameter of {f}.*Got 1.5 instead"),
    ("n_repeats", "3", TypeError, r"'n_repeats' parameter of {f}.*Got '3' instead"),
    ("n_repeats", True, TypeError, r"'n_repeats' parameter of {f}.*Got True instead"),
    ("n_repeats", None, TypeError, r"'n_repeats' parameter of {f}.*Got None instead"),
    ("batch_size", 0, ValueError, r"The 'batch_size' parameter of {f} must be an int in the range \[1, inf\) "
                                  r"or None. Got 0 instead"),
    ("batch_size", -1, ValueError, r"'batch_size' parameter of {f}.*Got -1 instead"),
    ("batch_size", 2.5, TypeError, r"'batch_size' parameter of {f}.*Got 2.5 instead"),
    ("batch_size", "64", TypeError, r"'batch_size' parameter of {f}.*Got '64' instead"),
    ("granularity", "sample", ValueError, r"The 'granularity' parameter of {f} must be one of \{'feature', "
                                          r"'timestep', 'cell'\}. Got 'sample' instead"),
    ("granularity", None, ValueError, r"'granularity' parameter of {f}.*Got None instead"),
    ("groups", {"g": ["x1", "nope"]}, ValueError, r"'groups' parameter of {f}: group 'g' names an unknown "
                                                  r"feature 'nope'. Known features: \['x1', 'x2', 'x3'\]"),
    ("groups", {"g": [5]}, ValueError, r"'groups' parameter of {f}: group 'g' names feature index 5"),
    ("groups", {"g": [-1]}, ValueError, r"'groups' parameter of {f}: group 'g' names feature index -1"),
    ("groups", {"g": []}, ValueError, r"'groups' parameter of {f} has an empty group 'g'"),
    ("groups", {}, ValueError, r"'groups' parameter of {f} must be a non-empty dict"),
    ("groups", ["x1", "x2"], TypeError, r"'groups' parameter of {f} must be a dict"),
    ("feature_names", ["a", "b"], ValueError, r"'feature_names' parameter of {f} must have one name per "
                                              r"feature \(3\). Got 2 names"),
    ("feature_names", ["a", "b", "a"], ValueError, r"'feature_names' parameter of {f} must hold unique names"),
    ("feature_names", "abc", TypeError, r"'feature_names' parameter of {f} must be a sequence of 3 strings"),
    ("feature_names", 3, TypeError, r"'feature_names' parameter of {f} must be a sequence"),
    ("random_state", -1, TypeError, r"'random_state' parameter of {f} must be a non-negative int.*Got -1"),
    ("random_state", 1.5, TypeError, r"'random_state' parameter of {f}.*Got 1.5 instead"),
    ("random_state", "seed", TypeError, r"'random_state' parameter of {f}.*Got 'seed' instead"),
]

PERTURBATION = [
    ("noise", "pink", ValueError, r"The 'noise' parameter of {f} must be one of \{'gaussian', 'uniform', "
                                  r"'zero', 'mean', 'swap'\}. Got 'pink' instead"),
    ("noise", None, ValueError, r"'noise' parameter of {f}.*Got None instead"),
    ("scale", -0.1, ValueError, r"The 'scale' parameter of {f} must be a float in the range \[0.0, inf\). "
                                r"Got -0.1 instead"),
    ("scale", float("nan"), ValueError, r"'scale' parameter of {f}.*Got nan instead"),
    ("scale", float("inf"), ValueError, r"'scale' parameter of {f}.*Got inf instead"),
    ("scale", "big", TypeError, r"'scale' parameter of {f}.*Got 'big' instead"),
    ("scale", [0.1, 0.2], TypeError, r"'scale' parameter of {f}.*type list"),
    ("scale_by_std", "yes", TypeError, r"The 'scale_by_std' parameter of {f} must be a bool. Got 'yes'"),
    ("scale_by_std", 1, TypeError, r"'scale_by_std' parameter of {f} must be a bool. Got 1 instead"),
    ("effect", "max", ValueError, r"The 'effect' parameter of {f} must be one of \{'rms', 'mae'\} or a "
                                  r"callable. Got 'max' instead"),
    ("effect", lambda a, b: a - b, TypeError, r"'effect' callable of {f} must return one number"),
]

PERMUTATION = [
    ("y", None, ValueError, r"The 'y' parameter of {f} is required"),
    ("y", Y[:10], ValueError, r"The 'y' parameter of {f} must have one row per sample of X \(24\); got shape "
                              r"\(10,\)"),
    ("y", 3.0, ValueError, r"'y' parameter of {f} must have one row per sample of X"),
    ("y", np.zeros((N, 3)), ValueError, r"The 'y' parameter of {f} must match the shape of the model's "
                                        r"predictions: \(24,\). Got shape \(24, 3\)"),
    ("y", np.full(N, "a"), TypeError, r"The 'y' parameter of {f} must hold numbers"),
    ("y", np.where(np.arange(N) == 3, np.nan, Y), ValueError, r"The 'y' parameter of {f} must be finite"),
    ("metric", "maee", ValueError, r"The 'metric' parameter of {f} must be one of \{'mae', 'mse', 'rmse', "
                                   r"'r2', 'log_loss', 'accuracy', 'auc'\}.*Got 'maee' instead"),
    ("metric", 5, TypeError, r"'metric' parameter of {f}.*Got 5 instead"),
    ("metric", None, TypeError, r"'metric' parameter of {f}.*Got None instead"),
    ("max_samples", 0, ValueError, r"The 'max_samples' parameter of {f} must be an int in the range \[1, 24\] "
                                   r"\(a number of rows of X\), a float in the range \(0.0, 1.0\].*Got 0 "),
    ("max_samples", 25, ValueError, r"'max_samples' parameter of {f}.*Got 25 instead"),
    ("max_samples", -0.5, ValueError, r"'max_samples' parameter of {f}.*Got -0.5 instead"),
    ("max_samples", 1.5, ValueError, r"'max_samples' parameter of {f}.*Got 1.5 instead"),
    ("max_samples", float("nan"), ValueError, r"'max_samples' parameter of {f}.*Got nan instead"),
    ("max_samples", "half", TypeError, r"'max_samples' parameter of {f}.*Got 'half' instead"),
    ("max_samples", True, TypeError, r"'max_samples' parameter of {f}.*Got True instead"),
]

CASES = [(f, *case) for f in BOTH for case in COMMON] + \
        [("perturbation_importance", *case) for case in PERTURBATION] + \
        [("permutation_importance", *case) for case in PERMUTATION]


@pytest.mark.parametrize("func,argument,value,exc,message", CASES,
                         ids=[f"{c[0].split('_')[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_argument_is_named(func, argument, value, exc, message):
    with pytest.raises(exc, match=message.replace("{f}", func)):
        call(func, **{argument: value})


@pytest.mark.parametrize("func", BOTH)
def test_groups_with_timestep_granularity(func):
    with pytest.raises(ValueError, match=rf"'groups' parameter of {func} works with granularity 'feature' or "
                                         r"'cell'"):
        call(func, granularity="timestep", groups={"g": [0]})


@pytest.mark.parametrize("func", BOTH)
def test_x_that_does_not_fit_a_keras_model_names_the_shapes(func):
    keras = require("keras")
    inp = keras.layers.Input(shape=(T + 1, F))
    net = keras.models.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(inp)))
    with pytest.raises(ValueError, match=r"model expects input of shape \(None, 5, 3\), but X has shape "
                                         r"\(24, 4, 3\)"):
        call(func, model=net)


def test_y_that_does_not_fit_sequence_outputs():
    with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance must match the shape of "
                                         r"the model's predictions: \(24, 4\). Got shape \(24,\)"):
        call("permutation_importance", model=seq_model)
    # The same targets with the right shape are accepted, with or without a trailing axis of 1.
    call("permutation_importance", model=seq_model, y=seq_model(X), n_repeats=1)
    call("permutation_importance", model=seq_model, y=seq_model(X)[:, :, None], n_repeats=1)


def test_probability_metric_on_non_probabilities_names_metric():
    labels = (Y > Y.mean()).astype(float)
    for metric in ("log_loss", "neg_log_loss"):
        with pytest.raises(ValueError, match=rf"'metric' parameter of permutation_importance is '{metric}', "
                                             r"which needs predicted probabilities in \[0, 1\]"):
            call("permutation_importance", y=labels, metric=metric)
    r = call("permutation_importance", model=prob_model, y=labels, metric="log_loss", n_repeats=1)
    assert r.metric == "log_loss"


def test_class_metric_on_continuous_y_names_y():
    for metric in ("accuracy", "auc", "log_loss"):
        with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance must hold class labels"):
            call("permutation_importance", model=prob_model, metric=metric)


def test_auc_with_one_class_names_y():
    with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance holds only the class"):
        call("permutation_importance", model=prob_model, y=np.ones(N), metric="auc")


def test_missing_y_is_a_python_error_naming_it():
    with pytest.raises(TypeError, match="'y'"):
        seqimp.permutation_importance(model, X)


def test_model_with_nan_predictions():
    with pytest.raises(ValueError, match="predictions contain NaN or inf"):
        call("permutation_importance", model=lambda x: np.full(x.shape[0], np.nan))


@pytest.mark.parametrize("func", BOTH)
def test_inputs_are_never_written_and_read_only_inputs_work(func):
    X_in = X.copy()
    y_in = Y.copy()
    before_x, before_y = X_in.copy(), y_in.copy()
    for granularity in ("feature", "timestep", "cell"):
        kwargs = {"y": y_in} if func == "permutation_importance" else {}
        call(func, X=X_in, n_repeats=2, granularity=granularity, random_state=0, **kwargs)
    np.testing.assert_array_equal(X_in, before_x)
    np.testing.assert_array_equal(y_in, before_y)

    X_ro, y_ro = X.copy(), Y.copy()
    X_ro.setflags(write=False)
    y_ro.setflags(write=False)
    kwargs = {"y": y_ro} if func == "permutation_importance" else {}
    ro = call(func, X=X_ro, random_state=0, **kwargs)
    rw = call(func, X=X.copy(), random_state=0, **({"y": Y.copy()} if kwargs else {}))
    np.testing.assert_array_equal(ro.importances, rw.importances)
    # R arrays arrive Fortran-ordered and read-only: the same numbers come out.
    X_f = np.asfortranarray(X)
    X_f.setflags(write=False)
    np.testing.assert_array_equal(call(func, X=X_f, random_state=0, **kwargs).importances, rw.importances)


@pytest.mark.parametrize("func", BOTH)
def test_the_model_cannot_write_into_the_callers_array(func):
    X_in = X.copy()

    def scribbler(x):
        x[...] = 0.0  # a model that writes into its input only spoils seqimp's own buffer
        return np.zeros(x.shape[0])

    kwargs = {"y": Y} if func == "permutation_importance" else {}
    call(func, model=scribbler, X=X_in, n_repeats=1, **kwargs)
    np.testing.assert_array_equal(X_in, X)


@pytest.mark.parametrize("func", BOTH)
def test_accepted_forms_of_common_arguments(func):
    # R passes every number as a double: whole floats are accepted where an int is asked for.
    kwargs = {"y": list(Y)} if func == "permutation_importance" else {}
    r = call(func, X=X.tolist(), n_repeats=2.0, batch_size=10.0, random_state=np.random.default_rng(1),
             feature_names=np.array(["a", "b", "c"]), groups={"ab": ["a", 1], "c": "c"}, **kwargs)
    assert r.label_names == ["ab", "c"] and r.importances.shape == (2, 2)


@pytest.mark.parametrize("granularity", ["timestep", "cell"])
def test_granularity_below_feature_on_2d_x_is_an_error_not_one_row(granularity):
    """A 2-D X has no timesteps: 'timestep' gave one row 't0' that looked like an answer (issue 23)."""
    X = np.random.default_rng(0).random((50, 3))
    for call in (lambda: seqimp.perturbation_importance(lambda x: x[:, 0], X, granularity=granularity),
                 lambda: seqimp.permutation_importance(lambda x: x[:, 0], X, X[:, 0], granularity=granularity)):
        with pytest.raises(ValueError, match=rf"'granularity' parameter of \w+ is '{granularity}', but X is 2-D "
                                             r"\(samples, features\): there are no timesteps"):
            call()
    several = [X, np.random.default_rng(1).random((50, 2))]
    with pytest.raises(ValueError, match="every input of X is 2-D"):
        seqimp.perturbation_importance(lambda xs: xs[0][:, 0] + xs[1][:, 1], several, granularity=granularity)
