"""Video action-recognition data: a built-in motion dataset, clip transforms, frame sampling, real readers.

Built in (offline, seeded):

- ``moving_shapes``: procedurally drawn clips ``(C, T, H, W)`` of one textured shape over a static
  cluttered background, where the label is the MOTION (:data:`MOTION_CLASSES`: move left / right / up /
  down, rotate clockwise / anticlockwise, grow, shrink, bounce, stay still) and every appearance
  factor (shape kind, texture, colours, size, position, angle, speeds) is drawn independently of the
  label. Positions live on a torus (the shape wraps around the borders) and angles on a circle, so
  the distribution of any single frame is the same for every translation and rotation class: one
  frame cannot tell the class (see :func:`render_moving_shapes`).

Clip transforms (:class:`VideoTransform`): every spatial transform draws its parameters once per
CLIP and applies them to all its frames (the crop that follows an actor must not jump between
frames). Implemented by folding time into channels, ``(B, C, T, H, W) -> (B, C*T, H, W)``, and
reusing the batch-vectorised image transforms of :mod:`paperzoo.data.transforms`.

- :class:`RandomShortSideScale`: the scale jitter of the Non-local / SlowFast / X3D training recipe
  (shorter side uniform in [256, 320] pixels, then a random 224 crop; Wang et al. 2018,
  arXiv:1711.07971, §4; Feichtenhofer et al. 2019, arXiv:1812.03982, §A.2).
- :class:`ThreeCrop`: the SlowFast/X3D test protocol: shorter side to 256 (X3D: the test crop size),
  three square crops along the longer side (left, centre, right), × 10 temporal clips = 30 views.
- :class:`VideoTenCrop`: the Two-stream / TSN test crops (4 corners + centre, and their mirrors).
- :class:`VideoRandomResizedCrop` (Inception crops; TSN's multi-scale crop is a special case),
  :class:`VideoRandomCrop`, :class:`VideoCenterCrop`, :class:`VideoHorizontalFlip`,
  :class:`VideoResize`, :class:`VideoNormalize`.

Frame sampling, as pure functions of the video length returning frame indices:

- :func:`dense_clip_indices`: T frames at stride s from a random (training) or given start
  (C3D, I3D, R(2+1)D, SlowFast, X3D).
- :func:`uniform_clip_indices`: K clips with evenly spaced starts (the "× 10 clips" test protocol).
- :func:`tsn_segment_indices`: TSN's segment sampling (Wang et al. 2016, arXiv:1608.00859, §3.2):
  K equal segments, one random snippet per segment in training, the segment centre at test.
- :func:`slowfast_frame_indices`: the frames of SlowFast's two pathways, consistent with
  :func:`paperzoo.models.video.slowfast.pack_pathways` (which it reuses).
- :func:`x3d_clip_indices` with :data:`X3D_SAMPLING`: X3D's frames × sampling rate per variant.

Readers of the published formats (``path`` argument; videos decoded lazily with PyAV, the ``video``
extra): :func:`ucf101`, :func:`hmdb51`, :func:`kinetics400`, :func:`something_something_v2`. Each
returns a :class:`VideoSplits` of :class:`VideoFileDataset`; malformed lines, unknown classes and
missing videos raise :class:`DataFormatError` naming the file and line. Nothing is skipped.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from einops import rearrange
from torch import Tensor
from torch.utils.data import Dataset

from ..registry import register_dataset
from ._common import (
    SHAPE_KINDS,
    DatasetSplits,
    InMemoryDataset,
    balanced_labels,
    check_fraction,
    check_positive,
    check_procedural,
    contrasting_colours,
    one_thread,
    paint_clutter,
    per_kind,
    shape_sdf,
    split_samples,
    texture_pattern,
    to_float,
)
from .errors import DataFormatError, require_file
from .transforms import (
    CenterCrop,
    Compose,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    TenCrop,
    ToFloat,
    Transform,
    resize_images,
)

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "MOTION_CLASSES",
    "X3D_SAMPLING",
    "VideoSplits",
    "TensorVideoDataset",
    "VideoFileDataset",
    "render_moving_shapes",
    "moving_shapes",
    "VideoTransform",
    "VideoResize",
    "VideoCenterCrop",
    "VideoRandomCrop",
    "VideoRandomResizedCrop",
    "VideoHorizontalFlip",
    "RandomShortSideScale",
    "VideoNormalize",
    "ThreeCrop",
    "VideoTenCrop",
    "video_train_transform",
    "video_eval_transform",
    "dense_clip_indices",
    "uniform_clip_indices",
    "tsn_segment_indices",
    "slowfast_frame_indices",
    "x3d_clip_indices",
    "DenseSampler",
    "UniformSampler",
    "SegmentSampler",
    "read_video",
    "ucf101",
    "hmdb51",
    "kinetics400",
    "something_something_v2",
    "read_ucf101_lists",
    "read_hmdb51_splits",
    "read_kinetics_csv",
    "read_ssv2_annotations",
]

# The normalisation of the SlowFast / X3D Kinetics models (pixels in [0, 1]), as in PySlowFast's configs.
KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)

MOTION_CLASSES = (
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "rotate_clockwise",
    "rotate_anticlockwise",
    "grow",
    "shrink",
    "bounce",
    "stay_still",
)

# X3D (Feichtenhofer, CVPR 2020, arXiv:2004.04730, Table 3): frames x sampling rate, training crop; the
# test short side / crop of the pytorchvideo model zoo (X3D-L: the paper's 312, no zoo figure checked).
X3D_SAMPLING: dict[str, dict[str, int]] = {
    "x3d_xs": {"frames": 4, "stride": 12, "train_crop": 160, "test_size": 182},
    "x3d_s": {"frames": 13, "stride": 6, "train_crop": 160, "test_size": 182},
    "x3d_m": {"frames": 16, "stride": 5, "train_crop": 224, "test_size": 256},
    "x3d_l": {"frames": 16, "stride": 5, "train_crop": 312, "test_size": 312},
}


# ---------------------------------------------------------------------------------------------- containers
class TensorVideoDataset(InMemoryDataset):
    """Clips held in memory as one uint8 tensor, transformed when read (the video twin of
    :class:`~paperzoo.data.images.TensorImageDataset`).

    Items are ``(clip float32 (C, T, h, w), label int64 ())``; :meth:`get_batch` transforms a whole
    batch in one call: ``(clips (B, C, T, h, w) float32, labels (B,) int64)``, with a view axis
    (B, V, C, T, h, w) after multi-view transforms such as :class:`ThreeCrop`. Random transforms draw
    from ``generator`` when given, else torch's global RNG (captured by checkpoints). A transform
    whose output is still uint8 is followed by /255.

    Args:
        videos: (N, C, T, H, W) uint8.
        labels: (N,) integer class indices.
        transform: applied to (C, T, H, W) clips and (B, C, T, H, W) batches; None: to float only.
    """

    def __init__(self, videos: Tensor, labels: Tensor, transform: Transform | None = None) -> None:
        super().__init__(videos, labels, transform, name="videos", layout="(N, C, T, H, W)")

    @property
    def videos(self) -> Tensor:
        """(N, C, T, H, W) uint8."""
        return self.data


@dataclass
class VideoSplits(DatasetSplits):
    """Train/validation/test video datasets of ``(clip float32 (C, T, H, W), label int64)``.

    Attributes:
        num_frames: frames per clip the datasets produce (per view, for multi-view test sets).
        image_size: side of the (square) frames the transforms produce.
        class_names: one name per class index.
        source: where the data came from (for run reports).
    """

    num_frames: int
    image_size: int
    class_names: list[str]
    source: str


# ---------------------------------------------------------------------------------------------- moving shapes
def _wrap(d: Tensor, period: float) -> Tensor:
    """Shortest signed difference on a circle of circumference ``period`` (torus coordinates)."""
    return torch.remainder(d + period / 2, period) - period / 2


def _trajectories(labels: Tensor, num_frames: int, size: int, g: torch.Generator) -> dict[str, Tensor]:
    """Per-frame centre (x, y), angle and radius of the shape of each clip: (N, T) tensors.

    The state at the clip's middle frame is drawn independently of the label (centre uniform on the
    torus, angle uniform, radius log-uniform); the label only sets how it changes over time.
    """
    n, s = len(labels), float(size)

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=g)

    t = torch.arange(num_frames, dtype=torch.float32) - (num_frames - 1) / 2  # (T,) frames from the middle
    centre = s * rand(n, 2)
    angle = 2 * math.pi * rand(n)
    radius = s * 0.13 * torch.exp(math.log(1.6) * rand(n))  # 13-21% of the side
    # Speeds, jittered by +-30% around values that move the shape about half the frame over 16 frames.
    speed = s / 32 * (0.7 + 0.6 * rand(n))  # px per frame
    spin = math.radians(11.0) * (0.7 + 0.6 * rand(n))  # rad per frame
    rate = math.log(1.9) / 15 * (0.7 + 0.6 * rand(n))  # log-radius per frame
    hop = s * (0.12 + 0.08 * rand(n))  # bounce height
    hop_period = (num_frames / 2) * (0.8 + 0.4 * rand(n))  # frames per bounce
    hop_phase = rand(n)

    k = {name: i for i, name in enumerate(MOTION_CLASSES)}
    dx = torch.zeros(n, num_frames)
    dy = torch.zeros(n, num_frames)
    step = speed[:, None] * t  # (N, T)
    dx = torch.where((labels == k["move_left"])[:, None], -step, dx)
    dx = torch.where((labels == k["move_right"])[:, None], step, dx)
    dy = torch.where((labels == k["move_up"])[:, None], -step, dy)  # image rows grow downwards
    dy = torch.where((labels == k["move_down"])[:, None], step, dy)
    # A hop: |sin| rises and falls back to the floor, never below it (a ball bouncing on the ground).
    bounce = -hop[:, None] * torch.sin(math.pi * (t / hop_period[:, None] + hop_phase[:, None])).abs()
    dy = torch.where((labels == k["bounce"])[:, None], bounce - bounce.mean(1, keepdim=True), dy)
    # With rows pointing down, an increasing angle turns the shape clockwise on screen.
    turn = spin[:, None] * t
    dtheta = torch.where((labels == k["rotate_clockwise"])[:, None], turn, torch.zeros_like(turn))
    dtheta = torch.where((labels == k["rotate_anticlockwise"])[:, None], -turn, dtheta)
    scale = rate[:, None] * t
    dlog = torch.where((labels == k["grow"])[:, None], scale, torch.zeros_like(scale))
    dlog = torch.where((labels == k["shrink"])[:, None], -scale, dlog)
    return {
        "x": torch.remainder(centre[:, :1] + dx, s),
        "y": torch.remainder(centre[:, 1:] + dy, s),
        "angle": angle[:, None] + dtheta,
        "radius": radius[:, None] * torch.exp(dlog),
    }


def render_moving_shapes(
    labels: Tensor,
    *,
    num_frames: int = 16,
    image_size: int = 32,
    generator: torch.Generator | None = None,
    noise: float = 0.03,
    clutter: int = 3,
    chunk: int = 64,
    return_states: bool = False,
) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
    """Render one clip per label of :data:`MOTION_CLASSES`, all frames of all clips with coordinate grids.

    Per clip (all from ``generator``, independent of the label): one of the five shapes of
    :data:`~paperzoo.data.images.SHAPE_KINDS`, filled with stripes or checks fixed to the shape (so
    rotation and scaling of even a circle are visible), radius 13-21% of the side, any position
    and angle at the middle frame; fill and background colours of random hue whose HSV values differ
    by at least 0.35 (either one brighter); a static background of a faint texture, a gradient and
    ``clutter`` discs; grey Gaussian noise of std ``noise`` on every frame. The label sets the motion of
    the shape relative to its middle-frame state (:func:`_trajectories`): translations of 0.7-1.3
    px/frame at 32 px (scaled with the size), rotations of 7.7-14.3 degrees/frame, scaling by a factor
    1.6-2.4 over 16 frames, a bounce of 12-20% of the side twice per 16 frames. Positions wrap around
    the borders (the shape is drawn on a torus), so each frame's position is uniform for every class.

    Returns:
        (N, 3, T, S, S) uint8; with ``return_states``, also the per-frame ``x, y, angle, radius``
        (N, T) of :func:`_trajectories`.
    """
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2 (got {num_frames})")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    n, s, f = len(labels), image_size, num_frames
    states = _trajectories(labels, f, s, g)

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=g)

    shape_id = torch.randint(0, len(SHAPE_KINDS), (n,), generator=g)
    checked = (rand(n) >= 0.5).long()  # texture 0: stripes, 1: checks
    period = 0.45 + 0.3 * rand(n)  # texture period in radii
    phase = rand(n, 2)
    fg_v, bg_v, fg_rgb, bg_rgb = contrasting_colours(n, 0.35, g)
    slope = 0.12 * (2 * rand(n, 2) - 1)
    bg_tex = rand(n, 3)  # background stripe angle, period, phase
    blobs = rand(n, clutter, 4)

    coords = torch.arange(s, dtype=torch.float32) + 0.5
    out = torch.empty(n, 3, f, s, s, dtype=torch.uint8)
    with one_thread():
        for start in range(0, n, chunk):
            i = slice(start, min(start + chunk, n))
            m = i.stop - i.start
            # Static background (m, 1, S, S): gradient, a faint stripe texture, clutter discs.
            x, y = coords.view(1, 1, s), coords.view(1, s, 1)

            def col(v: Tensor, i: slice = i) -> Tensor:
                return v[i, None, None]

            back = col(bg_v) + col(slope[:, 0]) * (x / s - 0.5) + col(slope[:, 1]) * (y / s - 0.5)
            phi, per = math.pi * col(bg_tex[:, 0]), 5.0 + 4.0 * col(bg_tex[:, 1])
            back = back + 0.05 * torch.sin(
                2 * math.pi * ((x * torch.cos(phi) + y * torch.sin(phi)) / per + col(bg_tex[:, 2]))
            )
            back = paint_clutter(back, x, y, blobs[i], size=s, radius=0.06 * s)
            back = back.clamp(0.0, 1.0).unsqueeze(1) * bg_rgb[i, :, None, None]  # (m, 3, S, S)

            # Moving shape, every frame at once: (m, T, S, S) in the shape's frame (units of radius).
            def frame(v: Tensor, i: slice = i) -> Tensor:
                return v[i, :, None, None]  # (m, T, 1, 1)

            ddx = _wrap(x.unsqueeze(0) - frame(states["x"]), float(s))  # (m, T, 1, S)
            ddy = _wrap(y.unsqueeze(0) - frame(states["y"]), float(s))  # (m, T, S, 1)
            r = frame(states["radius"])
            c, sn = torch.cos(frame(states["angle"])) / r, torch.sin(frame(states["angle"])) / r
            u, v = ddx * c + ddy * sn, ddy * c - ddx * sn  # (m, T, S, S)
            sdf = per_kind(shape_sdf, SHAPE_KINDS, shape_id[i], u, v)
            alpha = (0.5 - sdf * r).clamp(0.0, 1.0)  # anti-aliased coverage, (m, T, S, S)
            ta = u / period[i, None, None, None] + phase[i, 0, None, None, None]
            tb = v / period[i, None, None, None] + phase[i, 1, None, None, None]
            pattern = per_kind(texture_pattern, ("stripes", "checks"), checked[i], ta, tb)
            fill = (frame(fg_v[:, None]) + 0.2 * pattern).clamp(0.0, 1.0)  # (m, T, S, S)
            fill = fill.unsqueeze(1) * fg_rgb[i, :, None, None, None]  # (m, 3, T, S, S)
            clip = torch.lerp(back.unsqueeze(2), fill, alpha.unsqueeze(1))
            # Grey (luminance) noise, one draw per pixel shared by the channels: a third of the cost.
            clip.add_(torch.randn(m, 1, f, s, s, generator=g), alpha=noise)
            out[i] = clip.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return (out, states) if return_states else out


@register_dataset(
    description="procedural clips 3x16x32x32 where the label is the motion (10 classes: translate, rotate, "
    "grow/shrink, bounce, still); appearance independent of the label",
    builtin=True,
)
def moving_shapes(
    *,
    seed: int = 0,
    train_size: int = 2000,
    val_size: int = 400,
    test_size: int = 400,
    num_frames: int = 16,
    image_size: int = 32,
    noise: float = 0.03,
    clutter: int = 3,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> VideoSplits:
    """Seeded motion classification (see :func:`render_moving_shapes`); classes are balanced (counts
    differ by at most one) in every split.

    Designed so that temporal modelling matters: every appearance factor is independent of the
    label and each frame's position and angle have the same distribution under every class, so a
    classifier on one frame stays at chance, while two frames tell the class (direction, sense of
    rotation, growth). Measured (seed 0, 4-frame clips, tests/data/test_video.py): a linear probe
    (ridge regression) on the 3,072 pixels of one frame fits its 600 training clips perfectly and
    scores 8% on 300 held-out clips (chance 10%); a linear probe on 10 moments of Horn–Schunck flow
    (mean flow, curl and divergence of two frame pairs) scores 50%. Generating the default 2,800
    clips of 3x16x32x32 takes about 3.6 s on one busy CPU core.
    """
    check_procedural(
        train_size=train_size,
        val_size=val_size,
        test_size=test_size,
        image_size=image_size,
        noise=noise,
        clutter=clutter,
        num_frames=num_frames,
    )
    k = len(MOTION_CLASSES)
    g = torch.Generator().manual_seed(seed)
    sizes = (train_size, val_size, test_size)
    data = []
    for size in sizes:
        labels = balanced_labels(size, k, g)
        clips = render_moving_shapes(
            labels, num_frames=num_frames, image_size=image_size, generator=g, noise=noise, clutter=clutter
        )
        data.append(TensorVideoDataset(clips, labels, train_transform if not data else eval_transform))
    return VideoSplits(
        train=data[0],
        val=data[1],
        test=data[2],
        num_classes=k,
        in_chans=3,
        num_frames=num_frames,
        image_size=image_size,
        class_names=list(MOTION_CLASSES),
        source=f"procedural moving shapes, seed={seed}, sizes={sizes}, {num_frames}x{image_size}x{image_size}",
    )


# ---------------------------------------------------------------------------------------------- transforms
class VideoTransform(Transform):
    """Base class: ``t(x, generator=None)`` on one clip (C, T, H, W) or a batch (B, C, T, H, W).

    Subclasses implement :meth:`apply` on a batch; parameters are drawn once per clip.
    """

    _item, _dims = "a clip", "C, T, H, W"


class _Folded(VideoTransform):
    """An image transform applied to clips with time folded into channels: one draw per clip."""

    image: Transform

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        c = x.shape[1]
        y = self.image(rearrange(x, "b c t h w -> b (c t) h w"), generator=generator)
        if y.ndim == 5:  # multi-crop image transforms add a view axis: (B, V, C*T, h, w)
            return rearrange(y, "b v (c t) h w -> b v c t h w", c=c)
        return rearrange(y, "b (c t) h w -> b c t h w", c=c)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.image!r})"


class VideoResize(_Folded):
    """Resize every frame so the shorter side is ``size`` (int) or to exactly ``(height, width)``."""

    def __init__(self, size: int | Sequence[int], *, interpolation: str = "bilinear", antialias: bool = True) -> None:
        self.image = Resize(size, interpolation=interpolation, antialias=antialias)


class VideoCenterCrop(_Folded):
    """The central ``size`` patch of every frame (offsets as :class:`~paperzoo.data.transforms.CenterCrop`)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.image = CenterCrop(size)


class VideoRandomCrop(_Folded):
    """A random ``size`` crop per clip (the same window in all its frames), after optional zero padding."""

    def __init__(self, size: int | Sequence[int], *, padding: int = 0) -> None:
        self.image = RandomCrop(size, padding=padding)


class VideoRandomResizedCrop(_Folded):
    """Inception-style random area/aspect crop per clip, resized to ``size`` (GoogLeNet §6 sampling)."""

    def __init__(
        self,
        size: int | Sequence[int],
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    ) -> None:
        self.image = RandomResizedCrop(size, scale=scale, ratio=ratio)


class VideoHorizontalFlip(_Folded):
    """Mirror all frames of a clip with probability ``p`` (do not use for Something-Something, whose
    labels say "left" and "right")."""

    def __init__(self, p: float = 0.5) -> None:
        self.image = RandomHorizontalFlip(p)


class VideoTenCrop(_Folded):
    """Four corners and the centre of every frame, and their mirrors: (B, 10, C, T, h, w) (Two-stream §6,
    TSN §4's test crops, after AlexNet)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.image = TenCrop(size)


class VideoNormalize(VideoTransform):
    """``(x - mean) / std`` per channel of float clips (..., C, T, H, W)."""

    def __init__(self, mean: Sequence[float] = KINETICS_MEAN, std: Sequence[float] = KINETICS_STD) -> None:
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        if len(self.mean) != len(self.std) or not self.mean or min(self.std) <= 0:
            raise ValueError(f"mean and std need one value per channel and std > 0 (got {self.mean}, {self.std})")

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        if not x.is_floating_point():
            raise ValueError(f"VideoNormalize expected float clips in [0, 1]; put ToFloat() first (got {x.dtype})")
        if x.ndim < 4 or x.shape[-4] != len(self.mean):
            raise ValueError(f"VideoNormalize expected (..., {len(self.mean)}, T, H, W) (got {tuple(x.shape)})")
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
        return (x - mean) / std


class RandomShortSideScale(VideoTransform):
    """Scale jitter: per clip, resize so the shorter side is an integer uniform in ``[min_size, max_size]``,
    then take a random ``crop_size`` crop (the SlowFast / X3D / Non-local training recipe: [256, 320]
    then 224; X3D scales the range with the crop, e.g. [182, 228] for 160 crops).

    The clips of a batch get different sizes before the crop, so they are resized one at a time
    (a loop over clips, not pixels). ``crop_size=None`` returns the resized clip (one clip only).
    """

    def __init__(self, min_size: int = 256, max_size: int = 320, *, crop_size: int | None = 224) -> None:
        if not 0 < min_size <= max_size:
            raise ValueError(f"min_size and max_size must be 0 < min_size <= max_size (got {min_size}, {max_size})")
        if crop_size is not None and not 0 < crop_size <= min_size:
            raise ValueError(f"crop_size must be in (0, min_size={min_size}] (got {crop_size})")
        self.min_size, self.max_size, self.crop_size = min_size, max_size, crop_size

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        b, c, t, height, width = x.shape
        if self.crop_size is None and b > 1:
            raise ValueError(f"RandomShortSideScale without crop_size expected one clip (got a batch of {b})")
        sizes = torch.randint(self.min_size, self.max_size + 1, (b,), generator=generator).tolist()
        u = torch.rand(b, 2, generator=generator, dtype=torch.float64)
        out = []
        for i, size in enumerate(sizes):
            h, w = Resize(size).output_size(height, width)  # the longer side truncated
            y = resize_images(rearrange(x[i : i + 1], "b c t h w -> b (c t) h w"), (h, w), "bilinear", True)
            if self.crop_size is not None:
                top, left = int(u[i, 0] * (h - self.crop_size + 1)), int(u[i, 1] * (w - self.crop_size + 1))
                y = y[..., top : top + self.crop_size, left : left + self.crop_size]
            out.append(rearrange(y, "b (c t) h w -> b c t h w", c=c))
        return torch.cat(out)


class ThreeCrop(VideoTransform):
    """Three ``size`` x ``size`` crops along the longer side: start, centre, end (left/centre/right for
    landscape frames), covering the frame: (B, 3, C, T, size, size).

    The SlowFast/X3D test protocol (Feichtenhofer et al. 2019, §4: "3 crops of 256x256 along the
    longer spatial axis", with the shorter side first resized to ``size``); the shorter side must
    equal ``size`` (put :class:`VideoResize` first) so the crops cover the whole frame.
    """

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError(f"size must be positive (got {size})")
        self.size = size

    def offsets(self, height: int, width: int) -> list[tuple[int, int]]:
        """The three (top, left) corners for a frame of ``height`` x ``width``."""
        s = self.size
        if min(height, width) != s:
            raise ValueError(f"ThreeCrop expected frames whose shorter side is {s} (got {height}x{width})")
        if width >= height:
            return [(0, 0), (0, (width - s) // 2), (0, width - s)]
        return [(0, 0), ((height - s) // 2, 0), (height - s, 0)]

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        s = self.size
        return torch.stack([x[..., t : t + s, l : l + s] for t, l in self.offsets(*x.shape[-2:])], dim=1)


def video_train_transform(
    crop_size: int = 224,
    *,
    scale: tuple[int, int] = (256, 320),
    flip: bool = True,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
) -> Compose:
    """SlowFast / X3D training: scale jitter (shorter side in ``scale``), random ``crop_size`` crop,
    horizontal flip (``flip=False`` for Something-Something), to float, normalise."""
    steps: list[Transform] = [RandomShortSideScale(*scale, crop_size=crop_size)]
    if flip:
        steps.append(VideoHorizontalFlip())
    return Compose([*steps, ToFloat(), VideoNormalize(mean, std)])


def video_eval_transform(
    crop_size: int = 256,
    *,
    crops: int = 1,
    resize: int | None = None,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
) -> Compose:
    """Evaluation: shorter side to ``resize`` (default ``crop_size``), then a centre crop (``crops=1``),
    :class:`ThreeCrop` (``crops=3``, the SlowFast/X3D protocol) or :class:`VideoTenCrop` (``crops=10``)."""
    resize = resize or crop_size
    if crops == 1:
        spatial: Transform = VideoCenterCrop(crop_size)
    elif crops == 3:
        if resize != crop_size:
            raise ValueError(f"three crops need resize == crop_size (got {resize}, {crop_size})")
        spatial = ThreeCrop(crop_size)
    elif crops == 10:
        spatial = VideoTenCrop(crop_size)
    else:
        raise ValueError(f"crops must be 1, 3 or 10 (got {crops})")
    return Compose([VideoResize(resize), spatial, ToFloat(), VideoNormalize(mean, std)])


# ---------------------------------------------------------------------------------------------- sampling
def _check_counts(num_frames: int, **positive: int) -> None:
    if num_frames <= 0:
        raise ValueError(f"num_frames (the video's length) must be positive (got {num_frames})")
    check_positive(**positive)


def dense_clip_indices(
    num_frames: int,
    clip_len: int,
    stride: int = 1,
    *,
    start: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Frames ``start, start + stride, ...`` of one clip of ``clip_len`` frames: (clip_len,) int64.

    The dense sampling of C3D / I3D / R(2+1)D / SlowFast / X3D. ``start=None`` draws it uniformly
    among the starts whose clip fits in the video (training); videos shorter than the clip span
    repeat their last frame (indices are clamped), as PySlowFast's decoder does.
    """
    _check_counts(num_frames, clip_len=clip_len, stride=stride)
    delta = max(num_frames - ((clip_len - 1) * stride + 1), 0)  # last start whose clip fits
    if start is None:
        start = int(torch.randint(0, delta + 1, (1,), generator=generator))
    elif not 0 <= start < num_frames:
        raise ValueError(f"start must be in [0, {num_frames}) (got {start})")
    return (start + stride * torch.arange(clip_len)).clamp_(max=num_frames - 1)


def uniform_clip_indices(num_frames: int, clip_len: int, stride: int = 1, *, num_clips: int = 10) -> Tensor:
    """``num_clips`` clips whose starts are evenly spaced from the first to the last start that fits:
    (num_clips, clip_len) int64. One clip is the centre clip.

    The multi-clip test protocol (C3D, I3D, SlowFast "10 clips", X3D): starts
    ``round(k * delta / (K - 1))``, ``delta = max(num_frames - span, 0)``, so the first clip starts at
    frame 0 and the last ends at the last frame (PySlowFast's evenly spaced variant).
    """
    _check_counts(num_frames, clip_len=clip_len, stride=stride, num_clips=num_clips)
    delta = max(num_frames - ((clip_len - 1) * stride + 1), 0)
    if num_clips == 1:
        starts = torch.tensor([delta // 2])
    else:
        starts = torch.round(torch.arange(num_clips, dtype=torch.float64) * delta / (num_clips - 1)).long()
    return (starts[:, None] + stride * torch.arange(clip_len)).clamp_(max=num_frames - 1)


def tsn_segment_indices(
    num_frames: int,
    num_segments: int,
    snippet_len: int = 1,
    *,
    train: bool,
    generator: torch.Generator | None = None,
) -> Tensor:
    """TSN's sparse sampling (Wang et al. 2016, §3.2): split the video into ``num_segments`` equal
    segments and take one snippet of ``snippet_len`` consecutive frames from each: (K, snippet_len).

    The snippet starts ``0 .. A - 1`` (``A = num_frames - snippet_len + 1``) are split into K equal
    real intervals; training draws a start uniformly in each, test takes each interval's centre,
    ``floor(A / K * (k + 1/2))`` (the reference's test rule). Videos shorter than a snippet repeat
    their last frame. Deviation: the reference's training rule floors the segment length and
    leaves the remainder at the end unsampled; we use the real-valued segments.
    """
    _check_counts(num_frames, num_segments=num_segments, snippet_len=snippet_len)
    avail = max(num_frames - snippet_len + 1, 1)
    seg = avail / num_segments
    k = torch.arange(num_segments, dtype=torch.float64)
    pos = k + (torch.rand(num_segments, generator=generator, dtype=torch.float64) if train else 0.5)
    starts = (seg * pos).floor().long().clamp_(0, avail - 1)
    return (starts[:, None] + torch.arange(snippet_len)).clamp_(max=num_frames - 1)


def slowfast_frame_indices(
    num_frames: int,
    *,
    frames: int = 32,
    stride: int = 2,
    alpha: int = 4,
    start: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Video frame indices of SlowFast's ``[slow, fast]`` pathways for one clip.

    The Fast pathway reads ``frames`` frames at ``stride`` (8x8 R50: 32 frames every 2nd); the Slow
    pathway is what :func:`~paperzoo.models.video.slowfast.pack_pathways` keeps of them (T/α frames,
    ``linspace(0, T - 1, T // α)`` truncated; 8 frames for α = 4): computed by that very function.
    """
    from ..models.video.slowfast import pack_pathways  # lazy: importing models is not cheap

    fast = dense_clip_indices(num_frames, frames, stride, start=start, generator=generator)
    slow, _ = pack_pathways(fast.view(1, 1, -1, 1, 1), alpha)
    return slow.flatten(), fast


def x3d_clip_indices(
    variant: str,
    num_frames: int,
    *,
    train: bool,
    num_clips: int = 10,
    generator: torch.Generator | None = None,
) -> Tensor:
    """X3D's frames (``X3D_SAMPLING[variant]``: frames x sampling rate, e.g. X3D-M 16x5): one random
    clip (clip_len,) in training, ``num_clips`` evenly spaced clips (num_clips, clip_len) at test."""
    if variant not in X3D_SAMPLING:
        raise ValueError(f"unknown X3D variant {variant!r}; known: {sorted(X3D_SAMPLING)}")
    p = X3D_SAMPLING[variant]
    if train:
        return dense_clip_indices(num_frames, p["frames"], p["stride"], generator=generator)
    return uniform_clip_indices(num_frames, p["frames"], p["stride"], num_clips=num_clips)


class DenseSampler:
    """One clip of ``clip_len`` frames at ``stride``: a random start when ``train``, else the centre clip."""

    def __init__(self, clip_len: int, stride: int = 1, *, train: bool = True) -> None:
        _check_counts(1, clip_len=clip_len, stride=stride)
        self.clip_len, self.stride, self.train = clip_len, stride, train

    @property
    def frames_per_view(self) -> int:
        return self.clip_len

    def __call__(self, num_frames: int, generator: torch.Generator | None = None) -> Tensor:
        if self.train:
            return dense_clip_indices(num_frames, self.clip_len, self.stride, generator=generator)
        return uniform_clip_indices(num_frames, self.clip_len, self.stride, num_clips=1)[0]

    def __repr__(self) -> str:
        return f"DenseSampler(clip_len={self.clip_len}, stride={self.stride}, train={self.train})"


class UniformSampler:
    """``num_clips`` evenly spaced clips (the multi-view test protocol): (num_clips, clip_len)."""

    def __init__(self, clip_len: int, stride: int = 1, *, num_clips: int = 10) -> None:
        _check_counts(1, clip_len=clip_len, stride=stride, num_clips=num_clips)
        self.clip_len, self.stride, self.num_clips = clip_len, stride, num_clips

    @property
    def frames_per_view(self) -> int:
        return self.clip_len

    def __call__(self, num_frames: int, generator: torch.Generator | None = None) -> Tensor:
        return uniform_clip_indices(num_frames, self.clip_len, self.stride, num_clips=self.num_clips)

    def __repr__(self) -> str:
        return f"UniformSampler(clip_len={self.clip_len}, stride={self.stride}, num_clips={self.num_clips})"


class SegmentSampler:
    """TSN's segments: (num_segments, snippet_len) indices (random snippets when ``train``)."""

    def __init__(self, num_segments: int = 3, snippet_len: int = 1, *, train: bool = True) -> None:
        _check_counts(1, num_segments=num_segments, snippet_len=snippet_len)
        self.num_segments, self.snippet_len, self.train = num_segments, snippet_len, train

    @property
    def frames_per_view(self) -> int:
        return self.snippet_len

    def __call__(self, num_frames: int, generator: torch.Generator | None = None) -> Tensor:
        return tsn_segment_indices(
            num_frames, self.num_segments, self.snippet_len, train=self.train, generator=generator
        )

    def __repr__(self) -> str:
        return f"SegmentSampler(num_segments={self.num_segments}, snippet_len={self.snippet_len}, train={self.train})"


# ---------------------------------------------------------------------------------------------- decoding
def _av() -> Any:
    try:
        import av
    except ImportError:
        raise ImportError(
            "decoding video files needs the 'video' extra (PyAV): pip install 'paperzoo[video]'"
        ) from None
    return av


def read_video(path: str | Path) -> Tensor:
    """Decode every frame of the first video stream with PyAV: (T, 3, H, W) uint8 RGB.

    Raises:
        DataFormatError: a missing file, a file PyAV cannot open or decode, or one without frames.
    """
    av = _av()
    path = require_file(path, "video file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataFormatError(path, "no video stream in the file")
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except av.error.FFmpegError as err:
        raise DataFormatError(path, f"not a readable video ({err.__class__.__name__}: {err})") from None
    if not frames:
        raise DataFormatError(path, "the video stream has no frames")
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()


class VideoFileDataset(Dataset):
    """Video files with labels, decoded lazily (the whole file with PyAV, then the sampled frames kept).

    ``sampler(num_frames, generator)`` returns frame indices: (T,) for one clip, giving items
    ``(clip (C, T, h, w), label)``, or (V, T) for several views (test clips, TSN segments), giving
    ``(clips (V, C, T, h, w), label)``. ``transform`` must produce a fixed frame size. Views are
    transformed as a batch (each its own random draw) or, with ``joint_views`` (the training sets of
    the readers), as one clip, so that all views of a video share one crop and flip, as TSN's training
    applies one augmentation to all segments. Random sampling draws from torch's global RNG.
    """

    def __init__(
        self,
        samples: Sequence[tuple[Path, int]],
        *,
        sampler: Callable[[int, torch.Generator | None], Tensor],
        transform: Transform | None = None,
        joint_views: bool = False,
    ) -> None:
        self.samples, self.sampler, self.transform = list(samples), sampler, transform
        self.joint_views = joint_views

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> Tensor:
        return torch.tensor([label for _, label in self.samples], dtype=torch.long)

    def load(self, index: int, generator: torch.Generator | None = None) -> Tensor:
        """The sampled frames of item ``index`` as uint8 (C, T, H, W) or (V, C, T, H, W), untransformed."""
        frames = read_video(self.samples[index][0])  # (N, C, H, W)
        idx = self.sampler(len(frames), generator)
        clip = frames[idx]  # (T, C, H, W) or (V, T, C, H, W)
        return clip.transpose(-4, -3).contiguous()

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        clip = self.load(index)
        if self.transform is not None:
            if clip.ndim == 5 and self.joint_views:
                views = clip.shape[0]
                joint = self.transform(rearrange(clip, "v c t h w -> c (v t) h w"))
                clip = rearrange(joint, "c (v t) h w -> v c t h w", v=views)
            else:
                clip = self.transform(clip)
        return to_float(clip), torch.tensor(self.samples[index][1], dtype=torch.long)

    def _replace(self, **changes: Any) -> VideoFileDataset:
        args = {"sampler": self.sampler, "transform": self.transform, "joint_views": self.joint_views, **changes}
        return VideoFileDataset(self.samples, **args)

    def with_transform(self, transform: Transform | None) -> VideoFileDataset:
        return self._replace(transform=transform)

    def with_sampler(self, sampler: Callable[[int, torch.Generator | None], Tensor]) -> VideoFileDataset:
        return self._replace(sampler=sampler)


# ---------------------------------------------------------------------------------------------- readers
def _lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines of a text file with their 1-based numbers (UTF-8, any line ending)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(path, f"not UTF-8 text ({err})") from None
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _require_video(video: Path, listing: Path, line: int | None) -> Path:
    if not video.is_file():
        raise DataFormatError(listing, f"video {video} not found", line)
    return video


def _splits_from_lists(
    train: list[tuple[Path, int]],
    test: list[tuple[Path, int]],
    val: list[tuple[Path, int]] | None,
    *,
    classes: list[str],
    val_fraction: float,
    seed: int,
    clip_len: int,
    stride: int,
    num_test_clips: int,
    image_size: int,
    train_sampler: Callable | None,
    eval_sampler: Callable | None,
    train_transform: Transform | None,
    eval_transform: Transform | None,
    flip: bool,
    source: str,
) -> VideoSplits:
    """The readers' :class:`VideoSplits`: ``val`` (None: a stratified ``val_fraction`` of ``train``),
    default samplers and transforms (see ``_COMMON_DOC``)."""
    check_fraction("val_fraction", val_fraction)
    if val is None:
        train, val = split_samples(train, (val_fraction,), seed=seed)
    train_sampler = train_sampler or DenseSampler(clip_len, stride, train=True)
    eval_sampler = eval_sampler or UniformSampler(clip_len, stride, num_clips=num_test_clips)
    scale = (round(image_size * 256 / 224), round(image_size * 320 / 224))
    train_tf = (
        train_transform if train_transform is not None else video_train_transform(image_size, scale=scale, flip=flip)
    )
    eval_tf = eval_transform if eval_transform is not None else video_eval_transform(image_size)
    return VideoSplits(
        train=VideoFileDataset(train, sampler=train_sampler, transform=train_tf, joint_views=True),
        val=VideoFileDataset(val, sampler=eval_sampler, transform=eval_tf),
        test=VideoFileDataset(test, sampler=eval_sampler, transform=eval_tf),
        num_classes=len(classes),
        in_chans=3,
        num_frames=clip_len,
        image_size=image_size,
        class_names=classes,
        source=source,
    )


# The arguments every reader hands to _splits_from_lists unchanged (its signature's common part).
_CLIP_ARGS = (
    "seed",
    "val_fraction",
    "clip_len",
    "stride",
    "num_test_clips",
    "image_size",
    "train_sampler",
    "eval_sampler",
    "train_transform",
    "eval_transform",
)


def _clip_args(reader_args: dict[str, Any]) -> dict[str, Any]:
    """The :data:`_CLIP_ARGS` of a reader, picked from its ``locals()`` (taken before it rebinds any of them)."""
    return {name: reader_args[name] for name in _CLIP_ARGS}


_COMMON_DOC = """
    Common arguments: ``clip_len`` frames at ``stride`` per clip (:class:`DenseSampler` with a random
    start for training, ``num_test_clips`` evenly spaced clips for val/test, items (V, C, T, h, w));
    ``train_sampler`` / ``eval_sampler`` replace them (e.g. :class:`SegmentSampler` for TSN).
    Default transforms: :func:`video_train_transform` (scale jitter [256, 320] x image_size/224, a
    random ``image_size`` crop, flip) and :func:`video_eval_transform` (shorter side ``image_size``,
    centre crop).
"""


def read_ucf101_lists(
    root: str | Path, split: int = 1
) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]]]:
    """``(classes, train, test)`` of UCF-101's official split ``split`` (1, 2 or 3).

    ``ROOT/ucfTrainTestlist/classInd.txt`` has ``INDEX NAME`` lines (1-based); ``trainlist0{s}.txt``
    has ``CLASS/v_CLASS_gXX_cYY.avi INDEX`` lines and ``testlist0{s}.txt`` only the path. The class
    of a video is its folder (file names spell some classes differently, e.g. ``HandstandPushups/
    v_HandStandPushups_g01_c01.avi``); a training line's index must match its folder's class.
    Videos are ``ROOT/UCF-101/CLASS/*.avi``.
    """
    root = Path(root)
    if split not in (1, 2, 3):
        raise ValueError(f"split must be 1, 2 or 3 (got {split})")
    lists = root / "ucfTrainTestlist"
    videos = root / "UCF-101"
    if not videos.is_dir():
        raise DataFormatError(videos, "UCF-101 video folder not found (expected ROOT/UCF-101/CLASS/*.avi)")
    class_file = require_file(lists / "classInd.txt", "UCF-101 classInd.txt")
    classes: list[str] = []
    for lineno, line in _lines(class_file):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataFormatError(class_file, f"expected 'INDEX CLASS' (got {line!r})", lineno)
        if int(parts[0]) != len(classes) + 1:
            raise DataFormatError(class_file, f"expected index {len(classes) + 1} (got {parts[0]})", lineno)
        classes.append(parts[1])
    index = {c: i for i, c in enumerate(classes)}

    def read(name: str, labelled: bool) -> list[tuple[Path, int]]:
        path = require_file(lists / name, f"UCF-101 {name}")
        out = []
        for lineno, line in _lines(path):
            parts = line.split()
            if len(parts) != (2 if labelled else 1):
                want = "'CLASS/FILE.avi INDEX'" if labelled else "'CLASS/FILE.avi'"
                raise DataFormatError(path, f"expected {want} (got {line!r})", lineno)
            folder = parts[0].split("/")[0]
            if "/" not in parts[0] or folder not in index:
                raise DataFormatError(path, f"unknown class {folder!r} (not in classInd.txt)", lineno)
            label = index[folder]
            if labelled and (not parts[1].isdigit() or int(parts[1]) - 1 != label):
                raise DataFormatError(path, f"label {parts[1]} does not match class {folder} ({label + 1})", lineno)
            out.append((_require_video(videos / parts[0], path, lineno), label))
        if not out:
            raise DataFormatError(path, "no videos listed")
        return out

    return classes, read(f"trainlist0{split}.txt", True), read(f"testlist0{split}.txt", False)


@register_dataset(
    description="UCF-101 (UCF-101/CLASS/*.avi + ucfTrainTestlist), official splits 1-3",
    builtin=False,
    file_format="UCF-101/<Class>/v_<Class>_gXX_cYY.avi; ucfTrainTestlist/classInd.txt, trainlist0N.txt, testlist0N.txt",
)
def ucf101(
    *,
    path: str,
    split: int = 1,
    seed: int = 0,
    val_fraction: float = 0.0,
    clip_len: int = 16,
    stride: int = 1,
    num_test_clips: int = 10,
    image_size: int = 112,
    train_sampler: Callable | None = None,
    eval_sampler: Callable | None = None,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> VideoSplits:
    """UCF-101 (Soomro et al. 2012, arXiv:1212.0402) from ``path``: train/test from the official split
    lists (:func:`read_ucf101_lists`); ``val_fraction`` of train (by whole groups ``gXX``, so clips of
    one group never straddle train and val) becomes val."""
    args = dict(locals())  # a snapshot of the arguments, before any local is bound
    classes, train, test = read_ucf101_lists(path, split)
    check_fraction("val_fraction", val_fraction)

    def group(video: Path) -> str:  # v_CLASS_gXX_cYY -> gXX
        return video.stem.rsplit("_", 2)[-2]

    # Carve whole groups: the clips of a group come from one long video.
    groups = sorted({group(p) for p, _ in train})
    g = torch.Generator().manual_seed(seed)
    chosen = {groups[i] for i in torch.randperm(len(groups), generator=g)[: round(len(groups) * val_fraction)].tolist()}
    val = [s for s in train if group(s[0]) in chosen]
    train = [s for s in train if group(s[0]) not in chosen]
    return _splits_from_lists(
        train, test, val, classes=classes, flip=True, source=f"{path} (split {split})", **_clip_args(args)
    )


def read_hmdb51_splits(
    root: str | Path, split: int = 1
) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]]]:
    """``(classes, train, test)`` of HMDB-51's split ``split`` (1, 2 or 3).

    ``ROOT/testTrainMulti_7030_splits/<class>_test_split{s}.txt`` lists ``VIDEO.avi FLAG`` per line:
    1 = training, 2 = testing, 0 = not used in this split. Classes are the file names' classes,
    sorted; videos are ``ROOT/<class>/VIDEO.avi``.
    """
    root = Path(root)
    if split not in (1, 2, 3):
        raise ValueError(f"split must be 1, 2 or 3 (got {split})")
    folder = root / "testTrainMulti_7030_splits"
    if not folder.is_dir():
        raise DataFormatError(folder, "HMDB-51 split folder not found (expected ROOT/testTrainMulti_7030_splits/)")
    suffix = f"_test_split{split}.txt"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(suffix))
    if not files:
        raise DataFormatError(folder, f"no '*{suffix}' files")
    classes = [p.name[: -len(suffix)] for p in files]
    train, test = [], []
    for label, (cls, path) in enumerate(zip(classes, files)):
        for lineno, line in _lines(path):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DataFormatError(path, f"expected 'VIDEO.avi FLAG' with FLAG 0, 1 or 2 (got {line!r})", lineno)
            if parts[1] == "0":
                continue  # not part of this split (by the split's definition, not skipped data)
            video = _require_video(root / cls / parts[0], path, lineno)
            (train if parts[1] == "1" else test).append((video, label))
    return classes, train, test


@register_dataset(
    description="HMDB-51 (CLASS/*.avi + testTrainMulti_7030_splits), official splits 1-3",
    builtin=False,
    file_format="<class>/<video>.avi; testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt (VIDEO FLAG 0/1/2)",
)
def hmdb51(
    *,
    path: str,
    split: int = 1,
    seed: int = 0,
    val_fraction: float = 0.0,
    clip_len: int = 16,
    stride: int = 1,
    num_test_clips: int = 10,
    image_size: int = 112,
    train_sampler: Callable | None = None,
    eval_sampler: Callable | None = None,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> VideoSplits:
    """HMDB-51 (Kuehne et al. 2011) from ``path``: flags 1 train, 2 test (:func:`read_hmdb51_splits`);
    ``val_fraction`` of train (stratified, seeded) becomes val."""
    args = dict(locals())  # a snapshot of the arguments, before any local is bound
    classes, train, test = read_hmdb51_splits(path, split)
    return _splits_from_lists(
        train, test, None, classes=classes, flip=True, source=f"{path} (split {split})", **_clip_args(args)
    )


_KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


def read_kinetics_csv(
    csv_path: str | Path, video_root: str | Path, classes: Sequence[str] | None = None
) -> tuple[list[str], list[tuple[Path, int]]]:
    """``(classes, [(video, label), ...])`` of one Kinetics annotation file.

    The csv has the header ``label,youtube_id,time_start,time_end,split``; the clip of a row is
    ``VIDEO_ROOT/<split>/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4`` (``<split>``
    is the row's split value or the csv's name, e.g. ``validate``; a label folder may spell spaces
    as underscores). Classes are the sorted labels of the file unless ``classes`` is given, in
    which case every label must be one of them.
    """
    csv_path, video_root = require_file(csv_path, "Kinetics csv"), Path(video_root)
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header[:5]) != _KINETICS_COLUMNS:
            raise DataFormatError(csv_path, f"expected the header {','.join(_KINETICS_COLUMNS)} (got {header})", 1)
        for row in reader:
            if not row:
                continue
            lineno = reader.line_num
            if len(row) < 5 or not row[0].strip():
                raise DataFormatError(csv_path, f"expected 5 fields with a label (got {','.join(row)!r})", lineno)
            try:
                start, end = int(float(row[2])), int(float(row[3]))
            except ValueError:
                raise DataFormatError(
                    csv_path, f"time_start/time_end must be numbers (got {row[2]!r}, {row[3]!r})", lineno
                ) from None
            rows.append((lineno, row[0].strip(), row[1].strip(), start, end, row[4].strip()))
    if not rows:
        raise DataFormatError(csv_path, "no rows")
    names = list(classes) if classes is not None else sorted({r[1] for r in rows})
    index = {c: i for i, c in enumerate(names)}
    samples = []
    for lineno, label, yid, start, end, split in rows:
        if label not in index:
            raise DataFormatError(csv_path, f"unknown class {label!r} (not one of the {len(index)} classes)", lineno)
        name = f"{yid}_{start:06d}_{end:06d}.mp4"
        candidates = [
            video_root / folder / lab / name
            for folder in dict.fromkeys((split, csv_path.stem))
            for lab in dict.fromkeys((label, label.replace(" ", "_")))
        ]
        video = next((c for c in candidates if c.is_file()), None)
        if video is None:
            raise DataFormatError(csv_path, f"video {candidates[0]} not found", lineno)
        samples.append((video, index[label]))
    return names, samples


@register_dataset(
    description="Kinetics-400 (kinetics400/{train,validate}.csv + <split>/<label>/<id>_<start>_<end>.mp4)",
    builtin=False,
    file_format="kinetics400/{train,validate,test}.csv (label,youtube_id,time_start,time_end,split); "
    "<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4",
)
def kinetics400(
    *,
    path: str,
    test_split: str = "validate",
    seed: int = 0,
    val_fraction: float = 0.0,
    clip_len: int = 8,
    stride: int = 8,
    num_test_clips: int = 10,
    image_size: int = 224,
    train_sampler: Callable | None = None,
    eval_sampler: Callable | None = None,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> VideoSplits:
    """Kinetics-400 (Kay et al. 2017, arXiv:1705.06950) from ``path`` (the folder holding
    ``kinetics400/`` with the csv files, or that folder itself; clip folders beside the csv files).
    ``test`` is ``validate.csv`` (the papers report the validation set; ``test_split="test"`` reads
    ``test.csv``, which must then carry labels); ``val_fraction`` of train becomes val. Default
    clips: 8 frames at stride 8 (SlowFast's Slow-only 8x8)."""
    args = dict(locals())  # a snapshot of the arguments, before any local is bound
    root = Path(path)
    csv_dir = root / "kinetics400" if (root / "kinetics400").is_dir() else root
    if test_split not in ("validate", "test"):
        raise ValueError(f"test_split must be 'validate' or 'test' (got {test_split!r})")
    classes, train = read_kinetics_csv(csv_dir / "train.csv", csv_dir)
    _, test = read_kinetics_csv(csv_dir / f"{test_split}.csv", csv_dir, classes)
    return _splits_from_lists(
        train, test, None, classes=classes, flip=True, source=f"{csv_dir} (test: {test_split})", **_clip_args(args)
    )


def _json_records(path: Path) -> list[tuple[int, Any]]:
    """The elements of a JSON array file with the line each starts on (for error messages)."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    try:
        pos = len(text) - len(text.lstrip())
        if text[pos : pos + 1] != "[":
            raise DataFormatError(path, "expected a JSON array of records", text.count("\n", 0, pos) + 1)
        pos += 1
        out = []
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text):
                raise DataFormatError(path, "unterminated JSON array", text.count("\n") + 1)
            if text[pos] == "]":
                return out
            obj, end = decoder.raw_decode(text, pos)
            out.append((text.count("\n", 0, pos) + 1, obj))
            pos = end
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"malformed JSON ({err.msg})", err.lineno) from None


def _find(root: Path, names: Sequence[str], what: str) -> Path:
    for name in names:
        for folder in (root, root / "labels", root / "annotations"):
            if (folder / name).is_file():
                return folder / name
    raise DataFormatError(root / names[0], f"{what} not found (also looked in labels/ and annotations/)")


def read_ssv2_annotations(
    json_path: str | Path, classes: dict[str, int], video_dir: str | Path
) -> list[tuple[Path, int]]:
    """``[(video, label), ...]`` of a Something-Something v2 ``train.json`` / ``validation.json``.

    Each record is ``{"id", "label", "template", "placeholders"}``; the class is the template with
    its brackets removed (``"Putting [something] on [something]"`` -> ``"Putting something on
    something"``), looked up in ``labels.json``; the video is ``VIDEO_DIR/<id>.webm``.
    """
    json_path, video_dir = require_file(json_path, "Something-Something annotation file"), Path(video_dir)
    out = []
    for lineno, rec in _json_records(json_path):
        if not isinstance(rec, dict) or "id" not in rec or "template" not in rec:
            raise DataFormatError(
                json_path, f"expected a record with 'id' and 'template' (got {str(rec)[:80]!r})", lineno
            )
        name = str(rec["template"]).replace("[", "").replace("]", "")
        if name not in classes:
            raise DataFormatError(json_path, f"unknown class {name!r} (not in labels.json)", lineno)
        out.append((_require_video(video_dir / f"{rec['id']}.webm", json_path, lineno), classes[name]))
    if not out:
        raise DataFormatError(json_path, "no records")
    return out


@register_dataset(
    description="Something-Something v2 (labels.json, train.json, validation.json, <id>.webm)",
    builtin=False,
    file_format="labels.json (template -> id); train.json/validation.json [{id, label, template, placeholders}]; "
    "videos <id>.webm",
)
def something_something_v2(
    *,
    path: str,
    seed: int = 0,
    val_fraction: float = 0.0,
    clip_len: int = 16,
    stride: int = 2,
    num_test_clips: int = 2,
    image_size: int = 224,
    train_sampler: Callable | None = None,
    eval_sampler: Callable | None = None,
    train_transform: Transform | None = None,
    eval_transform: Transform | None = None,
) -> VideoSplits:
    """Something-Something v2 (Goyal et al. 2017, arXiv:1706.04261) from ``path``: ``labels.json``,
    ``train.json``, ``validation.json`` (also the ``something-something-v2-*.json`` names, in ``path``
    or ``path/labels``), videos in ``path/20bn-something-something-v2``, ``path/videos`` or ``path``.
    ``test`` is the validation set (the test labels are not public). No horizontal flip by default:
    the classes name directions ("from left to right")."""
    args = dict(locals())  # a snapshot of the arguments, before any local is bound
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "Something-Something folder not found")
    label_file = _find(root, ("labels.json", "something-something-v2-labels.json"), "labels.json")
    try:
        mapping = json.loads(label_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFormatError(label_file, f"malformed JSON ({err.msg})", err.lineno) from None
    if not isinstance(mapping, dict):
        raise DataFormatError(label_file, "expected an object mapping class names to ids")
    try:
        ids = {str(k): int(v) for k, v in mapping.items()}
    except (TypeError, ValueError):
        raise DataFormatError(label_file, "class ids must be integers (or integer strings)") from None
    if sorted(ids.values()) != list(range(len(ids))):
        raise DataFormatError(label_file, f"class ids must be 0..{len(ids) - 1}, each once")
    classes = [name for name, _ in sorted(ids.items(), key=lambda kv: kv[1])]
    video_dir = next((d for d in (root / "20bn-something-something-v2", root / "videos") if d.is_dir()), root)
    train = read_ssv2_annotations(
        _find(root, ("train.json", "something-something-v2-train.json"), "train.json"), ids, video_dir
    )
    test = read_ssv2_annotations(
        _find(root, ("validation.json", "something-something-v2-validation.json"), "validation.json"), ids, video_dir
    )
    return _splits_from_lists(train, test, None, classes=classes, flip=False, source=str(root), **_clip_args(args))


for _reader in (ucf101, hmdb51, kinetics400, something_something_v2):
    _reader.__doc__ = (_reader.__doc__ or "") + _COMMON_DOC
