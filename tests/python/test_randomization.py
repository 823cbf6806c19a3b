"""randomization_test (Olden & Jackson 2002; Altmann et al. 2010): p-values from refits on permuted y.

A network of Dense layers whose output layer is fitted by least squares (randomization_builders) makes 100
fits affordable; a network trained by Keras' own fit checks the same machinery at a smaller B."""

import json

import numpy as np
import pytest
from conftest import require
from randomization_builders import FailingNet, adam_net, least_squares_net, lstm_net, three_inputs_one_unused

require("keras")

import seqimp  # noqa: E402
from seqimp.lofo import FitError  # noqa: E402
from seqimp.randomization import p_values  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return three_inputs_one_unused()


@pytest.fixture(scope="module")
def olden_99(data):
    X, y = data
    return seqimp.randomization_test("olden", least_squares_net, X, y, n_permutations=99, random_state=0,
                                     progress=False)


def test_olden_strong_inputs_significant_unused_input_not(olden_99):
    r = olden_99
    p = r.inference["pvalues"]
    assert p[:3].tolist() == [0.01, 0.01, 0.01]  # (0 + 1) / (99 + 1): no permuted fit as extreme
    assert p[3] > 0.05
    assert r.inference["null"].shape == (4, 99) and r.extra["null"] is r.inference["null"]
    np.testing.assert_array_equal(r.extra["pvalues"], p)
    assert r.method == "olden" and r.extra["n_fitted"] == 100
    # The observed importances are those of the model fitted on y with the same seed.
    assert np.sign(r.importances_mean[:3]).tolist() == [1.0, -1.0, 1.0]


def test_numbers_do_not_depend_on_n_jobs(data, olden_99):
    X, y = data
    r = seqimp.randomization_test("olden", least_squares_net, X, y, n_permutations=99, random_state=0,
                                  progress=False, n_jobs=2)
    np.testing.assert_array_equal(r.inference["null"], olden_99.inference["null"])
    np.testing.assert_array_equal(r.inference["pvalues"], olden_99.inference["pvalues"])
    np.testing.assert_array_equal(r.importances, olden_99.importances)


def test_permutation_importance_strong_inputs_significant_unused_input_not(data):
    X, y = data
    r = seqimp.randomization_test(seqimp.permutation_importance, least_squares_net, X, y, n_permutations=99,
                                  method_kwargs={"metric": "mse", "n_repeats": 2}, random_state=1,
                                  progress=False)
    p = r.inference["pvalues"]
    assert p[:3].tolist() == [0.01, 0.01, 0.01] and p[3] > 0.05
    assert r.method == "permutation" and r.params["randomization_test"]["n_permutations"] == 99


def test_keras_fit_gives_the_same_numbers_for_any_n_jobs_and_resumes(data, tmp_path):
    X, y = data
    kwargs = dict(fit_kwargs={"epochs": 3, "batch_size": 100}, random_state=3, progress=False)
    one = seqimp.randomization_test("olden", adam_net, X, y, n_permutations=4, **kwargs)
    two = seqimp.randomization_test("olden", adam_net, X, y, n_permutations=4, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.inference["null"], two.inference["null"])
    np.testing.assert_array_equal(one.importances, two.importances)
    # The permuted fits really differ (different y, same initial weights).
    assert np.unique(one.inference["null"][0]).size == 4

    path = tmp_path / "null.jsonl"
    first = seqimp.randomization_test("olden", adam_net, X, y, n_permutations=2, checkpoint=path, **kwargs)
    assert first.extra["n_fitted"] == 3
    again = seqimp.randomization_test("olden", adam_net, X, y, n_permutations=4, checkpoint=path, **kwargs)
    assert again.extra["n_fitted"] == 1 + 2  # the fit on y, and permutations 3 and 4
    np.testing.assert_array_equal(again.inference["null"], one.inference["null"])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["func"] == "randomization_test" and len(lines) == 1 + 4


def test_a_failed_fit_names_its_permutation_and_keeps_the_finished_ones(data, tmp_path):
    X, y = data
    path = tmp_path / "null.jsonl"
    with pytest.raises(FitError, match="permutation 3 of 5 of y.*simulated failure.*2 finished permutations"):
        seqimp.randomization_test("olden", FailingNet(fail_at=4), X, y, n_permutations=5, checkpoint=path,
                                  random_state=0, progress=False)
    resumed = seqimp.randomization_test("olden", FailingNet(), X, y, n_permutations=5, checkpoint=path,
                                        random_state=0, progress=False)
    assert resumed.extra["n_fitted"] == 1 + 3
    fresh = seqimp.randomization_test("olden", least_squares_net, X, y, n_permutations=5, random_state=0,
                                      progress=False)
    np.testing.assert_array_equal(resumed.inference["null"], fresh.inference["null"])
    with pytest.raises(ValueError, match="different y"):
        seqimp.randomization_test("olden", FailingNet(), X, y[::-1].copy(), n_permutations=5, checkpoint=path,
                                  random_state=0, progress=False)


def test_sequences_move_whole_rows_of_y_and_take_gradient_methods():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(64, 5, 2)).astype(np.float32)
    y = X[:, :, 0].cumsum(axis=1)[:, -1]
    r = seqimp.randomization_test("gradient", lstm_net, X, y, n_permutations=2, fit_kwargs={"epochs": 1},
                                  method_kwargs={"method": "pad"}, random_state=0, progress=False)
    assert r.method == "pad" and r.inference["null"].shape == (2, 2)
    k = (r.inference["null"] >= r.importances_mean[:, np.newaxis]).sum(axis=1)
    np.testing.assert_allclose(r.inference["pvalues"], (k + 1) / 3)

    from seqimp.randomization import _Call

    Y = rng.normal(size=(64, 5))
    call = _Call(None, None, Y, {}, None, None, None, True, {}, np.random.SeedSequence(0))
    permuted = call.permuted_y(1)
    rows = {tuple(row) for row in Y}
    assert all(tuple(row) in rows for row in permuted) and not np.array_equal(permuted, Y)
    np.testing.assert_array_equal(call.permuted_y(1), permuted)  # permutation b has its own seed


def test_p_values_follow_the_sign_for_olden_and_the_upper_tail_otherwise():
    null = np.array([[0.5, -0.2, 1.5, 0.1], [-3.0, -1.0, 0.2, -0.5]])
    observed = np.array([1.0, -1.0])
    # Upper tail: 1 of 4 null values >= 1.0; 3 of 4 >= -1.0.
    np.testing.assert_allclose(p_values(observed, null, signed=False), [2 / 5, 4 / 5])
    # Signed: a negative observed value counts the null values at or below it (-3.0 and -1.0).
    np.testing.assert_allclose(p_values(observed, null, signed=True), [2 / 5, 3 / 5])


@pytest.mark.parametrize("method, kwargs, error, match", [
    ("lofo", {}, ValueError, "retrains models itself"),
    ("anova", {}, ValueError, "'method' parameter of randomization_test must be one of seqimp's"),
    (len, {}, TypeError, "'method' parameter of randomization_test"),
    ("olden", {"n_permutations": 0}, ValueError, "'n_permutations' parameter"),
    ("olden", {"method_kwargs": {"n_repeats": 3}}, ValueError, "olden_importance does not take"),
    ("permutation", {"method_kwargs": {"y": 1}}, ValueError, "'y'"),
])
def test_bad_arguments_are_named(data, method, kwargs, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        seqimp.randomization_test(method, least_squares_net, X, y, progress=False, **kwargs)


def test_an_estimator_on_three_dimensional_x_is_refused():
    from sklearn.linear_model import LinearRegression

    X = np.zeros((10, 3, 2))
    with pytest.raises(ValueError, match="2-D X"):
        seqimp.randomization_test("permutation", LinearRegression(), X, np.zeros(10), progress=False)
