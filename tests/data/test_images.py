"""Image datasets: built-in digits and shapes, and the CIFAR / MNIST / image-folder readers on fixture files.

The fixtures under tests/fixtures/images/ are written by make_fixtures.py in the exact published
formats, with pixel values given by closed-form patterns that the tests recompute here.
"""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperzoo.data import transforms as T
from paperzoo.data.errors import DataFormatError
from paperzoo.data.images import (
    SHAPE_KINDS,
    TEXTURE_KINDS,
    ImageFolderDataset,
    TensorImageDataset,
    _shape_sdf,
    cifar10,
    cifar100,
    digits_images,
    image_folder,
    load_image,
    mnist,
    read_cifar_bin,
    read_idx,
    shapes,
    stratified_split,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "images"
CIFAR10 = FIXTURES / "cifar10" / "cifar-10-batches-bin"
CIFAR100 = FIXTURES / "cifar100" / "cifar-100-binary"
MNIST = FIXTURES / "mnist"
IMAGENET = FIXTURES / "imagenet"


# Closed-form fixture pixels (the same formulas as make_fixtures.py).
def cifar_pixels(seed: int) -> torch.Tensor:
    c, y, x = torch.meshgrid(torch.arange(3), torch.arange(32), torch.arange(32), indexing="ij")
    return ((seed * 37 + 64 * c + 3 * y + 5 * x) % 256).to(torch.uint8)


def mnist_pixels(n: int, seed: int) -> torch.Tensor:
    i, y, x = torch.meshgrid(torch.arange(n), torch.arange(28), torch.arange(28), indexing="ij")
    return ((seed + 11 * i + 2 * y + x) % 256).to(torch.uint8)


def folder_pixels(height: int, width: int, seed: int) -> torch.Tensor:
    c, y, x = torch.meshgrid(torch.arange(3), torch.arange(height), torch.arange(width), indexing="ij")
    return ((seed + 20 * c + 7 * y + 3 * x) % 256).to(torch.uint8)


def test_fixtures_are_small():
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file()) < 200_000


def test_datasets_are_registered():
    from paperzoo.registry import _DATASETS

    for name in ("digits_images", "shapes"):
        assert _DATASETS[name].builtin
    for name in ("image_folder", "cifar10", "cifar100", "mnist"):
        assert not _DATASETS[name].builtin and _DATASETS[name].file_format


# ---------------------------------------------------------------------------------------------- containers
def test_stratified_split_counts_per_class():
    labels = torch.tensor([0] * 10 + [1] * 20 + [2] * 5)
    train, val, test = stratified_split(labels, (0.2, 0.4), seed=0)
    for c, n in ((0, 10), (1, 20), (2, 5)):
        assert int((labels[val] == c).sum()) == round(n * 0.2)
        assert int((labels[test] == c).sum()) == round(n * 0.4)
    assert sorted(torch.cat([train, val, test]).tolist()) == list(range(35))
    again = stratified_split(labels, (0.2, 0.4), seed=0)
    assert all(torch.equal(a, b) for a, b in zip(again, (train, val, test)))
    assert not torch.equal(stratified_split(labels, (0.2, 0.4), seed=1)[1], val)
    with pytest.raises(ValueError, match="sum below 1"):
        stratified_split(labels, (0.5, 0.5), seed=0)


def test_tensor_dataset_get_batch_matches_items():
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    ds = TensorImageDataset(images, torch.arange(10) % 3, T.Compose([T.CenterCrop(6), T.ToFloat()]))
    x, y = ds.get_batch([4, 1, 7])
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (3, 3, 6, 6)
    for k, i in enumerate([4, 1, 7]):
        xi, yi = ds[i]
        assert torch.equal(x[k], xi) and yi.ndim == 0 and int(yi) == int(y[k]) == i % 3
    # A transform that leaves uint8 (crop only) is followed by ToFloat.
    plain = ds.with_transform(T.CenterCrop(6))
    assert plain.images is images
    torch.testing.assert_close(plain.get_batch([4, 1, 7])[0], x)
    with pytest.raises(ValueError, match="uint8"):
        TensorImageDataset(images.float(), torch.arange(10))


def test_random_batch_transform_reproducible_with_global_seed():
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    ds = TensorImageDataset(images, torch.zeros(16), T.cifar_train_transform(8, padding=2))
    torch.manual_seed(0)
    a = ds.get_batch(range(16))[0]
    torch.manual_seed(0)
    assert torch.equal(a, ds.get_batch(range(16))[0])
    assert not torch.equal(a, ds.get_batch(range(16))[0])


# ---------------------------------------------------------------------------------------------- digits
def test_digits_images_are_the_sklearn_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    s = digits_images(interpolation="nearest")
    assert (len(s.train), len(s.val), len(s.test)) == (1078, 270, 449)
    assert (s.num_classes, s.in_chans, s.image_size) == (10, 3, 32)
    x, y = s.test.get_batch(range(len(s.test)))
    assert x.shape == (449, 3, 32, 32) and x.dtype == torch.float32
    # Nearest upscaling by 4 repeats every pixel in a 4x4 block: sampling one per block gives the 8x8 digit.
    raw = s.test.images[:, :, 1::4, 1::4]
    assert torch.equal(s.test.images[:, 0], s.test.images[:, 2])
    expected = {
        tuple(np.round(img * 255 / 16).astype(int).ravel()): int(t) for img, t in zip(digits.images, digits.target)
    }
    for img, label in zip(raw[:, 0].int().tolist(), y.tolist()):
        assert expected[tuple(np.ravel(img))] == label


def test_digits_images_bilinear_determinism_and_balance():
    a, b, c = digits_images(), digits_images(), digits_images(seed=1, in_chans=1, image_size=16)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.labels, b.val.labels)
    assert c.train.images.shape[1:] == (1, 16, 16)
    assert not torch.equal(digits_images(seed=1).train.labels, a.train.labels)
    # Bilinear upscaling keeps the mean intensity (up to border effects) and the split is per class.
    counts = torch.bincount(a.test.labels, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46
    with pytest.raises(ValueError, match="interpolation"):
        digits_images(interpolation="cubic")


# ---------------------------------------------------------------------------------------------- shapes
@pytest.fixture(scope="module")
def small_shapes():
    return shapes(train_size=1050, val_size=150, test_size=450)


def test_shapes_determinism_and_balance(small_shapes):
    s = small_shapes
    again = shapes(train_size=1050, val_size=150, test_size=450)
    assert torch.equal(s.train.images, again.train.images) and torch.equal(s.test.labels, again.test.labels)
    other = shapes(seed=1, train_size=1050, val_size=150, test_size=450)
    assert not torch.equal(s.train.images, other.train.images)
    assert s.num_classes == len(SHAPE_KINDS) * len(TEXTURE_KINDS) == 15
    assert s.class_names[0] == "circle/solid" and s.class_names[-1] == "ring/checks"
    for split, n in ((s.train, 1050), (s.val, 150), (s.test, 450)):
        counts = torch.bincount(split.labels, minlength=15)
        assert int(counts.sum()) == n and int(counts.max() - counts.min()) <= 1
    assert s.train.images.dtype == torch.uint8 and s.train.images.shape == (1050, 3, 32, 32)


def test_shape_signed_distances_have_closed_form_areas():
    """Area of {sdf < 0} on a fine grid against each shape's closed-form area (circumradius ~1)."""
    t = torch.linspace(-1.3, 1.3, 801)
    v, u = torch.meshgrid(t, t, indexing="ij")
    cell = (t[1] - t[0]).item() ** 2
    areas = {
        "circle": math.pi,
        "square": 4 * 0.86**2,
        "triangle": 3 * math.sqrt(3) * 0.55**2,  # equilateral with inradius 0.55
        "cross": 2 * (2.0 * 0.72) - 0.72**2,  # two 2 x 0.72 bars overlapping in a 0.72 square
        "ring": math.pi * (1.0 - 0.44**2),
    }
    for kind in SHAPE_KINDS:
        area = float((_shape_sdf(kind, u, v) < 0).sum()) * cell
        assert abs(area - areas[kind]) < 0.01 * areas[kind], kind


def _logistic_regression_accuracy(xtr, ytr, xte, yte, num_classes: int) -> float:
    a, b = xtr.flatten(1), xte.flatten(1)
    mean, std = a.mean(0), a.std(0) + 1e-6
    a, b = (a - mean) / std, (b - mean) / std
    w = torch.zeros(a.shape[1], num_classes, requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], max_iter=40, history_size=10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + bias, ytr) + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == yte).float().mean())


def test_shapes_are_not_linearly_separable(small_shapes):
    """A logistic regression on raw pixels stays near chance (1/15 = 6.7%).

    Position, rotation and colour polarity are random, so no pixel's value is evidence for a
    class. We measured 8-10% with the default 6,000 training images and a converged fit (it
    fits 61-94% of the training set: it memorises). Here a smaller set and 40 L-BFGS iterations keep
    the test fast. The threshold 25% leaves room for sampling noise (a 450-image test set has a
    standard error of about 1.5 points) while staying far below the >85% a small CNN reaches.
    """
    s = small_shapes
    xtr, ytr = s.train.get_batch(range(len(s.train)))
    xte, yte = s.test.get_batch(range(len(s.test)))
    acc = _logistic_regression_accuracy(xtr, ytr, xte, yte, s.num_classes)
    assert acc < 0.25, acc


def test_shapes_classes_are_recoverable_from_invariant_features(small_shapes):
    """The labels are in the images, in a translation- and polarity-invariant form: the same
    logistic regression on log |FFT| of the grey image (invariant to circular shifts and to the sign
    of the contrast) is far above chance. We measured 51% here (pixels: 6%) and 63% with the default
    6,000 training images; a broken renderer or labels that do not match the images would fall to
    chance (6.7%)."""

    def spectrum(x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(1)
        return torch.log1p(torch.fft.rfft2(grey - grey.mean((1, 2), keepdim=True)).abs())

    s = small_shapes
    xtr, ytr = s.train.get_batch(range(len(s.train)))
    xte, yte = s.test.get_batch(range(len(s.test)))
    acc = _logistic_regression_accuracy(spectrum(xtr), ytr, spectrum(xte), yte, s.num_classes)
    assert acc > 0.35, acc


# ---------------------------------------------------------------------------------------------- CIFAR
def test_read_cifar_bin_layout():
    images, labels = read_cifar_bin(CIFAR10 / "data_batch_2.bin", label_bytes=1, num_classes=(10,))
    assert labels[:, 0].tolist() == [0, 9]
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images[1], cifar_pixels(3))  # records 2 and 3 of the training set


def test_cifar10_reader():
    s = cifar10(path=str(CIFAR10.parent), val_fraction=0.0, augment=False, eval_transform=T.ToFloat())
    assert s.class_names[0] == "airplane" and s.class_names[-1] == "truck"
    assert (len(s.train), len(s.val), len(s.test), s.num_classes) == (10, 0, 3, 10)
    assert s.train.labels.tolist() == [3, 8, 0, 9, 1, 2, 4, 5, 6, 7]
    assert s.test.labels.tolist() == [9, 0, 5]
    for i in range(10):
        assert torch.equal(s.train.images[i], cifar_pixels(i))
    x, y = s.test[2]
    assert torch.equal(x, cifar_pixels(102).float() / 255) and int(y) == 5


def test_cifar10_default_transforms_and_val_split():
    s = cifar10(path=str(CIFAR10), val_fraction=0.5)
    assert len(s.train) + len(s.val) == 10 and len(s.val) == 5  # one label of each pair goes to val? per class
    x, _ = s.test[0]
    expected = T.Normalize(T.CIFAR10_MEAN, T.CIFAR10_STD)(cifar_pixels(100).float() / 255)
    torch.testing.assert_close(x, expected)
    xb, yb = s.train.get_batch(range(len(s.train)))
    assert xb.shape == (len(s.train), 3, 32, 32) and xb.dtype == torch.float32 and yb.dtype == torch.int64


def test_cifar10_without_meta_uses_standard_names(tmp_path):
    root = tmp_path / "cifar-10-batches-bin"
    shutil.copytree(CIFAR10, root)
    (root / "batches.meta.txt").unlink()
    assert cifar10(path=str(tmp_path)).class_names[3] == "cat"


def test_cifar100_reader_fine_and_coarse():
    fine = cifar100(path=str(CIFAR100.parent), val_fraction=0.0)
    assert fine.num_classes == 100 and fine.class_names[99] == "fine_99"
    assert fine.train.labels.tolist() == [30, 99, 0, 57] and fine.test.labels.tolist() == [12, 98]
    assert torch.equal(fine.test.images[1], cifar_pixels(201))
    coarse = cifar100(path=str(CIFAR100), label="coarse", val_fraction=0.0)
    assert coarse.num_classes == 20 and coarse.class_names[4] == "coarse_04"
    assert coarse.train.labels.tolist() == [4, 19, 0, 11]
    with pytest.raises(ValueError, match="fine"):
        cifar100(path=str(CIFAR100), label="superclass")


def test_cifar_truncated_file_names_file_and_size(tmp_path):
    root = tmp_path / "cifar-10-batches-bin"
    shutil.copytree(CIFAR10, root)
    bad = root / "data_batch_3.bin"
    bad.write_bytes(bad.read_bytes()[:-5])
    with pytest.raises(DataFormatError) as info:
        cifar10(path=str(tmp_path))
    assert str(bad) in str(info.value) and "6141 bytes" in str(info.value) and "3073" in str(info.value)


def test_cifar_label_out_of_range_names_record(tmp_path):
    root = tmp_path / "cifar-100-binary"
    shutil.copytree(CIFAR100, root)
    data = bytearray((root / "train.bin").read_bytes())
    data[3074 * 2 + 1] = 100  # fine label of record 2
    (root / "train.bin").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="record 2: label 100 is out of range 0-99") as info:
        cifar100(path=str(tmp_path))
    assert str(root / "train.bin") in str(info.value)


def test_cifar_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="data_batch_1.bin: CIFAR binary file not found"):
        cifar10(path=str(tmp_path))


# ---------------------------------------------------------------------------------------------- MNIST
def test_mnist_reader_gzip_and_raw():
    s = mnist(path=str(MNIST), val_fraction=0.0)
    assert (len(s.train), len(s.val), len(s.test), s.in_chans, s.image_size) == (12, 0, 5, 1, 28)
    assert s.train.labels.tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5]
    assert s.test.labels.tolist() == [7, 2, 1, 0, 4]
    assert torch.equal(s.train.images[:, 0], mnist_pixels(12, 0))  # from the .gz files
    assert torch.equal(s.test.images[:, 0], mnist_pixels(5, 50))  # from the raw files
    rgb = mnist(path=str(MNIST), in_chans=3, val_fraction=0.25)
    x, _ = rgb.test.get_batch([0, 1])
    assert x.shape == (2, 3, 28, 28) and torch.equal(x[:, 0], x[:, 2])
    assert (len(rgb.train), len(rgb.val)) == (9, 3)


def _idx(magic: int, array: np.ndarray) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()


def _mnist_copy(tmp_path: Path) -> Path:
    shutil.copytree(MNIST, tmp_path / "m")
    return tmp_path / "m"


def test_mnist_bad_magic(tmp_path):
    root = _mnist_copy(tmp_path)
    bad = root / "t10k-labels-idx1-ubyte"
    bad.write_bytes(_idx(2050, np.arange(5, dtype=np.uint8)))
    with pytest.raises(DataFormatError, match="magic number 2050") as info:
        mnist(path=str(root))
    assert str(bad) in str(info.value)


def test_mnist_count_mismatch(tmp_path):
    root = _mnist_copy(tmp_path)
    bad = root / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(_idx(2049, np.zeros(11, dtype=np.uint8))))
    with pytest.raises(DataFormatError, match="11 labels for the 12 images") as info:
        mnist(path=str(root))
    assert str(bad) in str(info.value)


def test_mnist_truncated_and_bad_label(tmp_path):
    root = _mnist_copy(tmp_path)
    images = root / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-1])
    with pytest.raises(DataFormatError, match=r"3919 data bytes, but dimensions \(5, 28, 28\) need 3920") as info:
        read_idx(images, expect_magic=2051)
    assert str(images) in str(info.value)
    root = _mnist_copy(tmp_path / "again")
    labels = root / "t10k-labels-idx1-ubyte"
    labels.write_bytes(_idx(2049, np.array([1, 2, 3, 12, 0], dtype=np.uint8)))
    with pytest.raises(DataFormatError, match="record 3: label 12 is out of range") as info:
        mnist(path=str(root))
    assert str(labels) in str(info.value)


# ---------------------------------------------------------------------------------------------- image folders
def test_load_image_png_exact_and_jpeg_close():
    png = load_image(IMAGENET / "train" / "n01440764" / "n01440764_2.PNG")
    assert png.dtype == torch.uint8 and torch.equal(png, folder_pixels(20, 14, 1))
    jpeg = load_image(IMAGENET / "train" / "n01443537" / "n01443537_3.JPEG")
    assert jpeg.shape == (3, 16, 16) and (jpeg.float() - folder_pixels(16, 16, 12).float()).abs().mean() < 8


def test_image_folder_flat_val_with_loc_csv():
    s = image_folder(path=str(IMAGENET), image_size=8)
    assert s.class_names == ["n01440764", "n01443537"] and s.num_classes == 2
    assert len(s.train) == 6 and len(s.val) == 0
    # csv rows: ..._03 -> n01443537, ..._01 -> n01440764, ..._02 -> n01443537; items sorted by id.
    assert [p.name for p, _ in s.test.samples] == [f"ILSVRC2012_val_0000000{i}.JPEG" for i in (1, 2, 3)]
    assert s.test.labels.tolist() == [0, 1, 1]
    x, y = s.test[1]
    assert x.shape == (3, 8, 8) and x.dtype == torch.float32 and int(y) == 1
    xt, _ = s.train[0]
    assert xt.shape == (3, 8, 8)


def test_image_folder_class_folder_val_and_exact_pixels(tmp_path):
    shutil.copytree(IMAGENET / "train", tmp_path / "train")
    for synset in ("n01440764", "n01443537"):
        (tmp_path / "val" / synset).mkdir(parents=True)
        shutil.copy(IMAGENET / "train" / synset / f"{synset}_1.png", tmp_path / "val" / synset / "v.png")
    s = image_folder(path=str(tmp_path), val_fraction=0.34, eval_transform=T.ToFloat())
    assert s.test.labels.tolist() == [0, 1]
    assert (len(s.train), len(s.val)) == (4, 2) and sorted(s.val.labels.tolist()) == [0, 1]
    x, _ = s.test[1]
    assert torch.equal(x, folder_pixels(12, 16, 10).float() / 255)


def test_image_folder_single_tree_is_split(tmp_path):
    shutil.copytree(IMAGENET / "train", tmp_path / "all")
    s = image_folder(path=str(tmp_path / "all"), val_fraction=0.34, test_fraction=0.34, image_size=8)
    assert (len(s.train), len(s.val), len(s.test)) == (2, 2, 2)
    assert sorted(s.test.labels.tolist()) == [0, 1]


def test_corrupt_image_names_the_file(tmp_path):
    with pytest.raises(DataFormatError, match="not a readable image") as info:
        load_image(FIXTURES / "corrupt.JPEG")
    assert str(FIXTURES / "corrupt.JPEG") in str(info.value)
    # A truncated JPEG fails on decode, lazily, when the item is read.
    good = (IMAGENET / "train" / "n01443537" / "n01443537_3.JPEG").read_bytes()
    truncated = tmp_path / "half.jpg"
    truncated.write_bytes(good[: len(good) // 2])
    ds = ImageFolderDataset([(truncated, 0)], T.ToFloat())
    with pytest.raises(DataFormatError, match="not a readable image") as info:
        ds[0]
    assert str(truncated) in str(info.value)


def test_empty_class_folder_and_empty_tree(tmp_path):
    shutil.copytree(IMAGENET, tmp_path / "in")
    empty = tmp_path / "in" / "train" / "n09999999"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="class folder has no images") as info:
        image_folder(path=str(tmp_path / "in"))
    assert str(empty) in str(info.value)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataFormatError, match="no class folders found") as info:
        image_folder(path=str(tmp_path / "nothing"))
    assert str(tmp_path / "nothing") in str(info.value)


def test_non_image_file_in_class_folder(tmp_path):
    shutil.copytree(IMAGENET, tmp_path / "in")
    stray = tmp_path / "in" / "train" / "n01440764" / "notes.txt"
    stray.write_text("x")
    (tmp_path / "in" / "train" / "n01440764" / ".DS_Store").write_text("hidden files are ignored")
    with pytest.raises(DataFormatError, match="not an image file") as info:
        image_folder(path=str(tmp_path / "in"))
    assert str(stray) in str(info.value)


def test_loc_csv_unknown_synset_names_file_and_line(tmp_path):
    shutil.copytree(IMAGENET, tmp_path / "in")
    csv_path = tmp_path / "in" / "LOC_val_solution.csv"
    lines = csv_path.read_text().splitlines()
    lines[2] = lines[2].replace("n01440764", "n04000000")
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="synset 'n04000000' of ILSVRC2012_val_00000001") as info:
        image_folder(path=str(tmp_path / "in"))
    assert f"{csv_path}:3:" in str(info.value)


def test_loc_csv_missing_row_and_missing_csv(tmp_path):
    shutil.copytree(IMAGENET, tmp_path / "in")
    csv_path = tmp_path / "in" / "LOC_val_solution.csv"
    csv_path.write_text("\n".join(csv_path.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(DataFormatError, match="no label for 1 image") as info:
        image_folder(path=str(tmp_path / "in"))
    assert str(csv_path) in str(info.value)
    csv_path.unlink()
    with pytest.raises(DataFormatError, match="needs LOC_val_solution.csv") as info:
        image_folder(path=str(tmp_path / "in"))
    assert str(tmp_path / "in" / "val") in str(info.value)


def test_image_folder_val_class_not_in_train(tmp_path):
    shutil.copytree(IMAGENET / "train", tmp_path / "train")
    (tmp_path / "val" / "n07000000").mkdir(parents=True)
    shutil.copy(FIXTURES / "imagenet" / "val" / "ILSVRC2012_val_00000001.JPEG", tmp_path / "val" / "n07000000")
    with pytest.raises(DataFormatError, match="not one of the 2 training classes") as info:
        image_folder(path=str(tmp_path))
    assert str(tmp_path / "val" / "n07000000") in str(info.value)
