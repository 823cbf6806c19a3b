"""Metrics on a network's outputs mean what they mean in scikit-learn (issue 23, item 7): float32
softmax probabilities are checked in float32 (no warning at every scoring call), metrics on labels cut
a sigmoid at 0.5 and take a softmax's largest class (the rule accuracy uses), and "roc_auc" on more than
two classes raises as scikit-learn's scorer does unless the caller names the multiclass AUC."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import (f1_score, get_scorer, log_loss, make_scorer, precision_score, recall_score,
                             roc_auc_score)

import seqimp
from seqimp.metrics import check_target, get_metric

from conftest import require

F = "permutation_importance"


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5, 3)).astype(np.float32)


def _softmax32(x):
    """A float32 softmax over 3 classes from features 1 and 2 (feature 3 unused), as Keras returns it."""
    x = np.asarray(x, dtype=np.float32)
    z = np.stack([x[:, :, 0].mean(axis=1), x[:, :, 1].mean(axis=1), np.zeros(len(x), np.float32)], axis=1) * 3
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _sigmoid32(x):
    x = np.asarray(x, dtype=np.float32)
    return (1 / (1 + np.exp(-4 * x[:, :, 0].mean(axis=1, keepdims=True)))).astype(np.float32)


def test_float32_softmax_log_loss_warns_never_and_equals_sklearn():
    X = _data()
    p = _softmax32(X)
    assert not np.allclose(p.astype(np.float64).sum(axis=1), 1.0, rtol=np.sqrt(np.finfo(np.float64).eps), atol=0)
    y = np.random.default_rng(1).integers(0, 3, len(X))
    for metric in ("log_loss", "neg_log_loss", make_scorer(log_loss, greater_is_better=False,
                                                            response_method="predict_proba")):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            r = seqimp.permutation_importance(_softmax32, X, y, metric=metric, n_repeats=3, random_state=0)
        assert [str(w.message) for w in seen] == []
        expected = log_loss(y, p, labels=[0, 1, 2])  # scikit-learn on the float32 probabilities
        assert abs(r.baseline_score) == pytest.approx(expected, rel=1e-6)
        assert r.importances_mean[2] == 0.0 and r.importances_mean[0] > 0


def test_keras_softmax_log_loss_warns_never():
    keras = require("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(3, activation="softmax")])
    X = _data(200)
    y = np.random.default_rng(2).integers(0, 3, len(X))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = seqimp.permutation_importance(model, X, y, metric="log_loss", n_repeats=2, random_state=0)
    assert [str(w.message) for w in seen if "sum to one" in str(w.message)] == []
    p = model.predict(X, verbose=0)
    assert r.baseline_score == pytest.approx(log_loss(y, p, labels=[0, 1, 2]), rel=1e-5)


def test_probabilities_that_do_not_sum_to_one_in_their_own_precision_are_refused():
    y = np.array([0, 1, 2, 1])
    p = np.full((4, 3), 0.3)  # float64 rows summing to 0.9: not a softmax
    with pytest.raises(ValueError, match=r"'log_loss', which needs class probabilities that sum to one .* "
                                         r"between 0.9 and 0.9"):
        check_target(get_metric("log_loss", F), y, p, F)
    # float32 rows off by float32 rounding pass; the same offset in float64 values is refused.
    p32 = np.array([[0.2, 0.3, 0.5000001]], dtype=np.float32).astype(np.float64)
    check_target(get_metric("log_loss", F), np.array([2]), p32, F)
    with pytest.raises(ValueError, match="sum to one"):
        check_target(get_metric("log_loss", F), np.array([2]), np.array([[0.2, 0.3, 0.5001]]), F)


@pytest.mark.parametrize("name, score", [("f1", f1_score), ("precision", precision_score),
                                         ("recall", recall_score)])
def test_threshold_metrics_on_a_sigmoid_cut_at_one_half_as_accuracy(name, score):
    X = _data(seed=3)
    p = _sigmoid32(X)
    y = (np.random.default_rng(3).random(len(X)) < p[:, 0]).astype(int)
    r = seqimp.permutation_importance(_sigmoid32, X, y, metric=name, n_repeats=3, random_state=0)
    assert r.baseline_score == pytest.approx(score(y, (p[:, 0] >= 0.5).astype(int)))
    assert r.baseline_score == pytest.approx(get_scorer(name)._score_func(y, (p[:, 0] >= 0.5).astype(int)))
    assert r.importances_mean[0] > 0 and r.importances_mean[1] == 0.0 and r.importances_mean[2] == 0.0
    accuracy = seqimp.permutation_importance(_sigmoid32, X, y, metric="accuracy", n_repeats=1, random_state=0)
    assert accuracy.baseline_score == pytest.approx(np.mean(y == (p[:, 0] >= 0.5)))


def test_threshold_metrics_on_a_softmax_take_the_largest_class():
    X = _data(seed=4)
    p = _softmax32(X)
    y = p.argmax(axis=1)
    y[:40] = (y[:40] + 1) % 3
    r = seqimp.permutation_importance(_softmax32, X, y, metric="f1_macro", n_repeats=2, random_state=0)
    assert r.baseline_score == pytest.approx(f1_score(y, p.argmax(axis=1), average="macro"))
    # "f1" is binary in scikit-learn: on three classes it fails as scikit-learn's does.
    with pytest.raises(ValueError, match=r"metric 'f1' failed .* average='binary'"):
        seqimp.permutation_importance(_softmax32, X, y, metric="f1", n_repeats=1, random_state=0)


def test_label_metrics_refuse_outputs_that_are_neither_labels_nor_probabilities():
    X = _data(seed=5)
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    for metric in ("accuracy", "f1"):
        with pytest.raises(ValueError, match=rf"'{metric}', which scores predicted class labels; the model's "
                                             r"outputs range from -.* neither labels"):
            seqimp.permutation_importance(lambda x: x[:, :, 0].mean(axis=1), X, y, metric=metric,
                                          random_state=0)


def test_roc_auc_on_three_classes_raises_unless_the_multiclass_auc_is_named():
    X = _data(seed=6)
    p = _softmax32(X)
    y = p.argmax(axis=1)
    y[:60] = (y[:60] + 1) % 3
    for name in ("roc_auc", "auc"):
        with pytest.raises(ValueError, match=rf"'{name}', which scikit-learn defines for two classes .* 3 class "
                                             r"scores\. Name .* 'roc_auc_ovr' .* 'roc_auc_ovo'"):
            seqimp.permutation_importance(_softmax32, X, y, metric=name, n_repeats=1, random_state=0)
    with pytest.raises(ValueError, match="multi_class must be in"):  # what scikit-learn's scorer says
        roc_auc_score(y, p)
    for name, how in (("roc_auc_ovr", "ovr"), ("roc_auc_ovo", "ovo")):
        r = seqimp.permutation_importance(_softmax32, X, y, metric=name, n_repeats=2, random_state=0)
        assert r.baseline_score == pytest.approx(roc_auc_score(y, p, multi_class=how))
        assert r.importances_mean[2] == 0.0
