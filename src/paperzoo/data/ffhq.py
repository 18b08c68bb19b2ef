"""FFHQ (Flickr-Faces-HQ, Karras et al. 2019): the published folder layout, decoded lazily.

VQ-VAE-2 (Razavi et al. 2019) trains its three-level model on FFHQ at 1024×1024. The release
(https://github.com/NVlabs/ffhq-dataset) stores 70,000 PNGs in folders of 1,000::

    ROOT/images1024x1024/00000/00000.png … 00999.png
    ROOT/images1024x1024/01000/01000.png … 01999.png
    …                    69000/69999.png
    ROOT/thumbnails128x128/00000/00000.png …   (the same images at 128×128)

``path`` may be the dataset root (``images1024x1024/`` is used when present, else ``thumbnails128x128/``; or pick
with ``folder``) or one of those folders. Images 0-59,999 are FFHQ's training set and 60,000-69,999 its
validation set (the ``category`` field of the release's ``ffhq-dataset-v2.json``); the validation images form
``test`` here and ``val_fraction`` of the training images (seeded) form ``val``. A subset with no image numbered
60,000 or above carves ``test_fraction`` for ``test`` instead.

Layout checks (:class:`~paperzoo.data.errors.DataFormatError` naming the path): a sub-folder must be a five-digit
multiple of 1000, a file inside it ``NNNNN.png`` with its number in the folder's range, and every image decodes
(Pillow) to a square RGB image; loose ``.txt``/``.json``/``.md`` files (the release's LICENSE.txt) are ignored, any
other loose file is an error. Images are resized to ``resolution`` (bilinear with antialiasing) unless the caller's
transforms do it. Items are ``(image float32 (3, R, R) in [0, 1], label 0)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import Tensor

from ..registry import register_dataset
from .errors import DataFormatError
from .images import ImageFolderDataset, ImageSplits, load_image
from .transforms import Compose, Resize, ToFloat, Transform

__all__ = ["FFHQ_FOLDERS", "FFHQDataset", "scan_ffhq", "ffhq"]

FFHQ_FOLDERS = ("images1024x1024", "thumbnails128x128")
_NUM_TRAIN = 60_000  # images 0-59,999: training; 60,000-69,999: validation
_SUBDIR = re.compile(r"^\d{5}$")
_FILE = re.compile(r"^(\d{5})\.png$")


class FFHQDataset(ImageFolderDataset):
    """FFHQ PNGs decoded lazily; a non-square image is a :class:`DataFormatError`."""

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        path, label = self.samples[index]
        image = load_image(path)
        if image.shape[1] != image.shape[2]:
            raise DataFormatError(path, f"FFHQ images are square, got {image.shape[2]}×{image.shape[1]}")
        x = self.transform(image)
        x = x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x.to(torch.float32)
        return x, torch.tensor(label, dtype=torch.long)

    def with_transform(self, transform: Transform | None) -> FFHQDataset:
        return FFHQDataset(self.samples, transform)


def _image_folder(root: Path, folder: str | None) -> Path:
    if folder is not None:
        if folder not in FFHQ_FOLDERS:
            raise ValueError(f"folder must be one of {FFHQ_FOLDERS} (got {folder!r})")
        if root.name == folder:
            return root
        if not (root / folder).is_dir():
            raise DataFormatError(root, f"no {folder}/ folder")
        return root / folder
    if root.name in FFHQ_FOLDERS:
        return root
    for name in FFHQ_FOLDERS:
        if (root / name).is_dir():
            return root / name
    raise DataFormatError(root, f"no {' or '.join(f + '/' for f in FFHQ_FOLDERS)} folder (FFHQ's published layout)")


def scan_ffhq(folder: str | Path) -> list[tuple[int, Path]]:
    """``[(image number, path), ...]`` of an ``images1024x1024``/``thumbnails128x128`` folder, sorted by number.

    Raises DataFormatError for a sub-folder or file that does not follow ``NNNNN/NNNNN.png`` (numbers in the
    sub-folder's range of 1,000), or when there are no images.
    """
    folder = Path(folder)
    out: list[tuple[int, Path]] = []
    with os.scandir(folder) as entries:
        top = sorted(entries, key=lambda e: e.name)
    for entry in top:
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            if Path(entry.name).suffix.lower() in (".txt", ".json", ".md"):
                continue  # LICENSE.txt and metadata next to the image folders
            raise DataFormatError(entry.path, "unexpected file (expected NNNNN/ folders of 1,000 PNGs)")
        if not _SUBDIR.match(entry.name) or int(entry.name) % 1000:
            raise DataFormatError(entry.path, "expected a five-digit folder name that is a multiple of 1000")
        base = int(entry.name)
        with os.scandir(entry.path) as files:
            for f in sorted(files, key=lambda e: e.name):
                if f.name.startswith("."):
                    continue
                m = _FILE.match(f.name)
                if not f.is_file() or m is None:
                    raise DataFormatError(f.path, "expected a five-digit NNNNN.png image file")
                number = int(m[1])
                if not base <= number < base + 1000:
                    raise DataFormatError(f.path, f"image {number} does not belong in folder {entry.name}")
                out.append((number, Path(f.path)))
    if not out:
        raise DataFormatError(folder, "no images (expected NNNNN/NNNNN.png)")
    return out


@register_dataset(
    description="FFHQ (70,000 faces, 1024×1024 or 128×128 PNGs), resized to `resolution`; images 60,000+ are test",
    builtin=False,
    file_format="ROOT/images1024x1024/NNNNN/NNNNN.png in folders of 1,000 (or thumbnails128x128/)",
)
def ffhq(
    *,
    path: str,
    seed: int = 0,
    resolution: int = 1024,
    folder: str | None = None,
    val_fraction: float = 0.0,
    test_fraction: float = 0.1,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> ImageSplits:
    """Read FFHQ from ``path`` (see the module docstring for the layout and split).

    Args:
        resolution: side of the images the default transform produces (1024; 256 for the VQ-VAE-2 ImageNet-size
            models). Ignored when both transforms are given.
        folder: ``"images1024x1024"`` or ``"thumbnails128x128"`` (default: the first present).
        val_fraction: of the training images, seeded. test_fraction: used only without images 60,000+.
        train_transform, eval_transform: replace the default ``Resize(resolution)`` (uint8 in, float out).
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1) (got {value})")
    if resolution < 1:
        raise ValueError(f"resolution must be >= 1 (got {resolution})")
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "FFHQ folder not found (expected a directory)")
    images = scan_ffhq(_image_folder(root, folder))
    train = [p for n, p in images if n < _NUM_TRAIN]
    test = [p for n, p in images if n >= _NUM_TRAIN]
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train), generator=g).tolist()
    n_test = 0 if test else round(len(train) * test_fraction)
    n_val = round(len(train) * val_fraction)
    if not test:
        test = [train[i] for i in sorted(order[:n_test])]
    val = [train[i] for i in sorted(order[n_test : n_test + n_val])]
    train = [train[i] for i in sorted(order[n_test + n_val :])]
    if not train:
        raise DataFormatError(root, f"no training images left after the split ({len(images)} images)")
    default = Compose([Resize(resolution), ToFloat()])
    train_tf = train_transform if train_transform is not None else default
    eval_tf = eval_transform if eval_transform is not None else default
    return ImageSplits(
        train=FFHQDataset([(p, 0) for p in train], train_tf),
        val=FFHQDataset([(p, 0) for p in val], eval_tf),
        test=FFHQDataset([(p, 0) for p in test], eval_tf),
        num_classes=1,
        in_chans=3,
        image_size=resolution,
        class_names=["face"],
        source=f"FFHQ at {root}: {len(train)} train / {len(val)} val / {len(test)} test images, {resolution}px",
    )
