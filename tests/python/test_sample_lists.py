"""A Python list of per-sample (timesteps, features) arrays (issue 23, item 6): a list of arrays is a
model's several inputs, so such a list was read as n inputs ("y must have one row per sample of X
(6)", or a message listing 300 shapes). Now every such message is a few lines and says the way out:
np.stack(X) for equal shapes, padding (as_sequences, pad_sequences) and a mask for ragged ones."""

import numpy as np
import pytest

import seqimp
from conftest import require

rng = np.random.default_rng(0)
EQUAL = [rng.random((6, 3)) for _ in range(300)]
RAGGED = [rng.random((int(rng.integers(3, 13)), 3)) for _ in range(300)]


def model(x):
    return np.asarray(x)[:, :, 0].sum(axis=1)


def _short(message):
    assert len(message) < 600 and len(message.splitlines()) <= 3, message


def test_equal_shapes_with_y_per_sample_point_to_np_stack():
    y = model(np.stack(EQUAL))
    with pytest.raises(ValueError, match=r"'y' parameter of permutation_importance must have one row per sample "
                                         r"of X \(6\); got shape \(300,\)\. X is a list of 300 arrays of shape "
                                         r"\(6, 3\), .* pass np\.stack\(X\), of shape \(300, 6, 3\)\.") as caught:
        seqimp.permutation_importance(model, EQUAL, y)
    _short(str(caught.value))
    # The way out works, and gives the array's numbers.
    stacked = seqimp.permutation_importance(model, np.stack(EQUAL), y, random_state=0)
    assert stacked.importances_mean[0] > 0 and stacked.importances_mean[2] == 0.0


def test_ragged_lists_get_a_short_message_pointing_to_padding():
    for call in (lambda: seqimp.perturbation_importance(model, RAGGED),
                 lambda: seqimp.permutation_importance(model, RAGGED, np.zeros(300))):
        with pytest.raises(ValueError, match=r"same number of samples \(first axis\); got X\[0\] has \d+, X\[1\] "
                                             r"has \d+, X\[2\] has \d+, \.\.\. \(300 arrays of 3 to 12 rows\)\. If "
                                             r"they are one sequence per sample, pad them .*as_sequences.*"
                                             r"pad_sequences.*mask=") as caught:
            call()
        _short(str(caught.value))
    keras = require("keras")
    padded = keras.utils.pad_sequences(RAGGED, padding="post", dtype="float32")  # the way out, as given
    lengths = np.array([len(a) for a in RAGGED])
    mask = np.arange(padded.shape[1]) < lengths[:, None]
    r = seqimp.perturbation_importance(model, padded, mask=mask, random_state=0)
    assert padded.shape == (300, 12, 3) and r.importances_mean[0] > 0 and r.importances_mean[2] == 0.0


def test_a_keras_model_with_one_input_points_to_np_stack():
    keras = require("keras")
    net = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(2), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"The model takes 1 input, but X is a list of 300 arrays of shape "
                                         r"\(6, 3\): one per sample\? Pass np\.stack\(X\), of shape "
                                         r"\(300, 6, 3\)\.") as caught:
        seqimp.perturbation_importance(net, [a.astype("float32") for a in EQUAL])
    _short(str(caught.value))


def test_a_callable_failing_on_the_list_names_three_shapes_not_300():
    with pytest.raises(ValueError, match=r"failed on input of shape \[\(\d+, 3\), \(\d+, 3\), \(\d+, 3\)\], \.\.\. "
                                         r"\(300 arrays\)") as caught:
        seqimp.perturbation_importance(lambda x: x[:, :, 0].sum(axis=1), EQUAL)
    _short(str(caught.value))
