"""One error path (issue 19): structured errors worded once per language.

The catalogue below is the Python twin of tests/testthat/test-messages.R: each message the issue lists,
exactly as Python callers read it, and as the R package gets it from seqimp._reticulate.call_from_r
(R's argument names, NULL, c(...), 1-based positions, NaN/Inf), with no regular expression in between.
"""

import ast
import pathlib
import pickle

import numpy as np
import pytest
from conftest import require

import seqimp
from seqimp import errors
from seqimp._reticulate import call_from_r

PACKAGE = pathlib.Path(seqimp.__file__).parent

RNG = np.random.default_rng(0)
X = RNG.random((100, 5, 3))


def linear(x):
    return np.asarray(x)[:, :, 0].sum(axis=1)


Y = linear(X)


def raised(fn, *args, **kwargs):
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return info.value


def in_r(fn, *args, **kwargs):
    """The (type, message) the R package raises for this call."""
    outcome = call_from_r(fn, *args, **kwargs)
    assert outcome.error_type is not None, "no error"
    return outcome.error_type, outcome.error_message


# -- fragments, in both languages -------------------------------------------------------------------

@pytest.mark.parametrize("fragment, python, r", [
    (errors.Argument("X"), "X", "x"),
    (errors.Argument("random_state"), "random_state", "seed"),
    (errors.Argument("model_or_builder"), "model_or_builder", "model"),
    (errors.Argument("groups"), "groups", "groups"),
    (errors.Value(None), "None", "NULL"),
    (errors.Value(True), "True", "TRUE"),
    (errors.Value(np.bool_(False)), "False", "FALSE"),
    (errors.Value(float("inf")), "inf", "Inf"),
    (errors.Value(-np.inf), "-inf", "-Inf"),
    (errors.Value(float("nan")), "nan", "NaN"),
    (errors.Value(5.0), "5.0", "5"),
    (errors.Value(2.5), "2.5", "2.5"),
    (errors.Value(np.int64(3)), "3", "3"),
    (errors.Value("a"), "'a'", '"a"'),
    (errors.Value('say "hi"'), "'say \"hi\"'", '"say \\"hi\\""'),
    (errors.Value(["a", "b"]), "['a', 'b']", 'c("a", "b")'),
    (errors.Value((5, 1)), "(5, 1)", "c(5, 1)"),
    (errors.Value({"seq": 3, "static": 2}), "{'seq': 3, 'static': 2}", "list(seq = 3, static = 2)"),
    (errors.Got(0), "0", "0"),
    (errors.Got("3"), "'3'", '"3"'),
    (errors.Got(None), "None", "NULL"),
    (errors.Got([1, 2]), "an object of type list", "c(1, 2)"),
    (errors.Got({"a": 1}), "an object of type dict", "a named list"),
    (errors.Got(np.zeros((2, 3))), "an object of type ndarray", "an array with dims c(2, 3)"),
    (errors.Got(len), "an object of type builtin_function_or_method", "a function"),
    (errors.Shape((10,)), "shape (10,)", "length 10"),
    (errors.Shape((100, 5, 3)), "shape (100, 5, 3)", "dims c(100, 5, 3)"),
    (errors.Shape((None, 5, 4)), "shape (None, 5, 4)", "dims c(NA, 5, 4)"),
    (errors.Shape((100, 5), worded=False), "(100, 5)", "c(100, 5)"),
    (errors.Shape({"seq": (60, 3, 2), "static": (60, 4)}), "shape {'seq': (60, 3, 2), 'static': (60, 4)}",
     "dims list(seq = c(60, 3, 2), static = c(60, 4))"),
    (errors.Position(0), "0", "1"),
    (errors.Positions((3, 0, 1)), "(3, 0, 1)", "[4, 1, 2]"),
    (errors.Positions((4, 0), as_vector=True), "(4, 0)", "c(5, 1)"),
    (errors.Keyword("mask", False), "mask=False", "mask = FALSE"),
    (errors.Keyword("method", "smoothgrad"), "method='smoothgrad'", 'method = "smoothgrad"'),
    (errors.Keyword("feature_names"), "feature_names=", "feature_names ="),
    (errors.Options(["feature", "cell"]), "{'feature', 'cell'}", 'c("feature", "cell")'),
    (errors.text("{an_int} in [1, {inf}) or {None}"), "an int in [1, inf) or None", "an integer in [1, Inf) or NULL"),
    (errors.text("{a_dict} keyed like {X}, {a_callable} or {a_bool}"), "a dict keyed like X, a callable or a bool",
     "a named list keyed like x, an R function or TRUE or FALSE"),
])
def test_each_fragment_words_itself_in_both_languages(fragment, python, r):
    assert fragment.word(errors.PYTHON) == python
    assert fragment.word(errors.R) == r


def test_a_template_refuses_unknown_fields_and_conversions():
    with pytest.raises(KeyError, match="nope"):
        errors.text("{nope}")
    with pytest.raises(ValueError, match="wrap the value"):
        errors.text("{v!r}", v=1)


def test_plain_str_and_int_are_literal_anything_else_is_a_value():
    phrase = errors.text("{name} has {n} rows, {flag}, {ratio:.2f}", name="'literal'", n=7, flag=True, ratio=0.5)
    assert phrase.word(errors.PYTHON) == "'literal' has 7 rows, True, 0.50"
    assert phrase.word(errors.R) == "'literal' has 7 rows, TRUE, 0.50"


def test_the_error_keeps_its_structure_and_pickles():
    err = errors.SeqimpValueError("The '{argument}' {parameter} of {function}: sample {i} of {X} at {cell}; "
                                  "got {got}.", argument="X", function="f", i=errors.Position(4),
                                  cell=errors.Positions((4, 2, 0)), got=errors.Shape((3, 2)))
    assert isinstance(err, ValueError) and isinstance(err, errors.SeqimpError)
    assert (err.argument, err.function, err.got) == ("X", "f", (3, 2))
    assert err.positions == ((4,), (4, 2, 0))
    assert str(err) == "The 'X' parameter of f: sample 4 of X at (4, 2, 0); got shape (3, 2)."
    assert err.in_r() == "The 'x' argument of f: sample 5 of x at [5, 3, 1]; got dims c(3, 2)."
    again = pickle.loads(pickle.dumps(err))  # as joblib and Dask return it from a worker
    assert type(again) is errors.SeqimpValueError and str(again) == str(err) and again.in_r() == err.in_r()
    assert again.positions == err.positions


def test_argument_error_is_the_one_sentence_with_its_exception_type():
    err = errors.argument_error("n_repeats", "f", errors.text("{an_int} in the range [1, {inf})"), 0)
    assert type(err) is errors.SeqimpValueError
    assert str(err) == "The 'n_repeats' parameter of f must be an int in the range [1, inf). Got 0 instead."
    assert err.in_r() == "The 'n_repeats' argument of f must be an integer in the range [1, Inf). Got 0 instead."
    assert err.expected == "an int in the range [1, inf)"
    assert isinstance(errors.argument_error("a", "f", "x", "y", TypeError), TypeError)
    assert errors.r_argument_message("seed", "f", "a whole number", "-1") == \
        "The 'seed' argument of f must be a whole number. Got -1 instead."


def test_call_from_r_words_checks_for_r_and_other_errors_as_they_are():
    assert in_r(seqimp.perturbation_importance, linear, X, n_repeats=0) == (
        "ValueError", "The 'n_repeats' argument of perturbation_importance must be an integer in the range "
                      "[1, Inf). Got 0 instead.")
    assert in_r(seqimp.perturbation_importance, linear, X, random_state="a") == (
        "TypeError", "The 'seed' argument of perturbation_importance must be a non-negative integer, a numpy "
                     "Generator, RandomState or SeedSequence, or NULL. Got \"a\" instead.")
    assert in_r(seqimp.perturbation_importance, linear, X, scale=float("nan"))[1].endswith("Got NaN instead.")
    # Not a seqimp error: its own text, untouched.
    assert in_r(lambda: int("x")) == ("ValueError", "invalid literal for int() with base 10: 'x'")


def test_no_regular_expression_rewrites_a_message():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names} | {node.module for node in ast.walk(tree)
                                               if isinstance(node, ast.ImportFrom) and node.module}
        assert "re" not in imported, f"{path.relative_to(PACKAGE)} imports re"
    from seqimp import _reticulate

    for gone in ("r_message", "r_words", "_R_WORDS", "r_context", "r_fail_message"):
        assert not hasattr(_reticulate, gone)


# -- fit_kwargs: checked against fit's signature before any fit ---------------------------------------

def test_fit_kwargs_a_fit_does_not_take_are_refused_before_any_fit():
    from sklearn.linear_model import Ridge

    Xf, yf = RNG.random((40, 3)), RNG.random(40)
    err = raised(seqimp.lofo_importance, Ridge(), Xf, yf, fit_kwargs={"epochz": 1}, cv=2, progress=False)
    assert type(err) is errors.SeqimpTypeError
    assert str(err) == ("The 'fit_kwargs' parameter of lofo_importance names ['epochz'], which Ridge.fit() does "
                        "not take; it takes ['sample_weight'].")
    assert in_r(seqimp.lofo_importance, Ridge(), Xf, yf, fit_kwargs={"epochz": 1}, cv=2, progress=False)[1] == (
        "The 'fit_kwargs' argument of lofo_importance names c(\"epochz\"), which Ridge.fit() does not take; it "
        "takes c(\"sample_weight\").")
    calls = []

    def build(n_features):  # a builder's model is known at its first fit only
        calls.append(n_features)
        return Ridge()

    err = raised(seqimp.lofo_importance, build, Xf, yf, fit_kwargs={"epochz": 1}, cv=2, progress=False)
    assert type(err) is errors.SeqimpTypeError and "names ['epochz'], which Ridge.fit()" in str(err)
    assert calls == [3]  # one build, no fit, and no FitError around the caller's mistake


def test_fit_kwargs_of_a_keras_model_name_the_unknown_key():
    keras = require("keras")
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    err = raised(seqimp.lofo_importance, model, X, Y, fit_kwargs={"epochz": 1}, cv=2, progress=False)
    assert str(err).startswith("The 'fit_kwargs' parameter of lofo_importance names ['epochz'], which "
                               "Sequential.fit() does not take; it takes ['batch_size', 'epochs', ")
    assert "TensorFlowTrainer" not in str(err)


# -- R models through rpy2 (Python users: Python words) -------------------------------------------------

def test_an_r_function_failure_names_x_and_its_shape_with_r_message_alone(capfd):
    ro = require("rpy2.robjects")
    failing = ro.r('function(x) stop("boom")')
    err = raised(seqimp.perturbation_importance, failing, X, random_state=0)
    assert type(err) is errors.SeqimpValueError
    assert str(err) == "The R function failed on a chunk of perturbed copies of X (X has shape (100, 5, 3)): boom"
    assert err.in_r() == "The R function failed on a chunk of perturbed copies of x (x has dims c(100, 5, 3)): boom"
    assert "boom" not in capfd.readouterr().err  # R's error is not printed to the console besides


def test_an_r_model_reading_variables_x_lacks_names_both():
    ro = require("rpy2.robjects")
    fit = ro.r("local({ d <- data.frame(p = 1:10 / 10, q = (10:1)^2); lm(y ~ p + q, cbind(d, y = d$p)) })")
    err = raised(seqimp.perturbation_importance, fit, RNG.random((20, 2)), feature_names=["p", "r"])
    assert str(err) == ("The R model uses the variables ['q'], which X does not have; X's features are ['p', 'r']. "
                        "Pass X with the model's variables as column names (or feature_names=).")


# -- the catalogue: Python's words unchanged, R's from the same error ---------------------------

def _keras_model(features=3):
    keras = require("keras")
    model = keras.Sequential([keras.Input((5, features)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_sample_weight_of_the_wrong_length():
    call = (seqimp.permutation_importance, linear, X, Y)
    kwargs = dict(sample_weight=np.ones(10), random_state=0)
    assert str(raised(*call, **kwargs)) == ("The 'sample_weight' parameter of permutation_importance must have one "
                                            "row per sample of X (100); got shape (10,).")
    assert in_r(*call, **kwargs)[1] == ("The 'sample_weight' argument of permutation_importance must have one row "
                                        "per sample of x (100); got length 10.")


def test_a_keras_model_of_the_wrong_input_shape():
    model = _keras_model(features=4)
    assert str(raised(seqimp.perturbation_importance, model, X, random_state=0)) == (
        "The model expects input of shape (None, 5, 4), but X has shape (100, 5, 3). Pass X with the model's "
        "timesteps and features.")
    assert in_r(seqimp.perturbation_importance, model, X, random_state=0)[1] == (
        "The model expects input of dims c(NA, 5, 4), but x has dims c(100, 5, 3). Pass x with the model's "
        "timesteps and features.")


def test_a_mask_of_the_wrong_shape():
    call = (seqimp.perturbation_importance, linear, X)
    kwargs = dict(mask=np.ones((100, 4), bool), random_state=0)
    assert str(raised(*call, **kwargs)) == (
        "The 'mask' parameter of perturbation_importance must have shape (samples, timesteps) = (100, 5), one entry "
        "per step, True for a real step. Got shape (100, 4) instead.")
    assert in_r(*call, **kwargs)[1] == (
        "The 'mask' argument of perturbation_importance must have dims (samples, timesteps) = c(100, 5), one entry "
        "per step, TRUE for a real step. Got dims c(100, 4) instead.")


def test_a_baseline_that_is_no_option_or_does_not_broadcast():
    model = _keras_model()
    ig = dict(method="integrated_gradients")
    assert str(raised(seqimp.gradient_importance, model, X, baseline="zero", **ig)) == (
        "The 'baseline' parameter of gradient_importance must be None (zeros), 'mean', or an array that broadcasts "
        "to X's shape. Got 'zero' instead.")
    assert in_r(seqimp.gradient_importance, model, X, baseline="zero", **ig)[1] == (
        "The 'baseline' argument of gradient_importance must be NULL (zeros), \"mean\", or an array that broadcasts "
        "to x's dims. Got \"zero\" instead.")
    assert str(raised(seqimp.gradient_importance, model, X, baseline=np.zeros((2, 2)), **ig)) == (
        "The 'baseline' parameter of gradient_importance must be None (zeros), 'mean', or an array that broadcasts "
        "to X's shape (100, 5, 3), such as shape (3,), (5, 3) or (100, 5, 3). Got an array of shape (2, 2) instead.")
    assert in_r(seqimp.gradient_importance, model, X, baseline=np.zeros((2, 2)), **ig)[1] == (
        "The 'baseline' argument of gradient_importance must be NULL (zeros), \"mean\", or an array that broadcasts "
        "to x's dims c(100, 5, 3), such as dims c(3), c(5, 3) or c(100, 5, 3). Got an array of dims c(2, 2) "
        "instead.")


@pytest.mark.parametrize("func", ["permutation_importance", "gradient_importance"])
def test_an_output_index_outside_the_output(func):
    model = _keras_model()
    args = (model, X, Y) if func == "permutation_importance" else (model, X)
    fn = getattr(seqimp, func)
    err = raised(fn, *args, output=(4, 0))
    assert str(err) == (f"The 'output' parameter of {func} must be a tuple index into the model's per-sample "
                        f"output shape (1,). Got (4, 0) instead.")
    assert err.positions == ((4, 0),)
    assert in_r(fn, *args, output=(4, 0))[1] == (
        f"The 'output' argument of {func} must be a vector of 1-based indices into the model's per-sample output "
        f"dims c(1). Got c(5, 1) instead.")


def test_a_result_describes_its_output_in_each_language():
    from seqimp.r_convert import lek_profile_parts

    frame = seqimp.lek_profile(lambda x: np.stack([x[:, 0, 0], x[:, 0, 1]], axis=1), X, output=1, n_points=3)
    assert frame.attrs["output"] == "output 1"
    assert lek_profile_parts(frame)["output"] == "output 2"


# -- inference (issue 20): why a result has no standard error or test, in each language's words ----------

def test_a_custom_effect_says_why_it_has_no_standard_error():
    from seqimp.r_convert import inference_parts

    r = seqimp.perturbation_importance(linear, X, effect=lambda a, b: float(np.abs(a - b).max()), random_state=0)
    assert r.inference["why_no_se"] == ("a custom effect is not known to be a mean over samples; use effect='rms' "
                                        "or 'mae' for standard errors.")
    err = raised(r.confidence_interval)
    assert type(err) is errors.SeqimpValueError
    assert str(err) == ("This result has no standard errors: a custom effect is not known to be a mean over "
                        "samples; use effect='rms' or 'mae' for standard errors.")
    assert err.in_r() == ("This result has no standard errors: a custom effect is not known to be a mean over "
                          "samples; use effect = \"rms\" or \"mae\" for standard errors.")
    assert inference_parts(r)["why_no_se"] == ("a custom effect is not known to be a mean over samples; use "
                                               "effect = \"rms\" or \"mae\" for standard errors.")


def test_a_metric_without_per_sample_values_says_which_have_them():
    from seqimp.r_convert import inference_parts

    r = seqimp.permutation_importance(linear, X, Y, metric="neg_median_absolute_error", random_state=0)
    assert r.inference["why_no_se"] == (
        "the metric 'neg_median_absolute_error' is not a mean over samples and seqimp knows no per-sample "
        "linearisation of it. Metrics with standard errors: 'mae', 'mse', 'rmse', 'r2', 'log_loss', 'accuracy', "
        "'auc' (and scikit-learn's scorers of them), or a seqimp.metrics.Metric with per_sample=.")
    assert inference_parts(r)["why_no_se"] == (
        "the metric \"neg_median_absolute_error\" is not a mean over samples and seqimp knows no per-sample "
        "linearisation of it. Metrics with standard errors: \"mae\", \"mse\", \"rmse\", \"r2\", \"log_loss\", "
        "\"accuracy\", \"auc\" (and scikit-learn's scorers of them).")


def test_a_scorer_whose_values_cover_one_output_names_the_shape_of_y():
    from sklearn.metrics import get_scorer

    from seqimp.r_convert import inference_parts

    def two(x):
        return np.stack([linear(x), 2 * linear(x)], axis=1)

    r = seqimp.permutation_importance(two, X, two(X), metric=get_scorer("neg_root_mean_squared_error"),
                                      random_state=0)
    assert r.inference["why_no_se"] == (
        "the metric 'neg_root_mean_squared_error' has no per-sample values here: root_mean_squared_error has "
        "per-sample values here for one output; got y of shape (100, 2).")
    assert inference_parts(r)["why_no_se"] == (
        "the metric \"neg_root_mean_squared_error\" has no per-sample values here: root_mean_squared_error has "
        "per-sample values here for one output; got y of dims c(100, 2).")


def test_per_sample_values_that_do_not_average_to_the_metric_are_an_error():
    from seqimp.metrics import Metric

    def mse(y_true, y_pred, sample_weight=None):
        return float(np.mean((y_true - y_pred) ** 2))

    def wrong(y_true, y_pred, sample_weight=None):
        return (y_true - y_pred) ** 2 + 1.0

    err = raised(seqimp.permutation_importance, linear, X, Y + 0.5,
                 metric=Metric(mse, False, "mymse", per_sample=wrong), random_state=0)
    assert type(err) is errors.SeqimpValueError
    assert str(err) == ("The metric 'mymse': its per-sample values average to 1.25, but the metric gives 0.25. "
                        "Per-sample values must average to the metric (weighted by sample_weight where there is "
                        "one).")
    assert err.in_r() == ("The metric \"mymse\": its per-sample values average to 1.25, but the metric gives "
                          "0.25. Per-sample values must average to the metric (weighted by sample_weight where "
                          "there is one).")


def test_inference_arguments_in_each_language():
    r = seqimp.permutation_importance(linear, X, Y, metric="mse", random_state=0)
    assert in_r(r.confidence_interval, 95)[1] == (
        "The 'level' argument of ImportanceResult.confidence_interval must be a number in the range (0, 1), such "
        "as 0.95. Got 95 instead.")
    assert in_r(r.significant, 0.05, correction="fdr")[1] == (
        "The 'correction' argument of ImportanceResult.significant must be one of c(\"holm\", \"bonferroni\", "
        "\"bh\") or NULL. Got \"fdr\" instead.")
    p = seqimp.perturbation_importance(linear, X, random_state=0)
    assert in_r(lambda: p.pvalues)[1].startswith("This result has no p-values: the importance is non-negative")


# -- conditional permutation and SAGE (issue 21) ---------------------------------------------------------

def test_conditional_and_sage_messages_in_each_language(monkeypatch):
    X2 = X[:, 0, :]
    y2 = X2[:, 0]

    def first(x):
        return np.asarray(x)[:, 0]

    err = raised(seqimp.permutation_importance, linear, X, Y, conditional="gauss")
    assert str(err) == ("The 'conditional' parameter of permutation_importance must be None, 'gaussian', 'knn', or an "
                        "object with fit(X_other, X_label) and sample(X_other, rng) methods. Got 'gauss' instead.")
    assert in_r(seqimp.permutation_importance, linear, X, Y, conditional="gauss") == ("ValueError", (
        "The 'conditional' argument of permutation_importance must be NULL, \"gaussian\", \"knn\", or a Python "
        "object with fit(X_other, X_label) and sample(X_other, rng) methods. Got \"gauss\" instead."))
    import seqimp.conditional as conditional

    monkeypatch.setattr(conditional, "MAX_GAUSSIAN_CELLS", 10)
    assert in_r(seqimp.permutation_importance, linear, X, Y, conditional="gaussian")[1] == (
        "The 'conditional' argument of permutation_importance is \"gaussian\", which models the 15 numeric cells of "
        "x (timesteps x features, every input) jointly; seqimp's limit is 10 (the covariance alone grows as the "
        "square). Use conditional = \"knn\", fewer timesteps, or a sampler of your own.")
    assert in_r(seqimp.sage_importance, first, X2, y2, metric="auc")[1] == (
        "The 'metric' argument of sage_importance must be one of c(\"mse\", \"mae\", \"log_loss\") or an R function "
        "loss(y_true, y_pred) returning one loss per sample (SAGE needs per-sample losses). Got \"auc\" instead.")
    assert in_r(seqimp.sage_importance, first, X2, y2, background=X2[:, :2])[1] == (
        "The 'background' argument of sage_importance must be rows like x's: dims c(NA, 3), in x's order. Got "
        "dims c(NA, 2) instead.")
    assert str(raised(seqimp.sage_importance, first, X2, y2, metric=lambda a, b: np.ones(3))) == (
        "The 'metric' parameter of sage_importance: the callable must return one loss per sample, shape (100,); "
        "got shape (3,).")
    assert in_r(seqimp.sage_importance, first, X2, y2, metric=lambda a, b: np.ones(3))[1] == (
        "The 'metric' argument of sage_importance: the function must return one loss per sample, length 100; got "
        "length 3.")
    import pandas as pd

    frame = pd.DataFrame({"a": X2[:, 0], "b": pd.Categorical(np.where(X2[:, 1] > 0.5, "hi", "lo"))})
    assert in_r(seqimp.sage_importance, lambda d: d["a"].to_numpy(), frame, y2, imputer="gaussian")[1] == (
        "The 'imputer' argument of sage_importance is \"gaussian\", which draws numbers; x has categorical features "
        "c(\"b\"), which are never drawn as numbers. Use imputer = \"marginal\".")
    assert in_r(seqimp.sage_importance, first, X2, y2, imputer="gaussian", background=X2)[1] == (
        "The 'background' argument of sage_importance must be NULL with imputer = \"gaussian\": the Gaussian is "
        "estimated on x and draws n_background values per sample and coalition. Got background as well.")
