"""R data.frames through rpy2: factors, characters and logicals become pandas columns the core treats as
categorical, and an R model gets every chunk back as an R data.frame with the same column types and
levels (issue 12: an R data.frame with a factor is explained through an R lm)."""

import os
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import require, require_r_package

import seqimp

ro = require("rpy2.robjects")
from rpy2.robjects import default_converter  # noqa: E402
from rpy2.robjects.conversion import localconverter  # noqa: E402

from seqimp.adapters.r_models import r_frame  # noqa: E402
from seqimp.r import from_r, r_model  # noqa: E402

LEVELS = ["lo", "mid", "hi"]


def r(code):
    with localconverter(default_converter):
        return ro.r(code)


def r_numbers(code, *args):
    with localconverter(default_converter):
        return np.array(list(ro.r(code)(*args)), dtype=np.float64)


@pytest.fixture(scope="module")
def lm_case():
    """y = 2 num + (0, 1, 3)[fac] + noise; the lm reads num and fac, never junk. The data.frame's levels
    are not in alphabetical order, so a factor rebuilt from sorted values would have them wrong."""
    r("""seqimp_frames_env <- local({
        set.seed(7)
        n <- 400
        d <- data.frame(num = rnorm(n), fac = factor(sample(c("lo", "mid", "hi"), n, TRUE),
                                                     levels = c("lo", "mid", "hi")),
                        junk = rnorm(n))
        d$y <- 2 * d$num + c(lo = 0, mid = 1, hi = 3)[as.character(d$fac)] + rnorm(n, sd = 0.1)
        fit <- lm(y ~ num + fac, data = d)
        environment()
    })""")
    env = r("seqimp_frames_env")
    X = r('seqimp_frames_env$d[c("num", "fac", "junk")]')
    yield env["fit"], X, r_numbers("function() seqimp_frames_env$d$y")
    r("rm(seqimp_frames_env)")


def lm_in_python(fit):
    """The lm's predictions computed in NumPy from a pandas chunk: b0 + b_num num + b_fac[fac]."""
    coef = dict(zip(list(r("function(f) names(coef(f))")(fit)), r_numbers("function(f) unname(coef(f))", fit)))
    effect = np.array([0.0, coef["facmid"], coef["fachi"]])

    def predict(x):
        assert list(x["fac"].cat.categories) == LEVELS
        return coef["(Intercept)"] + coef["num"] * x["num"].to_numpy() + effect[x["fac"].cat.codes.to_numpy()]

    return predict, effect


def test_an_r_data_frame_becomes_a_pandas_frame_with_categoricals():
    X, names = from_r(r("""data.frame(d = c(0.5, NA, 2), i = c(1L, 2L, 3L),
        f = factor(c("b", NA, "a"), levels = c("b", "a", "z")),
        o = factor(c("lo", "hi", "lo"), levels = c("lo", "hi"), ordered = TRUE),
        s = c("x", NA, "y"), l = c(TRUE, NA, FALSE), stringsAsFactors = FALSE)"""), with_names=True)
    assert names == ["d", "i", "f", "o", "s", "l"]
    assert [str(t) for t in X.dtypes] == ["float64", "int32", "category", "category", "object", "boolean"]
    assert list(X["f"].cat.categories) == ["b", "a", "z"] and not X["f"].cat.ordered  # R's order, unused kept
    assert X["f"].tolist()[0] == "b" and pd.isna(X["f"][1]) and X["f"][2] == "a"
    assert list(X["o"].cat.categories) == ["lo", "hi"] and X["o"].cat.ordered
    assert X["s"].tolist() == ["x", None, "y"]
    assert X["l"].tolist()[0] is True and pd.isna(X["l"][1]) and X["l"].tolist()[2] is False
    assert np.isnan(X["d"][1])  # a missing number: NaN, moved like any value (the R package refuses it)
    seen = []
    seqimp.permutation_importance(lambda x: seen.append(int(x["d"].isna().sum())) or x["i"], X, [1, 2, 3],
                                  n_repeats=2, random_state=0)
    assert sum(seen) == 1 + 6 * 2  # one missing d in every copy: moved, never lost or invented


def test_a_factor_is_explained_through_an_r_lm(lm_case):
    fit, X, y = lm_case
    result = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=10, random_state=3)
    mean = dict(zip(result.label_names, result.importances_mean))
    assert result.params["categorical_features"] == ["fac"]  # a factor is categorical without being named
    assert mean["junk"] == 0.0 and np.all(result.importances[2] == 0.0)  # never read by the lm
    assert mean["fac"] > 0
    # Permuting a variable of a linear model raises the MSE by about 2 Var(its contribution).
    predict, effect = lm_in_python(fit)
    frame = from_r(X)
    contribution = effect[frame["fac"].cat.codes.to_numpy()]
    assert mean["fac"] == pytest.approx(2 * np.var(contribution), rel=0.25)
    assert mean["num"] == pytest.approx(2 * 4 * np.var(frame["num"]), rel=0.25)
    # The same permutations scored by the lm computed in NumPy on the pandas chunks: the same numbers.
    in_python = seqimp.permutation_importance(predict, frame, y, metric="mse", n_repeats=10, random_state=3)
    np.testing.assert_allclose(result.importances, in_python.importances, rtol=1e-9, atol=1e-12)
    assert result.baseline_score == pytest.approx(in_python.baseline_score, rel=1e-9)


def test_an_r_data_frame_and_its_pandas_twin_give_identical_numbers(lm_case):
    fit, X, y = lm_case
    frame = from_r(X)
    twin = pd.DataFrame({"num": frame["num"].to_numpy().copy(),
                         "fac": pd.Categorical(frame["fac"].astype(str), categories=LEVELS),
                         "junk": frame["junk"].to_numpy().copy()})
    from_r_frame = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=4, random_state=1)
    from_pandas = seqimp.permutation_importance(fit, twin, y, metric="mse", n_repeats=4, random_state=1)
    np.testing.assert_array_equal(from_r_frame.importances, from_pandas.importances)
    assert from_r_frame.baseline_score == from_pandas.baseline_score


def test_the_r_model_sees_factors_and_never_a_value_outside_the_data(lm_case):
    fit, X, _ = lm_case
    r("seqimp_frames_seen <- NULL")
    model = r("""function(fit) function(x) {
        stopifnot(is.data.frame(x), is.factor(x$fac), identical(levels(x$fac), c("lo", "mid", "hi")),
                  is.double(x$num), is.double(x$junk), identical(names(x), c("num", "fac", "junk")))
        seqimp_frames_seen <<- c(seqimp_frames_seen, as.character(x$fac))
        predict(fit, newdata = x)
    }""")(fit)
    result = seqimp.perturbation_importance(model, X, noise="gaussian", scale=0.5, n_repeats=2, random_state=0)
    assert result.params["categorical_features"] == ["fac"]  # Gaussian noise never touches a factor: it is swapped
    seen = list(r("function() seqimp_frames_seen")())
    assert set(seen) <= set(LEVELS) and len(seen) == 400 * (1 + 3 * 2)
    with_lm = seqimp.perturbation_importance(fit, X, noise="gaussian", scale=0.5, n_repeats=2, random_state=0)
    np.testing.assert_array_equal(result.importances, with_lm.importances)
    assert with_lm.importances_mean[2] == 0.0 and with_lm.importances_mean[1] > 0
    r("rm(seqimp_frames_seen)")


def test_a_pandas_frame_reaches_an_r_function_as_a_data_frame_with_its_types():
    X = pd.DataFrame({"num": [1.5, 2.5, 3.5, 4.5], "count": np.array([1, 2, 3, 4], dtype=np.int64),
                      "colour": pd.Categorical(["red", None, "blue", "red"], categories=["red", "blue"]),
                      "size": pd.Categorical(["s", "l", "s", "l"], categories=["s", "l"], ordered=True),
                      "name": ["a", None, "c", "d"], "flag": [True, False, True, False],
                      "when": pd.to_datetime(["2024-01-01 00:00", "2024-06-01 00:00", None, "2024-01-01 12:00"])})
    f = r("""function(x) {
        stopifnot(is.double(x$num), is.integer(x$count), identical(levels(x$colour), c("red", "blue")),
                  !is.ordered(x$colour), is.ordered(x$size), identical(levels(x$size), c("s", "l")),
                  is.character(x$name), is.logical(x$flag), inherits(x$when, "POSIXct"))
        x$num + (x$colour %in% "blue") * 10 + ifelse(is.na(x$name), 100, 0) + ifelse(is.na(x$when), 1000, 0)
    }""")
    baseline = r_model(f)(X)
    np.testing.assert_array_equal(baseline, [1.5, 102.5, 1013.5, 4.5])
    when = r('function(x) ifelse(is.na(x$when), "missing", format(x$when, "%Y-%m-%d %H:%M", tz = "UTC"))')
    assert list(when(r_frame(X))) == ["2024-01-01 00:00", "2024-06-01 00:00", "missing", "2024-01-01 12:00"]


def test_missing_values_of_a_factor_reach_the_r_model_as_na():
    X = r("""local({set.seed(2); data.frame(a = runif(50),
        f = factor(sample(c("u", "v", NA), 50, TRUE), levels = c("v", "u")))})""")
    model = r("""function(x) {
        stopifnot(identical(levels(x$f), c("v", "u")))
        x$a + ifelse(is.na(x$f), 5, ifelse(x$f == "u", 1, 0))
    }""")
    result = seqimp.permutation_importance(model, X, r_model(model)(from_r(X)), metric="mae", n_repeats=2,
                                           random_state=0)
    assert result.baseline_score == 0.0 and result.importances_mean[1] > 0


def test_a_fitted_model_reading_variables_x_lacks_is_still_refused(lm_case):
    fit, X, _ = lm_case
    renamed = r('function(d) { names(d) <- c("n", "f", "j"); d }')(X)
    with pytest.raises(ValueError, match=r"uses the variables \['num', 'fac'\].*\['n', 'f', 'j'\]"):
        seqimp.perturbation_importance(fit, renamed)


def test_categorical_features_names_a_numeric_column_to_swap(lm_case):
    fit, X, _ = lm_case
    result = seqimp.perturbation_importance(fit, X, noise="zero", categorical_features=["junk"], random_state=0)
    assert result.params["categorical_features"] == ["fac", "junk"]
    with pytest.raises(ValueError, match=r"categorical_features.*unknown feature 'nope'"):
        seqimp.perturbation_importance(fit, X, categorical_features=["nope"])


def test_the_r_package_gives_the_same_frame_for_a_data_frame_and_an_lm(tmp_path, lm_case):
    require_r_package("permutation_importance")
    fit, X, y = lm_case
    result = seqimp.permutation_importance(fit, X, ro.FloatVector(y), metric="mse", n_repeats=3, random_state=5)
    paths = {name: tmp_path / f"{name}.rds" for name in ("python", "fit", "x", "y")}
    for name, value in (("python", result.to_r()), ("fit", fit), ("x", X), ("y", ro.FloatVector(y))):
        r("saveRDS")(value, str(paths[name]))
    script = f"""
        suppressMessages(library(seqimp))
        from_r <- permutation_importance(readRDS("{paths['fit']}"), readRDS("{paths['x']}"), readRDS("{paths['y']}"),
                                         metric = "mse", n_repeats = 3L, seed = 5L)
        from_python <- readRDS("{paths['python']}")
        cat(identical(from_r, from_python), attr(from_r, "categorical_features"), "\\n")
        if (!identical(from_r, from_python)) {{ str(from_r); str(from_python) }}
    """
    proc = subprocess.run(["Rscript", "-e", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[:2] == ["TRUE", "fac"], proc.stdout[-3000:]
