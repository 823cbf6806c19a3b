"""Metrics: names, orientation, and the checks of y against the predictions. Values from definitions."""

import numpy as np
import pytest

from seqimp.metrics import METRICS, Metric, check_target, get_metric

F = "permutation_importance"


@pytest.mark.parametrize("name,expected", [
    # y = [0, 1, 2, 3], p = [1, 1, 1, 1]: errors -1, 0, 1, 2.
    ("mae", 1.0), ("mean_absolute_error", 1.0), ("MAE", 1.0), ("neg_mean_absolute_error", -1.0),
    ("mse", 1.5), ("mean_squared_error", 1.5), ("neg_mean_squared_error", -1.5),
    ("rmse", np.sqrt(1.5)), ("root_mean_squared_error", np.sqrt(1.5)),
    ("neg_root_mean_squared_error", -np.sqrt(1.5)),
    # R² = 1 - SS_res / SS_tot = 1 - 6 / 5.
    ("r2", 1 - 6 / 5), ("r2_score", 1 - 6 / 5),
])
def test_regression_metrics_by_definition(name, expected):
    y, p = np.array([0.0, 1.0, 2.0, 3.0]), np.ones(4)
    assert get_metric(name, F)(y, p) == pytest.approx(expected)


def test_sequence_outputs_are_scored_over_every_element():
    y = np.array([[0.0, 1.0], [2.0, 3.0]])
    p = np.ones((2, 2))
    assert get_metric("mae", F)(y, p) == pytest.approx(1.0)
    assert get_metric("mse", F)(y[:, :, None], p[:, :, None]) == pytest.approx(1.5)


def test_classification_metrics_by_definition():
    y = np.array([0.0, 0.0, 1.0, 1.0])
    p = np.array([0.2, 0.6, 0.7, 0.9])
    expected_ll = -np.mean(np.log([0.8, 0.4, 0.7, 0.9]))
    assert get_metric("log_loss", F)(y, p) == pytest.approx(expected_ll)
    assert get_metric("neg_log_loss", F)(y, p) == pytest.approx(-expected_ll)
    assert get_metric("accuracy", F)(y, p) == pytest.approx(0.75)  # 0.6 is on the wrong side of 0.5
    assert get_metric("auc", F)(y, p) == pytest.approx(1.0)  # every positive above every negative
    assert get_metric("roc_auc", F)(y, np.array([0.2, 0.8, 0.7, 0.9])) == pytest.approx(0.75)


def test_multiclass_log_loss_with_labels_or_one_hot():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    labels = np.array([0, 1, 2])
    expected = -np.mean(np.log([0.7, 0.8, 0.5]))
    ll = get_metric("log_loss", F)
    assert ll(labels, p) == pytest.approx(expected)
    assert ll(np.eye(3)[labels], p) == pytest.approx(expected)
    assert get_metric("accuracy", F)(labels, p) == 1.0


def test_orientation():
    for name in ("mae", "mse", "rmse", "log_loss", "neg_mean_absolute_error"):
        m = get_metric(name, F)
        # Whatever the direction, worsening is positive when the metric gets worse.
        worse = m(np.array([0.0, 1.0]), np.array([0.4, 0.6]))
        better = m(np.array([0.0, 1.0]), np.array([0.1, 0.9]))
        assert m.worsening(better, worse) > 0, name
    for name in ("r2", "accuracy", "auc", "neg_mean_squared_error", "neg_log_loss"):
        assert get_metric(name, F).greater_is_better, name
    assert Metric(lambda y, p: 0.0, greater_is_better=True).worsening(0.9, 0.6) == pytest.approx(0.3)
    assert Metric(lambda y, p: 0.0).worsening(0.9, 0.6) == pytest.approx(-0.3)


def test_a_bare_callable_is_a_loss_and_keeps_its_name():
    def my_loss(y, p):
        return float(np.max(np.abs(y - p)))

    m = get_metric(my_loss, F)
    assert not m.greater_is_better and m.name == "my_loss"
    assert m(np.array([0.0, 1.0]), np.array([0.5, 3.0])) == 2.0
    custom = Metric(my_loss, greater_is_better=True, name="score")
    assert get_metric(custom, F) is custom


def test_unknown_metric_names_the_argument():
    with pytest.raises(ValueError, match=r"The 'metric' parameter of permutation_importance must be one of "
                                         r"\{'mae'.*Got 'maee' instead"):
        get_metric("maee", F)
    with pytest.raises(TypeError, match=r"'metric' parameter of permutation_importance.*Got 3 instead"):
        get_metric(3, F)
    with pytest.raises(TypeError, match=r"'metric' parameter.*Got None instead"):
        get_metric(None, F)


def test_a_scikit_learn_scorer_is_taken_apart():
    # Scorer objects are accepted since issue 12; tests/python/test_sklearn_scorers.py covers them.
    from sklearn.metrics import get_scorer

    m = get_metric(get_scorer("r2"), F)
    assert m.name == "r2" and m.greater_is_better
    assert m(np.array([0.0, 1.0, 2.0, 3.0]), np.ones(4)) == pytest.approx(1 - 6 / 5)


def test_metric_construction_is_checked():
    with pytest.raises(TypeError, match="'func' parameter of Metric must be a callable"):
        Metric("mae")
    with pytest.raises(TypeError, match="'greater_is_better' parameter of Metric must be a bool"):
        Metric(lambda y, p: 0.0, greater_is_better="yes")


def test_metric_must_return_one_number_and_failures_name_it():
    with pytest.raises(TypeError, match="metric 'vec' must return one number"):
        Metric(lambda y, p: y - p, name="vec")(np.zeros(3), np.zeros(3))

    def broken(y, p):
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match=r"metric 'broken' failed on y of shape \(3,\).*RuntimeError: boom"):
        Metric(broken)(np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("y_shape,pred_shape", [
    ((5,), (5,)), ((5,), (5, 1)), ((5, 1), (5,)), ((5, 10), (5, 10)), ((5, 10), (5, 10, 1)),
    ((5, 1, 10), (5, 10)),
])
def test_shapes_that_fit(y_shape, pred_shape):
    check_target(METRICS["mae"], np.zeros(y_shape), np.zeros(pred_shape), F)


@pytest.mark.parametrize("y_shape,pred_shape", [
    ((5,), (5, 10)), ((5, 10), (5,)), ((5, 10), (5, 5, 2)), ((5, 3), (5, 4)), ((4,), (5,)),
])
def test_shapes_that_do_not_fit_name_y(y_shape, pred_shape):
    with pytest.raises(ValueError, match=r"The 'y' parameter of permutation_importance"):
        check_target(METRICS["mae"], np.zeros(y_shape), np.zeros(pred_shape), F)


def test_probability_metric_on_non_probabilities_names_metric():
    y = np.array([0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"The 'metric' parameter of permutation_importance is 'log_loss', "
                                         r"which needs predicted probabilities.*from -2 to 3"):
        check_target(METRICS["log_loss"], y, np.array([-2.0, 0.5, 3.0]), F)
    with pytest.raises(ValueError, match="'metric' parameter.*'neg_log_loss'"):
        check_target(get_metric("neg_log_loss", F), y, np.array([-2.0, 0.5, 3.0]), F)
    # AUC ranks scores: logits are fine.
    check_target(METRICS["auc"], y, np.array([-2.0, 0.5, 3.0]), F)
    # A user's metric can ask for the same check.
    with pytest.raises(ValueError, match="needs predicted probabilities"):
        check_target(Metric(lambda y, p: 0.0, needs_proba=True, name="mine"), y, np.array([2.0, 0, 0]), F)


def test_class_metrics_need_class_labels_in_y():
    with pytest.raises(ValueError, match=r"The 'y' parameter of permutation_importance must hold class "
                                         r"labels 0/1.*'accuracy'.*0.5"):
        check_target(METRICS["accuracy"], np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.5, 0.9]), F)
    with pytest.raises(ValueError, match=r"'y' parameter.*class labels 0..2"):
        check_target(METRICS["log_loss"], np.array([0, 1, 3]), np.full((3, 3), 1 / 3), F)
    check_target(METRICS["log_loss"], np.array([0, 1, 2]), np.full((3, 3), 1 / 3), F)


def test_auc_needs_both_classes_in_y_but_only_when_all_rows_are_seen():
    y = np.ones(4)
    with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance holds only the class"):
        check_target(METRICS["auc"], y, np.linspace(0, 1, 4), F)
    check_target(METRICS["auc"], y, np.linspace(0, 1, 4), F, partial=True)


def test_non_finite_predictions_are_reported():
    with pytest.raises(ValueError, match="predictions contain NaN or inf"):
        check_target(METRICS["mae"], np.zeros(3), np.array([0.0, np.nan, 1.0]), F)
