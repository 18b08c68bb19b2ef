"""X3D's progressive network expansion (Feichtenhofer, "X3D: Expanding Architectures for Efficient Video
Recognition", CVPR 2020, arXiv:2004.04730, §4): grow a tiny 2D network one axis at a time, keeping at each
step the expansion with the best accuracy gain per added multiply-add.

System: X3D (:mod:`paperzoo.models.video.x3d`: :class:`~paperzoo.models.video.x3d.X3DConfig`,
:func:`~paperzoo.models.video.x3d.expand`, :meth:`X3D.from_config <paperzoo.models.video.x3d.X3D.from_config>`).

The procedure (§4.1, "forward expansion", a coordinate descent over the six axes of Fig. 1):

1. Train the base X2D (``search.base``: one frame, all network factors small) and measure its validation
   accuracy and its multiply-adds (GMACs: ``FlopCounterMode`` on the meta device at batch 1, divided by 2).
2. At each of ``search.steps`` steps, build one candidate per axis of ``search.axes`` by expanding the current
   network along that axis only (:func:`~paperzoo.models.video.x3d.expand` with the axis' factor, the defaults
   chosen so that each candidate roughly doubles the computation): X-Fast (frames × 2 at stride ÷ 2, the same
   duration at twice the frame rate), X-Temporal (frames × 2 at the same stride, a longer clip), X-Spatial
   (resolution × √2), X-Depth (γd × 2.2), X-Width (γw × 2), X-Bottleneck (γb × 2.25). Each candidate is trained
   from scratch with the short candidate schedule (``search.candidate_steps``) and validated on the validation
   split (never the test split).
3. Keep the candidate with the largest ``(acc - acc_current) / (GMACs - GMACs_current)``
   (:func:`select_expansion`) and continue from it.
4. The last network kept is the run's model: the runner trains it from scratch with the recipe's ``train``
   schedule and tests it. The baseline is the X2D start trained with the same schedule.

The frame-rate and duration axes need clips sampled with different lengths and strides from the same
videos: the quick config renders ``moving_shapes`` clips of 32 frames and every candidate samples its own
``frames × stride`` window from them (:class:`ExpansionClips`: a random start in training, the centre clip at
evaluation), resized to its resolution. On ``moving_shapes`` one frame cannot tell the class (the label is
the motion), so the X2D start is at chance and the expansion must discover time.

Config (beyond :data:`~paperzoo.recipes.base.BASE_CONFIG`)::

    data:    {name, path, kwargs}       moving_shapes (kwargs: sizes, num_frames of the source clips, image_size)
                                        or a video reader (kinetics400 via --data; kwargs: num_test_clips, ...)
    search:
      base: {frames, stride, resolution, width, bottleneck, depth}   the X2D start (an X3DConfig)
      axes: [fast, temporal, spatial, depth, width, bottleneck]
      factors: {fast: 4, temporal: 4, spatial: 1.414, depth: 2.2, width: 2, bottleneck: 2.25}
      steps: 2                           expansion steps
      candidate_steps: 250               optimizer steps of each candidate's short schedule
      path: []                           a fixed path of axes: replay it without training candidates
      device: auto                       where candidates train (auto: cuda when available)

Deviations and what is left out:
    * Backward contraction (§4.1: shrinking the last expansion to hit an exact complexity target) is not
      implemented; every step applies the fixed factors of ``search.factors``.
    * The selection criterion is written as the accuracy gain per added GMAC (the brief's reading of the
      paper's "best computation/accuracy trade-off"); a candidate that adds no computation (a factor lost to
      rounding) is not a step and is skipped.
    * The quick config uses AdamW, a small head (fc1 of 64) and × 4 steps on the two time axes so that a
      candidate learns within 250 steps on one CPU thread; the full config uses the paper's SGD recipe and × 2.
    * After a search the chosen path is written back into the run's ``config.yaml`` (``search.path``) and the
      table into ``expansion.json``, so ``paperzoo eval RUN`` rebuilds the chosen network without searching again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from ..data.video import KINETICS_MEAN, KINETICS_STD, TensorVideoDataset, VideoSplits
from ..engine.checkpoint import atomic_write_text
from ..engine.config import ConfigError, dump_yaml, extend_config
from ..engine.tasks import ClassificationTask
from ..engine.trainer import Trainer
from ..models.video.x3d import AXES, DEFAULT_FACTORS, X3D, X3D_2020, X3DConfig, expand
from ..registry import create_dataset, get_dataset_entry, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = [
    "Candidate",
    "ExpansionClips",
    "ExpansionSearch",
    "X3DExpansion",
    "count_gmacs",
    "expansion_path",
    "select_expansion",
]

# ---------------------------------------------------------------------------------------------- configs
QUICK = extend_config(
    BASE_CONFIG,
    {
        "model": {"name": "x3d_x2d", "kwargs": {"head_width": 64, "drop_rate": 0.0}},
        "data": {
            "name": "moving_shapes",
            "path": None,
            # 64-frame source clips: room for every frames × stride window of a two-step search (16 × 4 = 61 frames).
            "kwargs": {"train_size": 800, "val_size": 200, "test_size": 300, "num_frames": 64, "image_size": 32},
        },
        "optim": {"name": "adamw", "lr": 5e-3, "weight_decay": 5e-4},
        "schedule": {"name": "cosine", "warmup_steps": 10, "min_lr_ratio": 0.1},
        "train": {
            "steps": 250,
            "batch_size": 32,
            "eval_batch_size": 100,
            "eval_every": 250,
            "ckpt_every": 250,
            "log_every": 25,
            "tensorboard": False,
        },
        "search": {
            "base": {"frames": 1, "stride": 4, "resolution": 32, "width": 1.0, "bottleneck": 2.25, "depth": 0.5},
            "axes": list(AXES),
            # Time axes × 4 (the paper's × 2 leaves 2-frame candidates at chance within this budget: measured, a
            # 2-frame net stayed at 10% after 300 steps, a 4-frame one reached 20-30% in 250).
            "factors": {**DEFAULT_FACTORS, "fast": 4.0, "temporal": 4.0},
            "steps": 2,
            "candidate_steps": 250,
            "path": [],
            "device": "auto",
        },
    },
)

# Kinetics-400 (--data PATH). The paper's recipe (Appendix A, PySlowFast configs/Kinetics/X3D_*.yaml): SGD momentum
# 0.9, weight decay 5e-5, half-period cosine decay, linear warm-up over the first 35 epochs, dropout 0.5 before the
# classifier, batch 1024 with base lr 1.6 (PySlowFast: 128 per 8 GPUs at 0.1 per machine-shard), 256 epochs for
# the reported models (PySlowFast: 300). The expansion candidates are trained with a shorter schedule; the exact
# candidate schedule could not be verified from the paper's text here: 30 epochs is this recipe's choice.
KINETICS_TRAIN_VIDEOS = 240_000  # the paper's "240k training videos"
FULL_BATCH = 1024


def _epochs(epochs: float) -> int:
    return max(1, round(epochs * KINETICS_TRAIN_VIDEOS / FULL_BATCH))


FULL = extend_config(
    QUICK,
    {
        "model": {"name": "x3d_x2d", "kwargs": {}},  # fc1 2048, dropout 0.5: the paper's head
        "data": {"name": "kinetics400", "path": None, "kwargs": {"num_test_clips": 10, "val_fraction": 0.02}},
        "optim": {"name": "sgd", "lr": 1.6, "momentum": 0.9, "weight_decay": 5e-5},
        "schedule": {"name": "cosine", "warmup_steps": _epochs(35), "min_lr_ratio": 0.0},
        "train": {
            "steps": _epochs(256),
            "batch_size": FULL_BATCH,
            "eval_batch_size": 64,
            "eval_every": _epochs(10),
            "ckpt_every": _epochs(10),
            "log_every": 50,
            "num_workers": 8,
            "amp": True,
            "tensorboard": True,
        },
        "search": {
            "factors": dict(DEFAULT_FACTORS),  # × 2 in time, √2 in space, 2.2 depth, 2 width, 2.25 bottleneck
            # The paper's X2D (Table 1 with every factor 1): one 112² frame; the frame-rate axis halves a stride
            # of 48 source frames (X3D-XS reads 4 frames at stride 12 after two X-Fast steps).
            "base": {"frames": 1, "stride": 48, "resolution": 112, "width": 1.0, "bottleneck": 1.0, "depth": 1.0},
            "steps": 5,  # X3D-XS is the network after 5 steps (Fig. 2)
            "candidate_steps": _epochs(30),
        },
    },
)


# ---------------------------------------------------------------------------------------------- data
class ExpansionClips(Dataset):
    """Clips of ``frames`` frames at ``stride`` and ``resolution``² sampled from longer in-memory source videos.

    Every expansion candidate reads the same videos through its own window: training draws a random start
    per clip (torch's global RNG, or ``generator``), evaluation takes the centre clip (PySlowFast's single-view
    rule, as :func:`~paperzoo.data.video.uniform_clip_indices` with one clip). Windows longer than a video repeat
    its last frame. Frames are resized (bilinear, antialiased) when ``resolution`` differs from the source,
    scaled to [0, 1] and normalised with the Kinetics mean and std. Batches come back in the channels-last-3d
    layout, which makes the channel-wise 3D convolutions of X3D about three times faster on the CPU.

    Args:
        videos: (N, C, S, H, W) uint8 source clips.
        labels: (N,) class indices.
        frames, stride, resolution: the window (an :class:`X3DConfig`'s clip axes).
        train: random (True) or centre (False) windows.
    """

    def __init__(
        self, videos: Tensor, labels: Tensor, *, frames: int, stride: int, resolution: int, train: bool
    ) -> None:
        if videos.dtype != torch.uint8 or videos.ndim != 5:
            raise ValueError(f"videos must be uint8 (N, C, S, H, W) (got {videos.dtype} {tuple(videos.shape)})")
        if min(frames, stride, resolution) < 1:
            raise ValueError(f"frames, stride and resolution must be >= 1 (got {frames}, {stride}, {resolution})")
        self.videos, self.labels = videos, labels.long()
        self.frames, self.stride, self.resolution, self.train = frames, stride, resolution, train

    @classmethod
    def from_config(cls, dataset: TensorVideoDataset, config: X3DConfig, *, train: bool) -> ExpansionClips:
        return cls(
            dataset.videos,
            dataset.labels,
            frames=config.frames,
            stride=config.stride,
            resolution=config.resolution,
            train=train,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def frame_indices(self, batch: int, generator: torch.Generator | None = None) -> Tensor:
        """Source frame indices of ``batch`` windows: (batch, frames) int64."""
        length = self.videos.shape[2]
        last_start = max(length - ((self.frames - 1) * self.stride + 1), 0)
        if self.train:
            starts = torch.randint(0, last_start + 1, (batch,), generator=generator)
        else:
            starts = torch.full((batch,), last_start // 2)
        return (starts[:, None] + self.stride * torch.arange(self.frames)).clamp_(max=length - 1)

    def get_batch(
        self, indices: Sequence[int] | Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        t = self.frame_indices(len(idx), generator)  # (B, T)
        clips = self.videos[idx[:, None], :, t]  # (B, T, C, H, W): the advanced indices come first
        b, frames, c, h, w = clips.shape
        x = clips.reshape(b, frames * c, h, w).float().div_(255.0)
        if (h, w) != (self.resolution, self.resolution):
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", antialias=True)
        x = x.view(b, frames, c, self.resolution, self.resolution).transpose(1, 2)  # (B, C, T, S, S)
        mean = torch.tensor(KINETICS_MEAN).view(1, c, 1, 1, 1)
        std = torch.tensor(KINETICS_STD).view(1, c, 1, 1, 1)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last_3d)
        return x, self.labels[idx]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = self.get_batch([index])
        return x[0], y[0]


# ---------------------------------------------------------------------------------------------- bookkeeping
def expansion_path(base: X3DConfig, axes: Sequence[str], factors: dict[str, float] | None = None) -> list[X3DConfig]:
    """The networks visited by expanding ``base`` along ``axes`` in order: ``[base, step 1, ..., step k]``."""
    factors = {**DEFAULT_FACTORS, **(factors or {})}
    path = [base]
    for axis in axes:
        if axis not in AXES:
            raise ValueError(f"unknown expansion axis {axis!r}; known: {', '.join(AXES)}")
        path.append(expand(path[-1], axis, factors[axis]))
    return path


def count_gmacs(config: X3DConfig, *, num_classes: int, model_kwargs: dict[str, Any] | None = None) -> float:
    """Multiply-adds (GMACs) of the network and clip of ``config`` for one clip: ``FlopCounterMode`` on the meta
    device in eval mode, divided by 2 (it counts a multiply-add as two FLOPs), as ``paperzoo info`` does."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = X3D.from_config(config, num_classes=num_classes, **(model_kwargs or {})).eval()
        x = torch.empty(1, *config.input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2e9


def select_expansion(current: tuple[float, float], candidates: Sequence[tuple[float, float]]) -> int:
    """The coordinate-descent step (§4.1): the index of the candidate with the largest accuracy gain per added
    GMAC, ``(acc - acc₀) / (gmacs - gmacs₀)``.

    Args:
        current: ``(accuracy, GMACs)`` of the network being expanded.
        candidates: ``(accuracy, GMACs)`` of each expansion.

    Returns:
        The winner's index; ties go to the first. Candidates that add no computation are not expansions and are
        skipped (their ratio is undefined).

    Raises:
        ValueError: no candidate, or none that adds computation.
    """
    acc0, cost0 = current
    best, best_ratio = None, -math.inf
    for i, (acc, cost) in enumerate(candidates):
        added = cost - cost0
        if added <= 0:
            continue
        ratio = (acc - acc0) / added
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    if best is None:
        raise ValueError(f"no candidate adds computation over {cost0} GMACs (got {[c for _, c in candidates]})")
    return best


@dataclasses.dataclass
class Candidate:
    """One trained network of the search: its step (0 for the base), the axis that made it, and its numbers."""

    step: int
    axis: str
    config: X3DConfig
    gmacs: float
    params: int
    acc: float | None
    gain: float | None = None  # accuracy minus the expanded network's
    added_gmacs: float | None = None
    chosen: bool = False

    @property
    def gain_per_gmac(self) -> float | None:
        if self.gain is None or not self.added_gmacs or self.added_gmacs <= 0:
            return None
        return self.gain / self.added_gmacs

    def row(self) -> list[Any]:
        c = self.config
        return [
            self.step,
            self.axis,
            f"{c.frames}×{c.stride}",
            c.resolution,
            _num(c.width),
            _num(c.bottleneck),
            _num(c.depth),
            float(f"{self.gmacs:.4g}"),
            self.params,
            None if self.acc is None else round(self.acc, 4),
            None if self.gain is None else round(self.gain, 4),
            None if self.gain_per_gmac is None else float(f"{self.gain_per_gmac:.4g}"),
            "yes" if self.chosen else "",
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in dataclasses.asdict(self).items() if k != "config"},
            "config": dataclasses.asdict(self.config),
            "gain_per_gmac": self.gain_per_gmac,
        }


TABLE_COLUMNS = [
    "step",
    "axis",
    "frames×stride",
    "res",
    "γw",
    "γb",
    "γd",
    "GMACs",
    "params",
    "val acc",
    "Δacc",
    "Δacc/ΔGMAC",
    "kept",
]


def _num(x: float) -> float:
    return float(f"{x:.4g}")


@dataclasses.dataclass
class ExpansionSearch:
    """The outcome of a search: every trained network and the axes kept at each step."""

    candidates: list[Candidate]
    path: list[str]
    seconds: float

    @property
    def chosen(self) -> list[Candidate]:
        """The base and the network kept at each step."""
        return [c for c in self.candidates if c.step == 0 or c.chosen]

    def table(self) -> dict[str, Any]:
        return {"columns": TABLE_COLUMNS, "rows": [c.row() for c in self.candidates]}


# ---------------------------------------------------------------------------------------------- recipe
def _base_config(config: dict[str, Any]) -> X3DConfig:
    b = config["search"]["base"]
    return X3DConfig(
        frames=int(b["frames"]),
        stride=int(b["stride"]),
        resolution=int(b["resolution"]),
        width=float(b["width"]),
        bottleneck=float(b["bottleneck"]),
        depth=float(b["depth"]),
    )


def _factors(config: dict[str, Any]) -> dict[str, float]:
    extra = dict(config["search"].get("factors") or {})
    unknown = sorted(set(extra) - set(AXES))
    if unknown:
        raise ConfigError(f"search.factors has unknown axes {unknown}; known: {', '.join(AXES)}")
    return {**DEFAULT_FACTORS, **{k: float(v) for k, v in extra.items()}}


def _device(config: dict[str, Any]) -> torch.device:
    name = str(config["search"].get("device", "auto"))
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class X3DExpansion(Recipe):
    """Forward expansion from X2D (see the module docstring); judged by the test accuracy of the expanded network
    against the X2D start trained with the same schedule."""

    # -------------------------------------------------------------- data
    def _source(self, config: dict[str, Any]) -> VideoSplits:
        """The built-in source videos (read once; every candidate samples its own windows from them)."""
        data = config["data"]
        return create_dataset(data["name"], seed=int(config["seed"]), **dict(data.get("kwargs") or {}))

    def _splits(self, exp_info: dict[str, Any], config: dict[str, Any], net: X3DConfig) -> tuple[Dataset, ...]:
        """(train, val, test) datasets of the clips network ``net`` reads."""
        source = exp_info.get("source")
        if source is not None:  # built-in videos in memory
            return (
                ExpansionClips.from_config(source.train, net, train=True),
                ExpansionClips.from_config(source.val, net, train=False),
                ExpansionClips.from_config(source.test, net, train=False),
            )
        data = config["data"]  # a reader of video files: dense clips of the network's frames × stride and size
        kwargs = dict(data.get("kwargs") or {})
        kwargs.update(clip_len=net.frames, stride=net.stride, image_size=net.resolution, seed=int(config["seed"]))
        splits = create_dataset(data["name"], path=data["path"], **kwargs)
        return splits.train, splits.val, splits.test

    def _check_data(self, config: dict[str, Any]) -> dict[str, Any]:
        data = config["data"]
        entry = get_dataset_entry(data["name"])
        if entry.builtin:
            source = self._source(config)
            if not isinstance(source.train, TensorVideoDataset):
                raise ConfigError(f"dataset {data['name']!r} is not a built-in video dataset held in memory")
            return {"source": source, "num_classes": source.num_classes, "data": source.source}
        if not data.get("path"):
            raise ConfigError(f"dataset {data['name']!r} is read from files: give its location with --data PATH")
        splits = create_dataset(data["name"], path=data["path"], seed=int(config["seed"]), **dict(data["kwargs"]))
        return {"source": None, "num_classes": splits.num_classes, "data": splits.source}

    # -------------------------------------------------------------- training
    def train_network(
        self, info: dict[str, Any], config: dict[str, Any], net: X3DConfig, *, steps: int
    ) -> tuple[X3D, dict[str, Dataset]]:
        """Train ``net`` from scratch (seeded with ``config["seed"]``) for ``steps`` optimizer steps; returns the
        model and its (train, val, test) datasets."""
        train, val, test = self._splits(info, config, net)
        cfg = copy.deepcopy(config)
        cfg["train"].update(steps=int(steps), eval_every=0, ckpt_every=0)
        torch.manual_seed(int(config["seed"]))
        model = self.build(net, info["num_classes"], config)
        trainer = Trainer(
            model=model,
            task=info["task"],
            train_set=train,
            val_set=None,
            config=cfg,
            run_dir=None,
            device=_device(config),
            metric=self.metric,
            higher_is_better=True,
            quiet=True,
        )
        trainer.fit()
        return trainer.module, {"train": train, "val": val, "test": test}

    def accuracy(self, info: dict[str, Any], config: dict[str, Any], model: nn.Module, dataset: Dataset) -> float:
        from ..engine.trainer import evaluate_dataset

        model.eval()
        device = next(model.parameters()).device
        bs = int(config["train"]["eval_batch_size"])
        return evaluate_dataset(info["task"], model, dataset, batch_size=bs, device=device)["acc"]

    @staticmethod
    def build(net: X3DConfig, num_classes: int, config: dict[str, Any]) -> X3D:
        return X3D.from_config(net, num_classes=num_classes, **dict(config["model"]["kwargs"]))

    def search(self, info: dict[str, Any], config: dict[str, Any]) -> ExpansionSearch:
        """Forward expansion: train X2D, then at each step one candidate per axis; keep the best Δacc/ΔGMAC."""
        t0 = time.perf_counter()
        factors, steps = _factors(config), int(config["search"]["candidate_steps"])
        axes = list(config["search"]["axes"])
        for axis in axes:
            if axis not in AXES:
                raise ConfigError(f"search.axes: unknown axis {axis!r}; known: {', '.join(AXES)}")
        kwargs, k = dict(config["model"]["kwargs"]), info["num_classes"]

        def trained(step: int, axis: str, net: X3DConfig) -> Candidate:
            model, sets = self.train_network(info, config, net, steps=steps)
            if len(sets["val"]) == 0:
                raise ConfigError(
                    "the search validates every candidate on the validation split, which is empty here "
                    "(set data.kwargs.val_fraction or val_size)"
                )
            acc = self.accuracy(info, config, model, sets["val"])
            params = sum(p.numel() for p in model.parameters())
            if step == 0:
                info["x2d_search_model"] = model  # reused as the baseline when the schedules agree
            return Candidate(step, axis, net, count_gmacs(net, num_classes=k, model_kwargs=kwargs), params, acc)

        current = trained(0, "X2D", _base_config(config))
        candidates, path = [current], []
        for step in range(1, int(config["search"]["steps"]) + 1):
            round_ = [trained(step, axis, expand(current.config, axis, factors[axis])) for axis in axes]
            for c in round_:
                c.gain, c.added_gmacs = c.acc - current.acc, c.gmacs - current.gmacs
            best = select_expansion((current.acc, current.gmacs), [(c.acc, c.gmacs) for c in round_])
            round_[best].chosen = True
            current = round_[best]
            candidates += round_
            path.append(current.axis)
        return ExpansionSearch(candidates, path, time.perf_counter() - t0)

    # -------------------------------------------------------------- recipe API
    def setup(self, config: dict[str, Any]) -> Experiment:
        info = self._check_data(config)
        # sample_ndim=5: a 6-D evaluation batch holds the test views (clips × crops) of each video.
        info["task"] = ClassificationTask(topk=(1, 5) if info["num_classes"] > 5 else (1,), sample_ndim=5)
        pinned = list(config["search"].get("path") or [])
        if pinned:  # replay a known path (a finished run's config.yaml): no candidates are trained
            nets = expansion_path(_base_config(config), pinned, _factors(config))
            info["search"] = None
            final = nets[-1]
        else:
            result = self.search(info, config)
            info["search"] = result
            final = result.chosen[-1].config
            # Recorded in the run's config.yaml by finish(), so that evaluation rebuilds this network.
            config["search"]["path"] = list(result.path)
        info["final"] = final
        train, val, test = self._splits(info, config, final)
        torch.manual_seed(int(config["seed"]))  # the final network starts from the same draw as its candidate
        model = self.build(final, info["num_classes"], config)
        info["gmacs"] = count_gmacs(final, num_classes=info["num_classes"], model_kwargs=config["model"]["kwargs"])
        return Experiment(model, info["task"], train, val, test, info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        """Test accuracy of the X2D start trained with the run's schedule (the search's X2D when they agree)."""
        info = exp.info
        if "x2d_acc" not in info:
            base = _base_config(config)
            model = info.get("x2d_search_model")
            if model is None or int(config["search"]["candidate_steps"]) != int(config["train"]["steps"]):
                model, _ = self.train_network(info, config, base, steps=int(config["train"]["steps"]))
            _, _, test = self._splits(info, config, base)
            info["x2d_acc"] = self.accuracy(info, config, model, test)
        return info["x2d_acc"]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        info = exp.info
        final: X3DConfig = info["final"]
        k = info["num_classes"]
        base = _base_config(config)
        metrics = {
            "gmacs": info["gmacs"],
            "gmacs/x2d": count_gmacs(base, num_classes=k, model_kwargs=config["model"]["kwargs"]),
            "acc/x2d": self.baseline_value(exp, config),
            "final/frames": float(final.frames),
            "final/stride": float(final.stride),
            "final/resolution": float(final.resolution),
        }
        tables: dict[str, dict[str, Any]] = {}
        result: ExpansionSearch | None = info.get("search")
        path = list(config["search"].get("path") or [])
        if result is not None:
            metrics["search_seconds"] = result.seconds
            metrics["candidates_trained"] = float(len(result.candidates))
            for c in result.chosen:
                metrics[f"val_acc/step{c.step}"] = float(c.acc)
            tables["expansion (validation accuracy of every candidate; kept: the best Δacc/ΔGMAC)"] = result.table()
        tables["expansion path"] = {
            "columns": ["step", "axis", "frames×stride", "res", "γw", "γb", "γd", "GMACs"],
            "rows": [
                [
                    i,
                    (["X2D", *path])[i],
                    f"{c.frames}×{c.stride}",
                    c.resolution,
                    _num(c.width),
                    _num(c.bottleneck),
                    _num(c.depth),
                    float(f"{count_gmacs(c, num_classes=k, model_kwargs=config['model']['kwargs']):.4g}"),
                ]
                for i, c in enumerate(expansion_path(base, path, _factors(config)))
            ],
        }
        if run_dir is not None:
            if result is not None:
                record = {"path": result.path, "candidates": [c.to_json() for c in result.candidates]}
                atomic_write_text(run_dir / "expansion.json", json.dumps(record, indent=2) + "\n")
                plot_expansion(result, run_dir / "plots" / "expansion.png")
            atomic_write_text(run_dir / "config.yaml", dump_yaml(config))  # with search.path filled in
        return Finish(metrics=metrics, tables=tables)


def plot_expansion(result: ExpansionSearch, path: Path) -> Path:
    """Validation accuracy against GMACs of every candidate, the kept path drawn through them (cf. Fig. 2)."""
    from ..report.plots import _figure_cls

    fig = _figure_cls()(figsize=(6.8, 4.4))
    ax = fig.subplots()
    others = [c for c in result.candidates if c.step > 0 and not c.chosen]
    ax.scatter([c.gmacs for c in others], [c.acc for c in others], s=22, color="0.6", label="candidates", zorder=2)
    for c in others:
        ax.annotate(
            f"{c.step}:{c.axis}", (c.gmacs, c.acc), fontsize=6, color="0.45", xytext=(3, -7), textcoords="offset points"
        )
    kept = result.chosen
    ax.plot([c.gmacs for c in kept], [c.acc for c in kept], "-o", color="C3", lw=2, ms=6, label="kept path", zorder=3)
    for c in kept:
        ax.annotate(
            c.axis if c.step else "X2D",
            (c.gmacs, c.acc),
            fontsize=8,
            color="C3",
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xlabel("GMACs per clip (log scale)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("X3D progressive expansion (Feichtenhofer 2020, §4.1)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


register_recipe(
    X3DExpansion(
        name="x3d_expansion",
        system="X3D",
        paper=X3D_2020,
        model="x3d_x2d",
        metric="acc",
        higher_is_better=True,
        baseline="the X2D start (one frame), trained with the same schedule",
        claim=(
            "stepwise expansion from X2D, keeping at each step the axis with the best validation-accuracy gain per "
            "added GMAC, ends with a network that beats the X2D start on test accuracy"
        ),
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            value=0.6946,
            protocol="Kinetics-400 val top-1 of X3D-XS (4×12 frames at 160², 0.6 GMACs per view), 10 clips × 3 crops",
            source="PySlowFast configs/Kinetics/X3D_XS.yaml (its released checkpoint: 69.46% top-1, 30 views)",
        ),
    )
)
