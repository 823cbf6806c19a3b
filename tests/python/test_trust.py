"""No silent wrong numbers: non-finite predictions and metrics are errors that say what and when;
oversized jobs are refused before anything is allocated; progress is reported on request."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import seqimp


def _X(n=64, T=5, F=3, seed=0):
    return np.random.default_rng(seed).random((n, T, F))


def _X_whole_x2_at_t3(n=64):
    X = _X(n)
    X[:, 3, 1] = np.arange(n)  # whole numbers, so any noise added there shows
    return X


def nan_when_x2_at_t3_moves(x):
    """Finite while x2 at timestep 3 holds whole numbers; NaN for a sample where noise moved it."""
    out = x.sum(axis=(1, 2))
    out[x[:, 3, 1] != np.round(x[:, 3, 1])] = np.nan
    return out


def nan_unless_t2_equals_t3(x):
    """Finite while every sample's timestep 3 equals its timestep 2, as in X; permuting either breaks it."""
    out = x.sum(axis=(1, 2))
    out[np.any(x[:, 3, :] != x[:, 2, :], axis=1)] = np.nan
    return out


def test_a_nan_baseline_prediction_is_an_error_naming_the_model_and_sample():
    def model(x):
        out = x.sum(axis=(1, 2))
        out[7] = np.nan
        return out

    with pytest.raises(ValueError, match=r"The model \(callable\) returned nan for sample 7 on the "
                                         r"unperturbed X \(the baseline\)"):
        seqimp.perturbation_importance(model, _X(), batch_size=16)


def test_a_nan_perturbed_prediction_names_the_feature_and_timestep():
    with pytest.raises(ValueError, match=r"returned nan for sample 0 when feature 'x2' was perturbed at "
                                         r"timestep 3"):
        seqimp.perturbation_importance(nan_when_x2_at_t3_moves, _X_whole_x2_at_t3(), granularity="cell",
                                       random_state=0)
    X = _X()
    X[:, 3, :] = X[:, 2, :]
    with pytest.raises(ValueError, match=r"returned nan for sample \d+ when timestep 2 was perturbed "
                                         r"\(repeat 0\)"):
        seqimp.permutation_importance(nan_unless_t2_equals_t3, X, np.zeros(64), granularity="timestep",
                                      n_repeats=2, random_state=0)


def test_positions_count_from_one_for_r_callers():
    from seqimp._reticulate import call_from_r

    outcome = call_from_r(seqimp.perturbation_importance, nan_when_x2_at_t3_moves, _X_whole_x2_at_t3(),
                          granularity="cell", random_state=0)
    assert outcome.error_type == "ValueError"
    assert 'returned NaN for sample 1 when feature "x2" was perturbed at timestep 4.' in outcome.error_message
    with pytest.raises(ValueError, match=r"sample 0 when feature 'x2' was perturbed at timestep 3"):  # Python's
        seqimp.perturbation_importance(nan_when_x2_at_t3_moves, _X_whole_x2_at_t3(), granularity="cell",
                                       random_state=0)


def test_an_inf_prediction_is_an_error_too():
    with pytest.raises(ValueError, match=r"returned inf for sample 2"):
        with np.errstate(divide="ignore"):
            seqimp.perturbation_importance(lambda x: 1.0 / (x[:, 0, 0] - x[2, 0, 0]), _X(), n_repeats=1)


def test_a_non_finite_metric_is_an_error_naming_the_metric():
    X = _X()
    with pytest.raises(ValueError, match=r"The metric 'r2' returned (nan|-inf).*y must not be constant"):
        seqimp.permutation_importance(lambda x: x[:, 0, 0], X, np.ones(64), metric="r2", random_state=0)
    nan_metric = seqimp.Metric(lambda y, p: float("nan"), name="broken")
    with pytest.raises(ValueError, match=r"The metric 'broken' returned nan"):
        seqimp.permutation_importance(lambda x: x[:, 0, 0], X, np.ones(64), metric=nan_metric)


def test_a_non_finite_custom_effect_is_an_error():
    with pytest.raises(ValueError, match=r"The 'effect' callable of perturbation_importance returned inf"):
        seqimp.perturbation_importance(lambda x: x[:, 0, 0], _X(), effect=lambda a, b: np.inf)


def test_r2_on_a_varying_y_is_unchanged():
    X = _X(n=500)
    y = X[:, :, 0].sum(axis=1)
    r = seqimp.permutation_importance(lambda x: x[:, :, 0].sum(axis=1), X, y, metric="r2", random_state=0)
    assert r.baseline_score == pytest.approx(1.0)
    # Permuting x1's trajectory: R² falls by 2 (the MSE doubles Var(y) relative to Var(y)), up to
    # sampling error; the unused features score exactly 0.
    assert r.importances_mean[0] == pytest.approx(2.0, rel=0.15)
    assert r.importances_mean[1] == 0.0 and r.importances_mean[2] == 0.0


_ABSURD_JOB = textwrap.dedent("""
    import resource, sys, time, tracemalloc
    import numpy as np, seqimp
    # A regression must fail this test, not take the test run's machine down: 2 GiB of address space.
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    X = np.random.default_rng(0).random((64, 5, 3))
    calls = {
        "perturbation": lambda: seqimp.perturbation_importance(lambda x: x[:, 0, 0], X, n_repeats=10**9),
        "permutation": lambda: seqimp.permutation_importance(lambda x: x[:, 0, 0], X, X[:, 0, 0],
                                                             n_repeats=10**9),
    }
    tracemalloc.start()
    start = time.perf_counter()
    try:
        calls[sys.argv[1]]()
    except ValueError as exc:
        print(exc)
    print("peak", tracemalloc.get_traced_memory()[1], "seconds", time.perf_counter() - start)
""")


@pytest.mark.parametrize("method", ["perturbation", "permutation"])
def test_an_absurd_job_is_refused_before_anything_is_allocated(method):
    proc = subprocess.run([sys.executable, "-c", _ABSURD_JOB, method], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"3 labels x 1000000000 repeats = 3,000,000,000 perturbed copies of X "
                     r"\(64 samples each\).*22.4 GiB of importances", proc.stdout), proc.stdout
    peak, seconds = re.search(r"peak (\d+) seconds ([\d.]+)", proc.stdout).groups()
    assert int(peak) < 50 * 2**20
    assert float(seconds) < 5.0


def test_cell_labels_whose_masks_would_not_fit_are_refused():
    class Wide:
        n_timesteps, n_features, feature_names = 2000, 300, tuple(f"x{i}" for i in range(300))

    from seqimp.labels import make_labels

    with pytest.raises(ValueError, match=r"makes 600,000 labels, whose masks need 335 GiB"):
        make_labels(Wide(), "cell", None, "perturbation_importance")


def test_progress_callback_sees_every_row_once():
    X = _X(n=50)
    calls = []
    seqimp.perturbation_importance(lambda x: x.sum(axis=(1, 2)), X, n_repeats=2, batch_size=16,
                                   progress=lambda done, total: calls.append((done, total)))
    total = 50 * (1 + 3 * 2)
    assert calls[-1] == (total, total)
    assert [c[1] for c in calls] == [total] * len(calls)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert len(calls) == -(-total // 16)


def test_progress_true_draws_a_tqdm_bar_and_false_draws_nothing(capsys):
    X = _X(n=40)
    seqimp.permutation_importance(lambda x: x.sum(axis=(1, 2)), X, np.zeros(40), progress=True,
                                  random_state=0)
    shown = capsys.readouterr().err
    assert "permutation_importance" in shown and re.search(r"\b640/640\b", shown)  # 40 rows x (1 + 3 labels x 5 repeats)
    seqimp.permutation_importance(lambda x: x.sum(axis=(1, 2)), X, np.zeros(40), progress=False,
                                  random_state=0)
    assert capsys.readouterr().err == ""


def test_progress_must_be_a_bool_a_callable_or_none():
    with pytest.raises(TypeError, match=r"The 'progress' parameter of perturbation_importance must be None"):
        seqimp.perturbation_importance(lambda x: x[:, 0, 0], _X(), progress="yes")


def test_the_default_progress_is_quiet_outside_interactive_sessions(capsys):
    seqimp.perturbation_importance(lambda x: x.sum(axis=(1, 2)), _X(), random_state=0)
    assert capsys.readouterr().err == ""
