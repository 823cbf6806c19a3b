"""permutation_importance against its definition.

The closed forms: a linear sequence model y = Σ_t Σ_j w_j x_tj with x iid U(0, 1) (Var x = 1/12), scored
with MSE (the baseline MSE is 0). Permuting feature j's trajectory adds w_j Σ_t (x_π(i)tj - x_itj) to
each prediction, so the MSE rises by 2·T·w_j²/12; a timestep by 2·Σ_j w_j²/12; a cell by 2·w_j²/12; a
group by the sum of its members' (independent features: the cross terms vanish); a feature with w = 0
leaves every prediction bit-for-bit unchanged, so it scores exactly 0.
"""

import doctest

import numpy as np
import pytest

import seqimp
from seqimp.metrics import Metric

T, F = 10, 4
W = np.array([1.0, 0.5, -0.8, 0.0])  # feature 4 is unused
VAR = 1.0 / 12.0

# Tolerance: with n = 20000 rows and 3 repeats the estimates' relative standard error is about 1%.
# Two sources: the sample variance of X itself (for a feature, of the trajectory sums Σ_t x_t, whose
# kurtosis is about 2.9, so sqrt(1.9 / n) ≈ 1.0%; for a cell sqrt(0.8 / n) ≈ 0.6%), and the
# permutations (each squared difference has relative sd ≈ 1.2-1.4, averaged over n·R terms: ≈ 0.6%).
# A 5% tolerance is then more than 4 standard errors, yet small against any real mistake (a wrong
# variance, a missing factor 2, T or a group member are all off by 50% or more).
N = 20000
RTOL = 0.05


def linear_model(x):
    return np.einsum("ntf,f->n", np.asarray(x, dtype=np.float64), W)


@pytest.fixture(scope="module")
def linear_data():
    X = np.random.default_rng(12345).random((N, T, F)).astype(np.float32)
    return X, linear_model(X)


def test_feature_closed_form(linear_data):
    X, y = linear_data
    r = seqimp.permutation_importance(linear_model, X, y, metric="mse", n_repeats=3, random_state=0)
    expected = 2 * T * W**2 * VAR
    np.testing.assert_allclose(r.importances_mean[:3], expected[:3], rtol=RTOL)
    assert np.all(r.importances[3] == 0.0)  # exactly, in every repeat
    assert r.importances.shape == (F, 3)
    assert r.method == "permutation" and r.metric == "mse" and r.granularity == "feature"
    assert r.baseline_score == pytest.approx(0.0, abs=1e-9)
    assert r.label_names == ["x1", "x2", "x3", "x4"]
    assert np.all(r.importances_std[:3] > 0)


def test_timestep_closed_form(linear_data):
    X, y = linear_data
    r = seqimp.permutation_importance(linear_model, X, y, metric="mse", n_repeats=3,
                                      granularity="timestep", random_state=1)
    assert [lbl.timestep for lbl in r.labels] == list(range(T))
    np.testing.assert_allclose(r.importances_mean, np.full(T, 2 * np.sum(W**2) * VAR), rtol=RTOL)


def test_cell_closed_form(linear_data):
    X, y = linear_data
    r = seqimp.permutation_importance(linear_model, X[:, :4], linear_model(X[:, :4]), metric="mse",
                                      n_repeats=3, granularity="cell", random_state=2)
    # Timestep-major: t0/x1, t0/x2, ..., t1/x1, ...
    assert [(lbl.timestep, lbl.feature) for lbl in r.labels[:F + 1]] == \
        [(0, "x1"), (0, "x2"), (0, "x3"), (0, "x4"), (1, "x1")]
    grid = r.importances_mean.reshape(4, F)
    np.testing.assert_allclose(grid[:, :3], np.tile(2 * W[:3]**2 * VAR, (4, 1)), rtol=RTOL)
    assert np.all(grid[:, 3] == 0.0)


def test_groups_are_the_sum_of_their_members(linear_data):
    X, y = linear_data
    groups = {"x1+x2": ["x1", "x2"], "x3": [2], "x3+unused": ["x3", 3]}
    r = seqimp.permutation_importance(linear_model, X, y, metric="mse", n_repeats=3, groups=groups,
                                      random_state=3)
    assert r.label_names == list(groups)
    per_feature = 2 * T * W**2 * VAR
    np.testing.assert_allclose(r.importances_mean,
                               [per_feature[0] + per_feature[1], per_feature[2], per_feature[2]], rtol=RTOL)


def test_groups_at_cell_granularity(linear_data):
    X, y = linear_data
    X3 = X[:, :3]
    r = seqimp.permutation_importance(linear_model, X3, linear_model(X3), metric="mse", n_repeats=3,
                                      granularity="cell", groups={"a": [0, 1], "b": [2, 3]}, random_state=4)
    assert r.label_names == ["a@t0", "b@t0", "a@t1", "b@t1", "a@t2", "b@t2"]
    expected = np.tile([2 * (W[0]**2 + W[1]**2) * VAR, 2 * (W[2]**2 + W[3]**2) * VAR], 3)
    np.testing.assert_allclose(r.importances_mean, expected, rtol=RTOL)


def test_sequence_outputs_score_every_element():
    # y_t = Σ_j w_j x_tj for each timestep: shuffling feature j's trajectory changes every element by
    # w_j (x' - x), so the MSE over all n·T elements rises by 2·w_j²/12 (no factor T).
    X = np.random.default_rng(5).random((N, T, F)).astype(np.float32)

    def per_step(x):
        return np.einsum("ntf,f->nt", np.asarray(x, dtype=np.float64), W)

    r = seqimp.permutation_importance(per_step, X, per_step(X), metric="mse", n_repeats=3, random_state=5)
    np.testing.assert_allclose(r.importances_mean[:3], 2 * W[:3]**2 * VAR, rtol=RTOL)
    assert r.importances_mean[3] == 0.0


def test_two_dimensional_input_is_a_sequence_of_length_one():
    X = np.random.default_rng(6).random((N, F))
    seen = []

    def model(x):
        seen.append(x.shape[1:])
        return np.asarray(x, dtype=np.float64) @ W

    r = seqimp.permutation_importance(model, X, model(X), metric="mse", n_repeats=3, random_state=6)
    assert set(seen) == {(F,)}  # the model keeps getting the 2-D shape it was given
    np.testing.assert_allclose(r.importances_mean[:3], 2 * W[:3]**2 * VAR, rtol=RTOL)


def test_r2_drop_is_positive_and_matches_its_closed_form(linear_data):
    # R² = 1 - MSE / Var(y) and Var(y) = T·Σw²/12, so permuting feature j lowers R² by 2·w_j² / Σw².
    X, y = linear_data
    expected = 2 * W**2 / np.sum(W**2)
    named = seqimp.permutation_importance(linear_model, X, y, metric="r2", n_repeats=3, random_state=7)
    assert named.baseline_score == pytest.approx(1.0)
    np.testing.assert_allclose(named.importances_mean[:3], expected[:3], rtol=RTOL)
    assert np.all(named.importances_mean[:3] > 0)

    from sklearn.metrics import r2_score

    score = Metric(lambda t, p: r2_score(t, p), greater_is_better=True, name="my_r2")
    custom = seqimp.permutation_importance(linear_model, X, y, metric=score, n_repeats=3, random_state=7)
    assert custom.metric == "my_r2"
    np.testing.assert_allclose(custom.importances_mean[:3], expected[:3], rtol=RTOL)
    # Declared the wrong way round, the same score gives negative importances.
    wrong = Metric(score.func, greater_is_better=False)
    flipped = seqimp.permutation_importance(linear_model, X[:2000], y[:2000], metric=wrong, n_repeats=1,
                                            random_state=7)
    assert np.all(flipped.importances_mean[:3] < 0)


def test_callable_is_a_loss_and_sklearn_names_work(linear_data):
    X, y = linear_data
    X, y = X[:4000], y[:4000]
    expected = 2 * T * W**2 * VAR
    # Same random_state, same permutations: every name for the MSE gives the same importances.
    runs = {m: seqimp.permutation_importance(linear_model, X, y, metric=m, n_repeats=2, random_state=8)
            for m in ("mse", "mean_squared_error", "neg_mean_squared_error", "MSE")}
    runs["callable"] = seqimp.permutation_importance(
        linear_model, X, y, metric=lambda t, p: float(np.mean((t - p) ** 2)), n_repeats=2, random_state=8)
    for name, r in runs.items():
        # 4000 rows: relative standard error about 3%, so 12% is 4 of them.
        np.testing.assert_allclose(r.importances_mean[:3], expected[:3], rtol=0.12, err_msg=name)
        np.testing.assert_allclose(r.importances, runs["mse"].importances, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    assert runs["neg_mean_squared_error"].metric == "neg_mean_squared_error"
    assert runs["neg_mean_squared_error"].baseline_score <= 0.0  # scikit-learn's sign convention
    assert runs["callable"].metric == "<lambda>"


def test_mae_closed_form_linear():
    # One feature, one timestep, y = x: permuting it gives MAE = E|x' - x| = 1/3 for U(0, 1).
    X = np.random.default_rng(9).random((N, 1, 1))
    r = seqimp.permutation_importance(lambda x: x[:, 0, 0], X, X[:, 0, 0], metric="mae", n_repeats=3,
                                      random_state=9)
    assert r.importances_mean[0] == pytest.approx(1.0 / 3.0, rel=0.02)


def _threshold_classifier(x):
    # P(y = 1) as a steep sigmoid of feature 1's trajectory sum around its mean T/2; feature 2 unused.
    s = np.asarray(x, dtype=np.float64)[:, :, 0].sum(axis=1) - x.shape[1] / 2.0
    return 1.0 / (1.0 + np.exp(-50.0 * s))


def test_classification_metrics_closed_form():
    # y = [Σ_t x_t1 > T/2], balanced. After a permutation predictions are independent of y, so
    # accuracy and AUC fall from 1 to 1/2: an importance of 1/2. The unused feature scores exactly 0.
    X = np.random.default_rng(10).random((8000, 5, 2))
    y = (X[:, :, 0].sum(axis=1) > 2.5).astype(float)
    for metric in ("accuracy", "auc", "roc_auc"):
        r = seqimp.permutation_importance(_threshold_classifier, X, y, metric=metric, n_repeats=3,
                                          random_state=10)
        assert r.baseline_score > 0.99, metric
        # Each accuracy after shuffling is a mean of 8000 near-Bernoulli(1/2) terms: sd ≈ 0.006.
        assert r.importances_mean[0] == pytest.approx(0.5, abs=0.03), metric
        assert r.importances_mean[1] == 0.0, metric
    r = seqimp.permutation_importance(_threshold_classifier, X, y, metric="log_loss", n_repeats=3,
                                      random_state=10)
    assert r.importances_mean[0] > 1.0 and r.importances_mean[1] == 0.0


def test_multiclass_labels_or_one_hot():
    X = np.random.default_rng(11).random((3000, 4, 2))

    def softmax_model(x):
        s = np.asarray(x, dtype=np.float64)[:, :, 0].sum(axis=1)
        logits = np.stack([-8 * (s - 1), -8 * np.abs(s - 2), 8 * (s - 3)], axis=1)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    labels = softmax_model(X).argmax(axis=1)
    one_hot = np.eye(3)[labels]
    a = seqimp.permutation_importance(softmax_model, X, labels, metric="accuracy", n_repeats=2, random_state=0)
    b = seqimp.permutation_importance(softmax_model, X, one_hot, metric="accuracy", n_repeats=2, random_state=0)
    np.testing.assert_array_equal(a.importances, b.importances)
    assert a.baseline_score == 1.0
    # Shuffled, accuracy is Σ_k p_k² for class shares p_k; the class shares are measured from labels.
    p = np.bincount(labels, minlength=3) / labels.size
    assert a.importances_mean[0] == pytest.approx(1.0 - np.sum(p**2), abs=0.03)
    assert a.importances_mean[1] == 0.0
    ll = seqimp.permutation_importance(softmax_model, X, labels, metric="log_loss", n_repeats=2,
                                       random_state=0)
    assert ll.importances_mean[0] > 0.5 and ll.importances_mean[1] == 0.0


def _record(model, store):
    def wrapped(x):
        store.append(np.array(x, copy=True))
        return model(x)
    return wrapped


def test_a_feature_moves_as_a_whole_trajectory():
    # Every perturbed copy: the label's cells of row i are row π(i)'s, for one permutation π per copy,
    # and every other cell is untouched.
    X = np.random.default_rng(12).random((50, 6, 3)).astype(np.float32)
    seen = []
    seqimp.permutation_importance(_record(lambda x: x.sum(axis=(1, 2)), seen), X, X.sum(axis=(1, 2)),
                                  metric="mse", n_repeats=2, groups={"g": [0, 2], "h": [1]},
                                  random_state=0, batch_size=37)
    rows = np.concatenate(seen)
    assert rows.shape[0] == 50 * (1 + 2 * 2)
    copies = rows.reshape(5, 50, 6, 3)
    np.testing.assert_array_equal(copies[0], X)
    for k, columns in zip(range(1, 5), ([0, 2], [0, 2], [1], [1])):
        copy = copies[k]
        others = [j for j in range(3) if j not in columns]
        np.testing.assert_array_equal(copy[:, :, others], X[:, :, others])
        # Find π from the first column and check it explains every column of the group, every timestep.
        key = {X[i, :, columns[0]].tobytes(): i for i in range(50)}
        pi = np.array([key[copy[i, :, columns[0]].tobytes()] for i in range(50)])
        assert sorted(pi) == list(range(50))
        assert not np.array_equal(pi, np.arange(50))
        np.testing.assert_array_equal(copy[:, :, columns], X[pi][:, :, columns])


def test_results_do_not_depend_on_batch_size():
    X = np.random.default_rng(13).random((301, 5, 3))
    y = X.sum(axis=(1, 2))

    def model(x):
        return np.asarray(x, dtype=np.float64).sum(axis=(1, 2))

    for granularity in ("feature", "cell"):
        for max_samples in (None, 120, 0.5):
            runs = [seqimp.permutation_importance(model, X, y, metric="mae", n_repeats=3, batch_size=b,
                                                  granularity=granularity, max_samples=max_samples,
                                                  random_state=42).importances
                    for b in (1, 7, 256, 5000, None)]
            for other in runs[1:]:
                np.testing.assert_array_equal(runs[0], other)


def test_random_state():
    X = np.random.default_rng(14).random((200, 5, 3))
    y = X.sum(axis=(1, 2))
    model = lambda x: np.asarray(x, dtype=np.float64).sum(axis=(1, 2))  # noqa: E731
    run = lambda rs: seqimp.permutation_importance(model, X, y, n_repeats=3, random_state=rs).importances  # noqa: E731
    np.testing.assert_array_equal(run(0), run(0))
    np.testing.assert_array_equal(run(np.random.default_rng(3)), run(np.random.default_rng(3)))
    assert not np.array_equal(run(0), run(1))
    assert not np.array_equal(run(None), run(None))
    r = run(0)
    assert not np.array_equal(r[:, 0], r[:, 1])  # repeats are fresh permutations


def test_max_samples_uses_one_subset_for_baseline_and_every_label():
    X = np.random.default_rng(15).random((1000, 4, 2)).astype(np.float32)
    y = X.sum(axis=(1, 2))
    seen = []
    model = _record(lambda x: np.asarray(x, dtype=np.float64).sum(axis=(1, 2)), seen)
    r = seqimp.permutation_importance(model, X, y, metric="mae", n_repeats=2, max_samples=100,
                                      random_state=0, batch_size=64)
    rows = np.concatenate(seen)
    assert rows.shape[0] == 100 * (1 + 2 * 2)  # one forward pass per task over 100 rows, no more
    assert r.params["n_samples"] == 100
    baseline_rows = rows[:100]
    index = {row.tobytes(): i for i, row in enumerate(X)}
    picked = [index[row.tobytes()] for row in baseline_rows]
    assert len(set(picked)) == 100  # drawn without replacement
    # The baseline is scored on the same subset: it equals the MAE there (0 for this exact model).
    assert r.baseline_score == pytest.approx(0.0, abs=1e-6)
    # Every copy holds the subset's trajectories (permuted), never one from outside it.
    for copy in rows[100:].reshape(4, 100, 4, 2):
        for j in range(2):
            assert {copy[i, :, j].tobytes() for i in range(100)} == \
                {X[picked][i, :, j].tobytes() for i in range(100)}

    fraction = seqimp.permutation_importance(model, X, y, metric="mae", n_repeats=2, max_samples=0.1,
                                             random_state=0)
    np.testing.assert_array_equal(fraction.importances, r.importances)  # 0.1 of 1000 rows is 100 rows
    other_seed = seqimp.permutation_importance(model, X, y, metric="mae", n_repeats=2, max_samples=100,
                                               random_state=1)
    assert not np.array_equal(other_seed.importances, r.importances)
    full = [seqimp.permutation_importance(model, X, y, n_repeats=2, max_samples=m, random_state=0).importances
            for m in (None, 1000, 1.0, 1000.0)]
    for other in full[1:]:
        np.testing.assert_array_equal(full[0], other)


def test_the_subsample_depends_only_on_random_state():
    # The rows max_samples picks are the baseline rows the model sees first. They must not change with
    # the number of repeats, the labels, the batch size or the metric, and must change with the seed.
    X = np.random.default_rng(18).random((600, 3, 2)).astype(np.float32)
    y = X.sum(axis=(1, 2))
    index = {row.tobytes(): i for i, row in enumerate(X)}

    def subset(random_state, **kwargs):
        seen = []
        model = _record(lambda x: np.asarray(x, dtype=np.float64).sum(axis=(1, 2)), seen)
        seqimp.permutation_importance(model, X, y, max_samples=250, random_state=random_state, **kwargs)
        return [index[row.tobytes()] for row in np.concatenate(seen)[:250]]

    picked = subset(0)
    assert len(set(picked)) == 250 and picked == sorted(picked)    # without replacement, in X's order
    for kwargs in (dict(n_repeats=1), dict(n_repeats=7, batch_size=13), dict(granularity="cell"),
                   dict(groups={"both": [0, 1]}), dict(metric="mse")):
        assert subset(0, **kwargs) == picked, kwargs
    assert subset(1) != picked


def test_y_is_checked_on_the_first_chunk_without_a_second_pass():
    X = np.random.default_rng(16).random((1000, 5, 2))
    calls = []

    def model(x):
        calls.append(x.shape[0])
        return np.asarray(x, dtype=np.float64).sum(axis=1)  # (n, 2): y of shape (n,) is wrong

    with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance must match the shape"):
        seqimp.permutation_importance(model, X, X.sum(axis=(1, 2)), batch_size=100)
    assert calls == [100]


def test_non_probabilities_fail_before_the_full_pass():
    X = np.random.default_rng(17).random((1000, 5, 2))
    calls = []

    def model(x):
        calls.append(1)
        return np.asarray(x, dtype=np.float64).sum(axis=(1, 2))  # not probabilities

    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance is 'log_loss'"):
        seqimp.permutation_importance(model, X, (X[:, 0, 0] > 0.5).astype(float), metric="log_loss",
                                      batch_size=100)
    assert len(calls) == 1


def test_seed_model_ranks_features_1_and_2_far_above_3(seed_model, seed_eval_data):
    X, y = seed_eval_data
    for metric in ("log_loss", "mae"):
        r = seqimp.permutation_importance(seed_model, X, y, metric=metric, n_repeats=5, random_state=0)
        mean = r.importances_mean
        assert r.baseline_score > 0
        # Shuffling x1 or x2 destroys the target's information; x3 carries none, so its importance is
        # noise around 0. "Far above": at least 10 times, with a floor for a near-zero x3.
        assert min(mean[0], mean[1]) > 10 * max(mean[2], 0.002), (metric, mean)
        assert min(mean[0], mean[1]) > 0.05, (metric, mean)
        assert r.to_frame(sort=True)["feature"].tolist()[2] == "x3"


def test_docstring_example_runs():
    import seqimp.permutation

    failures, attempted = doctest.testmod(seqimp.permutation, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
