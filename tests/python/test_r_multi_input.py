"""Several inputs and masks through rpy2: an R named list of arrays is X, an R logical matrix is the
mask, and an R function gets a named list of arrays whose last dimnames name the features."""

import numpy as np
import pytest
from conftest import require

import seqimp

ro = require("rpy2.robjects")
from rpy2.robjects import default_converter  # noqa: E402
from rpy2.robjects.conversion import localconverter  # noqa: E402


def r(code):
    with localconverter(default_converter):
        return ro.r(code)


@pytest.fixture(scope="module")
def r_inputs():
    return r("""local({
      set.seed(4)
      list(seq = array(rnorm(200 * 4 * 2), c(200, 4, 2), dimnames = list(NULL, NULL, c("temp", "load"))),
           static = matrix(rnorm(200 * 2), 200, 2, dimnames = list(NULL, c("age", "site"))))
    })""")


def _numpy(r_inputs):
    with localconverter(default_converter):
        seq = np.array(r_inputs.rx2("seq"))
        static = np.array(r_inputs.rx2("static"))
    return {"seq": seq, "static": static}


def python_model(x):
    return 0.5 * x["seq"][:, :, 0].sum(1) + x["seq"][:, :, 1].sum(1) + 2.0 * x["static"][:, 0]


def test_an_r_named_list_is_a_dict_of_inputs_with_its_dimnames(r_inputs):
    from_r = seqimp.perturbation_importance(python_model, r_inputs, n_repeats=2, random_state=0)
    from_numpy = seqimp.perturbation_importance(python_model, _numpy(r_inputs), n_repeats=2, random_state=0,
                                                feature_names={"seq": ["temp", "load"], "static": ["age", "site"]})
    assert from_r.label_names == ["temp", "load", "age", "site"]
    np.testing.assert_array_equal(from_r.importances, from_numpy.importances)
    assert from_r.importances[3].tolist() == [0.0, 0.0]


def test_an_r_function_gets_a_named_list_with_dimnames(r_inputs):
    f = r("""function(x) {
      stopifnot(identical(names(x), c("seq", "static")), identical(dimnames(x$seq)[[3]], c("temp", "load")),
                identical(colnames(x$static), c("age", "site")))
      0.5 * rowSums(x$seq[, , "temp"]) + rowSums(x$seq[, , "load"]) + 2 * x$static[, "age"]
    }""")
    a = seqimp.perturbation_importance(f, r_inputs, noise="zero", random_state=0)
    b = seqimp.perturbation_importance(python_model, r_inputs, noise="zero", random_state=0)
    np.testing.assert_allclose(a.importances, b.importances, rtol=1e-6)


def test_an_r_logical_matrix_is_the_mask(r_inputs):
    real = r("local({set.seed(5); l <- sample(1:4, 200, TRUE); outer(l, 1:4, function(l, t) t > 4 - l)})")
    with localconverter(default_converter):
        mask = np.array(real).astype(bool)
    a = seqimp.permutation_importance(python_model, r_inputs, python_model(_numpy(r_inputs)), mask=real,
                                      random_state=0)
    b = seqimp.permutation_importance(python_model, r_inputs, python_model(_numpy(r_inputs)), mask=mask,
                                      random_state=0)
    np.testing.assert_array_equal(a.importances, b.importances)
    assert a.params["mask"] == "mask argument"


def test_to_r_of_a_two_input_result_marks_2d_features_without_timestep(r_inputs):
    result = seqimp.perturbation_importance(python_model, r_inputs, granularity="timestep", noise="zero")
    frame = seqimp.r.to_r(result)
    with localconverter(default_converter):
        steps = list(r("function(d) d$timestep")(frame))
        features = list(r("function(d) d$feature")(frame))
    assert features == ["(all)"] * 4 + ["age", "site"]
    assert steps[:4] == [1, 2, 3, 4] and all(s == ro.NA_Integer for s in steps[4:])


def test_a_data_frame_among_r_inputs_reaches_an_r_function_as_a_data_frame_with_factors():
    inputs = r("""local({
      set.seed(6)
      list(seq = array(rnorm(120 * 3 * 2), c(120, 3, 2), dimnames = list(NULL, NULL, c("temp", "load"))),
           static = data.frame(age = rnorm(120), site = factor(sample(c("n", "s"), 120, TRUE), levels = c("s", "n"))))
    })""")
    f = r("""function(x) {
      stopifnot(is.array(x$seq), is.data.frame(x$static), identical(levels(x$static$site), c("s", "n")))
      rowSums(x$seq[, , "temp"]) + 2 * (x$static$site == "n")
    }""")
    result = seqimp.perturbation_importance(f, inputs, noise="gaussian", random_state=0)
    assert result.label_names == ["temp", "load", "age", "site"]
    assert result.params["categorical_features"] == ["site"]
    assert result.importances_mean[1] == 0.0 and result.importances_mean[2] == 0.0
    assert result.importances_mean[3] > 0
