"""The input module: one C-order copy in X's own dtype, names, and clear errors; the caller's data untouched."""

import numpy as np
import pandas as pd
import pytest

from seqimp.inputs import as_sequence_data, as_target


def test_3d_array_is_copied_c_order_in_its_own_dtype_with_default_names():
    X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) + 1e-9  # fractions float32 would lose
    data = as_sequence_data(X)
    assert data.X.dtype == np.float64 and data.X.flags.c_contiguous
    assert data.X.shape == (2, 3, 4) and data.input_ndim == 3
    assert data.feature_names == ("x1", "x2", "x3", "x4")
    np.testing.assert_array_equal(data.X, X)
    assert not np.shares_memory(data.X, X)


def test_2d_input_is_a_sequence_of_length_one_and_keeps_its_model_shape():
    X = np.arange(6.0).reshape(3, 2)
    data = as_sequence_data(X)
    assert data.X.shape == (3, 1, 2) and data.input_ndim == 2 and data.input_shape == (3, 2)
    np.testing.assert_array_equal(data.to_model_input(data.X), X)


def test_dataframe_columns_become_feature_names():
    frame = pd.DataFrame({"temp": [1.0, 2.0], "load": [3, 4]})
    data = as_sequence_data(frame)
    assert data.feature_names == ("temp", "load")
    np.testing.assert_array_equal(data.X[:, 0, :], [[1, 3], [2, 4]])


def test_explicit_feature_names_win_and_lists_work():
    data = as_sequence_data([[[1, 2]], [[3, 4]]], feature_names=["a", "b"])
    assert data.feature_names == ("a", "b") and data.X.shape == (2, 1, 2)


def test_read_only_fortran_input_like_r_memory_works_and_is_not_written():
    X = np.asfortranarray(np.random.default_rng(0).random((5, 4, 3)))
    X.setflags(write=False)
    before = X.copy()
    data = as_sequence_data(X)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(X, before)
    assert not data.X.flags.writeable  # the core's copy is read-only too: methods copy chunks from it


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64, np.uint8])
def test_input_keeps_its_dtype(dtype):
    data = as_sequence_data(np.ones((2, 3, 2), dtype=dtype))
    assert data.X.dtype == dtype


def test_float16_is_widened_to_float32_and_big_endian_made_native():
    assert as_sequence_data(np.ones((2, 3, 2), dtype=np.float16)).X.dtype == np.float32
    data = as_sequence_data(np.arange(12.0, dtype=">f8").reshape(2, 3, 2))
    assert data.X.dtype == np.float64 and data.X.dtype.isnative


@pytest.mark.parametrize("X, message", [
    (np.ones(5), "got 1-D input"),
    (np.ones((2, 3, 4, 5)), "got 4-D input"),
    (np.ones((0, 3, 2)), "must not be empty"),
    (np.array([[["a", "b"]]]), "must hold numbers"),
    (np.array([[[1.0, np.nan]]]), "must be finite"),
    (np.array([[[1.0, np.inf]]]), "must be finite"),
    (pd.DataFrame({"a": [1.0, np.inf]}), "column 'a' holds inf at row 1"),
])
def test_bad_x_is_rejected_with_a_message_naming_x(X, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        as_sequence_data(X)
    assert "X" in str(info.value)


def test_nan_position_is_reported():
    X = np.zeros((2, 3, 4))
    X[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"\(1, 2, 3\)"):
        as_sequence_data(X)


def test_feature_names_must_match_and_be_unique():
    with pytest.raises(ValueError, match="'feature_names'.*one name per feature \\(2\\). Got 3"):
        as_sequence_data(np.ones((2, 3, 2)), feature_names=["a", "b", "c"], func="f")
    with pytest.raises(ValueError, match="'feature_names'.*unique"):
        as_sequence_data(np.ones((2, 3, 2)), feature_names=["a", "a"], func="f")


def test_target_checks_rows_and_copies():
    y = np.arange(4.0)
    out = as_target(y, 4, func="f")
    assert not np.shares_memory(out, y)
    with pytest.raises(ValueError, match="'y' parameter of f must have one row per sample of X \\(5\\)"):
        as_target(y, 5, func="f")
    with pytest.raises(ValueError, match="'y' parameter of f is required"):
        as_target(None, 5, func="f")
