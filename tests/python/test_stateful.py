"""Stateful recurrent models (issue 23, item 3): their state carries over between batches, so three
calls with the same random_state gave three different results. seqimp refuses them, saying why and
giving the line that makes a stateless copy, and that copy gives the same numbers every call."""

import numpy as np
import pytest

import seqimp
from conftest import require

keras = require("keras")


def _stateful_lstm():
    keras.utils.set_random_seed(0)
    inp = keras.Input(batch_shape=(50, 6, 3))
    out = keras.layers.Dense(1)(keras.layers.LSTM(4, stateful=True, name="lstm")(inp))
    return keras.Model(inp, out)


def test_a_stateful_lstm_is_refused_with_the_way_to_a_stateless_copy():
    model = _stateful_lstm()
    X = np.random.default_rng(0).normal(size=(200, 6, 3)).astype("float32")
    y = X[:, :, 0].sum(axis=1)
    calls = [lambda: seqimp.perturbation_importance(model, X, batch_size=50, random_state=0),
             lambda: seqimp.permutation_importance(model, X, y, batch_size=50, random_state=0),
             lambda: seqimp.gradient_importance(model, X)]
    for call in calls:
        with pytest.raises(ValueError, match=r"recurrent layers \['lstm'\] are stateful .* depend on the "
                                             r"chunking, the batch size and earlier calls") as caught:
            call()
    recipe = str(caught.value).split("\n    ", 1)[1]
    assert len(str(caught.value).splitlines()) == 2
    scope = {"keras": keras, "model": model}
    exec(recipe, scope)  # the line the message gives, as it is
    stateless = scope["stateless"]
    assert not any(getattr(layer, "stateful", False) for layer in stateless.layers)
    runs = [seqimp.permutation_importance(stateless, X, y, n_repeats=2, random_state=0).importances
            for _ in range(3)]
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    # The copy is the stateful model started from a zero state for every batch of sequences.
    for layer in model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    np.testing.assert_allclose(stateless.predict(X[:50], verbose=0), model.predict(X[:50], verbose=0, batch_size=50),
                               atol=1e-6)
