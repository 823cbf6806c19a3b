"""Prefix-state caching in the engine (seqimp.engine_prefix): perturbation and permutation by timestep
and cell resume recurrent stacks from the baseline's cached states, with the plain path's numbers, and
anything the cache cannot serve exactly runs the plain path."""

import keras
import numpy as np
import pytest
import seqimp
from seqimp import engine, engine_prefix

T, F = 8, 3


def stacked(kind, sequences):
    """RNN(5, sequences) -> RNN(4) -> Dense, or a TimeDistributed head on a sequence-returning RNN."""
    rnn = getattr(keras.layers, kind)
    inp = keras.Input((T, F))
    x = rnn(4, return_sequences=sequences)(rnn(5, return_sequences=True)(inp))
    out = keras.layers.TimeDistributed(keras.layers.Dense(2))(x) if sequences else keras.layers.Dense(1)(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture
def paths(monkeypatch):
    """The path every engine run took, in order."""
    taken, run = [], engine.run

    def spy(*args, **kwargs):
        out = run(*args, **kwargs)
        taken.append(out.path)
        return out

    monkeypatch.setattr(engine, "run", spy)
    return taken


def plain(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setattr(engine_prefix, "prefix_runner", lambda *args, **kwargs: None)
        return fn()


@pytest.mark.parametrize("kind,sequences", [("LSTM", False), ("GRU", True), ("LSTM", True), ("GRU", False)])
def test_cached_equals_plain(kind, sequences, paths, monkeypatch):
    model = stacked(kind, sequences)
    X = np.random.default_rng(1).normal(size=(40, T, F)).astype(np.float32)
    y = np.asarray(model(X)) + 0.1
    for granularity in ("timestep", "cell"):
        # batch_size 16 < n: row chunks with tasks grouped; 128 > n: several tasks packed per call
        for batch_size in (16, 128):
            cached = seqimp.permutation_importance(model, X, y, granularity=granularity, n_repeats=2,
                                                   batch_size=batch_size, random_state=3)
            noisy = seqimp.perturbation_importance(model, X, granularity=granularity, n_repeats=2,
                                                   batch_size=batch_size, random_state=3)
            assert paths[-2:] == ["prefix", "prefix"]
            reference = plain(monkeypatch, lambda: seqimp.permutation_importance(
                model, X, y, granularity=granularity, n_repeats=2, random_state=3))
            np.testing.assert_allclose(cached.importances, reference.importances, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(cached.baseline_score, reference.baseline_score, rtol=1e-6)
            reference = plain(monkeypatch, lambda: seqimp.perturbation_importance(
                model, X, granularity=granularity, n_repeats=2, random_state=3))
            np.testing.assert_allclose(noisy.importances, reference.importances, rtol=1e-5, atol=1e-7)
            assert paths[-2:] == ["plain", "plain"]


def test_pending_budget_falls_back_to_plain(paths, monkeypatch):
    model = stacked("LSTM", False)
    X = np.random.default_rng(2).normal(size=(40, T, F)).astype(np.float32)
    per_task = 40 * seqimp.adapters.as_predictor(model)(X[:1]).nbytes  # one task's predictions
    monkeypatch.setattr(engine_prefix, "PENDING_BUDGET_BYTES", 3 * per_task)  # 3 tasks < MIN_GROUP_TASKS
    first = seqimp.perturbation_importance(model, X, granularity="timestep", batch_size=16, random_state=0)
    assert paths[-1] == "plain"
    monkeypatch.setattr(engine_prefix, "PENDING_BUDGET_BYTES", 5 * per_task)  # groups of 5 of the 8 tasks
    grouped = seqimp.perturbation_importance(model, X, granularity="timestep", batch_size=16, random_state=0)
    assert paths[-1] == "prefix"
    np.testing.assert_allclose(grouped.importances, first.importances, rtol=1e-5, atol=1e-7)


def test_what_the_cache_cannot_serve_runs_plain(paths):
    X = np.random.default_rng(3).normal(size=(20, T, F)).astype(np.float32)
    inp = keras.Input((T, F))
    bidirectional = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Bidirectional(keras.layers.LSTM(3))(inp)))
    seqimp.perturbation_importance(bidirectional, X, granularity="timestep", random_state=0)
    assert paths[-1] == "plain"
    lstm = stacked("LSTM", False)
    seqimp.perturbation_importance(lstm, X, granularity="feature", random_state=0)  # every label at step 0
    assert paths[-1] == "plain"
    seqimp.perturbation_importance(lambda x: x.sum(axis=(1, 2)), X, granularity="timestep", random_state=0)
    assert paths[-1] == "plain"
    mask = np.ones((20, T), dtype=bool)
    mask[:5, :2] = False
    seqimp.perturbation_importance(lstm, X, granularity="timestep", mask=mask, random_state=0)
    assert paths[-1] == "plain"
