"""Temporal Segment Networks (Wang et al. 2016): segment sampling, segmental consensus, RGB / optical-flow /
RGB-difference / warped-optical-flow snippets, and the two-modality fusion.

Paper: Wang, Xiong, Wang, Qiao, Lin, Tang & Van Gool, "Temporal Segment Networks: Towards Good Practices for
Deep Action Recognition", ECCV 2016, arXiv:1608.00859. Models: :mod:`paperzoo.models.video.tsn`.

System: TSN. Claim checked by the quick run: a TSN (K = 3 segments, one snippet each, average consensus over
the snippets' class scores, the loss on the consensus, §3.1 eq. 1-2) beats the same networks trained on one
snippet per video ("without segments", K = 1) on the same data, steps and test snippets; the per-modality
accuracies and the RGB + flow fusion are reported. Metric: RGB + flow fused accuracy; baseline: the K = 1
networks' fused accuracy.

Data: :func:`~paperzoo.recipes.two_stream.motion_splits` (the clips, optical flow, cache and context patch of
the two-stream recipe). Snippets (§3.2): one RGB frame; ``new_length`` stacked flow fields (2·new_length
channels); ``new_length + 1`` consecutive RGB frames whose differences the RGB-difference net stacks. The
paper's four modalities (§3.2) are RGB, RGB difference, optical flow and warped optical flow; the nets trained
are ``model.modalities`` (default RGB, flow and RGB difference). Warped optical flow (``warped_flow``, optional,
section ``model.warped_flow``): the same cached flow with the camera motion removed — a homography fitted to
each flow field, and the flow it induces subtracted
(:func:`~paperzoo.data.flow.compensate_camera_motion`; TSN re-estimates the flow against the homography-warped
frame instead, the same to first order), stacked like the flow (2·new_length channels). Segment
sampling (§3.1): the snippet starts are split into K equal segments, a random start in each for training.
Testing (§3.3): ``eval.positions`` equally spaced snippets (25 in the paper) with ``eval.crops`` crops (10),
class scores averaged over all of them before the softmax, modalities fused by a weighted average of their
scores, 1 (RGB) : 1.5 (flow), as §3.3 ("we give the spatial stream 1 and the temporal stream 1.5"); with warped
flow trained, the three-modality fusion is reported too, the temporal weight split into 1 (flow) and 0.5
(warped flow) (``fusion.warped_weights``).

Deviations: the quick nets are ``resnet_tiny`` backbones trained from scratch with AdamW, so partial BN and
the extra dropout of 0.8 / 0.7 are off (partial BN freezes the statistics of a pre-trained network; from
scratch it would freeze them at their initial values); cross-modality initialisation has no ImageNet RGB
net to start from. The full config keeps all three (BN-Inception, partial BN, dropout 0.8 / 0.7, the flow
and RGB-difference nets' first conv built by cross-modality averaging) but trains every modality on one
schedule (the flow net's: lr 0.005, /10 at 12K and 18K iterations, 20K; the paper's RGB net: lr 0.001, /10
every 2K iterations, 4.5K) and from scratch (no ImageNet weights are downloaded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from ..data.flow import compensate_camera_motion
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import ClassificationTask
from ..models.video._base import ClassifierOutput
from ..models.video.tsn import TSN, WANG_2016, rgb_difference
from ..registry import create_model, register_recipe
from ._image import params_of, plot_curves
from .base import Experiment, Finish, PaperNumber, Recipe
from .two_stream import (
    MOTION_CONFIG,
    MotionSplits,
    check_stacking,
    crop_flip,
    evaluate_module,
    motion_splits,
    stack_starts,
    train_companion,
    ucf101_config,
)

__all__ = ["TSNModalities", "SegmentInputs", "snippet_logits", "TSNRecipe"]

#: The paper's four modalities (§3.2), in the order the nets and their inputs are kept.
MODALITIES = ("rgb", "flow", "rgbdiff", "warped_flow")


def snippet_logits(net: TSN, x: Tensor) -> Tensor:
    """The class scores of every snippet, before the consensus: (B, N, C, H, W) → (B, N, K), any N."""
    b, n = x.shape[:2]
    if net.modality == "rgbdiff":
        x = rgb_difference(x, net.new_length + 1)
    f = net.backbone.forward_head(net.backbone.forward_features(rearrange(x, "b n c h w -> (b n) c h w")), True)
    return rearrange(net.fc(net.drop(f)), "(b n) k -> b n k", b=b)


def check_modalities(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``model.modalities`` checked (known, no repeats, RGB and flow included) in :data:`MODALITIES` order."""
    unknown = [m for m in names if m not in MODALITIES]
    if unknown or len(set(names)) != len(names) or not {"rgb", "flow"} <= set(names):
        raise ConfigError(
            f"model.modalities must list distinct modalities of {list(MODALITIES)} including rgb and flow "
            f"(got {list(names)})"
        )
    return tuple(m for m in MODALITIES if m in names)


class TSNModalities(nn.Module):
    """One TSN per modality (RGB, optical flow, RGB difference, warped optical flow; RGB and flow always, the
    others as configured), trained side by side (separate losses on disjoint parameters, the same as training
    them apart) and fused at test time.

    Training: inputs ``[rgb, flow, ...]`` of (B, K, C, H, W), one per net in :data:`MODALITIES` order →
    :class:`ClassifierOutput` with the RGB net's consensus scores as the main logits and the others as
    auxiliary logits of weight 1. Testing: (B, N, C, H, W) snippets, or (B, V, N, C, H, W) with V crops each;
    every snippet and crop scored and the scores averaged before the softmax (§3.3), then the modalities
    averaged with ``fusion_weights`` (RGB 1, flow 1.5, others 0: the two-modality fusion). Per-modality scores:
    :meth:`modality_scores`.
    """

    def __init__(self, nets: dict[str, TSN], fusion_weights: dict[str, float]) -> None:
        super().__init__()
        try:
            order = check_modalities(list(nets))
        except ConfigError as err:
            raise ValueError(str(err)) from None
        if order != tuple(nets):
            raise ValueError(f"expected the nets in the order {list(order)} (got {list(nets)})")
        self.modalities = order
        self.nets = nn.ModuleDict(nets)
        self.fusion_weights = {k: float(fusion_weights.get(k, 0.0)) for k in order}
        self.num_segments = nets["rgb"].num_segments

    def modality_scores(self, x: list[Tensor]) -> dict[str, Tensor]:
        """Each modality's class scores averaged over all snippets (and crops): {name: (B, K)}."""
        out = {}
        for name, t in zip(self.modalities, x, strict=True):
            if t.dim() == 6:  # (B, V, N, C, H, W): crops × snippets, all averaged
                t = t.flatten(1, 2)
            out[name] = snippet_logits(self.nets[name], t).mean(1)
        return out

    def forward(self, x: list[Tensor]) -> Tensor | ClassifierOutput:
        if self.training:  # consensus over the K segments, per modality
            logits = [self.nets[name](t) for name, t in zip(self.modalities, x, strict=True)]
            return ClassifierOutput(logits[0], aux_logits=logits[1:], aux_weights=[1.0] * (len(logits) - 1))
        scores = self.modality_scores(x)
        return sum(self.fusion_weights[k] * scores[k] for k in self.modalities)


class ModalityView(nn.Module):
    """One modality of a trained :class:`TSNModalities` (or a weighted fusion of some) as a classifier."""

    def __init__(self, model: TSNModalities, weights: dict[str, float]) -> None:
        super().__init__()
        self.model, self.weights = model, weights

    def forward(self, x: list[Tensor]) -> Tensor:
        scores = self.model.modality_scores(x)
        return sum(w * scores[k] for k, w in self.weights.items())


@dataclass
class SegmentInputs:
    """``assemble`` for TSN: one input per modality of ``modalities``, in that order, from ``rgb``
    (B, K, 3, s, s), ``flow`` (B, K, 2L, s, s), ``rgbdiff`` (B, K, 3(L+1), s, s), ``warped_flow`` (B, K, 2L, s, s).

    Training: K segments of the snippet starts, a random start in each (§3.1; ``tsn_segment_indices``'s
    rule, vectorised), one random crop and flip per video shared by all its snippets and modalities (a
    flipped flow field's x component negated). Testing: ``positions`` equally spaced snippets, centre crop or
    ten crops (B, 10, N, C, s, s). L = ``new_length`` flow fields per snippet; the RGB frame is the first
    frame of the snippet, the RGB-difference snippet its L + 1 frames. Warped flow: each distinct flow field
    the snippets use, camera motion removed over the whole frame before cropping
    (:func:`~paperzoo.data.flow.compensate_camera_motion`, all fields of the batch in one call; a field two
    snippets share is fitted once). The homography absorbs a global translation, so the result does not
    depend on whether the flow had its mean subtracted.
    """

    num_segments: int
    new_length: int
    size: int
    train: bool
    positions: int = 25
    crops: int = 1
    modalities: tuple[str, ...] = ("rgb", "flow", "rgbdiff")

    def __post_init__(self) -> None:
        self.modalities = check_modalities(self.modalities)

    def __call__(self, frames: Tensor, flow: Tensor, generator: torch.Generator | None) -> list[Tensor]:
        b, _, t, h, w = frames.shape
        n_len = self.new_length
        if t - 1 < n_len:
            raise ConfigError(f"snippets of {n_len} flow fields need at least {n_len + 1} frames (got {t})")
        if min(h, w) < self.size:
            raise ConfigError(f"data.image_size={self.size} is larger than the frames ({h}×{w})")
        avail = t - n_len  # snippet starts 0 … t - 1 - L (the snippet's L + 1 frames must exist)
        if self.train:
            k = torch.arange(self.num_segments, dtype=torch.float64)
            u = torch.rand(b, self.num_segments, generator=generator, dtype=torch.float64)
            starts = (avail / self.num_segments * (k + u)).floor().long().clamp_(0, avail - 1)  # (B, K)
        else:
            starts = stack_starts(t - 1, n_len, self.positions).expand(b, -1)  # (B, N)
        rows = torch.arange(b)[:, None, None]
        span = starts[:, :, None] + torch.arange(n_len + 1)  # (B, N, L + 1) frame indices
        clip = frames.float().div(255.0).sub(0.45).div(0.225)  # (B, 3, T, H, W)
        rgbdiff = rearrange(clip.transpose(1, 2)[rows, span], "b n l c h w -> b (l c) n h w")  # (B, 3(L+1), N, H, W)
        fields = flow[rows, span[..., :-1]]  # (B, N, L, 2, H, W)
        parts = [rgbdiff, rearrange(fields, "b n l c h w -> b (l c) n h w")]  # flow: (B, 2L, N, H, W)
        if "warped_flow" in self.modalities:
            index = (rows * (t - 1) + span[..., :-1]).flatten()  # into the batch's (B·(T - 1)) fields
            distinct, inverse = torch.unique(index, return_inverse=True)
            warped = compensate_camera_motion(flow.flatten(0, 1)[distinct])[inverse].view_as(fields)
            parts.append(rearrange(warped, "b n l c h w -> b (l c) n h w"))
        c = rgbdiff.shape[1]
        flow_x = [c + 2 * i for i in range(n_len * (len(parts) - 1))]  # the x channels of every stack
        x = crop_flip(
            torch.cat(parts, dim=1), flow_x, size=self.size, train=self.train, crops=self.crops, generator=generator
        )
        x = rearrange(x, "... c n h w -> ... n c h w")
        rgbdiff, stacks = x[..., :c, :, :], x[..., c:, :, :]
        out = {
            "rgb": rgbdiff[..., :3, :, :].contiguous(),
            "flow": stacks[..., : 2 * n_len, :, :].contiguous(),
            "rgbdiff": rgbdiff.contiguous(),
            "warped_flow": stacks[..., 2 * n_len :, :, :].contiguous(),
        }
        return [out[m] for m in self.modalities]


def _build(config: dict[str, Any], num_classes: int, num_segments: int) -> TSNModalities:
    cfg = config["model"]
    nets = {}
    for name in check_modalities(cfg["modalities"]):
        kwargs = {"num_classes": num_classes, **cfg["kwargs"], **cfg[name], "num_segments": num_segments}
        net = create_model(cfg["name"], **kwargs)
        if not isinstance(net, TSN):
            raise ConfigError(f"tsn trains TSN models (got {type(net).__name__} from {cfg['name']!r})")
        nets[name] = net
    return TSNModalities(nets, dict(config["fusion"]["weights"]))


QUICK = extend_config(
    MOTION_CONFIG,
    {
        "model": {
            "name": "tsn_resnet_tiny",
            "kwargs": {"num_segments": 3, "consensus": "avg", "partial_bn": False},
            # the nets trained, of rgb, flow, rgbdiff, warped_flow (§3.2's four); rgb and flow always
            "modalities": ["rgb", "flow", "rgbdiff"],
            # per-modality constructor arguments (on top of kwargs)
            "rgb": {"modality": "rgb", "new_length": 1, "drop_rate": 0.3},
            "flow": {"modality": "flow", "new_length": 2, "drop_rate": 0.3},
            "rgbdiff": {"modality": "rgbdiff", "new_length": 2, "drop_rate": 0.3},
            "warped_flow": {"modality": "warped_flow", "new_length": 2, "drop_rate": 0.3},
        },
        "fusion": {
            "weights": {"rgb": 1.0, "flow": 1.5},
            # with warped_flow trained, the reported three-modality fusion: §3.3 splits the temporal weight 1.5
            # into 1 (optical flow) and 0.5 (warped flow)
            "warped_weights": {"rgb": 1.0, "flow": 1.0, "warped_flow": 0.5},
        },
        "train": {"steps": 200, "batch_size": 12, "eval_every": 100, "ckpt_every": 100},
    },
)
# §3.3 / §4: batch 256, momentum 0.9; RGB lr 0.001 (/10 every 2K iterations, stop at 4.5K), flow lr 0.005 (/10 at
# 12K and 18K, stop at 20K) — here one schedule, the flow net's; dropout 0.8 (RGB, RGB difference) / 0.7 (flow);
# partial BN; cross-modality initialisation; 5 flow fields / 5 RGB differences per snippet; K = 3; 25 snippets
# × 10 crops at test.
FULL = ucf101_config(
    QUICK,
    model={
        "name": "tsn_bninception_rgb",
        "kwargs": {"partial_bn": True},  # K = 3 and average consensus: the defaults
        "rgb": {"modality": "rgb", "new_length": 1, "drop_rate": 0.8},
        "flow": {"modality": "flow", "new_length": 5, "drop_rate": 0.7},
        "rgbdiff": {"modality": "rgbdiff", "new_length": 5, "drop_rate": 0.8},
        "warped_flow": {"modality": "warped_flow", "new_length": 5, "drop_rate": 0.7},
    },
    optim={"name": "sgd", "lr": 0.005, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [12000, 18000], "gamma": 0.1},
    train={"steps": 20000, "batch_size": 256, "eval_every": 2000, "ckpt_every": 2000},
)


class TSNRecipe(Recipe):
    """TSN with K segments against the same nets trained on single snippets."""

    def _inputs(self, config: dict[str, Any], segments: int, train: bool) -> SegmentInputs:
        cfg = config["model"]
        modalities = check_modalities(cfg["modalities"])
        stacked = [m for m in modalities if m != "rgb"]
        lengths = {m: int(cfg[m].get("new_length", 5)) for m in stacked}
        if len(set(lengths.values())) != 1:
            raise ConfigError(f"the new_length of model.{', model.'.join(stacked)} must agree (got {lengths})")
        ev = config["eval"]
        return SegmentInputs(
            segments, lengths["flow"], int(config["data"]["image_size"]), train,
            positions=int(ev["positions"]), crops=int(ev["crops"]), modalities=modalities,
        )  # fmt: skip

    def setup(self, config: dict[str, Any]) -> Experiment:
        if check_stacking(config["data"]["stacking"]) != "flow":
            raise ConfigError(
                f"tsn stacks optical flow (S&Z eq. 1, as TSN does); data.stacking={config['data']['stacking']!r} "
                "is for the two_stream recipe"
            )
        check_modalities(config["model"]["modalities"])
        splits = motion_splits(config)
        k = int(config["model"]["kwargs"].get("num_segments", 3))
        model = _build(config, splits.num_classes, k)
        test = splits.test.with_assemble(self._inputs(config, k, False))
        val = splits.val.with_assemble(self._inputs(config, k, False)) if splits.val is not None else None
        train = splits.train.with_assemble(self._inputs(config, k, True))
        info = {"data": splits.source, "splits": splits, "flow_method": splits.flow_method, "segments": k}
        return Experiment(model, ClassificationTask(), train, val, test, info=info)

    def _single_snippet(self, exp: Experiment, config: dict[str, Any]) -> dict[str, Any]:
        """The "without segments" nets (K = 1), trained on the same data, steps and optimizer (cached)."""
        if "k1" not in exp.info:
            splits: MotionSplits = exp.info["splits"]
            torch.manual_seed(int(config["seed"]))
            model = _build(config, splits.num_classes, 1)
            train = splits.train.with_assemble(self._inputs(config, 1, True))
            model, metrics, losses = train_companion(self, exp, config, model, train_set=train)
            exp.info["k1"] = {"model": model, "metrics": metrics, "losses": losses}
        return exp.info["k1"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return float(self._single_snippet(exp, config)["metrics"]["acc"])

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        task = ClassificationTask()
        k1 = self._single_snippet(exp, config)
        weights = dict(config["fusion"]["weights"])
        model = exp.model.module if hasattr(exp.model, "module") else exp.model
        views = {name: {name: 1.0} for name in model.modalities}
        views["rgb + flow"] = weights
        if "rgbdiff" in model.modalities:
            views["rgb + flow + rgbdiff"] = {"rgb": 1.0, "flow": 1.5, "rgbdiff": 1.0}
        if "warped_flow" in model.modalities:
            views["rgb + flow + warped_flow"] = dict(config["fusion"]["warped_weights"])
        rows, metrics = [], {}
        for name, w in views.items():
            acc = evaluate_module(ModalityView(model, w), task, exp.test_set, config)["acc"]
            base = evaluate_module(ModalityView(k1["model"], w), task, exp.test_set, config)["acc"]
            key = name.replace(" + ", "_")
            metrics[f"{key}_acc"], metrics[f"{key}_acc_k1"] = acc, base
            rows.append([name, round(acc, 4), round(base, 4), round(acc - base, 4)])
        metrics["segments_minus_single"] = metrics["rgb_flow_acc"] - metrics["rgb_flow_acc_k1"]
        k = exp.info["segments"]
        table = {
            "columns": ["modality", f"TSN K={k}", "single snippet K=1", "difference"],
            "rows": rows,
        }
        sizes = {
            "columns": ["net", "parameters"],
            "rows": [[f"{m} TSN", params_of(model.nets[m])] for m in model.modalities],
        }
        if run_dir is not None:
            plot_curves({"K=1 (all modalities)": k1["losses"]}, run_dir / "plots" / "single_snippet_loss.png",
                        title="networks trained without segments")  # fmt: skip
        tables = {"TSN vs single-snippet training (test: the same snippets, scores averaged)": table, "nets": sizes}
        return Finish(metrics=metrics, tables=tables)


register_recipe(
    TSNRecipe(
        name="tsn",
        system="TSN",
        paper=WANG_2016,
        model="tsn_bninception_rgb",
        metric="acc",
        higher_is_better=True,
        baseline="the same nets trained on one snippet per video (K = 1, 'without segments')",
        claim="K = 3 segments with average consensus beat single-snippet training; flow + RGB fusion beats each",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.940,
            "UCF-101, mean over the 3 splits, TSN BN-Inception RGB + optical flow (94.2 with warped flow added)",
            "Wang et al. 2016, Table 7",
        ),
    )
)
