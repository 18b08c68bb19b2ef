"""FFHQ reader on the fixture in the published layout: the official split by image number, resizing, both image
folders, and a DataFormatError for each layout or file error."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from paperzoo.data.errors import DataFormatError
from paperzoo.data.ffhq import ffhq, scan_ffhq
from paperzoo.registry import create_dataset

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ffhq"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "ffhq"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("make.py"))
    return root


def test_scan_lists_every_image_by_number() -> None:
    found = scan_ffhq(FIXTURE / "images1024x1024")
    assert [n for n, _ in found] == [0, 1, 2, 3, 1000, 1001, 60000]
    assert all(p.name == f"{n:05d}.png" and p.parent.name == f"{n // 1000 * 1000:05d}" for n, p in found)


def test_official_split_and_items_equal_the_decoded_png() -> None:
    splits = ffhq(path=str(FIXTURE), resolution=16, val_fraction=0.34)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (4, 2, 1)
    assert splits.test.samples[0][0].name == "60000.png"  # FFHQ's validation range is the test split
    train_names = {p.name for p, _ in splits.train.samples}
    assert not train_names & {p.name for p, _ in splits.val.samples}
    x, label = splits.test[0]
    expected = np.asarray(Image.open(splits.test.samples[0][0]).convert("RGB"), dtype=np.float32) / 255
    assert x.shape == (3, 16, 16) and int(label) == 0
    np.testing.assert_allclose(x.permute(1, 2, 0).numpy(), expected, atol=1e-6)


def test_resolution_resizes_and_thumbnails_are_read() -> None:
    big = ffhq(path=str(FIXTURE), resolution=32)
    assert big.train[0][0].shape == (3, 32, 32) and big.image_size == 32
    small = create_dataset("ffhq", path=str(FIXTURE / "thumbnails128x128"), resolution=8)
    assert small.train[0][0].shape == (3, 8, 8)
    same = ffhq(path=str(FIXTURE), folder="thumbnails128x128", resolution=8)
    torch.testing.assert_close(same.test[0][0], small.test[0][0])


def test_a_subset_without_validation_images_carves_a_test_split(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    shutil.rmtree(root / "images1024x1024" / "60000")
    splits = ffhq(path=str(root), resolution=16, test_fraction=0.34)
    assert (len(splits.train), len(splits.test)) == (4, 2)


@pytest.mark.parametrize(
    "break_it, match",
    [
        (lambda d: (d / "00000").rename(d / "00500"), "multiple of 1000"),
        (lambda d: (d / "00000" / "00001.png").rename(d / "00000" / "00001.jpg"), "NNNNN.png"),
        (lambda d: (d / "00000" / "00001.png").rename(d / "00000" / "01500.png"), "does not belong in folder 00000"),
        (lambda d: (d / "model.pkl").write_bytes(b"x"), "unexpected file"),
        (lambda d: [shutil.rmtree(p) for p in d.iterdir() if p.is_dir()], "no images"),
    ],
)
def test_layout_errors_name_the_path(tmp_path: Path, break_it, match: str) -> None:
    root = _copy(tmp_path)
    break_it(root / "images1024x1024")
    with pytest.raises(DataFormatError, match=match):
        ffhq(path=str(root))


@pytest.mark.parametrize(
    "write, match",
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n broken"), "not a readable image"),
        (lambda p: Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(p), "square"),
    ],
)
def test_bad_images_fail_when_read(tmp_path: Path, write, match: str) -> None:
    root = _copy(tmp_path)
    target = root / "images1024x1024" / "60000" / "60000.png"
    write(target)
    splits = ffhq(path=str(root), resolution=16)
    with pytest.raises(DataFormatError, match=match) as err:
        splits.test[0]
    assert err.value.path == target


def test_missing_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        ffhq(path=str(tmp_path / "nowhere"))
    with pytest.raises(DataFormatError, match="published layout"):
        ffhq(path=str(tmp_path))
