"""The engine beyond the forward floor and on workers, through the public API, ratios from one run.

- Prefix caching (seqimp.engine_prefix): ``permutation_importance(..., granularity="timestep")`` on
  LSTM(48, return_sequences) -> LSTM(24) -> Dense, n = 1024, T = 48, F = 4, one repeat, against the
  serial compiled forward (the adapters' CompiledForward, one chunk at a time) over (1 + T) prebuilt
  full copies (target <= 0.50x); and by cell (1 + T x F passes), seqimp with the cache against seqimp
  with it turned off (the plain stream).
- Workers (seqimp.engine_jobs): ``n_jobs=2`` against ``n_jobs=1`` for a scikit-learn model and for a
  Keras LSTM, warm workers (a first call starts them; its time is printed apart).

Each contender's time is its best of ``--rounds`` runs, the contenders interleaved run by run so that
load from neighbours hurts them alike (a shared machine: absolute seconds mean little).
Usage: python bench/bench_engine_scale.py [--rounds 3] [--no-jobs]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from bench_prefix import build_model, plain_calls, timestep_copies  # noqa: E402


def best_of(contenders, rounds):
    best = {name: np.inf for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def prefix_part(rounds):
    import seqimp
    from seqimp import engine_prefix
    from seqimp.adapters.keras_forward import CompiledForward

    n, T, F = 1024, 48, 4
    model = build_model(T, F)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, T, F)).astype(np.float32)
    y = np.asarray(model(X)) + rng.normal(0, 0.1, size=(n, 1)).astype(np.float32)
    forward = CompiledForward(model, n, (T, F), True)
    floor_calls = plain_calls(forward, X, timestep_copies(X, rng))
    run_prefix = engine_prefix.prefix_runner

    def permutation(granularity, cached=True):
        engine_prefix.prefix_runner = run_prefix if cached else (lambda *args, **kwargs: None)
        try:
            return seqimp.permutation_importance(model, X, y, granularity=granularity, n_repeats=1,
                                                 batch_size=n, random_state=0)
        finally:
            engine_prefix.prefix_runner = run_prefix

    first = {"seqimp timestep, first call": timed(lambda: permutation("timestep")),
             "floor, first call": timed(lambda: [call() for call in floor_calls[:1]])}
    for g in ("timestep", "cell"):
        permutation(g, False)  # compile the plain path too
        permutation(g)
    cached, plain = permutation("cell").importances, permutation("cell", False).importances
    best = best_of({"floor (1 + T) copies": lambda: [call() for call in floor_calls],
                    "seqimp timestep": lambda: permutation("timestep"),
                    "seqimp timestep, cache off": lambda: permutation("timestep", False)}, rounds)
    cells = best_of({"seqimp cell": lambda: permutation("cell"),
                     "seqimp cell, cache off": lambda: permutation("cell", False)}, max(1, rounds - 1))
    print(f"Prefix caching: LSTM(48, seq) -> LSTM(24) -> Dense, n={n}, T={T}, F={F}, 1 repeat")
    for name, seconds in {**first, **best, **cells}.items():
        print(f"  {name:32s} {seconds:7.2f} s")
    floor = best["floor (1 + T) copies"]
    print(f"  timestep: seqimp / floor = {best['seqimp timestep'] / floor:.2f}x (target <= 0.50x); "
          f"with the cache off {best['seqimp timestep, cache off'] / floor:.2f}x")
    print(f"  cell: cache off / cache on = {cells['seqimp cell, cache off'] / cells['seqimp cell']:.2f}x "
          f"faster with the cache; max |difference| of importances {np.abs(cached - plain).max():.1e}")


def jobs_part(rounds):
    import keras
    import seqimp
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 12, 4))
    y = X[:, :, 0].mean(axis=1) + X[:, -1, 1] + rng.normal(0, 0.1, 2000)
    forest = RandomForestRegressor(n_estimators=50, max_depth=10, n_jobs=1, random_state=0)
    forest.fit(X.reshape(2000, -1), y)
    sk_model = _Flat(forest)
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 4))
    lstm = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(32)(inp)))
    Xk = X.astype(np.float32)
    cases = {"scikit-learn random forest, cell (49 passes)":
             lambda n_jobs: seqimp.permutation_importance(sk_model, X, y, granularity="cell", n_repeats=1,
                                                          random_state=0, n_jobs=n_jobs),
             "Keras LSTM(32), feature x 8 repeats (33 passes)":
             lambda n_jobs: seqimp.perturbation_importance(lstm, Xk, n_repeats=8, random_state=0,
                                                           n_jobs=n_jobs)}
    print("Workers: n_jobs=2 against n_jobs=1 (loky processes; 2 cores)")
    for name, call in cases.items():
        cold = timed(lambda: call(2))
        same = np.allclose(call(1).importances, call(2).importances, rtol=1e-5, atol=1e-7)
        best = best_of({"1": lambda: call(1), "2": lambda: call(2)}, rounds)
        print(f"  {name}: n_jobs=1 {best['1']:.2f} s, n_jobs=2 {best['2']:.2f} s (cold {cold:.2f} s): "
              f"speed-up {best['1'] / best['2']:.2f}x; same numbers: {same}")


class _Flat:
    def __init__(self, model):
        self.model = model

    def predict(self, x):
        return self.model.predict(x.reshape(len(x), -1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-jobs", action="store_true")
    args = parser.parse_args()
    prefix_part(args.rounds)
    if not args.no_jobs:
        jobs_part(args.rounds)


if __name__ == "__main__":
    main()
