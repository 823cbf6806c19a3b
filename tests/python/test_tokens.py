"""Token inputs: token ids (n, T) into a Keras Embedding are one categorical feature over T timesteps.

The model: Input((T,), int32) -> Embedding(V, 8, mask_zero=True) -> LSTM -> Dense, with random weights
(embeddings drawn large enough that the model is far from linear). X is padded with id 0 at the start.
Expected numbers come from the model's own layers, run here by hand, never from seqimp's output.
"""

import numpy as np
import pytest
from conftest import require

keras = require("keras")
tf = require("tensorflow")

import seqimp  # noqa: E402
from seqimp.adapters.keras_forward import KerasPredictor  # noqa: E402

N, T, V, D = 40, 8, 12, 8
PAD = 2  # every sequence starts with at least this many padding steps


@pytest.fixture(scope="module")
def tokens():
    rng = np.random.default_rng(0)
    X = rng.integers(1, V, size=(N, T))
    lengths = rng.integers(3, T - PAD + 1, size=N)
    X[np.arange(T)[np.newaxis, :] < (T - lengths)[:, np.newaxis]] = 0
    return X


def _token_model(k=keras, seed=0, pooling=False):
    k.utils.set_random_seed(seed)
    inputs = k.Input((T,), dtype="int32")
    h = k.layers.Embedding(V, D, mask_zero=True, embeddings_initializer=k.initializers.RandomNormal(stddev=1.0),
                           name="emb")(inputs)
    h = k.layers.GlobalAveragePooling1D()(h) if pooling else k.layers.LSTM(4, name="lstm")(h)
    return k.Model(inputs, k.layers.Dense(1, name="out")(h))


@pytest.fixture(scope="module")
def model():
    return _token_model()


def _by_hand(model, X, embedded=None):
    """f on X's ids, or on the given embeddings with X's mask, from the model's layers."""
    emb, lstm, out = (model.get_layer(n) for n in ("emb", "lstm", "out"))
    e = emb(tf.constant(X)) if embedded is None else embedded
    return out(lstm(e, mask=tf.constant(X != 0))).numpy()[:, 0].astype(np.float64)


@pytest.fixture
def seen(monkeypatch):
    """Every chunk of ids the Keras model is given (a spy on the forward pass)."""
    chunks = []
    original = KerasPredictor._call

    def spy(self, block):
        chunks.append(np.array(block))
        return original(self, block)

    monkeypatch.setattr(KerasPredictor, "_call", spy)
    return chunks


# ---- perturbation and permutation -----------------------------------------------------------------

def test_feature_granularity_gives_one_token_feature(model, tokens):
    r = seqimp.perturbation_importance(model, tokens, random_state=0)
    assert r.feature_names == ("tokens",) and [label.name for label in r.labels] == ["tokens"]
    assert r.params["categorical_features"] == ["tokens"]
    assert r.params["mask"] == "model: Embedding layer 'emb' (mask_zero=True) (mask_value=0.0)"
    assert r.importances_mean[0] > 0


def test_timestep_granularity_gives_T_labels_and_padding_scores_exactly_zero(model, tokens):
    r = seqimp.perturbation_importance(model, tokens, granularity="timestep", n_repeats=2, random_state=0)
    assert [label.name for label in r.labels] == [f"t{t}" for t in range(T)]
    assert r.importances[:PAD].tolist() == [[0.0, 0.0]] * PAD  # never real: the model masks them
    assert np.all(r.importances_mean[PAD:] > 0)
    cells = seqimp.perturbation_importance(model, tokens, granularity="cell", random_state=0)
    assert [label.name for label in cells.labels] == [f"tokens@t{t}" for t in range(T)]


@pytest.mark.parametrize("noise", ["gaussian", "uniform", "zero", "mean"])
def test_token_ids_are_never_noised_and_padding_never_changes(model, tokens, seen, noise):
    r = seqimp.perturbation_importance(model, tokens, noise=noise, scale=3.0, n_repeats=2, batch_size=16,
                                       random_state=0)
    assert r.params["categorical_features"] == ["tokens"]
    assert len(seen) > 1 + 2 * N // 16  # the baseline and every perturbed copy went through the spy
    ids = np.concatenate([c.reshape(-1) for c in seen])
    assert set(np.unique(ids).tolist()) <= set(np.unique(tokens).tolist())  # only ids X has
    assert np.array_equal(ids, np.round(ids))
    for chunk in seen:  # the steps padded in every sample stay padding in every copy
        assert np.all(chunk[:, :PAD] == 0)


def test_an_unused_token_input_scores_exactly_zero(tokens):
    used = keras.Input((T,), dtype="int32", name="used")
    unused = keras.Input((T,), dtype="int32", name="unused")
    keras.utils.set_random_seed(1)
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(V, 4)(used))
    model = keras.Model({"used": used, "unused": unused}, keras.layers.Dense(1)(h))
    X = {"used": tokens, "unused": tokens[::-1].copy()}
    r = seqimp.perturbation_importance(model, X, n_repeats=3, random_state=0)
    assert r.feature_names == ("used", "unused")
    assert r.importances[1].tolist() == [0.0] * 3 and r.importances_mean[0] > 0
    y = model.predict(X, verbose=0)[:, 0]
    p = seqimp.permutation_importance(model, X, y, metric="mse", random_state=0)
    assert p.importances[1].tolist() == [0.0] * 5 and p.importances_mean[0] > 0


def test_permutation_importance_by_timestep(model, tokens):
    y = _by_hand(model, tokens)
    r = seqimp.permutation_importance(model, tokens, y, metric="mse", granularity="timestep", random_state=0)
    assert r.importances.shape == (T, 5)
    assert r.baseline_score == pytest.approx(0.0, abs=1e-10)
    assert r.importances[:PAD].tolist() == [[0.0] * 5] * PAD and np.all(r.importances_mean[PAD:] > 0)


# ---- gradients in embedding space ------------------------------------------------------------------

def test_integrated_gradients_are_complete_within_two_percent(model, tokens):
    r = seqimp.gradient_importance(model, tokens, method="integrated_gradients", granularity="timestep")
    assert r.attributions.shape == (N, T)
    # f(x) and f(baseline embedding) computed here from the layers: the baseline is token 0's embedding
    # (mask_zero=True) at every step, with X's mask.
    e0 = model.get_layer("emb")(tf.constant([[0]]))[0, 0]
    f_x = _by_hand(model, tokens)
    f_b = _by_hand(model, tokens, embedded=tf.broadcast_to(e0, (N, T, D)))
    np.testing.assert_allclose(r.extra["predictions"], f_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.extra["baseline_predictions"], f_b, rtol=1e-5, atol=1e-5)
    gap = np.abs(r.attributions.sum(axis=1) - (f_x - f_b))
    assert np.abs(f_x - f_b).min() > 0.01  # far from a trivial zero = zero
    assert np.all(gap <= 0.02 * np.abs(f_x - f_b)), (gap / np.abs(f_x - f_b)).max()
    assert np.all(r.attributions[:, :PAD] == 0.0)  # padding: no attribution


def test_integrated_gradients_from_another_baseline_and_the_same_with_float_ids(model, tokens):
    r = seqimp.gradient_importance(model, tokens, method="integrated_gradients", baseline=3)
    e3 = model.get_layer("emb")(tf.constant([[3]]))[0, 0]
    f_b = _by_hand(model, tokens, embedded=tf.broadcast_to(e3, (N, T, D)))
    np.testing.assert_allclose(r.extra["baseline_predictions"], f_b, rtol=1e-5, atol=1e-5)
    delta = r.extra["predictions"] - f_b
    assert np.all(np.abs(r.extra["completeness_gap"]) <= 0.02 * np.abs(delta))
    as_float = seqimp.gradient_importance(model, tokens.astype(np.float64), method="integrated_gradients",
                                          baseline=3, batch_size=7)
    np.testing.assert_allclose(as_float.attributions, r.attributions, rtol=1e-5, atol=1e-7)


def test_saliency_is_never_silently_zero(model, tokens):
    r = seqimp.gradient_importance(model, tokens, method="saliency", granularity="timestep")
    real = tokens != 0
    assert np.all(r.attributions[real] > 0) and np.all(r.attributions[~real] == 0.0)
    # |sum over the embedding's dimensions of d f / d e| at each step, by hand with a tape.
    e = model.get_layer("emb")(tf.constant(tokens))
    with tf.GradientTape() as tape:
        tape.watch(e)
        f = tf.reduce_sum(model.get_layer("out")(model.get_layer("lstm")(e, mask=tf.constant(real))))
    expected = np.abs(tape.gradient(f, e).numpy().sum(axis=2))
    np.testing.assert_allclose(r.attributions, expected, rtol=1e-4, atol=1e-7)
    x_input = seqimp.gradient_importance(model, tokens, method="gradient_x_input")
    assert np.all(x_input.attributions[real] != 0) and np.all(x_input.attributions[~real] == 0.0)


def test_pooling_model_completeness_and_tf_keras():
    rng = np.random.default_rng(2)
    X = rng.integers(0, V, size=(N, T))
    X[:, -1] = 1  # every sample has a real step
    models = [_token_model(pooling=True)]
    tf_keras = require("tf_keras")
    models.append(_token_model(tf_keras, pooling=False))
    for model in models:
        r = seqimp.gradient_importance(model, X, method="integrated_gradients", n_steps=64)
        delta = r.extra["predictions"] - r.extra["baseline_predictions"]
        assert np.all(np.abs(r.extra["completeness_gap"]) <= 0.02 * np.abs(delta) + 1e-6)
        assert np.all(r.attributions[X == 0] == 0.0)


# ---- clear errors --------------------------------------------------------------------------------

def test_fractional_ids_for_an_embedding_are_refused_naming_X(model, tokens):
    X = tokens.astype(np.float64)
    X[3, 5] += 0.5
    for method in (seqimp.perturbation_importance, seqimp.gradient_importance):
        with pytest.raises(ValueError, match=r"'X' parameter of \w+: X feeds the model's Embedding layer 'emb', "
                                             r"so it must hold token ids .*first \d+\.5 at index \(3, 5\)"):
            method(model, X)
    with pytest.raises(ValueError, match=r"token ids in 0\.\.11; got ids from 0 to 12"):
        seqimp.perturbation_importance(model, np.where(tokens == 5, 12, tokens))


def test_gradients_refuse_what_they_cannot_attribute(model, tokens):
    with pytest.raises(ValueError, match=r"method='smoothgrad' adds noise.*token ids"):
        seqimp.gradient_importance(model, tokens, method="smoothgrad")
    with pytest.raises(TypeError, match=r"'baseline' parameter of gradient_importance must be None .* token id"):
        seqimp.gradient_importance(model, tokens, method="integrated_gradients", baseline=np.zeros(T))
    # An integer input that no Embedding reads: its gradient would be a silent zero.
    ids = keras.Input((T,), dtype="int32")
    cast = keras.layers.Lambda(lambda t: keras.ops.cast(t, "float32"))(ids)
    plain = keras.Model(ids, keras.layers.Dense(1)(cast))
    with pytest.raises(ValueError, match=r"X holds token ids.*no Embedding layer reads it directly"):
        seqimp.gradient_importance(plain, tokens)
    assert seqimp.perturbation_importance(plain, tokens, random_state=0).importances_mean[0] > 0
    # An Embedding behind another layer: the ids cannot be mapped to it, and its lookup has no gradient.
    floats = keras.Input((T,))
    shifted = keras.layers.Lambda(lambda t: t + 0.0)(floats)
    hidden = keras.layers.Embedding(V, 4, name="behind")(shifted)
    indirect = keras.Model(floats, keras.layers.Dense(1)(keras.layers.Flatten()(hidden)))
    with pytest.raises(ValueError, match=r"Embedding layers \['behind'\] do not read a token input"):
        seqimp.gradient_importance(indirect, tokens.astype(np.float32))


def test_gradients_refuse_categorical_features():
    dense = keras.Sequential([keras.Input((T, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    X = np.random.default_rng(0).random((10, T, 3)).astype(np.float32)
    with pytest.raises(TypeError, match=r"categorical features \['x2'\].*gradients need continuous inputs.*"
                                        r"permutation_importance"):
        seqimp.gradient_importance(dense, X, categorical_features=["x2"])
    with pytest.raises(TypeError, match=r"categorical features \['x1', 'x2', 'x3'\]"):
        seqimp.gradient_importance(dense, X > 0.5)
    with pytest.raises(ValueError, match=r"categorical_features.*unknown feature 'x9'"):
        seqimp.gradient_importance(dense, X, categorical_features=["x9"])


def test_a_token_input_takes_one_feature_name(model, tokens):
    r = seqimp.perturbation_importance(model, tokens, feature_names=["words"], random_state=0)
    assert r.feature_names == ("words",) and r.params["categorical_features"] == ["words"]
    with pytest.raises(ValueError, match=r"'feature_names'.*one name per feature \(1\)"):
        seqimp.perturbation_importance(model, tokens, feature_names=[f"t{i}" for i in range(T)])
