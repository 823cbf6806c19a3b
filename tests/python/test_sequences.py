"""as_sequences: long panels (one row per id and time) to (n, T, F) arrays, masks and targets."""

import numpy as np
import pandas as pd
import pytest

import seqimp
from seqimp import as_sequences


def _hand_built(lengths, F=2, pad="pre", seed=0):
    """A panel built as arrays first (the truth), and its long table with rows in random order."""
    rng = np.random.default_rng(seed)
    n, T = len(lengths), max(lengths)
    X = np.zeros((n, T, F))
    mask = np.zeros((n, T), dtype=bool)
    rows = []
    for i, length in enumerate(lengths):
        start = T - length if pad == "pre" else 0
        for k in range(length):
            values = rng.normal(size=F)
            X[i, start + k] = values
            mask[i, start + k] = True
            rows.append({"sample": f"s{i:02d}", "t": 10 + 5 * k, "label": float(i % 2),
                         **{f"x{f + 1}": values[f] for f in range(F)}})
    frame = pd.DataFrame(rows)
    return X, mask, frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("pad", ["pre", "post"])
def test_unequal_lengths_equal_the_hand_built_array_and_mask(pad):
    lengths = [4, 2, 5, 1, 3]
    X, mask, panel = _hand_built(lengths, pad=pad)
    before = panel.copy()
    seq = as_sequences(panel, id="sample", time="t", target="label", pad=pad)
    np.testing.assert_array_equal(seq.X, X)
    np.testing.assert_array_equal(seq.mask, mask)
    assert list(seq.ids) == [f"s{i:02d}" for i in range(5)]
    np.testing.assert_array_equal(seq.y, [0.0, 1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(seq.lengths, lengths)
    assert seq.feature_names == ("x1", "x2")
    # times: each real step's time, NaN on padding
    assert np.isnan(seq.times[~mask]).all()
    np.testing.assert_array_equal(seq.times[3][mask[3]], [10.0])
    np.testing.assert_array_equal(seq.times[2], [10.0, 15.0, 20.0, 25.0, 30.0])
    pd.testing.assert_frame_equal(panel, before)  # the caller's table is untouched


def test_permutation_importance_on_it_equals_the_call_on_the_hand_built_array():
    X, mask, panel = _hand_built([6, 3, 5, 2, 6, 4, 1, 5] * 5, F=3, seed=1)

    def model(x):  # padding cells are 0, so they add nothing
        return 2.0 * x[:, :, 0].sum(axis=1) + x[:, :, 1].sum(axis=1)

    y = model(X)
    seq = as_sequences(panel, id="sample", time="t", features=["x1", "x2", "x3"])
    ours = seqimp.permutation_importance(model, seq.X, y, mask=seq.mask, feature_names=seq.feature_names,
                                         metric="mse", n_repeats=3, random_state=7)
    hand = seqimp.permutation_importance(model, X, y, mask=mask, feature_names=["x1", "x2", "x3"],
                                         metric="mse", n_repeats=3, random_state=7)
    np.testing.assert_array_equal(ours.importances, hand.importances)
    assert ours.importances_mean[0] > ours.importances_mean[1] > 0
    assert ours.importances_mean[2] == 0.0  # x3 is unused


def test_the_naive_reshape_is_what_it_guards_against():
    """The reshape an R or pandas user writes first scrambles samples and steps of an unsorted table."""
    X, _, panel = _hand_built([3, 3, 3, 3], F=2, seed=2)
    naive = panel[["x1", "x2"]].to_numpy().reshape(4, 3, 2)
    assert not np.array_equal(naive, X)
    np.testing.assert_array_equal(as_sequences(panel, id="sample", time="t", target="label").X, X)


def test_datetimes_categorical_ids_and_default_features():
    panel = pd.DataFrame({
        "id": pd.Categorical(["z", "z", "a"], categories=["z", "a"]),
        "day": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-05"]),
        "v": [2, 1, 5],
        "flag": [True, False, True],
    })
    seq = as_sequences(panel, id="id", time="day", pad="post", pad_value=-1.0)
    assert list(seq.ids) == ["z", "a"]  # the categories' order
    assert seq.feature_names == ("v", "flag")
    np.testing.assert_array_equal(seq.X[:, :, 0], [[1.0, 2.0], [5.0, -1.0]])
    np.testing.assert_array_equal(seq.X[:, :, 1], [[0.0, 1.0], [1.0, -1.0]])
    assert seq.times.dtype.kind == "M" and np.isnat(seq.times[1, 1])
    assert seq.times[0, 0] == np.datetime64("2024-01-01")
    assert seq.y is None


def test_equal_lengths_give_a_mask_of_real_steps_only():
    _, mask, panel = _hand_built([3, 3], seed=3)
    seq = as_sequences(panel, id="sample", time="t")
    assert seq.mask.all() and mask.all()
    assert "label" in seq.feature_names  # not named as the target, so a feature


@pytest.mark.parametrize("change, message", [
    (lambda p: pd.concat([p, p.iloc[[0]]]), r"\(id, time\) pair \('s\d\d', \d+\) appears more than once"),
    (lambda p: p[~((p["sample"] == "s01") & (p["t"] == 15))],
     r"times of id 's01' are irregular: it goes from time 10 to 20, but the panel's step .* is 5"),
    (lambda p: p.assign(x1=p["x1"].where(p["t"] != 15)), r"feature 'x1' is missing or not finite at id 's0"),
    (lambda p: p.assign(label=np.arange(len(p))), r"target column 'label' .* one value per id"),
    (lambda p: p.assign(sample=p["sample"].where(p["t"] != 10)), r"'id' column of df must not be missing"),
])
def test_bad_panels_name_the_first_offender(change, message):
    _, _, panel = _hand_built([3, 4, 2], seed=4)
    with pytest.raises(ValueError, match=message):
        as_sequences(change(panel), id="sample", time="t", target="label")


def test_bad_arguments_are_refused_at_the_boundary():
    _, _, panel = _hand_built([2, 3], seed=5)
    with pytest.raises(TypeError, match="'df' parameter of as_sequences must be a pandas DataFrame"):
        as_sequences(panel.to_numpy(), id="sample", time="t")
    with pytest.raises(ValueError, match=r"'id' parameter of as_sequences must name a column of df; got 'ID'"):
        as_sequences(panel, id="ID", time="t")
    with pytest.raises(ValueError, match=r"'features' parameter .* names \['x9'\]"):
        as_sequences(panel, id="sample", time="t", features=["x1", "x9"])
    with pytest.raises(ValueError, match=r"names \['t'\], which are the id, time or target column"):
        as_sequences(panel, id="sample", time="t", features=["x1", "t"])
    with pytest.raises(ValueError, match=r"'pad' parameter of as_sequences must be one of \{'pre', 'post'\}"):
        as_sequences(panel, id="sample", time="t", pad="left")
    with pytest.raises(TypeError, match="'pad_value' parameter .* a finite number"):
        as_sequences(panel, id="sample", time="t", pad_value=np.nan)
    with pytest.raises(TypeError, match=r"'time' column of df must hold numbers or datetimes"):
        as_sequences(panel.assign(t=panel["t"].astype(str)), id="sample", time="t")
    with pytest.raises(TypeError, match=r"column 'name' has dtype object"):
        as_sequences(panel.assign(name="a"), id="sample", time="t")


def test_a_gap_in_datetimes_is_shown_as_a_duration():
    panel = pd.DataFrame({"id": [1, 1, 1, 2, 2], "v": [1.0, 2, 3, 4, 5],
                          "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01",
                                                  "2024-01-03"])})
    with pytest.raises(ValueError, match=r"id 2 are irregular: it goes from time 2024-01-01 00:00:00 "
                                         r"to 2024-01-03 00:00:00, but .* is 1 days 00:00:00"):
        as_sequences(panel, id="id", time="when")
