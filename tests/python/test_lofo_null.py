"""LOFO's null model (no input at all) reads the classes from the whole of y, not one training fold."""

import numpy as np

from seqimp.lofo.retrain import _null_prediction
from seqimp.metrics import get_metric


def test_a_class_missing_from_the_training_fold_keeps_its_column():
    y = np.array([0, 1, 1, 0, 1, 2, 2, 0], dtype=float)
    train = np.array([0, 1, 2, 3, 4])  # classes 0 and 1 only: 2 x class 0, 3 x class 1
    prediction = _null_prediction(y, train, 3, get_metric("log_loss", "lofo_importance"))
    np.testing.assert_array_equal(prediction, np.tile([2 / 5, 3 / 5, 0.0], (3, 1)))


def test_binary_labels_get_the_training_fold_positive_rate():
    y = np.array([0, 1, 1, 0, 1, 1], dtype=float)
    prediction = _null_prediction(y, np.array([0, 1, 2, 3]), 2, get_metric("log_loss", "lofo_importance"))
    np.testing.assert_array_equal(prediction, [0.5, 0.5])
