"""Integrated gradients: seqimp's batched engine against a per-step GradientTape loop.

All contenders run in one process on the same model, data and path points (trapezoidal rule, both
ends included), and the script prints ratios (absolute seconds on shared machines mean little):

- per-step loop: the usual hand-written integrated gradients, one eager ``tf.GradientTape`` over all
  n samples per interpolation step (as in TensorFlow's integrated-gradients tutorial);
- seqimp: ``gradient_importance(method="integrated_gradients")``, whose n x n_steps interpolated rows
  stream through the chunked engine into one cached compiled gradient function (warm: the function
  is cached per model, as in a session that calls it more than once; the first, cold call is shown);
- floor: the same compiled gradient function over the same rows, prebuilt, in the same chunk size:
  what no implementation built on that function can beat.

It also checks that the loop and seqimp agree, and reports the completeness gap.

Model: LSTM(32) -> LSTM(16) -> Dense(1); n = 256, T = 20, F = 8, n_steps = 50.
Usage: python bench/bench_gradients.py [--n 256] [--steps 50] [--rounds 3]
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
    x = keras.layers.LSTM(32, return_sequences=True)(inp)
    x = keras.layers.LSTM(16)(x)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def per_step_loop(model, X, n_steps):
    """Integrated gradients the usual way: one eager GradientTape over all samples per step."""
    import tensorflow as tf

    alphas = np.linspace(0.0, 1.0, n_steps)
    weights = np.full(n_steps, 1.0 / (n_steps - 1))
    weights[[0, -1]] /= 2.0
    baseline = np.zeros_like(X)
    total = np.zeros(X.shape)
    for alpha, weight in zip(alphas, weights):
        x = tf.constant(baseline + np.float32(alpha) * (X - baseline))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)[:, 0]
        total += weight * tape.gradient(y, x).numpy()
    return (X - baseline) * total


def gradient_floor(model, X, n_steps, chunk_rows):
    """seqimp's compiled gradient over the prebuilt interpolated rows, fixed chunk size, no engine."""
    from seqimp.adapters import gradient_predictor
    from seqimp.inputs import as_sequence_data

    predictor = gradient_predictor(model)
    predictor.select(np.ones(1, np.float32))
    predictor.prepare(chunk_rows, as_sequence_data(X))
    rows = np.concatenate([np.float32(a) * X for a in np.linspace(0.0, 1.0, n_steps)])
    pad = (-len(rows)) % chunk_rows
    rows = np.concatenate([rows, np.zeros((pad,) + X.shape[1:], np.float32)])
    chunks = [rows[i:i + chunk_rows] for i in range(0, len(rows), chunk_rows)]
    predictor(chunks[0])  # trace outside the timing (shared with seqimp's cache anyway)

    def run():
        for c in chunks:
            predictor(c)

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--timesteps", type=int, default=20)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs of seqimp and of the floor")
    args = parser.parse_args()

    import seqimp
    from seqimp.adapters import gradient_predictor

    n, T, F, S = args.n, args.timesteps, args.features, args.steps
    X = np.random.default_rng(0).random((n, T, F), dtype=np.float32)
    model = build_model(T, F)
    chunk_rows = min(gradient_predictor(model).default_chunk_rows((T, F)), n * S)

    def ig():
        return seqimp.gradient_importance(model, X, method="integrated_gradients", n_steps=S)

    t = time.perf_counter()
    result = ig()
    cold = time.perf_counter() - t
    floor = gradient_floor(model, X, S, chunk_rows)
    # Interleaved, so that a burst of load on a shared machine hits both alike.
    t_seqimp, t_floor = np.min([[best_of(ig, 1), best_of(floor, 1)] for _ in range(args.rounds)], axis=0)
    per_step_loop(model, X[:8], 2)  # let Keras build its eager call path outside the timing
    t = time.perf_counter()
    loop_attr = per_step_loop(model, X, S)  # once: it is the slow one, and its timing is stable
    t_loop = time.perf_counter() - t
    scale = np.abs(loop_attr).max()
    agree = np.abs(result.attributions - loop_attr).max() / scale
    gap = np.abs(result.extra["completeness_gap"]).max()
    moved = np.abs(result.extra["predictions"] - result.extra["baseline_predictions"])

    print(f"Integrated gradients, LSTM(32)->LSTM(16)->Dense, n={n}, T={T}, F={F}, n_steps={S} "
          f"({n * S} gradient rows, chunks of {chunk_rows}), best of {args.rounds} (loop: once)")
    print(f"  per-step GradientTape loop (once) {t_loop:8.2f} s")
    print(f"  seqimp, first call (traces)       {cold:8.2f} s")
    print(f"  seqimp                            {t_seqimp:8.2f} s")
    print(f"  compiled gradient floor           {t_floor:8.2f} s")
    print(f"  speed-up over the per-step loop:  {t_loop / t_seqimp:6.1f}x  (cold: {t_loop / cold:.1f}x)")
    print(f"  seqimp / gradient floor:          {t_seqimp / t_floor:6.2f}x")
    print(f"  max |seqimp - loop| / max |loop|: {agree:.1e}")
    print(f"  completeness: max |sum(attr) - (f(x) - f(0))| = {gap:.1e} "
          f"(median |f(x) - f(0)| = {np.median(moved):.3f})")


if __name__ == "__main__":
    main()
