"""output= on perturbation_importance, permutation_importance and lek_profile, with
gradient_importance's meaning: the numbers equal those of a hand-made wrapper that returns the selected
output, which is what users had to write before."""

import numpy as np
import pytest

import seqimp

N, T, F = 300, 5, 3


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(N, T, F)).astype(np.float32)


def seq2seq(x):
    """A sequence-to-sequence model: one forecast per step, (n, T, 1), from x1 and x2 up to that step."""
    return np.cumsum(x[:, :, 0] + 0.5 * x[:, :, 1], axis=1)[:, :, np.newaxis]


def classifier(x):
    """Two-class probabilities driven by x1's mean only: (n, 2)."""
    p = 1.0 / (1.0 + np.exp(-x[:, :, 0].mean(axis=1)))
    return np.stack([1.0 - p, p], axis=1)


def test_perturbation_of_the_last_step_equals_a_wrapper(X):
    picked = seqimp.perturbation_importance(seq2seq, X, output=(T - 1, 0), n_repeats=2, random_state=0)
    wrapped = seqimp.perturbation_importance(lambda x: seq2seq(x)[:, -1, 0], X, n_repeats=2, random_state=0)
    np.testing.assert_array_equal(picked.importances, wrapped.importances)
    assert picked.params["output"] == f"output {(T - 1, 0)!r}"
    flat = seqimp.perturbation_importance(seq2seq, X, output=-1, n_repeats=2, random_state=0)
    np.testing.assert_array_equal(flat.importances, wrapped.importances)


def test_permutation_scores_the_selected_output_against_y(X):
    y_last = seq2seq(X)[:, -1, 0]
    picked = seqimp.permutation_importance(seq2seq, X, y_last, metric="mse", output=-1, random_state=0)
    wrapped = seqimp.permutation_importance(lambda x: seq2seq(x)[:, -1, 0], X, y_last, metric="mse",
                                            random_state=0)
    np.testing.assert_array_equal(picked.importances, wrapped.importances)
    assert picked.importances[2].tolist() == [0.0] * 5
    # One class of a classifier: its probability, scored as a regression target.
    p1 = classifier(X)[:, 1]
    r = seqimp.permutation_importance(classifier, X, p1, metric="mae", output=1, random_state=0)
    assert r.importances_mean[0] > 0 and r.importances[1:].max() == 0.0
    summed = seqimp.permutation_importance(seq2seq, X, seq2seq(X).sum(axis=(1, 2)), metric="mse",
                                           output="sum", random_state=0)
    np.testing.assert_allclose(  # a float64 dot product against a float32 sum: round-off only
        summed.importances,
        seqimp.permutation_importance(lambda x: seq2seq(x).sum(axis=(1, 2)), X, seq2seq(X).sum(axis=(1, 2)),
                                      metric="mse", random_state=0).importances, rtol=1e-6)


def test_a_y_of_the_whole_output_is_refused_once_an_output_is_selected(X):
    with pytest.raises(ValueError, match="'y'"):
        seqimp.permutation_importance(seq2seq, X, seq2seq(X), metric="mse", output=0)


def test_lek_profile_of_one_output(X):
    frame = seqimp.lek_profile(seq2seq, X, features=["x1"], quantiles=[0.5], n_points=3, output=0)
    # Output 0 is the first step's forecast, x1 + 0.5 x2 at step 0: slope 1 in x1.
    slope = np.diff(frame["response"].to_numpy()) / np.diff(frame["value"].to_numpy())
    np.testing.assert_allclose(slope, 1.0, rtol=1e-5)
    assert frame.attrs["output"] == "output 0"


@pytest.mark.parametrize("output, error, message", [
    ("median", ValueError, r"'output' parameter of perturbation_importance must be None, an int"),
    (1.5, TypeError, r"'output' parameter of perturbation_importance"),
    (T, ValueError, r"'output' parameter of perturbation_importance must be an int in the range \[-5, 4\]"),
    ((0, 1), ValueError, r"tuple index into the model's per-sample output shape \(5, 1\)"),
])
def test_bad_outputs_are_refused(X, output, error, message):
    with pytest.raises(error, match=message):
        seqimp.perturbation_importance(seq2seq, X, output=output)
