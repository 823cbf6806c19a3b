"""The edge (seqimp.edge): every rpy2 object an argument holds is converted once, before anything runs,
and nothing else is touched. The numbers come from the R data itself, not from seqimp's output."""

import numpy as np
import pytest
from conftest import skip_or_fail

import seqimp
from seqimp.edge import python_arguments
from seqimp.inputs import NamedArray

try:
    import rpy2.robjects as ro
    from rpy2.robjects import default_converter
    from rpy2.robjects.conversion import localconverter
except ImportError:  # pragma: no cover
    skip_or_fail("rpy2 is not installed")


def r(code):
    with localconverter(default_converter):
        return ro.r(code)


def test_python_arguments_are_returned_as_they_are():
    X, names, groups = np.zeros((3, 2)), ["a", "b"], {"g": ["a"]}
    out = python_arguments("f", X=X, feature_names=names, groups=groups, mask=None)
    assert out["X"] is X and out["feature_names"] is names and out["groups"] is groups and out["mask"] is None


def test_r_objects_become_python_once():
    r("x <- array(as.numeric(1:24), dim = c(3, 4, 2), dimnames = list(NULL, NULL, c('a', 'b')))")
    out = python_arguments("f", X=r("x"), y=r("c(1, 2, 3)"), feature_names=r("c('p', 'q')"),
                           groups=r("list(g = c('a', 'b'), h = 'a')"), mask=r("matrix(TRUE, 3, 4)"),
                           mask_value=r("-1"), categorical_features=["a", r("'b'")])
    X = out["X"]
    assert isinstance(X, NamedArray) and X.feature_names == ["a", "b"]
    assert X[1, 2, 0] == 1 + 1 + 2 * 3  # R's x[2, 3, 1]: column-major
    np.testing.assert_array_equal(out["y"], [1.0, 2.0, 3.0])
    assert out["feature_names"] == ["p", "q"]
    assert out["groups"] == {"g": ["a", "b"], "h": ["a"]}
    assert out["mask"].shape == (3, 4) and out["mask"].all()
    assert out["mask_value"] == -1.0
    assert out["categorical_features"] == ["a", "b"]  # a string of length one inside a list is a string


def test_an_r_list_of_inputs_is_a_dict_of_arrays():
    out = python_arguments("f", X=r("list(seq = array(0, dim = c(2, 3, 1)), static = matrix(1, 2, 2))"))
    assert list(out["X"]) == ["seq", "static"]
    assert out["X"]["seq"].shape == (2, 3, 1) and out["X"]["static"].shape == (2, 2)


def test_dimnames_name_the_features_unless_the_caller_does():
    r("set.seed(1); xr <- array(runif(60 * 3 * 2), dim = c(60, 3, 2), dimnames = list(NULL, NULL, c('u', 'v')))")
    model = lambda x: x[:, :, 0].sum(axis=1)  # noqa: E731
    assert seqimp.perturbation_importance(model, r("xr"), random_state=0).feature_names == ("u", "v")
    given = seqimp.perturbation_importance(model, r("xr"), feature_names=r("c('p', 'q')"), random_state=0)
    assert given.feature_names == ("p", "q") and given.importances_mean[1] == 0.0


def test_lofo_takes_r_data_through_the_edge():
    from sklearn.linear_model import LinearRegression

    r("set.seed(2); x2 <- matrix(runif(90 * 3), 90, 3, dimnames = list(NULL, c('u', 'v', 'w'))); "
      "y2 <- 2 * x2[, 1]")
    result = seqimp.lofo_importance(LinearRegression(), r("x2"), r("y2"), cv=3, random_state=0,
                                    progress=False)
    assert result.feature_names == ("u", "v", "w")
    assert result.importances_mean[0] > 0.1 and np.allclose(result.importances_mean[1:], 0.0, atol=1e-9)


def test_an_r_model_becomes_its_predictor_at_the_edge():
    from seqimp.adapters.r_models import RModelPredictor

    r("set.seed(3); d <- data.frame(a = runif(50), b = runif(50)); d$y <- 3 * d$a; fit <- lm(y ~ a + b, d)")
    out = python_arguments("f", model=r("fit"))
    assert isinstance(out["model"], RModelPredictor)
    with pytest.raises(TypeError, match=r"Got an R function or R model \(through rpy2\) instead"):
        seqimp.gradient_importance(r("fit"), r("as.matrix(d[, c('a', 'b')])"))
