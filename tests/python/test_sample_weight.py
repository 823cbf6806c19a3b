"""sample_weight on permutation_importance and lofo_importance (issue 12, item 6): scikit-learn's meaning,
the same rows' weights under max_samples, and errors that name the argument."""

import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import get_scorer, mean_squared_error
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqimp

F = "permutation_importance"


@pytest.fixture(scope="module")
def weighted():
    rng = np.random.default_rng(0)
    n = 1000
    X = rng.normal(size=(n, 3))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(2.0 * X[:, 0] + 0.7 * X[:, 1])))).astype(float)
    # Weights that change the answer: heavy where feature 2 is large, where it matters less.
    w = np.where(X[:, 1] > 0, 3.0, 0.5) * rng.uniform(0.5, 1.5, n)
    return LogisticRegression().fit(X, y), X, y, w


def test_agrees_with_sklearn_with_sample_weight(weighted):
    clf, X, y, w = weighted
    ours = seqimp.permutation_importance(clf, X, y, metric="neg_log_loss", sample_weight=w, n_repeats=30,
                                         random_state=0)
    theirs = sklearn_permutation_importance(clf, X, y, scoring="neg_log_loss", sample_weight=w, n_repeats=30,
                                            random_state=1)
    se = np.sqrt(ours.importances.var(axis=1, ddof=1) / 30 + theirs.importances.var(axis=1, ddof=1) / 30)
    z = (ours.importances_mean - theirs.importances_mean) / se
    assert np.all(np.abs(z[:2]) < 4), (ours.importances_mean, theirs.importances_mean, se)
    assert ours.baseline_score == pytest.approx(get_scorer("neg_log_loss")(clf, X, y, sample_weight=w),
                                                rel=1e-6)
    unweighted = seqimp.permutation_importance(clf, X, y, metric="neg_log_loss", n_repeats=30, random_state=0)
    assert ours.baseline_score != pytest.approx(unweighted.baseline_score, rel=1e-3)
    assert ours.params["sample_weight"] and not unweighted.params["sample_weight"]


def test_integer_weights_are_repeated_rows(weighted):
    clf, X, y, _ = weighted
    counts = np.arange(len(y)) % 3  # 0, 1 or 2 copies of each row
    r = seqimp.permutation_importance(clf, X, y, metric=["neg_log_loss", "roc_auc", "accuracy"],
                                      sample_weight=counts, n_repeats=1, random_state=0)
    rows = np.repeat(np.arange(len(y)), counts)
    for name, result in r.items():
        assert result.baseline_score == pytest.approx(get_scorer(name)(clf, X[rows], y[rows]), rel=1e-6), name


def test_max_samples_keeps_each_drawn_rows_weight():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4, 2))
    y = X[:, :, 0].sum(axis=1)
    w = rng.uniform(0.0, 2.0, 500)
    seen = []

    def model(x):
        seen.append(np.array(x))
        return x[:, :, 0].sum(axis=1) + 0.1 * x[:, :, 1].sum(axis=1)

    r = seqimp.permutation_importance(model, X, y, metric="mse", max_samples=120, sample_weight=w,
                                      batch_size=120, n_repeats=1, random_state=2)
    drawn = seen[0]  # the first chunk is the baseline: the drawn rows, in order
    rows = [int(np.flatnonzero(np.all(np.isclose(X, row), axis=(1, 2)))[0]) for row in drawn]
    assert len(set(rows)) == 120
    expected = mean_squared_error(y[rows], model(X[rows]), sample_weight=w[rows])
    assert r.baseline_score == pytest.approx(expected, rel=1e-5)


def test_sequence_outputs_weigh_each_samples_elements():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 5, 2))
    y = X[:, :, 0] + 0.3 * rng.normal(size=(200, 5))
    w = rng.uniform(0.0, 1.0, 200)
    r = seqimp.permutation_importance(lambda x: x[:, :, 0], X, y, metric="mae", sample_weight=w,
                                      n_repeats=1, random_state=0)
    X32 = X.astype(np.float32)
    expected = np.sum(w[:, None] * np.abs(y - X32[:, :, 0])) / (5 * w.sum())
    assert r.baseline_score == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("weights,message", [
    (np.ones(999), r"'sample_weight' parameter of permutation_importance must have one row per sample of X "
                   r"\(1000\); got shape \(999,\)"),
    (np.r_[np.ones(999), -1.0], r"'sample_weight' parameter of permutation_importance must hold weights >= 0. "
                                r"Got -1 for sample 999"),
    (np.r_[np.ones(999), np.nan], r"'sample_weight' parameter of permutation_importance must be finite"),
    (np.zeros(1000), r"'sample_weight' parameter of permutation_importance must not be all zero"),
    (np.ones((1000, 2)), r"'sample_weight' parameter of permutation_importance must be a 1-D array of shape "
                         r"\(1000,\)"),
    (np.array(["a"] * 1000), r"'sample_weight' parameter of permutation_importance must hold numbers"),
])
def test_bad_weights_name_the_argument(weighted, weights, message):
    clf, X, y, _ = weighted
    with pytest.raises((ValueError, TypeError), match=message):
        seqimp.permutation_importance(clf, X, y, metric="neg_log_loss", sample_weight=weights, n_repeats=1)


def test_weights_left_all_zero_by_max_samples_are_refused(weighted):
    clf, X, y, _ = weighted
    w = np.zeros(len(y))
    w[0] = 1.0
    with pytest.raises(ValueError, match=r"'sample_weight' parameter of permutation_importance must not be all "
                                         r"zero on the 10 rows that max_samples drew"):
        seqimp.permutation_importance(clf, X, y, metric="neg_log_loss", sample_weight=w, max_samples=10,
                                      random_state=0)


def test_a_metric_without_sample_weight_is_refused(weighted):
    clf, X, y, w = weighted
    with pytest.raises(ValueError, match=r"'sample_weight' parameter of permutation_importance cannot be used "
                                         r"with the metric '<lambda>': its function takes no sample_weight"):
        seqimp.permutation_importance(clf.predict_proba, X, y, metric=lambda t, p: 0.0, sample_weight=w)

    def my_loss(y_true, y_pred):
        return 0.0

    with pytest.raises(ValueError, match=r"cannot be used with the metric 'my_loss'"):
        seqimp.permutation_importance(clf, X, y, metric=my_loss, sample_weight=w)
    with pytest.raises(ValueError, match=r"cannot be used with the metric 'neg_max_error'"):
        seqimp.permutation_importance(clf, X, y, metric=["mse", "neg_max_error"], sample_weight=w)

    def weighted_loss(y_true, y_pred, sample_weight=None):
        return float(np.average((y_true - y_pred) ** 2, weights=sample_weight))

    r = seqimp.permutation_importance(lambda x: x[:, 0], X, y, metric=weighted_loss, sample_weight=w,
                                      n_repeats=1, random_state=0)
    assert r.baseline_score == pytest.approx(np.average((y - X[:, 0]) ** 2, weights=w))


@pytest.mark.parametrize("name", ["roc_auc", "neg_log_loss"])
def test_lofo_weighs_each_folds_metric_and_the_fits(weighted, name):
    # A classifier's refits are scored on what the metric needs (decision_function, predict_proba).
    clf, X, y, w = weighted
    X, y, w = X[:300], y[:300], w[:300]
    r = seqimp.lofo_importance(LogisticRegression(), X, y, metric=name, sample_weight=w, cv=3,
                               random_state=0, progress=False)
    assert r.params["sample_weight"] and r.params["weighted_fits"]
    expected = []
    for train, test in r.extra["folds"]:
        fitted = LogisticRegression().fit(X[train], y[train], sample_weight=w[train])
        expected.append(get_scorer(name)(fitted, X[test], y[test], sample_weight=w[test]))
    np.testing.assert_allclose(r.extra["baseline_scores"], expected, rtol=1e-9)  # both on float64 X
    assert r.importances_mean[0] > 0.05 and r.importances_mean[0] > r.importances_mean[2]


def test_lofo_fits_an_estimator_without_sample_weight_unweighted():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=150)
    w = rng.uniform(0.1, 1.0, 150)
    for model in (KNeighborsRegressor(), make_pipeline(StandardScaler(), LinearRegression())):
        r = seqimp.lofo_importance(model, X, y, metric="mse", sample_weight=w, cv=3, random_state=0,
                                   progress=False)
        assert r.params["sample_weight"] and not r.params["weighted_fits"]
        train, test = r.extra["folds"][0]
        fitted = model.fit(X[train], y[train])
        expected = mean_squared_error(y[test], fitted.predict(X[test]), sample_weight=w[test])
        assert r.extra["baseline_scores"][0] == pytest.approx(expected, rel=1e-12)


def test_lofo_bad_weights_name_the_argument(weighted):
    _, X, y, _ = weighted
    with pytest.raises(ValueError, match=r"'sample_weight' parameter of lofo_importance must hold weights >= 0"):
        seqimp.lofo_importance(LogisticRegression(), X, y, sample_weight=-np.ones(len(y)), progress=False)
