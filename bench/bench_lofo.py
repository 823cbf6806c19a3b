"""LOFO importance: the same fits run with n_jobs=1, n_jobs=2 (local processes) and on a Dask cluster.

One run of this script times the same ``lofo_importance`` call three ways and prints the speed-ups
(absolute seconds on a shared machine mean little):

- n_jobs=1: every fit in this process, one after the other;
- n_jobs=2: joblib's process pool (loky), each worker capped at its share of the cores;
- Dask: ``with joblib.parallel_backend("dask")`` beside a ``dask.distributed.LocalCluster`` with 2
  worker processes of 1 thread each, on loopback.

Each parallel way is timed twice: "cold" is the first call, whose workers still import TensorFlow,
and "warm" is a second call on the same workers, as in a session that runs LOFO more than once. The
numbers of every run are checked to be identical to the n_jobs=1 numbers.

Model: LSTM(16) -> Dense(1) on (n, T, F) sequences; y depends on the first two features.
Usage: python bench/bench_lofo.py [--n 1200] [--timesteps 10] [--features 3] [--cv 4] [--epochs 4]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

TIMESTEPS = 10


def build(n_features):
    """The model for every fit; module level so that worker processes can unpickle it."""
    import keras

    model = keras.Sequential([keras.Input((TIMESTEPS, n_features)), keras.layers.LSTM(16),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model


def make_data(n, T, F, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) + 0.5 * X[:, :, 1].mean(axis=1) + 0.05 * rng.normal(size=n))
    return X, y.astype(np.float32)


def timed(label, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<28s} {seconds:7.1f} s", flush=True)
    return result, seconds


def main(argv=None):
    global TIMESTEPS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--timesteps", type=int, default=10)
    parser.add_argument("--features", type=int, default=3)
    parser.add_argument("--cv", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    TIMESTEPS = args.timesteps

    import joblib
    from distributed import Client, LocalCluster

    import seqimp

    X, y = make_data(args.n, args.timesteps, args.features)
    n_fits = (args.features + 1) * args.cv
    kwargs = dict(fit_kwargs={"epochs": args.epochs, "batch_size": 32}, metric="mse", cv=args.cv,
                  random_state=0, progress=False)
    print(f"LOFO on X {X.shape}: {n_fits} fits of LSTM(16) -> Dense(1), {args.epochs} epochs each, "
          f"{os.cpu_count()} cores")

    def run(n_jobs):
        return seqimp.lofo_importance(build, X, y, n_jobs=n_jobs, **kwargs)

    reference, t1 = timed("n_jobs=1", lambda: run(1))
    results = {}
    results["n_jobs=2 cold"] = timed("n_jobs=2 (cold workers)", lambda: run(2))
    results["n_jobs=2 warm"] = timed("n_jobs=2 (warm workers)", lambda: run(2))
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            results["dask cold"] = timed("Dask, 2 workers (cold)", lambda: run(-1))
            results["dask warm"] = timed("Dask, 2 workers (warm)", lambda: run(-1))

    print(f"\nSpeed-up over n_jobs=1 ({t1:.1f} s, {t1 / n_fits:.2f} s per fit), same {n_fits} fits:")
    for name, (result, seconds) in results.items():
        same = np.array_equal(result.importances, reference.importances)
        print(f"  {name:<16s} {t1 / seconds:5.2f}x   numbers identical to n_jobs=1: {same}")
        if not same:
            raise SystemExit(f"{name} gave other numbers than n_jobs=1")
    print("\nImportances (mean over folds):")
    print(reference.to_frame(sort=True).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
