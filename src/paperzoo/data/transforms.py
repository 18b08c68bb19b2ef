"""Image transforms in plain torch (torchvision cannot be installed here).

Every transform takes one image ``(C, H, W)`` or a batch ``(B, C, H, W)`` and returns the same
layout (:class:`TenCrop` adds a crop axis: ``(10, C, h, w)`` or ``(B, 10, C, h, w)``). Random
transforms draw one set of parameters per image, vectorised over the batch, from ``generator``
when one is passed and otherwise from torch's global CPU RNG, which the trainer's checkpoints
capture; so augmentation is reproducible under ``--resume``. Parameters are always drawn on the
CPU (then moved to the images' device), so a seed gives the same augmentation on any device.

Geometric transforms (crops, flips, resizes) keep the dtype, so a pipeline can crop ``uint8``
images before :class:`ToFloat` (cheaper than cropping floats); photometric ones
(:class:`ColorJitter`, :class:`PCALighting`, :class:`Normalize`) need float images in [0, 1].

The augmentations follow the papers that introduced them:

- :class:`RandomResizedCrop`: GoogLeNet (Szegedy et al., 2015, "Going Deeper with Convolutions",
  arXiv:1409.4842, §6): crops covering 8%-100% of the image area with aspect ratio in [3/4, 4/3].
  Sampling follows torchvision's ``RandomResizedCrop.get_params`` (10 attempts with the area drawn
  uniformly and the ratio log-uniformly, then a central crop clipped to the ratio range).
- :class:`PCALighting`: AlexNet (Krizhevsky et al., 2012, "ImageNet Classification with Deep
  Convolutional Neural Networks", §4.1), with the ImageNet RGB eigen-decomposition for pixels in
  [0, 1] published with fb.resnet.torch (``datasets/transforms.lua``).
- :class:`TenCrop`: AlexNet's test protocol (§4.1): four corners and the centre, and their mirrors.
- :class:`RandomCrop` with 4-pixel zero padding + :class:`RandomHorizontalFlip`: the CIFAR protocol
  of ResNet (He et al., 2016, "Deep Residual Learning for Image Recognition", arXiv:1512.03385, §4.2).
- :class:`ColorJitter`: the brightness/contrast/saturation/hue jitter of torchvision (formulas of
  PIL's ``ImageEnhance``), used with 0.4 by fb.resnet.torch; factors are applied in a random order.

Deviations from torchvision: :class:`TenCrop` mirrors each of the five crops (the paper's wording)
where torchvision crops the mirrored image; the two give the same ten patches, in another order,
except when the centre offset is odd. :class:`CenterCrop` raises when the crop is larger than the
image instead of zero-padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "IMAGENET_PCA_EIGVAL",
    "IMAGENET_PCA_EIGVEC",
    "Transform",
    "Compose",
    "ToFloat",
    "Normalize",
    "Resize",
    "CenterCrop",
    "TenCrop",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "ColorJitter",
    "PCALighting",
    "rgb_to_hsv",
    "hsv_to_rgb",
    "rgb_to_grayscale",
    "resize_images",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "imagenet_train_transform",
    "imagenet_eval_transform",
    "ten_crop_eval_transform",
    "inception_eval_transform",
    "cifar_train_transform",
    "cifar_eval_transform",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Per-channel statistics of the 50,000 CIFAR-10 training images in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
# Eigenvalues and eigenvectors (columns) of the ImageNet RGB covariance, pixels in [0, 1] (fb.resnet.torch).
IMAGENET_PCA_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_PCA_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)
# ITU-R 601-2 luma, as PIL's convert("L") and torchvision's rgb_to_grayscale use.
_LUMA = (0.2989, 0.587, 0.114)


# ---------------------------------------------------------------------------------------------- helpers
def _pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(size, int):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"{name} must be a positive int or (height, width) (got {size})")
    return size  # type: ignore[return-value]


def _range(value: float | Sequence[float], name: str, *, center: float, lower: float | None) -> tuple[float, float]:
    """``v`` -> ``(center - v, center + v)`` (clipped at ``lower``); a pair is taken as given."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (got {value})")
        lo, hi = center - value, center + value
        if lower is not None:
            lo = max(lower, lo)
    else:
        lo, hi = (float(v) for v in value)
    if lo > hi or (lower is not None and lo < lower):
        raise ValueError(f"{name} range must be increasing and >= {lower} (got {value})")
    return float(lo), float(hi)


def _check_batch(x: Tensor, what: str, item: str, dims: str) -> bool:
    """True for a batch ``(B, *dims)``, False for one ``item`` ``(*dims)``; anything else is a ValueError."""
    ndim = len(dims.split(","))
    if not isinstance(x, Tensor) or x.ndim not in (ndim, ndim + 1):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} expected {item} ({dims}) or a batch (B, {dims}) (got {shape})")
    return x.ndim == ndim + 1


def _check_float(x: Tensor, what: str) -> None:
    if not x.is_floating_point():
        raise ValueError(f"{what} expected a float image in [0, 1]; put ToFloat() first (got {x.dtype})")


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator)


def resize_images(x: Tensor, size: tuple[int, int], mode: str, antialias: bool) -> Tensor:
    """Resize a batch (B, C, H, W) to ``size`` with ``F.interpolate`` (``mode``; ``antialias`` for bilinear
    and bicubic); uint8 is computed in float and rounded back (as PIL does)."""
    if tuple(x.shape[-2:]) == size:
        return x
    y = x.float() if x.dtype == torch.uint8 else x
    kwargs = {"antialias": antialias, "align_corners": False} if mode in ("bilinear", "bicubic") else {}
    y = F.interpolate(y, size=size, mode=mode, **kwargs)
    if x.dtype == torch.uint8:
        y = y.round_().clamp_(0, 255).to(torch.uint8)
    return y


def _crop(x: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    return x[..., top : top + height, left : left + width]


def _gather_crops(x: Tensor, top: Tensor, left: Tensor, height: int, width: int) -> Tensor:
    """Per-image crops of one size from a batch (B, C, H, W) by advanced indexing (no loop)."""
    b, c = x.shape[:2]
    rows = top[:, None] + torch.arange(height, device=x.device)  # (B, h)
    cols = left[:, None] + torch.arange(width, device=x.device)  # (B, w)
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return x[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, h, w)


def _per_image(factor: float | Tensor, x: Tensor) -> Tensor:
    """A scalar or one factor per image of ``x`` (..., C, H, W), shaped to broadcast over (C, H, W)."""
    f = torch.as_tensor(factor, dtype=x.dtype, device=x.device)
    return f.reshape(f.shape + (1, 1, 1))


# ---------------------------------------------------------------------------------------------- colour maths
def rgb_to_grayscale(x: Tensor) -> Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` of (..., 3, H, W) -> (..., 1, H, W); one channel is returned as is."""
    if x.shape[-3] == 1:
        return x
    r, g, b = x.unbind(-3)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(-3)


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB in [0, 1] (..., 3, H, W) -> HSV (..., 3, H, W) with hue in [0, 1) (as ``colorsys.rgb_to_hsv``)."""
    r, g, b = x.unbind(-3)
    maxc, _ = x.max(-3)
    minc, _ = x.min(-3)
    delta = maxc - minc
    grey = delta == 0
    safe = torch.where(grey, torch.ones_like(delta), delta)
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    # Hue sector: red is max -> (g - b) / delta, green -> 2 + (b - r) / delta, blue -> 4 + (r - g) / delta.
    h = torch.where(maxc == r, (g - b) / safe, torch.where(maxc == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = torch.where(grey, torch.zeros_like(h), (h / 6.0) % 1.0)
    return torch.stack([h, s, maxc], dim=-3)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """HSV (..., 3, H, W), hue in [0, 1) -> RGB in [0, 1].

    Uses the closed form ``c_n = V - V S clamp(min(k, 4 - k), 0, 1)``, ``k = (n + 6 H) mod 6`` with
    ``n = 5, 3, 1`` for R, G, B, which needs no per-sector branching.
    """
    h, s, v = x.unbind(-3)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=x.dtype, device=x.device).reshape((3,) + (1,) * (h.ndim))
    k = (n + 6.0 * h.unsqueeze(0)) % 6.0  # (3, ..., H, W)
    rgb = v - v * s * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
    return torch.movedim(rgb, 0, -3)


def _blend(a: Tensor, b: Tensor, factor: Tensor) -> Tensor:
    """``factor * a + (1 - factor) * b`` clamped to [0, 1] (PIL's ImageEnhance)."""
    return (factor * a + (1.0 - factor) * b).clamp(0.0, 1.0)


def adjust_brightness(x: Tensor, factor: float | Tensor) -> Tensor:
    """Scale intensities by ``factor`` (one per image or a scalar): blend with black."""
    return _blend(x, torch.zeros_like(x), _per_image(factor, x))


def adjust_contrast(x: Tensor, factor: float | Tensor) -> Tensor:
    """Blend with the image's mean grey level."""
    mean = rgb_to_grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(x, mean, _per_image(factor, x))


def adjust_saturation(x: Tensor, factor: float | Tensor) -> Tensor:
    """Blend with the image's grey version (no-op on one channel)."""
    return _blend(x, rgb_to_grayscale(x), _per_image(factor, x))


def adjust_hue(x: Tensor, shift: float | Tensor) -> Tensor:
    """Rotate the hue by ``shift`` in [-0.5, 0.5] (a fraction of the colour circle)."""
    if x.shape[-3] != 3:
        raise ValueError(f"hue jitter expected 3 channels (got {x.shape[-3]})")
    h, s, v = rgb_to_hsv(x).unbind(-3)
    shift = torch.as_tensor(shift, dtype=x.dtype, device=x.device)
    h = (h + shift.reshape(shift.shape + (1, 1))) % 1.0
    return hsv_to_rgb(torch.stack([h, s, v], dim=-3))


# ---------------------------------------------------------------------------------------------- transforms
class Transform:
    """Base class: ``t(x, generator=None)`` on (C, H, W) or (B, C, H, W).

    Subclasses implement :meth:`apply` on a batch; a single image is processed as a batch of one.
    ``_item`` and ``_dims`` name the layout of one input (video transforms take clips (C, T, H, W)).
    """

    _item, _dims = "an image", "C, H, W"

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        batched = _check_batch(x, type(self).__name__, self._item, self._dims)
        out = self.apply(x if batched else x.unsqueeze(0), generator)
        return out if batched else out.squeeze(0)

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order, passing the same ``generator`` to each."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ValueError(f"Compose expected callables (got {t!r})")

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        for t in self.transforms:
            x = t(x, generator=generator) if isinstance(t, Transform) else t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n  {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToFloat(Transform):
    """uint8 in [0, 255] -> float32 in [0, 1]; float input is returned as float32 unchanged."""

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        if x.dtype == torch.uint8:
            return x.to(torch.float32).div_(255.0)
        if x.is_floating_point():
            return x.to(torch.float32)
        raise ValueError(f"ToFloat expected uint8 or float images (got {x.dtype})")


class Normalize(Transform):
    """``(x - mean) / std`` per channel; works on any leading dimensions (..., C, H, W)."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(f"mean and std need one value per channel (got {len(self.mean)} and {len(self.std)})")
        if min(self.std) <= 0:
            raise ValueError(f"std must be positive (got {self.std})")

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        _check_float(x, "Normalize")
        if x.ndim < 3 or x.shape[-3] != len(self.mean):
            raise ValueError(f"Normalize expected (..., {len(self.mean)}, H, W) (got {tuple(x.shape)})")
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
        return (x - mean) / std


class Resize(Transform):
    """Resize so the shorter side is ``size`` (an int), or to exactly ``(height, width)``.

    The longer side becomes ``int(size * long / short)`` (truncated, as torchvision does). Bilinear
    with ``antialias=True`` matches PIL's area-aware downsampling.
    """

    def __init__(self, size: int | Sequence[int], *, interpolation: str = "bilinear", antialias: bool = True) -> None:
        if interpolation not in ("bilinear", "bicubic", "nearest", "nearest-exact"):
            raise ValueError(f"interpolation must be bilinear, bicubic, nearest or nearest-exact (got {interpolation})")
        if isinstance(size, int):
            if size <= 0:
                raise ValueError(f"size must be positive (got {size})")
            self.size: int | tuple[int, int] = size
        else:
            self.size = _pair(size, "size")
        self.interpolation, self.antialias = interpolation, antialias

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        if not isinstance(self.size, int):
            return self.size
        if height <= width:
            return self.size, int(self.size * width / height)
        return int(self.size * height / width), self.size

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return resize_images(x, self.output_size(*x.shape[-2:]), self.interpolation, self.antialias)


class CenterCrop(Transform):
    """The central ``(h, w)`` patch; offsets ``round((H - h) / 2)`` as torchvision (Python rounding)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size, "size")

    def offsets(self, height: int, width: int) -> tuple[int, int]:
        h, w = self.size
        if h > height or w > width:
            raise ValueError(f"CenterCrop expected an image of at least {h}x{w} (got {height}x{width})")
        return int(round((height - h) / 2.0)), int(round((width - w) / 2.0))

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        top, left = self.offsets(*x.shape[-2:])
        return _crop(x, top, left, *self.size)


class TenCrop(Transform):
    """AlexNet's test-time crops: top-left, top-right, bottom-left, bottom-right, centre, then each mirrored.

    Returns (10, C, h, w) for one image and (B, 10, C, h, w) for a batch; average the ten
    predictions (AlexNet §4.1, "averaging the predictions made by the network's softmax layer on the
    ten patches").
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size, "size")

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        height, width = x.shape[-2:]
        h, w = self.size
        ct, cl = CenterCrop(self.size).offsets(height, width)
        corners = [(0, 0), (0, width - w), (height - h, 0), (height - h, width - w), (ct, cl)]
        five = torch.stack([_crop(x, t, l, h, w) for t, l in corners], dim=1)  # (B, 5, C, h, w)
        return torch.cat([five, five.flip(-1)], dim=1)  # (B, 10, C, h, w)


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1] (got {p})")
        self.p = p

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        flip = (torch.rand(x.shape[0], generator=generator) < self.p).to(x.device)
        return torch.where(flip[:, None, None, None], x.flip(-1), x)


class RandomCrop(Transform):
    """Zero-pad by ``padding`` pixels on each side, then take a random ``size`` crop per image.

    ResNet's CIFAR augmentation (He et al. 2016, §4.2) is ``RandomCrop(32, padding=4)`` followed by
    :class:`RandomHorizontalFlip`.
    """

    def __init__(self, size: int | Sequence[int], *, padding: int = 0, fill: float = 0.0) -> None:
        self.size = _pair(size, "size")
        if padding < 0:
            raise ValueError(f"padding must be >= 0 (got {padding})")
        self.padding, self.fill = int(padding), fill

    def get_params(
        self, batch_size: int, height: int, width: int, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Top-left corners ``(top, left)``, each (B,), in the padded image of ``height`` x ``width``."""
        h, w = self.size
        if h > height or w > width:
            raise ValueError(f"RandomCrop expected a padded image of at least {h}x{w} (got {height}x{width})")
        top = torch.randint(0, height - h + 1, (batch_size,), generator=generator)
        left = torch.randint(0, width - w + 1, (batch_size,), generator=generator)
        return top, left

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        if self.padding:
            x = F.pad(x, (self.padding,) * 4, value=self.fill)
        top, left = self.get_params(x.shape[0], x.shape[-2], x.shape[-1], generator)
        return _gather_crops(x, top.to(x.device), left.to(x.device), *self.size)


class RandomResizedCrop(Transform):
    """Crop a random area fraction in ``scale`` with aspect ratio in ``ratio``, then resize to ``size``.

    The Inception augmentation (GoogLeNet §6). Per image: up to 10 attempts draw the area
    uniformly in ``scale * H * W`` and the ratio ``w / h`` log-uniformly in ``ratio``; the first
    that fits is kept. If none fits, a central crop of the whole image clipped to the ratio range.
    The crop's offset is uniform over the valid positions. The 10 attempts of every image are drawn
    at once (the same distribution as drawing them one by one, not the same random stream as
    torchvision). Resizing is per image (crops differ in size): a loop over the batch, not over pixels.
    """

    attempts = 10

    def __init__(
        self,
        size: int | Sequence[int],
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: str = "bilinear",
        antialias: bool = True,
    ) -> None:
        self.size = _pair(size, "size")
        self.scale, self.ratio = (float(scale[0]), float(scale[1])), (float(ratio[0]), float(ratio[1]))
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale must be an increasing pair of positive numbers (got {scale})")
        if not 0 < self.ratio[0] <= self.ratio[1]:
            raise ValueError(f"ratio must be an increasing pair of positive numbers (got {ratio})")
        self.interpolation, self.antialias = interpolation, antialias

    def get_params(
        self, batch_size: int, height: int, width: int, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Crop boxes ``(top, left, h, w)``, each an int64 tensor (B,)."""
        area = height * width
        u = torch.rand(batch_size, self.attempts, 2, generator=generator, dtype=torch.float64)
        target = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[..., 0])
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(log_lo + (log_hi - log_lo) * u[..., 1])
        # torch.round rounds half to even, as Python's round() in torchvision does.
        w = torch.sqrt(target * aspect).round().long()  # (B, attempts)
        h = torch.sqrt(target / aspect).round().long()
        fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = fits.long().argmax(dim=1, keepdim=True)  # the first attempt that fits (0 if none does)
        ok = fits.any(dim=1)
        # Fallback: the whole image, clipped to the ratio range, centred.
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            fw, fh = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            fw, fh = int(round(height * self.ratio[1])), height
        else:
            fw, fh = width, height
        w = torch.where(ok, w.gather(1, first).squeeze(1), fw)
        h = torch.where(ok, h.gather(1, first).squeeze(1), fh)
        pos = torch.rand(batch_size, 2, generator=generator, dtype=torch.float64)
        top = torch.where(ok, (pos[:, 0] * (height - h + 1)).floor().long(), (height - fh) // 2)
        left = torch.where(ok, (pos[:, 1] * (width - w + 1)).floor().long(), (width - fw) // 2)
        return top, left, h, w

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        top, left, h, w = (p.tolist() for p in self.get_params(x.shape[0], x.shape[-2], x.shape[-1], generator))
        crops = [
            resize_images(
                _crop(x[i : i + 1], top[i], left[i], h[i], w[i]), self.size, self.interpolation, self.antialias
            )
            for i in range(x.shape[0])
        ]
        return torch.cat(crops, dim=0)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, in a random order per image.

    Each of ``brightness``, ``contrast``, ``saturation`` is a float ``v`` (factor uniform in
    ``[max(0, 1 - v), 1 + v]``) or a ``(min, max)`` pair; ``hue`` is a float ``v <= 0.5`` (shift
    uniform in ``[-v, v]``) or a pair. Zero leaves that property unchanged. Needs float images in [0, 1].
    """

    def __init__(
        self,
        brightness: float | tuple[float, float] = 0.0,
        contrast: float | tuple[float, float] = 0.0,
        saturation: float | tuple[float, float] = 0.0,
        hue: float | tuple[float, float] = 0.0,
    ) -> None:
        self.brightness = _range(brightness, "brightness", center=1.0, lower=0.0)
        self.contrast = _range(contrast, "contrast", center=1.0, lower=0.0)
        self.saturation = _range(saturation, "saturation", center=1.0, lower=0.0)
        self.hue = _range(hue, "hue", center=0.0, lower=None)
        if not -0.5 <= self.hue[0] <= self.hue[1] <= 0.5:
            raise ValueError(f"hue must lie in [-0.5, 0.5] (got {hue})")

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        _check_float(x, "ColorJitter")
        b, dev = x.shape[0], x.device
        ops = [
            (self.brightness, adjust_brightness, (1.0, 1.0)),
            (self.contrast, adjust_contrast, (1.0, 1.0)),
            (self.saturation, adjust_saturation, (1.0, 1.0)),
            (self.hue, adjust_hue, (0.0, 0.0)),
        ]
        order = torch.rand(b, 4, generator=generator).argsort(dim=1).to(dev)  # a random order per image
        factors = [_uniform(b, lo, hi, generator).to(dev) for (lo, hi), _, _ in ops]
        out = x.clone()
        for position in range(4):
            for j, (bounds, fn, identity) in enumerate(ops):
                if bounds == identity:
                    continue
                rows = (order[:, position] == j).nonzero().squeeze(1)
                if rows.numel():
                    out[rows] = fn(out[rows], factors[j][rows])
        return out


class PCALighting(Transform):
    """AlexNet's PCA colour augmentation (§4.1): add ``eigvec @ (alpha * eigval)`` to every pixel.

    ``alpha ~ N(0, alphastd^2)`` per image and per component. The default eigen-decomposition is
    ImageNet's RGB covariance for pixels in [0, 1] (fb.resnet.torch). Apply before :class:`Normalize`.
    """

    def __init__(
        self,
        alphastd: float = 0.1,
        *,
        eigval: Sequence[float] = IMAGENET_PCA_EIGVAL,
        eigvec: Sequence[Sequence[float]] = IMAGENET_PCA_EIGVEC,
    ) -> None:
        if alphastd < 0:
            raise ValueError(f"alphastd must be >= 0 (got {alphastd})")
        self.alphastd = float(alphastd)
        self._eigval = torch.tensor(eigval, dtype=torch.float32)
        self._eigvec = torch.tensor(eigvec, dtype=torch.float32)
        if self._eigval.shape != (3,) or self._eigvec.shape != (3, 3):
            raise ValueError(
                f"eigval must be (3,) and eigvec (3, 3) (got {tuple(self._eigval.shape)}, {tuple(self._eigvec.shape)})"
            )

    def offsets(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """The RGB offset of each image, (B, 3)."""
        alpha = torch.randn(batch_size, 3, generator=generator) * self.alphastd
        return (alpha * self._eigval) @ self._eigvec.T  # row b: sum_j eigvec[:, j] * alpha_bj * eigval_j

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        _check_float(x, "PCALighting")
        if x.shape[1] != 3:
            raise ValueError(f"PCALighting expected 3 channels (got {x.shape[1]})")
        return x + self.offsets(x.shape[0], generator).to(x)[:, :, None, None]


# ---------------------------------------------------------------------------------------------- pipelines
def imagenet_train_transform(
    size: int = 224,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    color_jitter: float = 0.0,
    lighting: float = 0.0,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """ImageNet training: GoogLeNet's random-resized crop (Szegedy et al. 2015, §6) + horizontal flip.

    This is the protocol torchvision's reference scripts use for every ImageNet classifier. With
    ``color_jitter=0.4, lighting=0.1`` it is fb.resnet.torch's (ResNet, He et al. 2016, which cites
    AlexNet's colour augmentation): brightness/contrast/saturation jitter + AlexNet PCA lighting.
    """
    steps: list[Transform] = [RandomResizedCrop(size, scale=scale), RandomHorizontalFlip(), ToFloat()]
    if color_jitter:
        steps.append(ColorJitter(color_jitter, color_jitter, color_jitter))
    if lighting:
        steps.append(PCALighting(lighting))
    return Compose([*steps, Normalize(mean, std)])


def imagenet_eval_transform(
    size: int = 224,
    resize: int = 256,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """Single-crop evaluation: shorter side to ``resize``, centre ``size`` crop (the 224/256 protocol of
    VGG/ResNet single-crop results and torchvision's reference evaluation)."""
    return Compose([Resize(resize), CenterCrop(size), ToFloat(), Normalize(mean, std)])


def ten_crop_eval_transform(
    size: int = 224,
    resize: int = 256,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """AlexNet's test protocol (Krizhevsky et al. 2012, §2 and §4.1): shorter side to 256, central
    256x256 patch, then the ten 224x224 patches of :class:`TenCrop`. Returns (10, C, size, size) per image."""
    return Compose([Resize(resize), CenterCrop(resize), TenCrop(size), ToFloat(), Normalize(mean, std)])


def inception_eval_transform(
    size: int = 299,
    crop_fraction: float = 0.875,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """Inception evaluation (Inception v3, Szegedy et al. 2016, arXiv:1512.00567: single 299x299 crop):
    the central ``crop_fraction`` of the image (TF-slim's ``central_crop(0.875)``), i.e. shorter side
    to ``int(size / crop_fraction)`` (341 for 299, timm's rule) and a centre ``size`` crop."""
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1] (got {crop_fraction})")
    return Compose([Resize(int(size / crop_fraction)), CenterCrop(size), ToFloat(), Normalize(mean, std)])


def cifar_train_transform(
    size: int = 32,
    *,
    padding: int = 4,
    mean: Sequence[float] | None = CIFAR10_MEAN,
    std: Sequence[float] | None = CIFAR10_STD,
) -> Compose:
    """ResNet's CIFAR augmentation (He et al. 2016, §4.2): 4-pixel zero padding, a random 32x32 crop and a
    random horizontal flip. The paper subtracts the per-pixel mean; we normalise per channel (the common
    practice; pass ``mean=None`` to skip normalisation)."""
    steps: list[Transform] = [RandomCrop(size, padding=padding), RandomHorizontalFlip(), ToFloat()]
    if mean is not None:
        steps.append(Normalize(mean, std if std is not None else (1.0,) * len(mean)))
    return Compose(steps)


def cifar_eval_transform(
    *, mean: Sequence[float] | None = CIFAR10_MEAN, std: Sequence[float] | None = CIFAR10_STD
) -> Compose:
    """CIFAR evaluation: the original 32x32 image, normalised as in :func:`cifar_train_transform`."""
    steps: list[Transform] = [ToFloat()]
    if mean is not None:
        steps.append(Normalize(mean, std if std is not None else (1.0,) * len(mean)))
    return Compose(steps)
