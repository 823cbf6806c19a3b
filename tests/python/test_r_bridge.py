"""The rpy2 bridge: R data and R models in, R data.frames out (seqimp.r)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import require_r_package, skip_or_fail

import seqimp

try:
    import rpy2.robjects as ro
    from rpy2.robjects import default_converter, numpy2ri, pandas2ri
    from rpy2.robjects.conversion import localconverter
except ImportError:  # pragma: no cover
    skip_or_fail("rpy2 is not installed")

from seqimp.r import RModelPredictor, from_r, r_model, to_r  # noqa: E402



def r(code):
    with localconverter(default_converter):
        return ro.r(code)


def r_num(code_or_fn, *args):
    """An R value as a Python float, read through R itself (not through seqimp)."""
    fn = r(code_or_fn) if isinstance(code_or_fn, str) else code_or_fn
    with localconverter(default_converter):
        return float(fn(*args)[0])


@pytest.fixture(scope="module")
def r_array():
    """A (60, 7, 3) R array with feature dimnames, made by R's own RNG."""
    return r("""local({
        set.seed(11)
        array(rnorm(60 * 7 * 3), dim = c(60L, 7L, 3L),
              dimnames = list(NULL, paste0("t", 1:7), c("temp", "load", "noise")))
    })""")


def numpy_copy_of(r_obj, shape):
    """The same numbers as a NumPy array, built element by element with R's indexing."""
    values = np.array(list(r("as.vector")(r_obj)), dtype=np.float64)  # R's column-major order
    return values.reshape(shape, order="F")


def linear_sequence_model(x):
    """Uses temp at every step (weight 1), load at the last step (weight 2), never noise."""
    return x[:, :, 0].sum(axis=1) + 2.0 * x[:, -1, 1]


# -- from_r ---------------------------------------------------------------------------------------

def test_from_r_keeps_r_index_meaning_and_dimnames(r_array):
    X, names = from_r(r_array, with_names=True)
    assert names == ["temp", "load", "noise"]
    assert X.shape == (60, 7, 3)
    assert not X.flags.writeable  # a view of R's memory, never written
    get = r("function(x, i, t, f) x[i, t, f]")
    for i, t, f in [(0, 0, 0), (59, 6, 2), (3, 5, 1), (17, 2, 0)]:
        assert X[i, t, f] == r_num(get, r_array, i + 1, t + 1, f + 1)


def test_r_array_and_numpy_array_give_identical_perturbation_importance(r_array):
    X_np = numpy_copy_of(r_array, (60, 7, 3))
    from_numpy = seqimp.perturbation_importance(linear_sequence_model, X_np, n_repeats=3, random_state=5,
                                                feature_names=["temp", "load", "noise"])
    from_rarr = seqimp.perturbation_importance(linear_sequence_model, r_array, n_repeats=3, random_state=5)
    np.testing.assert_array_equal(from_rarr.importances, from_numpy.importances)
    assert from_rarr.label_names == ["temp", "load", "noise"]  # from the dimnames
    assert from_rarr.importances_mean[2] == 0.0  # the model never reads "noise"
    assert from_rarr.importances_mean[0] > 0 and from_rarr.importances_mean[1] > 0


def test_r_array_and_r_vector_target_match_numpy_for_permutation(r_array):
    X_np = numpy_copy_of(r_array, (60, 7, 3))
    y_np = linear_sequence_model(X_np) + 0.1
    y_r = ro.FloatVector(y_np)
    from_numpy = seqimp.permutation_importance(linear_sequence_model, X_np, y_np, n_repeats=4, random_state=3)
    from_rarr = seqimp.permutation_importance(linear_sequence_model, r_array, y_r, n_repeats=4, random_state=3)
    np.testing.assert_array_equal(from_rarr.importances, from_numpy.importances)
    assert from_rarr.baseline_score == pytest.approx(0.1, abs=1e-5)  # MAE of a constant 0.1 offset
    assert from_rarr.importances_mean[2] == 0.0


def test_matrix_colnames_and_data_frame_names_become_feature_names():
    m = r('matrix(c(1, 2, 3, 4, 5, 6), nrow = 2, dimnames = list(c("a", "b"), c("u", "v", "w")))')
    X, names = from_r(m, with_names=True)
    assert names == ["u", "v", "w"]
    np.testing.assert_array_equal(X, [[1, 3, 5], [2, 4, 6]])
    df = r("data.frame(n = 1:3, d = c(0.5, 1.5, 2.5), flag = c(TRUE, FALSE, TRUE))")
    X, names = from_r(df, with_names=True)  # a data.frame is a pandas DataFrame, column by column
    assert names == ["n", "d", "flag"] and list(X.columns) == names
    assert [str(t) for t in X.dtypes] == ["int32", "float64", "bool"]
    np.testing.assert_array_equal(X["d"], [0.5, 1.5, 2.5])
    result = seqimp.perturbation_importance(lambda x: x["d"], df, noise="zero")
    assert result.label_names == ["n", "d", "flag"]
    assert result.params["categorical_features"] == ["flag"]  # a logical column is categorical: swapped, never zeroed
    # Only "d" is read; setting it to zero moves predictions by rms(d).
    np.testing.assert_allclose(result.importances_mean, [0, np.sqrt(np.mean([0.25, 2.25, 6.25])), 0], rtol=1e-12)


def test_integer_arrays_convert_and_r_na_is_rejected_with_its_index():
    X, names = from_r(r("array(1:8, dim = c(2L, 2L, 2L))"), with_names=True)
    assert X.dtype == np.float64 and names is None
    np.testing.assert_array_equal(X[:, 1, 1], [7, 8])
    with pytest.raises(ValueError, match=r"finite.*\(1, 0, 1\)"):
        seqimp.perturbation_importance(lambda x: x.sum(axis=(1, 2)), r("array(c(1:5, NA, 7:8), dim = c(2L, 2L, 2L))"))


def test_r_data_frame_columns_of_other_classes_and_bare_factors_are_rejected_at_the_boundary():
    with pytest.raises(TypeError, match=r"numeric, integer, logical, factor or character columns; the columns "
                                        r"\['when \(Date\)', 'm \(matrix\)'\] are not"):
        seqimp.perturbation_importance(lambda x: x["a"], r('local({d <- data.frame(a = 1:3, f = factor(c("x", "y", '
                                                           '"x"))); d$when <- Sys.Date() + 1:3; '
                                                           'd$m <- matrix(1:6, 3); d})'))
    with pytest.raises(TypeError, match="R factor"):
        from_r(r('factor(c("a", "b"))'))


# -- R models -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lm_case():
    """y = 3 x1 + x2 + noise; the lm ignores x3; the data.frame's columns are in the order x3, x1, x2."""
    r("""seqimp_test_env <- local({
        set.seed(42)
        n <- 400
        d <- data.frame(x3 = rnorm(n), x1 = rnorm(n), x2 = rnorm(n))
        d$y <- 3 * d$x1 + 1 * d$x2 + rnorm(n, sd = 0.1)
        fit <- lm(y ~ x1 + x2, data = d)
        environment()
    })""")
    env = r("seqimp_test_env")
    yield env["fit"], r('seqimp_test_env$d[, c("x3", "x1", "x2")]'), r("seqimp_test_env$d$y")
    r("rm(seqimp_test_env)")


def test_r_lm_on_a_data_frame_is_explained_by_column_name(lm_case):
    fit, X, _ = lm_case
    result = seqimp.perturbation_importance(fit, X, noise="zero", random_state=0)
    assert result.label_names == ["x3", "x1", "x2"]
    # Zeroing x_j moves an lm's predictions by b_j * x_j exactly, so the RMS change is |b_j| * rms(x_j).
    x = from_r(X)  # float64 columns, which the model gets in full precision
    b1 = r_num('function(f) coef(f)[["x1"]]', fit)
    b2 = r_num('function(f) coef(f)[["x2"]]', fit)
    expected = [0.0, abs(b1) * np.sqrt(np.mean(x["x1"] ** 2)), abs(b2) * np.sqrt(np.mean(x["x2"] ** 2))]
    np.testing.assert_allclose(result.importances_mean, expected, rtol=1e-12)
    assert result.importances_mean[0] == 0.0  # a positional mix-up of columns would make this non-zero
    assert result.to_frame(sort=True)["feature"].tolist() == ["x1", "x2", "x3"]


def test_r_lm_permutation_importance_ranks_by_coefficient(lm_case):
    fit, X, y = lm_case
    result = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=10, random_state=0)
    mean = dict(zip(result.label_names, result.importances_mean))
    assert mean["x3"] == 0.0
    # Permuting x_j in a linear model raises the MSE by about 2 b_j^2 Var(x_j): 18 and 2 here.
    assert mean["x1"] == pytest.approx(18, rel=0.25) and mean["x2"] == pytest.approx(2, rel=0.25)
    assert result.baseline_score == pytest.approx(0.01, rel=0.3)  # the noise variance
    assert result.to_frame(sort=True)["feature"].tolist() == ["x1", "x2", "x3"]


def test_r_glm_predict_arguments_are_passed_to_predict():
    fit = r("""local({
        set.seed(1)
        d <- data.frame(a = rnorm(200), b = rnorm(200))
        d$z <- rbinom(200, 1, plogis(2 * d$a))
        glm(z ~ a + b, family = binomial, data = d)
    })""")
    X = r("function(f) f$data[, c('a', 'b')]")(fit)
    fitted = np.array(list(r("fitted")(fit)))
    predictor = r_model(fit, type="response", feature_names=["a", "b"])
    predictions = predictor(from_r(X).astype(np.float32))
    np.testing.assert_allclose(predictions, fitted, rtol=1e-5)  # probabilities, not the link
    link = r_model(fit, feature_names=["a", "b"])(from_r(X).astype(np.float32))
    np.testing.assert_allclose(1 / (1 + np.exp(-link)), fitted, rtol=1e-5)


def test_r_function_gets_an_r_array_with_dimnames_once_per_chunk(r_array):
    r("seqimp_test_calls <- 0L")
    f = r("""function(x) {
        seqimp_test_calls <<- seqimp_test_calls + 1L
        stopifnot(length(dim(x)) == 3L)
        x[, 7, "load"] * 2 + x[, 1, "temp"]
    }""")
    X_np = numpy_copy_of(r_array, (60, 7, 3))
    result = seqimp.perturbation_importance(f, r_array, noise="zero", n_repeats=2, random_state=0)
    # rows to score: 60 * (1 baseline + 3 labels * 2 repeats) = 420, all in one R call
    assert r_num("function() seqimp_test_calls") == 1
    x32 = X_np.astype(np.float32).astype(np.float64)
    expected = [np.sqrt(np.mean(x32[:, 0, 0] ** 2)), 2 * np.sqrt(np.mean(x32[:, 6, 1] ** 2)), 0.0]
    np.testing.assert_allclose(result.importances_mean, expected, rtol=1e-6)
    r("seqimp_test_calls <- 0L")
    chunked = seqimp.perturbation_importance(f, r_array, noise="zero", n_repeats=2, random_state=0,
                                             batch_size=100)
    assert r_num("function() seqimp_test_calls") == 5  # ceil(420 / 100)
    np.testing.assert_array_equal(chunked.importances, result.importances)
    r("rm(seqimp_test_calls)")


def test_r_function_on_2d_data_gets_a_matrix_with_column_names():
    f = r('function(x) { stopifnot(is.matrix(x)); x[, "b"] - x[, "a"] }')
    X = np.array([[1.0, 4.0], [2.0, 8.0], [3.0, 1.0]])
    result = seqimp.perturbation_importance(f, X, noise="zero", feature_names=["a", "b"])
    np.testing.assert_allclose(result.importances_mean, [np.sqrt(14 / 3), np.sqrt(81 / 3)], rtol=1e-6)


def test_r_model_errors_name_the_problem(lm_case):
    fit, _, _ = lm_case
    with pytest.raises(ValueError, match=r"uses the variables \['x1', 'x2'\].*\['p', 'q', 'r'\]"):
        seqimp.perturbation_importance(fit, np.zeros((5, 3)), feature_names=["p", "q", "r"])
    with pytest.raises(TypeError, match="predict\\(\\) method.*data.frame"):
        seqimp.perturbation_importance(r("data.frame(a = 1)"), np.zeros((5, 1)))
    classifier = r('function(x) factor(ifelse(x[, 1] > 0, "yes", "no"))')
    with pytest.raises(ValueError, match="returned factor, not numbers"):
        seqimp.perturbation_importance(classifier, np.ones((4, 2)))


def test_r_s4_model_with_a_predict_method_is_called_through_its_s4_generic():
    r("""suppressMessages({
        setClass("SeqimpTestLinear", representation(w = "numeric"), where = globalenv())
        setMethod("predict", "SeqimpTestLinear", where = globalenv(),
                  function(object, newdata, ...) as.matrix(newdata) %*% object@w)
    })""")
    try:
        model = r('new("SeqimpTestLinear", w = c(2, 0, -1))')
        predictor = r_model(model)
        assert isinstance(predictor, RModelPredictor) and predictor.description == "R model"
        X = np.random.default_rng(0).uniform(size=(200, 3))
        result = seqimp.perturbation_importance(model, X, noise="zero", feature_names=["a", "b", "c"])
        np.testing.assert_allclose(result.importances_mean, [2, 0, 1] * np.sqrt(np.mean(X ** 2, axis=0)),
                                   rtol=1e-6)
        with pytest.raises(TypeError, match="predict\\(\\) method.*SeqimpTestPlain"):
            r_model(r('setClass("SeqimpTestPlain", representation(v = "numeric"), where = globalenv())(v = 1)'))
    finally:
        r("""removeMethod("predict", "SeqimpTestLinear", where = globalenv())
             removeClass("SeqimpTestLinear", where = globalenv())
             removeClass("SeqimpTestPlain", where = globalenv())
             if (exists("predict", envir = globalenv(), inherits = FALSE)) rm("predict", envir = globalenv())""")


def test_the_r_code_is_one_file_shared_with_the_r_package_and_the_old_names_still_import():
    from seqimp import _reticulate
    from seqimp.adapters import r_models
    from seqimp.r import RFunctionPredictor as OldFunction, clean_child_environment  # noqa: F401

    assert os.path.samefile(r_models.R_BRIDGE, _reticulate.R_BRIDGE)
    assert OldFunction is r_models.RFunctionPredictor and r_model is r_models.r_model
    assert OldFunction.description == "R function"


# -- to_r -----------------------------------------------------------------------------------------

_DESCRIBE = """function(d) list(
    class = class(d), names = names(d), types = vapply(d, typeof, character(1)),
    is_df = is.data.frame(d), nrow = nrow(d),
    imp_dim = dim(attr(d, "importances")), imp_rownames = rownames(attr(d, "importances")),
    method = attr(d, "method"), metric = attr(d, "metric"), granularity = attr(d, "granularity"),
    baseline_type = typeof(attr(d, "baseline_score")), baseline_na = is.na(attr(d, "baseline_score")),
    columns = attr(d, "importances_columns"))"""


def describe(frame):
    with localconverter(default_converter):
        out = r(_DESCRIBE)(frame)
        return {k: list(out.rx2(k)) for k in out.names}


def column(frame, name):
    with localconverter(default_converter):
        return list(r("function(d, n) d[[n]]")(frame, name))


def test_to_r_feature_granularity_matches_the_r_contract(r_array):
    result = seqimp.perturbation_importance(linear_sequence_model, r_array, n_repeats=3, random_state=1)
    frame = result.to_r()
    d = describe(frame)
    assert d["class"] == ["seqimp_importance", "data.frame"] and d["is_df"] == [True]
    assert d["names"] == ["feature", "importance", "std", "se", "ci_low", "ci_high"]  # no test: RMS is >= 0
    assert d["types"] == ["character"] + ["double"] * 5
    assert d["imp_dim"] == [3, 3] and d["imp_rownames"] == ["temp", "load", "noise"]
    assert d["method"] == ["perturbation"] and d["metric"] == ["rms"] and d["granularity"] == ["feature"]
    assert d["baseline_type"] == ["double"] and d["baseline_na"] == [True]
    assert d["columns"] == ["repeats"] == [result.importances_columns]
    assert column(frame, "feature") == ["temp", "load", "noise"]
    np.testing.assert_array_equal(column(frame, "importance"), result.importances_mean)
    np.testing.assert_array_equal(column(frame, "std"), result.importances_std)
    np.testing.assert_array_equal(column(frame, "se"), result.importances_se)
    np.testing.assert_array_equal(column(frame, "ci_low"), result.confidence_interval()[:, 0])
    with localconverter(default_converter):
        matrix = np.array(r("function(d) attr(d, 'importances')")(frame))  # rpy2 gives R's shape
        df = list(r("function(d) attr(d, 'inference_df')")(frame))
    np.testing.assert_array_equal(matrix, result.importances)
    assert df == [result.inference["df"]]


def test_to_r_carries_p_values(r_array):
    X = from_r(r_array)
    y = linear_sequence_model(X) + np.random.default_rng(0).normal(size=len(X))
    result = seqimp.permutation_importance(linear_sequence_model, r_array, y, metric="mse", random_state=1)
    frame = result.to_r()
    np.testing.assert_array_equal(column(frame, "p_value"), result.pvalues)
    np.testing.assert_array_equal(column(frame, "ci_high"), result.confidence_interval()[:, 1])


def test_to_r_timestep_and_cell_granularity_have_1_based_integer_timesteps(r_array):
    by_step = seqimp.perturbation_importance(linear_sequence_model, r_array, granularity="timestep",
                                             noise="zero")
    frame = to_r(by_step)
    d = describe(frame)
    assert d["names"] == ["feature", "timestep", "importance", "std", "se", "ci_low", "ci_high"]
    assert d["types"] == ["character", "integer"] + ["double"] * 5
    assert column(frame, "feature") == ["(all)"] * 7
    assert column(frame, "timestep") == [1, 2, 3, 4, 5, 6, 7]
    assert d["granularity"] == ["timestep"] and d["imp_rownames"] == [f"t{t + 1}" for t in range(7)]  # 1-based, as R counts
    # The last timestep carries temp and 2 * load, so it matters most.
    assert np.argmax(column(frame, "importance")) == 6
    cells = to_r(seqimp.perturbation_importance(linear_sequence_model, r_array, granularity="cell", noise="zero"))
    assert column(cells, "timestep")[:4] == [1, 1, 1, 2]
    assert column(cells, "feature")[:4] == ["temp", "load", "noise", "temp"]
    assert describe(cells)["nrow"] == [21]


def test_to_r_carries_the_baseline_score(lm_case):
    fit, X, y = lm_case
    result = seqimp.permutation_importance(fit, X, y, metric="mae", n_repeats=2, random_state=0)
    d = describe(result.to_r())
    assert d["baseline_na"] == [False] and d["metric"] == ["mae"] and d["method"] == ["permutation"]
    assert r_num("function(d) attr(d, 'baseline_score')", result.to_r()) == result.baseline_score


def test_to_r_carries_extra_with_1_based_folds_and_label_rows(r_array):
    """Every extra diagnostic reaches R (issue 23, item 9), rows counted from 1."""
    mask = np.ones((60, 7), dtype=bool)
    mask[:10, :3] = False
    result = seqimp.perturbation_importance(linear_sequence_model, r_array, granularity="timestep", mask=mask,
                                            noise="zero")
    frame = to_r(result)
    with localconverter(default_converter):
        n_real = list(r("function(d) attr(d, 'extra')$n_real_samples")(frame))
        keys = list(r("function(d) attr(attr(d, 'extra'), 'label_extras')")(frame))
    assert n_real == [50, 50, 50, 60, 60, 60, 60] == result.extra["n_real_samples"].tolist()
    assert keys == ["n_real_samples"]  # the R package's `[` cuts these with the rows (testthat)
    from sklearn.linear_model import LinearRegression

    X2 = np.random.default_rng(0).random((40, 3))
    lofo = seqimp.lofo_importance(LinearRegression(), X2, X2 @ [1.0, 2.0, 0.0], cv=2, random_state=0,
                                  progress=False)
    with localconverter(default_converter):
        test_rows = list(r("function(d) attr(d, 'extra')$folds[[1]][[2]]")(to_r(lofo)))
        scores = np.array(r("function(d) attr(d, 'extra')$scores")(to_r(lofo)))
    assert test_rows == (lofo.extra["folds"][0][1] + 1).tolist()  # R counts rows from 1
    np.testing.assert_array_equal(scores, lofo.extra["scores"])


def test_to_r_ignores_the_callers_conversion_rules(r_array):
    result = seqimp.perturbation_importance(linear_sequence_model, r_array, random_state=0)
    with localconverter(default_converter + numpy2ri.converter + pandas2ri.converter):
        frame = result.to_r()
        X, names = from_r(r_array, with_names=True)
    assert type(frame).__module__.startswith("rpy2.")  # an R data.frame, not a pandas one
    assert names == ["temp", "load", "noise"] and X.shape == (60, 7, 3)


# -- process health -------------------------------------------------------------------------------

def run_python(code):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_a_python_process_using_seqimp_r_exits_with_status_0():
    proc = run_python("""
        import numpy as np, seqimp, seqimp.r
        import rpy2.robjects as ro
        fit = ro.r('local({d <- data.frame(a = rnorm(50), b = rnorm(50)); d$y <- d$a; lm(y ~ a + b, d)})')
        result = seqimp.perturbation_importance(fit, np.random.default_rng(0).normal(size=(50, 2)),
                                                feature_names=["a", "b"], random_state=0)
        frame = result.to_r()
        print("ok", ro.r("nrow")(frame)[0], ro.r('function() "reticulate" %in% loadedNamespaces()')()[0])
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok", "2", "False"]  # and reticulate was never loaded inside rpy2's R
    assert "GIL" not in proc.stderr and "Abort" not in proc.stderr


def test_plain_numpy_use_never_imports_rpy2():
    proc = run_python("""
        import sys, numpy as np, seqimp
        seqimp.perturbation_importance(lambda x: x[:, :, 0].sum(axis=1), np.ones((4, 3, 2)))
        print(any(m == "rpy2" or m.startswith("rpy2.") for m in sys.modules))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


def test_to_r_carries_attributions_as_an_r_array(r_array):
    import dataclasses

    result = seqimp.perturbation_importance(linear_sequence_model, r_array, random_state=0)
    attributions = np.arange(60 * 7 * 3, dtype=np.float64).reshape(60, 7, 3)
    with_attributions = dataclasses.replace(result, attributions=attributions)
    frame = with_attributions.to_r()
    assert with_attributions.importances_columns == "repeats"  # by method: perturbation has repeats
    gradient_like = dataclasses.replace(with_attributions, method="saliency")
    assert gradient_like.importances_columns == "samples" and "n_samples=" in repr(gradient_like)
    assert describe(gradient_like.to_r())["columns"] == ["samples"]
    assert dataclasses.replace(result, method="lofo").importances_columns == "folds"
    assert dataclasses.replace(result, method="olden").importances_columns == "repeats"
    get = r("function(d, i, t, f) attr(d, 'attributions')[i, t, f]")
    assert r_num(get, frame, 60, 7, 3) == attributions[59, 6, 2]
    assert r_num(get, frame, 2, 5, 1) == attributions[1, 4, 0]
    assert r_num("function(d) is.null(attr(d, 'attributions'))", result.to_r()) == 1.0  # TRUE: none


# -- the R package returns the same frame ----------------------------------------------------------

def test_to_r_frame_is_identical_to_the_r_packages(tmp_path, r_array):
    require_r_package("perturbation_importance")
    model_code = 'function(x) x[, , "temp"] %*% rep(1, 7) + 2 * x[, 7, "load"]'
    result = seqimp.perturbation_importance(r(model_code), r_array, n_repeats=3, granularity="cell",
                                            random_state=4)
    python_rds = tmp_path / "from_python.rds"
    array_rds = tmp_path / "x.rds"
    r("saveRDS")(result.to_r(), str(python_rds))
    r("saveRDS")(r_array, str(array_rds))
    script = f"""
        suppressMessages(library(seqimp))
        x <- readRDS("{array_rds}")
        from_r <- perturbation_importance({model_code}, x, n_repeats = 3L, granularity = "cell", seed = 4L)
        from_python <- readRDS("{python_rds}")
        cat(identical(from_r, from_python), "\\n")
        if (!identical(from_r, from_python)) {{ str(from_r); str(from_python) }}
    """
    proc = subprocess.run(["Rscript", "-e", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[0] == "TRUE", proc.stdout[-3000:]


def test_an_r_factor_target_is_rejected_naming_y():
    with pytest.raises(TypeError, match=r"^y must hold numbers; got an R factor"):
        seqimp.permutation_importance(lambda x: x[:, 0], np.ones((3, 2)), r('factor(c("a", "b", "a"))'))


def test_child_pythons_still_start_after_r_is_loaded():
    # rpy2 prepends R's library path (with Debian's libpython in it) to LD_LIBRARY_PATH when it starts R;
    # a child Python (a joblib or Dask worker) then loaded the wrong libpython and failed in _ssl.
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import ssl; print('ok')"], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
