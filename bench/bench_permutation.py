"""Permutation importance: seqimp against scikit-learn on the flattened array and against the seed loop.

Everything runs in one process on the same Keras LSTM and data, and the script prints ratios (absolute
seconds on a shared machine mean little):

- seed loop (shared/seeds/004): for each feature and repeat, shuffle the feature's trajectories across
  samples, one ``model.predict`` per shuffled copy, MAE;
- scikit-learn: ``sklearn.inspection.permutation_importance`` on X flattened to (n, T*F) with a wrapper
  estimator that reshapes and calls ``model.predict``. It can only permute columns of a 2-D table, that
  is single cells (one feature at one timestep): T*F columns instead of F features;
- seqimp: ``permutation_importance`` at granularity "feature" (the seed's question) and "cell"
  (scikit-learn's question, for a like-for-like speed ratio); warm calls, as in a session that calls it
  more than once (the first, cold call that compiles the forward is shown too);
- floor: the same compiled forward over the same number of sequences with the inputs prebuilt.

Then it shows how scikit-learn's cell-level answer differs from the feature-level question.

Model: LSTM(32) -> Dense(1), untrained (the timing does not depend on the weights); the target is the
model's own prediction plus noise, so every feature matters a little.
Usage: python bench/bench_permutation.py [--n 1000] [--timesteps 12] [--features 5] [--repeats 3]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import best_of  # noqa: E402


def build_model(T, F):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((T, F))
    x = keras.layers.LSTM(32)(inp)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def seed_loop(model, X, y, n_repeats, rng):
    """The seed answer's loop: per feature and repeat, shuffle its trajectories, model.predict, MAE."""
    base = np.mean(np.abs(model.predict(X, verbose=0).ravel() - y))
    out = np.empty((X.shape[2], n_repeats))
    for j in range(X.shape[2]):
        for r in range(n_repeats):
            shuffled = X.copy()
            shuffled[:, :, j] = shuffled[rng.permutation(len(X)), :, j]
            out[j, r] = np.mean(np.abs(model.predict(shuffled, verbose=0).ravel() - y)) - base
    return out


def sklearn_flat(model, X, y, n_repeats, seed):
    """What users do today: flatten to (n, T*F) and wrap the model for scikit-learn."""
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.inspection import permutation_importance

    n, T, F = X.shape

    class FlatWrapper(RegressorMixin, BaseEstimator):
        def fit(self, X2, y2):
            return self

        def predict(self, X2):
            return model.predict(np.asarray(X2, dtype=np.float32).reshape(-1, T, F), verbose=0).ravel()

    return permutation_importance(FlatWrapper(), X.reshape(n, T * F), y, scoring="neg_mean_absolute_error",
                                  n_repeats=n_repeats, random_state=seed, n_jobs=1)


def known_answer(T, n=4000, repeats=5):
    """A model whose answer is known, where the cell-level and feature-level questions part ways.

    y = 6 * mean_t(x1) + x2 at the last timestep, with x iid U(0, 1). By MSE, feature x1 matters 3 times
    as much as x2 (36 * 2 / (12 T) against 2 / 12 at T = 12), yet each single x1 cell is 4 times less
    important than the one x2 cell that is used, so the top cells point at x2.
    """
    import seqimp

    X = np.random.default_rng(1).random((n, T, 2), dtype=np.float32)

    def model(x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, T, 2)
        return 6.0 * x[:, :, 0].mean(axis=1) + x[:, -1, 1]

    y = model(X)
    out = {}
    for metric in ("mse", "mae"):
        feature = seqimp.permutation_importance(model, X, y, metric=metric, n_repeats=repeats, random_state=0)
        cells = seqimp.permutation_importance(model, X, y, metric=metric, n_repeats=repeats, granularity="cell",
                                              random_state=0)
        out[metric] = (feature.importances_mean, cells.importances_mean.reshape(T, 2))
    return out


def forward_floor(model, X, n_passes, chunk_rows):
    """The compiled forward seqimp uses, over n_passes copies of X, inputs prebuilt, same chunk size."""
    from seqimp.adapters import as_predictor
    from seqimp.inputs import as_sequence_data

    predictor = as_predictor(model)
    predictor.prepare(chunk_rows, as_sequence_data(X))
    rows = np.concatenate([X] * n_passes)
    chunks = [rows[i:i + chunk_rows] for i in range(0, len(rows), chunk_rows)]

    def run():
        for c in chunks:
            predictor(c)

    return run


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--timesteps", type=int, default=12)
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs for the fast contenders")
    args = parser.parse_args()

    import seqimp

    n, T, F, R = args.n, args.timesteps, args.features, args.repeats
    rng = np.random.default_rng(0)
    X = rng.random((n, T, F), dtype=np.float32)
    model = build_model(T, F)
    y = model.predict(X, verbose=0).ravel() + rng.normal(0.0, 0.05, n)

    def run_seqimp(granularity):
        return seqimp.permutation_importance(model, X, y, metric="mae", n_repeats=R, granularity=granularity,
                                             random_state=0)

    t_cold, _ = timed(lambda: run_seqimp("feature"))
    t_feature = best_of(lambda: run_seqimp("feature"), args.rounds)
    feature = run_seqimp("feature")
    run_seqimp("cell")  # compile outside the timing, as for the feature call
    t_cell, cell = timed(lambda: run_seqimp("cell"))
    chunk_rows = seqimp.adapters.as_predictor(model).default_chunk_rows((T, F))
    t_floor = best_of(forward_floor(model, X, 1 + F * R, chunk_rows), args.rounds)
    model.predict(X[:64], verbose=0)  # Keras builds its predict function outside the timing
    t_seed = best_of(lambda: seed_loop(model, X, y, R, np.random.default_rng(0)), args.rounds)
    seed = seed_loop(model, X, y, R, np.random.default_rng(0))
    t_sklearn, skl = timed(lambda: sklearn_flat(model, X, y, R, 0))

    feature_passes, cell_passes = 1 + F * R, 1 + T * F * R
    print(f"Permutation importance, MAE, untrained LSTM(32)->Dense(1), n={n}, T={T}, F={F}, repeats={R}")
    print(f"{'':48s}{'question':>10s}{'passes':>8s}{'seconds':>10s}")
    rows = [
        ("seed loop (model.predict per shuffled copy)", "feature", feature_passes, t_seed),
        ("scikit-learn on the flattened (n, T*F) array", "cell", cell_passes, t_sklearn),
        ("seqimp, granularity='feature', first call", "feature", feature_passes, t_cold),
        ("seqimp, granularity='feature'", "feature", feature_passes, t_feature),
        ("seqimp, granularity='cell'", "cell", cell_passes, t_cell),
        ("compiled forward floor (same passes as feature)", "-", feature_passes, t_floor),
    ]
    for name, question, passes, seconds in rows:
        print(f"  {name:46s}{question:>10s}{passes:>8d}{seconds:>10.2f}")
    print("Ratios (one run, same machine):")
    print(f"  seed loop / seqimp (feature):               {t_seed / t_feature:7.1f}x  same question, same passes")
    print(f"  scikit-learn / seqimp (cell):               {t_sklearn / t_cell:7.1f}x  same question, same passes")
    print(f"  scikit-learn / seqimp (feature):            {t_sklearn / t_feature:7.1f}x  time to an answer; "
          f"scikit-learn's is to a different question")
    print(f"  seqimp (feature) / compiled forward floor:  {t_feature / t_floor:7.2f}x")
    print()
    print("scikit-learn can only permute columns of a 2-D table: after flattening, each column is one feature")
    print(f"at one timestep, so it answers a different question with {T * F} numbers named by column index.")
    print("Shuffling one cell leaves the other timesteps of that trajectory in place; a variable's importance")
    print("must then be pieced together from its cells. On this LSTM (iid inputs, little interaction across")
    print("time) summed cells happen to track the features; the known-answer case below shows where not.")
    cells = skl.importances_mean.reshape(T, F)  # column t*F + j is feature j at timestep t
    print(f"  {'feature':8s}{'seqimp feature':>16s}{'seed loop':>12s}{'sum of cells':>14s}{'top cell':>10s}"
          f"{'seqimp cells':>14s}")
    for j in range(F):
        print(f"  {feature.labels[j].name:8s}{feature.importances_mean[j]:16.4f}{seed[j].mean():12.4f}"
              f"{cells[:, j].sum():14.4f}{cells[:, j].max():10.4f}"
              f"{cell.importances_mean.reshape(T, F)[:, j].sum():14.4f}")
    order_feature = np.argsort(-feature.importances_mean)
    order_cells = np.argsort(-cells.sum(axis=0))
    print(f"  ranking by feature permutation: {[feature.labels[j].name for j in order_feature]}")
    print(f"  ranking by summed cells:        {[feature.labels[j].name for j in order_cells]}")
    top = np.argsort(-skl.importances_mean)[:5]
    print(f"  scikit-learn's top columns: {[int(c) for c in top]} "
          f"(= {[f'{feature.labels[c % F].name}@t{c // F}' for c in top]})")
    ratio = cells.sum(axis=0) / feature.importances_mean
    print(f"  summed cells / feature importance: {np.round(ratio, 2).tolist()}")
    print()
    print(f"Known answer: y = 6 * mean_t(x1) + x2[t={T - 1}], x iid U(0, 1); by MSE x1 matters 3x as much as x2.")
    print("(Cell importances computed as scikit-learn's flattened columns would be, with seqimp's 'cell'.)")
    for metric, (feat, cel) in known_answer(T).items():
        top = np.argsort(-cel.ravel())[:3]
        names = [f"x{c % 2 + 1}@t{c // 2}" for c in top]
        print(f"  {metric}: feature level x1 {feat[0]:.3f}, x2 {feat[1]:.3f}; top cells {names}; "
              f"largest x1 cell {cel[:, 0].max():.3f}, x2@t{T - 1} {cel[-1, 1]:.3f}; "
              f"summed cells x1 {cel[:, 0].sum():.3f} ({cel[:, 0].sum() / feat[0]:.1f}x its feature importance)")
    print("  Reading the top cells, x2 looks most important; permuting whole trajectories shows x1 is. Summing")
    print("  cells recovers the feature only when the metric is additive (MSE on a linear model), not for MAE.")


if __name__ == "__main__":
    main()
