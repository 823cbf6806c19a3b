"""Under a mask every real cell of a permuted label moves (issue 20, item 3): a row's donor for its k-th
real step from the end is drawn among the rows that have such a step, so the early steps of
post-padded data are shuffled as fully as the late ones, and padding is never read nor written."""

import numpy as np
import pytest

import seqimp

N, T = 400, 12


@pytest.fixture(scope="module")
def post_padded():
    """Sequences of lengths 3..12, padded at the end with -9 (never a real value)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, T + 1, size=N)
    real = np.arange(T)[np.newaxis, :] < lengths[:, np.newaxis]
    X = rng.normal(size=(N, T, 2))
    X[~real] = -9.0
    return X, real, lengths


def _copies(X, real, kind, granularity="feature"):
    """The model's inputs of one call, split by task (batch_size = N: one task per chunk)."""
    seen = []

    def model(x):
        seen.append(np.array(x))
        return x[:, 0, 0]

    if kind == "permutation":
        seqimp.permutation_importance(model, X, X[:, 0, 0], metric="mse", mask=real, n_repeats=1,
                                      granularity=granularity, batch_size=N, random_state=3)
    else:
        seqimp.perturbation_importance(model, X, noise="swap", mask=real, granularity=granularity,
                                       batch_size=N, random_state=3)
    return seen


@pytest.mark.parametrize("kind", ["permutation", "swap"])
def test_every_real_cell_takes_a_real_value_from_the_same_position(post_padded, kind):
    X, real, lengths = post_padded
    copies = _copies(X, real, kind)
    for f, copy in enumerate(copies[1:]):
        np.testing.assert_array_equal(copy[~real], X[~real])  # padding is never written
        np.testing.assert_array_equal(np.delete(copy, f, axis=2), np.delete(X, f, axis=2))
        for k in range(T):  # the k-th real step from the end
            rows = np.flatnonzero(lengths > k)
            before = X[rows, lengths[rows] - 1 - k, f]
            after = copy[rows, lengths[rows] - 1 - k, f]
            assert not np.isin(-9.0, after)  # padding is never read
            # Every value comes from a row that has a k-th step from the end, at that position.
            assert np.isin(after, before).all()
            if kind == "permutation":  # a permutation of those rows: each value used once
                np.testing.assert_array_equal(np.sort(after), np.sort(before))
            # Rows move: a row keeps its own value only where it is its own donor (rare), or alone.
            kept = np.mean(after == before)
            assert kept <= (1.0 if len(rows) == 1 else 0.25)


def test_timestep_labels_move_every_real_cell(post_padded):
    X, real, lengths = post_padded
    copies = _copies(X, real, "permutation", granularity="timestep")
    for t, copy in enumerate(copies[1:]):
        rows = np.flatnonzero(real[:, t])
        changed = (copy[rows, t] != X[rows, t]).any(axis=1)
        assert changed.mean() > 0.9  # under the old rule rows longer than their donor kept step t
        np.testing.assert_array_equal(copy[~real], X[~real])


def test_a_post_padded_model_reading_step_0_gets_the_full_shuffle_importance():
    # Lengths 3..12, padded at the end; the model reads step 0 of x1 only, y = model(X): shuffling x1
    # fully raises the MSE by 2 Var(x) = 2. Rows longer than their donor used to keep their step 0
    # (1.13 measured); now the interval covers 2.
    rng = np.random.default_rng(1)
    n = 3000
    lengths = rng.integers(3, T + 1, size=n)
    real = np.arange(T)[np.newaxis, :] < lengths[:, np.newaxis]
    X = rng.normal(size=(n, T, 2))
    X[~real] = 0.0

    def first_step(x):
        return x[:, 0, 0]

    r = seqimp.permutation_importance(first_step, X, first_step(X), metric="mse", mask=real, n_repeats=3,
                                      random_state=0)
    low, high = r.confidence_interval(0.99)[0]
    assert low <= 2.0 <= high and high - low < 0.5
    assert r.importances_mean[1] == 0.0
