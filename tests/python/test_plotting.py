"""ImportanceResult.plot: sorted bars with confidence intervals; a timestep x feature heatmap for cells,
which can hide the cells that are not significant.

Results are built by hand, so the expected drawing follows from the numbers put in, not from a run.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402

from seqimp.inputs import as_sequence_data  # noqa: E402
from seqimp.labels import make_labels  # noqa: E402
from seqimp.result import ImportanceResult  # noqa: E402


def _result(granularity, importances, n_timesteps=3, names=("a", "b", "c", "d"), inference=None):
    data = as_sequence_data(np.zeros((2, n_timesteps, len(names))), list(names))
    granularity, labels = make_labels(data, granularity, None, "test")
    return ImportanceResult(method="permutation", labels=labels, importances=np.asarray(importances, float),
                            granularity=granularity, metric="mae", feature_names=data.feature_names,
                            inference=inference)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)][0]


def test_bars_sorted_with_confidence_intervals():
    # Means 2, 5, 1, 3 by construction; standard errors 0, 1/1.96, 0.5/1.96, 0 (normal intervals), so the
    # 95% half-widths are 0, 1, 0.5, 0.
    importances = [[2, 2], [4, 6], [0.5, 1.5], [3, 3]]
    z = 1.959963984540054
    ax = _result("feature", importances, inference={"se": np.array([0, 1, 0.5, 0]) / z}).plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    bars = _bars(ax)
    # barh draws bottom-up, so the most important bar is last (on top).
    widths = [patch.get_width() for patch in bars.patches]
    assert widths == [1.0, 2.0, 3.0, 5.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "a", "d", "b"]
    errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(errorbars) == 1
    segments = errorbars[0].lines[2][0].get_segments()
    half_widths = [(seg[1][0] - seg[0][0]) / 2 for seg in segments]
    np.testing.assert_allclose(half_widths, [0.5, 0.0, 0.0, 1.0])
    assert "mae" in ax.get_xlabel() and "95% confidence intervals" in ax.get_xlabel()
    assert ax.get_title() == "permutation importance (mae)"
    # A 50% interval is 0.6745 / 1.96 of the 95% one.
    ax = _result("feature", importances, inference={"se": np.array([0, 1, 0.5, 0]) / z}).plot(level=0.5)
    segments = [c for c in ax.containers if isinstance(c, ErrorbarContainer)][0].lines[2][0].get_segments()
    np.testing.assert_allclose([(seg[1][0] - seg[0][0]) / 2 for seg in segments],
                               np.array([0.5, 0.0, 0.0, 1.0]) * 0.6744897501960817 / z)


def test_no_error_bars_without_standard_errors():
    # The spread across repeats is not an interval: a result without inference gets no error bars.
    ax = _result("feature", [[2, 2], [4, 6], [0.5, 1.5], [3, 3]]).plot()
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    ax = _result("feature", [[1.0], [3.0], [2.0], [0.0]]).plot()
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [p.get_width() for p in _bars(ax).patches] == [0.0, 1.0, 2.0, 3.0]


def test_top_keeps_the_most_important_and_draws_on_a_given_axes():
    _, given = plt.subplots()
    ax = _result("feature", [[1.0], [3.0], [2.0], [0.0]]).plot(ax=given, top=2, title="x")
    assert ax is given
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "b"]
    assert ax.get_title() == "x"
    with pytest.raises(TypeError, match="'top' parameter"):
        _result("feature", [[1.0], [3.0], [2.0], [0.0]]).plot(top="2")


def test_timestep_bars():
    ax = _result("timestep", [[0.1], [0.9], [0.4]]).plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["t0", "t2", "t1"]


def test_cell_heatmap_is_timestep_by_feature():
    # Labels are timestep-major, so the mean of cell (t, f) is the label t * F + f; give it the value
    # 10 t + f, then the image must read exactly that grid.
    T, names = 3, ("a", "b", "c", "d")
    values = np.array([10.0 * t + f for t in range(T) for f in range(len(names))])
    importances = np.stack([values - 1, values + 1], axis=1)  # mean is values
    ax = _result("cell", importances, n_timesteps=T, names=names).plot()
    assert len(ax.images) == 1
    image = np.asarray(ax.images[0].get_array())
    expected = np.array([[10.0 * t + f for f in range(len(names))] for t in range(T)])
    np.testing.assert_allclose(image, expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(names)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2"]
    assert ax.get_xlabel() == "feature" and ax.get_ylabel() == "timestep"
    # The colour bar says what the numbers are.
    assert any("mae" in other.get_ylabel() for other in ax.figure.axes if other is not ax)


def test_cell_heatmap_of_a_real_run_matches_importances_mean():
    import seqimp

    X = np.random.default_rng(0).random((300, 4, 3))
    r = seqimp.permutation_importance(lambda x: x[:, :, 0].sum(axis=1) + 2 * x[:, -1, 1], X,
                                      X[:, :, 0].sum(axis=1) + 2 * X[:, -1, 1], metric="mse", n_repeats=2,
                                      granularity="cell", random_state=0)
    image = np.asarray(r.plot().images[0].get_array())
    np.testing.assert_array_equal(image, r.importances_mean.reshape(4, 3))
    # x2 matters only at the last timestep, x3 never.
    assert image[-1, 1] > image[-1, 0] and np.all(image[:-1, 1] == 0) and np.all(image[:, 2] == 0)


def test_significant_labels_are_coloured_and_the_rest_faded():
    # p-values from mean / se: 2/1 -> 0.023, 5/1 -> 3e-7, 1/1 -> 0.16, 3/1 -> 0.0013. Holm at 0.05 over
    # four: 3e-7 * 4, 0.0013 * 3 and 0.023 * 2 = 0.046 pass, 0.16 does not.
    importances = [[2, 2], [4, 6], [0.5, 1.5], [3, 3]]
    result = _result("feature", importances, inference={"se": np.ones(4)})
    assert result.significant(0.05, "holm").tolist() == [True, True, False, True]
    ax = result.plot(alpha=0.05)
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in _bars(ax).patches]
    # Bottom-up: c (not significant), a, d, b.
    assert colours[0] != colours[1] and len(set(colours[1:])) == 1
    assert "Holm" in ax.get_title()
    with pytest.raises(ValueError, match="'correction' parameter of ImportanceResult.plot"):
        result.plot(alpha=0.05, correction="fdr")
    with pytest.raises(ValueError, match="'level' parameter of ImportanceResult.plot"):
        result.plot(level=95)


def test_heatmap_hides_cells_that_are_not_significant():
    T, names = 2, ("a", "b")
    values = np.array([0.0, 3.0, 0.5, 4.0])  # cells t0/a, t0/b, t1/a, t1/b
    importances = np.stack([values, values], axis=1)
    result = _result("cell", importances, n_timesteps=T, names=names, inference={"se": np.full(4, 1.0)})
    # p: 0.5, 0.0013, 0.31, 3e-5: Holm keeps t0/b and t1/b.
    image = np.asarray(result.plot(alpha=0.05).images[0].get_array(), dtype=float)
    expected = np.array([[np.nan, 3.0], [np.nan, 4.0]])
    np.testing.assert_array_equal(np.isnan(image), np.isnan(expected))
    np.testing.assert_allclose(image[~np.isnan(image)], [3.0, 4.0])


def test_a_result_without_a_test_cannot_mark_significance():
    result = _result("feature", [[1.0], [3.0], [2.0], [0.0]])
    with pytest.raises(ValueError, match="no standard errors"):
        result.plot(alpha=0.05)
