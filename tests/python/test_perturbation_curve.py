"""perturbation_curve: the metric's rise as 10%..50% noise is added to one input, against its closed form on a
linear model, and its prediction change against perturbation_importance's number for the same draws."""

import numpy as np
import pandas as pd
import pytest

import seqimp

T = 8
W = np.array([2.0, 1.0, 0.0])


def model(x):
    return x @ W @ np.ones(T) if x.ndim == 3 else x @ W


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(loc=[0.0, 3.0, 1.0], scale=[1.0, 0.5, 2.0], size=(2000, T, 3))


def test_spread_noise_raises_the_mse_by_w2_t_level2_var(X):
    frame = seqimp.perturbation_curve(model, X, model(X), n_repeats=4, random_state=1)
    assert frame["level"].tolist() == [0.1, 0.2, 0.3, 0.4, 0.5] * 3
    var = X.reshape(-1, 3).var(axis=0)
    for j, name in enumerate(["x1", "x2", "x3"]):
        part = frame[frame["feature"] == name]
        expected = W[j] ** 2 * T * part["level"].to_numpy() ** 2 * var[j]
        np.testing.assert_allclose(part["importance"], expected, rtol=0.08)
        # Common random numbers: the same draws at every level, scaled, so rise / level**2 is constant.
        ratio = part["importance"].to_numpy() / part["level"].to_numpy() ** 2
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
    assert (frame[frame["feature"] == "x3"][["importance", "std", "prediction_change"]] == 0.0).all().all()
    assert frame.attrs["baseline_score"] == 0.0 and frame.attrs["metric"] == "mse"
    # With y = model(X) the MSE is the mean squared change of the predictions, repeat by repeat.
    assert (frame["score"] == frame["importance"]).all()


def test_prediction_change_is_perturbation_importance_for_the_same_seed(X):
    frame = seqimp.perturbation_curve(model, X, model(X) + 1.0, levels=[0.3, 0.1], n_repeats=2, random_state=5)
    assert frame["level"].tolist()[:2] == [0.1, 0.3]  # ascending whatever the order given
    for level in (0.1, 0.3):
        r = seqimp.perturbation_importance(model, X, scale=level, scale_by_std=True, n_repeats=2, random_state=5)
        np.testing.assert_allclose(frame[frame["level"] == level]["prediction_change"], r.importances_mean,
                                   rtol=1e-12)


def test_value_noise_is_proportional_to_each_value(X):
    frame = seqimp.perturbation_curve(model, X, model(X), levels=[0.2], relative_to="value", n_repeats=4,
                                      random_state=2)
    # x (1 + l e): the rise is w**2 l**2 E[sum_t x_t**2].
    expected = W ** 2 * 0.04 * (X ** 2).sum(axis=1).mean(axis=0)
    np.testing.assert_allclose(frame["importance"], expected, rtol=0.08)
    assert frame.attrs["relative_to"] == "value"


def test_padding_never_gets_noise_and_groups_move_together():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, T, 3))
    X[:50, :3] = -5.0
    seen = []

    def padded_model(x):
        seen.append(x.copy())
        return np.where((x == -5.0).all(axis=2), 0.0, x @ W).sum(axis=1)

    y = padded_model(X)
    frame = seqimp.perturbation_curve(padded_model, X, y, mask_value=-5.0, groups={"ab": [0, 1], "c": [2]},
                                      levels=[0.5], n_repeats=1, random_state=0)
    assert frame["feature"].tolist() == ["ab", "c"] and frame["importance"].iloc[1] == 0.0
    for x in seen[1:]:
        copies = x.reshape(-1, *X.shape)
        assert np.all(copies[:, :50, :3] == -5.0)


def test_bad_arguments_are_named(X):
    with pytest.raises(ValueError, match="'levels' parameter of perturbation_curve"):
        seqimp.perturbation_curve(model, X, model(X), levels=[0.1, -0.2])
    with pytest.raises(ValueError, match="'relative_to' parameter of perturbation_curve"):
        seqimp.perturbation_curve(model, X, model(X), relative_to="range")
    frame = pd.DataFrame({"u": [1.0, 2.0, 3.0], "k": ["p", "q", "p"]})
    with pytest.raises(TypeError, match="categorical features \\['k'\\]"):
        seqimp.perturbation_curve(lambda x: np.zeros(len(x)), frame, np.zeros(3))


def test_plot_draws_one_line_per_input(X):
    frame = seqimp.perturbation_curve(model, X[:200], model(X[:200]), n_repeats=1, random_state=0)
    ax = seqimp.plot_perturbation_curve(frame)
    assert [line.get_label() for line in ax.get_lines()] == ["x1", "x2", "x3"]
    assert ax.get_lines()[0].get_xdata().tolist() == pytest.approx([10, 20, 30, 40, 50])
    with pytest.raises(ValueError, match="lacks the columns"):
        seqimp.plot_perturbation_curve(frame.drop(columns="std"))
