"""The engine streams fixed-size chunks: memory bounded by the chunk, one call per chunk."""

import numpy as np

import seqimp
from seqimp import engine


def test_every_chunk_but_the_last_has_exactly_batch_size_rows():
    X = np.random.default_rng(0).random((37, 5, 3))
    sizes = []

    def model(x):
        sizes.append(x.shape[0])
        return x.sum(axis=(1, 2))

    seqimp.perturbation_importance(model, X, n_repeats=2, batch_size=16, random_state=0)
    total_rows = 37 * (1 + 3 * 2)
    assert sum(sizes) == total_rows
    assert len(sizes) == -(-total_rows // 16)
    assert all(s == 16 for s in sizes[:-1]) and sizes[-1] == total_rows - 16 * (len(sizes) - 1)


def test_block_draws_do_not_depend_on_how_rows_are_asked_for():
    seed = np.random.SeedSequence(5)
    draw = lambda rng, rows: rng.standard_normal((rows, 2))  # noqa: E731
    whole = engine.block_draws(seed, 0, 700, 700, draw)
    pieces = np.concatenate([engine.block_draws(seed, a, min(a + 99, 700), 700, draw)
                             for a in range(0, 700, 99)])
    np.testing.assert_array_equal(whole, pieces)


def test_task_seeds_depend_only_on_their_key():
    root = np.random.SeedSequence(1)
    a = engine.task_seed(root, 2, 1).generate_state(2)
    b = engine.task_seed(root, 2, 1).generate_state(2)
    c = engine.task_seed(root, 1, 2).generate_state(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_repeat_does_not_depend_on_how_many_repeats_were_asked_for():
    X = np.random.default_rng(0).random((100, 4, 3))
    f = lambda x: x.sum(axis=(1, 2))  # noqa: E731
    three = seqimp.perturbation_importance(f, X, n_repeats=3, random_state=9)
    one = seqimp.perturbation_importance(f, X, n_repeats=1, random_state=9)
    np.testing.assert_array_equal(one.importances[:, 0], three.importances[:, 0])


def test_chunks_in_flight_give_the_serial_results_even_when_they_finish_out_of_order():
    import time

    from seqimp.adapters import CallablePredictor

    X = np.random.default_rng(0).random((90, 4, 3))
    delays = iter(np.random.default_rng(1).uniform(0, 0.01, size=1000))

    def model(x):
        time.sleep(next(delays))  # chunks submitted together come back in a random order
        return (x * np.array([1.0, -2.0, 0.0])).sum(axis=(1, 2))

    class TwoInFlight(CallablePredictor):
        concurrent_chunks = 2

    for noise in ("gaussian", "swap"):
        serial = seqimp.perturbation_importance(model, X, noise=noise, n_repeats=3, batch_size=16,
                                                random_state=4)
        overlapped = seqimp.perturbation_importance(TwoInFlight(model), X, noise=noise, n_repeats=3,
                                                    batch_size=16, random_state=4)
        np.testing.assert_array_equal(serial.importances, overlapped.importances)
        assert overlapped.importances_mean[2] == 0.0
