"""Conditional permutation importance: seqimp against fippy (0.2) and hidimstat (0.4) CFI, in one run.

1. The correlated linear problem of issue 21: x1, x2 with correlation 0.8, x3 independent, x4 unused,
   y = 2 x1 + x2 + 1.5 x3 + N(0, 1), a LinearRegression fitted on 2000 rows and explained on 2000 more.
   The conditional truth for a fitted linear model is 2 Var(x_j | x_-j) w_hat_j w_j; the marginal value
   (seqimp's conditional=None, scikit-learn's) is about 2 Var(x_j) w_hat_j w_j. Each tool's values with
   the SE over its repeats, and seconds per call (best of 3).
2. Sequences (n, T, F): x2 follows x1 at every step (corr 0.8), x3 independent; a NumPy model
   sum_t x1 + 0.5 x2. seqimp permutes each feature's trajectory conditionally on the 3-D array;
   fippy and hidimstat need the table X.reshape(n, T*F) with one group of T columns per feature. The
   closed form is 2 T (1 - 0.8^2) w_j^2.

Usage: python bench/bench_conditional.py [--repeats 20]
"""

import argparse
import contextlib
import io
import time

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import seqimp  # noqa: E402
from common import best_of  # noqa: E402

RHO = 0.8


def linear_problem(rng, n):
    cov = np.eye(4)
    cov[0, 1] = cov[1, 0] = RHO
    X = rng.multivariate_normal(np.zeros(4), cov, size=n)
    w = np.array([2.0, 1.0, 1.5, 0.0])
    return X, X @ w + rng.normal(size=n), w


def ours(model, X, y, repeats, conditional, **kwargs):
    result = {}

    def call():
        result["r"] = seqimp.permutation_importance(model, X, y, metric="mse", n_repeats=repeats,
                                                    conditional=conditional, random_state=0, **kwargs)

    seconds = best_of(call, 3)
    r = result["r"]
    return r.importances_mean, r.importances.std(axis=1, ddof=1) / np.sqrt(repeats), seconds


def fippy_cfi(predict, X_train, X, y, repeats, groups=None):
    from fippy import Explainer
    from fippy.losses import squared_error
    from fippy.samplers import GaussianSampler

    columns = [f"c{i}" for i in range(X.shape[1])]
    train, test = pd.DataFrame(X_train, columns=columns), pd.DataFrame(X, columns=columns)
    features = None if groups is None else {name: [columns[i] for i in idx] for name, idx in groups.items()}
    result = {}

    def call():
        np.random.seed(0)
        explainer = Explainer(lambda d: predict(np.asarray(d)), train, squared_error,
                              sampler=GaussianSampler(train), features=features)
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bars
            result["r"] = explainer.cfi(test, y, n_repeats=repeats)

    seconds = best_of(call, 3)
    per_repeat = np.nanmean(result["r"].scores, axis=2)[0]  # (repeats, features)
    return per_repeat.mean(axis=0), per_repeat.std(axis=0, ddof=1) / np.sqrt(repeats), seconds


def hidimstat_cfi(estimator, X, y, repeats, groups=None):
    from hidimstat import CFI

    result = {}

    def call():
        cfi = CFI(estimator, n_permutations=repeats, random_state=0, feature_types="continuous",
                  features_groups=groups).fit(X, y)
        cfi.importance(X, y)
        result["r"] = cfi

    seconds = best_of(call, 3)
    cfi = result["r"]
    per_draw = np.array([cfi.loss_[j] - cfi.loss_reference_ for j in range(len(cfi.importances_))])
    return cfi.importances_, per_draw.std(axis=1, ddof=1) / np.sqrt(repeats), seconds


def show(title, names, truth, rows):
    print(f"\n{title}")
    print(f"{'':28}" + "".join(f"{name:>16}" for name in names) + f"{'s/call':>9}")
    print(f"{'truth':28}" + "".join(f"{v:16.3f}" for v in truth))
    for label, (values, se, seconds) in rows.items():
        cells = "".join(f"{v:9.3f} ({s:.3f})" for v, s in zip(values, se))
        print(f"{label:28}{cells}{seconds:9.3f}")


def wrapped(f, n_features):
    """A NumPy function as a fitted scikit-learn regressor (hidimstat checks that it is fitted)."""
    from sklearn.base import BaseEstimator, RegressorMixin

    class Wrapped(RegressorMixin, BaseEstimator):
        def __init__(self):
            self.fitted_ = True
            self.n_features_in_ = n_features

        def fit(self, X, y):
            return self

        def predict(self, X):
            return f(X)

    return Wrapped()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X_train, y_train, w = linear_problem(rng, 2000)
    fit = LinearRegression().fit(X_train, y_train)
    X, y, _ = linear_problem(rng, 2000)
    truth = 2 * np.array([1 - RHO**2, 1 - RHO**2, 1, 1]) * fit.coef_ * w
    rows = {
        "seqimp marginal": ours(fit, X, y, args.repeats, None),
        "seqimp conditional gaussian": ours(fit, X, y, args.repeats, "gaussian"),
        "seqimp conditional knn": ours(fit, X, y, args.repeats, "knn"),
        "fippy cfi (Gaussian)": fippy_cfi(fit.predict, X_train, X, y, args.repeats),
        "hidimstat CFI (RidgeCV)": hidimstat_cfi(fit, X, y, args.repeats),
    }
    show(f"Correlated linear problem, 2000 rows, {args.repeats} repeats: value (SE over repeats)",
         ["x1", "x2", "x3", "x4"], truth, rows)

    n, T = 2000, 8
    x1 = rng.normal(size=(n, T))
    seq = np.stack([x1, RHO * x1 + np.sqrt(1 - RHO**2) * rng.normal(size=(n, T)), rng.normal(size=(n, T))], axis=2)
    weights = np.array([1.0, 0.5, 0.0])

    def model(x):
        return (x * weights).sum(axis=(1, 2))

    flat = seq.reshape(n, -1)

    def flat_model(table):
        return model(np.asarray(table).reshape(-1, T, 3))

    groups = {f"x{f + 1}": [t * 3 + f for t in range(T)] for f in range(3)}
    y_seq = model(seq)
    rows = {
        "seqimp marginal": ours(model, seq, y_seq, args.repeats, None),
        "seqimp conditional gaussian": ours(model, seq, y_seq, args.repeats, "gaussian"),
        "seqimp conditional knn": ours(model, seq, y_seq, args.repeats, "knn"),
        "fippy cfi (Gaussian), 2-D": fippy_cfi(flat_model, flat, flat, y_seq, args.repeats, groups),
        "hidimstat CFI, 2-D groups": hidimstat_cfi(wrapped(flat_model, flat.shape[1]), flat, y_seq, args.repeats,
                                                   {k: v for k, v in groups.items()}),
    }
    show(f"Sequences {n} x {T} steps x 3 features, granularity 'feature' (fippy/hidimstat: groups of T columns)",
         ["x1", "x2", "x3"], 2 * T * (1 - RHO**2) * weights**2, rows)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
