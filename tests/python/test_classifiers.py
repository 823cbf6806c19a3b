"""Classifiers are scored as scikit-learn's scorers score them (issue 12, item 1): the metric's response
method (predict_proba, decision_function, predict), the positive class of a binary model, and never hard
labels under a probability metric. Numbers are checked against scikit-learn itself."""

import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import brier_score_loss, get_scorer, make_scorer
from sklearn.svm import LinearSVC

import seqimp

F = "permutation_importance"


def _binary(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = 2.0 * X[:, 0] + 0.7 * X[:, 1]  # feature 3 unused
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    return X, y


@pytest.fixture(scope="module")
def binary():
    X, y = _binary()
    return LogisticRegression().fit(X, y), X, y


class Recording:
    """A fitted classifier that records every chunk it is asked about and how, so that a test can score
    the very permuted copies seqimp scored, with scikit-learn's own scorer."""

    def __init__(self, clf):
        self.clf = clf
        self.classes_ = clf.classes_
        self.calls = []

    def predict(self, X):
        self.calls.append(("predict", np.array(X)))
        return self.clf.predict(X)

    def predict_proba(self, X):
        self.calls.append(("predict_proba", np.array(X)))
        return self.clf.predict_proba(X)

    def decision_function(self, X):
        self.calls.append(("decision_function", np.array(X)))
        return self.clf.decision_function(X)


def _z(ours, theirs):
    """The difference of mean importances in standard errors (independent permutations on each side)."""
    r1, r2 = ours.importances.shape[1], theirs.importances.shape[1]
    se = np.sqrt(ours.importances.var(axis=1, ddof=1) / r1 + theirs.importances.var(axis=1, ddof=1) / r2)
    return (ours.importances_mean - theirs.importances_mean) / se, se


def test_agrees_with_sklearn_under_neg_log_loss_and_roc_auc(binary):
    clf, X, y = binary
    ours = seqimp.permutation_importance(clf, X, y, metric=["neg_log_loss", "roc_auc"], n_repeats=30,
                                         random_state=0)
    assert list(ours) == ["neg_log_loss", "roc_auc"]
    for name in ("neg_log_loss", "roc_auc"):
        theirs = sklearn_permutation_importance(clf, X, y, scoring=name, n_repeats=30, random_state=1)
        z, se = _z(ours[name], theirs)
        # The difference of means lies within 4 standard errors; the unused feature is near 0 on both.
        assert np.all(np.abs(z[:2]) < 4), (name, ours[name].importances_mean, theirs.importances_mean, se)
        assert abs(ours[name].importances_mean[2]) < 0.01
        assert ours[name].baseline_score == pytest.approx(get_scorer(name)(clf, X, y), rel=1e-6)
    # The report: labels scored as probabilities gave 11.9; probabilities give about 0.65.
    assert 0.5 < ours["neg_log_loss"].importances_mean[0] < 0.8


@pytest.mark.parametrize("name", ["neg_log_loss", "roc_auc", "accuracy", "neg_brier_score", "f1",
                                  "average_precision"])
def test_each_importance_is_sklearns_score_difference_exactly(binary, name):
    clf, X, y = binary
    model = Recording(clf)
    n_repeats = 2
    # One chunk per task (baseline, then label j's repeat r), so every call below is one whole copy.
    r = seqimp.permutation_importance(model, X, y, metric=name, n_repeats=n_repeats, batch_size=len(X),
                                      random_state=3)
    copies = [X_ for _, X_ in model.calls]
    scorer = get_scorer(name)
    baseline = scorer(clf, copies[0], y)
    assert r.baseline_score == pytest.approx(baseline, rel=1e-12, abs=1e-12)
    expected = np.array([baseline - scorer(clf, copy, y) for copy in copies[1:]]).reshape(3, n_repeats)
    # baseline - permuted score, in scikit-learn's sign for greater-is-better and neg_ scorers alike.
    np.testing.assert_allclose(r.importances, expected, rtol=1e-9, atol=1e-12)
    assert r.importances_mean[0] > 0


def test_each_response_method_is_called_once_per_chunk(binary):
    clf, X, y = binary
    model = Recording(clf)
    seqimp.permutation_importance(model, X, y, metric=["neg_log_loss", "roc_auc", "accuracy", "f1"],
                                  n_repeats=2, batch_size=700, random_state=0)
    # Before the run, each method is asked about one row, to learn the shape of its response.
    assert sorted(m for m, X_ in model.calls if len(X_) == 1) == ["decision_function", "predict",
                                                                   "predict_proba"]
    methods = [m for m, X_ in model.calls if len(X_) > 1]
    n_chunks = -(-len(X) * (1 + 3 * 2) // 700)
    # roc_auc prefers decision_function, as scikit-learn's scorer does; accuracy and f1 share predict.
    assert {m: methods.count(m) for m in set(methods)} == {
        "predict_proba": n_chunks, "decision_function": n_chunks, "predict": n_chunks}


def test_several_responses_in_worker_processes_give_the_same_numbers(binary):
    clf, X, y = binary
    metrics = ["neg_log_loss", "roc_auc", "accuracy"]
    here = seqimp.permutation_importance(clf, X[:300], y[:300], metric=metrics, n_repeats=2, random_state=0)
    jobs = seqimp.permutation_importance(clf, X[:300], y[:300], metric=metrics, n_repeats=2, random_state=0,
                                         n_jobs=2, batch_size=200)
    for name in metrics:
        np.testing.assert_allclose(jobs[name].importances, here[name].importances, rtol=1e-12, atol=1e-15)


def test_positive_class_is_classes_1_or_the_scorers_pos_label():
    X, y01 = _binary(400, seed=1)
    y = np.where(y01 == 1, 5.0, 2.0)  # classes_ = [2, 5]: the positive class is 5, as in scikit-learn
    clf = LogisticRegression().fit(X, y)
    for scorer in (get_scorer("neg_brier_score"), make_scorer(brier_score_loss, greater_is_better=False,
                                                              response_method="predict_proba", pos_label=2.0),
                   get_scorer("roc_auc"), get_scorer("neg_log_loss")):
        r = seqimp.permutation_importance(clf, X, y, metric=scorer, n_repeats=1, random_state=0)
        assert r.baseline_score == pytest.approx(scorer(clf, X, y), rel=1e-6), scorer
    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance.*pos_label=1 is not "
                                         r"one of the model's classes \[2.0, 5.0\]"):
        seqimp.permutation_importance(clf, X, y, metric="average_precision", n_repeats=1)


def test_multiclass_probabilities_against_sklearn():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 3))
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=600), [-0.5, 0.5]).astype(float)  # classes 0, 1, 2
    clf = LogisticRegression().fit(X, y)
    out = seqimp.permutation_importance(clf, X, y, metric=["neg_log_loss", "roc_auc_ovr", "accuracy",
                                                           "f1_macro"], n_repeats=2, random_state=0)
    for name, r in out.items():
        assert r.baseline_score == pytest.approx(get_scorer(name)(clf, X, y), rel=1e-6), name
        assert r.importances_mean[0] > 0.1 and abs(r.importances_mean[2]) < 0.05, name


@pytest.mark.parametrize("model,name", [(LinearSVC(), "neg_log_loss"), (RidgeClassifier(), "neg_brier_score")])
def test_a_classifier_without_probabilities_is_refused_for_a_probability_metric(binary, model, name):
    _, X, y = binary
    model.fit(X, y)
    with pytest.raises(ValueError, match=rf"The 'metric' parameter of permutation_importance is '{name}', "
                                         rf"which scores predicted probabilities \(predict_proba\), but the "
                                         rf"model \(an object of type {type(model).__name__}\) has no "
                                         r"predict_proba.*never scores labels"):
        seqimp.permutation_importance(model, X, y, metric=name, n_repeats=1)
    # Ranking metrics take its decision_function, as scikit-learn's roc_auc does.
    r = seqimp.permutation_importance(model, X, y, metric="roc_auc", n_repeats=1, random_state=0)
    assert r.baseline_score == pytest.approx(get_scorer("roc_auc")(model, X, y), rel=1e-6)


class LabelsOnly:
    """A classifier that can only give labels."""

    classes_ = np.array([0.0, 1.0])

    def predict(self, X):
        return (X[:, 0] > 0).astype(float)


def test_a_labels_only_classifier_is_refused_for_probabilities_and_ranks(binary):
    _, X, y = binary
    for name in ("log_loss", "neg_log_loss", "roc_auc", "auc", "average_precision"):
        with pytest.raises(ValueError, match=rf"'metric' parameter of permutation_importance is '{name}'.*"
                                             r"LabelsOnly\) has no .*gives only class labels"):
            seqimp.permutation_importance(LabelsOnly(), X, y, metric=name, n_repeats=1)
    r = seqimp.permutation_importance(LabelsOnly(), X, y, metric="accuracy", n_repeats=1, random_state=0)
    assert r.baseline_score == pytest.approx(np.mean((X[:, 0] > 0) == y))


def test_a_callable_that_returns_labels_is_refused_for_log_loss(binary):
    clf, X, y = binary
    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance is 'neg_log_loss', "
                                         r"which needs predicted probabilities, but every prediction of the "
                                         r"model is exactly 0 or 1"):
        seqimp.permutation_importance(clf.predict, X, y, metric="neg_log_loss", n_repeats=1)
    # The same callable's probabilities are scored as they are.
    r = seqimp.permutation_importance(lambda x: clf.predict_proba(x)[:, 1], X, y, metric="neg_log_loss",
                                      n_repeats=1, random_state=0)
    assert r.baseline_score == pytest.approx(get_scorer("neg_log_loss")(clf, X, y), rel=1e-6)


def test_output_is_refused_when_the_metric_picks_the_response(binary):
    clf, X, y = binary
    with pytest.raises(ValueError, match=r"'output' parameter of permutation_importance must be None when "
                                         r"the metric scores the classifier's predict_proba"):
        seqimp.permutation_importance(clf, X, y, metric="neg_log_loss", output=0, n_repeats=1)


def test_a_regressor_is_scored_on_its_predictions(binary):
    from sklearn.linear_model import LinearRegression

    _, X, y = binary
    reg = LinearRegression().fit(X, y)
    # Not a classifier: its predictions are scores as they are (AUC ranks them), like a callable's.
    r = seqimp.permutation_importance(reg, X, y, metric="roc_auc", n_repeats=1, random_state=0)
    from sklearn.metrics import roc_auc_score

    assert r.baseline_score == pytest.approx(roc_auc_score(y, reg.predict(X)), rel=1e-6)


def test_a_binomial_glm_from_rpy2_is_scored_on_its_probabilities():
    from conftest import require

    ro = require("rpy2.robjects")
    from rpy2.robjects.conversion import localconverter

    with localconverter(ro.default_converter):
        d = ro.r("""local({
            set.seed(5)
            d <- data.frame(a = rnorm(300), b = rnorm(300))
            d$y <- rbinom(300, 1, plogis(2 * d$a))
            d
        })""")
        fit = ro.r("function(d) glm(y ~ a + b, family = binomial, data = d)")(d)
        x = ro.r("function(d) d[c('a', 'b')]")(d)
        y = np.array(ro.r("function(d) d$y")(d), dtype=float)
        p = np.array(ro.r("function(m) fitted(m)")(fit), dtype=float)
    r = seqimp.permutation_importance(fit, x, y, metric="neg_log_loss", n_repeats=2, random_state=0)
    assert r.baseline_score == pytest.approx(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-6)
    assert r.importances_mean[0] > 0.3 and abs(r.importances_mean[1]) < 0.05
    # A metric on labels or values leaves predict()'s default (log-odds) alone, as before.
    link = seqimp.permutation_importance(fit, x, y, metric="mse", n_repeats=1, random_state=0)
    assert link.baseline_score > 1.0
