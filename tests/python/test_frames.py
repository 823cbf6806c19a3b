"""DataFrames stay DataFrames, categorical features are swapped and never noised, and X keeps its
precision (issue 12, items 2, 3 and 5)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import seqimp
from conftest import require
from seqimp.model_inputs import prepare_inputs

CITY_EFFECT = {"a": 0.0, "b": 1.0, "c": 3.0}


def _frame(n=600, seed=0):
    """Every kind of column a pandas user has, on a non-default index."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "num": rng.normal(size=n),
        "city": rng.choice(["a", "b", "c"], n),
        "kind": pd.Categorical(rng.choice(["u", "v", "w"], n), categories=["w", "v", "u"]),
        "count": rng.integers(0, 5, n),
        "flag": rng.random(n) < 0.5,
        "level": pd.array(rng.integers(0, 3, n), dtype="Int64"),
        "ratio": pd.array(rng.random(n), dtype="Float64"),
        "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 3, n), "D"),
    }, index=pd.Index(np.arange(n) * 10 + 7, name="id"))


def _target(frame):
    return (2.0 * frame["num"] + frame["city"].map(CITY_EFFECT) + (frame["kind"] == "u") * 1.0
            + 0.5 * frame["count"] + frame["flag"] * 1.0 + frame["level"].astype(float)).to_numpy(float)


class _Spy:
    """A model that checks every chunk is a DataFrame like the caller's, whose categorical cells hold
    only values the column had, then predicts with ``model``."""

    def __init__(self, model, frame):
        self.model, self.frame, self.calls = model, frame, 0

    def predict(self, X):
        self.calls += 1
        assert isinstance(X, pd.DataFrame)
        assert list(X.columns) == list(self.frame.columns)
        assert type(X.index) is type(self.frame.index) and X.index.isin(self.frame.index).all()
        for column in ("city", "kind", "flag", "day"):
            assert X[column].dtype == self.frame[column].dtype
            assert X[column].isin(self.frame[column].unique()).all(), column
        assert X["kind"].cat.categories.tolist() == ["w", "v", "u"]
        return self.model(X)


def _linear(X):
    return _target(X)


def test_dataframe_chunks_keep_columns_dtypes_and_index_under_permutation():
    frame = _frame()
    spy = _Spy(_linear, frame)
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = seqimp.permutation_importance(spy, frame, _target(frame), metric="mse", batch_size=97,
                                          n_repeats=3, random_state=0)
    pd.testing.assert_frame_equal(frame, before)  # the caller's data is never modified
    assert spy.calls > 1
    imp = dict(zip(r.feature_names, r.importances_mean))
    assert imp["day"] == 0.0 and imp["ratio"] == 0.0  # unused columns score exactly 0
    # Permuting x with weight w raises the MSE by 2 w^2 Var(x), up to sampling error.
    assert imp["num"] == pytest.approx(2 * 4 * frame["num"].var(ddof=0), rel=0.15)
    assert imp["count"] == pytest.approx(2 * 0.25 * frame["count"].var(ddof=0), rel=0.15)
    assert set(r.params["categorical_features"]) == {"city", "kind", "flag", "day"}


def test_each_chunk_has_the_rows_own_index_labels_whatever_the_batch_size():
    frame = _frame(n=50)
    seen = []

    def model(X):
        # The row's own numbers, found by its index label: wrong labels would change the prediction.
        seen.append(X.index.to_numpy())
        return X["num"].to_numpy() - frame.loc[X.index, "num"].to_numpy() + X["count"].to_numpy()

    r1 = seqimp.perturbation_importance(model, frame, batch_size=7, random_state=3)
    r2 = seqimp.perturbation_importance(model, frame, batch_size=64, random_state=3)
    np.testing.assert_array_equal(r1.importances, r2.importances)
    imp = dict(zip(r1.feature_names, r1.importances_mean))
    assert imp["city"] == 0.0 and imp["num"] > 0 and imp["count"] > 0


def test_categorical_columns_are_swapped_never_noised_and_the_result_says_so():
    frame = _frame()
    for noise in ("gaussian", "uniform", "zero", "mean"):
        spy = _Spy(_linear, frame)
        r = seqimp.perturbation_importance(spy, frame, noise=noise, scale=5.0, random_state=0, batch_size=128)
        assert r.params["categorical_features"] == ["city", "kind", "flag", "day"]
        assert dict(zip(r.feature_names, r.importances_mean))["day"] == 0.0


def test_noise_on_an_integer_column_arrives_as_float64_and_a_swap_keeps_its_dtype():
    frame = _frame(n=100)
    dtypes = []

    def model(X):
        dtypes.append((X["count"].dtype, X["level"].dtype))
        return X["count"].to_numpy(float)

    seqimp.perturbation_importance(model, frame, noise="gaussian", random_state=0)
    assert (np.dtype(np.float64), pd.Float64Dtype()) in dtypes  # not truncated back to integers
    dtypes.clear()
    seqimp.perturbation_importance(model, frame, noise="swap", random_state=0)
    assert set(dtypes) == {(np.dtype(np.int64), pd.Int64Dtype())}


def test_named_categorical_features_are_swapped_on_arrays_too():
    rng = np.random.default_rng(1)
    X = np.stack([rng.normal(size=300), rng.integers(0, 4, 300).astype(float)], axis=1)
    seen = []

    def model(x):
        seen.append(x[:, 1].copy())
        return x[:, 0] + x[:, 1]

    r = seqimp.perturbation_importance(model, X, categorical_features=["x2"], scale=3.0, random_state=0)
    assert set(np.unique(np.concatenate(seen))) <= {0.0, 1.0, 2.0, 3.0}  # codes are never noised
    assert r.params["categorical_features"] == ["x2"]
    by_index = seqimp.perturbation_importance(model, X, categorical_features=[1], scale=3.0, random_state=0)
    np.testing.assert_array_equal(r.importances, by_index.importances)
    # A numeric-only label draws exactly as before: x1's row does not depend on x2 being categorical.
    plain = seqimp.perturbation_importance(model, X, scale=3.0, random_state=0)
    assert r.importances[0, 0] == plain.importances[0, 0]


def test_timestep_labels_mix_noised_and_swapped_cells():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(size=(200, 4, 1)), rng.integers(0, 3, (200, 4, 1)).astype(float)], axis=2)
    seen = []

    def model(x):
        seen.append(x[:, :, 1].copy())
        return x.sum(axis=(1, 2))

    r = seqimp.perturbation_importance(model, X, granularity="timestep", categorical_features=["x2"],
                                       random_state=0)
    assert set(np.unique(np.concatenate(seen))) <= {0.0, 1.0, 2.0}
    assert (r.importances_mean > 0).all()


@pytest.mark.parametrize("given, message", [
    (["nope"], r"'categorical_features'.*unknown feature 'nope'"),
    ([5], r"'categorical_features'.*feature index 5"),
    (3.5, r"'categorical_features'"),
])
def test_unknown_categorical_features_are_refused_naming_the_argument(given, message):
    with pytest.raises((ValueError, TypeError), match=message):
        seqimp.perturbation_importance(lambda x: x.sum(axis=1), np.ones((10, 2)), categorical_features=given)


def test_methods_that_cannot_take_categories_refuse_them():
    frame = _frame(n=40)
    with pytest.raises(TypeError, match=r"lek_profile.*categorical features \['city'"):
        seqimp.lek_profile(_linear, frame)
    with pytest.raises(TypeError, match=r"lofo_importance fits a builder's.*non-numeric columns \['city'"):
        seqimp.lofo_importance(lambda n: LinearRegression(), frame, _target(frame), cv=2)


def test_missing_values_are_moved_never_invented_or_noised_into_numbers():
    frame = pd.DataFrame({"num": [1.0, np.nan, 3.0, 4.0, 5.0, np.nan],
                          "count": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
                          "city": ["a", None, "b", "a", "b", "a"]})
    seen = []

    def model(X):
        assert X["count"].dtype in (pd.Int64Dtype(), pd.Float64Dtype())
        seen.append((int(X["num"].isna().sum()), int(X["count"].isna().sum()), int(X["city"].isna().sum())))
        return X["num"].fillna(0).to_numpy() + X["count"].fillna(0).to_numpy(float)

    seqimp.permutation_importance(model, frame, np.zeros(6), n_repeats=5, random_state=0)
    copies = 1 + 3 * 5
    assert [sum(s[k] for s in seen) for k in range(3)] == [2 * copies, copies, copies]
    seen.clear()
    r = seqimp.perturbation_importance(model, frame, noise="gaussian", n_repeats=3, random_state=0)
    assert [sum(s[k] for s in seen) for k in range(3)] == [2 * 10, 10, 10]  # noise never fills a gap
    assert np.isfinite(r.importances).all() and r.importances_mean[0] > 0
    # "mean" sets every cell, a missing one too, to the mean of the values present (13 / 4).
    by_mean = seqimp.perturbation_importance(model, frame, noise="mean", random_state=0)
    assert by_mean.importances_mean[0] == pytest.approx(np.sqrt(np.mean((np.array([1, 0, 3, 4, 5, 0]) - 13 / 4) ** 2)))


def test_missing_numbers_agree_with_scikit_learn_for_a_model_that_takes_them():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"a": rng.normal(size=1000), "b": rng.normal(size=1000), "c": rng.normal(size=1000)})
    y = 2 * frame["a"] + frame["b"] + 0.1 * rng.normal(size=1000)
    frame.loc[rng.random(1000) < 0.2, "a"] = np.nan
    frame.loc[rng.random(1000) < 0.1, "c"] = np.nan
    model = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(frame, y)
    ours = seqimp.permutation_importance(model, frame, y, metric="neg_mean_squared_error", n_repeats=20,
                                         random_state=0)
    theirs = sk_permutation_importance(model, frame, y, scoring="neg_mean_squared_error", n_repeats=20,
                                       random_state=0)
    se = np.sqrt((ours.importances.var(axis=1, ddof=1) + theirs.importances.var(axis=1, ddof=1)) / 20)
    assert np.all(np.abs(ours.importances_mean - theirs.importances_mean) < 4 * se + 1e-12)
    assert ours.importances_mean[0] > 1.0
    with pytest.raises(ValueError, match=r"column 'a' holds inf"):
        seqimp.permutation_importance(model, frame.assign(a=np.inf), y)
    keras = require("keras")
    with pytest.raises(ValueError, match=r"missing values \(NaN\).*Keras model cannot take them"):
        seqimp.perturbation_importance(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), frame)


def test_agrees_with_scikit_learn_on_a_dataframe_pipeline_with_a_one_hot_encoded_string_column():
    frame = _frame(n=800).drop(columns=["day", "ratio"])
    y = _target(frame) + np.random.default_rng(5).normal(scale=0.3, size=len(frame))
    encode = ColumnTransformer([("onehot", OneHotEncoder(), ["city", "kind", "flag"]),
                                ("keep", "passthrough", ["num", "count", "level"])])
    pipeline = make_pipeline(encode, LinearRegression()).fit(frame, y)
    n_repeats = 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        ours = seqimp.permutation_importance(pipeline, frame, y, metric="neg_mean_squared_error",
                                             n_repeats=n_repeats, random_state=0)
    theirs = sk_permutation_importance(pipeline, frame, y, scoring="neg_mean_squared_error",
                                       n_repeats=n_repeats, random_state=0)
    assert list(ours.feature_names) == list(frame.columns)
    se = np.sqrt((ours.importances.var(axis=1, ddof=1) + theirs.importances.var(axis=1, ddof=1)) / n_repeats)
    z = (ours.importances_mean - theirs.importances_mean) / se
    assert np.all(np.abs(z) < 4), z
    assert ours.importances_mean[list(frame.columns).index("city")] > 0.5


def test_a_float64_model_that_is_exact_has_a_baseline_error_of_exactly_zero():
    # Meter readings around 5e6 with increments of 1e-3: float32 keeps none of the increments.
    rng = np.random.default_rng(0)
    X = 5e6 + np.round(rng.random((300, 6, 2)), 3)
    w = np.array([1.0, -2.0])

    def model(x):
        assert x.dtype == np.float64
        return (x - 5e6) @ w @ np.ones(6)

    y = model(X)
    r = seqimp.permutation_importance(model, X, y, metric="mae", random_state=0)
    assert r.baseline_score == 0.0
    frame = pd.DataFrame(X[:, 0, :], columns=["a", "b"])
    r2 = seqimp.permutation_importance(lambda f: f["a"].to_numpy() - 5e6, frame, frame["a"] - 5e6,
                                       random_state=0)
    assert r2.baseline_score == 0.0


def test_integers_arrive_as_they_came_and_keras_gets_its_own_dtype():
    X = np.arange(60, dtype=np.int64).reshape(20, 3)
    dtypes = []

    def model(x):
        dtypes.append(x.dtype)
        return x.sum(axis=1)

    seqimp.permutation_importance(model, X, model(X), random_state=0)
    assert set(dtypes) == {np.dtype(np.int64)}
    dtypes.clear()
    seqimp.perturbation_importance(model, X, random_state=0)  # noise: float64, never truncated
    assert set(dtypes) == {np.dtype(np.float64)}

    keras = require("keras")
    net = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    data = prepare_inputs(np.ones((5, 4, 2)), None, net, "test")
    assert data.X.dtype == np.float32
    with pytest.raises(TypeError, match=r"non-numeric columns \['city'\].*Keras"):
        prepare_inputs(pd.DataFrame({"city": ["a", "b"], "x": [1.0, 2.0]}), None,
                       keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), "test")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mask_value_is_compared_in_x_own_precision(dtype):
    # -0.1 in float32 is not -0.1 in float64: a float64 X padded with -0.1 must still be found padded.
    X = np.random.default_rng(0).normal(size=(50, 5, 2)).astype(dtype)
    X[:, :2, :] = dtype(-0.1)
    r = seqimp.perturbation_importance(lambda x: np.where(x == dtype(-0.1), 0, x).sum(axis=(1, 2)), X,
                                       mask_value=-0.1, granularity="timestep", random_state=0)
    assert list(r.extra["n_real_samples"]) == [0, 0, 50, 50, 50]
    assert r.importances_mean[0] == 0.0 and r.importances_mean[2] > 0


def test_max_samples_on_a_dataframe_keeps_the_drawn_rows_index_labels():
    frame = _frame(n=300)
    spy = _Spy(_linear, frame)
    r = seqimp.permutation_importance(spy, frame, _target(frame), metric="mse", max_samples=120, random_state=0)
    assert r.params["n_samples"] == 120 and spy.calls >= 1
    assert dict(zip(r.feature_names, r.importances_mean))["day"] == 0.0
    # Each drawn row keeps its own label: the model finds its own "num" by it, so the baseline error is 0.
    own = seqimp.permutation_importance(lambda X: X["num"].to_numpy() - frame.loc[X.index, "num"].to_numpy(),
                                        frame, np.zeros(300), metric="mae", max_samples=120, random_state=0)
    assert own.baseline_score == 0.0


def _select_by_dtype_pipeline():
    from sklearn.compose import make_column_selector

    encode = ColumnTransformer([("onehot", OneHotEncoder(), make_column_selector(dtype_include=[object, "category"])),
                                ("keep", "passthrough", make_column_selector(dtype_exclude=[object, "category"]))])
    return make_pipeline(encode, LinearRegression())


def test_lofo_fits_an_estimator_on_dataframes_as_cross_validate_does():
    # lofo-importance hands its models NumPy arrays (Dataset.getX uses .values), so a pipeline that
    # selects columns by dtype cannot run there; the definition, by hand with scikit-learn's
    # cross_validate on DataFrames without each column, is the peer here.
    from sklearn.model_selection import KFold, cross_validate

    frame = _frame(n=400).drop(columns=["day", "ratio", "level", "flag"])
    y = 2.0 * frame["num"] + frame["city"].map(CITY_EFFECT) + (frame["kind"] == "u") + 0.5 * frame["count"]
    y = y.to_numpy(float) + np.random.default_rng(3).normal(scale=0.5, size=len(frame))
    cv = KFold(4, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names": fits see DataFrames
        ours = seqimp.lofo_importance(_select_by_dtype_pipeline(), frame, y, metric="mse", cv=cv, progress=False)

    def fold_mse(columns):
        scores = cross_validate(_select_by_dtype_pipeline(), frame[columns], y, cv=cv,
                                scoring="neg_mean_squared_error")["test_score"]
        return -scores

    full = fold_mse(list(frame.columns))
    expected = [fold_mse([c for c in frame.columns if c != dropped]) - full for dropped in frame.columns]
    np.testing.assert_allclose(ours.importances, expected, rtol=0, atol=1e-10)
    assert dict(zip(ours.feature_names, ours.importances_mean))["city"] > 0.3
    with pytest.raises(TypeError, match=r"mode='constant'.*categorical features \['city', 'kind'\]"):
        seqimp.lofo_importance(_select_by_dtype_pipeline(), frame, y, mode="constant", progress=False)
