"""Prefix-state caching on a recurrent stack: the cached path against the serial compiled forward.

Everything runs in one process on the same model and data; the script prints ratios (absolute seconds
on a shared machine mean little). Each contender is a list of calls (one chunk each); its time is the
sum over its calls of each call's best of ``--rounds`` warm runs, compile excluded (the first calls,
which compile, are timed apart). The rounds interleave the contenders call by call, so that a burst of
load from a neighbour hurts them alike, and the per-call best filters such bursts out.

- (a) plain: the model's own compiled forward (tf.function with XLA, the adapters' CompiledForward),
  one chunk at a time, over (1 + T) full copies of X: X and, for each timestep t, X with step t
  permuted across rows (prebuilt);
- (b) cached: ``PrefixForward.baseline(X)`` once, then for each t the copy with step t run by
  ``suffix`` from the segment of t (only steps >= that segment's boundary);
- the fused loop alone: every copy through ``suffix`` from segment 0 (all T steps), to tell what the
  cache gains from what the step-major loop gains over the model's own layer-by-layer forward;
- cell granularity (T x F labels, cell (t, f) perturbs one feature at one step): the same two paths.

Model: LSTM(48, return_sequences) -> LSTM(24) -> Dense(1), untrained; n = 1024 = one chunk, T = 48,
F = 4. Segment counts are compared too: the compile time does not grow with them (the segment start is
an input of one compiled function), the work shrinks (a copy recomputes on average (L - 1) / 2 steps
before its t0, L = ceil(T / segments)), and the cached states grow (PrefixForward.state_bytes).

Measured (2 cores shared with other jobs, load about 10; XLA on CPU): (b)/(a) = 0.56, 0.48, 0.45, 0.48,
0.44 with 4, 8, 16, 24 (the default here) and 48 segments, as the work predicts within noise
(fused x (1 + sum_t (T - b_t) / T) / (1 + T), b_t the boundary of t's segment); the fused loop alone
0.88; cell granularity 0.47; max |cached - plain| 4.5e-08. Compile: about 7.5 s for the two cached
functions against 4 s for the plain forward, whatever the segment count, so a cold first call of this
size is 1.2x the plain path; the functions are cached per model, and later calls get the 0.45.
Usage: python bench/bench_prefix.py [--n 1024] [--timesteps 48] [--features 4] [--rounds 5]
                                    [--segments 4,8,16,48] [--no-cell]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def build_model(T, F):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((T, F))
    x = keras.layers.LSTM(48, return_sequences=True)(inp)
    x = keras.layers.LSTM(24)(x)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def timestep_copies(X, rng):
    """For each t, X with step t permuted across rows (permutation importance by timestep)."""
    copies = []
    for t in range(X.shape[1]):
        c = X.copy()
        c[:, t, :] = X[rng.permutation(len(X)), t, :]
        copies.append((t, c))
    return copies


def cell_copies(X, rng):
    copies = []
    for t in range(X.shape[1]):
        for f in range(X.shape[2]):
            c = X.copy()
            c[:, t, f] = X[rng.permutation(len(X)), t, f]
            copies.append((t, c))
    return copies


def plain(forward, X, copies):
    out = [np.asarray(forward(X))]
    out += [np.asarray(forward(c)) for _, c in copies]
    return out


def cached(pf, X, copies, from_start=False):
    base, states = pf.baseline(X)
    out = [base]
    out += [pf.suffix(c, 0 if from_start else pf.segment_of(t), states) for t, c in copies]
    return out


def plain_calls(forward, X, copies):
    return [lambda x=x: np.asarray(forward(x)) for x in [X] + [c for _, c in copies]]


def cached_calls(pf, X, copies, from_start=False):
    """The baseline call, then one suffix call per copy (reading states computed once beforehand: the
    timed baseline call computes the same ones)."""
    states = pf.baseline(X)[1]
    return [lambda: pf.baseline(X)] + [
        lambda c=c, s=(0 if from_start else pf.segment_of(t)): pf.suffix(c, s, states) for t, c in copies]


def per_call_best(contenders, rounds):
    """{name: seconds}: the sum over a contender's calls of each call's best time in ``rounds`` rounds,
    the contenders interleaved call by call."""
    best = {name: np.full(len(calls), np.inf) for name, calls in contenders.items()}
    for _ in range(rounds):
        for i in range(max(len(calls) for calls in contenders.values())):
            for name, calls in contenders.items():
                if i < len(calls):
                    started = time.perf_counter()
                    calls[i]()
                    best[name][i] = min(best[name][i], time.perf_counter() - started)
    return {name: float(times.sum()) for name, times in best.items()}


def first_call(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--timesteps", type=int, default=48)
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--segments", default="4,8,16,48")
    parser.add_argument("--no-cell", action="store_true")
    args = parser.parse_args()
    n, T, F = args.n, args.timesteps, args.features

    from seqimp.adapters.keras_forward import CompiledForward
    from seqimp.adapters.keras_prefix import PrefixForward, prefix_plan

    model = build_model(T, F)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, T, F)).astype(np.float32)
    copies = timestep_copies(X, rng)
    plan = prefix_plan(model)
    assert plan is not None

    forward = CompiledForward(model, n, (T, F), True)
    compile_plain = first_call(lambda: forward(X))
    forwards, compiles = {}, {}
    default = PrefixForward(model, plan, n, T, F).n_segments  # what prefix_forward picks (24 here)
    for s in sorted({int(v) for v in args.segments.split(",")} | {default}):
        pf = PrefixForward(model, plan, n, T, F, n_segments=s)
        compiles[pf.n_segments] = first_call(lambda: pf.suffix(X, 1 % pf.n_segments, pf.baseline(X)[1]))
        forwards[pf.n_segments] = pf

    check_plain, check_cached = plain(forward, X, copies), cached(forwards[default], X, copies)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(check_plain, check_cached))

    contenders = {"plain": plain_calls(forward, X, copies)}
    for s, pf in forwards.items():
        contenders[f"cached {s}"] = cached_calls(pf, X, copies)
    contenders["fused loop, all steps"] = cached_calls(forwards[default], X, copies, from_start=True)
    best = per_call_best(contenders, args.rounds)

    print(f"LSTM(48, return_sequences) -> LSTM(24) -> Dense(1); n={n}, T={T}, F={F}; chunk = {n} rows; "
          f"per call, best of {args.rounds} warm rounds")
    print(f"max |cached - plain| over the {T + 1} copies' predictions: {worst:.2e}")
    print(f"(a) serial compiled forward over 1 + T = {T + 1} copies: {best['plain']:.2f} s "
          f"(compile {compile_plain:.1f} s)")
    print(f"fused step loop over all {T} steps of every copy / (a): "
          f"{best['fused loop, all steps'] / best['plain']:.2f}")
    print(f"(b) cached, timestep granularity, by segment count (default {default}):")
    print("  segments  L  compile(s)  state MB/chunk   (b)/(a)     compile: first baseline + suffix calls")
    for s, pf in forwards.items():
        print(f"  {s:8d} {pf.segment_length:2d}  {compiles[s]:9.1f}  {pf.state_bytes / 2**20:13.1f}   "
              f"{best[f'cached {s}'] / best['plain']:.2f}")
    print(f"cold first call, compile included: cached ({default} segments) / plain = "
          f"{(compiles[default] + best[f'cached {default}']) / (compile_plain + best['plain']):.2f}")
    if not args.no_cell:
        cells = cell_copies(X, rng)
        pf = forwards[default]
        cell_best = per_call_best({"plain": plain_calls(forward, X, cells),
                                   "cached": cached_calls(pf, X, cells)}, max(1, args.rounds - 2))
        print(f"cell granularity ({T * F} labels, {default} segments): (b)/(a) = "
              f"{cell_best['cached'] / cell_best['plain']:.2f}")


if __name__ == "__main__":
    main()
