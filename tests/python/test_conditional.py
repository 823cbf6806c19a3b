"""Conditional permutation importance (permutation_importance(conditional=...)): closed forms, agreement
with hidimstat's CFI, every granularity, masks, categories, several inputs, the caller's samplers, and
numbers independent of batch_size and n_jobs."""

import numpy as np
import pytest

import seqimp
from seqimp.conditional import Conditional
from seqimp.inputs import as_sequence_data
from seqimp.samplers import SHRINKAGE_FOLDS, SHRINKAGE_GRID, GaussianConditional, shrunk_covariance

RHO = 0.8


def correlated_table(n, rng):
    """x1, x2 with correlation 0.8, x3 independent, x4 unused; y = 2 x1 + x2 + 1.5 x3 + N(0, 1)."""
    cov = np.eye(4)
    cov[0, 1] = cov[1, 0] = RHO
    X = rng.multivariate_normal(np.zeros(4), cov, size=n)
    w = np.array([2.0, 1.0, 1.5, 0.0])
    return X, X @ w + rng.normal(size=n), w


def fitted_linear(rng, n=2000):
    from sklearn.linear_model import LinearRegression

    X, y, w = correlated_table(n, rng)
    fit = LinearRegression().fit(X, y)
    fit.coef_[3] = 0.0  # a model that ignores x4
    return fit, w


def conditional_truth(fit, w):
    """2 Var(x_j | x_-j) w_hat_j w_j for a fitted linear model (Var(x_j | x_-j) = 1 - 0.64 for x1, x2)."""
    variance = np.array([1 - RHO**2, 1 - RHO**2, 1.0, 1.0])
    return 2 * variance * fit.coef_ * w


def test_correlated_linear_problem_meets_the_conditional_truth_within_3_se():
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(8):  # independent data sets: the SE of the estimate covers the data and the draws
        fit, w = fitted_linear(rng)
        X, y, _ = correlated_table(2000, rng)
        r = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=5, conditional="gaussian",
                                          random_state=int(rng.integers(1 << 30)))
        gaps.append(r.importances_mean - conditional_truth(fit, w))
        assert r.importances_mean[3] == 0.0  # unused: the model never changes
        assert r.params["conditional"] == "gaussian"
    gaps = np.array(gaps)
    se = gaps.std(axis=0, ddof=1) / np.sqrt(len(gaps))
    assert (np.abs(gaps.mean(axis=0))[:3] < 3 * se[:3]).all(), (gaps.mean(axis=0), se)
    # and far from the marginal values (2 w_hat w Var(x_j) = 8 and 2 for x1 and x2)
    assert abs(gaps.mean(axis=0)[0]) < 0.5


def test_agrees_with_hidimstat_cfi_on_the_same_data_and_model():
    from hidimstat import CFI

    rng = np.random.default_rng(3)
    fit, w = fitted_linear(rng, 3000)
    X, y, _ = correlated_table(3000, rng)
    ours = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=20, conditional="gaussian",
                                         random_state=1)
    cfi = CFI(fit, n_permutations=20, random_state=1, feature_types="continuous").fit(X, y)
    theirs = cfi.importance(X, y)
    per_draw = np.array([cfi.loss_[j] - cfi.loss_reference_ for j in range(4)])
    se = np.sqrt(ours.importances.var(axis=1, ddof=1) / 20 + per_draw.var(axis=1, ddof=1) / 20)
    # Both condition on the same data: what differs is the draws, and their estimated regressions
    # (Ledoit-Wolf Gaussian against RidgeCV residuals), which 0.02 x the value allows for.
    assert np.all(np.abs(ours.importances_mean - theirs) <= 3 * se + 0.02 * np.abs(theirs) + 1e-12), \
        (ours.importances_mean, theirs, se)
    assert abs(ours.importances_mean[0] - conditional_truth(fit, w)[0]) < 0.35


def test_a_feature_independent_of_the_rest_keeps_its_marginal_value():
    rng = np.random.default_rng(5)
    fit, _ = fitted_linear(rng)
    X, y, _ = correlated_table(3000, rng)
    marginal = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=20, random_state=2)
    conditional = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=20, random_state=2,
                                                conditional="gaussian")
    # per repeat, x3's draws have the same law both ways; the repeats' spread gives the SE
    se = np.sqrt((marginal.importances[2].var(ddof=1) + conditional.importances[2].var(ddof=1)) / 20)
    assert abs(marginal.importances_mean[2] - conditional.importances_mean[2]) < 3 * se + 0.05
    assert conditional.importances_mean[0] < 0.5 * marginal.importances_mean[0]  # x1: not its marginal value


def sequences(n=3000, T=6, seed=1):
    """Three features over T steps: x2 = 0.8 x1 + noise at every step, x3 independent; y = sum_t x1 + 0.5 x2."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=(n, T))
    x2 = RHO * x1 + np.sqrt(1 - RHO**2) * rng.normal(size=(n, T))
    X = np.stack([x1, x2, rng.normal(size=(n, T))], axis=2)
    w = np.array([1.0, 0.5, 0.0])
    return X, w, (lambda x: (x * w).sum(axis=(1, 2)))


@pytest.mark.parametrize("granularity", ["feature", "timestep", "cell"])
def test_every_granularity_on_sequences_meets_its_closed_form(granularity):
    X, w, model = sequences()
    T = X.shape[1]
    r = seqimp.permutation_importance(model, X, model(X), metric="mse", n_repeats=4, granularity=granularity,
                                      conditional="gaussian", random_state=0)
    conditional_var = 1 - RHO**2  # Var(x_t1 | x_t2) = Var(x_t2 | x_t1) / 0.25 ... per unit weight
    if granularity == "feature":
        expected = 2 * T * conditional_var * w**2  # the feature's steps are independent of each other
    elif granularity == "cell":
        expected = np.tile(2 * conditional_var * w**2, T)
    else:  # a step given the other steps: the pair (x_t1, x_t2) is independent of them
        expected = np.full(T, 2 * (w[0]**2 + w[1]**2 + 2 * RHO * w[0] * w[1]))
    np.testing.assert_allclose(r.importances_mean, expected, rtol=0.08, atol=1e-12)
    if granularity != "timestep":
        assert (r.importances[2::3] == 0.0).all()  # x3, unused: exactly 0 in every repeat


def test_padded_cells_are_never_changed_nor_read_as_information():
    X, w, model = sequences(n=2000, T=5)
    rng = np.random.default_rng(7)
    lengths = rng.integers(2, 6, size=len(X))
    mask = np.arange(5)[np.newaxis, :] >= (5 - lengths)[:, np.newaxis]
    X = np.where(mask[:, :, np.newaxis], X, -9.0)  # padding far from the data: any use would show

    def checked(x):
        if len(x) == len(X):
            assert (x[~mask] == -9.0).all()
        return (np.where(x == -9.0, 0.0, x) * w).sum(axis=(1, 2))

    r = seqimp.permutation_importance(checked, X, checked(X), metric="mse", n_repeats=3, granularity="cell",
                                      conditional="gaussian", mask=mask, random_state=0, batch_size=len(X))
    real_share = mask.mean(axis=0)
    expected = np.concatenate([2 * (1 - RHO**2) * w**2 * share for share in real_share])
    np.testing.assert_allclose(r.importances_mean, expected, rtol=0.12, atol=1e-12)
    np.testing.assert_array_equal(r.extra["n_real_samples"], np.repeat(mask.sum(axis=0), 3))


def test_categorical_cells_are_swapped_with_near_neighbours_never_drawn_as_numbers():
    rng = np.random.default_rng(2)
    x = rng.normal(size=2000)
    category = (x > 0).astype(np.float64) + (x > 1)  # 0, 1, 2: almost a function of x
    X = np.column_stack([x, category, rng.normal(size=2000)])

    def model(values):
        assert set(np.unique(values[:, 1])) <= {0.0, 1.0, 2.0}
        return values[:, 1]

    y = model(X)
    kwargs = dict(metric="mse", n_repeats=3, categorical_features=[1], random_state=4)
    marginal = seqimp.permutation_importance(model, X, y, **kwargs)
    for conditional in ("gaussian", "knn"):
        r = seqimp.permutation_importance(model, X, y, conditional=conditional, **kwargs)
        # its 10 nearest neighbours in x almost always share the category
        assert r.importances_mean[1] < 0.05 * marginal.importances_mean[1]
        assert r.importances_mean[0] == 0.0 and r.importances_mean[2] == 0.0


def test_several_inputs_condition_on_each_other():
    rng = np.random.default_rng(8)
    n, T = 2000, 4
    level = rng.normal(size=n)
    seq = level[:, np.newaxis, np.newaxis] + 0.5 * rng.normal(size=(n, T, 2))
    static = np.column_stack([level + 0.3 * rng.normal(size=n), rng.normal(size=n)])

    def model(inputs):
        return inputs[0][:, :, 0].sum(axis=1) + inputs[1][:, 0]

    X = [seq, static]
    y = model(X)
    marginal = seqimp.permutation_importance(model, X, y, metric="mse", n_repeats=3, random_state=1)
    r = seqimp.permutation_importance(model, X, y, metric="mse", n_repeats=3, random_state=1,
                                      conditional="gaussian")
    assert list(r.feature_names) == ["input1.x1", "input1.x2", "input2.x1", "input2.x2"]
    assert r.importances_mean[1] == 0.0 and r.importances_mean[3] == 0.0
    # the static level is mostly known from the sequence: far less than its marginal value
    assert r.importances_mean[2] < 0.4 * marginal.importances_mean[2]


class ResidualSampler:
    """hidimstat's idea: regress the label on the rest, permute the residuals."""

    fits = 0

    def fit(self, X_other, X_label):
        from sklearn.linear_model import LinearRegression

        type(self).fits += 1
        self.model = LinearRegression().fit(X_other, X_label)
        self.residuals = X_label - self.model.predict(X_other)
        return self

    def sample(self, X_other, rng):
        pick = rng.integers(0, len(self.residuals), size=len(X_other))
        return self.model.predict(X_other) + self.residuals[pick]


def test_a_sampler_of_ones_own_is_fitted_once_per_label_and_agrees_with_the_gaussian():
    rng = np.random.default_rng(11)
    fit, w = fitted_linear(rng)
    X, y, _ = correlated_table(3000, rng)
    ResidualSampler.fits = 0
    sampler = ResidualSampler()
    r = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=10, conditional=sampler, random_state=0)
    assert ResidualSampler.fits == 4 and not hasattr(sampler, "model")  # copies were fitted, not it
    assert r.params["conditional"] == "ResidualSampler"
    g = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=10, conditional="gaussian", random_state=0)
    np.testing.assert_allclose(r.importances_mean, g.importances_mean, rtol=0.1, atol=1e-12)
    again = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=10, conditional=sampler,
                                          random_state=0, batch_size=77)
    np.testing.assert_array_equal(again.importances, r.importances)


@pytest.mark.parametrize("conditional", ["gaussian", "knn", ResidualSampler()])
def test_same_seed_same_numbers_whatever_batch_size_and_n_jobs(conditional):
    X, w, model = sequences(n=600, T=4)
    kwargs = dict(metric="mse", n_repeats=2, granularity="cell", conditional=conditional, random_state=9)
    first = seqimp.permutation_importance(model, X, model(X), batch_size=1000, **kwargs)
    for extra in ({"batch_size": 37}, {"n_jobs": 2, "batch_size": 500}):
        other = seqimp.permutation_importance(model, X, model(X), **kwargs, **extra)
        np.testing.assert_array_equal(other.importances, first.importances)


def test_max_samples_conditions_on_the_drawn_rows():
    rng = np.random.default_rng(12)
    fit, w = fitted_linear(rng)
    X, y, _ = correlated_table(4000, rng)
    r = seqimp.permutation_importance(fit, X, y, metric="mse", n_repeats=5, conditional="gaussian",
                                      max_samples=1500, random_state=0)
    assert r.params["n_samples"] == 1500
    np.testing.assert_allclose(r.importances_mean[:3], conditional_truth(fit, w)[:3], rtol=0.2)


def test_the_gaussian_sampler_is_a_cross_validated_shrunk_covariance_and_its_conditional_the_textbook_one():
    from sklearn.covariance import ShrunkCovariance

    rng = np.random.default_rng(0)
    Z = rng.multivariate_normal(np.zeros(3), [[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]], size=500)
    mean, covariance, shrinkage = shrunk_covariance(Z, None)
    np.testing.assert_allclose(covariance, ShrunkCovariance(shrinkage=shrinkage).fit(Z).covariance_, rtol=1e-10)
    # the intensity is the one whose held-out log-likelihood (scikit-learn's score) is highest
    fold = np.arange(len(Z)) % SHRINKAGE_FOLDS
    held_out = [sum(len(Z[fold == k]) * ShrunkCovariance(shrinkage=d).fit(Z[fold != k]).score(Z[fold == k])
                    for k in range(SHRINKAGE_FOLDS)) for d in SHRINKAGE_GRID[1:]]
    assert shrinkage == SHRINKAGE_GRID[1:][int(np.argmax(held_out))]
    model = GaussianConditional(Z, None)
    target, given = np.array([True, False, False]), np.array([False, True, True])
    coef, chol = model.conditional(target, given)
    S = covariance
    np.testing.assert_allclose(coef, S[0:1, 1:] @ np.linalg.inv(S[1:, 1:]), rtol=1e-10)
    np.testing.assert_allclose(chol @ chol.T, S[0:1, 0:1] - S[0:1, 1:] @ np.linalg.inv(S[1:, 1:]) @ S[1:, 0:1],
                               rtol=1e-10)
    # with some cells not real the pairwise covariance is still positive definite
    real = rng.random(Z.shape) > 0.3
    _, covariance, _ = shrunk_covariance(np.where(real, Z, np.nan), real)
    assert np.linalg.eigvalsh(covariance).min() > 0


def test_bad_conditional_arguments_are_refused_naming_the_argument():
    X, w, model = sequences(n=100, T=3)
    with pytest.raises(ValueError, match=r"'conditional' parameter of permutation_importance must be None, "
                                         r"'gaussian', 'knn', or an object with fit\(X_other, X_label\)"):
        seqimp.permutation_importance(model, X, model(X), conditional="gauss")
    with pytest.raises(TypeError, match="'conditional' parameter .* Got 3 instead"):
        seqimp.permutation_importance(model, X, model(X), conditional=3)

    class Wrong(ResidualSampler):
        def sample(self, X_other, rng):
            return np.zeros((len(X_other), 2))

    with pytest.raises(ValueError, match=r"sampler of permutation_importance \(Wrong\) must return an array of "
                                         r"shape \(100, 3\)"):
        seqimp.permutation_importance(model, X, model(X), conditional=Wrong())


def test_too_many_cells_for_the_gaussian_are_refused_with_the_way_out(monkeypatch):
    import seqimp.conditional as conditional

    monkeypatch.setattr(conditional, "MAX_GAUSSIAN_CELLS", 10)
    X, w, model = sequences(n=50, T=4)
    with pytest.raises(ValueError, match="models the 12 numeric cells .* limit is 10 .* Use conditional='knn'"):
        seqimp.permutation_importance(model, X, model(X), conditional="gaussian")


def test_the_transform_never_writes_into_the_callers_data():
    X, w, model = sequences(n=200, T=3)
    before = X.copy()
    seqimp.permutation_importance(model, X, model(X), conditional="gaussian", random_state=0)
    np.testing.assert_array_equal(X, before)
    data = as_sequence_data(X)
    assert Conditional(data, "knn", "f").writes_fractions is False


def test_a_keras_lstm_at_cell_granularity_takes_the_cached_path_with_the_plain_paths_numbers(
        seed_model, seed_eval_data, monkeypatch):
    import seqimp.engine_prefix as engine_prefix

    X, y = seed_eval_data
    kwargs = dict(metric="log_loss", conditional="gaussian", granularity="cell", n_repeats=2, random_state=0)
    runners = []
    original = engine_prefix.prefix_runner
    monkeypatch.setattr(engine_prefix, "prefix_runner", lambda *a, **k: runners.append(original(*a, **k)) or runners[-1])
    cached = seqimp.permutation_importance(seed_model, X, y, **kwargs)
    assert runners and runners[-1] is not None  # label cells after step 0 resume from cached states
    monkeypatch.setattr(engine_prefix, "prefix_runner", lambda *a, **k: None)
    plain = seqimp.permutation_importance(seed_model, X, y, **kwargs)
    np.testing.assert_allclose(cached.importances, plain.importances, rtol=1e-4, atol=1e-6)
    assert (cached.importances[2::3] > -0.01).all() and cached.importances_mean[0] > 0.05


# ---- inference (issue 20): standard errors, intervals and p-values of conditional permutation -------

def _replicates(conditional, replicates, n=400, seed=0):
    """(estimates, standard errors, interval hits) of x1..x4 over replicate data sets of the correlated
    table, for a fixed model y = 2 x1 + x2 + 1.5 x3 (truth 2 w_j^2 Var(x_j | x_-j))."""
    w = np.array([2.0, 1.0, 1.5, 0.0])
    truth = 2 * w ** 2 * np.array([1 - RHO**2, 1 - RHO**2, 1.0, 1.0])
    estimates, ses, hits = [], [], []
    for rep in range(replicates):
        rng = np.random.default_rng(seed + rep)
        X, y, _ = correlated_table(n, rng)
        r = seqimp.permutation_importance(lambda x: x @ w, X, y, metric="mse", n_repeats=3,
                                          conditional=conditional, random_state=rep)
        low, high = r.confidence_interval(0.95).T
        estimates.append(r.importances_mean)
        ses.append(r.importances_se)
        hits.append((low <= truth) & (truth <= high))
    return np.array(estimates), np.array(ses), np.array(hits), truth


def test_gaussian_standard_errors_count_the_samplers_fit_and_cover_the_conditional_truth():
    """The draws come from a Gaussian fitted on the rows explained: counting the rows' effects alone,
    the estimates of x1 and x2 (corr 0.8) varied 1.3x more than the SE said and intervals covered
    0.87; with each row's influence on the fit (seqimp.conditional_influence) sd/se is about 1.
    bench/bench_calibration.py prints the full table (400 replicates)."""
    estimates, ses, hits, truth = _replicates("gaussian", 80)
    ratio = estimates[:, :3].std(axis=0, ddof=1) / ses[:, :3].mean(axis=0)
    assert np.all((ratio > 0.8) & (ratio < 1.18)), ratio
    assert np.all(hits[:, :3].mean(axis=0) >= 0.87), hits.mean(axis=0)
    bias = np.abs(estimates[:, :3].mean(axis=0) - truth[:3])
    assert np.all(bias < 3 * ses[:, :3].mean(axis=0) / np.sqrt(80) + 0.03 * truth[:3]), bias
    assert (estimates[:, 3] == 0).all() and (ses[:, 3] == 0).all() and hits[:, 3].all()  # unused: exactly 0


def test_knn_standard_errors_count_the_neighbours_as_donors():
    estimates, ses, _, _ = _replicates("knn", 60, seed=1000)
    ratio = estimates[:, :3].std(axis=0, ddof=1) / ses[:, :3].mean(axis=0)
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio


def test_conditional_results_report_through_the_inference_of_every_result():
    rng = np.random.default_rng(11)
    X, y, w = correlated_table(600, rng)
    for conditional, estimator, words in (
            ("gaussian", "per-sample effects, independent rows, with each row's influence on the fitted sampler",
             "the Gaussian's fit"),
            ("knn", "per-sample effects, rows and donors (a two-sample U-statistic)", "nearest neighbours")):
        r = seqimp.permutation_importance(lambda x: x @ w, X, y, metric="mse", conditional=conditional,
                                          random_state=0)
        assert r.inference["estimator"] == estimator
        assert words in r.inference["covers"] and r.inference["df"] == 599
        np.testing.assert_allclose(r.inference["sample_effects"].mean(axis=1), r.importances_mean, rtol=1e-10,
                                   atol=1e-13)
        ci = r.confidence_interval(0.9)
        assert np.all(ci[:3, 0] < r.importances_mean[:3]) and np.all(r.importances_mean[:3] < ci[:3, 1])
        assert r.pvalues[3] == 1.0 and np.all(r.pvalues[:3] < 1e-6)  # x4 unused: every effect exactly 0
        np.testing.assert_array_equal(r.significant(), [True, True, True, False])
        frame = r.to_frame()
        np.testing.assert_allclose(frame["se"], r.importances_se)
    # A sampler of one's own: rows' own effects (its fit is not counted: said in the covers text).
    r = seqimp.permutation_importance(lambda x: x @ w, X, y, metric="mse", conditional=ResidualSampler(),
                                      random_state=0)
    assert r.inference["estimator"] == "per-sample effects, independent rows"
    assert "does not cover the error of the sampler's fit" in r.inference["covers"]


def test_a_masked_sequence_gets_standard_errors_and_the_categorical_swap_its_donors():
    X, w, model = sequences(n=800, T=5)
    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 6, size=len(X))
    mask = np.arange(5)[np.newaxis, :] >= (5 - lengths)[:, np.newaxis]
    r = seqimp.permutation_importance(model, np.where(mask[:, :, None], X, 0.0), model(X), metric="mse",
                                      conditional="gaussian", mask=mask, random_state=0)
    assert np.all(r.importances_se[:2] > 0) and r.importances_se[2] == 0.0
    category = (X[:, :, 0] > 0).astype(np.float64)
    Xc = np.concatenate([X, category[:, :, None]], axis=2)
    r = seqimp.permutation_importance(lambda x: model(x[:, :, :3]) + x[:, :, 3].sum(axis=1), Xc, model(X),
                                      metric="mse", conditional="gaussian", categorical_features=[3],
                                      random_state=0)
    assert r.inference["estimator"].startswith("per-sample effects, rows and donors")
    assert np.all(r.importances_se[[0, 1, 3]] > 0) and r.importances_se[2] == 0.0  # x3 is unused
