"""DataFrame pipelines: seqimp against scikit-learn's permutation_importance on the same pipeline.

Both get the same pandas DataFrame (numeric, string and categorical columns) and the same fitted
``ColumnTransformer(OneHotEncoder, passthrough) -> Ridge`` pipeline, and both call ``pipeline.predict``
on DataFrames. scikit-learn permutes one column per call on the whole frame; seqimp streams every
permuted copy in chunks rebuilt as DataFrames (seqimp.frames). Also: the cost of keeping float64 (X's
own dtype) against a float32 copy of the same array, for a plain NumPy callable.
All timings are best of 3 in one run; the script prints ratios.
Usage: python bench/bench_frames.py [--n 20000] [--repeats 5]
"""

import argparse

import numpy as np
import pandas as pd
from common import best_of
from sklearn.compose import ColumnTransformer
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import seqimp


def frame_and_pipeline(n):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"num{j}": rng.normal(size=n) for j in range(6)})
    frame["city"] = rng.choice(["a", "b", "c", "d"], n)
    frame["kind"] = pd.Categorical(rng.choice(["u", "v"], n))
    y = frame["num0"] * 2 + frame["num1"] + (frame["city"] == "b") + rng.normal(scale=0.1, size=n)
    encode = ColumnTransformer([("onehot", OneHotEncoder(), ["city", "kind"])], remainder="passthrough")
    return frame, y.to_numpy(), make_pipeline(encode, Ridge()).fit(frame, y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    frame, y, pipeline = frame_and_pipeline(args.n)

    ours = best_of(lambda: seqimp.permutation_importance(pipeline, frame, y, metric="neg_mean_squared_error",
                                                         n_repeats=args.repeats, random_state=0), 3)
    theirs = best_of(lambda: sk_permutation_importance(pipeline, frame, y, scoring="neg_mean_squared_error",
                                                       n_repeats=args.repeats, random_state=0), 3)
    print(f"DataFrame pipeline, n={args.n}, {frame.shape[1]} columns, {args.repeats} repeats:")
    print(f"  seqimp {ours:.2f} s, scikit-learn {theirs:.2f} s: seqimp/scikit-learn = {ours / theirs:.2f}x")

    X64 = np.random.default_rng(1).normal(size=(args.n, 20, 8))
    X32 = X64.astype(np.float32)
    w = np.linspace(-1, 1, 8)

    def model(x):
        return (x @ w).sum(axis=1)

    t64 = best_of(lambda: seqimp.perturbation_importance(model, X64, n_repeats=args.repeats, random_state=0), 3)
    t32 = best_of(lambda: seqimp.perturbation_importance(model, X32, n_repeats=args.repeats, random_state=0), 3)
    print(f"NumPy callable, X ({args.n}, 20, 8): float64 kept {t64:.2f} s, float32 {t32:.2f} s: "
          f"float64/float32 = {t64 / t32:.2f}x")


if __name__ == "__main__":
    main()
