"""What the clip-classification recipes share (issue 5): clips and test views from the config, packing for
multi-pathway models, the single-frame 2D baseline, clip vs video accuracy, and cost tables from the registry.

The claim every video recipe checks on the built-in ``moving_shapes`` clips (whose label is the motion and
whose single frames carry no information about it, :func:`paperzoo.data.video.moving_shapes`): the
spatio-temporal model beats a 2D network that sees ONE frame of each clip, trained on the same data, steps
and batch size, which stays near chance (10%).

Config (beyond :data:`~paperzoo.recipes.base.BASE_CONFIG`)::

    data:
      name: moving_shapes      # a registered video dataset (built-in, or a reader that needs --data PATH)
      kwargs: {}               # passed to the dataset (built-in sizes and frames; a reader's split, ...)
      clip_frames: 4           # T frames per clip
      frame_stride: 4          # sampling rate τ: every τ-th frame of the video
      image_size: 32           # side of the square crops the model sees
      test_size: null          # shorter side before the test crops (null: image_size); three_crop: the crop side
      train_transform: none    # none | crop | kinetics | c3d | resize_crop (built-in positions are random already)
      eval_transform: centre   # centre | three_crop | ten_crop | c3d
      flip: false              # random horizontal flips in training (never on moving_shapes: left <-> right)
      test_clips: 2            # temporal clips per test video, evenly spaced (× the crops = the views)
    task:
      label_smoothing: 0.0
    baseline:
      model: resnet_cifar_tiny # a registered 2D classifier fed one frame per clip (single_frame_baseline)
      kwargs: {}
      steps: 0                 # 0: the recipe's train.steps (same budget); batch size and schedule are the recipe's
      optim: {name: adamw, lr: 0.003, weight_decay: 0.05}

Training clips: one clip of ``clip_frames`` frames at ``frame_stride`` from a random start (dense sampling,
C3D/I3D/SlowFast) and the spatial ``train_transform``. Test: ``test_clips`` evenly spaced clips × the
``eval_transform``'s crops, every view scored and the softmax averaged (``ClassificationTask(sample_ndim=5)``);
:meth:`VideoRecipe.finish` also reports the clip accuracy (each view alone) next to this video accuracy.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..data.transforms import Compose, ToFloat, Transform
from ..data.video import (
    KINETICS_MEAN,
    KINETICS_STD,
    RandomShortSideScale,
    ThreeCrop,
    VideoCenterCrop,
    VideoHorizontalFlip,
    VideoNormalize,
    VideoRandomCrop,
    VideoResize,
    VideoSplits,
    VideoTenCrop,
    uniform_clip_indices,
)
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import ClassificationTask, move_to_device
from ..engine.trainer import Trainer, eval_batches
from ..metrics.video import clip_accuracy, video_accuracy
from ..registry import create_dataset, create_model, get_dataset_entry, get_model_entry
from ._image import RecordingTask
from .base import BASE_CONFIG, Experiment, Finish, Recipe

__all__ = [
    "VIDEO_CONFIG",
    "VideoRecipe",
    "TemporalCrop",
    "TemporalViews",
    "ViewsCompose",
    "build_video_data",
    "map_clips",
    "pack_dataset",
    "single_frame_baseline",
    "cost_table",
    "quick_config",
    "kinetics_config",
    "ucf101_config",
    "KINETICS400_TRAIN_VIDEOS",
    "UCF101_TRAIN_VIDEOS",
]

#: Kinetics-400 training videos (SlowFast §A.2: "∼240k Kinetics videos"), for the full configs' epoch arithmetic.
KINETICS400_TRAIN_VIDEOS = 240_000
#: UCF-101 split 1 training videos (trainlist01.txt).
UCF101_TRAIN_VIDEOS = 9_537

VIDEO_CONFIG: dict[str, Any] = extend_config(
    BASE_CONFIG,
    {
        "data": {
            "name": "moving_shapes",
            "path": None,
            "kwargs": {},
            "clip_frames": 4,
            "frame_stride": 4,
            "image_size": 32,
            "test_size": None,
            "train_transform": "none",
            "eval_transform": "centre",
            "flip": False,
            "test_clips": 2,
        },
        "optim": {"name": "adamw", "lr": 3e-3, "momentum": 0.9, "weight_decay": 0.05},
        "schedule": {"name": "cosine", "warmup_steps": 20},
        "train": {"steps": 600, "batch_size": 32, "eval_every": 300, "ckpt_every": 300, "eval_batch_size": 100},
        "task": {"label_smoothing": 0.0},
        "baseline": {
            "model": "resnet_cifar_tiny",
            "kwargs": {},
            "steps": 0,
            "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 0.05},
        },
    },
)


# ---------------------------------------------------------------------------------------------- transforms
class TemporalCrop(Transform):
    """One clip of ``clip_len`` frames at ``stride`` from a random start per video (dense sampling,
    :func:`~paperzoo.data.video.dense_clip_indices`): (B, C, N, H, W) -> (B, C, clip_len, H, W)."""

    def __init__(self, clip_len: int, stride: int = 1) -> None:
        if clip_len <= 0 or stride <= 0:
            raise ValueError(f"clip_len and stride must be positive (got {clip_len}, {stride})")
        self.clip_len, self.stride = clip_len, stride

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        batched = x.ndim == 5
        x = x if batched else x.unsqueeze(0)
        b, n = x.shape[0], x.shape[2]
        span = (self.clip_len - 1) * self.stride + 1
        starts = torch.randint(0, max(n - span, 0) + 1, (b,), generator=generator)
        idx = (starts[:, None] + self.stride * torch.arange(self.clip_len)).clamp_(max=n - 1)  # (B, T)
        out = rearrange(x[torch.arange(b)[:, None], :, idx], "b t c h w -> b c t h w")
        return out if batched else out.squeeze(0)

    def __repr__(self) -> str:
        return f"TemporalCrop(clip_len={self.clip_len}, stride={self.stride})"


class TemporalViews(Transform):
    """``num_clips`` evenly spaced clips per video (:func:`~paperzoo.data.video.uniform_clip_indices`):
    (B, C, N, H, W) -> (B, num_clips, C, clip_len, H, W)."""

    def __init__(self, clip_len: int, stride: int = 1, *, num_clips: int = 1) -> None:
        if min(clip_len, stride, num_clips) <= 0:
            raise ValueError(f"clip_len, stride and num_clips must be positive (got {clip_len}, {stride}, {num_clips})")
        self.clip_len, self.stride, self.num_clips = clip_len, stride, num_clips

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        idx = uniform_clip_indices(x.shape[-3], self.clip_len, self.stride, num_clips=self.num_clips)  # (K, T)
        return rearrange(x[..., idx, :, :], "... c k t h w -> ... k c t h w")

    def __repr__(self) -> str:
        return f"TemporalViews(clip_len={self.clip_len}, stride={self.stride}, num_clips={self.num_clips})"


class ViewsCompose(Transform):
    """Apply clip transforms in order to clips (B, C, T, H, W) or multi-view batches (B, V, C, T, H, W):
    views are folded into the batch for each step, and a step that adds views (three crops, ten crops,
    temporal views) multiplies them: the result is (B, V_1·V_2·…, C, T, h, w) once any view exists."""

    def __init__(self, steps: Sequence[Transform]) -> None:
        self.steps = list(steps)

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        for step in self.steps:
            if x.ndim == 6:
                b = x.shape[0]
                y = step(x.flatten(0, 1), generator=generator)
                x = y.view(b, -1, *y.shape[-4:])  # (B, V, ...) or (B·V, V2, ...) -> (B, V·V2, ...)
            else:
                x = step(x, generator=generator)
        return x

    def __repr__(self) -> str:
        return f"ViewsCompose({self.steps!r})"


class _FlattenViews(Transform):
    """For file datasets: one item's temporal views (V, C, T, H, W) through a transform that may add crops
    (V, V2, C, T, h, w) come out as (V·V2, C, T, h, w)."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        y = self.transform(x, generator=generator)
        return y.flatten(0, 1) if y.ndim == 6 else y


def _spatial_train(name: str, size: int, flip: bool) -> list[Transform]:
    if name == "none":
        steps: list[Transform] = []
    elif name == "crop":  # built-in clips: a random crop after zero padding (shapes wrap around the borders)
        steps = [VideoRandomCrop(size, padding=max(size // 8, 1))]
    elif name == "kinetics":  # SlowFast/X3D/MViT/TimeSformer: shorter side in [256, 320]·s/224, random crop
        steps = [RandomShortSideScale(round(size * 256 / 224), round(size * 320 / 224), crop_size=size)]
    elif name == "c3d":  # C3D §3.1: frames resized to 128×171, random 112×112 crops
        steps = [VideoResize((round(size * 128 / 112), round(size * 171 / 112))), VideoRandomCrop(size)]
    elif name == "resize_crop":  # I3D §3.1 (training): shorter side to 256, random 224 crop
        steps = [VideoResize(round(size * 256 / 224)), VideoRandomCrop(size)]
    else:
        raise ConfigError(f"data.train_transform must be one of none, crop, kinetics, c3d, resize_crop (got {name!r})")
    return [*steps, VideoHorizontalFlip()] if flip else steps


def _spatial_eval(name: str, size: int, test_size: int | None) -> tuple[list[Transform], int]:
    """The test crops and how many views they make per clip."""
    short = int(test_size or size)
    if name == "centre":
        return [VideoResize(short), VideoCenterCrop(size)], 1
    if name == "three_crop":  # SlowFast/X3D/TimeSformer: 3 crops along the longer side, shorter side = crop side
        return [VideoResize(short), ThreeCrop(short)], 3
    if name == "ten_crop":  # Two-stream/TSN style: corners + centre and their mirrors
        return [VideoResize(short), VideoTenCrop(size)], 10
    if name == "c3d":  # C3D: the centre 112×112 crop of frames resized to 128×171
        return [VideoResize((round(size * 128 / 112), round(size * 171 / 112))), VideoCenterCrop(size)], 1
    raise ConfigError(f"data.eval_transform must be one of centre, three_crop, ten_crop, c3d (got {name!r})")


def _normalise() -> list[Transform]:
    return [ToFloat(), VideoNormalize(KINETICS_MEAN, KINETICS_STD)]


# ---------------------------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def _builtin(name: str, kwargs_json: str) -> VideoSplits:
    """Built-in clips are generated once per process for the same arguments (the learning tests run several
    recipes on the same clips); transforms are attached afterwards on views that share the storage."""
    return create_dataset(name, **json.loads(kwargs_json))


def build_video_data(config: dict[str, Any]) -> VideoSplits:
    """The video splits named by ``config["data"]`` with the clip sampling and transforms of the config.

    Training items are single clips (C, T, H, W); val/test items carry the views (V, C, T, H, W), V =
    ``test_clips`` × the crops of ``eval_transform``.
    """
    cfg = config["data"]
    entry = get_dataset_entry(cfg["name"])
    t, stride, size = int(cfg["clip_frames"]), int(cfg["frame_stride"]), int(cfg["image_size"])
    clips = int(cfg["test_clips"])
    if min(t, stride, size, clips) <= 0:
        raise ConfigError(f"data.clip_frames, frame_stride, image_size, test_clips must be > 0 (got {t}, {stride}, "
                          f"{size}, {clips})")  # fmt: skip
    train_spatial = _spatial_train(cfg["train_transform"], size, bool(cfg["flip"]))
    eval_spatial, crops = _spatial_eval(cfg["eval_transform"], size, cfg.get("test_size"))
    kwargs = dict(cfg.get("kwargs") or {})
    if entry.builtin:
        kwargs.setdefault("seed", int(config["seed"]))
        splits = _builtin(cfg["name"], json.dumps(kwargs, sort_keys=True))
        if not isinstance(splits, VideoSplits):
            raise ConfigError(f"dataset {cfg['name']!r} is not a video classification dataset")
        # Built-in clips rendered small are upscaled to the model's size first (as the image recipes do).
        up = [VideoResize((size, size))] if splits.image_size != size else []
        train_tf = ViewsCompose([TemporalCrop(t, stride), *up, *train_spatial, *_normalise()])
        eval_tf = ViewsCompose([TemporalViews(t, stride, num_clips=clips), *up, *eval_spatial, *_normalise()])
        splits = splits.with_transforms(train_tf, eval_tf)
        return replace(splits, num_frames=t, image_size=size)
    if not cfg.get("path"):
        raise ConfigError(f"dataset {cfg['name']!r} is read from files: give its location with --data PATH")
    kwargs.update(
        path=cfg["path"],
        clip_len=t,
        stride=stride,
        num_test_clips=clips,
        image_size=size,
        train_transform=Compose([*train_spatial, *_normalise()]),
        eval_transform=_FlattenViews(Compose([*eval_spatial, *_normalise()])),
    )
    splits = create_dataset(cfg["name"], **kwargs)
    if not isinstance(splits, VideoSplits):
        raise ConfigError(f"dataset {cfg['name']!r} is not a video classification dataset")
    return splits


class _MappedClips(Dataset):
    """A video dataset whose clips go through ``fn`` (items and batches alike)."""

    def __init__(self, dataset: Dataset, fn: Callable[[Tensor], Any]) -> None:
        self.dataset, self.fn = dataset, fn

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Tensor]:
        x, y = self.dataset[index]
        return self.fn(x), y


class _MappedClipBatches(_MappedClips):
    def get_batch(self, indices: Sequence[int] | Tensor) -> tuple[Any, Tensor]:
        x, y = self.dataset.get_batch(indices)
        return self.fn(x), y


def map_clips(dataset: Dataset | None, fn: Callable[[Tensor], Any]) -> Dataset | None:
    """``dataset`` with ``fn`` applied to every clip (keeping the fast ``get_batch`` path where it exists)."""
    if dataset is None:
        return None
    return (_MappedClipBatches if hasattr(dataset, "get_batch") else _MappedClips)(dataset, fn)


def _pack(x: Tensor, alpha: int) -> list[Tensor]:
    """SlowFast's ``[slow, fast]`` of clips with any leading dimensions (..., C, T, H, W), with the frame
    choice of :func:`~paperzoo.models.video.slowfast.pack_pathways` (``linspace(0, T - 1, T // α)``)."""
    from ..models.video.slowfast import pack_pathways

    lead = x.shape[:-4]
    slow, fast = pack_pathways(x.reshape(-1, *x.shape[-4:]), alpha)
    return [slow.reshape(*lead, *slow.shape[-4:]), fast.reshape(x.shape)]


def pack_dataset(dataset: Dataset | None, alpha: int) -> Dataset | None:
    """Clips of ``dataset`` packed into SlowFast's ``[slow, fast]`` pathways (views kept)."""
    return map_clips(dataset, functools.partial(_pack, alpha=alpha))


def _only_frame(x: Tensor) -> Tensor:
    """(..., C, 1, H, W) -> (..., C, H, W): one-frame clips (and views) as images."""
    return x.squeeze(-3)


# ---------------------------------------------------------------------------------------------- baseline
_BASELINE_CACHE: dict[str, dict[str, float]] = {}


def _baseline_steps(config: dict[str, Any]) -> int:
    return int(config["baseline"].get("steps") or 0) or int(config["train"]["steps"])


def _baseline_config(config: dict[str, Any]) -> dict[str, Any]:
    """The recipe's config for the single-frame network: one-frame clips, its own model and optimiser."""
    cfg = copy.deepcopy(config)
    cfg["data"].update(clip_frames=1, frame_stride=1)
    cfg["optim"] = extend_config(cfg["optim"], config["baseline"].get("optim") or {})
    steps = _baseline_steps(config)
    cfg["train"].update(steps=steps, eval_every=steps, ckpt_every=steps, tensorboard=False, ema_decay=0.0)
    return cfg


def single_frame_baseline(config: dict[str, Any], *, device: torch.device | str = "cpu") -> dict[str, float]:
    """Test metrics of a 2D classifier (``config["baseline"]["model"]``) that sees ONE frame per clip.

    The recipe's data with one-frame clips: a random frame of every training video (the training
    transforms as the recipe's), for the recipe's number of steps, batch size and schedule
    (``baseline.steps`` and ``baseline.optim`` may change them); tested on ``test_clips`` evenly spaced
    frames × the recipe's crops, the softmax averaged over these views (the recipe's own protocol). The
    result does not depend on the recipe's clip length or stride, so it is cached per process by the
    rest of the config: recipes on the same data share one baseline.
    """
    cfg = _baseline_config(config)
    key = json.dumps(
        {"seed": cfg["seed"], "data": cfg["data"], "baseline": config["baseline"], "optim": cfg["optim"],
         "schedule": cfg["schedule"], "train": [cfg["train"]["steps"], cfg["train"]["batch_size"]]},
        sort_keys=True, default=str,
    )  # fmt: skip
    if key in _BASELINE_CACHE:
        return dict(_BASELINE_CACHE[key])
    splits = build_video_data(cfg)
    torch.manual_seed(int(cfg["seed"]))
    bcfg = config["baseline"]
    kwargs = {"num_classes": splits.num_classes, "in_chans": splits.in_chans, **dict(bcfg.get("kwargs") or {})}
    model = create_model(bcfg["model"], **kwargs)
    topk = (1, 5) if splits.num_classes > 5 else (1,)
    task = ClassificationTask(topk=topk, sample_ndim=4)  # a 5-D test batch holds the views' frames
    trainer = Trainer(
        model=model,
        task=task,
        train_set=map_clips(splits.train, _only_frame),
        val_set=None,
        config=cfg,
        run_dir=None,
        device=torch.device(device),
        metric="acc",
        higher_is_better=True,
        quiet=True,
    )
    trainer.fit()
    metrics = trainer.evaluate(map_clips(splits.test, _only_frame))
    _BASELINE_CACHE[key] = {k: float(v) for k, v in metrics.items()}
    return dict(_BASELINE_CACHE[key])


# ---------------------------------------------------------------------------------------------- costs
@functools.lru_cache(maxsize=64)
def _costs(name: str, kwargs_json: str) -> tuple[int, float]:
    """(parameters, FLOPs) of one clip through a registered model at its registered input (meta device)."""
    from torch.utils.flop_counter import FlopCounterMode

    entry = get_model_entry(name)
    with torch.device("meta"):
        model = create_model(name, **json.loads(kwargs_json)).eval()
    x = entry.example_input(1, "meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return sum(p.numel() for p in model.parameters()), float(counter.get_total_flops())


def cost_table(rows: Sequence[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """Parameters, multiply-adds and FLOPs per clip of ``(label, registered name, constructor overrides)``.

    Counted with ``torch.utils.flop_counter.FlopCounterMode`` on the meta device at the registered input
    size (the paper's clip, batch 1), as ``paperzoo info``: FlopCounterMode counts a multiply-add as 2
    FLOPs; most video papers' "FLOPs" are multiply-adds (GMACs here).
    """
    out = []
    for label, name, kwargs in rows:
        params, flops = _costs(name, json.dumps(kwargs, sort_keys=True))
        size = get_model_entry(name).input_size
        clip = f"{size[1]}×{size[2]}²" if size is not None and len(size) == 4 else "-"
        out.append([label, name, clip, params, round(flops / 2e9, 2), round(flops / 1e9, 2)])
    return {"columns": ["model", "registered", "clip (T×S²)", "params", "GMACs", "GFLOPs"], "rows": out}


def gmacs_of(table: dict[str, Any], label: str) -> float:
    return next(row[4] for row in table["rows"] if row[0] == label)


# ---------------------------------------------------------------------------------------------- recipe
class VideoRecipe(Recipe):
    """A clip classifier trained with cross-entropy and tested on multi-view video accuracy, judged against
    the single-frame 2D baseline.

    Class attributes set per recipe (dataclass fields with defaults):
        geometry: constructor arguments the model takes from the clip config: ``num_frames`` (clip_frames),
            ``img_size`` (image_size), ``clip_size`` ((clip_frames, image_size, image_size)); ones given in
            ``model.kwargs`` win.
        pathways: pack the input into SlowFast's [slow, fast] (α from the model).
        costs: ``(label, registered name, overrides)`` rows of the cost table in :meth:`finish`.
    """

    geometry: tuple[str, ...] = ()
    pathways: bool = False
    costs: tuple[tuple[str, str, dict[str, Any]], ...] = ()

    def __init__(self, *, geometry=(), pathways=False, costs=(), **fields: Any) -> None:
        super().__init__(**fields)
        self.geometry, self.pathways, self.costs = tuple(geometry), bool(pathways), tuple(costs)

    def model_kwargs(self, config: dict[str, Any], splits: VideoSplits) -> dict[str, Any]:
        cfg = config["data"]
        t, s = int(cfg["clip_frames"]), int(cfg["image_size"])
        kwargs = dict(config["model"]["kwargs"])
        kwargs.setdefault("num_classes", splits.num_classes)
        kwargs.setdefault("in_chans", splits.in_chans)
        geometry = {"num_frames": t, "img_size": s, "clip_size": (t, s, s)}
        for key in self.geometry:
            kwargs.setdefault(key, geometry[key])
        return kwargs

    def setup(self, config: dict[str, Any]) -> Experiment:
        splits = build_video_data(config)
        model = create_model(config["model"]["name"], **self.model_kwargs(config, splits))
        topk = (1, 5) if splits.num_classes > 5 else (1,)
        # sample_ndim=5: a 6-D evaluation batch holds the views of each video (clips × crops); softmax averaged.
        task = ClassificationTask(label_smoothing=float(config["task"]["label_smoothing"]), topk=topk, sample_ndim=5)
        train, val, test = splits.train, splits.val, splits.test
        if self.pathways:
            alpha = int(model.alpha)
            if int(config["data"]["clip_frames"]) % alpha:
                raise ConfigError(f"data.clip_frames must be a multiple of the model's alpha={alpha} "
                                  f"(got {config['data']['clip_frames']})")  # fmt: skip
            train, val, test = (pack_dataset(d, alpha) for d in (train, val, test))
        info = {"data": splits.source, "splits": splits, "num_classes": splits.num_classes}
        return Experiment(model, task, train, val, test, info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        if "single_frame" not in exp.info:
            device = next(exp.model.parameters()).device
            exp.info["single_frame"] = single_frame_baseline(config, device=device)
        return exp.info["single_frame"][self.metric]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        metrics, tables = self.view_metrics(exp, config), {}
        views = (
            int(config["data"]["test_clips"])
            * _spatial_eval(
                config["data"]["eval_transform"], int(config["data"]["image_size"]), config["data"].get("test_size")
            )[1]
        )
        metrics["views"] = float(views)
        if "single_frame" in exp.info:
            metrics["single_frame_acc"] = exp.info["single_frame"]["acc"]
        if self.costs:
            tables["cost per clip (registry, meta device)"] = cost_table(self.costs)
        return Finish(metrics=metrics, tables=tables)

    def example_input(self, exp: Experiment) -> Any:
        """Two test clips, the first view of each (export and benchmarks take single clips, not view stacks)."""
        x = super().example_input(exp)
        if isinstance(x, (list, tuple)):
            return [t[:, 0] if t.dim() == 6 else t for t in x]
        return x[:, 0] if x.dim() == 6 else x

    @torch.no_grad()
    def view_metrics(self, exp: Experiment, config: dict[str, Any]) -> dict[str, float]:
        """Clip accuracy (every view scored alone, C3D's "clip hit@k") and video accuracy (softmax averaged over
        a video's views, :func:`~paperzoo.metrics.video.video_accuracy`) of the trained model on the test set."""
        model = exp.model
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        logits, targets = [], []
        batch_size = int(config["train"]["eval_batch_size"])
        for x, y in eval_batches(exp.test_set, batch_size, collate_fn=exp.collate_fn):
            x = move_to_device(x, device)
            first = x[0] if isinstance(x, (list, tuple)) else x
            if first.dim() == 5:  # a single view per video
                x = [t.unsqueeze(1) for t in x] if isinstance(x, (list, tuple)) else x.unsqueeze(1)
                first = first.unsqueeze(1)
            b, v = first.shape[:2]
            flat = [t.flatten(0, 1) for t in x] if isinstance(x, (list, tuple)) else x.flatten(0, 1)
            out = model(flat)
            out = out.logits if hasattr(out, "logits") else out
            logits.append(out.view(b, v, -1).float().cpu())
            targets.append(y.cpu())
        model.train(was_training)
        scores, target = torch.cat(logits), torch.cat(targets)
        k = (1, 5) if scores.shape[-1] > 5 else (1,)
        clip = clip_accuracy(scores.flatten(0, 1), target.repeat_interleave(scores.shape[1]), topk=k)
        video = video_accuracy(scores, target, topk=k)
        out = {"clip_acc": clip["top1"], "video_acc": video["top1"]}
        if 5 in k:
            out.update({"clip_acc@5": clip["top5"], "video_acc@5": video["top5"]})
        return out

    def train_other(
        self, exp: Experiment, config: dict[str, Any], model_name: str, model_kwargs: dict[str, Any] | None = None
    ) -> tuple[nn.Module, dict[str, float], list[float]]:
        """Train another registered clip model on the recipe's clips with the recipe's config (same seed, steps,
        optimizer, schedule); returns it, its test metrics (video accuracy over the views) and its losses."""
        device = next(exp.model.parameters()).device
        splits = exp.info["splits"]
        kwargs = {**self.model_kwargs({**config, "model": {"kwargs": {}}}, splits), **(model_kwargs or {})}
        torch.manual_seed(int(config["seed"]))
        model = create_model(model_name, **kwargs)
        task = RecordingTask(exp.task)
        cfg = copy.deepcopy(config)
        cfg["train"]["tensorboard"] = False
        trainer = Trainer(
            model=model,
            task=task,
            train_set=exp.train_set,
            val_set=None,
            config=cfg,
            run_dir=None,
            device=device,
            metric=self.metric,
            higher_is_better=self.higher_is_better,
            quiet=True,
        )
        trainer.fit()
        return trainer.module, trainer.evaluate(exp.test_set), task.losses


# ---------------------------------------------------------------------------------------------- configs
def epochs_to_steps(epochs: float, batch_size: int, videos: int = KINETICS400_TRAIN_VIDEOS) -> int:
    return max(1, round(epochs * videos / batch_size))


def quick_config(
    model_name: str,
    *,
    steps: int = 600,
    clip_frames: int = 4,
    frame_stride: int = 4,
    train_size: int = 1500,
    **sections: Any,
) -> dict[str, Any]:
    """A quick config on the built-in ``moving_shapes`` clips (16 frames of 32×32 rendered, ``clip_frames`` at
    ``frame_stride`` sampled; 2 test clips per video), AdamW with a cosine schedule."""
    base = extend_config(
        VIDEO_CONFIG,
        {
            "model": {"name": model_name, "kwargs": {}},
            "data": {
                "name": "moving_shapes",
                "kwargs": {"train_size": train_size, "val_size": 200, "test_size": 400, "num_frames": 16},
                "clip_frames": clip_frames,
                "frame_stride": frame_stride,
            },
            "train": {"steps": steps, "eval_every": steps // 2, "ckpt_every": steps // 2},
        },
    )
    return extend_config(base, sections)


def _full_config(
    quick: dict[str, Any],
    model_name: str,
    *,
    dataset: str,
    videos: int,
    clip_frames: int,
    frame_stride: int,
    image_size: int,
    batch_size: int,
    epochs: float,
    train_transform: str,
    eval_transform: str,
    test_clips: int,
    test_size: int | None,
    baseline_model: str,
    **sections: Any,
) -> dict[str, Any]:
    steps = epochs_to_steps(epochs, batch_size, videos)
    per_epoch = epochs_to_steps(1, batch_size, videos)
    base = extend_config(
        quick,
        {
            "model": {"name": model_name, "kwargs": {}},
            "data": {
                "name": dataset,
                "kwargs": {},
                "clip_frames": clip_frames,
                "frame_stride": frame_stride,
                "image_size": image_size,
                "test_size": test_size,
                "train_transform": train_transform,
                "eval_transform": eval_transform,
                "flip": True,
                "test_clips": test_clips,
            },
            "train": {
                "steps": steps,
                "batch_size": batch_size,
                "eval_batch_size": 8,
                "eval_every": max(per_epoch * 5, 1),
                "ckpt_every": per_epoch,
                "log_every": 50,
                "num_workers": 8,
                "amp": True,
            },
            # The single-frame baseline at the paper's frame size: a ResNet on the middle frame, same budget.
            "baseline": {"model": baseline_model, "kwargs": {}, "steps": 0},
        },
    )
    return extend_config(base, sections)


def kinetics_config(
    quick: dict[str, Any],
    model_name: str,
    *,
    clip_frames: int,
    frame_stride: int,
    image_size: int = 224,
    batch_size: int,
    epochs: float,
    train_transform: str = "kinetics",
    eval_transform: str = "three_crop",
    test_clips: int = 10,
    test_size: int | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A full config on Kinetics-400 (``--data PATH`` holding ``kinetics400/{train,validate}.csv`` and the clip
    folders; tested on the validation set as the papers), the paper's hyperparameters in ``sections``."""
    return _full_config(
        quick,
        model_name,
        dataset="kinetics400",
        videos=KINETICS400_TRAIN_VIDEOS,
        clip_frames=clip_frames,
        frame_stride=frame_stride,
        image_size=image_size,
        batch_size=batch_size,
        epochs=epochs,
        train_transform=train_transform,
        eval_transform=eval_transform,
        test_clips=test_clips,
        test_size=test_size,
        baseline_model="resnet18",
        **sections,
    )


def ucf101_config(
    quick: dict[str, Any],
    model_name: str,
    *,
    clip_frames: int = 16,
    frame_stride: int = 1,
    image_size: int = 112,
    batch_size: int,
    epochs: float,
    train_transform: str = "c3d",
    eval_transform: str = "c3d",
    test_clips: int = 10,
    **sections: Any,
) -> dict[str, Any]:
    """A full config on UCF-101 split 1 (``--data PATH`` holding ``UCF-101/`` and ``ucfTrainTestlist/``)."""
    return _full_config(
        quick,
        model_name,
        dataset="ucf101",
        videos=UCF101_TRAIN_VIDEOS,
        clip_frames=clip_frames,
        frame_stride=frame_stride,
        image_size=image_size,
        batch_size=batch_size,
        epochs=epochs,
        train_transform=train_transform,
        eval_transform=eval_transform,
        test_clips=test_clips,
        test_size=None,
        baseline_model="resnet18",
        **sections,
    )
