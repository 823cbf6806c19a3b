"""Standard errors, intervals, p-values and corrections (issue 20).

Numbers come from the definitions: closed-form variances of linear models, R's p.adjust, Nadeau and
Bengio's formula on a known fold design; per-sample effects must average to the importance exactly;
coverage and family-wise error are checked by simulation against a known truth (small, seeded, with
margins; bench/bench_calibration.py prints the full tables).
"""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, RepeatedKFold

import seqimp
from seqimp.inference import adjust_pvalues, nadeau_bengio
from seqimp.result import ImportanceResult

W = np.array([1.0, 0.5, 0.25, 0.0, 0.0])


def linear(x):
    return x @ W


def _problem(seed, n=500):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(W)))
    return X, linear(X) + rng.normal(size=n)


def test_permutation_se_matches_its_closed_form_on_a_linear_model():
    # y = w x + e with x, e ~ N(0, 1), fixed f: the effect of row i with donor k is
    # w²(x_i - x_k)² + 2 w e_i (x_i - x_k). Its Hoeffding parts give
    # n Var = 8 w⁴ + 4 w² + (4 w⁴ + 4 w²) / R (row and donor sides, plus the shuffles' own share).
    n, R = 4000, 5
    X, y = _problem(0, n)
    r = seqimp.permutation_importance(linear, X, y, metric="mse", n_repeats=R, random_state=0)
    w = W[:3]
    closed = np.sqrt((8 * w ** 4 + 4 * w ** 2 + (4 * w ** 4 + 4 * w ** 2) / R) / n)
    np.testing.assert_allclose(r.importances_se[:3], closed, rtol=0.1)
    # Rows treated as independent (fippy's per-observation SE, each row's mean over its R donors) would
    # give Var(h1) + (Var(h2) + σ²) / R = 2 w⁴ + 4 w² + (6 w⁴ + 4 w²) / R: for w = 1, 0.77 of the truth,
    # outside the tolerance above.
    naive = np.sqrt((2 + 4 + (6 + 4) / R) / n)
    assert abs(naive / closed[0] - 1) > 0.2
    assert r.importances_se[3:].tolist() == [0.0, 0.0]  # unused: every effect exactly 0


def test_perturbation_se_matches_its_closed_form():
    # Gaussian noise of scale s on a linear model changes a row's prediction by w s e, e ~ N(0, 1):
    # rms's delta-method variance is (w s)² Var(e²) / (4 n R) = (w s)² / (2 n R); mae's is
    # (w s)² (1 - 2/pi) / (n R).
    n, R, s = 4000, 2, 0.2
    X, _ = _problem(1, n)
    rms = seqimp.perturbation_importance(linear, X, scale=s, n_repeats=R, random_state=0)
    mae = seqimp.perturbation_importance(linear, X, scale=s, effect="mae", n_repeats=R, random_state=0)
    w = W[:3]
    np.testing.assert_allclose(rms.importances_se[:3], w * s / np.sqrt(2 * n * R), rtol=0.08)
    np.testing.assert_allclose(mae.importances_se[:3], w * s * np.sqrt((1 - 2 / np.pi) / (n * R)), rtol=0.08)
    assert "independent rows" in rms.inference["estimator"]
    with pytest.raises(ValueError, match="non-negative by construction"):
        rms.pvalues  # noqa: B018


def _weighted_classifier_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4, 3))

    def probabilities(x):
        z = x[:, :, 0].mean(axis=1) + 0.5 * x[:, -1, 1]
        p = 1 / (1 + np.exp(-2 * z))
        return np.stack([1 - p, p], axis=1)

    y = (rng.random(300) < probabilities(X)[:, 1]).astype(int)
    return X, y, probabilities, rng.random(300) + 0.5


@pytest.mark.parametrize("metric", ["mae", "mse", "rmse", "r2", "neg_mean_squared_error",
                                    "neg_median_absolute_error"])
def test_sample_effects_average_to_the_importance_for_regression_metrics(metric):
    X, y = _problem(2, 300)
    weights = np.random.default_rng(0).random(300) + 0.5
    for sample_weight in (None, weights):
        r = seqimp.permutation_importance(linear, X, y, metric=metric, n_repeats=3, random_state=0,
                                          sample_weight=sample_weight)
        if metric == "neg_median_absolute_error":  # not a mean over samples: no standard error, says why
            with pytest.raises(ValueError, match="'neg_median_absolute_error' is not a mean over samples"):
                r.importances_se  # noqa: B018
            assert "se" not in r.to_frame()
            continue
        effects = r.inference["sample_effects"]
        assert effects.shape == (5, 300)
        np.testing.assert_allclose(effects.mean(axis=1), r.importances_mean, rtol=1e-12, atol=1e-14)
        assert np.isfinite(r.importances_se).all() and (r.importances_se[:3] > 0).all()


@pytest.mark.parametrize("metric", ["log_loss", "accuracy", "auc", "neg_log_loss", "roc_auc", "neg_brier_score"])
def test_sample_effects_average_to_the_importance_for_classification_metrics(metric):
    X, y, probabilities, weights = _weighted_classifier_data()
    model = probabilities if metric in ("log_loss", "neg_log_loss") else (lambda x: probabilities(x)[:, 1])
    if metric == "accuracy":
        model = lambda x: (probabilities(x)[:, 1] > 0.5).astype(float)  # noqa: E731
    r = seqimp.permutation_importance(model, X, y, metric=metric, n_repeats=2, random_state=0,
                                      sample_weight=weights)
    np.testing.assert_allclose(r.inference["sample_effects"].mean(axis=1), r.importances_mean,
                               rtol=1e-10, atol=1e-13)
    assert r.importances_se[2] == 0.0 and r.pvalues[2] == 1.0  # x3 is never read
    assert r.importances_se[0] > 0


def test_multiclass_and_sequence_outputs_have_sample_effects():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 5, 3))

    def softmax(x):
        z = np.stack([x[:, :, 0].mean(axis=1), x[:, -1, 1], np.zeros(len(x))], axis=1) * 2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    y = np.array([rng.choice(3, p=p) for p in softmax(X)])
    # 'auc' is binary, as scikit-learn's 'roc_auc' (issue 23); the multiclass AUC is named.
    for metric in ("log_loss", "roc_auc_ovr", "accuracy"):
        r = seqimp.permutation_importance(softmax, X, y, metric=metric, n_repeats=2, random_state=1)
        np.testing.assert_allclose(r.inference["sample_effects"].mean(axis=1), r.importances_mean,
                                   rtol=1e-10, atol=1e-13)

    def seq2seq(x):
        return np.cumsum(x[:, :, 0] + 0.5 * x[:, :, 1], axis=1)

    target = seq2seq(X) + rng.normal(size=(240, 5))
    for metric in ("mse", "r2", "rmse"):
        r = seqimp.permutation_importance(seq2seq, X, target, metric=metric, granularity="timestep",
                                          random_state=0)
        np.testing.assert_allclose(r.inference["sample_effects"].mean(axis=1), r.importances_mean,
                                   rtol=1e-10, atol=1e-13)


def test_sample_values_of_each_metric_average_to_the_metric():
    from sklearn import metrics as sk

    from seqimp.metrics import get_metric

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    p = np.clip(rng.random(200), 0.01, 0.99)
    w = rng.random(200) + 0.1
    continuous = rng.normal(size=200)
    cases = [("mae", continuous, p, sk.mean_absolute_error), ("mse", continuous, p, sk.mean_squared_error),
             ("rmse", continuous, p, sk.root_mean_squared_error), ("r2", continuous, p, sk.r2_score),
             ("log_loss", y, p, sk.log_loss), ("auc", y, p, sk.roc_auc_score),
             ("accuracy", y, (p > 0.5).astype(float), sk.accuracy_score)]
    for name, truth, pred, reference in cases:
        metric = get_metric(name, "test")
        for weights in (None, w):
            values = metric.per_sample(truth, pred, weights)
            np.testing.assert_allclose(values.mean(), reference(truth, pred, sample_weight=weights), rtol=1e-12,
                                       err_msg=name)


def test_auc_values_are_delong_placements():
    # Two positives (scores 0.9, 0.4) and two negatives (0.5, 0.1): the positive at 0.9 outranks both
    # negatives (V = 1), the one at 0.4 outranks one (V = 0.5); the negative at 0.5 is outranked by one
    # positive of two (V = 0.5), the one at 0.1 by both (V = 1). AUC = 0.75, and each value is
    # AUC + n (V - AUC) / n_class.
    from seqimp.sample_scores import auc_values

    values = auc_values(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1]))
    np.testing.assert_allclose(values, 0.75 + 4 * (np.array([1, 0.5, 0.5, 1]) - 0.75) / 2)


def test_corrections_equal_r_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, 0.03), method) (ties included).
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.03])
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.05, 0.12, 0.12, 0.03, 0.2, 0.12], rtol=1e-15)
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.06, 0.24, 0.18, 0.03, 1, 0.18], rtol=1e-15)
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.03, 0.048, 0.045, 0.03, 0.2, 0.045], rtol=1e-15)
    np.testing.assert_array_equal(adjust_pvalues(p, None), p)


def _by_hand(mean_columns, se, df=None, **extra):
    from seqimp.inputs import as_sequence_data
    from seqimp.labels import make_labels

    data = as_sequence_data(np.zeros((2, len(se))), [f"x{i}" for i in range(len(se))])
    _, labels = make_labels(data, "feature", None, "test")
    return ImportanceResult(method="permutation", labels=labels, importances=np.asarray(mean_columns, float),
                            granularity="feature", metric="mse", inference={"se": np.asarray(se), "df": df,
                                                                             **extra})


def test_intervals_and_pvalues_from_se_and_df():
    from scipy import stats

    r = _by_hand([[1.0], [0.0], [-0.5], [2.0]], [0.5, 0.0, 0.25, 0.0])
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(r.confidence_interval(), [[1 - z / 2, 1 + z / 2], [0, 0], [-0.5 - z / 4, -0.5 + z / 4],
                                                         [2, 2]])
    # One-sided: P(Z >= 2) for label 0; a zero se gives 1 at 0 (every effect 0) and 0 above it.
    np.testing.assert_allclose(r.pvalues, [stats.norm.sf(2), 1.0, stats.norm.sf(-2), 0.0])
    t = _by_hand([[1.0], [0.0]], [0.5, 0.0], df=4)
    np.testing.assert_allclose(t.confidence_interval(0.9)[0], 1 + np.array([-1, 1]) * 0.5 * stats.t.ppf(0.95, 4))
    np.testing.assert_allclose(t.pvalues[0], stats.t.sf(2, 4))
    given = _by_hand([[1.0], [0.0]], [0.5, 0.0], pvalues=np.array([0.3, 0.7]))  # a method's own
    np.testing.assert_array_equal(given.pvalues, [0.3, 0.7])
    # A method with p-values and no standard error (a randomization test): the p_value column only.
    only_p = ImportanceResult(method="randomization", labels=given.labels, importances=np.ones((2, 1)),
                              granularity="feature", metric="mse", inference={"pvalues": np.array([0.01, 0.5])})
    assert list(only_p.to_frame().columns) == ["feature", "importance", "std", "p_value"]
    assert only_p.significant(0.05, "bonferroni").tolist() == [True, False]
    with pytest.raises(ValueError, match="no standard errors"):
        only_p.confidence_interval()
    frame = r.to_frame(level=0.5)
    assert list(frame.columns) == ["feature", "importance", "std", "se", "ci_low", "ci_high", "p_value"]
    np.testing.assert_allclose(frame["ci_high"], r.confidence_interval(0.5)[:, 1])


def test_bad_levels_alphas_and_corrections_are_refused():
    r = _by_hand([[1.0], [0.0]], [0.5, 0.0])
    with pytest.raises(ValueError, match=r"'level' parameter of ImportanceResult.confidence_interval must be a "
                                         r"float in the range \(0.0, 1.0\), such as 0.95. Got 95 instead"):
        r.confidence_interval(95)
    with pytest.raises(TypeError, match="'level' parameter"):
        r.confidence_interval("0.95")
    with pytest.raises(ValueError, match="'alpha' parameter of ImportanceResult.significant"):
        r.significant(0.0)
    with pytest.raises(ValueError, match=r"'correction' parameter of ImportanceResult.significant must be one "
                                         r"of \{'holm', 'bonferroni', 'bh'\} or None. Got 'fdr' instead"):
        r.significant(0.05, correction="fdr")
    assert r.significant(0.05, correction="BH").tolist() == [True, False]


def test_weight_methods_say_why_they_have_no_standard_error():
    from seqimp.inputs import as_sequence_data
    from seqimp.labels import make_labels

    _, labels = make_labels(as_sequence_data(np.zeros((2, 2)), ["a", "b"]), "feature", None, "test")
    r = ImportanceResult(method="garson", labels=labels, importances=np.ones((2, 1)) / 2,
                         granularity="feature", metric="relative importance")
    with pytest.raises(ValueError, match="weights of one trained network"):
        r.importances_se  # noqa: B018
    with pytest.raises(ValueError, match="weights of one trained network"):
        r.pvalues  # noqa: B018
    assert list(r.to_frame().columns) == ["feature", "importance", "std"]


def test_nadeau_bengio_on_a_known_fold_design():
    # 5 folds of 100 samples: n_test / n_train = 20 / 80, var = (1/5 + 1/4) s², 4 degrees of freedom.
    folds = list(KFold(5).split(np.zeros((100, 1))))
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    info = nadeau_bengio(values, folds)
    np.testing.assert_allclose(info["se"], [np.sqrt(0.45 * 2.5), 0.0])
    assert info["df"] == 4
    # Repeated cross-validation counts every fold: 10 folds, (1/10 + 1/4) s², 9 degrees of freedom.
    repeated = list(RepeatedKFold(n_splits=5, n_repeats=2, random_state=0).split(np.zeros((100, 1))))
    values = np.arange(20.0).reshape(2, 10)
    info = nadeau_bengio(values, repeated)
    np.testing.assert_allclose(info["se"], np.sqrt(0.35 * values.var(axis=1, ddof=1)))
    assert info["df"] == 9
    assert "why_no_se" in nadeau_bengio(values[:, :1], repeated[:1])


def test_lofo_reports_the_nadeau_bengio_interval():
    from scipy import stats

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = 2 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=150)
    r = seqimp.lofo_importance(LinearRegression(), X, y, metric="mse", cv=KFold(5), progress=False)
    expected = np.sqrt((1 / 5 + 30 / 120) * r.importances.var(axis=1, ddof=1))
    np.testing.assert_allclose(r.importances_se, expected, rtol=1e-12)
    half = stats.t.ppf(0.975, 4) * expected
    np.testing.assert_allclose(r.confidence_interval(), np.column_stack([r.importances_mean - half,
                                                                         r.importances_mean + half]))
    assert r.significant(0.05).tolist()[:2] == [True, True]
    assert "learner" in r.inference["covers"]


def test_gradient_intervals_are_over_samples_without_a_test():
    from scipy import stats

    from seqimp.inference import sample_mean_inference

    per_sample = np.abs(np.random.default_rng(1).normal(size=(2, 50)))
    info = sample_mean_inference(per_sample, covers="x")
    np.testing.assert_allclose(info["se"], per_sample.std(axis=1, ddof=1) / np.sqrt(50))
    assert info["df"] == 49 and "non-negative" in info["why_no_pvalues"]
    assert stats.t.ppf(0.975, info["df"]) > 1.96


def test_same_seed_same_standard_errors_whatever_the_batch_size():
    X, y = _problem(6, 300)
    a = seqimp.permutation_importance(linear, X, y, metric="mae", n_repeats=3, random_state=4)
    b = seqimp.permutation_importance(linear, X, y, metric="mae", n_repeats=3, random_state=4, batch_size=37)
    np.testing.assert_array_equal(a.importances_se, b.importances_se)
    np.testing.assert_array_equal(a.pvalues, b.pvalues)


def test_same_standard_errors_on_workers():
    # Workers draw the permutations; the caller re-draws each task's donors from its seed.
    X, y = _problem(8, 300)
    one = seqimp.permutation_importance(linear, X, y, metric="mse", n_repeats=2, random_state=5)
    two = seqimp.permutation_importance(linear, X, y, metric="mse", n_repeats=2, random_state=5, n_jobs=2)
    np.testing.assert_array_equal(one.importances, two.importances)
    np.testing.assert_allclose(two.importances_se, one.importances_se, rtol=1e-12)


def test_no_donors_are_kept_for_a_metric_without_standard_errors():
    from seqimp.transforms import Resample

    seen = []
    original = Resample.start

    def start(self, label, seed):
        seen.append(self)
        return original(self, label, seed)

    X, y = _problem(9, 200)
    Resample.start = start
    try:
        seqimp.permutation_importance(linear, X, y, metric="neg_median_absolute_error", n_repeats=3,
                                      random_state=0)
    finally:
        Resample.start = original
    assert seen and not seen[0]._drawn and not seen[0].remember_donors


def test_several_metrics_each_get_their_own_inference():
    X, y = _problem(7, 300)
    both = seqimp.permutation_importance(linear, X, y, metric=["mse", "mae", "neg_median_absolute_error"],
                                         random_state=0)
    alone = seqimp.permutation_importance(linear, X, y, metric="mae", random_state=0)
    np.testing.assert_array_equal(both["mae"].importances_se, alone.importances_se)
    assert "why_no_se" in both["neg_median_absolute_error"].inference and "se" in both["mse"].inference


def test_calibration_benchmark_quick():
    """bench/bench_calibration.py --quick: 30 replicates per problem. The full run (200) holds the
    issue's rates; here the margins are wide enough for 30, and the rules built from importances_std
    must still be seen to fail (the comparison is not vacuous)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import bench_calibration
    finally:
        sys.path.pop(0)
    summary, families, _ = bench_calibration.main(["--quick"])
    for key, (cover, flags) in summary.items():
        assert cover["se"][:3].min() >= 0.8, key
        if key in ("fixed linear, permutation", "fitted linear, permutation"):  # x4, x5: truth exactly 0
            assert flags["se"][3:].max() <= 0.2, key
    naive = summary["fixed linear, permutation"][0]["std/sqrt(R)"][:3]
    assert naive.min() < 0.75
    for (name, granularity), (fwer, power) in families.items():
        assert fwer["se, holm"] <= 0.2, (name, granularity)
        assert power.min() >= 0.9
    fitted_cells = families[("3-D, LinearRegression fitted on 300 flattened rows", "cell")][0]
    assert fitted_cells["std/sqrt(R), bonferroni"] > 0.5  # the old rules flag unused cells
