"""LOFO and stepwise importance with a scikit-learn estimator, cloned for every fit.

The linear problem (linear_data): y = 2 x1 + 0.5 x2 + noise, with x1 ~ N(0, SD1**2), x2, x3, x4 ~ N(0, 1)
independent and noise sd SIGMA; x3 and x4 do not enter y. Least squares without x1 loses 2 x1 and the
test MSE rises by 4 Var(x1); without x2 by 0.25 Var(x2); without x3 or x4 by about 0.

Numbers are checked against the definition, against the lofo-importance package (which computes the same
quantity with sklearn's cross_validate) on the same folds, and against what each fit must be given.
"""

import os
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import require
from seqimp.lofo import lofo_importance, stepwise_importance

NAMES = ["x1", "x2", "x3", "x4"]
SD1, SIGMA = 1.5, 0.5


def linear_data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 0] *= SD1
    y = 2.0 * X[:, 0] + 0.5 * X[:, 1] + SIGMA * rng.normal(size=n)
    return X, y


class Recorder(BaseEstimator, RegressorMixin):
    """Predicts the training mean and records, in this process, what each fit was given."""

    seen = []

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        Recorder.seen.append((np.array(X), self.random_state))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def recorder():
    Recorder.seen.clear()
    yield Recorder
    Recorder.seen.clear()


# --------------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------------

def test_linear_regression_lofo_is_the_mse_increase_of_the_closed_form():
    X, y = linear_data()
    r = lofo_importance(LinearRegression(), X, y, metric="mse", cv=5, feature_names=NAMES, random_state=0,
                        progress=False)
    n = len(y)
    # The test folds partition the samples, so the mean over folds is close to a mean over all n of
    # (2 x1 + e)**2 - e**2 = 4 x1**2 + 4 x1 e. Its standard error: sqrt((32 SD1**4 + 16 SD1**2 SIGMA**2) / n)
    # (0.21 for n = 4000); likewise for x2, sqrt((2 * 0.5**4 + SIGMA**2) / n) (0.0097). Least squares'
    # own estimation error adds O(p SIGMA**2 / n_train), about 1e-3 of these. Four standard errors.
    se1 = np.sqrt((32 * SD1 ** 4 + 16 * SD1 ** 2 * SIGMA ** 2) / n)
    se2 = np.sqrt((2 * 0.5 ** 4 + SIGMA ** 2) / n)
    imp = r.importances_mean
    assert abs(imp[0] - 4 * SD1 ** 2) < 4 * se1, imp
    assert abs(imp[1] - 0.25) < 4 * se2, imp
    # An unused feature only changes the fit by one coefficient estimated from noise, b ~ N(0,
    # SIGMA**2 / n_train): the test MSE moves by b**2 (mean SIGMA**2 / n_train = 8e-5) plus a cross term
    # 2 b x e over n_test samples (sd about 2 SIGMA**2 / sqrt(n_train n_test) = 3e-4 per fold).
    assert np.all(np.abs(imp[2:]) < 2e-3), imp
    assert abs(r.baseline_score - SIGMA ** 2) < 4 * SIGMA ** 2 * np.sqrt(2 / n)
    assert r.label_names == NAMES and r.importances.shape == (4, 5)


def test_an_exact_model_gives_an_unused_feature_exactly_nothing():
    X = np.random.default_rng(5).integers(-5, 6, size=(200, 4)).astype(float)
    y = 2.0 * X[:, 0] - X[:, 1]                 # small integers: exact in float32 and float64 alike
    r = lofo_importance(LinearRegression(), X, y, metric="mse", cv=4, random_state=0, progress=False)
    assert r.baseline_score < 1e-10
    assert np.all(np.abs(r.importances[2:]) < 1e-10)
    assert np.all(r.importances[:2] > 0.5)


def _lofo_package(X, y, cv, model, features, feature_groups=None):
    """lofo-importance's LOFOImportance on a DataFrame of X's columns: per label, the fold scores."""
    pd = require("pandas")
    lofo = require("lofo")
    df = pd.DataFrame(X, columns=features)
    df["target"] = y
    dataset = lofo.Dataset(df, "target", features, feature_groups=feature_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its tqdm.autonotebook import warns outside notebooks
        frame = lofo.LOFOImportance(dataset, scoring="neg_mean_squared_error", model=model, cv=cv,
                                    ).get_importance()
    return frame.set_index("feature")


# lofo-importance and seqimp both fit on the float64 data (X keeps its dtype, inputs.py): the fold
# scores agree to float64 round-off of an MSE of order 1. 1e-10 leaves room for other BLAS builds.
PACKAGE_ATOL = 1e-10


@pytest.mark.parametrize("model", [LinearRegression(), Ridge(alpha=10.0)], ids=["ols", "ridge"])
def test_agrees_with_the_lofo_importance_package_on_the_same_folds(model):
    X, y = linear_data(n=600)
    cv = KFold(4, shuffle=True, random_state=1)
    ours = lofo_importance(model, X, y, metric="mse", cv=cv, feature_names=NAMES, progress=False)
    theirs = _lofo_package(X, y, cv, model, NAMES).loc[NAMES]
    folds = [f"val_imp_{k}" for k in range(4)]
    np.testing.assert_allclose(ours.importances, theirs[folds].to_numpy(), rtol=0, atol=PACKAGE_ATOL)
    np.testing.assert_allclose(ours.importances_mean, theirs["importance_mean"], rtol=0, atol=PACKAGE_ATOL)
    np.testing.assert_allclose(ours.importances_std, theirs["importance_std"], rtol=0, atol=PACKAGE_ATOL)


def test_groups_also_report_the_features_in_no_group_as_the_lofo_package_does():
    X, y = linear_data(n=600)
    cv = KFold(3, shuffle=True, random_state=2)
    ours = lofo_importance(Ridge(), X, y, metric="mse", cv=cv, feature_names=NAMES,
                           groups={"noise": ["x3", "x4"]}, progress=False)
    assert ours.label_names == ["noise", "x1", "x2"]       # the groups, then the others in column order
    theirs = _lofo_package(X[:, :2], y, cv, Ridge(), NAMES[:2],
                           feature_groups={"noise": np.ascontiguousarray(X[:, 2:])}).loc[ours.label_names]
    folds = [f"val_imp_{k}" for k in range(3)]
    np.testing.assert_allclose(ours.importances, theirs[folds].to_numpy(), rtol=0, atol=PACKAGE_ATOL)


def test_3d_features_agree_with_the_lofo_package_given_each_feature_as_a_group_of_timesteps():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 4, 3))
    y = X[:, :, 0].sum(axis=1) + 0.3 * X[:, -1, 1] + 0.2 * rng.normal(size=500)
    cv = KFold(3, shuffle=True, random_state=0)
    ours = lofo_importance(Ridge(), X, y, metric="mse", cv=cv, feature_names=["a", "b", "c"],
                           progress=False)
    groups = {name: np.ascontiguousarray(X[:, :, j]) for j, name in enumerate(["a", "b", "c"])}
    theirs = _lofo_package(np.zeros((500, 0)), y, cv, Ridge(), [], feature_groups=groups).loc[["a", "b", "c"]]
    folds = [f"val_imp_{k}" for k in range(3)]
    np.testing.assert_allclose(ours.importances, theirs[folds].to_numpy(), rtol=0, atol=PACKAGE_ATOL)


def test_3d_input_reaches_the_estimator_flattened_timestep_major(recorder):
    n, T, F = 30, 3, 2
    i, t, f = np.meshgrid(np.arange(n), np.arange(T), np.arange(F), indexing="ij")
    X = 100.0 * i + 10.0 * t + f                 # every cell says where it came from
    y = np.arange(n, dtype=float)
    lofo_importance(Recorder(), X, y, cv=3, random_state=0, progress=False)
    cells = {tuple((seen[0] % 100).astype(int)) for seen, _ in recorder.seen}
    # columns t0/f0, t0/f1, t1/f0, ...: X.reshape(n, -1); without a feature, its T columns go
    assert cells == {(0, 1, 10, 11, 20, 21), (1, 11, 21), (0, 10, 20)}
    assert {seen.shape for seen, _ in recorder.seen} == {(20, 6), (20, 3)}
    assert len(recorder.seen) == 3 * 3


def test_2d_input_reaches_the_estimator_as_it_came(recorder):
    X, y = linear_data(n=60)
    lofo_importance(Recorder(), X, y, cv=2, random_state=0, progress=False)
    assert {seen.shape for seen, _ in recorder.seen} == {(30, 4), (30, 3)}


def test_a_classifier_refits_and_is_scored_by_accuracy():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] > 0).astype(float)
    r = lofo_importance(LogisticRegression(), X, y, metric="accuracy", cv=3, random_state=0, progress=False)
    imp = r.importances_mean
    assert r.baseline_score > 0.97
    assert imp[0] > 0.35                      # without x0 the classifier guesses: accuracy about 0.5
    assert np.all(np.abs(imp[1:]) < 0.02)


def test_stepwise_with_an_estimator_telescopes_from_the_full_model_to_the_mean():
    X, y = linear_data(n=600)
    r = stepwise_importance(LinearRegression(), X, y, metric="mse", cv=3, feature_names=NAMES,
                            random_state=0, progress=False)
    assert r.extra["order"][-1] == "x1" and r.extra["rank"][0] == 1
    np.testing.assert_allclose(r.importances.sum(axis=0), r.extra["null_scores"] - r.extra["full_scores"],
                               rtol=1e-9)
    grouped = stepwise_importance(LinearRegression(), X, y, metric="mse", cv=3, feature_names=NAMES,
                                  groups={"noise": ["x3", "x4"]}, random_state=0, progress=False)
    assert sorted(grouped.extra["order"]) == ["noise", "x1", "x2"]


# --------------------------------------------------------------------------------------------------
# Clones and seeds
# --------------------------------------------------------------------------------------------------

def test_the_callers_estimator_is_cloned_never_fitted_and_a_fitted_one_gives_the_same_numbers():
    X, y = linear_data(n=300)
    model = Ridge(alpha=3.0)
    unfitted = lofo_importance(model, X, y, metric="mse", cv=3, random_state=0, progress=False)
    assert not hasattr(model, "coef_") and model.get_params()["alpha"] == 3.0
    fitted = Ridge(alpha=3.0).fit(X[:, :2], y)         # fitted on other columns: ignored
    again = lofo_importance(fitted, X, y, metric="mse", cv=3, random_state=0, progress=False)
    np.testing.assert_array_equal(again.importances, unfitted.importances)
    assert fitted.coef_.shape == (2,)


def test_open_random_states_get_the_fold_seed_and_set_ones_are_kept(recorder):
    X, y = linear_data(n=90)
    lofo_importance(Recorder(), X, y, cv=3, random_state=0, progress=False)
    first = [seed for _, seed in recorder.seen]
    assert all(isinstance(seed, int) for seed in first)
    # fold-major: the full fit and the 4 without one feature share each fold's seed
    per_fold = [set(first[k * 5:(k + 1) * 5]) for k in range(3)]
    assert all(len(seeds) == 1 for seeds in per_fold) and len(set.union(*per_fold)) == 3
    recorder.seen.clear()
    lofo_importance(Recorder(), X, y, cv=3, random_state=0, progress=False)
    assert [seed for _, seed in recorder.seen] == first
    recorder.seen.clear()
    lofo_importance(Recorder(), X, y, cv=3, random_state=1, progress=False)
    assert set(seed for _, seed in recorder.seen).isdisjoint(first)
    recorder.seen.clear()
    lofo_importance(Recorder(random_state=7), X, y, cv=3, random_state=0, progress=False)
    assert {seed for _, seed in recorder.seen} == {7}
    recorder.seen.clear()
    lofo_importance(make_pipeline(StandardScaler(), Recorder()), X, y, cv=3, random_state=0, progress=False)
    nested = [seed for _, seed in recorder.seen]
    assert all(isinstance(seed, int) for seed in nested) and len(set(nested)) == 3


def _forest():
    return RandomForestRegressor(n_estimators=8, max_features=0.5, max_depth=6)


@pytest.fixture(scope="module")
def forest_reference():
    X, y = linear_data(n=300)
    return lofo_importance(_forest(), X, y, metric="mse", cv=3, random_state=0, progress=False)


def test_a_random_estimator_gives_the_same_numbers_with_n_jobs_2(forest_reference):
    X, y = linear_data(n=300)
    again = lofo_importance(_forest(), X, y, metric="mse", cv=3, random_state=0, progress=False)
    parallel = lofo_importance(_forest(), X, y, metric="mse", cv=3, random_state=0, n_jobs=2, progress=False)
    np.testing.assert_array_equal(again.importances, forest_reference.importances)
    np.testing.assert_array_equal(parallel.importances, forest_reference.importances)
    other = lofo_importance(_forest(), X, y, metric="mse", cv=3, random_state=1, progress=False)
    assert not np.array_equal(other.extra["baseline_scores"], forest_reference.extra["baseline_scores"])


def test_a_random_estimator_gives_the_same_numbers_on_a_dask_cluster(forest_reference):
    # The forest's own joblib calls (its trees) must stay inside the worker: sent back to the cluster,
    # whose two slots hold fits waiting for the worker's fit lock, they would wait forever.
    import joblib

    distributed = require("distributed")
    X, y = linear_data(n=300)
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster) as client, joblib.parallel_backend("dask"):
            result = lofo_importance(_forest(), X, y, metric="mse", cv=3, random_state=0, n_jobs=-1,
                                     progress=False)
            pids = client.run(os.getpid)
    finally:
        cluster.close()
    assert len(pids) == 2
    np.testing.assert_array_equal(result.importances, forest_reference.importances)


# --------------------------------------------------------------------------------------------------
# Checkpoints and errors
# --------------------------------------------------------------------------------------------------

def test_a_checkpoint_resumes_the_same_estimator_and_refuses_other_parameters(tmp_path):
    X, y = linear_data(n=200)
    path = tmp_path / "ridge.jsonl"
    first = lofo_importance(Ridge(alpha=2.0), X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    again = lofo_importance(Ridge(alpha=2.0), X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert first.extra["n_fitted"] == 15 and again.extra["n_fitted"] == 0
    np.testing.assert_array_equal(again.importances, first.importances)
    content = path.read_bytes()
    for other in (Ridge(alpha=3.0), LinearRegression(), make_pipeline(StandardScaler(), Ridge(alpha=2.0))):
        with pytest.raises(ValueError, match="different model"):
            lofo_importance(other, X, y, cv=3, checkpoint=path, random_state=0, progress=False)
    assert path.read_bytes() == content


def test_an_estimator_class_is_refused_with_what_to_pass():
    X, y = linear_data(n=60)
    with pytest.raises(TypeError, match=r"'model_or_builder' parameter of lofo_importance must be an "
                                        r"estimator instance, such as Ridge\(\), not the class Ridge"):
        lofo_importance(Ridge, X, y, progress=False)


class _Uncloneable:
    def __init__(self, alpha=1.0):
        self.scale = alpha              # get_params cannot give alpha back: clone refuses it

    def get_params(self, deep=True):
        return {"alpha": 2.0 * self.scale}

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


def test_an_estimator_clone_cannot_copy_is_refused_at_the_boundary():
    X, y = linear_data(n=60)
    with pytest.raises(TypeError, match=r"'model_or_builder' parameter of stepwise_importance must be an "
                                        r"estimator that sklearn.base.clone can copy"):
        stepwise_importance(_Uncloneable(), X, y, progress=False)


def test_a_group_named_like_a_feature_in_no_group_is_refused():
    X, y = linear_data(n=60)
    with pytest.raises(ValueError, match=r"'groups' parameter of lofo_importance has a group named 'x2'"):
        lofo_importance(Ridge(), X, y, feature_names=NAMES, groups={"x2": ["x3", "x4"]}, progress=False)
