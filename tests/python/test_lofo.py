"""LOFO and stepwise importance: numbers from definitions, checkpoints, faults, parallel and Dask runs.

The a/b/c problem (lofo_builders.abc_data): y = (1.0 * sum_t a_t + 0.3 * sum_t b_t) / sqrt(T) + noise
with sd 0.1, every cell standard normal. Under MSE, a linear model that loses a gains exactly
W_A**2 = 1.0 of error, b W_B**2 = 0.09, c nothing: those are the expected LOFO importances.

Keras fits are small (a linear Dense model, 6 epochs) so the whole file runs in a few minutes on a
loaded 2-core machine; least squares (OLS) models check the machinery exactly and in milliseconds.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import lofo_builders as lb
from conftest import require
import seqimp
from seqimp.lofo import FitError, lofo_importance, stepwise_importance

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def abc():
    return lb.abc_data()


@pytest.fixture(scope="module")
def reference(abc):
    """The builder path with n_jobs=1: every other run of the same call must give these numbers."""
    X, y = abc
    return lofo_importance(lb.dense_builder, X, y, fit_kwargs=lb.FIT, metric="mse", cv=3,
                           feature_names=["a", "b", "c"], random_state=0, progress=False)


def _ols_lofo(X, y, folds):
    """LOFO of least squares with an intercept, from the definition: (n_features, n_folds) importances
    and the full model's validation MSE per fold."""
    X = X if X.ndim == 3 else X[:, np.newaxis, :]
    F = X.shape[2]
    full = np.array([lb.ols_score(X, y, train, test, list(range(F))) for train, test in folds])
    without = np.array([[lb.ols_score(X, y, train, test, [c for c in range(F) if c != j])
                         for train, test in folds] for j in range(F)])
    return without - full, full


# A linear Dense model trained by Adam for 6 epochs approaches least squares but stops short of it:
# on the a/b/c problem its LOFO importances differ from least squares' on the same folds by at most
# 0.009 (a, mean over folds), 0.003 (b) and 0.0003 (c), and its validation MSE by 0.0005, in the runs
# that set these bounds (keras and tf_keras). The tolerances are about three times those optimisation
# gaps; they are not sampling error, since both are fitted and scored on the same rows.
KERAS_VS_OLS = {"a": 0.03, "b": 0.01, "c": 0.002, "baseline": 0.002}


def _assert_keras_matches_least_squares(result, X, y):
    """A Keras LOFO of the a/b/c problem equals least squares' on the same folds, up to optimisation."""
    ols, full = _ols_lofo(X, y, result.extra["folds"])
    imp, expected = result.importances_mean, ols.mean(axis=1)
    assert result.importances.shape == ols.shape
    for j, name in enumerate("abc"):
        assert abs(imp[j] - expected[j]) < KERAS_VS_OLS[name], (name, imp, expected)
    assert abs(result.baseline_score - full.mean()) < KERAS_VS_OLS["baseline"], (result.baseline_score, full)


def _records(path):
    with open(path) as fh:
        lines = fh.read().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


# --------------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------------

def test_ols_lofo_equals_the_definition_fold_by_fold(abc):
    X, y = abc
    result = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=4, random_state=3, progress=False)
    folds = result.extra["folds"]
    assert len(folds) == 4
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(len(y)))
    for k, (train, test) in enumerate(folds):
        full = lb.ols_score(X, y, train, test, [0, 1, 2])
        assert result.extra["baseline_scores"][k] == pytest.approx(full, rel=1e-9)
        for j in range(3):
            without = lb.ols_score(X, y, train, test, [c for c in range(3) if c != j])
            assert result.importances[j, k] == pytest.approx(without - full, rel=1e-7, abs=1e-12)
    assert result.baseline_score == pytest.approx(np.mean(result.extra["baseline_scores"]))
    assert result.method == "lofo" and result.metric == "mse"
    assert result.label_names == ["x1", "x2", "x3"]


def test_constant_mode_equals_drop_for_a_model_with_an_intercept(abc):
    # A column held at one value is absorbed by the intercept: the fit is the fit without it. This holds
    # for any constant; the two tests below check which constant is used.
    X, y = abc
    drop = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=3, random_state=1, progress=False)
    const = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=3, random_state=1, mode="constant",
                            progress=False)
    np.testing.assert_allclose(const.importances, drop.importances, rtol=1e-6, atol=1e-9)


class _Recording(lb.OLS):
    """Least squares that keeps the inputs it was fitted on and asked to predict."""

    def fit(self, X, y, **kwargs):
        self.fit_X = np.array(X, copy=True)
        return super().fit(X, y)

    def predict(self, X):
        self.predict_X = np.array(X, copy=True)
        return super().predict(X)


def test_constant_mode_holds_a_feature_at_its_training_fold_mean_in_fit_and_validation():
    # Offsets make the three means far apart, and 90 rows in 3 folds make every training-fold mean
    # differ from the validation fold's and the whole column's mean.
    X, y = lb.abc_data(n=90, offsets=(1.0, 5.0, -3.0))
    built = []
    result = lofo_importance(lambda n: built.append(_Recording()) or built[-1], X, y, cv=3, mode="constant",
                             random_state=0, progress=False)
    folds = result.extra["folds"]
    assert len(built) == 4 * 3 and {m.fit_X.shape[-1] for m in built} == {3}   # never narrower
    held_seen = set()
    for model in built:
        held = [j for j in range(3) if np.ptp(model.fit_X[:, :, j]) == 0]
        free = [j for j in range(3) if j not in held]
        # Which fold: the one whose training rows the free columns are.
        (k,) = [k for k, (train, _) in enumerate(folds) if len(train) == len(model.fit_X)
                and np.array_equal(model.fit_X[:, :, free], X[train][:, :, free])]
        train, test = folds[k]
        np.testing.assert_array_equal(model.predict_X[:, :, free], X[test][:, :, free])
        for j in held:
            mean = X[train][:, :, j].astype(np.float64).mean()
            assert abs(mean - X[test][:, :, j].mean()) > 1e-3      # a test-fold mean would be caught
            np.testing.assert_allclose(model.fit_X[:, :, j], mean, rtol=1e-6)
            np.testing.assert_allclose(model.predict_X[:, :, j], mean, rtol=1e-6)
            held_seen.add((j, k))
    assert held_seen == {(j, k) for j in range(3) for k in range(3)}


class _Fixed:
    """A model that ignores training: f(x) = sum_t (x_ta + W_B x_tb + 0.5 x_tc) / sqrt(T), no intercept.
    Holding a feature at a constant c changes every prediction by (c - x) times its weight, so the
    LOFO importance depends on which constant is used."""

    WEIGHTS = np.array([lb.W_A, lb.W_B, 0.5])

    def fit(self, X, y, **kwargs):
        return self

    def predict(self, X):
        return (np.asarray(X, dtype=np.float64) * self.WEIGHTS).sum(axis=(1, 2)) / np.sqrt(X.shape[1])


def test_constant_mode_on_a_model_that_does_not_refit_uses_the_training_fold_mean():
    X, y = lb.abc_data(n=90, offsets=(1.0, 5.0, -3.0))
    result = lofo_importance(lambda n: _Fixed(), X, y, metric="mse", cv=3, mode="constant", random_state=0,
                             progress=False)
    y = y.astype(np.float64)
    model = _Fixed()

    def importance(j, train, test, value):
        held = X[test].astype(np.float64)
        held[:, :, j] = value
        full = np.mean((model.predict(X[test]) - y[test]) ** 2)
        return np.mean((model.predict(held) - y[test]) ** 2) - full

    for k, (train, test) in enumerate(result.extra["folds"]):
        for j in range(3):
            expected = importance(j, train, test, X[train][:, :, j].astype(np.float64).mean())
            assert result.importances[j, k] == pytest.approx(expected, rel=1e-5)
            # Any other constant gives another number: the test-fold mean, the whole column's, zero.
            for other in (X[test][:, :, j].mean(), X[:, :, j].mean(), 0.0):
                assert abs(importance(j, train, test, other) - expected) > 1e-3 * abs(expected)


def test_ols_lofo_approaches_its_closed_form_on_a_large_sample():
    # Under MSE, least squares without a loses W_A**2 = 1 (b: W_B**2 = 0.09, c: 0). The estimate's
    # sampling error: losing a adds W_A² z² + 2 W_A z e per validation row (z, e the standard normal
    # signal and the noise), variance 2 W_A⁴ + 4 W_A² SIGMA²; over n = 20000 rows the standard error is
    # sqrt(2.04 / n) = 0.010 for a, 0.001 for b. The tolerances are four standard errors.
    X, y = lb.abc_data(n=20000, seed=4)
    result = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=2, random_state=0, progress=False)
    imp = result.importances_mean
    assert imp[0] == pytest.approx(lb.W_A ** 2, abs=0.04)
    assert imp[1] == pytest.approx(lb.W_B ** 2, abs=0.004)
    assert imp[2] == pytest.approx(0.0, abs=0.001)
    assert result.baseline_score == pytest.approx(lb.SIGMA ** 2, rel=0.05)   # SE: sqrt(2 / n) = 1%


def test_groups_leave_their_features_out_together(abc):
    X, y = abc
    result = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=3, random_state=0, progress=False,
                             feature_names=["a", "b", "c"], groups={"ab": ["a", "b"], "c": [2]})
    assert result.label_names == ["ab", "c"]
    for k, (train, test) in enumerate(result.extra["folds"]):
        full = lb.ols_score(X, y, train, test, [0, 1, 2])
        assert result.importances[0, k] == pytest.approx(lb.ols_score(X, y, train, test, [2]) - full)


def test_a_group_of_every_feature_is_measured_against_the_mean_predictor(abc):
    X, y = abc
    result = lofo_importance(lb.ols_builder, X, y, metric="mse", cv=3, random_state=0, progress=False,
                             groups={"all": [0, 1, 2]})
    y = y.astype(np.float64)
    for k, (train, test) in enumerate(result.extra["folds"]):
        null = float(np.mean((y[test] - y[train].mean()) ** 2))
        full = lb.ols_score(X, y, train, test, [0, 1, 2])
        assert result.importances[0, k] == pytest.approx(null - full, rel=1e-6)


def test_greater_is_better_metrics_are_oriented_so_positive_means_important(abc):
    # R² = 1 - MSE / Var(y_val) on each validation fold, so losing a feature lowers R² by
    # (MSE without it - MSE with every feature) / Var(y_val): positive, and exact for least squares.
    X, y = abc
    r2 = lofo_importance(lb.ols_builder, X, y, metric="r2", cv=3, random_state=0, progress=False)
    mse, full = _ols_lofo(X, y, r2.extra["folds"])
    var = np.array([y[test].astype(np.float64).var() for _, test in r2.extra["folds"]])
    np.testing.assert_allclose(r2.importances, mse / var, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(r2.extra["baseline_scores"], 1 - full / var, rtol=1e-9)
    assert np.all(r2.importances[:2] > 0)


class _Proba:
    """Fixed class probabilities from the first feature's mean: p ∝ exp(-(m - c_k)² · 4), c = (-1, 0, 1)."""

    def fit(self, X, y, **kwargs):
        return self

    def predict(self, X):
        m = np.asarray(X, dtype=np.float64)[:, :, 0].mean(axis=1)
        logits = -4.0 * (m[:, None] - np.array([-1.0, 0.0, 1.0])) ** 2
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("metric", ["log_loss", "accuracy"])
def test_multiclass_null_model_predicts_the_training_folds_class_frequencies(metric):
    # Leaving out every feature leaves a model that sees nothing: it predicts the training fold's class
    # frequencies p_k, so its log loss is -mean(log p_{y_i}) over the validation fold and its accuracy
    # is the validation share of the training fold's most frequent class.
    from sklearn.metrics import accuracy_score, log_loss

    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 2, 2)).astype(np.float32)
    y = rng.choice(3, size=150, p=[0.3, 0.5, 0.2])     # labels 0, 1, 2; the most frequent is not 0
    result = lofo_importance(lambda n: _Proba(), X, y, metric=metric, cv=3, random_state=0,
                             groups={"all": [0, 1]}, progress=False)
    for k, (train, test) in enumerate(result.extra["folds"]):
        freq = np.bincount(y[train], minlength=3) / len(train)
        full_p = _Proba().predict(X[test])
        if metric == "log_loss":
            null = -np.mean(np.log(freq[y[test]]))
            full = log_loss(y[test], full_p, labels=[0, 1, 2])
            expected = null - full
        else:
            null = np.mean(y[test] == np.argmax(freq))
            full = accuracy_score(y[test], full_p.argmax(axis=1))
            expected = full - null
        assert result.extra["baseline_scores"][k] == pytest.approx(full, rel=1e-9)
        assert result.importances[0, k] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # One-hot targets are the same classes: the same null model, the same numbers.
    one_hot = lofo_importance(lambda n: _Proba(), X, np.eye(3)[y], metric=metric, cv=3, random_state=0,
                              groups={"all": [0, 1]}, progress=False)
    np.testing.assert_allclose(one_hot.importances, result.importances, rtol=1e-9)


def test_binary_null_model_predicts_the_training_folds_positive_rate():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 2, 1)).astype(np.float32)
    y = (rng.random(120) < 0.3).astype(float)

    class Half:
        def fit(self, X, y, **kwargs):
            return self

        def predict(self, X):
            return np.full(len(X), 0.5)

    result = lofo_importance(lambda n: Half(), X, y, metric="log_loss", cv=3, random_state=0,
                             progress=False)
    for k, (train, test) in enumerate(result.extra["folds"]):
        p = y[train].mean()
        null = -np.mean(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))
        assert result.importances[0, k] == pytest.approx(null - np.log(2), rel=1e-9)


def test_two_dimensional_input_stays_two_dimensional():
    X, y = lb.abc_data(n=120)
    X2 = X[:, 0, :]                              # (n, F); y unrelated here, only shapes matter
    builder = lb.CountingOLS()
    result = lofo_importance(builder, X2, y, cv=2, random_state=0, progress=False)
    assert {len(m.shapes[0]) for m in builder.built} == {2}
    assert sorted({m.shapes[0][1] for m in builder.built}) == [2, 3]
    assert result.importances.shape == (3, 2)


def test_time_series_split_and_explicit_splits():
    from sklearn.model_selection import TimeSeriesSplit

    X, y = lb.abc_data(n=120)
    r = lofo_importance(lb.ols_builder, X, y, cv=TimeSeriesSplit(3), progress=False, random_state=0)
    for (train, test), (t2, v2) in zip(r.extra["folds"], TimeSeriesSplit(3).split(X)):
        np.testing.assert_array_equal(train, t2)
        np.testing.assert_array_equal(test, v2)
        assert train.max() < test.min()                        # validation only on the future
    explicit = [(np.arange(0, 60), np.arange(60, 120))]
    r1 = lofo_importance(lb.ols_builder, X, y, cv=explicit, progress=False, random_state=0)
    assert r1.importances.shape == (3, 1)


# --------------------------------------------------------------------------------------------------
# Keras: the builder path and the compiled-model path
# --------------------------------------------------------------------------------------------------

def test_builder_path_equals_least_squares_up_to_optimisation(abc, reference):
    _assert_keras_matches_least_squares(reference, *abc)
    assert reference.importances.shape == (3, 3)
    assert reference.label_names == ["a", "b", "c"]


def test_compiled_model_path_is_a_fresh_clone_equal_to_the_builder_path(abc, reference):
    import keras

    X, y = abc
    model = lb.dense_model(3)
    model.set_weights([np.full(w.shape, 0.5, dtype=np.float32) for w in model.get_weights()])
    before = [w.copy() for w in model.get_weights()]
    result = lofo_importance(model, X, y, fit_kwargs=lb.FIT, metric="mse", cv=3,
                             feature_names=["a", "b", "c"], random_state=0, progress=False)
    _assert_keras_matches_least_squares(result, X, y)
    # Same architecture, optimizer and seeds as the builder: bit-identical; the given weights are
    # neither used nor touched.
    np.testing.assert_array_equal(result.importances, reference.importances)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    assert isinstance(model, keras.Model)


def test_compiled_model_keeps_its_optimizer_configuration(abc):
    import keras

    from seqimp import adapters

    model = lb.dense_model(3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0123, momentum=0.5), loss="mae",
                  metrics=["mse"])
    recipe = adapters.keras_recipe(model, (10, lb.T, 3))
    rebuilt = adapters.rebuild_keras(recipe, 2, seed=0)
    assert rebuilt.input_shape == (None, lb.T, 2)
    config = rebuilt.optimizer.get_config()
    assert type(rebuilt.optimizer).__name__ == "SGD"
    assert config["learning_rate"] == pytest.approx(0.0123) and config["momentum"] == pytest.approx(0.5)
    assert rebuilt.get_compile_config()["loss"] == "mae"
    assert rebuilt.get_compile_config()["metrics"] == ["mse"]


def test_tf_keras_compiled_model_constant_mode_on_2d_input():
    tf_keras = require("tf_keras")
    X, y = lb.abc_data(n=480, seed=2)
    # 2-D version of the problem: one timestep, same weights.
    X2 = X[:, 0, :]
    y2 = lb.W_A * X2[:, 0] + lb.W_B * X2[:, 1] + lb.SIGMA * np.random.default_rng(5).normal(size=480)
    model = lb.dense_model(3, keras=tf_keras, timesteps=None)
    result = lofo_importance(model, X2, y2, fit_kwargs=lb.FIT, metric="mse", cv=2, mode="constant",
                             random_state=0, progress=False)
    # Least squares with an intercept gives the same fit whether a column is dropped or held constant.
    _assert_keras_matches_least_squares(result, X2, y2)


def test_builds_ignore_other_draws_from_pythons_global_random():
    # A Dask worker's event loop draws from `random` while a task runs; Keras 3 takes the seeds of
    # unseeded initializers from `random`, so without care the same seed built different weights.
    import random

    import keras

    from seqimp import adapters

    def build_with_a_foreign_draw(n):
        random.random()
        return lb.dense_model(n)

    plain = adapters.build_for_fit(lb.dense_builder, 3, seed=7).get_weights()
    disturbed = adapters.build_for_fit(build_with_a_foreign_draw, 3, seed=7).get_weights()
    recipe = adapters.keras_recipe(lb.dense_model(3), (1, lb.T, 3))
    rebuilt = adapters.build_for_fit(recipe, 3, seed=7).get_weights()
    for a, b, c in zip(plain, disturbed, rebuilt):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert np.any(plain[0] != 0)
    other = adapters.build_for_fit(lb.dense_builder, 3, seed=8).get_weights()
    assert not np.array_equal(plain[0], other[0])
    # Keras is handed back Python's global generator for the caller's own models.
    assert keras.src.random.seed_generator.python_random is random


def test_uncompiled_or_mismatched_keras_models_are_refused(abc):
    import keras

    X, y = abc
    plain = keras.Sequential([keras.Input((lb.T, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not compiled"):
        lofo_importance(plain, X, y, progress=False)
    wrong = lb.dense_model(4)
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 4, 4\)"):
        lofo_importance(wrong, X, y, progress=False)


def test_builder_returning_an_uncompiled_model_names_the_fit():
    import keras

    X, y = lb.abc_data(n=60)

    def build(n):
        return keras.Sequential([keras.Input((lb.T, n)), keras.layers.Flatten(), keras.layers.Dense(1)])

    with pytest.raises(FitError, match=r"with every feature, fold 1 of 2 failed: TypeError: .*not compiled"):
        lofo_importance(build, X, y, cv=2, random_state=0, progress=False)


# --------------------------------------------------------------------------------------------------
# Checkpoints and faults
# --------------------------------------------------------------------------------------------------

def test_checkpoint_resume_after_a_failed_fit_gives_identical_numbers(abc, reference, tmp_path):
    X, y = abc
    path = tmp_path / "lofo.jsonl"
    kwargs = dict(fit_kwargs=lb.FIT, metric="mse", cv=3, feature_names=["a", "b", "c"], random_state=0,
                  checkpoint=path, progress=False)
    crashing = lb.CountingBuilder(fail_at=5)
    with pytest.raises(FitError, match=r"fold \d of 3 failed: RuntimeError: simulated failure on build 5.*"
                                       r"4 finished fits are kept"):
        lofo_importance(crashing, X, y, **kwargs)
    header, records = _records(path)
    assert len(records) == 4 and header["labels"] == ["a", "b", "c"]

    resumed = lb.CountingBuilder()
    result = lofo_importance(resumed, X, y, **kwargs)
    assert resumed.calls == 3 * 4 - 4            # nothing finished is retrained
    assert result.extra["n_fitted"] == 8
    np.testing.assert_array_equal(result.importances, reference.importances)
    np.testing.assert_array_equal(result.extra["baseline_scores"], reference.extra["baseline_scores"])
    assert len(_records(path)[1]) == 12

    again = lb.CountingBuilder()
    done = lofo_importance(again, X, y, **kwargs)
    assert again.calls == 0 and done.extra["n_fitted"] == 0
    np.testing.assert_array_equal(done.importances, reference.importances)


def test_failed_fit_names_the_feature_and_fold_and_keeps_finished_work(tmp_path):
    # Feature b is the only one with mean 10; the model fails whenever b is missing.
    X, y = lb.abc_data(n=90, offsets=(0.0, 10.0, 20.0))
    path = tmp_path / "ck.jsonl"
    with pytest.raises(FitError, match=r"without feature 'b', fold 1 of 3 failed: ValueError: the marked "
                                       r"feature is missing") as info:
        lofo_importance(lb.CountingOLS(fail_without_offset=10.0), X, y, cv=3, feature_names=["a", "b", "c"],
                        checkpoint=path, random_state=0, progress=False)
    assert isinstance(info.value.__cause__, ValueError)
    _, records = _records(path)
    assert [r["active"] for r in records] == [[0, 1, 2], [1, 2]]   # finished before the failure
    assert all(r["fold"] == 0 for r in records)


def test_keyboard_interrupt_propagates_and_the_run_resumes(tmp_path):
    X, y = lb.abc_data(n=90)
    path = tmp_path / "ck.jsonl"
    class Interrupting(lb.CountingOLS):
        def __call__(self, n):
            if self.calls == 6:
                raise KeyboardInterrupt
            return super().__call__(n)

    with pytest.raises(KeyboardInterrupt):
        lofo_importance(Interrupting(), X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert len(_records(path)[1]) == 6
    resumed = Interrupting()
    resumed.calls = 100
    full = lofo_importance(resumed, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    clean = lofo_importance(lb.ols_builder, X, y, cv=3, random_state=0, progress=False)
    assert resumed.calls == 100 + 12 - 6     # the 6 finished fits were not redone
    np.testing.assert_array_equal(full.importances, clean.importances)


def test_mismatched_checkpoint_is_refused_and_left_untouched(tmp_path):
    X, y = lb.abc_data(n=90)
    path = tmp_path / "ck.jsonl"
    base = dict(cv=3, checkpoint=path, random_state=0, progress=False)
    lofo_importance(lb.CountingOLS(), X, y, **base)
    content = path.read_bytes()
    changes = [
        ("y", dict(y=y + 1)),
        ("X", dict(X=X * 2)),
        ("random_state", dict(random_state=1)),
        ("cv folds", dict(cv=4)),
        ("mode", dict(mode="constant")),
        ("metric", dict(metric="mse")),
        ("feature names and groups", dict(groups={"g": [0, 1]})),
        ("fit_kwargs", dict(fit_kwargs={"epochs": 3})),
        ("model", dict(model_or_builder=lb.ols_builder)),
    ]
    for what, change in changes:
        args = dict(base, model_or_builder=lb.CountingOLS(), X=X, y=y)
        args.update(change)
        builder = args["model_or_builder"]
        with pytest.raises(ValueError, match=rf"written by a lofo_importance run with different .*{what}"):
            lofo_importance(**args)
        assert path.read_bytes() == content
        if isinstance(builder, lb.CountingOLS):
            assert builder.calls == 0
    with pytest.raises(ValueError, match="different function"):
        stepwise_importance(lb.CountingOLS(), X, y, **base)


def test_a_file_that_is_not_a_checkpoint_is_never_overwritten(tmp_path):
    X, y = lb.abc_data(n=60)
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(ValueError, match="not a seqimp checkpoint"):
        lofo_importance(lb.ols_builder, X, y, cv=2, checkpoint=path, progress=False)
    assert path.read_text() == "my notes\n"


def test_a_line_torn_by_a_killed_process_is_redone(tmp_path):
    X, y = lb.abc_data(n=90)
    path = tmp_path / "ck.jsonl"
    complete = lofo_importance(lb.CountingOLS(), X, y, cv=3, checkpoint=path, random_state=0,
                               progress=False)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][:15])     # the last record, cut mid-write
    builder = lb.CountingOLS()
    resumed = lofo_importance(builder, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert builder.calls == 1
    np.testing.assert_array_equal(resumed.importances, complete.importances)
    _, records = _records(path)                                # every line parses again
    assert len(records) == 12


def test_random_state_none_is_stored_in_the_checkpoint_and_reused(tmp_path):
    X, y = lb.abc_data(n=90)
    path = tmp_path / "ck.jsonl"
    first = lofo_importance(lb.CountingOLS(), X, y, cv=3, checkpoint=path, progress=False)
    builder = lb.CountingOLS()
    second = lofo_importance(builder, X, y, cv=3, checkpoint=path, progress=False)
    assert builder.calls == 0
    np.testing.assert_array_equal(first.importances, second.importances)


def test_a_killed_process_loses_only_running_fits(tmp_path):
    X, y = lb.abc_data(n=90)
    data = tmp_path / "data.npz"
    np.savez(data, X=X, y=y)
    path = tmp_path / "ck.jsonl"
    script = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {HERE!r})
        import lofo_builders as lb
        from seqimp.lofo import lofo_importance
        d = np.load({str(data)!r})
        lofo_importance(lb.CountingOLS(delay=0.4), d["X"], d["y"], cv=3, checkpoint={str(path)!r},
                        random_state=0, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=""))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if path.exists() and path.read_text().count("\n") >= 4:   # header + 3 records
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    _, records = _records(path)
    assert 3 <= len(records) < 12
    # The builder is identified by its name; the resumed run need not sleep.
    builder = lb.CountingOLS()
    resumed = lofo_importance(builder, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert builder.calls == 12 - len(records)
    clean = lofo_importance(lb.ols_builder, X, y, cv=3, random_state=0, progress=False)
    np.testing.assert_array_equal(resumed.importances, clean.importances)


# --------------------------------------------------------------------------------------------------
# Parallel: local processes and a Dask cluster give the n_jobs=1 numbers
# --------------------------------------------------------------------------------------------------

def test_n_jobs_2_equals_n_jobs_1(abc, reference, tmp_path):
    X, y = abc
    path = tmp_path / "par.jsonl"
    result = lofo_importance(lb.dense_builder, X, y, fit_kwargs=lb.FIT, metric="mse", cv=3,
                             feature_names=["a", "b", "c"], random_state=0, n_jobs=2, checkpoint=path,
                             progress=False)
    np.testing.assert_array_equal(result.importances, reference.importances)
    assert len(_records(path)[1]) == 12     # the caller's process wrote every score


@pytest.fixture
def dask_client():
    distributed = require("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def test_dask_local_cluster_equals_n_jobs_1(abc, reference, dask_client):
    import joblib

    X, y = abc
    with joblib.parallel_backend("dask"):
        result = lofo_importance(lb.dense_builder, X, y, fit_kwargs=lb.FIT, metric="mse", cv=3,
                                 feature_names=["a", "b", "c"], random_state=0, n_jobs=-1, progress=False)
    np.testing.assert_array_equal(result.importances, reference.importances)

    def probe():
        import tensorflow as tf

        return ("keras" in sys.modules, os.environ.get("TF_NUM_INTRAOP_THREADS"),
                tf.config.threading.get_intra_op_parallelism_threads())

    states = dask_client.run(probe)
    assert len(states) == 2
    for built_keras, env_threads, config_threads in states.values():
        assert built_keras                                   # the fits ran on the cluster's workers
        assert env_threads == "1" or config_threads == 1     # capped at the worker's one thread


# --------------------------------------------------------------------------------------------------
# The seed model (3-layer LSTM on y = [x1 * x2 < 0.25]); feature 3 is irrelevant
# --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_seed_model_architecture_ranks_features_1_and_2_above_3():
    import keras
    from sklearn.model_selection import ShuffleSplit

    from seqimp.demo import make_seed_model, seed_data

    X, y = seed_data(1600, np.random.default_rng(1))
    model = make_seed_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy")
    one_split = ShuffleSplit(1, test_size=0.5, random_state=0)
    result = lofo_importance(model, X, y, metric="log_loss", cv=one_split,
                             fit_kwargs={"epochs": 6, "batch_size": 16}, random_state=0, progress=False)
    imp = result.importances_mean
    assert result.baseline_score < 0.5          # the full model learned the rule (chance: 0.69)
    assert min(imp[0], imp[1]) > 0.1
    assert min(imp[0], imp[1]) > 3 * abs(imp[2])


# --------------------------------------------------------------------------------------------------
# Stepwise
# --------------------------------------------------------------------------------------------------

def _ols_path_by_definition(X, y, folds, direction):
    """Backward elimination / forward addition with least squares, written out from the definition."""
    y = y.astype(np.float64)

    def cv_score(cols):
        if not cols:
            return np.array([np.mean((y[te] - y[tr].mean()) ** 2) for tr, te in folds])
        return np.array([lb.ols_score(X, y, tr, te, sorted(cols)) for tr, te in folds])

    # A feature's contribution, per fold: the MSE of the set without it minus the MSE of the set with
    # it, at the step where it is removed (backward) or added (forward).
    order, contributions = [], np.zeros((3, len(folds)))
    if direction == "backward":
        active = [0, 1, 2]
        while active:
            current = cv_score(active)
            scores = {j: cv_score([c for c in active if c != j]) for j in active}
            j = min(active, key=lambda c: (scores[c].mean(), c))
            contributions[j] = scores[j] - current
            order.append(j)
            active.remove(j)
    else:
        active = []
        while len(active) < 3:
            current = cv_score(active)
            scores = {j: cv_score(active + [j]) for j in range(3) if j not in active}
            j = min(scores, key=lambda c: (scores[c].mean(), c))
            contributions[j] = current - scores[j]
            order.append(j)
            active.append(j)
    return order, cv_score([]), cv_score([0, 1, 2]), contributions


@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_stepwise_follows_the_definition(abc, direction):
    X, y = abc
    result = stepwise_importance(lb.ols_builder, X, y, direction=direction, metric="mse", cv=3,
                                 feature_names=["a", "b", "c"], random_state=0, progress=False)
    order, null, full, contributions = _ols_path_by_definition(X, y, result.extra["folds"], direction)
    names = ["a", "b", "c"]
    assert result.extra["order"] == [names[j] for j in order]
    assert result.extra["order"] == (["c", "b", "a"] if direction == "backward" else ["a", "b", "c"])
    np.testing.assert_array_equal(result.extra["rank"], [1, 2, 3])
    # The steps' changes add up to the full model's improvement over the mean predictor, per fold.
    np.testing.assert_allclose(result.importances.sum(axis=0), null - full, rtol=1e-9)
    assert result.baseline_score == pytest.approx(full.mean())
    assert result.method == f"stepwise_{direction}"
    assert [p["feature"] for p in result.extra["path"]] == result.extra["order"]
    np.testing.assert_allclose(result.importances, contributions, rtol=1e-9, atol=1e-12)


def test_stepwise_fits_each_feature_set_once_and_resumes(tmp_path):
    X, y = lb.abc_data(n=90)
    path = tmp_path / "step.jsonl"
    builder = lb.CountingOLS()
    first = stepwise_importance(builder, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert builder.calls == 3 * 4 // 2 * 3        # L (L + 1) / 2 feature sets x 3 folds
    again = lb.CountingOLS()
    second = stepwise_importance(again, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert again.calls == 0
    np.testing.assert_array_equal(first.importances, second.importances)


# --------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(mode="zero"), ValueError,
     r"'mode' parameter of lofo_importance must be one of \{'drop', 'constant'\}"),
    (dict(cv=1), ValueError, r"'cv' parameter of lofo_importance must be an int in the range \[2, 60\]"),
    (dict(cv=61), ValueError, r"'cv' parameter .* Got 61 instead"),
    (dict(cv="kfold"), TypeError, r"'cv' parameter of lofo_importance must be an int .* Got 'kfold'"),
    (dict(cv=[(np.arange(10), np.arange(99, 101))]), ValueError, r"'cv' .* invalid test part in split 0"),
    (dict(n_jobs=0), ValueError, r"'n_jobs' parameter of lofo_importance must be a non-zero int"),
    (dict(n_jobs=1.5), ValueError, r"'n_jobs' parameter"),
    (dict(n_jobs="2"), TypeError, r"'n_jobs' parameter"),
    (dict(progress="yes"), TypeError, r"'progress' parameter of lofo_importance must be a bool"),
    (dict(metric="mape"), ValueError, r"'metric' parameter of lofo_importance must be one of"),
    (dict(fit_kwargs=[1]), TypeError, r"'fit_kwargs' parameter of lofo_importance must be a dict"),
    (dict(fit_kwargs={"validation_data": None}), ValueError, r"must not contain 'validation_data'"),
    (dict(fit_kwargs={"x": 1}), ValueError, r"must not contain 'x'"),
    (dict(fit_kwargs={"sample_weight": np.ones(5)}), ValueError, r"'sample_weight' must have one weight"),
    (dict(checkpoint=3), TypeError, r"'checkpoint' parameter of lofo_importance must be a file path"),
    (dict(checkpoint="/no/such/folder/ck.jsonl"), ValueError, r"folder '/no/such/folder' does not exist"),
    (dict(random_state=-1), TypeError, r"'random_state' parameter of lofo_importance"),
    (dict(groups={"g": ["nope"]}), ValueError, r"unknown feature 'nope'"),
    (dict(model_or_builder=42), TypeError, r"'model_or_builder' parameter of lofo_importance must be a "
                                           r"compiled Keras model or a builder"),
    (dict(y=np.ones(7)), ValueError, r"'y' parameter of lofo_importance must have one row per sample"),
    (dict(X=np.ones((60, 2, 2, 2))), ValueError, r"X must be 3-D"),
])
def test_arguments_are_checked_at_the_boundary(kwargs, exc, pattern):
    X, y = lb.abc_data(n=60)
    builder = lb.CountingOLS()
    args = dict(model_or_builder=builder, X=X, y=y, cv=2, progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        lofo_importance(**args)
    assert builder.calls == 0


def test_stepwise_direction_is_checked():
    X, y = lb.abc_data(n=60)
    with pytest.raises(ValueError, match=r"'direction' parameter of stepwise_importance must be one of "
                                         r"\{'backward', 'forward'\}"):
        stepwise_importance(lb.ols_builder, X, y, direction="both")


def test_unpicklable_builder_is_refused_before_dispatch_with_n_jobs():
    import threading

    X, y = lb.abc_data(n=60)
    lock = threading.Lock()

    def build(n):
        with lock:
            return lb.OLS()

    with pytest.raises(TypeError, match=r"must be picklable to run with n_jobs=2"):
        lofo_importance(build, X, y, cv=2, n_jobs=2, progress=False)


def test_sample_weight_is_split_with_the_folds():
    X, y = lb.abc_data(n=60)
    seen = []

    class Recording(lb.OLS):
        def fit(self, X, y, sample_weight=None, **kw):
            seen.append(np.asarray(sample_weight).copy())
            return super().fit(X, y)

    weights = np.arange(60, dtype=float)
    r = lofo_importance(lambda n: Recording(), X, y, cv=2, random_state=0, progress=False,
                        fit_kwargs={"sample_weight": weights})
    train0 = r.extra["folds"][0][0]
    np.testing.assert_array_equal(seen[0], weights[train0])


def test_progress_bar_counts_fits(capsys):
    X, y = lb.abc_data(n=60)
    lofo_importance(lb.ols_builder, X, y, cv=2, random_state=0, progress=True)
    err = capsys.readouterr().err
    assert "lofo_importance" in err and "8/8" in err


def test_exported_from_the_package():
    assert seqimp.lofo_importance is lofo_importance
    assert seqimp.stepwise_importance is stepwise_importance
