"""SAGE (sage_importance): closed forms, efficiency, agreement with the sage package, every granularity,
masks, classifiers, the Gaussian imputer, and numbers independent of batch_size and n_jobs."""

import numpy as np
import pytest

import seqimp
from conftest import require


def additive(n=2000, seed=0):
    """Independent inputs with standard deviations 1, 2, 1; y = x1 + 0.5 x2 (x3 unused) + noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 1.0]
    w = np.array([1.0, 0.5, 0.0])
    return X, X @ w + 0.5 * rng.normal(size=n), w, (lambda x: x @ w)


def test_additive_model_gives_w_squared_var_within_3_se_and_exactly_0_for_an_unused_input():
    X, y, w, model = additive()
    r = seqimp.sage_importance(model, X, y, n_background=128, random_state=0)
    se = r.inference["se"]
    expected = w**2 * np.array([1.0, 4.0, 1.0])
    assert np.all(np.abs(r.importances_mean - expected)[:2] < 3 * se[:2]), (r.importances_mean, se)
    assert r.importances_mean[2] == 0.0 and (r.importances[2] == 0.0).all()
    assert r.method == "sage" and r.metric == "mse" and r.extra["converged"]
    assert r.inference["df"] == len(X) - 1 and "orderings" in r.inference["covers"]
    assert r.baseline_score == pytest.approx(np.mean((y - model(X)) ** 2))


def test_interaction_x1_x2_is_shared_equally():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3))

    def model(x):
        return x[:, 0] * x[:, 1]

    r = seqimp.sage_importance(model, X, model(X), n_background=64, random_state=1)
    se = r.inference["se"]
    assert abs(r.importances_mean[0] - r.importances_mean[1]) < 3 * np.hypot(se[0], se[1])
    assert r.importances_mean[0] > 0.3 and r.importances_mean[2] == 0.0


def test_efficiency_the_values_add_up_to_the_loss_the_model_explains():
    X, y, w, model = additive(800, seed=2)
    r = seqimp.sage_importance(model, X, y, n_background=50, random_state=3)
    background = X[np.sort(np.random.default_rng(np.random.SeedSequence(3, spawn_key=(0x5A6E,)))
                           .choice(len(X), size=50, replace=False))]
    loss_empty = np.mean((y - model(background).mean()) ** 2)
    loss_full = np.mean((y - model(X)) ** 2)
    assert r.extra["loss_empty"] == pytest.approx(loss_empty, rel=1e-12)
    assert r.extra["loss_full"] == pytest.approx(loss_full, rel=1e-12)
    assert r.importances_mean.sum() == pytest.approx(loss_empty - loss_full, rel=1e-10)
    # every round adds up, not only the mean
    np.testing.assert_allclose(r.importances.sum(axis=0), loss_empty - loss_full, rtol=1e-10)


def test_agrees_with_the_sage_package_within_their_joint_standard_errors():
    import sage

    rng = np.random.default_rng(4)
    cov = np.eye(4)
    cov[0, 1] = cov[1, 0] = 0.6
    X = rng.multivariate_normal(np.zeros(4), cov, size=1000)

    def model(x):
        return x[:, 0] + 0.5 * x[:, 1] + x[:, 0] * x[:, 2] + np.sin(x[:, 3])

    y = model(X) + 0.3 * rng.normal(size=1000)
    ours = seqimp.sage_importance(model, X, y, n_background=64, random_state=5)
    rows = np.sort(np.random.default_rng(np.random.SeedSequence(5, spawn_key=(0x5A6E,)))
                   .choice(1000, size=64, replace=False))
    theirs = sage.PermutationEstimator(sage.MarginalImputer(model, X[rows]), "mse", random_state=0)(
        X, y, batch_size=512, thresh=0.025, bar=False)
    joint = np.sqrt(ours.extra["se_permutations"] ** 2 + theirs.std ** 2)
    assert np.all(np.abs(ours.importances_mean - theirs.values) < 3 * joint), (ours.importances_mean, theirs.values)


def sequences(n=1500, T=4, seed=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 3))
    w = np.array([1.0, 0.5, 0.0])
    return X, (lambda x: (x * w).sum(axis=(1, 2))), w


@pytest.mark.parametrize("granularity", ["feature", "timestep", "cell"])
def test_every_granularity_on_sequences_meets_its_closed_form(granularity):
    X, model, w = sequences()
    T = X.shape[1]
    r = seqimp.sage_importance(model, X, model(X), n_background=32, granularity=granularity, random_state=0)
    expected = {"feature": T * w**2, "timestep": np.full(T, (w**2).sum()), "cell": np.tile(w**2, T)}[granularity]
    se = r.inference["se"]
    assert np.all(np.abs(r.importances_mean - expected) <= 3 * se + 1e-12), (r.importances_mean, expected, se)
    if granularity != "timestep":
        assert (r.importances_mean[2::3] == 0.0).all()


def test_groups_and_features_outside_every_group_stay_kept():
    X, model, w = sequences(n=800)
    r = seqimp.sage_importance(model, X, model(X), n_background=32, groups={"a": [0]}, random_state=0)
    # x2 is always kept, so the group's value is x1's alone, and efficiency holds for what is left
    assert r.label_names == ["a"]
    assert r.importances_mean[0] == pytest.approx(r.extra["loss_empty"] - r.extra["loss_full"], rel=1e-10)
    assert abs(r.importances_mean[0] - X.shape[1]) < 3 * r.inference["se"][0]


def test_same_seed_same_numbers_whatever_batch_size_and_n_jobs():
    X, model, _ = sequences(n=300, T=3)
    y = model(X)
    kwargs = dict(n_background=8, granularity="cell", max_permutations=4, random_state=7)
    first = seqimp.sage_importance(model, X, y, batch_size=512, **kwargs)
    for extra in ({"batch_size": 61}, {"n_jobs": 2, "batch_size": 256}):
        other = seqimp.sage_importance(model, X, y, **kwargs, **extra)
        np.testing.assert_array_equal(other.importances, first.importances)
        np.testing.assert_array_equal(other.inference["se"], first.inference["se"])
    gaussian = dict(kwargs, imputer="gaussian")
    a = seqimp.sage_importance(model, X, y, batch_size=100, **gaussian)
    b = seqimp.sage_importance(model, X, y, n_jobs=2, **gaussian)
    np.testing.assert_array_equal(a.importances, b.importances)


def test_gaussian_imputer_credits_a_correlated_unused_input_as_the_closed_form_says():
    # f = x1 with corr(x1, x2) = 0.8; observational SAGE: phi1 = 1 - rho^2 / 2, phi2 = rho^2 / 2
    rho = 0.8
    rng = np.random.default_rng(8)
    X = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=2000)

    def model(x):
        return x[:, 0]

    r = seqimp.sage_importance(model, X, model(X), imputer="gaussian", n_background=32, random_state=0)
    expected = np.array([1 - rho**2 / 2, rho**2 / 2])
    assert np.all(np.abs(r.importances_mean - expected) < 3 * r.inference["se"]), (r.importances_mean, r.inference)
    marginal = seqimp.sage_importance(model, X, model(X), n_background=32, random_state=0)
    assert marginal.importances_mean[1] == 0.0


def test_padding_is_never_written_and_a_classifier_gives_its_probabilities():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(9)
    n, T = 600, 5
    X = rng.normal(size=(n, T, 2))
    lengths = rng.integers(2, T + 1, size=n)
    mask = np.arange(T)[np.newaxis, :] >= (T - lengths)[:, np.newaxis]
    X = np.where(mask[:, :, np.newaxis], X, 0.0)
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)

    class Flat(LogisticRegression):  # a classifier on the flattened sequence
        def fit(self, x, t):
            return super().fit(x.reshape(len(x), -1), t)

        def predict_proba(self, x):
            if len(x) == n:
                assert (x[~mask] == 0.0).all()
            return super().predict_proba(x.reshape(len(x), -1))

    clf = Flat().fit(X, y)
    r = seqimp.sage_importance(clf, X, y, metric="log_loss", mask=mask, n_background=16, batch_size=n,
                               random_state=0, max_permutations=4)
    assert r.metric == "log_loss" and r.importances_mean[0] > 5 * abs(r.importances_mean[1])
    assert r.importances_mean.sum() == pytest.approx(r.extra["loss_empty"] - r.extra["loss_full"], rel=1e-9)


def test_several_inputs_and_a_callable_per_sample_loss():
    rng = np.random.default_rng(10)
    seq, static = rng.normal(size=(500, 3, 2)), rng.normal(size=(500, 2))

    def model(inputs):
        return inputs[0][:, :, 0].sum(axis=1) + inputs[1][:, 1]

    def absolute(y, p):
        return np.abs(y - p)

    X = [seq, static]
    r = seqimp.sage_importance(model, X, model(X) + rng.normal(size=500), metric=absolute, n_background=16,
                               random_state=0, max_permutations=6)
    assert r.metric == "absolute" and r.importances_mean[1] == 0.0 and r.importances_mean[2] == 0.0
    named = seqimp.sage_importance(model, X, model(X) + rng.normal(size=500), metric="mae", n_background=16,
                                   random_state=0, max_permutations=6)
    assert named.importances_mean[0] > 0 and named.importances_mean[3] > 0


def test_max_permutations_and_the_convergence_record():
    X, y, w, model = additive(500, seed=11)
    r = seqimp.sage_importance(model, X, y, n_background=16, max_permutations=2, random_state=0)
    assert r.extra["rounds"] == 1 and r.extra["n_permutations"] == 2 and r.importances.shape == (3, 1)
    assert r.extra["model_rows"] == 500 + 16 + 500 * (1 + 4 * 16)
    full = seqimp.sage_importance(model, X, y, n_background=16, convergence=0.05, random_state=0)
    assert full.extra["converged"] and full.extra["convergence_ratio"] < 0.05


def test_bad_arguments_are_refused_naming_them():
    X, y, w, model = additive(100)
    with pytest.raises(ValueError, match=r"'metric' parameter of sage_importance must be one of \{'mse', 'mae', "
                                         r"'log_loss'\} or a callable"):
        seqimp.sage_importance(model, X, y, metric="auc")
    with pytest.raises(ValueError, match="'imputer' parameter of sage_importance must be one of"):
        seqimp.sage_importance(model, X, y, imputer="kernel")
    with pytest.raises(ValueError, match="'convergence' parameter of sage_importance must be a float in the "
                                         r"range \(0.0, 1.0\]"):
        seqimp.sage_importance(model, X, y, convergence=0)
    with pytest.raises(ValueError, match=r"'background' parameter of sage_importance must be rows like X's: "
                                         r"shape \(None, 3\), .* Got shape \(None, 2\) instead"):
        seqimp.sage_importance(model, X, y, background=X[:, :2])
    with pytest.raises(ValueError, match="'background' parameter of sage_importance must be None with "
                                         "imputer='gaussian'"):
        seqimp.sage_importance(model, X, y, imputer="gaussian", background=X[:10])
    import pandas as pd

    frame = pd.DataFrame({"a": X[:, 0], "b": pd.Categorical(np.where(X[:, 1] > 0, "hi", "lo"))})
    with pytest.raises(ValueError, match=r"'imputer' parameter of sage_importance is 'gaussian', .* categorical "
                                         r"features \['b'\]"):
        seqimp.sage_importance(lambda d: d["a"].to_numpy(), frame, y, imputer="gaussian")


def test_a_keras_model_gives_the_numbers_of_its_numpy_twin():
    keras = require("keras")
    T, F = 4, 3
    weights = np.array([1.0, -0.5, 0.0] * T, dtype=np.float32).reshape(T * F, 1)
    inp = keras.Input((T, F))
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inp, dense(keras.layers.Flatten()(inp)))
    dense.set_weights([weights])
    X = np.random.default_rng(12).normal(size=(400, T, F)).astype(np.float32)

    def twin(x):
        return x.reshape(len(x), -1).astype(np.float64) @ weights.astype(np.float64)

    y = twin(X).ravel()
    kwargs = dict(n_background=16, max_permutations=4, random_state=1)
    ours = seqimp.sage_importance(model, X, y, batch_size=512, **kwargs)
    np.testing.assert_allclose(ours.importances, seqimp.sage_importance(twin, X, y, **kwargs).importances,
                               rtol=1e-4, atol=1e-6)
    assert ours.importances_mean[2] == 0.0  # a zero weight: exactly 0 through the compiled forward too


def test_the_seed_lstm_shares_its_interaction_and_its_log_loss_adds_up(seed_model, seed_eval_data):
    X, y = seed_eval_data  # y_t = [x1_t * x2_t < 0.25]: x1 and x2 interact, x3 is noise
    r = seqimp.sage_importance(seed_model, X, y, metric="log_loss", n_background=16, max_permutations=4,
                               random_state=0)
    assert r.baseline_score == pytest.approx(r.extra["loss_full"], rel=1e-5)  # per-sample losses average to it
    assert r.importances_mean.sum() == pytest.approx(r.extra["loss_empty"] - r.extra["loss_full"], rel=1e-9)
    x1, x2, x3 = r.importances_mean
    se = r.inference["se"]
    assert abs(x1 - x2) < 3 * np.hypot(se[0], se[1]) + 0.1 * (x1 + x2)  # symmetric roles, as trained
    assert x1 > 10 * abs(x3) and x2 > 10 * abs(x3)


def test_a_dask_cluster_gives_the_numbers_of_one_process_for_sage_and_conditional_permutation():
    distributed = require("distributed")
    import joblib

    X, model, _ = sequences(n=300, T=3)
    y = model(X)
    calls = {
        "sage": lambda **kw: seqimp.sage_importance(model, X, y, n_background=8, imputer="gaussian",
                                                    max_permutations=4, random_state=2, **kw),
        "knn": lambda **kw: seqimp.permutation_importance(model, X, y, metric="mse", n_repeats=2, conditional="knn",
                                                          granularity="cell", random_state=2, **kw),
    }
    local = {name: call().importances for name, call in calls.items()}
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            for name, call in calls.items():
                np.testing.assert_array_equal(call(n_jobs=-1, batch_size=128).importances, local[name])
    finally:
        cluster.close()


def test_output_picks_the_prediction_explained():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(600, 3))

    def model(x):  # two outputs: the first reads x1, the second x2
        return np.column_stack([x[:, 0], 3 * x[:, 1]])

    first = seqimp.sage_importance(model, X, X[:, 0], output=0, n_background=16, random_state=0)
    second = seqimp.sage_importance(model, X, 3 * X[:, 1], output=1, n_background=16, random_state=0)
    assert first.importances_mean[1] == 0.0 and first.importances_mean[0] > 0.5
    assert second.importances_mean[0] == 0.0 and second.importances_mean[1] > 5


def test_standard_errors_intervals_and_p_values_come_from_the_samples_contributions():
    """SAGE reports through the inference every result has (issue 20): se over the samples of X (t with
    n - 1 df), intervals that cover w_j^2 Var(x_j) on an additive model (checked over replicate data
    sets: sd of the estimates / mean se about 1), p-values, and per-sample contributions whose mean is
    the value."""
    w, sd = np.array([1.0, 0.5, 0.0]), np.array([1.0, 2.0, 1.0])
    truth = w ** 2 * sd ** 2
    estimates, ses, hits = [], [], []
    for rep in range(60):
        rng = np.random.default_rng(rep)
        X = rng.normal(size=(300, 3)) * sd
        r = seqimp.sage_importance(lambda x: x @ w, X, X @ w + 0.5 * rng.normal(size=300), n_background=64,
                                   max_permutations=8, random_state=rep)
        low, high = r.confidence_interval(0.95).T
        estimates.append(r.importances_mean)
        ses.append(r.importances_se)
        hits.append((low <= truth) & (truth <= high))
    estimates, ses = np.array(estimates), np.array(ses)
    ratio = estimates[:, :2].std(axis=0, ddof=1) / ses[:, :2].mean(axis=0)
    assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio
    assert np.all(np.mean(hits, axis=0)[:2] >= 0.85)
    assert (estimates[:, 2] == 0).all() and (ses[:, 2] == 0).all()
    # one result, every reading of its inference
    np.testing.assert_allclose(r.importances_se, r.inference["se"])
    assert r.inference["df"] == 299 and "orderings" in r.inference["covers"]
    np.testing.assert_allclose(r.inference["sample_effects"].mean(axis=1), r.importances_mean, rtol=1e-10,
                               atol=1e-14)
    assert r.pvalues[2] == 1.0 and np.all(r.pvalues[:2] < 1e-6)
    np.testing.assert_array_equal(r.significant(), [True, True, False])
    frame = r.to_frame()
    np.testing.assert_allclose(frame[["ci_low", "ci_high"]].to_numpy(), r.confidence_interval())
    assert "se_permutations" in r.label_extras and r.extra["se_permutations"].shape == (3,)


def test_a_background_frame_is_read_in_xs_category_codes():
    """A background DataFrame's strings are coded by its own values; they reach the model as X's values
    (before the merge they were copied as codes into X's coding: other categories, silently)."""
    import pandas as pd

    rng = np.random.default_rng(6)
    v = rng.normal(size=400)
    c = rng.choice(["a", "b", "c"], size=400)
    frame = pd.DataFrame({"v": v, "c": c})
    shift = {"a": 0.0, "b": 1.0, "c": 5.0}

    def on_frame(d):
        return d["v"].to_numpy() + d["c"].map(shift).to_numpy()

    codes = np.searchsorted(["a", "b", "c"], c).astype(np.float64)

    def on_array(x):
        return x[:, 0] + np.array([0.0, 1.0, 5.0])[x[:, 1].astype(int)]

    rows = np.flatnonzero(c != "a")[:40]  # no "a": its own codes for "b" and "c" are 0 and 1
    y = on_frame(frame) + 0.1 * rng.normal(size=400)
    ours = seqimp.sage_importance(on_frame, frame, y, background=frame.iloc[rows], max_permutations=4,
                                  random_state=0)
    as_array = np.column_stack([v, codes])
    twin = seqimp.sage_importance(on_array, as_array, y, background=as_array[rows], max_permutations=4,
                                  random_state=0)
    np.testing.assert_allclose(ours.importances, twin.importances, rtol=1e-12, atol=1e-12)
    other = frame.iloc[rows].assign(c=np.where(np.arange(40) == 3, "z", frame["c"].to_numpy()[rows]))
    with pytest.raises(ValueError, match=r"'background' parameter of sage_importance holds 'z' in column 'c', "
                                         r"which X's column never holds"):
        seqimp.sage_importance(on_frame, frame, y, background=other, random_state=0)
    whole = pd.DataFrame({"v": rng.integers(0, 5, size=400), "c": c})
    with pytest.raises(ValueError, match=r"'background' parameter of sage_importance holds values X's input of "
                                         r"dtype int64 cannot hold exactly"):
        seqimp.sage_importance(lambda d: d["v"].to_numpy() * 1.0, whole[["v"]], y,
                               background=pd.DataFrame({"v": [0.5] * 10}), random_state=0)
