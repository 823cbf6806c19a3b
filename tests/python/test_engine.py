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


def test_tile_draws_do_not_depend_on_how_rows_are_asked_for():
    seed = engine.task_seed(np.random.SeedSequence(5), 0, 0)
    draw = lambda rng, rows: rng.standard_normal((rows, 2))  # noqa: E731
    whole = engine.tile_draws(seed, 0, 700, 700, draw)
    for step in (1, 99, 255, 256, 257, 700):
        pieces = np.concatenate([engine.tile_draws(seed, a, min(a + step, 700), 700, draw)
                                 for a in range(0, 700, step)])
        np.testing.assert_array_equal(whole, pieces, err_msg=f"chunks of {step} rows")
    # Each tile of rows has its own draws: the second tile does not repeat the first.
    B = engine.RANDOM_TILE_ROWS
    assert not np.any(np.isclose(whole[:B], whole[B:2 * B]).all(axis=1))


def _seen_rows(X, **kwargs):
    """Every row the model is given, in stream order: the baseline, then one copy per (label, repeat)."""
    seen = []

    def model(x):
        seen.append(np.array(x, dtype=np.float64, copy=True))
        return x.sum(axis=(1, 2))

    seqimp.perturbation_importance(model, X, **kwargs)
    return np.concatenate(seen)


def test_each_task_gets_the_same_rows_whatever_chunk_asks_for_them():
    # 300 rows: two random blocks, so chunks of 7, 255, 256 and 257 rows cut them differently.
    X = np.random.default_rng(0).random((300, 4, 3)).astype(np.float32)
    for noise in ("gaussian", "uniform", "swap"):
        runs = [_seen_rows(X, noise=noise, n_repeats=2, batch_size=b, random_state=3)
                for b in (1, 7, 255, 256, 257, 5000)]
        assert runs[0].shape == (300 * (1 + 3 * 2), 4, 3)
        for b, other in zip((7, 255, 256, 257, 5000), runs[1:]):
            np.testing.assert_array_equal(runs[0], other, err_msg=f"{noise}, batch_size={b}")


def test_a_tasks_noise_depends_only_on_random_state_and_its_label_and_repeat():
    X = np.random.default_rng(1).random((300, 4, 3)).astype(np.float32)
    n = len(X)

    def noise_by_task(x, n_repeats, random_state, batch_size=None):
        rows = _seen_rows(x, n_repeats=n_repeats, batch_size=batch_size, random_state=random_state)
        copies = rows.reshape(-1, n, 4, 3)
        np.testing.assert_array_equal(copies[0], x)                  # task 0 is X itself
        noise = copies[1:] - x.astype(np.float64)
        return noise.reshape(3, n_repeats, n, 4, 3)

    two = noise_by_task(X, 2, 7)
    # Only the label's own feature is perturbed, and every repeat, label and block draws afresh.
    for j in range(3):
        others = [c for c in range(3) if c != j]
        assert np.all(two[j][..., others] == 0.0) and np.all(two[j][..., j] != 0.0)
    # Noise is read back as (x + e) - x in float32, so equal draws agree to about 1e-7; independent
    # draws of sd 0.2 differ by far more than 1e-3 somewhere.
    def other_draws(a, b):
        return np.abs(a - b).max() > 1e-3

    B = engine.RANDOM_TILE_ROWS
    assert other_draws(two[0, 0, :n - B, :, 0], two[0, 0, B:, :, 0])   # block 1 does not repeat block 0
    assert other_draws(two[0, 0, :, :, 0], two[0, 1, :, :, 0])         # repeat 1 is not repeat 0
    assert other_draws(two[0, 0, :, :, 0], two[1, 0, :, :, 1])         # label 1 is not label 0
    # The same (label, repeat) gets the same noise when more repeats are asked for, on other data of
    # the same shape, and whatever the batch size; another random_state gets other noise.
    three = noise_by_task(X, 3, 7, batch_size=64)
    np.testing.assert_allclose(three[:, :2], two, atol=1e-6)    # float32 cells: x + e - x to 1e-7
    shifted = noise_by_task(X + 5.0, 2, 7)
    np.testing.assert_allclose(shifted, two, atol=5e-6)
    other = noise_by_task(X, 2, 8)
    assert other_draws(other[0, 0, :, :, 0], two[0, 0, :, :, 0])


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


def test_chunks_and_jobs_are_sized_by_the_real_itemsize():
    # X keeps float64: a chunk of 32 MiB holds half as many float64 rows as float32 rows, and a job's
    # input budget counts 8 bytes a value (it counted 4 whatever X held, twice the bound for float64).
    from seqimp.adapters import CallablePredictor
    from seqimp.engine_jobs import JOB_BUDGET_BYTES, job_bounds
    from seqimp.inputs import as_sequence_data
    from seqimp.transforms import AdditiveNoise

    predictor = CallablePredictor(lambda x: x.sum(axis=(1, 2)))
    shape = (10, 64, 32)
    wide = as_sequence_data(np.zeros(shape))
    narrow = as_sequence_data(np.zeros(shape, dtype=np.float32))
    rows64 = engine.resolve_chunk_rows(predictor, wide, None, "f")
    rows32 = engine.resolve_chunk_rows(predictor, narrow, None, "f")
    assert rows64 * 64 * 32 * 8 <= 32 * 2**20 < (rows64 + 1) * 64 * 32 * 8
    assert rows32 == 2 * rows64
    # Noise on int16 values is streamed as float64: 8 bytes a value, not 2.
    small_ints = as_sequence_data(np.zeros(shape, dtype=np.int16))
    noise = AdditiveNoise(small_ints, 1.0, "gaussian")
    assert engine.resolve_chunk_rows(predictor, small_ints, None, "f", noise) == rows64
    stream = engine._Stream(wide, [], noise, 1, np.random.SeedSequence(0), None)
    assert stream.row_bytes == 64 * 32 * 8
    bounds = job_bounds(10**6, 128, stream.row_bytes, workers=1)
    assert max(stop - start for start, stop in bounds) * stream.row_bytes <= JOB_BUDGET_BYTES
