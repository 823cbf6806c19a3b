"""Shared fixtures. The seed model is trained once per test session and reused by every method's tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def seed_model():
    """The seed's 3-layer LSTM trained on y = [x1 * x2 < 0.25] (feature 3 irrelevant), fixed seed."""
    from seqimp.demo import train_seed_model

    model, _ = train_seed_model(n_train=6000, epochs=8)
    return model


@pytest.fixture(scope="session")
def seed_eval_data():
    """250 fresh sequences and targets from the seed's generator, as in the seed answer."""
    from seqimp.demo import seed_data

    return seed_data(250, np.random.default_rng(7))
