"""VTN (Neimark et al. 2021, "Video Transformer Network", arXiv:2102.00719): a 2D backbone (ViT-B) on every frame
and a temporal transformer encoder over the frame embeddings.

System: VTN (:mod:`paperzoo.models.video.vtn`). Claim checked on built-in data: VTN beats a 2D network that sees
ONE frame of each clip, which stays near chance on the motion-only ``moving_shapes`` classes: the same kind of 2D
network, given several frames and a temporal encoder, tells the motion.

VTN starts from an image-pretrained ViT (ImageNet-21k in the paper). From random weights the tiny VTN stayed at
chance for 8,000 steps (0.17 at the end): its frames meet only through each frame's class token, and a random
ViT's class token is nearly blind to where things are (at initialisation it is close to an average over the
patches), so the temporal encoder sees no motion to learn from. The quick run therefore pre-trains the frame
encoder first on an image task of the built-in world (``backbone_pretrain``): from single frames of separately
rendered clips (their motion labels unused), regress where the shape is (its centre on the torus, as cos/sin)
and how large it is (log radius, standardised), with a linear head on the class token, Adam, MSE. Then the
backbone is frozen (``backbone_pretrain.freeze``; fine-tuning it at the recipe's lr lost the pretrained
features and stayed at chance) and the temporal encoder and head are trained on the clips. Measured (seed 0, one
thread, 44 s): video accuracy 0.295 vs 0.122 for the single-frame baseline (which cannot gain from any frame
pre-training: one frame carries no information about the class).

Full config: ViT-B-VTN on Kinetics-400, 16 frames, 224² crops.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.video import KINETICS_MEAN, KINETICS_STD, MOTION_CLASSES, render_moving_shapes
from ..engine.config import ConfigError
from ..models.video.vtn import VTN, VTN_2021
from ..registry import register_recipe
from ._video import VideoRecipe, kinetics_config, quick_config
from .base import Experiment, PaperNumber

__all__ = ["frame_state_targets", "pretrain_frame_encoder", "VTNRecipe"]

QUICK = quick_config(
    "vtn_tiny",
    steps=1500,
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 0.05},
    # The frame encoder's image pre-training (module doc): `videos` clips rendered with seed + 1, all their frames.
    backbone_pretrain={"steps": 1000, "lr": 1e-3, "batch_size": 64, "videos": 1000, "freeze": True},
)
# §4 as we read it (not verified here): 16 frames, 224² crops, SGD momentum 0.9, lr 1e-3, 25 epochs, batch 16,
# from ViT-B ImageNet-21k weights (not loadable here); test on the full video, here 10 clips × 3 crops.
FULL = kinetics_config(
    QUICK,
    "vtn_vit_b",
    clip_frames=16,
    frame_stride=4,
    image_size=224,
    batch_size=16,
    epochs=25,
    optim={"name": "sgd", "lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0},
    schedule={"name": "constant", "warmup_steps": 0},
    # No built-in pre-training for Kinetics: the paper's ImageNet-21k ViT weights cannot be loaded here.
    backbone_pretrain={"steps": 0, "freeze": False},
)


def frame_state_targets(states: dict[str, Tensor], image_size: int) -> Tensor:
    """Per-frame regression targets of the frame encoder's pre-training: (N, T, 5) = cos/sin of the shape centre's x
    and y on the torus (positions wrap around, so the angle is the position) and the standardised log radius."""
    phase = 2 * math.pi / image_size
    log_r = states["radius"].log()
    return torch.stack(
        [
            torch.cos(states["x"] * phase),
            torch.sin(states["x"] * phase),
            torch.cos(states["y"] * phase),
            torch.sin(states["y"] * phase),
            (log_r - log_r.mean()) / log_r.std().clamp_min(1e-6),
        ],
        dim=-1,
    )


def pretrain_frame_encoder(
    backbone: nn.Module, config: dict[str, Any], *, image_size: int, num_frames: int
) -> list[float]:
    """Train ``backbone`` (frames (B, 3, S, S) → (B, D)) with a linear head to regress :func:`frame_state_targets` from
    single frames of ``videos`` freshly rendered clips (seed + 1); returns the per-step MSE."""
    pre = config["backbone_pretrain"]
    g = torch.Generator().manual_seed(int(config["seed"]) + 1)
    labels = torch.randint(0, len(MOTION_CLASSES), (int(pre["videos"]),), generator=g)
    look = {k: v for k, v in (config["data"].get("kwargs") or {}).items() if k in ("noise", "clutter")}
    clips, states = render_moving_shapes(
        labels, num_frames=num_frames, image_size=image_size, generator=g, return_states=True, **look
    )
    frames = clips.transpose(1, 2).flatten(0, 1)  # (N·T, 3, S, S) uint8
    targets = frame_state_targets(states, image_size).flatten(0, 1)  # (N·T, 5)
    device = next(backbone.parameters()).device
    mean = torch.tensor(KINETICS_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(KINETICS_STD, device=device).view(1, 3, 1, 1)
    head = nn.Linear(backbone.num_features, targets.shape[-1]).to(device)
    params = [*backbone.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=float(pre["lr"]), weight_decay=0.05)
    backbone.train()
    losses = []
    for _ in range(int(pre["steps"])):
        idx = torch.randint(0, len(frames), (int(pre["batch_size"]),), generator=g)
        x = (frames[idx].to(device).float() / 255.0 - mean) / std
        loss = F.mse_loss(head(backbone(x)), targets[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


class VTNRecipe(VideoRecipe):
    """The clip recipe with the frame encoder's optional image pre-training (and freezing) before training."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        exp = super().setup(config)
        model = exp.model
        if not isinstance(model, VTN):
            raise ConfigError(f"vtn_shapes trains a VTN (got {type(model).__name__})")
        pre = config["backbone_pretrain"]
        if int(pre.get("steps", 0)) > 0:
            if config["data"]["name"] != "moving_shapes":
                raise ConfigError("backbone_pretrain.steps > 0 needs the built-in moving_shapes data")
            size = int(config["data"]["image_size"])
            frames = int((config["data"].get("kwargs") or {}).get("num_frames", 16))
            exp.info["backbone_pretrain_losses"] = pretrain_frame_encoder(
                model.backbone, config, image_size=size, num_frames=frames
            )
        if pre.get("freeze"):
            model.backbone.requires_grad_(False)
        return exp


register_recipe(
    VTNRecipe(
        name="vtn_shapes",
        system="VTN",
        paper=VTN_2021,
        model="vtn_vit_b",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="VTN beats a single-frame 2D network, which stays near chance on motion-only classes",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            None,
            "Kinetics-400 top-1 of ViT-B-VTN (ImageNet-21k weights): value not verified here",
            "Neimark et al. 2021, Table 1",
        ),
    )
)
