"""bench/bench_olden2004.py: its similarity coefficient, and a smoke run that prints both tables."""

import itertools
import pathlib
import sys

import numpy as np
import pytest
from conftest import require

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))

import bench_olden2004 as bench  # noqa: E402


def test_similarity_is_one_for_the_truth_zero_reversed_and_a_third_at_random():
    true = np.arange(1, 6)
    assert bench.similarity(true, true) == 1.0
    assert bench.similarity(true, true[::-1]) == 0.0
    mean = np.mean([bench.similarity(true, np.array(p)) for p in itertools.permutations(true)])
    assert mean == pytest.approx(1 / 3)  # E|footrule| = (F^2 - 1) / 3 = 8 of a maximum 12


def test_ranks_put_the_largest_first_and_share_ties():
    assert bench.ranks([0.1, 3.0, -1.0, 3.0]).tolist() == [3.0, 1.5, 4.0, 1.5]


def test_the_design_has_the_true_ranking_it_claims():
    X, y = bench.simulate_mlp(20000, np.random.default_rng(0))
    coef = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0][:5]
    np.testing.assert_allclose(coef, bench.BETA, atol=0.02)
    X, y = bench.simulate_sequences(20000, np.random.default_rng(1))
    explained = [np.var(bench.BETA[j] * X[:, :, j] @ bench.LAGS) for j in range(5)]
    np.testing.assert_allclose(explained, bench.BETA ** 2, rtol=0.05)  # beta_j^2 per feature


def test_quick_run_prints_every_row_of_both_tables(capsys):
    require("keras")
    bench.main(["--quick", "--replicates", "1", "--stepwise-replicates", "0", "--seq-replicates", "1"])
    out = capsys.readouterr().out
    assert out.count("### MLP, 5 inputs") == 2 and "### LSTM on (n, 10, 5) sequences" in out
    for _, label, _, _ in bench.METHODS:
        assert out.count(f"| {label} |") == 3
    mlp_row = next(line for line in out.splitlines() if line.startswith("| Connection weights"))
    assert "+-" in mlp_row  # a number for the MLP
    assert "n/a (needs a dense first layer)" in out.split("### LSTM")[1]
    assert "0.92" in out
