"""T3D: Temporal 3D ConvNets (3D DenseNet with Temporal Transition Layers) and 2D→3D supervision transfer.

Paper: Diba, Fayyaz, Sharma, Karami, Arzani, Yousefzadeh & Van Gool, "Temporal 3D ConvNets: New
Architecture and Transfer Learning for Video Classification", arXiv:1711.08200 (2017). Reference
implementation: MohsenFayyaz89/T3D (``models/T3D.py``, ``models/DenseNet3D.py``). The reference's T3D
module is unfinished (its ``_TTL`` class does not parse, and it names a ``_Transition`` after each TTL), so
no parameter count can be taken from it: the registered variants have ``reference_params=None`` and the
tests count them by hand from the layer table.

What is implemented:
    * DenseNet3D (§3.1): DenseNet-BC with every kernel and pool made 3D, built from the image family's
      :class:`~paperzoo.models.vision.densenet.DenseBlock` with ``nn.Conv3d`` / ``nn.BatchNorm3d``: dense
      layers BN-ReLU-Conv(1×1×1, 4k)-BN-ReLU-Conv(3×3×3, k), k = 32, blocks of 6, 12, 24, 16 layers
      (T3D-121) or 6, 12, 32, 32 (T3D-169). Stem as the reference: conv 3×7×7 with stride 2 in T, H, W
      (64 filters) → BN → ReLU → max pool 3×3×3 / 2.
    * The Temporal Transition Layer (§3.1, Fig. 2, Table 1) in place of DenseNet's transition layers:
      parallel BN-ReLU-Conv3d branches with temporal kernel depths d ∈ {1, 3, 6} after the first dense
      block and {1, 3, 4} after the second and third (1×1×1, 3×3×3, 6×3×3 / 4×3×3 kernels), 128 filters
      each (the reference's width), 'same' padding, concatenated on channels, then 2×2×2 average pooling.
    * A 32×224×224 clip (§4, "a stack of 32 RGB frames", 224×224) becomes 1×7×7 after the third TTL; final
      BN-ReLU, global average pooling, dropout and a linear classifier (400 Kinetics classes).
    * Supervision transfer from 2D to 3D (§3.2, Fig. 3): :class:`SupervisionTransfer` feeds a frame to a
      frozen 2D network and a clip to the 3D network, concatenates their embeddings and trains a binary
      head to tell whether frame and clip come from the same video; only the 3D network and the head are
      updated. :func:`make_pairs` builds balanced positive / negative pairs from a batch of clips of
      distinct videos.

Deviations and choices:
    * TTL depths: the paper's Fig. 2 is quoted with depths 1, 3, 6; the reference code uses (1, 3, 4) in
      every TTL. Here (1, 3, 6) for the first TTL, where 8 frames remain, and (1, 3, 4) for the later ones
      (4 and 2 frames), as third-party ports reproduce the paper's Table 1 (neither checked against the PDF);
      ``ttl_depths`` changes them. Even depths are padded 'same' with the extra frame after the clip
      (TensorFlow's rule).
    * The reference follows each TTL with a further DenseNet transition (BN-ReLU-1×1×1 conv-avg pool);
      the paper's TTL ends in the pooling, which is what is built here (no extra 1×1×1 conv).
    * Supervision-transfer head: concatenated embeddings → FC 512 → ReLU → dropout → FC 128 → ReLU →
      one logit trained with binary cross entropy (the paper's fully connected layers on the concatenation;
      their sizes and the single-logit form are choices).
    * Initialisation as torchvision's DenseNet (He normal convs, BN γ = 1, β = 0, zero classifier bias).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ..vision.densenet import DenseBlock, init_dense_weights
from ._base import VideoClassifier, check_clip, linear_head

__all__ = ["T3D", "TemporalTransitionLayer", "SupervisionTransfer", "SupervisionOutput", "make_pairs"]

DIBA_2017 = Paper(
    title="Temporal 3D ConvNets: New Architecture and Transfer Learning for Video Classification",
    authors="Ali Diba, Mohsen Fayyaz, Vivek Sharma, Amir Hossein Karami, Mohammad Mahdi Arzani, "
    "Rahman Yousefzadeh, Luc Van Gool",
    year=2017,
    arxiv="1711.08200",
)

TTL_DEPTHS = ((1, 3, 6), (1, 3, 4), (1, 3, 4))


class TemporalTransitionLayer(nn.Module):
    """Temporal Transition Layer (Diba et al. 2017, §3.1, Fig. 2).

    One BN-ReLU-Conv3d branch per temporal depth d, all on the same input: kernel 1×1×1 for d = 1,
    d×3×3 otherwise, stride 1, 'same' padding (for even d the extra frame of padding goes after the clip);
    the branch outputs are concatenated and average-pooled 2×2×2 / 2.

    Args:
        in_chs: input channels.
        branch_chs: filters of every branch (128 in the reference).
        depths: temporal kernel depths of the branches.
        norm_layer, act_layer: normalisation (takes channels) and activation constructors.
        pool: apply the 2×2×2 average pooling (False for testing the branches alone).

    Shapes:
        x: (B, in_chs, T, H, W) → (B, len(depths) · branch_chs, T/2, H/2, W/2).
    """

    def __init__(
        self,
        in_chs: int,
        branch_chs: int = 128,
        depths: Sequence[int] = (1, 3, 6),
        *,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
        pool: bool = True,
    ) -> None:
        super().__init__()
        if in_chs < 1 or branch_chs < 1 or len(depths) == 0 or min(depths) < 1:
            raise ValueError(
                f"in_chs, branch_chs and every depth must be >= 1 (got {in_chs}, {branch_chs}, {tuple(depths)})"
            )
        self.depths = tuple(int(d) for d in depths)
        self.out_chs = branch_chs * len(self.depths)
        self.branches = nn.ModuleList()
        for d in self.depths:
            k = 1 if d == 1 else 3
            branch = nn.Sequential(
                OrderedDict(
                    norm=norm_layer(in_chs),
                    act=act_layer(),
                    conv=nn.Conv3d(in_chs, branch_chs, (d, k, k), padding=(0, k // 2, k // 2), bias=False),
                )
            )
            self.branches.append(branch)
        self.pool = nn.AvgPool3d(2, stride=2) if pool else nn.Identity()

    @staticmethod
    def temporal_padding(depth: int) -> tuple[int, int]:
        """Frames of zero padding (before, after) that keep T for a kernel of this depth."""
        return (depth - 1) // 2, depth - 1 - (depth - 1) // 2

    def forward(self, x: Tensor) -> Tensor:
        outs = []
        for d, branch in zip(self.depths, self.branches):
            h = branch.act(branch.norm(x))
            # Pad after the activation so padded frames are zeros of the conv's input, as 'same' padding.
            h = F.pad(h, (0, 0, 0, 0, *self.temporal_padding(d)))
            outs.append(branch.conv(h))  # (B, branch_chs, T, H, W)
        return self.pool(torch.cat(outs, dim=1))


class T3D(VideoClassifier):
    """Temporal 3D ConvNet (Diba et al. 2017, Table 1): DenseNet3D with Temporal Transition Layers.

    Data flow (T3D-121, 32×224×224 clip)::

        conv0 3×7×7 /2 (64) → norm0 → relu0 → pool0 3×3×3 /2    (B,   64,  8, 56, 56)
        denseblock1 (+6k)  → ttl1 [1×1×1, 3×3×3, 6×3×3]×128, /2  (B,  256 → 384, 4, 28, 28)
        denseblock2 (+12k) → ttl2 [1×1×1, 3×3×3, 4×3×3]×128, /2  (B,  768 → 384, 2, 14, 14)
        denseblock3 (+24k) → ttl3 [1×1×1, 3×3×3, 4×3×3]×128, /2  (B, 1152 → 384, 1,  7,  7)
        denseblock4 (+16k) → norm5 → relu                        (B,  896,  1,  7,  7)
        global average pool → dropout → classifier               (B, num_classes)

    Args:
        growth_rate: k of the dense blocks.
        block_config: dense layers per block (one TTL between consecutive blocks).
        num_init_features: stem filters.
        bn_size: bottleneck factor of the 1×1×1 convs.
        ttl_chs: filters of every TTL branch.
        ttl_depths: temporal depths of each TTL's branches (one tuple per TTL).
        num_classes: classifier outputs (400 Kinetics classes; 0: features only).
        in_chans: input channels.
        drop_rate: dropout before the classifier.
        conv_drop_rate: dropout after each conv of the dense layers (the reference's ``_DropOut`` variants: 0.2).
        memory_efficient: checkpoint the concatenation + bottleneck of every dense layer.
        norm_layer, act_layer: normalisation (takes channels) and activation constructors.

    Shapes:
        x: (B, in_chans, T, H, W) → logits (B, num_classes); T, H, W ≥ 32 for the three TTL poolings.
    """

    classifier_attr = "classifier"

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        *,
        num_init_features: int = 64,
        bn_size: int = 4,
        ttl_chs: int = 128,
        ttl_depths: Sequence[Sequence[int]] = TTL_DEPTHS,
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.0,
        conv_drop_rate: float = 0.0,
        memory_efficient: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm3d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if growth_rate < 1 or bn_size < 1 or num_init_features < 1 or in_chans < 1 or ttl_chs < 1:
            raise ValueError(
                f"growth_rate, bn_size, num_init_features, in_chans, ttl_chs must be >= 1 "
                f"(got {growth_rate}, {bn_size}, {num_init_features}, {in_chans}, {ttl_chs})"
            )
        if len(block_config) < 1 or min(block_config) < 1:
            raise ValueError(f"block_config must be a non-empty list of positive ints (got {tuple(block_config)})")
        if len(ttl_depths) != len(block_config) - 1:
            raise ValueError(
                f"ttl_depths needs one tuple per TTL, {len(block_config) - 1} for {len(block_config)} blocks "
                f"(got {len(ttl_depths)})"
            )
        for name, rate in (("drop_rate", drop_rate), ("conv_drop_rate", conv_drop_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {rate})")
        self.in_chans, self.num_classes, self.drop_rate = in_chans, num_classes, drop_rate
        self.min_size = 2 ** (2 + len(block_config) - 1)  # stem /4, one /2 per TTL

        features: list[tuple[str, nn.Module]] = [
            ("conv0", nn.Conv3d(in_chans, num_init_features, (3, 7, 7), stride=2, padding=(1, 3, 3), bias=False)),
            ("norm0", norm_layer(num_init_features)),
            ("relu0", act_layer()),
            ("pool0", nn.MaxPool3d(3, stride=2, padding=1)),
        ]
        chs = num_init_features
        self.block_out_chs: list[int] = []
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(
                num_layers,
                chs,
                growth_rate,
                bn_size=bn_size,
                conv_drop_rate=conv_drop_rate,
                memory_efficient=memory_efficient,
                conv_layer=nn.Conv3d,
                norm_layer=norm_layer,
                act_layer=act_layer,
            )
            features.append((f"denseblock{i + 1}", block))
            chs = block.out_chs
            self.block_out_chs.append(chs)
            if i != len(block_config) - 1:
                ttl = TemporalTransitionLayer(chs, ttl_chs, ttl_depths[i], norm_layer=norm_layer, act_layer=act_layer)
                features.append((f"ttl{i + 1}", ttl))
                chs = ttl.out_chs
        features.append(("norm5", norm_layer(chs)))
        self.features = nn.Sequential(OrderedDict(features))
        self.act = act_layer()
        self.num_features = chs
        self.classifier = linear_head(chs, num_classes)
        init_dense_weights(self)

    def check_input(self, x: Tensor) -> None:
        check_clip(x, self.in_chans)
        if min(x.shape[2:]) < self.min_size:
            raise ValueError(
                f"expected clips of shape (B, {self.in_chans}, T, H, W) with T, H, W >= {self.min_size}, "
                f"got {tuple(x.shape)}"
            )

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → (B, num_features, T/32, H/32, W/32) after the final BN-ReLU."""
        self.check_input(x)
        return self.act(self.features(x))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, num_features, t, h, w) → logits (B, num_classes), or pooled features with ``pre_logits``."""
        x = torch.flatten(F.adaptive_avg_pool3d(x, 1), 1)  # (B, num_features)
        x = F.dropout(x, self.drop_rate, self.training)
        return x if pre_logits else self.classifier(x)


# --------------------------------------------------------------------------------------------------
# 2D → 3D supervision transfer (§3.2)
# --------------------------------------------------------------------------------------------------


def make_pairs(clips: Tensor, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Balanced frame/clip pairs for the image-video correspondence task (§3.2).

    Each clip i of the batch (one per video) is paired twice: with a random frame of itself (positive,
    label 1) and with a random frame of another clip j ≠ i of the batch (negative, label 0).

    Args:
        clips: (B, C, T, H, W), B ≥ 2 clips of distinct videos.
        generator: random generator for the frame and partner choices.

    Returns:
        frames (2B, C, H, W), clips (2B, C, T, H, W) and labels (2B,) float, positives first.
    """
    if clips.dim() != 5:
        raise ValueError(f"expected clips of shape (B, C, T, H, W), got {tuple(clips.shape)}")
    b, _, t = clips.shape[:3]
    if b < 2:
        raise ValueError(f"expected at least 2 clips (of distinct videos) to draw negatives from, got {b}")
    device = clips.device
    rows = torch.arange(b, device=device)
    # A non-zero offset modulo B picks a partner clip j ≠ i for every i.
    partner = (rows + torch.randint(1, b, (b,), generator=generator).to(device)) % b
    t_pos = torch.randint(0, t, (b,), generator=generator).to(device)
    t_neg = torch.randint(0, t, (b,), generator=generator).to(device)
    pos_frames = clips[rows, :, t_pos]  # (B, C, H, W): frame t_pos[i] of clip i
    neg_frames = clips[partner, :, t_neg]  # (B, C, H, W): a frame of clip partner[i]
    frames = torch.cat([pos_frames, neg_frames])
    pair_clips = torch.cat([clips, clips])
    labels = torch.cat([torch.ones(b, device=device), torch.zeros(b, device=device)])
    return frames, pair_clips, labels


@dataclass
class SupervisionOutput:
    """Same-video logits of every pair and the binary cross-entropy loss."""

    loss: Tensor
    logits: Tensor


class SupervisionTransfer(nn.Module):
    """2D → 3D supervision transfer (Diba et al. 2017, §3.2, Fig. 3).

    ::

        frame ─ net2d (frozen, eval) ─ embedding ┐
                                                 concat ─ FC 512 ─ ReLU ─ drop ─ FC 128 ─ ReLU ─ FC 1 → same video?
        clip  ─ net3d (trained) ─── embedding ───┘

    The 2D network's parameters never receive gradients and it stays in eval mode (its batch-norm
    statistics are frozen too); the optimiser should be given :meth:`trainable_parameters`.

    Args:
        net2d: image backbone with ``forward_features`` / ``forward_head(pre_logits=True)`` (e.g. densenet121).
        net3d: video backbone with the same interface (e.g. :class:`T3D`).
        hidden: widths of the head's hidden layers.
        drop_rate: dropout after the first hidden layer.

    Shapes:
        frames (N, C, H, W), clips (N, C, T, H, W), same (N,) in {0, 1} → :class:`SupervisionOutput`.
    """

    def __init__(
        self, net2d: nn.Module, net3d: nn.Module, *, hidden: Sequence[int] = (512, 128), drop_rate: float = 0.5
    ) -> None:
        super().__init__()
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if len(hidden) == 0 or min(hidden) < 1:
            raise ValueError(f"hidden must be a non-empty list of positive widths (got {tuple(hidden)})")
        for name, net in (("net2d", net2d), ("net3d", net3d)):
            if not hasattr(net, "forward_features") or not hasattr(net, "num_features"):
                raise ValueError(f"{name} must be a paperzoo backbone with forward_features (got {type(net).__name__})")
        self.net2d, self.net3d = net2d, net3d
        self.net2d.requires_grad_(False)
        self.net2d.eval()
        layers: list[nn.Module] = []
        width = net2d.num_features + net3d.num_features
        for i, h in enumerate(hidden):
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            if i == 0 and drop_rate > 0:
                layers.append(nn.Dropout(drop_rate))
            width = h
        layers.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*layers)

    def train(self, mode: bool = True) -> SupervisionTransfer:
        super().train(mode)
        self.net2d.eval()  # the frozen teacher's batch-norm statistics must not move
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The 3D network's and the head's parameters (what the paper updates)."""
        return [p for p in self.parameters() if p.requires_grad]

    @staticmethod
    def embed(net: nn.Module, x: Tensor) -> Tensor:
        """Pooled pre-logit features of a paperzoo backbone, (N, num_features)."""
        return net.forward_head(net.forward_features(x), pre_logits=True)

    def forward(self, frames: Tensor, clips: Tensor) -> Tensor:
        """Same-video logits (N,) of frame/clip pairs."""
        if frames.dim() != 4 or clips.dim() != 5 or frames.shape[0] != clips.shape[0]:
            shapes = f"{tuple(frames.shape)}, {tuple(clips.shape)}"
            raise ValueError(f"expected frames (N, C, H, W) and clips (N, C, T, H, W), got {shapes}")
        with torch.no_grad():
            e2d = self.embed(self.net2d, frames)  # (N, d2)
        e3d = self.embed(self.net3d, clips)  # (N, d3)
        return self.head(torch.cat([e2d, e3d], dim=1)).squeeze(1)

    def pair_loss(self, frames: Tensor, clips: Tensor, same: Tensor) -> SupervisionOutput:
        """Binary cross entropy of "frame and clip come from the same video" (§3.2)."""
        logits = self(frames, clips)
        return SupervisionOutput(F.binary_cross_entropy_with_logits(logits, same.to(logits.dtype)), logits)


# --------------------------------------------------------------------------------------------------
# Registered variants
# --------------------------------------------------------------------------------------------------

_REFERENCE = "MohsenFayyaz89/T3D models/T3D.py (unfinished; counted by hand)"


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> T3D:
    return T3D(**{**defaults, **overrides})


@register_model(paper=DIBA_2017, reference=_REFERENCE, reference_params=None, input_size=(3, 32, 224, 224))
def t3d_densenet121(**kwargs: Any) -> T3D:
    """T3D-121 at the paper's clip size, 32×224×224, 400 Kinetics classes."""
    return _build(dict(growth_rate=32, block_config=(6, 12, 24, 16)), kwargs)


@register_model(paper=DIBA_2017, reference=_REFERENCE, reference_params=None, input_size=(3, 32, 224, 224))
def t3d_densenet169(**kwargs: Any) -> T3D:
    """T3D-169 at the paper's clip size."""
    return _build(dict(growth_rate=32, block_config=(6, 12, 32, 32)), kwargs)


@register_model(paper=DIBA_2017, reference=_REFERENCE, input_size=(3, 32, 32, 32))
def t3d_tiny(**kwargs: Any) -> T3D:
    """k = 4, two layers per block, 8-channel stem, 8 filters per TTL branch (final map 1×1×1)."""
    defaults = dict(growth_rate=4, block_config=(2, 2, 2, 2), num_init_features=8, ttl_chs=8, num_classes=10)
    return _build(defaults, kwargs)
