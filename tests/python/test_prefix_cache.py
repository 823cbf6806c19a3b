"""Prefix-state caching (adapters.keras_prefix): the cached path equals the plain forward for every
segment, qualifies only the chains it can serve exactly, and keeps the memory it documents."""

import gc
import math
import weakref

import keras
import numpy as np
import pytest
from seqimp.adapters.keras_prefix import (
    MAX_SEGMENTS, PrefixForward, default_segments, prefix_forward, prefix_plan, state_bytes)

T, F = 10, 3
RNN = {"lstm": "LSTM", "gru": "GRU", "simple": "SimpleRNN"}


def randomise(model, seed=0):
    """Random weights everywhere, biases included, so that every weight is seen to be honoured."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def stacked(kind, head, layers=keras.layers, **rnn_kwargs):
    """RNN(6, sequences) -> Dropout -> RNN(4, sequences per head) -> head, Keras functional."""
    rnn = getattr(layers, RNN[kind])
    inp = layers.Input((T, F))
    x = rnn(6, return_sequences=True, **rnn_kwargs)(inp)
    x = layers.Dropout(0.3)(x)
    x = rnn(4, return_sequences=head != "last", **rnn_kwargs)(x)
    if head == "last":
        out = layers.Dense(2)(x)
    elif head == "timedistributed":
        out = layers.TimeDistributed(layers.Dense(2))(x)
    else:  # "flatten": the head mixes steps, so it needs the cached prefix of the last layer's outputs
        out = layers.Dense(1)(layers.Flatten()(x))
    return randomise(keras.Model(inp, out) if layers is keras.layers else _tf_keras().Model(inp, out))


def _tf_keras():
    import tf_keras

    return tf_keras


def data(n=13, seed=1):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype(np.float32)


def perturbed(X, t0, seed):
    """X with every step from t0 on replaced: a copy equal to X before t0."""
    Xp = X.copy()
    Xp[:, t0:] = np.random.default_rng(seed).normal(size=Xp[:, t0:].shape)
    return Xp


def plain(model, X):
    return np.asarray(model(X, training=False))


def assert_matches_plain(model, pf, X, starts=None):
    """Baseline and every copy perturbed from t0 on (each t0 in ``starts``, all steps by default)
    equal the model's own forward; the plain references come from one batched call."""
    starts = list(range(T) if starts is None else starts)
    copies = [perturbed(X, t0, seed=t0) for t0 in starts]
    reference = np.split(plain(model, np.concatenate([X] + copies)), len(starts) + 1)
    base, states = pf.baseline(X)
    np.testing.assert_allclose(base, reference[0], rtol=1e-5, atol=1e-5)
    for t0, Xp, expected in zip(starts, copies, reference[1:]):
        got = pf.suffix(Xp, pf.segment_of(t0), states)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5,
                                   err_msg=f"t0={t0}, segment {pf.segment_of(t0)}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("head", ["last", "timedistributed"])
def test_cached_equals_plain_every_segment_xla(kind, head):
    model = stacked(kind, head)
    pf = PrefixForward(model, prefix_plan(model), 16, T, F, n_segments=4)
    assert pf.boundaries == (0, 3, 6, 9)
    assert_matches_plain(model, pf, data())  # 13 rows in a 16-row chunk: padding too


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
@pytest.mark.parametrize("head", ["last", "timedistributed", "flatten"])
def test_cached_equals_plain_graph(kind, head):
    model = stacked(kind, head)
    pf = PrefixForward(model, prefix_plan(model), 13, T, F, n_segments=3, jit_compile=False)
    assert_matches_plain(model, pf, data())


@pytest.mark.parametrize("config", [
    dict(kind="lstm", activation="relu", recurrent_activation="hard_sigmoid", use_bias=False),
    dict(kind="lstm", unit_forget_bias=False, activation="softsign", dropout=0.3, recurrent_dropout=0.3),
    dict(kind="gru", reset_after=False, activation="elu", recurrent_activation="sigmoid"),
    dict(kind="simple", activation="relu", use_bias=True),
])
def test_layer_options_are_honoured(config):
    config = dict(config)
    model = stacked(config.pop("kind"), "last", **config)
    pf = PrefixForward(model, prefix_plan(model), 13, T, F, n_segments=T, jit_compile=False)
    assert_matches_plain(model, pf, data())


def test_per_step_layers_between_and_before_recurrent_layers():
    L = keras.layers
    inp = L.Input((T, F))
    x = L.Dense(5, activation="tanh")(inp)
    x = L.LSTM(6, return_sequences=True)(x)
    x = L.LayerNormalization()(x)
    x = L.TimeDistributed(L.Dense(5, activation="relu"))(x)
    x = L.GaussianNoise(0.5)(x)
    x = L.GRU(4, return_sequences=True)(x)
    x = L.GlobalAveragePooling1D()(x)
    model = randomise(keras.Model(inp, L.Activation("sigmoid")(L.Dense(3)(x))))
    plan = prefix_plan(model)
    assert [kind for kind, _ in plan.trunk] == ["step", "rnn", "step", "step", "skip", "rnn"]
    pf = PrefixForward(model, plan, 13, T, F, n_segments=5, jit_compile=False)
    assert_matches_plain(model, pf, data())


def test_sequential_model():
    L = keras.layers
    model = randomise(keras.Sequential([L.Input((T, F)), L.SimpleRNN(5, return_sequences=True),
                                        L.LSTM(3), L.Dense(1)]))
    pf = PrefixForward(model, prefix_plan(model), 13, T, F, n_segments=4, jit_compile=False)
    assert_matches_plain(model, pf, data())


def test_tf_keras_models_qualify_too():
    tfk = _tf_keras()
    model = stacked("lstm", "timedistributed", layers=tfk.layers)
    assert prefix_plan(model).flavour == "tf_keras"
    pf = PrefixForward(model, prefix_plan(model), 13, T, F, n_segments=4, jit_compile=False)
    assert_matches_plain(model, pf, data(), starts=[0, 4, 9])
    seq = randomise(tfk.Sequential([tfk.layers.GRU(5, return_sequences=True, input_shape=(T, F)),
                                    tfk.layers.GRU(3), tfk.layers.Dense(1)]))
    pf = PrefixForward(seq, prefix_plan(seq), 13, T, F, n_segments=4, jit_compile=False)
    assert_matches_plain(seq, pf, data(), starts=[0, 4, 9])


def _functional(*layers, inputs=None):
    inp = inputs or keras.Input((T, F))
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


class MyLSTM(keras.layers.LSTM):
    pass


@pytest.mark.parametrize("name, build", [
    ("bidirectional", lambda L: _functional(L.Bidirectional(L.LSTM(4)), L.Dense(1))),
    ("bidirectional after an LSTM", lambda L: _functional(L.LSTM(4, return_sequences=True),
                                                          L.Bidirectional(L.LSTM(3)), L.Dense(1))),
    ("conv1d", lambda L: _functional(L.Conv1D(4, 3), L.LSTM(4), L.Dense(1))),
    ("conv1d only", lambda L: _functional(L.Conv1D(4, 3), L.GlobalMaxPooling1D(), L.Dense(1))),
    ("masking", lambda L: _functional(L.Masking(0.0), L.LSTM(4), L.Dense(1))),
    ("go_backwards", lambda L: _functional(L.LSTM(4, go_backwards=True), L.Dense(1))),
    ("custom subclass", lambda L: _functional(MyLSTM(4), L.Dense(1))),
    ("no recurrent layer", lambda L: _functional(L.Flatten(), L.Dense(1))),
    ("recurrent layer in the head", lambda L: _functional(L.LSTM(4), L.RepeatVector(T), L.LSTM(2),
                                                          L.Dense(1))),
    ("attention", lambda L: keras.Model(*_attention(L))),
    ("two inputs", lambda L: keras.Model(*_two_inputs(L))),
    ("branching", lambda L: keras.Model(*_branching(L))),
    ("nested model", lambda L: _functional(keras.Sequential([L.LSTM(4)]), L.Dense(1))),
])
def test_unsupported_models_take_the_plain_path(name, build):
    model = build(keras.layers)
    assert prefix_plan(model) is None, name
    assert prefix_forward(model, 8, T, F) is None


def test_stateful_rnn_is_refused():
    L = keras.layers
    model = keras.Sequential([L.Input((T, F), batch_size=4), L.LSTM(4, stateful=True), L.Dense(1)])
    assert prefix_plan(model) is None


def _attention(L):
    inp = L.Input((T, F))
    x = L.LSTM(4, return_sequences=True)(inp)
    return inp, L.Dense(1)(L.Flatten()(L.MultiHeadAttention(2, 2)(x, x)))


def _two_inputs(L):
    a, b = L.Input((T, F)), L.Input((T, F))
    return [a, b], L.Dense(1)(L.LSTM(4)(L.Concatenate()([a, b])))


def _branching(L):
    inp = L.Input((T, F))
    x = L.LSTM(4, return_sequences=True)(inp)
    return inp, L.Dense(1)(L.Concatenate()([L.LSTM(2)(x), L.GRU(2)(x)]))


@pytest.mark.parametrize("kind, head, width", [("lstm", "last", 2 * (6 + 4)), ("gru", "last", 6 + 4),
                                               ("lstm", "timedistributed", 2 * (6 + 4))])
def test_state_memory_is_as_documented(kind, head, width):
    model = stacked(kind, head)
    plan = prefix_plan(model)
    assert plan.state_width == width
    pf = PrefixForward(model, plan, 16, T, F, n_segments=4, jit_compile=False)
    units = 4 if head != "last" else 0
    expected = 4 * 16 * (pf.n_segments * width + T * units)
    _, states = pf.baseline(data())
    assert states.nbytes == pf.state_bytes == expected == state_bytes(plan, 16, T, pf.n_segments)
    assert tuple(states.boundary.shape) == (pf.n_segments, 16, width)
    assert (states.outputs is None) == (head == "last")


def test_default_segments_respect_the_budget_and_t():
    plan = prefix_plan(stacked("lstm", "last"))
    assert default_segments(plan, 16, T) == T
    assert default_segments(plan, 16, 1000) == MAX_SEGMENTS
    per_segment = 4 * 16 * plan.state_width
    assert default_segments(plan, 16, 100, budget=3 * per_segment) == 3
    assert default_segments(plan, 16, 100, budget=1) == 1
    assert state_bytes(plan, 16, 100, 3) <= 3 * per_segment


def test_boundaries_and_segment_of():
    model = stacked("gru", "last")
    for n_segments in (1, 3, 4, 7, T, 50):
        pf = PrefixForward(model, prefix_plan(model), 8, T, F, n_segments=n_segments, jit_compile=False)
        length = math.ceil(T / min(n_segments, T))
        assert pf.boundaries == tuple(range(0, T, length))
        for t0 in range(T):
            assert pf.boundaries[pf.segment_of(t0)] <= t0 < pf.boundaries[pf.segment_of(t0)] + length


def test_rows_of_several_tasks_in_one_chunk():
    """A chunk may mix rows of several tasks: take each row's states, run from the smallest segment."""
    model = stacked("lstm", "timedistributed")
    pf = PrefixForward(model, prefix_plan(model), 8, T, F, n_segments=5, jit_compile=False)
    X = data(8)
    _, states = pf.baseline(X)
    rows = np.array([5, 1, 1, 7, 0])
    mixed = np.concatenate([perturbed(X[rows[:2]], 7, 0), perturbed(X[rows[2:]], 4, 1)])
    got = pf.suffix(mixed, min(pf.segment_of(7), pf.segment_of(4)), states.take(rows))
    np.testing.assert_allclose(got, plain(model, mixed), rtol=1e-5, atol=1e-5)


def test_compiled_once_cached_per_model_and_released_with_it():
    model = stacked("gru", "last")
    pf = prefix_forward(model, 16, T, F, n_segments=4, jit_compile=False)
    assert prefix_forward(model, 16, T, F, n_segments=4, jit_compile=False) is pf
    assert prefix_forward(model, 16, T, F, n_segments=5, jit_compile=False) is not pf
    X = data()
    _, states = pf.baseline(X)
    for segment in range(pf.n_segments):
        pf.suffix(perturbed(X, pf.boundaries[segment], 0), segment, states)
        pf.baseline(X[:5])
    assert pf._baseline_fn.experimental_get_tracing_count() == 1
    assert pf._suffix_fn.experimental_get_tracing_count() == 1
    ref = weakref.ref(model)
    del model, pf, states
    gc.collect()
    assert ref() is None


def test_wrong_shapes_and_segments_are_refused():
    model = stacked("gru", "last")
    pf = PrefixForward(model, prefix_plan(model), 8, T, F, n_segments=4, jit_compile=False)
    _, states = pf.baseline(data(8))
    with pytest.raises(ValueError, match="at most 8 rows"):
        pf.baseline(data(9))
    with pytest.raises(ValueError, match="segment"):
        pf.suffix(data(8), 4, states)
    with pytest.raises(ValueError, match="row for row"):
        pf.suffix(data(3), 1, states.take([0, 1]))
    assert pf.suffix(data(2), 1, states.take([0, 1])).shape == (2, 2)


def test_plan_none_asks_prefix_plan_and_refuses_what_it_refuses():
    model = stacked("lstm", "last")
    assert PrefixForward(model, None, 8, T, F, jit_compile=False).plan.trunk == prefix_plan(model).trunk
    bidirectional = _functional(keras.layers.Bidirectional(keras.layers.LSTM(4)), keras.layers.Dense(1))
    with pytest.raises(ValueError, match="plain forward"):
        PrefixForward(bidirectional, None, 8, T, F)
