"""LIBSVM/svmlight reading, its error messages, and the svmlight_binary splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from paperzoo.data.errors import DataFormatError
from paperzoo.data.tabular import read_svmlight, svmlight_binary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "svmlight"


def _write(tmp_path: Path, text: str, name: str = "data.svm") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- reading


def test_dense_values_and_labels(tmp_path):
    path = _write(tmp_path, "+1 1:0.5 3:-1.25 # comment\n-1 2:1\n")
    x, y = read_svmlight(path)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(x, np.array([[0.5, 0.0, -1.25], [0.0, 1.0, 0.0]], dtype=np.float32))
    np.testing.assert_array_equal(y, np.array([1.0, -1.0], dtype=np.float32))


def test_blank_lines_comments_qid_and_label_only_rows(tmp_path):
    text = "# header comment\n\n1 qid:3 2:4 5:1e-1\n   \n-1 qid:3\n\t\n-1.0 1:2 # x:y\n+1 4:-3\n"
    x, y = read_svmlight(_write(tmp_path, text))
    want = np.array(
        [
            [0, 4, 0, 0, 0.1],
            [0, 0, 0, 0, 0],
            [2, 0, 0, 0, 0],
            [0, 0, 0, -3, 0],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(y, [1, -1, -1, 1])


def test_zero_one_labels_map_to_minus_one_plus_one(tmp_path):
    x, y = read_svmlight(_write(tmp_path, "0 1:1\n1 2:1\n0 1:3\n"))
    np.testing.assert_array_equal(y, [-1, 1, -1])
    assert x.shape == (3, 2)


def test_crlf_line_endings(tmp_path):
    path = tmp_path / "crlf.svm"
    path.write_bytes(b"+1 1:1 2:2\r\n-1 2:3\r\n")
    x, y = read_svmlight(path)
    np.testing.assert_array_equal(x, [[1, 2], [0, 3]])
    np.testing.assert_array_equal(y, [1, -1])


def test_num_features_pads_with_zero_columns(tmp_path):
    x, _ = read_svmlight(_write(tmp_path, "+1 1:0.5 3:-1.25\n-1 2:1\n"), num_features=6)
    assert x.shape == (2, 6)
    np.testing.assert_array_equal(x[:, :3], [[0.5, 0, -1.25], [0, 1, 0]])
    assert not x[:, 3:].any()


def test_num_features_too_small(tmp_path):
    path = _write(tmp_path, "+1 1:0.5 3:-1.25\n-1 2:1\n")
    with pytest.raises(DataFormatError, match="feature index 3 exceeds num_features=2") as info:
        read_svmlight(path, num_features=2)
    assert str(info.value).startswith(f"{path}: ")


# ---------------------------------------------------------------- errors with a line


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("+1 1:1\nabc 1:2\n", 2, "label 'abc' is not a number"),
        ("+1 1:1\n-1 1:2\n\n2 1:1\n", 4, "label '2' is not a binary label"),
        ("0.5 1:1\n", 1, "label '0.5' is not a binary label"),
        ("# c\n+1 1:1 3-1\n", 2, "malformed feature '3-1'"),
        ("+1 1:1\n-1 0:1.5\n", 2, "malformed feature '0:1.5'"),
        ("+1 -2:1.5\n", 1, "malformed feature '-2:1.5'"),
        ("+1 1:\n", 1, "malformed feature '1:'"),
        ("+1 x:1\n", 1, "malformed feature 'x:1'"),
        ("+1 1:1\n-1 1:1\n+1 3:1 2:1\n", 3, "feature indices must increase (got 2 after 3)"),
        ("+1 2:1 2:4\n", 1, "feature indices must increase (got 2 after 2)"),
        ("+1 1:1\n-1 2:nan\n", 2, "malformed feature '2:nan'"),
        ("+1 1:inf\n", 1, "malformed feature '1:inf'"),
    ],
    ids=[
        "non-numeric-label",
        "label-2",
        "label-0.5",
        "no-colon",
        "index-0",
        "negative-index",
        "empty-value",
        "non-integer-index",
        "decreasing",
        "repeated",
        "nan",
        "inf",
    ],
)
def test_format_errors_name_file_and_line(tmp_path, text, line, reason):
    path = _write(tmp_path, text, name="bad_input.svm")
    with pytest.raises(DataFormatError) as info:
        read_svmlight(path)
    msg = str(info.value)
    assert "bad_input.svm" in msg
    assert f":{line}:" in msg
    assert msg.startswith(f"{path}:{line}: ")
    assert reason in msg
    assert info.value.line == line
    assert info.value.path == path


# ---------------------------------------------------------------- errors without a line


def test_single_class_file(tmp_path):
    path = _write(tmp_path, "+1 1:1\n1 2:1\n+1 1:3\n", name="one_class.svm")
    with pytest.raises(DataFormatError, match="same label") as info:
        read_svmlight(path)
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.line is None


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n"], ids=["empty", "blank", "comments"])
def test_empty_file(tmp_path, text):
    path = _write(tmp_path, text, name="empty.svm")
    with pytest.raises(DataFormatError, match="no examples found") as info:
        read_svmlight(path)
    assert str(info.value) == f"{path}: no examples found"


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.svm"
    with pytest.raises(DataFormatError) as info:
        read_svmlight(path)
    assert str(info.value) == f"{path}: svmlight file not found"


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataFormatError, match="is not a file"):
        read_svmlight(tmp_path)


def test_non_utf8_byte_is_a_data_format_error(tmp_path):
    path = tmp_path / "latin1.svm"
    path.write_bytes(b"+1 1:0.5 # caf\xe9\n-1 2:1\n")
    with pytest.raises(DataFormatError, match="latin1.svm:1"):
        read_svmlight(path)


# ---------------------------------------------------------------- committed fixtures


def test_fixture_tiny_binary():
    x, y = read_svmlight(FIXTURES / "tiny_binary.svm")
    assert x.shape == (20, 4)
    assert (y == 1).sum() == 10 and (y == -1).sum() == 10
    np.testing.assert_array_equal(y[:10], 1)
    np.testing.assert_array_equal(x[0], np.float32([2.0, 1.5, 1.0, 0.5]))
    np.testing.assert_array_equal(x[1], np.float32([1.8, 0.9, 1.0, 0.0]))  # absent feature 4 is 0
    np.testing.assert_array_equal(x[4], np.float32([2.9, 1.3, 1.0, 1.0]))  # trailing comment ignored
    np.testing.assert_array_equal(x[-1], np.float32([-2.3, -0.7, 1.0, 0.0]))
    assert (x[:, 2] == 1).all()
    # the classes are separated by the sign of feature 1
    np.testing.assert_array_equal(np.sign(x[:, 0]), y)


def test_fixture_malformed():
    path = FIXTURES / "malformed.svm"
    with pytest.raises(DataFormatError) as info:
        read_svmlight(path)
    msg = str(info.value)
    assert "malformed.svm:4:" in msg
    assert "feature indices must increase (got 1 after 2)" in msg


# ---------------------------------------------------------------- svmlight_binary splits


def _row_keys(ds) -> list[tuple]:
    x, y = ds.tensors
    return [tuple(r) + (float(t),) for r, t in zip(x.tolist(), y.tolist())]


def test_svmlight_binary_splits_disjoint_and_cover_all_rows():
    path = FIXTURES / "tiny_binary.svm"
    x, y = read_svmlight(path)
    splits = svmlight_binary(path=str(path), seed=3, standardize=False)
    assert splits.num_features == 4
    assert splits.source == str(path)
    sizes = [len(splits.train), len(splits.val), len(splits.test)]
    assert sizes == [12, 3, 5]  # 20 rows: test round(0.25 * 20), val round(0.15 * 20)
    keys = _row_keys(splits.train) + _row_keys(splits.val) + _row_keys(splits.test)
    everything = [tuple(r) + (float(t),) for r, t in zip(x.tolist(), y.tolist())]
    assert len(set(everything)) == 20  # fixture rows are distinct, so set equality is meaningful
    assert sorted(keys) == sorted(everything)
    assert len(set(keys)) == 20
    # a different seed gives a different split
    other = svmlight_binary(path=str(path), seed=4, standardize=False)
    assert sorted(_row_keys(other.train)) != sorted(_row_keys(splits.train))


def test_svmlight_binary_standardises_with_train_statistics():
    path = FIXTURES / "tiny_binary.svm"
    raw = svmlight_binary(path=str(path), seed=1, standardize=False)
    std = svmlight_binary(path=str(path), seed=1)
    xt = std.train.tensors[0].numpy().astype(np.float64)
    for j in (0, 1, 3):  # non-constant features
        assert abs(xt[:, j].mean()) < 1e-5
        assert xt[:, j].std() == pytest.approx(1.0, abs=1e-5)
    assert not xt[:, 2].any()  # the constant feature becomes 0, not NaN
    # val/test use the training mean and std, not their own
    raw_train = raw.train.tensors[0].numpy().astype(np.float64)
    mean, sd = raw_train.mean(0), raw_train.std(0)
    sd[sd == 0] = 1.0
    for part_raw, part_std in ((raw.val, std.val), (raw.test, std.test)):
        np.testing.assert_allclose(part_std.tensors[0].numpy(), (part_raw.tensors[0].numpy() - mean) / sd, atol=1e-5)
        np.testing.assert_array_equal(part_std.tensors[1].numpy(), part_raw.tensors[1].numpy())
    assert std.train.tensors[0].dtype == std.train.tensors[1].dtype == torch.float32


def test_svmlight_binary_bad_fractions():
    with pytest.raises(ValueError, match="val_fraction and test_fraction"):
        svmlight_binary(path=str(FIXTURES / "tiny_binary.svm"), val_fraction=0.5, test_fraction=0.5)
