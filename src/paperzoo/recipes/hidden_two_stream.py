"""Hidden Two-Stream (Zhu et al. 2018): MotionNet learns optical flow without labels, then the stacked temporal
stream (MotionNet + a temporal CNN) is trained end to end.

Paper: Zhu, Lan, Newsam & Hauptmann, "Hidden Two-Stream Convolutional Networks for Action Recognition",
ACCV 2018, arXiv:1704.00389; reference bryanyzhu/Hidden-Two-Stream (Caffe). Models:
:mod:`paperzoo.models.video.hidden_two_stream`.

System: Hidden Two-Stream (MotionNet). The quick run (1) pre-trains MotionNet on ``moving_shapes`` clips with
the unsupervised multi-scale loss of §3.1 (Charbonnier photometric reconstruction, smoothness, SSIM), (2)
stacks it under a temporal CNN and trains both end to end with ``CE + λ·unsupervised`` (§3.2), and compares
the hidden temporal stream with a temporal stream on pre-computed Horn–Schunck flow and with the spatial
stream (single RGB frames; the same data, steps and optimizer). Flow quality is reported as the photometric
(Charbonnier) error of frame t against frame t+1 warped back by each flow (zero flow, Horn–Schunck, MotionNet
before and after end-to-end training) and MotionNet's end-point error against Horn–Schunck. Metric: the hidden
temporal stream's accuracy; baseline: the spatial stream.

Data: :func:`~paperzoo.recipes.two_stream.motion_splits` (the two-stream recipe's clips and Horn–Schunck flow,
without its context patch). MotionNet sees L + 1 consecutive frames in [0, 1] (L flow fields, the same L as
the flow stacks); test: ``eval.positions`` equally spaced windows, softmax averaged. The Horn–Schunck comparison
stream stacks its flow as ``data.stacking`` says (optical-flow or trajectory stacking, S&Z §3.1).

Deviations: a reduced MotionNet (twice ``motionnet_tiny``'s widths) and ``resnet_tiny`` temporal / spatial / flow
nets from scratch with AdamW instead of the reference's Adam 3.2e-5 (MotionNet) and SGD 1e-6 (end to end) on
ImageNet-initialised VGG-16 — those are the full config's values; no crops (32×32 clips), flips only.

Quick run, measured (seed 0, one thread, ≈2.5 min): MotionNet's photometric error on the test clips falls from
6.10 (zero flow) to 5.37 (Horn–Schunck 5.02) and its displacements correlate with Horn–Schunck's at 0.32; the
hidden temporal stream scores 0.235 against 0.09 for the spatial stream (no context patch: one frame says nothing
about the motion) and 0.38 for the temporal stream on pre-computed Horn–Schunck flow.

What it took (the previous quick config learned no motion, correlation ≈ 0.02): (1) the photometric loss ignores
pixels whose warped source is outside the frame (``flow_loss.mask_out_of_frame``): with zero padding, the coarse
scales of a 32×32 clip (1-4 pixels wide) scored zero flow best whatever the motion, checked by evaluating the loss
at the true flow of a translated texture; (2) MotionNet at twice ``motionnet_tiny``'s widths; (3) 1,200
pre-training steps with zero-initialised flow predictors. End-to-end training still erodes the flow (correlation
0.32 → 0.13): the classification loss outweighs the unsupervised one at λ = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.flow import dequantize_flow
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import ClassificationTask, StepOutput
from ..models.video.hidden_two_stream import (
    MOTIONNET_SSIM_WEIGHTS,
    ZHU_2018,
    HiddenTwoStream,
    UnsupervisedFlowLoss,
)
from ..registry import create_model, register_recipe
from ._image import plot_curves
from .base import Experiment, Finish, PaperNumber, Recipe
from .two_stream import (
    MOTION_CONFIG,
    MotionSplits,
    StreamView,
    TwoStreamInputs,
    check_stacking,
    crop_flip,
    evaluate_module,
    motion_splits,
    stack_starts,
    train_companion,
    ucf101_config,
)

__all__ = ["FrameInputs", "HiddenTask", "pretrain_motionnet", "flow_quality", "HiddenTwoStreamRecipe"]


@dataclass
class FrameInputs:
    """``assemble`` for MotionNet: windows of ``num_frames`` consecutive frames in [0, 1].

    Training: one random window per clip, flipped with probability 1/2 → (B, 3, F, s, s). Testing:
    ``positions`` equally spaced windows (the same starts as the flow stacks of the other streams) → (B, P, 3,
    F, s, s), a views axis the task averages over.
    """

    num_frames: int
    size: int
    train: bool
    positions: int = 25

    def __call__(self, frames: Tensor, flow: Tensor, generator: torch.Generator | None) -> Tensor:
        b, _, t, h, w = frames.shape
        if t < self.num_frames:
            raise ConfigError(f"MotionNet windows of {self.num_frames} frames need clips that long (got {t})")
        if self.train:
            starts = torch.randint(0, t - self.num_frames + 1, (b, 1), generator=generator)
        else:
            starts = stack_starts(t - 1, self.num_frames - 1, self.positions).expand(b, -1)  # (B, P)
        idx = starts[:, :, None] + torch.arange(self.num_frames)  # (B, P, F)
        x = frames.float().div(255.0).transpose(1, 2)[torch.arange(b)[:, None, None], idx]  # (B, P, F, 3, H, W)
        x = x.permute(0, 3, 1, 2, 4, 5).flatten(2, 3)  # (B, 3, P·F, H, W)
        x = crop_flip(x, [], size=self.size, train=self.train, crops=1, generator=generator)
        x = x.unflatten(2, (-1, self.num_frames))  # (B, 3, P, F, s, s)
        return x[:, :, 0] if self.train else x.transpose(1, 2).contiguous()


class HiddenTask(ClassificationTask):
    """§3.2's multi-task loss ``CE + λ Σ_scales L_unsup`` (:meth:`HiddenTwoStream.multitask_loss`);
    accuracy as :class:`ClassificationTask` (views averaged)."""

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        x, y = batch
        module = getattr(model, "module", model)
        loss = module.multitask_loss(x, y)
        logs = {
            "classification": float(loss.classification.detach()),
            "unsupervised": float(loss.unsupervised.total.detach()),
        }
        return StepOutput(loss.total, logs)


def pretrain_motionnet(
    motionnet: nn.Module,
    clips: Any,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 4e-4,
    loss_fn: UnsupervisedFlowLoss | None = None,
) -> list[float]:
    """Unsupervised MotionNet training (§3.1): Adam on the multi-scale loss (default: the reference
    ``multiframe_MotionNet`` weights); returns the per-step losses."""
    loss_fn = loss_fn or UnsupervisedFlowLoss(MOTIONNET_SSIM_WEIGHTS)
    opt = torch.optim.AdamW(motionnet.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    motionnet.train()
    losses = []
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, _ = clips.get_batch(torch.randint(0, len(clips), (batch_size,), generator=g), generator=g)
        loss = loss_fn(x, motionnet(x).flows).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def flow_quality(motionnet: nn.Module, splits: MotionSplits, num_frames: int, *, clips: int = 100) -> dict[str, float]:
    """Photometric error (Charbonnier, α = 0.4, β = 255, 10% border masked, §3.1) of frame t against frame t+1
    warped back by each flow, on the first ``clips`` test clips' first window, and MotionNet's end-point error
    against Horn–Schunck (both in input pixels)."""
    loss_fn = UnsupervisedFlowLoss((0.0,))
    test = splits.test
    frames = test.videos[:clips, :, :num_frames].float() / 255.0  # (N, 3, F, H, W)
    hs = dequantize_flow(test.flows[:clips, : num_frames - 1], test.bound)  # (N, F - 1, 2, H, W) px
    hs = hs.flatten(1, 2)  # (N, 2(F - 1), H, W), x then y per field
    was = motionnet.training
    motionnet.eval()
    raw = motionnet(frames).flow  # (N, 2(F-1), H/2, W/2) in 1/20 px
    motionnet.train(was)
    mn = F.interpolate(raw, size=frames.shape[-2:], mode="bilinear", align_corners=False) * loss_fn.flow_scale
    out = {}
    for name, px in (("zero", torch.zeros_like(hs)), ("horn_schunck", hs), ("motionnet", mn)):
        pixel, _, _ = loss_fn.scale_terms(frames, px / loss_fn.flow_scale)
        out[f"photometric_{name}"] = float(pixel)
    diff = (mn - hs).unflatten(1, (-1, 2))  # (N, F - 1, 2, H, W)
    out["epe_motionnet_vs_horn_schunck"] = float(diff.norm(dim=2).mean())
    # Pearson correlation of MotionNet's and Horn–Schunck's displacements over all pixels and fields: a constant
    # sub-pixel shift (which lowers the photometric error by blurring the frames' noise) scores ≈ 0, motion > 0.
    a, b = mn - mn.mean(), hs - hs.mean()
    out["correlation_motionnet_vs_horn_schunck"] = float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))
    out["mean_speed_horn_schunck"] = float(hs.unflatten(1, (-1, 2)).norm(dim=2).mean())
    return out


QUICK = extend_config(
    MOTION_CONFIG,
    {
        # MotionNet at twice motionnet_tiny's widths: the 8-filter conv1 did not learn even a global translation
        # of a smooth texture in 600 steps (end-point error 1.56 → 1.13 px; these widths: → 0.40 px).
        "model": {
            "name": "hidden_two_stream_tiny",
            "kwargs": {
                "num_frames": 6,
                "temporal": "resnet_tiny",
                "drop_rate": 0.2,
                "motionnet_kwargs": {"widths": [16, 32, 32, 64, 64, 64], "decoder_widths": [32, 32, 16, 16]},
            },
        },
        # No context patch: the hidden stream is judged on motion alone (the spatial stream stays near chance).
        "data": {"context": 0.0},
        # Unsupervised MotionNet training before the end-to-end stage (§3.1). zero_init_flow: the flow
        # predictors (conv_pr*) start at zero, so training starts from zero flow instead of random warps.
        "pretrain": {"steps": 1200, "lr": 1e-3, "batch_size": 16, "zero_init_flow": True},
        # The unsupervised loss's term weights (both stages; SSIM weights per stage as the reference).
        # mask_out_of_frame: on 32×32 clips the coarse scales are 1-4 pixels wide and zero padding made zero flow
        # the best answer at every coarse scale whatever the motion (not in the reference, at 224²).
        "flow_loss": {"pixel_weight": 1.0, "smooth_weight": 1.0, "mask_out_of_frame": True},
        # The comparison streams: a TwoStream of these backbones (spatial + Horn–Schunck temporal).
        "streams": {"model": "two_stream_tiny", "kwargs": {"backbone": "resnet_tiny", "backbone_kwargs": {}}},
        "train": {"steps": 200, "batch_size": 16, "eval_every": 100, "ckpt_every": 100},
    },
)
# Reference solvers: MotionNet Adam lr 3.2e-5 (halved at 100K, 200K, 250K, 300K, 350K; 400K iterations, weight
# decay 4e-4); end to end SGD lr 1e-6, momentum 0.9, weight decay 5e-4, /10 at 5K and 9.5K, 16K iterations,
# iter_size 16 (the batch per iteration is the data layer's, not checked here: 16 assumed). Loss weights 1
# (pixel) and 1 (smoothness) at every scale, msra-initialised flow predictors.
FULL = ucf101_config(
    QUICK,
    model={"name": "hidden_two_stream", "kwargs": {}},
    pretrain={"steps": 400000, "lr": 3.2e-5, "batch_size": 16, "zero_init_flow": False},
    flow_loss={"pixel_weight": 1.0, "smooth_weight": 1.0, "mask_out_of_frame": False},
    streams={"model": "two_stream_vgg16", "kwargs": {}},
    optim={"name": "sgd", "lr": 1e-6, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [5000, 9500], "gamma": 0.1},
    train={"steps": 16000, "batch_size": 16, "accumulate": 16, "eval_every": 500, "ckpt_every": 500},
)


def _flow_loss(config: dict[str, Any], ssim_weights: tuple[float, ...]) -> UnsupervisedFlowLoss:
    weights = config["flow_loss"]
    return UnsupervisedFlowLoss(
        ssim_weights,
        pixel_weight=float(weights["pixel_weight"]),
        smooth_weight=float(weights["smooth_weight"]),
        mask_out_of_frame=bool(weights.get("mask_out_of_frame", False)),
    )


class HiddenTwoStreamRecipe(Recipe):
    """MotionNet pre-training, end-to-end hidden temporal stream, and the spatial / Horn–Schunck comparisons."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        check_stacking(config["data"]["stacking"])  # the comparison temporal stream's stacks, before the flow
        splits = motion_splits(config)
        kwargs = {"num_classes": splits.num_classes, **config["model"]["kwargs"]}
        model = create_model(config["model"]["name"], **kwargs)
        if not isinstance(model, HiddenTwoStream):
            raise ConfigError(f"hidden_two_stream trains a HiddenTwoStream (got {type(model).__name__})")
        size, positions = int(config["data"]["image_size"]), int(config["eval"]["positions"])
        frames = model.num_frames
        train = splits.train.with_assemble(FrameInputs(frames, size, True))
        test = splits.test.with_assemble(FrameInputs(frames, size, False, positions))
        val = splits.val.with_assemble(FrameInputs(frames, size, False, positions)) if splits.val is not None else None
        pre = config["pretrain"]
        if pre["zero_init_flow"]:
            for name, module in model.motionnet.named_children():
                if name.startswith("conv_pr"):
                    nn.init.zeros_(module.weight)
        # The end-to-end loss keeps the model's (end-to-end) SSIM weights with the configured term weights.
        model.flow_loss = _flow_loss(config, model.flow_loss.ssim_weights)
        losses = pretrain_motionnet(
            model.motionnet, train, steps=int(pre["steps"]), lr=float(pre["lr"]), batch_size=int(pre["batch_size"]),
            loss_fn=_flow_loss(config, MOTIONNET_SSIM_WEIGHTS),
        )  # fmt: skip
        info = {"data": splits.source, "splits": splits, "pretrain_losses": losses}
        if splits.test.videos is not None:
            info["flow_pretrained"] = flow_quality(model.motionnet, splits, frames)
        return Experiment(model, HiddenTask(sample_ndim=5), train, val, test, info=info)

    def _streams(self, exp: Experiment, config: dict[str, Any]) -> dict[str, Any]:
        """Spatial and Horn–Schunck temporal streams (one TwoStream) on the same data and budget (cached)."""
        if "streams" not in exp.info:
            splits: MotionSplits = exp.info["splits"]
            hidden = exp.model.module if hasattr(exp.model, "module") else exp.model
            length, size = hidden.num_frames - 1, int(config["data"]["image_size"])
            torch.manual_seed(int(config["seed"]))
            cfg = config["streams"]
            net = create_model(cfg["model"], **{"num_classes": splits.num_classes, **cfg["kwargs"],
                                                "flow_length": length})  # fmt: skip
            stacking = check_stacking(config["data"]["stacking"])
            ev = TwoStreamInputs(
                length, size, train=False, positions=int(config["eval"]["positions"]), stacking=stacking
            )
            test = splits.test.with_assemble(ev)
            train = splits.train.with_assemble(TwoStreamInputs(length, size, train=True, stacking=stacking))
            net, _, losses = train_companion(
                self, exp, config, net, task=ClassificationTask(sample_ndim=5), train_set=train, test_set=test
            )
            task = ClassificationTask(sample_ndim=5)
            accs = {n: evaluate_module(StreamView(net, i), task, test, config)["acc"] for i, n in enumerate(
                ("spatial", "temporal_horn_schunck"))}  # fmt: skip
            exp.info["streams"] = {"acc": accs, "losses": losses}
        return exp.info["streams"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return float(self._streams(exp, config)["acc"]["spatial"])

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        streams = self._streams(exp, config)
        hidden = exp.model.module if hasattr(exp.model, "module") else exp.model
        acc = float(test_metrics["acc"])
        metrics = {
            "hidden_temporal_acc": acc,
            "spatial_acc": streams["acc"]["spatial"],
            "temporal_horn_schunck_acc": streams["acc"]["temporal_horn_schunck"],
            "hidden_minus_horn_schunck": acc - streams["acc"]["temporal_horn_schunck"],
        }
        rows = [
            ["spatial stream (RGB frame)", round(metrics["spatial_acc"], 4)],
            ["temporal stream on Horn–Schunck flow", round(metrics["temporal_horn_schunck_acc"], 4)],
            ["hidden temporal stream (MotionNet + CNN, end to end)", round(acc, 4)],
        ]
        tables = {"accuracy": {"columns": ["stream", "accuracy"], "rows": rows}}
        splits: MotionSplits = exp.info["splits"]
        if "flow_pretrained" in exp.info:
            after = flow_quality(hidden.motionnet, splits, hidden.num_frames)
            before = exp.info["flow_pretrained"]
            for k, v in before.items():
                metrics[f"{k}_pretrained"] = v
            for k, v in after.items():
                metrics[f"{k}_end_to_end"] = v
            flow_rows = [
                ["zero flow", round(before["photometric_zero"], 4), ""],
                ["Horn–Schunck (quantised)", round(before["photometric_horn_schunck"], 4), 0.0],
                ["MotionNet, unsupervised pre-training", round(before["photometric_motionnet"], 4),
                 round(before["epe_motionnet_vs_horn_schunck"], 4)],
                ["MotionNet, after end-to-end training", round(after["photometric_motionnet"], 4),
                 round(after["epe_motionnet_vs_horn_schunck"], 4)],
            ]  # fmt: skip
            tables["flow quality (test clips, first window)"] = {
                "columns": ["flow", "photometric error (Charbonnier)", "EPE vs Horn–Schunck (px)"],
                "rows": flow_rows,
            }
        if run_dir is not None:
            plot_curves(
                {"MotionNet unsupervised loss": exp.info["pretrain_losses"]},
                run_dir / "plots" / "motionnet_pretraining.png",
                title="MotionNet pre-training (§3.1)",
                ylabel="unsupervised loss",
            )
        return Finish(metrics=metrics, tables=tables)


register_recipe(
    HiddenTwoStreamRecipe(
        name="hidden_two_stream",
        system="Hidden Two-Stream (MotionNet)",
        paper=ZHU_2018,
        model="hidden_two_stream",
        metric="acc",
        higher_is_better=True,
        baseline="spatial stream alone (single RGB frames)",
        claim="MotionNet learns flow without labels (lower photometric error than zero flow); the hidden temporal "
        "stream beats the spatial stream and approaches the temporal stream on pre-computed flow",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            None,
            "UCF-101 hidden temporal stream: the paper's per-stream numbers were not re-checked here (the issue "
            "quotes 93.2 for the hidden two-stream fusion)",
            "Zhu et al. 2018, Table 3",
        ),
    )
)
