"""scikit-learn's metrics as scikit-learn users know them (issue 12, item 6): every scorer name, scorer
objects, several metrics in one pass, and the errors of a metric that cannot score what it is given."""

import re

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import fbeta_score, get_scorer, get_scorer_names, make_scorer, mean_squared_error

import seqimp
from seqimp.metrics import get_metric, get_metrics
from seqimp.sklearn_scorers import scorer_arguments

F = "permutation_importance"
# Names that need a y scikit-learn's own scorer refuses on a binary or a 1-D target.
_MULTILABEL = {name for name in get_scorer_names() if name.endswith("_samples")}
_REGRESSION_MODULE = "sklearn.metrics._regression"


def _data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y_class = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(float)
    y_positive = np.exp(0.5 * X[:, 0] + 0.1 * rng.normal(size=n))  # for deviances and log errors
    return X, y_class, y_positive


class _Positive(LinearRegression):
    """A regressor with positive predictions (gamma and Poisson deviance, log errors need them)."""

    def fit(self, X, y):
        return super().fit(X, np.log(y))

    def predict(self, X):
        return np.exp(super().predict(X))


@pytest.fixture(scope="module")
def fitted():
    X, y_class, y_positive = _data()
    return X, y_class, y_positive, LogisticRegression().fit(X, y_class), _Positive().fit(X, y_positive)


@pytest.mark.filterwarnings("ignore:'k' .* greater than or equal to 'n_classes'")  # top_k_accuracy, 2 classes
def test_every_scorer_name_gives_sklearns_number(fitted):
    X, y_class, y_positive, clf, reg = fitted
    names = [n for n in get_scorer_names() if n not in _MULTILABEL]
    # Every name in one pass each for regression and classification: the baselines are scikit-learn's.
    regression = [n for n in names if get_scorer(n)._score_func.__module__ == _REGRESSION_MODULE]
    classification = [n for n in names if n not in regression]
    for model, y, group in ((reg, y_positive, regression), (clf, y_class, classification)):
        out = seqimp.permutation_importance(model, X, y, metric=group, n_repeats=1, random_state=0)
        for name in group:
            expected = get_scorer(name)(model, X.astype(np.float32), y)
            assert out[name].baseline_score == pytest.approx(expected, rel=1e-6, abs=1e-9), name
            assert out[name].metric == name and out[name].params["greater_is_better"]
    assert len(regression) > 10 and len(classification) > 30


def test_multilabel_averages_are_known_names():
    for name in _MULTILABEL:
        assert get_metric(name, F).name == name


def test_neg_scorers_have_sklearns_sign(fitted):
    X, y_class, y_positive, clf, reg = fitted
    runs = seqimp.permutation_importance(reg, X, y_positive, metric={
        "loss": "mse", "name": "neg_mean_squared_error",
        "object": make_scorer(mean_squared_error, greater_is_better=False)}, n_repeats=3, random_state=5)
    np.testing.assert_allclose(runs["name"].importances, runs["loss"].importances, rtol=1e-12)
    np.testing.assert_allclose(runs["object"].importances, runs["loss"].importances, rtol=1e-12)
    assert runs["name"].baseline_score == pytest.approx(-runs["loss"].baseline_score)
    assert runs["object"].metric == "neg_mean_squared_error" and runs["object"].baseline_score < 0
    assert runs["loss"].importances_mean[0] > 0  # positive means worse, whatever the sign convention


def test_scorer_objects_are_taken_apart(fitted):
    X, y_class, _, clf, _ = fitted
    f2 = make_scorer(fbeta_score, beta=2)
    m = get_metric(f2, F)
    assert m.name == "fbeta_score(beta=2)" and m.greater_is_better and m.response_method == "predict"
    assert m.needs_classes and m.pos_label == 1
    r = seqimp.permutation_importance(clf, X, y_class, metric=f2, n_repeats=1, random_state=0)
    assert r.baseline_score == pytest.approx(f2(clf, X.astype(np.float32), y_class))
    assert get_metric(get_scorer("neg_log_loss"), F).name == "neg_log_loss"
    assert get_metric(get_scorer("roc_auc"), F).response_method == ("decision_function", "predict_proba")


def test_scorers_of_older_scikit_learn_are_read_by_class():
    # Before scikit-learn 1.4 a scorer had no _response_method; its class said what it scored.
    from sklearn.metrics import log_loss

    legacy = type("_ProbaScorer", (), {"__module__": "sklearn.metrics._scorer"})()
    legacy._score_func, legacy._sign, legacy._kwargs = log_loss, -1, {}
    arguments = scorer_arguments(legacy)
    assert arguments["response_method"] == "predict_proba" and arguments["needs_proba"]
    assert arguments["name"] == "neg_log_loss"


def test_a_multimetric_scorer_is_refused_with_a_way_out():
    from sklearn.metrics import check_scoring

    multi = check_scoring(LogisticRegression(), scoring=["accuracy", "roc_auc"])
    with pytest.raises(TypeError, match=r"'metric' parameter of permutation_importance must be a scikit-learn "
                                        r"scorer with one score function.*list or dict"):
        get_metric(multi, F)


def test_several_metrics_share_one_pass_and_the_same_permutations(fitted):
    X, y_class, _, clf, _ = fitted
    calls = []

    def model(x):
        calls.append(len(x))
        return clf.predict_proba(x)[:, 1]

    both = seqimp.permutation_importance(model, X, y_class, metric=("log_loss", "neg_brier_score"),
                                         n_repeats=3, random_state=4)
    rows = sum(calls)
    assert rows == len(X) * (1 + 2 * 3)  # one pass: the baseline and every copy, once
    alone = seqimp.permutation_importance(model, X, y_class, metric="neg_brier_score", n_repeats=3,
                                          random_state=4)
    np.testing.assert_array_equal(both["neg_brier_score"].importances, alone.importances)
    assert list(both) == ["log_loss", "neg_brier_score"]


def test_metric_lists_and_dicts_are_checked():
    assert [n for n, _ in get_metrics({"a": "mse", "b": "mae"}, F)[0]] == ["a", "b"]
    assert get_metrics("mse", F)[1] is False
    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance names \['mse'\] more "
                                         r"than once; pass a dict"):
        get_metrics(["mse", "mse"], F)
    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance must be a metric, or "
                                         r"a non-empty list"):
        get_metrics([], F)
    with pytest.raises(TypeError, match=r"'metric' parameter.*non-empty dict \{name: metric\}"):
        get_metrics({}, F)
    with pytest.raises(ValueError, match=r"'metric' parameter of permutation_importance must be one of .*"
                                         r"get_scorer_names\(\).*Got 'neg_log_los' instead"):
        get_metrics(["mse", "neg_log_los"], F)


def test_a_scorer_that_raises_names_the_metric_argument(fitted):
    X, y_class, _, clf, _ = fitted

    def broken(y_true, y_pred):
        raise RuntimeError("boom")

    for metric in (make_scorer(broken), seqimp.Metric(broken, name="broken")):
        with pytest.raises(ValueError, match=r"The 'metric' parameter of permutation_importance: metric "
                                             r"'broken' failed on y of shape \(240,\).*RuntimeError: boom"):
            seqimp.permutation_importance(clf, X, y_class, metric=metric, n_repeats=1)


@pytest.mark.parametrize("name", ["f1", "accuracy", "balanced_accuracy", "neg_log_loss", "roc_auc",
                                  "log_loss", "adjusted_rand_score", make_scorer(fbeta_score, beta=2)])
def test_a_classification_metric_on_a_continuous_y_names_y_and_the_metric(fitted, name):
    X, _, y_positive, _, reg = fitted
    shown = re.escape(name if isinstance(name, str) else "fbeta_score(beta=2)")
    with pytest.raises(ValueError, match=rf"The 'y' parameter of permutation_importance must hold class "
                                         rf"labels.*'{shown}'.*got (continuous )?values such as"):
        seqimp.permutation_importance(reg, X, y_positive, metric=name, n_repeats=1)


def test_label_metrics_of_a_classifier_take_any_integer_classes():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] > 0, 7.0, 3.0) + np.where(X[:, 1] > 1, 1.0, 0.0)  # classes 3, 4, 7, 8
    clf = LogisticRegression().fit(X, y)
    out = seqimp.permutation_importance(clf, X, y, metric=["accuracy", "f1_weighted", "matthews_corrcoef"],
                                        n_repeats=1, random_state=0)
    for name, r in out.items():
        assert r.baseline_score == pytest.approx(get_scorer(name)(clf, X.astype(np.float32), y)), name
