"""Pieces shared by the image and video datasets (:mod:`paperzoo.data.images`, :mod:`paperzoo.data.video`).

- Containers: :class:`InMemoryDataset` (labelled uint8 tensors transformed when read, the base of
  ``TensorImageDataset`` and ``TensorVideoDataset``) and :class:`DatasetSplits` (the train/val/test
  fields and ``with_transforms`` of ``ImageSplits`` and ``VideoSplits``).
- Splits: :func:`stratified_split` (re-exported by :mod:`paperzoo.data.images`), :func:`split_samples`
  for ``(file, label)`` lists, and the argument checks of the factories.
- Procedural drawing: the signed distances of :data:`SHAPE_KINDS`, the fill patterns of
  :data:`TEXTURE_KINDS`, random contrasting colours and clutter discs, used by ``shapes`` and
  ``moving_shapes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .transforms import Transform, hsv_to_rgb

__all__ = [
    "SHAPE_KINDS",
    "TEXTURE_KINDS",
    "InMemoryDataset",
    "DatasetSplits",
    "to_float",
    "one_thread",
    "check_fraction",
    "check_positive",
    "check_procedural",
    "balanced_labels",
    "stratified_split",
    "split_samples",
    "shape_sdf",
    "texture_pattern",
    "per_kind",
    "unit_value_rgb",
    "contrasting_colours",
    "paint_clutter",
]

SHAPE_KINDS = ("circle", "square", "triangle", "cross", "ring")
TEXTURE_KINDS = ("solid", "stripes", "checks")

_S = TypeVar("_S", bound="DatasetSplits")


# ---------------------------------------------------------------------------------------------- containers
def to_float(x: Tensor) -> Tensor:
    """uint8 in [0, 255] -> float32 in [0, 1]; anything else is cast to float32 as it is."""
    return x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x.to(torch.float32)


class InMemoryDataset(Dataset):
    """Labelled uint8 tensors held in memory, transformed when read.

    Items are ``(transform(data[i]) float32, label int64 ())``; :meth:`get_batch` transforms a whole
    batch in one call (the trainer uses it instead of a DataLoader). Random transforms draw from
    ``generator`` when given, else from torch's global RNG (captured by checkpoints). A transform
    whose output is still uint8 is followed by /255.

    Args:
        data: (N, ...) uint8, with ``len(layout)`` dimensions.
        labels: (N,) integer class indices.
        transform: applied to single items and to batches; None: to float only.
        name: what the data is called in error messages (``"images"``).
        layout: the expected dimensions for error messages (``"(N, C, H, W)"``).
    """

    def __init__(self, data: Tensor, labels: Tensor, transform: Transform | None, *, name: str, layout: str) -> None:
        if data.dtype != torch.uint8 or data.ndim != len(layout.split(",")):
            raise ValueError(f"{name} must be uint8 {layout} (got {data.dtype} {tuple(data.shape)})")
        if labels.ndim != 1 or len(labels) != len(data):
            raise ValueError(f"labels must be (N,) with N={len(data)} (got {tuple(labels.shape)})")
        self.data, self.labels = data, labels.long()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        if self.transform is not None:
            x = self.transform(x) if generator is None else self.transform(x, generator=generator)
        return to_float(x)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self._apply(self.data[index], None), self.labels[index]

    def get_batch(
        self, indices: Sequence[int] | Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(items (B, ...) float32, labels (B,) int64)`` for ``indices`` (multi-view transforms add a
        view axis after B)."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self._apply(self.data[idx], generator), self.labels[idx]

    def with_transform(self, transform: Transform | None) -> Any:
        """The same data (shared storage) read through another transform."""
        return type(self)(self.data, self.labels, transform)


@dataclass
class DatasetSplits:
    """The fields every train/validation/test bundle has; subclasses add theirs after these."""

    train: Dataset
    val: Dataset
    test: Dataset
    num_classes: int
    in_chans: int

    def with_transforms(self: _S, train: Transform | None = None, eval: Transform | None = None) -> _S:
        """A copy whose training set uses ``train`` and whose val/test sets use ``eval`` (None keeps them)."""
        return replace(
            self,
            train=self.train.with_transform(train) if train is not None else self.train,
            val=self.val.with_transform(eval) if eval is not None else self.val,
            test=self.test.with_transform(eval) if eval is not None else self.test,
        )


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one intra-op thread: procedural rendering works on small tensors, where
    threads cost more than they save (5-20x slower on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------- splits and checks
def check_fraction(name: str, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1) (got {value})")


def check_positive(**values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive (got {value})")


def check_procedural(
    *,
    train_size: int,
    val_size: int,
    test_size: int,
    image_size: int,
    noise: float,
    clutter: int,
    num_frames: int | None = None,
) -> None:
    """The checks of the procedural datasets' arguments: positive split sizes, a side >= 16, at least
    two frames (clips), noise and clutter >= 0."""
    check_positive(train_size=train_size, val_size=val_size, test_size=test_size)
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16 (got {image_size})")
    if num_frames is not None and num_frames < 2:
        raise ValueError(f"num_frames must be >= 2 (got {num_frames})")
    if noise < 0 or clutter < 0:
        raise ValueError(f"noise and clutter must be >= 0 (got {noise}, {clutter})")


def balanced_labels(size: int, num_classes: int, generator: torch.Generator) -> Tensor:
    """``size`` labels cycling through the classes, then shuffled: balanced up to one item, (size,)."""
    return (torch.arange(size) % num_classes)[torch.randperm(size, generator=generator)]


def stratified_split(labels: Tensor, fractions: Sequence[float], *, seed: int) -> list[Tensor]:
    """Seeded split that keeps every part's class proportions.

    Part ``k`` gets ``round(N * fractions[k])`` items, shared among the classes in proportion to
    their sizes (largest-remainder rounding, so each class is within one item of its quota and
    small classes are not rounded away); the items are drawn at random within each class.

    Returns:
        ``[rest, part_0, part_1, ...]`` as sorted index tensors; the rest is the training part.
    """
    if any(f < 0 for f in fractions) or sum(fractions) >= 1:
        raise ValueError(f"split fractions must be >= 0 and sum below 1 (got {list(fractions)})")
    g = torch.Generator().manual_seed(seed)
    classes, sizes = torch.unique(labels, return_counts=True)
    left = sizes.clone()  # items of each class not yet assigned
    counts = []
    for f in fractions:
        quota = sizes.double() * f
        take = torch.minimum(quota.floor().long(), left)
        extra = int(round(len(labels) * f)) - int(take.sum())
        # Hand the remaining items to the largest fractional parts (ties in a seeded random order).
        jitter = torch.rand(len(sizes), generator=g, dtype=torch.float64) * 1e-9
        room = (take < left).double()
        order = torch.argsort((quota - quota.floor() + jitter) * room, descending=True)
        take[order[: max(extra, 0)]] += (room[order[: max(extra, 0)]] > 0).long()
        left -= take
        counts.append(take)
    parts: list[list[Tensor]] = [[] for _ in range(len(fractions) + 1)]
    for c, cls in enumerate(classes.tolist()):
        idx = (labels == cls).nonzero().squeeze(1)
        idx = idx[torch.randperm(len(idx), generator=g)]
        start = 0
        for k in range(len(fractions)):
            n = int(counts[k][c])
            parts[k + 1].append(idx[start : start + n])
            start += n
        parts[0].append(idx[start:])
    return [torch.cat(p).sort().values if p else torch.empty(0, dtype=torch.long) for p in parts]


def split_samples(samples: Sequence[tuple[Any, int]], fractions: Sequence[float], *, seed: int) -> list[list]:
    """:func:`stratified_split` of ``(item, label)`` pairs: ``[rest, part_0, ...]`` as lists of pairs."""
    labels = torch.tensor([label for _, label in samples])
    return [[samples[i] for i in part.tolist()] for part in stratified_split(labels, fractions, seed=seed)]


# ---------------------------------------------------------------------------------------------- drawing
def shape_sdf(kind: str, u: Tensor, v: Tensor) -> Tensor:
    """Signed distance (negative inside) to a shape of circumradius about 1 in its own frame (u, v)."""
    if kind == "circle":
        return torch.sqrt(u * u + v * v) - 1.0
    if kind == "square":
        return torch.maximum(u.abs(), v.abs()) - 0.86  # corners reach 1.22: distinct from the circle
    if kind == "triangle":
        # Equilateral: intersection of three half-planes with outward normals 120 degrees apart.
        sides = [u * math.cos(a) + v * math.sin(a) for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)]
        return torch.maximum(torch.maximum(sides[0], sides[1]), sides[2]) - 0.55
    if kind == "cross":
        bar_h = torch.maximum(u.abs() - 1.0, v.abs() - 0.36)
        bar_v = torch.maximum(u.abs() - 0.36, v.abs() - 1.0)
        return torch.minimum(bar_h, bar_v)
    if kind == "ring":
        return (torch.sqrt(u * u + v * v) - 0.72).abs() - 0.28
    raise ValueError(f"unknown shape {kind!r}; known: {SHAPE_KINDS}")


def texture_pattern(kind: str, a: Tensor, b: Tensor) -> Tensor:
    """Fill pattern in [-1, 1] from texture coordinates (a, b) measured in periods."""
    if kind == "solid":
        return torch.zeros_like(a)
    if kind == "stripes":
        return torch.tanh(3.0 * torch.sin(2 * math.pi * a))
    if kind == "checks":
        return torch.tanh(6.0 * torch.sin(2 * math.pi * a) * torch.sin(2 * math.pi * b))
    raise ValueError(f"unknown texture {kind!r}; known: {TEXTURE_KINDS}")


def per_kind(
    fn: Callable[[str, Tensor, Tensor], Tensor], kinds: Sequence[str], ids: Tensor, a: Tensor, b: Tensor
) -> Tensor:
    """``fn(kinds[ids[n]], a[n], b[n])`` for every item n, one vectorised call per kind (zeros where no
    kind applies). ``ids``: (N,); ``a``, ``b``: (N, ...)."""
    out = torch.zeros_like(a)
    for k, kind in enumerate(kinds):
        sel = (ids == k).nonzero().squeeze(1)
        if sel.numel():
            out[sel] = fn(kind, a[sel], b[sel])
    return out


def unit_value_rgb(hue: Tensor, saturation: Tensor) -> Tensor:
    """RGB of ``(hue, saturation, value=1)`` per image, (N, 3): with hue and saturation fixed, RGB is
    linear in the HSV value, so a value map times this vector colours a whole image in one product."""
    hsv = torch.stack([hue, saturation, torch.ones_like(hue)], dim=1)[:, :, None, None]
    return hsv_to_rgb(hsv)[:, :, 0, 0]


def contrasting_colours(n: int, gap: float, generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fill and background colours of random hue whose HSV values differ by at least ``gap``.

    The fill's value is uniform in [0.25, 0.75]; the background's lies above or below it (either
    when both fit), so neither brightness nor polarity tells anything.

    Returns:
        ``fg_v, bg_v`` (N,) HSV values and ``fg_rgb, bg_rgb`` (N, 3) colours at value 1.
    """

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator)

    fg_v = 0.25 + 0.5 * rand(n)
    above = torch.where(fg_v < 0.45, True, torch.where(fg_v > 0.55, False, rand(n) < 0.5))
    lo = torch.where(above, fg_v + gap, torch.zeros_like(fg_v))
    hi = torch.where(above, torch.ones_like(fg_v), fg_v - gap)
    bg_v = lo + (hi - lo).clamp(min=0) * rand(n)
    fg_rgb = unit_value_rgb(rand(n), 0.15 + 0.65 * rand(n))  # (N, 3)
    bg_rgb = unit_value_rgb(rand(n), 0.15 + 0.65 * rand(n))
    return fg_v, bg_v, fg_rgb, bg_rgb


def paint_clutter(back: Tensor, x: Tensor, y: Tensor, blobs: Tensor, *, size: int, radius: float) -> Tensor:
    """Blend anti-aliased discs into the background values ``back`` (m, S, S).

    ``x`` and ``y`` are pixel-centre coordinates broadcasting to (m, S, S); ``blobs`` (m, K, 4) holds each
    disc's centre (x, y as fractions of ``size``), radius (``radius * (1 + r)`` pixels) and value.
    """
    for j in range(blobs.shape[1]):
        r2 = (x - size * blobs[:, j, 0, None, None]) ** 2 + (y - size * blobs[:, j, 1, None, None]) ** 2
        cover = ((radius + radius * blobs[:, j, 2, None, None]) - r2.sqrt()).clamp(0.0, 1.0)
        back = back + cover * (blobs[:, j, 3, None, None] - back)
    return back
