"""The engine on workers (seqimp.engine_jobs): n_jobs=2 and a Dask LocalCluster give the numbers of
n_jobs=1, for a scikit-learn model and a Keras LSTM; R models and models that cannot be pickled refuse
n_jobs > 1 with a message that says what to do."""

import numpy as np
import pytest
import seqimp
from conftest import require


@pytest.fixture(scope="module")
def sklearn_case():
    require("sklearn")
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6, 3))
    y = X[:, :, 0].sum(axis=1) + 0.5 * X[:, -1, 1] + rng.normal(size=300) * 0.1
    model = Ridge().fit(X.reshape(300, -1), y)
    return _Flat(model), X, y


class _Flat:
    """A scikit-learn regressor on flattened sequences (a module-level class: it pickles by reference)."""

    def __init__(self, model):
        self.model = model

    def predict(self, x):
        return self.model.predict(x.reshape(len(x), -1))


@pytest.fixture(scope="module")
def lstm_case():
    keras = require("keras")
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 3))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(5)(inp)))
    X = np.random.default_rng(1).normal(size=(200, 6, 3)).astype(np.float32)
    return model, X, np.asarray(model(X))[:, 0] + 0.1


def _all(model, X, y, **kwargs):
    """Permutation by cell, perturbation by feature, both with 2 repeats (several jobs, chunks of 64)."""
    return [seqimp.permutation_importance(model, X, y, granularity="cell", n_repeats=2, random_state=0,
                                          batch_size=64, **kwargs).importances,
            seqimp.perturbation_importance(model, X, granularity="feature", n_repeats=2, random_state=1,
                                           batch_size=64, **kwargs).importances]


def same(one, two, exact):
    """scikit-learn: the same numbers. Keras: to float32 round-off (n_jobs=1 resumes the LSTM from cached
    states by cell, seqimp.engine_prefix, and workers give TensorFlow fewer threads)."""
    if exact:
        np.testing.assert_array_equal(one, two)
    else:
        np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-7)


def test_n_jobs_2_equals_n_jobs_1(sklearn_case, lstm_case):
    for (model, X, y), exact in ((sklearn_case, True), (lstm_case, False)):
        for one, two in zip(_all(model, X, y), _all(model, X, y, n_jobs=2)):
            same(one, two, exact)
    model, X, _ = lstm_case
    kwargs = dict(method="integrated_gradients", n_steps=6, batch_size=64)
    same(seqimp.gradient_importance(model, X, **kwargs).attributions,
         seqimp.gradient_importance(model, X, n_jobs=2, **kwargs).attributions, False)


def test_dask_local_cluster_equals_n_jobs_1(sklearn_case, lstm_case):
    distributed = require("distributed")
    import joblib

    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster):
            for (model, X, y), exact in ((sklearn_case, True), (lstm_case, False)):
                with joblib.parallel_backend("dask"):
                    on_dask = _all(model, X, y, n_jobs=-1)
                for one, two in zip(_all(model, X, y), on_dask):
                    same(one, two, exact)
    finally:
        cluster.close()


def test_unpicklable_model_says_use_n_jobs_1():
    X = np.random.default_rng(2).normal(size=(50, 4, 2))
    generator = (i for i in range(3))  # cannot be pickled

    def model(x):
        return x.sum(axis=(1, 2)) + 0 * len(str(generator))

    with pytest.raises(TypeError, match="n_jobs=1"):
        seqimp.perturbation_importance(model, X, n_jobs=2)
    assert seqimp.perturbation_importance(model, X, n_jobs=1).importances.shape == (2, 1)


def test_r_models_refuse_n_jobs(monkeypatch):
    from seqimp import _reticulate

    X = np.random.default_rng(3).normal(size=(20, 4, 2))
    predictor = _reticulate.RPredictor(lambda x: x.sum(axis=(1, 2)), "R function")
    monkeypatch.setattr(predictor, "_call", lambda block: block.sum(axis=(1, 2)))
    with pytest.raises(ValueError, match="n_jobs.*must be 1 for an R model"):
        seqimp.perturbation_importance(predictor, X, n_jobs=2)


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
def test_n_jobs_is_checked(bad):
    with pytest.raises((TypeError, ValueError), match="n_jobs"):
        seqimp.perturbation_importance(lambda x: x.sum(axis=(1, 2)), np.zeros((5, 3, 2)), n_jobs=bad)


def test_output_with_workers_matches_one_process():
    X = np.random.default_rng(3).random((64, 4, 3))

    def two_outputs(x):
        return np.stack([x[:, :, 0].sum(axis=1), x[:, :, 1].sum(axis=1)], axis=1)

    y = two_outputs(X)[:, 1]
    one = seqimp.permutation_importance(two_outputs, X, y, output=1, metric="mse", random_state=0)
    two = seqimp.permutation_importance(two_outputs, X, y, output=1, metric="mse", random_state=0, n_jobs=2)
    np.testing.assert_array_equal(one.importances, two.importances)
    assert one.params["output"] == two.params["output"] == "output 1"
    assert two.importances_mean[1] > 0 and two.importances_mean[0] == 0.0
