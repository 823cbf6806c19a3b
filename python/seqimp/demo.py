"""The seed experiment, end to end: ``python -m seqimp.demo``.

A three-layer LSTM learns y_t = [x1_t * x2_t < 0.25] from three uniform features (the seed answer in
shared/seeds/002); feature 3 is irrelevant. Perturbation importance must show features 1 and 2 far
above feature 3.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

TIMESTEPS, FEATURES = 10, 3


def seed_data(n_samples, rng):
    """The seed's data generator: X ~ U(0, 1) of shape (n, 10, 3), y_t = x1_t * x2_t < 0.25."""
    X = rng.random((n_samples, TIMESTEPS, FEATURES)).astype(np.float32)
    y = (X[:, :, 0] * X[:, :, 1] < 0.25).astype(np.float32)
    return X, y


def make_seed_model(keras=None):
    """The seed's model: LSTM(10, relu) -> LSTM(5, relu) -> LSTM(1, sigmoid) -> Flatten."""
    if keras is None:
        import keras
    inp = keras.layers.Input(shape=(TIMESTEPS, FEATURES))
    x = keras.layers.LSTM(10, activation="relu", return_sequences=True)(inp)
    x = keras.layers.LSTM(5, activation="relu", return_sequences=True)(x)
    x = keras.layers.LSTM(1, activation="sigmoid", return_sequences=True)(x)
    out = keras.layers.Flatten()(x)
    return keras.models.Model(inp, out)


def train_seed_model(n_train=8000, epochs=12, batch_size=32, seed=2019, verbose=0):
    """Train the seed model on a fixed-seed sample (a smaller budget than the seed's 5 x 1000 batches).

    Returns ``(model, history)``.
    """
    import keras

    keras.utils.set_random_seed(seed)
    X, y = seed_data(n_train, np.random.default_rng(seed))
    model = make_seed_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy")
    history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    return model, history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output", help="folder for the plot (default: demo-output)")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)

    import seqimp

    try:
        import keras  # noqa: F401  (the demo trains a Keras LSTM)
    except ImportError as error:
        print(f"python -m seqimp.demo trains a Keras LSTM, and Keras could not be imported here "
              f"({error}).\nInstall TensorFlow with seqimp's extra: pip install 'seqimp[tensorflow]' "
              f"(or: pip install tensorflow).\nseqimp itself works without it on any function f(X) or "
              f"object with .predict(X).", file=sys.stderr)
        return 2

    print("Training the seed's 3-layer LSTM on y = [x1 * x2 < 0.25] (feature 3 is irrelevant)...")
    started = time.perf_counter()
    model, history = train_seed_model(epochs=args.epochs)
    print(f"  trained in {time.perf_counter() - started:.0f} s, final loss "
          f"{history.history['loss'][-1]:.3f}")

    # As in the seed answer: 250 fresh sequences, Gaussian noise of scale 0.2, RMS change.
    X, _ = seed_data(250, np.random.default_rng(7))
    result = seqimp.perturbation_importance(model, X, noise="gaussian", scale=0.2, effect="rms",
                                            n_repeats=5, random_state=0)
    print("\nPerturbation importance (RMS change of the predictions, 5 repeats):")
    print(result.to_frame(sort=True).to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    mean = result.importances_mean
    ratio = min(mean[0], mean[1]) / max(mean[2], 1e-12)
    print(f"\nFeatures 1 and 2 matter: each moves the predictions at least {ratio:.1f}x as much as "
          f"feature 3, which the target does not use.")

    os.makedirs(args.out, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot(title="Seed LSTM: perturbation importance")
    path = os.path.join(args.out, "seed_perturbation_importance.png")
    ax.figure.savefig(path, dpi=120)
    print(f"Plot saved to {path}")
    if ratio < 5:
        print("Unexpected: features 1 and 2 are not clearly above feature 3.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
