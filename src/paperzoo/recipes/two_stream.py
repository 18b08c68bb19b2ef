"""Two-stream ConvNets (Simonyan & Zisserman 2014) with late fusion, and convolutional fusion (Feichtenhofer
et al. 2016); plus the optical-flow data pipeline the two-stream family shares (TSN, Hidden Two-Stream).

Papers: Simonyan & Zisserman, "Two-Stream Convolutional Networks for Action Recognition in Videos",
NeurIPS 2014, arXiv:1406.2199; Feichtenhofer, Pinz & Zisserman, "Convolutional Two-Stream Network Fusion
for Video Action Recognition", CVPR 2016, arXiv:1604.06573. Models: :mod:`paperzoo.models.video.two_stream`.

System: Two-stream (+ fusion variants). Claims checked by the quick run: the temporal stream (stacked
optical flow) beats the spatial stream (single RGB frames) on motion classes, and fusing the two beats
both — by late fusion (S&Z §4: the average of the two softmax scores) and by a convolutional fusion of
the two towers' last conv maps (Feichtenhofer et al. §3.1, eq. 4, the 1×1 conv fusion at ReLU5). The
recipe's metric is the late-fused accuracy; its baseline the spatial stream alone.

Data (:func:`motion_splits`, shared with :mod:`.tsn` and :mod:`.hidden_two_stream`):

- Optical flow: :func:`paperzoo.data.flow.compute_flow` per clip, ``flow.method`` ``auto`` picking OpenCV's
  TV-L1, then Farnebäck, then the built-in pyramidal Horn–Schunck (the run records which it used, in the
  "optical flow" table). S&Z §6 used Brox et al.'s flow (OpenCV's GPU implementation); TSN TV-L1.
  Flow is stored as the papers store it: each component clipped to ±``flow.bound`` px and linearly
  rescaled to 0-255 (:func:`~paperzoo.data.flow.quantize_flow`; S&Z then JPEG-compress it, we keep the
  uint8 values losslessly), in a disk cache under ``data.flow_cache`` (built-in clips: one ``.npz`` per
  dataset and flow setting; video files: :class:`~paperzoo.data.flow.FlowCache`, one per video).
- Temporal-stream input: optical-flow stacking (S&Z §3.1, eq. 1), L fields = 2L channels, with the mean
  displacement of each field subtracted (§3.3, "mean flow subtraction", ``flow.mean_subtraction``); or, with
  ``data.stacking = trajectory``, trajectory stacking (eq. 2: the fields sampled along the trajectory that
  starts at each pixel of the stack's first frame, :func:`~paperzoo.data.flow.stack_trajectories`), in the
  same channel layout.
- Training samples (§6): per clip one random stack start τ; the RGB frame is the stack's middle frame
  (τ + L/2; S&Z sample the two streams' inputs independently since they train separately, the aligned
  pair is what the fused nets need); one random crop and horizontal flip shared by the frame and the
  stack, the x components of a flipped stack negated (a mirrored motion moves the other way).
- Test protocol (§6): ``eval.positions`` (25) equally spaced frames / stacks per video, each with ten
  crops (4 corners + centre and their mirrors, ``eval.crops = 10``); scores averaged over all of them.
- Quick data: ``moving_shapes`` (:mod:`paperzoo.data.video`), 8 frames of 32×32, where by design one frame
  cannot tell the class. UCF-101 classes are partly recognisable from one frame (S&Z's spatial stream
  alone: 73.0%); to give the spatial stream that kind of evidence, the quick config paints a static
  "scene" patch in the top-left corner of every clip whose colour names the class in a fraction
  ``data.context`` (0.5) of the clips and is a random class's colour otherwise (0 disables it).

Deviations: the quick streams are ``resnet_tiny`` nets (batch norm, reduced width) trained from scratch with
AdamW, not CNN-M-2048 (whose 7×7/2 stem and 5×5/2 conv2 leave nothing of a 32×32 frame); the two streams
train at the same time on the sum of their losses (disjoint parameters: the same as training them
separately, §4) on one schedule. The full config trains the spatial CNN-M-2048 from scratch on the
temporal net's schedule (S&Z fine-tune an ImageNet model, 14K/20K iterations; no weights are downloaded
here); the multi-task UCF-101 + HMDB-51 training and the SVM fusion (§4, §6) are left out.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..data import transforms as T
from ..data.flow import (
    FlowCache,
    compute_flow,
    cv2_available,
    dequantize_flow,
    quantize_flow,
    stack_trajectories,
    subtract_mean_flow,
    tvl1_available,
)
from ..data.video import MOTION_CLASSES, read_ucf101_lists, read_video, render_moving_shapes
from ..engine.checkpoint import atomic_write
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import ClassificationTask, Task
from ..engine.trainer import Trainer
from ..models.video.two_stream import FEICHTENHOFER_2016, SIMONYAN_2014, SpatialFusion, TwoStream
from ..registry import create_model, register_recipe
from ._image import RecordingTask, params_of, plot_curves
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = [
    "MOTION_CONFIG",
    "MotionClips",
    "MotionSplits",
    "motion_splits",
    "add_context_patch",
    "clip_flow",
    "resolve_flow_method",
    "crop_flip",
    "stack_starts",
    "check_stacking",
    "clip_stacks",
    "TwoStreamInputs",
    "StreamView",
    "FusedStreams",
    "train_companion",
    "TwoStreamRecipe",
]

# ---------------------------------------------------------------------------------------------- config
#: The data / flow / evaluation sections every two-stream-family recipe has (quick values).
MOTION_CONFIG: dict[str, Any] = extend_config(
    BASE_CONFIG,
    {
        "data": {
            "name": "moving_shapes",
            "path": None,
            # moving_shapes: sizes and clip shape; ucf101: split.
            "kwargs": {"train_size": 600, "val_size": 100, "test_size": 200, "num_frames": 8, "image_size": 32},
            "context": 0.5,  # fraction of clips whose static corner patch names the class (built-in data only)
            "stacking": "flow",  # temporal-stream input (S&Z §3.1): flow (eq. 1) | trajectory (eq. 2)
            "flow_cache": "runs/.flow_cache",
            "resize": 0,  # shorter side the frames (and flow) are resized to before cropping; 0 keeps them
            "image_size": 32,  # the network's input side (random crop in training, centre / ten crops at test)
        },
        "flow": {
            "method": "horn_schunck",  # auto | tvl1 | farneback | horn_schunck
            "bound": 20.0,  # ±px mapped onto 0-255 (the dense_flow storage)
            "mean_subtraction": True,
            "kwargs": {"iterations": 20, "warps": 2},  # the method's parameters
        },
        "eval": {"positions": 3, "crops": 1},
        "optim": {"name": "adamw", "lr": 2e-3, "weight_decay": 5e-4},
        "schedule": {"name": "cosine", "warmup_steps": 20},
        "train": {"steps": 300, "batch_size": 32, "eval_batch_size": 100, "eval_every": 150, "ckpt_every": 150},
    },
)


def ucf101_config(quick: dict, **sections: Any) -> dict:
    """A full config on UCF-101 split 1 (``--data PATH``) at the papers' frame sizes; ``sections`` on top."""
    base = extend_config(
        quick,
        {
            "data": {
                "name": "ucf101",
                "kwargs": {"split": 1},
                "context": 0.0,
                "resize": 256,  # S&Z §6: frames rescaled so the smallest side is 256, 224×224 crops
                "image_size": 224,
            },
            "flow": {"method": "auto", "bound": 20.0, "mean_subtraction": True, "kwargs": {}},
            "eval": {"positions": 25, "crops": 10},
            "train": {"num_workers": 8, "eval_batch_size": 1, "log_every": 100, "amp": True},
        },
    )
    return extend_config(base, sections)


# ---------------------------------------------------------------------------------------------- flow
def resolve_flow_method(method: str) -> str:
    """``auto`` → the first available of TV-L1, Farnebäck (OpenCV) and Horn–Schunck (built in)."""
    if method not in ("auto", "tvl1", "farneback", "horn_schunck"):
        raise ConfigError(f"flow.method must be auto, tvl1, farneback or horn_schunck (got {method!r})")
    if method != "auto":
        return method
    if tvl1_available():
        return "tvl1"
    return "farneback" if cv2_available() else "horn_schunck"


def clip_flow(videos: Tensor, *, method: str, bound: float, params: dict[str, Any], chunk: int = 256) -> Tensor:
    """Quantised flow of clips ``(N, 3, T, H, W)`` uint8 → ``(N, T - 1, 2, H, W)`` uint8.

    Horn–Schunck runs on all frame pairs of ``chunk`` clips at once; OpenCV's methods clip by clip.
    """
    n, _, t = videos.shape[:3]
    out = torch.empty(n, t - 1, 2, *videos.shape[-2:], dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = rearrange(videos[start : start + chunk], "n c t h w -> n t c h w")
        if method == "horn_schunck":
            pairs = compute_flow(part.flatten(0, 1), method=method, **params)  # (n·T - 1, 2, H, W)
            keep = torch.ones(len(part), t, dtype=torch.bool)
            keep[:, -1] = False  # drop the pairs that straddle two clips
            flow = pairs[keep.flatten()[:-1]].view(len(part), t - 1, 2, *videos.shape[-2:])
        else:
            flow = torch.stack([compute_flow(clip, method=method, **params) for clip in part])
        out[start : start + chunk] = quantize_flow(flow, bound)
    return out


# ---------------------------------------------------------------------------------------------- context cue
def _palette(k: int) -> Tensor:
    """``k`` saturated colours evenly spaced in hue, (k, 3) uint8."""
    hue = torch.arange(k, dtype=torch.float32) / k
    rgb = (torch.stack([hue, hue + 2 / 3, hue + 1 / 3], dim=1) * 6 % 6 - 3).abs().sub(1).clamp(0, 1)
    return (rgb * 215 + 20).round().to(torch.uint8)


def add_context_patch(
    videos: Tensor, labels: Tensor, fraction: float, *, num_classes: int, generator: torch.Generator
) -> Tensor:
    """Paint a static square (side S/5) in the top-left corner of every frame: the colour of the clip's class
    with probability ``fraction``, else the colour of a uniformly drawn class (so it is right with probability
    ``fraction + (1 - fraction) / K``). Returns a new (N, 3, T, S, S) uint8 tensor."""
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"data.context must be in [0, 1] (got {fraction})")
    out = videos.clone()
    if fraction == 0:
        return out
    n = len(labels)
    honest = torch.rand(n, generator=generator) < fraction
    shown = torch.where(honest, labels, torch.randint(0, num_classes, (n,), generator=generator))
    side = max(2, videos.shape[-1] // 5)
    out[..., :side, :side] = _palette(num_classes)[shown][:, :, None, None, None]
    return out


# ---------------------------------------------------------------------------------------------- datasets
@dataclass
class MotionSplits:
    """Train/val/test :class:`MotionClips` and what they hold."""

    train: MotionClips
    val: MotionClips | None
    test: MotionClips
    num_classes: int
    class_names: list[str]
    source: str
    flow_method: str


class MotionClips(Dataset):
    """Clips with their quantised optical flow, turned into network inputs by an ``assemble`` callable.

    Holds either in-memory clips (``videos`` (N, 3, T, H, W) uint8 and ``flows`` (N, T - 1, 2, H, W) uint8) or
    video files (``samples``; decoded with PyAV, flow from the :class:`~paperzoo.data.flow.FlowCache`,
    frames and flow resized to shorter side ``resize`` with the displacements scaled alike).
    ``assemble(frames (B, 3, T, H, W) uint8, flow (B, T - 1, 2, H, W) float px, generator)`` returns the
    model's input; video files are assembled one at a time (their lengths differ) and concatenated.
    """

    def __init__(
        self,
        *,
        labels: Tensor,
        bound: float,
        mean_subtraction: bool,
        videos: Tensor | None = None,
        flows: Tensor | None = None,
        samples: Sequence[tuple[Path, int]] | None = None,
        flow_fn: Callable[[Path], Tensor] | None = None,
        resize: int = 0,
        assemble: Callable[..., Any] | None = None,
    ) -> None:
        if (videos is None) == (samples is None):
            raise ValueError("give either videos and flows or samples and flow_fn")
        self.labels, self.bound, self.mean_subtraction = labels.long(), bound, mean_subtraction
        self.videos, self.flows, self.samples, self.flow_fn = videos, flows, samples, flow_fn
        self.resize, self.assemble = resize, assemble

    def __len__(self) -> int:
        return len(self.labels)

    def with_assemble(self, assemble: Callable[..., Any]) -> MotionClips:
        new = copy.copy(self)
        new.assemble = assemble
        return new

    def _flow(self, q: Tensor) -> Tensor:
        f = dequantize_flow(q, self.bound)  # (..., 2, H, W) px
        return subtract_mean_flow(f) if self.mean_subtraction else f

    def load(self, index: int) -> tuple[Tensor, Tensor]:
        """One video file's frames (1, 3, T, H, W) uint8 and flow (1, T - 1, 2, H, W) px, resized."""
        path = self.samples[index][0]
        frames = read_video(path)  # (T, 3, H, W)
        flow = self._flow(self.flow_fn(path))  # (T - 1, 2, H, W)
        if len(flow) != len(frames) - 1:
            raise ConfigError(f"flow of {path} has {len(flow)} fields for {len(frames)} frames; delete its cache")
        if self.resize:
            h, w = frames.shape[-2:]
            size = (self.resize, round(w * self.resize / h)) if h <= w else (round(h * self.resize / w), self.resize)
            frames = T.Resize(size)(frames.float()).round().clamp(0, 255).to(torch.uint8)
            scale = torch.tensor([size[1] / w, size[0] / h]).view(1, 2, 1, 1)  # displacements scale with the frame
            flow = F.interpolate(flow, size=size, mode="bilinear", align_corners=False) * scale
        return rearrange(frames, "t c h w -> 1 c t h w"), flow[None]

    def get_batch(self, indices: Sequence[int] | Tensor, *, generator: torch.Generator | None = None) -> Any:
        if self.assemble is None:
            raise RuntimeError("MotionClips needs an assemble function (with_assemble) before it yields batches")
        idx = torch.as_tensor(indices, dtype=torch.long)
        if self.videos is not None:
            x = self.assemble(self.videos[idx], self._flow(self.flows[idx]), generator)
        else:
            parts = [self.assemble(*self.load(int(i)), generator) for i in idx]
            x = _concat(parts)
        return x, self.labels[idx]

    def __getitem__(self, index: int) -> Any:
        x, y = self.get_batch([index])
        return _index0(x), y[0]


def _concat(parts: list[Any]) -> Any:
    if isinstance(parts[0], Tensor):
        return torch.cat(parts)
    return type(parts[0])(_concat([p[i] for p in parts]) for i in range(len(parts[0])))


def _index0(x: Any) -> Any:
    return x[0] if isinstance(x, Tensor) else type(x)(_index0(t) for t in x)


_MEMO: dict[str, Tensor] = {}


def _builtin_flows(videos: list[Tensor], key_parts: dict[str, Any], cache_dir: str | None, **flow: Any) -> list[Tensor]:
    """Quantised flow of each split, from the in-process memo, the disk cache, or computed (then stored)."""
    key = hashlib.sha1(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()
    names = [f"split{i}" for i in range(len(videos))]
    if all(f"{key}/{n}" in _MEMO for n in names):
        return [_MEMO[f"{key}/{n}"] for n in names]
    path = Path(cache_dir) / f"{key}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            flows = [torch.from_numpy(z[n].copy()) for n in names]
    else:
        flows = [clip_flow(v, **flow) for v in videos]
        if path is not None:

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as fh:
                    np.savez_compressed(fh, **{n: f.numpy() for n, f in zip(names, flows)})

            atomic_write(path, write)
    for n, f in zip(names, flows):
        _MEMO[f"{key}/{n}"] = f
    return flows


def _render(labels: Tensor, kwargs: dict[str, Any], g: torch.Generator) -> Tensor:
    return render_moving_shapes(
        labels,
        num_frames=int(kwargs.get("num_frames", 8)),
        image_size=int(kwargs.get("image_size", 32)),
        noise=float(kwargs.get("noise", 0.03)),
        generator=g,
    )


def motion_splits(config: dict[str, Any]) -> MotionSplits:
    """The clips and flow named by ``config["data"]`` / ``config["flow"]`` (no assemble function yet)."""
    data, flow_cfg = config["data"], config["flow"]
    method = resolve_flow_method(flow_cfg["method"])
    bound, params = float(flow_cfg["bound"]), dict(flow_cfg.get("kwargs") or {})
    common = dict(bound=bound, mean_subtraction=bool(flow_cfg["mean_subtraction"]))
    kwargs = dict(data.get("kwargs") or {})
    if data["name"] == "moving_shapes":
        # The clips of paperzoo.data.video.moving_shapes (same seed, sizes, renderer), then the context patch.
        k = len(MOTION_CLASSES)
        g = torch.Generator().manual_seed(int(config["seed"]))
        sizes = [int(kwargs.get(f"{s}_size", d)) for s, d in (("train", 600), ("val", 100), ("test", 200))]
        labels, videos = [], []
        for size in sizes:
            y = (torch.arange(size) % k)[torch.randperm(size, generator=g)]
            labels.append(y)
            videos.append(_render(y, kwargs, g))
        context = float(data.get("context", 0.0))
        cue = torch.Generator().manual_seed(int(config["seed"]) + 1)
        videos = [add_context_patch(v, y, context, num_classes=k, generator=cue) for v, y in zip(videos, labels)]
        key = {"data": "moving_shapes", "seed": int(config["seed"]), "kwargs": kwargs, "context": context}
        key.update(method=method, bound=bound, params=params)
        flows = _builtin_flows(videos, key, data.get("flow_cache"), method=method, bound=bound, params=params)
        sets = [MotionClips(labels=y, videos=v, flows=f, **common) for y, v, f in zip(labels, videos, flows)]
        source = f"moving_shapes seed={config['seed']} sizes={sizes} context={context}, {method} flow"
        return MotionSplits(sets[0], sets[1], sets[2], k, list(MOTION_CLASSES), source, method)
    if data["name"] == "ucf101":
        if not data.get("path"):
            raise ConfigError("dataset 'ucf101' is read from files: give its location with --data PATH")
        classes, train, test = read_ucf101_lists(data["path"], int(kwargs.get("split", 1)))
        cache = FlowCache(data.get("flow_cache") or Path(data["path"]) / ".flow_cache")
        key = {"method": method, "bound": bound, **params}

        def flow_fn(path: Path) -> Tensor:
            return cache.get_or_compute(
                path, key, lambda: compute_flow(read_video(path), method=method, **params), bound
            )

        def files(samples: list[tuple[Path, int]]) -> MotionClips:
            labels = torch.tensor([label for _, label in samples])
            return MotionClips(labels=labels, samples=samples, flow_fn=flow_fn, resize=int(data["resize"]), **common)

        source = f"{data['path']} (UCF-101 split {kwargs.get('split', 1)}), {method} flow"
        return MotionSplits(files(train), None, files(test), len(classes), classes, source, method)
    raise ConfigError(f"the two-stream recipes read moving_shapes or ucf101 (got data.name={data['name']!r})")


# ---------------------------------------------------------------------------------------------- sampling
def stack_starts(num_fields: int, length: int, count: int) -> Tensor:
    """``count`` equally spaced stack starts τ in ``[0, num_fields - length]`` (S&Z §6's test frames): (count,)."""
    if num_fields < length:
        raise ConfigError(f"a flow stack of L={length} needs at least {length + 1} frames (got {num_fields + 1})")
    last = num_fields - length
    if count == 1:
        return torch.tensor([last // 2])
    return torch.round(torch.linspace(0, last, count)).long()


def crop_flip(
    x: Tensor, flow_x: Sequence[int], *, size: int, train: bool, crops: int, generator: torch.Generator | None
) -> Tensor:
    """The spatial augmentation of S&Z §6 on clips ``(B, C, P, H, W)`` whose channels ``flow_x`` are horizontal
    displacements: training takes one random ``size`` crop and flip per clip (the same for every channel and
    position); testing the centre crop (``crops=1``) or ten crops (B, 10, C, P, size, size). A mirrored
    crop negates the ``flow_x`` channels."""
    fx = torch.as_tensor(list(flow_x), dtype=torch.long)
    h, w = x.shape[-2:]
    if train:
        b = x.shape[0]
        if (h, w) != (size, size):
            top = torch.randint(0, h - size + 1, (b,), generator=generator)
            left = torch.randint(0, w - size + 1, (b,), generator=generator)
            rows = (top[:, None] + torch.arange(size))[:, None, None, :, None]  # (B, 1, 1, s, 1)
            cols = (left[:, None] + torch.arange(size))[:, None, None, None, :]
            x = x[torch.arange(b)[:, None, None, None, None], torch.arange(x.shape[1])[None, :, None, None, None],
                  torch.arange(x.shape[2])[None, None, :, None, None], rows, cols]  # fmt: skip
        flip = torch.rand(b, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None, None], x.flip(-1), x)
        sign = torch.ones(b, x.shape[1], dtype=x.dtype)
        sign[:, fx] = 1.0 - 2.0 * flip[:, None].to(x.dtype)  # -1 on the x displacements of flipped clips
        return x * sign[:, :, None, None, None]
    if crops == 1:
        top, left = (h - size) // 2, (w - size) // 2
        return x[..., top : top + size, left : left + size]
    if crops != 10:
        raise ConfigError(f"eval.crops must be 1 or 10 (got {crops})")
    views = T.TenCrop(size)(rearrange(x, "b c p h w -> b (c p) h w"))  # (B, 10, C·P, s, s): 5 crops, 5 mirrors
    views = rearrange(views, "b v (c p) h w -> b v c p h w", c=x.shape[1])
    sign = torch.ones(10, x.shape[1], dtype=x.dtype)
    sign[5:, fx] = -1.0  # the mirrored crops
    return views * sign[None, :, :, None, None, None]


def _check_size(h: int, w: int, size: int) -> None:
    if min(h, w) < size:
        raise ConfigError(f"data.image_size={size} is larger than the frames ({h}×{w}); lower it or raise data.resize")


STACKINGS = ("flow", "trajectory")


def check_stacking(stacking: str) -> str:
    """``data.stacking`` checked: ``flow`` (S&Z eq. 1) or ``trajectory`` (eq. 2)."""
    if stacking not in STACKINGS:
        raise ConfigError(f"data.stacking must be flow or trajectory (got {stacking!r})")
    return stacking


def clip_stacks(flow: Tensor, starts: Tensor, length: int, stacking: str = "flow") -> Tensor:
    """The temporal-stream stacks of a batch of clips, eq. 1 channel layout (x, y of field 1, x, y of field 2, …).

    Args:
        flow: (B, F, 2, H, W) the flow fields of each clip (field t from frame t to t + 1), px.
        starts: (B, P) stack starts τ per clip, each in ``[0, F - length]``.
        length: L fields per stack.
        stacking: ``flow`` — the fields at the same pixel (S&Z eq. 1); ``trajectory`` — the fields sampled
            along the trajectory that starts at each pixel of frame τ (eq. 2, :func:`stack_trajectories`).

    Returns:
        (B, 2L, P, H, W).
    """
    b, f = flow.shape[:2]
    if check_stacking(stacking) == "flow":
        stacks = flow[torch.arange(b)[:, None, None], starts[:, :, None] + torch.arange(length)]  # (B, P, L, 2, H, W)
        return rearrange(stacks, "b p l c h w -> b (l c) p h w")
    # The clips' fields laid end to end: a trajectory reads only the fields τ … τ + L - 1 of its own clip, so one
    # stack_trajectories call over all clips and starts (offset by clip) traces every stack at once.
    offsets = (torch.arange(b) * f)[:, None] + starts  # (B, P) into the (B·F) fields
    stacks = stack_trajectories(flow.flatten(0, 1), offsets.flatten(), length)  # (B·P, 2L, H, W)
    return rearrange(stacks, "(b p) c h w -> b c p h w", b=b)


@dataclass
class TwoStreamInputs:
    """``assemble`` for the two-stream nets: ``[rgb, flow]`` with rgb the frame in the middle of each flow stack.

    Training: one random stack per clip → rgb (B, 3, s, s), flow (B, 2L, s, s). Testing: ``positions`` equally
    spaced stacks → rgb (B, 3, P, s, s), flow (B, 2L, P, s, s), with ten crops a view axis after B. ``stacking``:
    the temporal input by optical-flow (``flow``, S&Z eq. 1) or trajectory stacking (``trajectory``, eq. 2),
    both in eq. 1's channel layout, so cropping and flipping (x channels negated) treat them alike.
    """

    flow_length: int
    size: int
    train: bool
    positions: int = 25
    crops: int = 1
    stacking: str = "flow"

    def __post_init__(self) -> None:
        check_stacking(self.stacking)

    def __call__(self, frames: Tensor, flow: Tensor, generator: torch.Generator | None) -> list[Tensor]:
        b, _, t, h, w = frames.shape
        length = self.flow_length
        _check_size(h, w, self.size)
        if self.train:
            if t - 1 < length:
                raise ConfigError(f"a flow stack of L={length} needs at least {length + 1} frames (got {t})")
            starts = torch.randint(0, t - length, (b, 1), generator=generator)  # (B, 1)
        else:
            starts = stack_starts(t - 1, length, self.positions).expand(b, -1)  # (B, P)
        stacks = clip_stacks(flow, starts, length, self.stacking)  # (B, 2L, P, H, W): x, y of field 1, …
        rgb = frames[torch.arange(b)[:, None], :, starts + length // 2].float() / 255.0  # (B, P, 3, H, W)
        rgb = (rearrange(rgb, "b p c h w -> b c p h w") - 0.45) / 0.225  # centred like the Kinetics models' input
        x = crop_flip(
            torch.cat([rgb, stacks], dim=1),
            range(3, 3 + 2 * length, 2),
            size=self.size,
            train=self.train,
            crops=self.crops,
            generator=generator,
        )
        rgb, stacks = x[..., :3, :, :, :], x[..., 3:, :, :, :]
        if self.train:
            return [rgb[:, :, 0], stacks[:, :, 0]]  # (B, C, s, s): one frame, one stack
        return [rgb, stacks]


# ---------------------------------------------------------------------------------------------- models, training
class StreamView(nn.Module):
    """One stream of a trained :class:`TwoStream` as a classifier: the log of its softmax scores averaged over
    the frames of a clip (what the stream alone scores under the test protocol)."""

    def __init__(self, model: TwoStream, stream: int) -> None:
        super().__init__()
        self.model, self.stream = model, stream

    def forward(self, x: list[Tensor]) -> Tensor:
        logits = self.model.stream_logits(self.model.forward_features(x))[self.stream]  # (B, T, K)
        return logits.softmax(-1).mean(1).log()


class FusedStreams(nn.Module):
    """Convolutional fusion of a trained two-stream net (Feichtenhofer et al. 2016, §3.1 and §4).

    Both towers are truncated after their last convolutional layer (``forward_features``); the two maps are
    fused by :class:`~paperzoo.models.video.two_stream.SpatialFusion` (``conv``: eq. 4, a learnt 1×1 filter
    over the interleaved concatenation, initialised as sum fusion; or ``sum`` / ``max``), and the fused map
    continues through the spatial tower's remaining layers ("we fuse ... into the spatial network"). The
    towers start from the trained streams (copied), as in the paper. Clips ``(B, C, T, H, W)`` are scored
    frame by frame and the softmax averaged over frames.

    Shapes:
        x: ``[rgb (B, 3, [T,] H, W), flow (B, 2L, [T,] H, W)]`` → logits (B, K), or log averaged scores for clips.
    """

    def __init__(self, model: TwoStream, kind: str = "conv", *, image_size: int = 32) -> None:
        super().__init__()
        if kind not in ("conv", "sum", "max"):
            raise ConfigError(f"fusion.kind must be conv, sum or max (the fused map keeps its width) (got {kind!r})")
        self.spatial, self.temporal = copy.deepcopy(model.spatial), copy.deepcopy(model.temporal)
        self.flow_length = model.flow_length
        with torch.no_grad():  # the width of the last conv map
            was = self.spatial.training
            channels = self.spatial.eval().forward_features(torch.zeros(1, 3, image_size, image_size)).shape[1]
            self.spatial.train(was)
        self.fusion = SpatialFusion(kind, channels)
        self.fusion_kind = kind

    def forward(self, x: list[Tensor]) -> Tensor:
        rgb, flow = x
        clips = rgb.dim() == 5
        t = rgb.shape[2] if clips else 1
        if clips:
            rgb, flow = (rearrange(v, "b c t h w -> (b t) c h w") for v in (rgb, flow))
        fused = self.fusion(self.spatial.forward_features(rgb), self.temporal.forward_features(flow))
        logits = self.spatial.forward_head(fused)  # (B·T, K)
        if not clips:
            return logits
        return rearrange(logits, "(b t) k -> b t k", t=t).softmax(-1).mean(1).log()


def evaluate_module(module: nn.Module, task: Task, dataset: Dataset, config: dict[str, Any]) -> dict[str, float]:
    """``task``'s metrics of ``module`` on ``dataset`` in eval mode (the trainer's evaluation, without a trainer)."""
    from ..engine.trainer import evaluate_dataset

    was = module.training
    module.eval()
    device = next(module.parameters()).device
    bs = int(config["train"]["eval_batch_size"])
    out = evaluate_dataset(task, module, dataset, batch_size=bs, device=device)
    module.train(was)
    return out


def train_companion(
    recipe: Recipe, exp: Experiment, config: dict[str, Any], model: nn.Module, *, task: Task | None = None,
    train_set: Dataset | None = None, test_set: Dataset | None = None, steps: int | None = None,
    lr: float | None = None,
) -> tuple[nn.Module, dict[str, float], list[float]]:  # fmt: skip
    """Train another network on the recipe's data with its optimizer, schedule and seed (``steps`` / ``lr`` may
    change the budget); returns the trained module, its test metrics and its per-step training losses."""
    cfg = copy.deepcopy(config)
    if steps:
        cfg["train"]["steps"] = int(steps)
    if lr:
        cfg["optim"]["lr"] = float(lr)
    recording = RecordingTask(task or exp.task)
    device = next(exp.model.parameters()).device
    trainer = Trainer(
        model=model,
        task=recording,
        train_set=train_set or exp.train_set,
        val_set=None,
        config=cfg,
        run_dir=None,
        device=device,
        metric=recipe.metric,
        higher_is_better=recipe.higher_is_better,
        quiet=True,
    )
    trainer.fit()
    metrics = trainer.evaluate(test_set or exp.test_set)
    return trainer.module, metrics, recording.losses


def _test_inputs(splits: MotionSplits, config: dict[str, Any], flow_length: int) -> tuple[Dataset, Dataset | None]:
    size, ev = int(config["data"]["image_size"]), config["eval"]
    make = TwoStreamInputs(
        flow_length, size, train=False, positions=int(ev["positions"]), crops=int(ev["crops"]),
        stacking=check_stacking(config["data"]["stacking"]),
    )  # fmt: skip
    return splits.test.with_assemble(make), (splits.val.with_assemble(make) if splits.val is not None else None)


# ---------------------------------------------------------------------------------------------- the recipe
QUICK = extend_config(
    MOTION_CONFIG,
    {
        "model": {
            "name": "two_stream_tiny",
            "kwargs": {
                "backbone": "resnet_tiny",
                "flow_length": 5,
                "backbone_kwargs": {},
                "drop_rate": 0.2,
                "temporal_drop_rate": 0.2,
            },
        },
        # Feichtenhofer et al. §3.1: the trained towers fused after their last conv layer, then fine-tuned.
        "fusion": {"kind": "conv", "steps": 120, "lr": 1e-3},
    },
)
# S&Z §6: SGD with momentum 0.9, mini-batches of 256 (one frame of each of 256 videos), lr 1e-2 → 1e-3 after
# 50K → 1e-4 after 70K iterations, stop at 80K (the from-scratch schedule of the temporal net); L = 10;
# dropout 0.9 (temporal) / 0.5 (spatial) in the fully connected layers (§6, Table 1); 25 frames × 10 crops at
# test. Weight decay is not given in the paper (5e-4 as CNN-M's ImageNet training, Chatfield et al. 2014).
# Conv fusion (Feichtenhofer et al. §4): the towers of the trained two-stream net fused by a 1×1 conv and
# fine-tuned at lr 1e-3 (their schedule: → 1e-4 after 14K iterations, 30K iterations; batch 96, not modelled).
FULL = ucf101_config(
    QUICK,
    model={"name": "two_stream_cnn_m", "kwargs": {}},
    fusion={"kind": "conv", "steps": 30000, "lr": 1e-3},
    optim={"name": "sgd", "lr": 1e-2, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [50000, 70000], "gamma": 0.1},
    train={"steps": 80000, "batch_size": 256, "eval_every": 10000, "ckpt_every": 5000},
)


class TwoStreamRecipe(Recipe):
    """Spatial + temporal streams trained together (separate losses); late and conv fusion at test."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        stacking = check_stacking(config["data"]["stacking"])  # before the flow is computed
        splits = motion_splits(config)
        kwargs = {"num_classes": splits.num_classes, **config["model"]["kwargs"]}
        model = create_model(config["model"]["name"], **kwargs)
        if not isinstance(model, TwoStream):
            raise ConfigError(f"two_stream trains a TwoStream model (got {type(model).__name__})")
        length, size = model.flow_length, int(config["data"]["image_size"])
        train = splits.train.with_assemble(TwoStreamInputs(length, size, train=True, stacking=stacking))
        test, val = _test_inputs(splits, config, length)
        # sample_ndim=5: a test batch [rgb (B, 10, 3, P, s, s), flow (B, 10, 2L, P, s, s)] holds ten crops.
        task = ClassificationTask(sample_ndim=5)
        info = {"data": splits.source, "splits": splits, "flow_method": splits.flow_method}
        return Experiment(model, task, train, val, test, info=info)

    def _streams(self, exp: Experiment, config: dict[str, Any]) -> dict[str, float]:
        if "streams" not in exp.info:
            model = exp.model.module if hasattr(exp.model, "module") else exp.model
            exp.info["streams"] = {
                name: evaluate_module(StreamView(model, i), exp.task, exp.test_set, config)["acc"]
                for i, name in enumerate(("spatial", "temporal"))
            }
        return exp.info["streams"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return self._streams(exp, config)["spatial"]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        streams = self._streams(exp, config)
        fcfg = config["fusion"]
        model = exp.model.module if hasattr(exp.model, "module") else exp.model
        conv = FusedStreams(model, fcfg["kind"], image_size=int(config["data"]["image_size"]))
        conv, conv_metrics, conv_losses = train_companion(self, exp, config, conv, steps=fcfg["steps"], lr=fcfg["lr"])
        late = float(test_metrics["acc"])
        metrics = {
            "spatial_acc": streams["spatial"],
            "temporal_acc": streams["temporal"],
            "late_fusion_acc": late,
            "conv_fusion_acc": float(conv_metrics["acc"]),
            "temporal_minus_spatial": streams["temporal"] - streams["spatial"],
            "late_fusion_minus_best_stream": late - max(streams.values()),
            "conv_fusion_minus_best_stream": float(conv_metrics["acc"]) - max(streams.values()),
        }
        rows = [
            ["spatial stream (RGB frame)", round(streams["spatial"], 4), params_of(model.spatial)],
            ["temporal stream (flow stack)", round(streams["temporal"], 4), params_of(model.temporal)],
            ["late fusion (softmax average, S&Z §4)", round(late, 4), params_of(model)],
            [f"{conv.fusion_kind} fusion after the last conv layer (Feichtenhofer et al. eq. 4), fine-tuned",
             round(conv_metrics["acc"], 4), params_of(conv)],
        ]  # fmt: skip
        flow = config["flow"]
        tables = {
            "two-stream accuracy (test protocol of S&Z §6)": {"columns": ["model", "accuracy", "parameters"],
                                                              "rows": rows},
            "optical flow": {
                "columns": ["method", "bound (px)", "parameters", "mean subtraction", "stack length L"],
                "rows": [[exp.info["flow_method"], flow["bound"], json.dumps(flow["kwargs"]), flow["mean_subtraction"],
                          model.flow_length]],
            },
        }  # fmt: skip
        if run_dir is not None:
            plot_curves(
                {"conv fusion": conv_losses}, run_dir / "plots" / "conv_fusion_loss.png", title="conv fusion training"
            )
        return Finish(metrics=metrics, tables=tables)


register_recipe(
    TwoStreamRecipe(
        name="two_stream",
        system="Two-stream (+ fusion variants)",
        paper=SIMONYAN_2014,
        model="two_stream_cnn_m",
        metric="acc",
        higher_is_better=True,
        baseline="spatial stream alone (single RGB frames)",
        claim="the flow stream beats the RGB stream on motion classes; late and conv fusion beat both streams",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.869,
            "UCF-101 split 1, two-stream CNN-M-2048 fused by averaging softmax scores (spatial 73.0, temporal "
            f"83.7); conv fusion of two VGG-16: 85.96 (Feichtenhofer, arXiv:{FEICHTENHOFER_2016.arxiv}, Table 1)",
            "Simonyan & Zisserman 2014, Table 3",
        ),
    )
)
