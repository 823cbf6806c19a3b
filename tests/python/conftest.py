"""Shared fixtures and helpers. The seed model is trained once per test session and reused by every
method's tests.

A test that needs an optional module gets it from :func:`require`, never from ``pytest.importorskip``:
outside CI a missing module is a skip, but under ``CI=true`` it is a failure, so a broken install can
never turn into a green run of skips (the R suite's ``skip_or_fail`` does the same).
"""

import importlib
import os
import subprocess

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def under_ci():
    return os.environ.get("CI") == "true"


def skip_or_fail(reason):
    """Skip the test (or the whole module, when called at import time); fail instead under CI=true."""
    if under_ci():
        pytest.fail(f"{reason} (under CI=true this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module_name):
    """Import ``module_name`` and return it; if it cannot be imported, :func:`skip_or_fail`."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        skip_or_fail(f"module {module_name!r} cannot be imported: {type(exc).__name__}: {exc}")


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


def require_r_package(export):
    """The seqimp R package, installed where R_LIBS points, with ``export``; else :func:`skip_or_fail`."""
    proc = subprocess.run(["Rscript", "-e", f'cat(requireNamespace("seqimp", quietly = TRUE) && '
                           f'"{export}" %in% getNamespaceExports("seqimp"))'],
                          capture_output=True, text=True, timeout=120)
    if proc.stdout.strip() != "TRUE":
        skip_or_fail(f"the seqimp R package with {export} is not installed (make setup)")
