"""perturbation_importance against closed forms on linear sequence models, and on the seed experiment.

Linear model: g(x) = sum_t sum_j w_j x_tj (one output) or f_t(x) = sum_j w_j x_tj (one per timestep),
X iid U(0, 1). Perturbing feature j by e_t at every timestep changes g by w_j * sum_t e_t, so:
  gaussian N(0, s):  RMS = |w_j| s sqrt(T),   MAE = |w_j| s sqrt(T) sqrt(2/pi)
  uniform U(-s, s):  RMS = |w_j| s sqrt(T / 3)
  swap (another sample's values): RMS = |w_j| sqrt(2 T Var(x)) = |w_j| sqrt(T / 6)
  timestep t, gaussian: RMS = s sqrt(sum_j w_j^2);  cell (t, j): RMS = |w_j| s
  group G, gaussian: RMS = s sqrt(T sum_{j in G} w_j^2)
With n = 20000 samples the sample RMS has a relative standard error of about 0.5%; rtol = 3% is six of
those, so a wrong formula fails and sampling noise never does.
"""

import numpy as np
import pytest

import seqimp

T, F = 10, 4
W = np.array([2.0, -1.0, 0.5, 0.0])
S = 0.2
N = 20000
RTOL = 0.03


def total(x):
    return (x * W).sum(axis=(1, 2))


def per_timestep(x):
    return (x * W).sum(axis=2)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(42).random((N, T, F)).astype(np.float32)


def test_gaussian_rms_matches_closed_form_and_ignored_feature_is_exactly_zero(X):
    r = seqimp.perturbation_importance(total, X, scale=S, random_state=0)
    expected = np.abs(W) * S * np.sqrt(T)
    np.testing.assert_allclose(r.importances_mean[:3], expected[:3], rtol=RTOL)
    assert r.importances_mean[3] == 0.0
    assert r.importances.shape == (F, 1) and r.method == "perturbation" and r.metric == "rms"


def test_gaussian_mae_effect(X):
    r = seqimp.perturbation_importance(total, X, scale=S, effect="mae", random_state=1)
    np.testing.assert_allclose(r.importances_mean[:3], np.abs(W[:3]) * S * np.sqrt(T) * np.sqrt(2 / np.pi),
                               rtol=RTOL)


def test_uniform_noise(X):
    r = seqimp.perturbation_importance(total, X, noise="uniform", scale=S, random_state=2)
    np.testing.assert_allclose(r.importances_mean[:3], np.abs(W[:3]) * S * np.sqrt(T / 3), rtol=RTOL)
    assert r.importances_mean[3] == 0.0


def test_swap_takes_another_samples_values(X):
    r = seqimp.perturbation_importance(total, X, noise="swap", random_state=3)
    np.testing.assert_allclose(r.importances_mean[:3], np.abs(W[:3]) * np.sqrt(T / 6), rtol=RTOL)
    assert r.importances_mean[3] == 0.0


def test_zero_and_mean_are_exact(X):
    x64 = X.astype(np.float64)
    zero = seqimp.perturbation_importance(total, X, noise="zero")
    expected_zero = [np.sqrt(np.mean((W[j] * x64[:, :, j].sum(axis=1)) ** 2)) for j in range(F)]
    np.testing.assert_allclose(zero.importances_mean, expected_zero, rtol=1e-5)
    mean = seqimp.perturbation_importance(total, X, noise="mean")
    m = x64.mean(axis=(0, 1))
    expected_mean = [np.sqrt(np.mean((W[j] * (x64[:, :, j] - m[j]).sum(axis=1)) ** 2)) for j in range(F)]
    np.testing.assert_allclose(mean.importances_mean, expected_mean, rtol=1e-4)


def test_scale_by_std_multiplies_the_scale_by_each_features_std(X):
    spread = np.array([1.0, 4.0, 0.25, 1.0], dtype=np.float32)
    Xs = X * spread
    r = seqimp.perturbation_importance(total, Xs, scale=S, scale_by_std=True, random_state=4)
    sd = Xs.astype(np.float64).reshape(-1, F).std(axis=0)
    np.testing.assert_allclose(r.importances_mean[:3], (np.abs(W) * S * sd * np.sqrt(T))[:3], rtol=RTOL)


def test_timestep_and_cell_granularity(X):
    by_t = seqimp.perturbation_importance(total, X[:, :3], scale=S, granularity="timestep", random_state=5)
    assert by_t.label_names == ["t0", "t1", "t2"]
    np.testing.assert_allclose(by_t.importances_mean, S * np.sqrt((W ** 2).sum()), rtol=RTOL)
    cells = seqimp.perturbation_importance(total, X[:, :2], scale=S, granularity="cell", random_state=6)
    assert [(lbl.timestep, lbl.feature) for lbl in cells.labels[:5]] == \
        [(0, "x1"), (0, "x2"), (0, "x3"), (0, "x4"), (1, "x1")]  # timestep-major
    np.testing.assert_allclose(cells.importances_mean.reshape(2, F)[:, :3], np.tile(np.abs(W[:3]) * S, (2, 1)),
                               rtol=RTOL)
    assert np.all(cells.importances_mean.reshape(2, F)[:, 3] == 0.0)


def test_groups_are_perturbed_together(X):
    r = seqimp.perturbation_importance(total, X, scale=S, groups={"ab": ["x1", "x2"], "cd": [2, 3]},
                                       random_state=7)
    assert r.label_names == ["ab", "cd"]
    np.testing.assert_allclose(r.importances_mean, S * np.sqrt(T * np.array([W[0] ** 2 + W[1] ** 2,
                                                                             W[2] ** 2 + W[3] ** 2])),
                               rtol=RTOL)


def test_per_timestep_outputs_are_scored_over_every_element(X):
    r = seqimp.perturbation_importance(per_timestep, X, scale=S, random_state=8)
    np.testing.assert_allclose(r.importances_mean[:3], np.abs(W[:3]) * S, rtol=RTOL)


def test_custom_effect_gets_the_prediction_arrays(X):
    seen = []

    def max_change(original, perturbed):
        seen.append((original.shape, perturbed.shape))
        return np.max(np.abs(original - perturbed))

    r = seqimp.perturbation_importance(per_timestep, X[:50], noise="zero", effect=max_change)
    assert seen[0] == ((50, T), (50, T))
    expected = [np.max(np.abs(W[j] * X[:50, :, j].astype(np.float64))) for j in range(F)]
    np.testing.assert_allclose(r.importances_mean, expected, rtol=1e-6)
    assert r.metric == "max_change"


@pytest.mark.parametrize("noise", ["gaussian", "uniform", "swap"])
def test_same_random_state_gives_identical_results_whatever_the_batch_size(noise, X):
    x = X[:300]  # more than one 256-row random block
    results = [seqimp.perturbation_importance(total, x, noise=noise, n_repeats=3, random_state=11,
                                              batch_size=bs).importances
               for bs in (1, 7, 256, 1000, None)]
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    different = seqimp.perturbation_importance(total, x, noise=noise, n_repeats=3, random_state=12)
    assert not np.array_equal(results[0], different.importances)


def test_importances_std_is_the_spread_of_the_per_repeat_effects():
    # Every repeat hands the effect function one (original, perturbed) pair, in label-major order;
    # the values it returns, kept here, are the repeats. importances_std is their population standard
    # deviation (ddof=0, scikit-learn's definition), importances_mean their mean.
    X = np.random.default_rng(3).random((30, 3, 2))
    returned = []

    def largest_change(original, perturbed):
        returned.append(float(np.max(np.abs(original - perturbed))))
        return returned[-1]

    r = seqimp.perturbation_importance(lambda x: x[:, :, 0].sum(axis=1) - 3 * x[:, :, 1].sum(axis=1), X,
                                       effect=largest_change, n_repeats=5, random_state=0)
    per_repeat = np.array(returned).reshape(2, 5)
    assert len(set(returned)) == 10                     # independent draws, no repeat reused
    np.testing.assert_array_equal(r.importances, per_repeat)
    mean = per_repeat.sum(axis=1) / 5
    np.testing.assert_allclose(r.importances_std, np.sqrt(((per_repeat - mean[:, None]) ** 2).sum(axis=1) / 5),
                               rtol=1e-12)
    np.testing.assert_allclose(r.importances_mean, mean, rtol=1e-12)


def test_importances_std_matches_the_chi_distribution_of_the_rms_effect():
    # Gaussian noise on g(x) = sum_t sum_j w_j x_tj: a repeat's RMS effect over n samples is
    # |w_j| s sqrt(T) sqrt(C / n) with C ~ chi-square(n), so over repeats it has the chi distribution's
    # mean and standard deviation: E sqrt(C) = sqrt(2) Gamma((n+1)/2) / Gamma(n/2), Var sqrt(C) = n - E².
    # With n = 8 samples and R = 3000 repeats, simulation of this set-up gives relative standard errors
    # of 0.5% (mean) and 1.3% (std); the tolerances (2% and 6%) are over four of them.
    from scipy.special import gammaln

    n, t, R = 8, 2, 3000
    w = np.array([2.0, 0.0])
    x = np.random.default_rng(0).random((n, t, 2)).astype(np.float32)
    r = seqimp.perturbation_importance(lambda b: (b * w).sum(axis=(1, 2)), x, scale=S, n_repeats=R,
                                       random_state=0)
    chi_mean = np.sqrt(2) * np.exp(gammaln((n + 1) / 2) - gammaln(n / 2))
    chi_sd = np.sqrt(n - chi_mean ** 2)
    per_unit = abs(w[0]) * S * np.sqrt(t) / np.sqrt(n)
    assert r.importances_mean[0] == pytest.approx(chi_mean * per_unit, rel=0.02)
    assert r.importances_std[0] == pytest.approx(chi_sd * per_unit, rel=0.06)
    assert r.importances_std[1] == 0.0 and r.importances_mean[1] == 0.0


def test_deterministic_perturbations_have_zero_spread(X):
    r = seqimp.perturbation_importance(total, X[:200], noise="zero", n_repeats=3)
    assert np.all(r.importances_std == 0.0) and np.all(r.importances_mean[:3] > 0)


def test_2d_input_and_dataframe_names(X):
    import pandas as pd

    frame = pd.DataFrame(X[:2000, 0, :], columns=["a", "b", "c", "d"])
    r = seqimp.perturbation_importance(lambda x: x @ W, frame, scale=S, random_state=0)
    assert r.label_names == ["a", "b", "c", "d"]
    np.testing.assert_allclose(r.importances_mean[:3], np.abs(W[:3]) * S, rtol=0.1)
    assert r.importances_mean[3] == 0.0


def test_input_is_never_modified_and_read_only_input_works(X):
    x = np.asfortranarray(X[:200].astype(np.float64))
    x.setflags(write=False)
    before = x.copy()
    seen_caller_array = []
    r = seqimp.perturbation_importance(lambda b: (seen_caller_array.append(np.shares_memory(b, x)),
                                                  total(b))[1], x, noise="swap", random_state=0)
    np.testing.assert_array_equal(x, before)
    assert not any(seen_caller_array)
    assert r.importances_mean[3] == 0.0


def test_result_frame_and_repr(X):
    r = seqimp.perturbation_importance(total, X[:200], n_repeats=2, random_state=0)
    frame = r.to_frame()
    # A size of change has intervals but no test (it is >= 0 by construction).
    assert list(frame.columns) == ["feature", "importance", "std", "se", "ci_low", "ci_high"]
    assert list(r.to_frame(sort=True)["feature"]) == ["x1", "x2", "x3", "x4"]
    text = repr(r)
    assert "method='perturbation'" in text and "x1" in text
    cells = seqimp.perturbation_importance(total, X[:200, :2], granularity="cell", random_state=0)
    assert list(cells.to_frame().columns) == ["feature", "timestep", "importance", "std", "se", "ci_low",
                                              "ci_high"]


@pytest.mark.slow
def test_seed_experiment_features_1_and_2_score_over_5x_feature_3(seed_model, seed_eval_data):
    X, _ = seed_eval_data
    r = seqimp.perturbation_importance(seed_model, X, scale=0.2, n_repeats=3, random_state=0)
    x1, x2, x3 = r.importances_mean
    assert x1 > 5 * x3 and x2 > 5 * x3, r


def test_a_boolean_x_reaches_the_model_as_booleans_under_noise():
    """Booleans are categorical: only swapped, so the model sees bool, not 0/1 floats (issue 23, item 4)."""
    X = np.random.default_rng(3).random((200, 2)) > 0.5
    seen = set()

    def model(x):
        seen.add(x.dtype)
        out = np.zeros(len(x))
        out[x[:, 0]] = 1.0  # boolean indexing: 0/1 floats would fail here
        return out

    r = seqimp.perturbation_importance(model, X, noise="gaussian", n_repeats=3, random_state=0)
    assert seen == {np.dtype(bool)}
    assert r.importances_mean[0] > 0 and r.importances_mean[1] == 0.0
