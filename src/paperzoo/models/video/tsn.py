"""Temporal Segment Networks (TSN) with BN-Inception or ResNet snippets, and the BN-Inception backbone.

Papers:
    Wang, Xiong, Wang, Qiao, Lin, Tang & Van Gool, "Temporal Segment Networks: Towards Good Practices
    for Deep Action Recognition", ECCV 2016, arXiv 1608.00859.
    Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
    Covariate Shift", ICML 2015, arXiv 1502.03167 (BN-Inception, the TSN backbone).

Reference implementation: ``yjxiong/tsn-pytorch`` (``models.TSN``; its BN-Inception is built from
``tf_model_zoo/bninception/bn_inception.yaml``, the port of the authors' Caffe model, also shipped as
``pretrainedmodels.bninception``). Parameter counts match it exactly (see the registered variants).

Implemented (§3):

* A video is split into K segments (default 3); one snippet per segment is fed to the same ConvNet F
  (shared weights); the segmental consensus G = g(F(T_1), ..., F(T_K)) combines the class scores
  (eq. 1), averaged by default; ``max`` and ``weighted`` (learnt weights w_k, G = Σ_k w_k F(T_k),
  initialised at 1/K) are the other consensus functions the paper names. The loss is cross-entropy on
  G (eq. 2), applied by the task.
* Input modalities (§3.2): ``rgb`` (one frame, 3 channels), ``rgbdiff`` (new_length + 1 = 6 consecutive
  frames in, their 5 successive differences stacked, 15 channels, exactly as tsn-pytorch's ``_get_diff``),
  ``flow`` and ``warped_flow`` (5 stacked optical-flow fields, 10 channels interleaved x, y; the warping
  that cancels camera motion happens in the data pipeline, the network is the same).
* Cross-modality pre-training (§3.2): the flow and RGB-difference nets start from an RGB net whose first
  convolution is averaged over its three input channels and replicated to the new channel count
  (tsn-pytorch ``_construct_flow_model`` / ``_construct_diff_model``); pass a (pre-trained) RGB
  backbone module as ``backbone`` to convert it.
* Partial BN (§3.2): in training mode the mean and variance of every batch-normalisation layer except
  the first are frozen (those layers run in eval mode) and their scale and shift are not trained
  (tsn-pytorch ``TSN.train``).
* Extra dropout before the new classifier (§3.2): 0.8 for RGB and RGB difference, 0.7 for flow (the
  reference's README commands); the classifier starts at N(0, 0.001) with zero bias (tsn-pytorch
  ``_prepare_tsn``).
* :class:`BNInception`: the Inception network with batch normalisation of Ioffe & Szegedy (their
  Fig. 5): 5×5 convolutions replaced by two 3×3, stride-2 "reduction" modules 3c and 4e without a
  pooling projection, average or max pooling in the pool branches, layer for layer as
  ``bn_inception.yaml`` (every convolution has a bias *and* a batch norm, as in the Caffe model).

Not paperzoo's ``inception_v2``: that model is the "Inception-v2" of Szegedy et al. 2016 (Rethinking
the Inception Architecture), a different network (factorised 7×7 stem, 17×17 and 8×8 modules,
~24M parameters); BN-Inception has 11,295,240 parameters with its 1000-way classifier and is written
here.

Deviations and notes:

* The reference pools with a fixed 7×7 window (224×224 inputs only); an adaptive average pool is the
  same at 224 and allows smaller inputs. Initialisation from scratch is PyTorch's default (the reference
  only loads ImageNet weights).
* The reference's README trains RGB difference with K = 7; the paper uses K = 3 throughout, the default
  here (parameters are unaffected).
* tsn-pytorch's data loader reads ``new_length = 5`` frames for RGB difference while its model takes
  6 per snippet; we follow the model (the difference of 6 frames gives the 15 channels of its conv).
* Left out: the scale-jittering / corner-cropping augmentations and the 25-snippet test protocol (data
  side), and the layer-wise learning-rate multipliers of ``get_optim_policies``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, create_model, register_model
from ..vision._base import ImageClassifier
from ._base import VideoClassifier, linear_head
from .two_stream import first_conv_cross_modality

__all__ = ["TSN", "BNInception", "BNInceptionModule", "SegmentalConsensus", "BN_INCEPTION_TABLE", "rgb_difference"]

WANG_2016 = Paper(
    title="Temporal Segment Networks: Towards Good Practices for Deep Action Recognition",
    authors="Limin Wang, Yuanjun Xiong, Zhe Wang, Yu Qiao, Dahua Lin, Xiaoou Tang, Luc Van Gool",
    year=2016,
    arxiv="1608.00859",
)

Modality = Literal["rgb", "rgbdiff", "flow", "warped_flow"]
Consensus = Literal["avg", "max", "weighted"]

# BN-Inception modules (Ioffe & Szegedy 2015, Fig. 5; widths of tsn-pytorch's bn_inception.yaml):
# #1×1, #3×3 reduce, #3×3, #double-3×3 reduce, #double-3×3, pool kind, pool projection, stride.
# Stride-2 modules (3c, 4e) have no 1×1 branch and pass the max-pooled input through unprojected.
BN_INCEPTION_TABLE: dict[str, tuple[int, int, int, int, int, str, int, int]] = {
    "3a": (64, 64, 64, 64, 96, "avg", 32, 1),
    "3b": (64, 64, 96, 64, 96, "avg", 64, 1),
    "3c": (0, 128, 160, 64, 96, "max", 0, 2),
    "4a": (224, 64, 96, 96, 128, "avg", 128, 1),
    "4b": (192, 96, 128, 96, 128, "avg", 128, 1),
    "4c": (160, 128, 160, 128, 160, "avg", 128, 1),
    "4d": (96, 128, 192, 160, 192, "avg", 128, 1),
    "4e": (0, 128, 192, 192, 256, "max", 0, 2),
    "5a": (352, 192, 320, 160, 224, "avg", 128, 1),
    "5b": (352, 192, 320, 192, 224, "max", 128, 1),
}

#: The reference's BatchNorm (PyTorch defaults, eps 1e-5).
BatchNorm = nn.BatchNorm2d


class ConvBNReLU(nn.Sequential):
    """Convolution (with bias, as the Caffe model) → batch norm → ReLU.

    Shapes:
        x: (B, in_chans, H, W) → (B, out_chans, H', W').
    """

    def __init__(self, in_chans: int, out_chans: int, kernel_size: int, *, stride: int = 1, padding: int = 0) -> None:
        super().__init__(
            nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=padding),
            BatchNorm(out_chans),
            nn.ReLU(inplace=True),
        )


class BNInceptionModule(nn.Module):
    """One BN-Inception module (Ioffe & Szegedy 2015, Fig. 5).

    ```
    x ─┬─ 1×1 (n1x1)                                  [absent when stride 2]
       ├─ 1×1 (n3x3red) ─ 3×3/s (n3x3)
       ├─ 1×1 (nd3x3red) ─ 3×3 (nd3x3) ─ 3×3/s (nd3x3)
       └─ pool 3×3/s (avg or max) ─ [1×1 (pool_proj)] ─┴─ concat
    ```
    """

    def __init__(
        self,
        in_chans: int,
        n1x1: int,
        n3x3red: int,
        n3x3: int,
        nd3x3red: int,
        nd3x3: int,
        pool: str,
        pool_proj: int,
        stride: int = 1,
    ) -> None:
        super().__init__()
        if stride not in (1, 2) or pool not in ("avg", "max"):
            raise ValueError(f"stride must be 1 or 2 and pool 'avg' or 'max' (got {stride}, {pool!r})")
        if stride == 2 and (n1x1 or pool_proj or pool != "max"):
            raise ValueError("a stride-2 module has no 1×1 branch and an unprojected max pool")
        self.branch1 = ConvBNReLU(in_chans, n1x1, 1) if n1x1 else None
        self.branch2 = nn.Sequential(
            ConvBNReLU(in_chans, n3x3red, 1), ConvBNReLU(n3x3red, n3x3, 3, stride=stride, padding=1)
        )
        self.branch3 = nn.Sequential(
            ConvBNReLU(in_chans, nd3x3red, 1),
            ConvBNReLU(nd3x3red, nd3x3, 3, padding=1),
            ConvBNReLU(nd3x3, nd3x3, 3, stride=stride, padding=1),
        )
        if stride == 2:
            self.branch4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        elif pool == "avg":  # Caffe pooling: ceil mode, padding counted in the average
            self.branch4 = nn.Sequential(
                nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True), ConvBNReLU(in_chans, pool_proj, 1)
            )
        else:
            self.branch4 = nn.Sequential(
                nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), ConvBNReLU(in_chans, pool_proj, 1)
            )
        self.out_chans = n1x1 + n3x3 + nd3x3 + (pool_proj if stride == 1 else in_chans)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → (B, out_chans, H / stride, W / stride)."""
        branches = [self.branch2(x), self.branch3(x), self.branch4(x)]
        if self.branch1 is not None:
            branches.insert(0, self.branch1(x))
        return torch.cat(branches, dim=1)


class BNInception(ImageClassifier):
    """BN-Inception (Ioffe & Szegedy 2015, Fig. 5), layer for layer as tsn-pytorch's ``bn_inception.yaml``.

    ```
    (B, 3, 224, 224)
      conv1 7×7/2 (64) ─ maxpool 3/2 ─ conv2 1×1 (64) ─ 3×3 (192) ─ maxpool 3/2  (B,  192, 28, 28)
      inception 3a ─ 3b ─ 3c (stride 2)                                            (B,  576, 14, 14)
      inception 4a ─ 4b ─ 4c ─ 4d ─ 4e (stride 2)                                  (B, 1056,  7,  7)
      inception 5a ─ 5b                                                            (B, 1024,  7,  7) = features
      global avg pool ─ [dropout] ─ fc                                             (B, num_classes)
    ```

    Args:
        num_classes: classes; 0 makes ``forward`` return the pooled 1024-d features.
        in_chans: input channels.
        channel_divisor: divide every width (stem and modules) by this, for reduced variants.
        drop_rate: dropout before the classifier (the ImageNet model has none; TSN adds its own).

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    def __init__(
        self, *, num_classes: int = 1000, in_chans: int = 3, channel_divisor: int = 1, drop_rate: float = 0.0
    ) -> None:
        super().__init__()
        widths = [64, 192, *(row[i] for row in BN_INCEPTION_TABLE.values() for i in (0, 1, 2, 3, 4, 6))]
        if channel_divisor <= 0 or any(c % channel_divisor for c in widths):
            raise ValueError(f"channel_divisor must be > 0 and divide every width (got {channel_divisor})")
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        d = channel_divisor
        self.in_chans, self.num_classes = in_chans, num_classes
        self.stem = nn.Sequential(
            ConvBNReLU(in_chans, 64 // d, 7, stride=2, padding=3),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            ConvBNReLU(64 // d, 64 // d, 1),
            ConvBNReLU(64 // d, 192 // d, 3, padding=1),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
        )
        c, blocks = 192 // d, {}
        for name, (n1, r3, n3, rd, nd, pool, proj, stride) in BN_INCEPTION_TABLE.items():
            blocks[f"inception_{name}"] = block = BNInceptionModule(
                c, n1 // d, r3 // d, n3 // d, rd // d, nd // d, pool, proj // d, stride
            )
            c = block.out_chans
        self.blocks = nn.Sequential(*blocks.values())
        for i, name in enumerate(blocks):  # readable names in repr / state dict, e.g. blocks.inception_3a
            self.blocks._modules[name] = self.blocks._modules.pop(str(i))
        self.num_features = c
        self.drop = nn.Dropout(drop_rate)
        self.fc = linear_head(c, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → output of 5b, (B, 1024, H/32, W/32)."""
        self.check_input(x)
        return self.blocks(self.stem(x))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 1024, h, w) → logits (B, num_classes), or the pooled features (B, 1024) with ``pre_logits``."""
        x = self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1))
        return x if pre_logits else self.fc(x)


class SegmentalConsensus(nn.Module):
    """The segmental consensus g of eq. 1: combines the K snippets' outputs into one per video.

    ``avg`` (the paper's and the reference's default), ``max``, or ``weighted`` with learnt weights
    w_k (G = Σ_k w_k F_k, initialised at 1/K so it starts as the average).

    Shapes:
        x: (B, K, ...) → (B, ...).
    """

    def __init__(self, kind: Consensus = "avg", num_segments: int = 3) -> None:
        super().__init__()
        if kind not in ("avg", "max", "weighted"):
            raise ValueError(f"kind must be 'avg', 'max' or 'weighted' (got {kind!r})")
        if num_segments <= 0:
            raise ValueError(f"num_segments must be > 0 (got {num_segments})")
        self.kind, self.num_segments = kind, num_segments
        self.weight = nn.Parameter(torch.full((num_segments,), 1.0 / num_segments)) if kind == "weighted" else None

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.num_segments:
            raise ValueError(f"expected {self.num_segments} segments in dim 1, got {tuple(x.shape)}")
        if self.kind == "avg":
            return x.mean(1)
        if self.kind == "max":
            return x.amax(1)
        return torch.einsum("k,bk...->b...", self.weight, x)


def rgb_difference(x: Tensor, num_frames: int) -> Tensor:
    """Stacked RGB differences of consecutive frames (tsn-pytorch ``_get_diff``, keep_rgb=False).

    Shapes:
        x: (..., 3·num_frames, H, W), frames f_0 … f_{n−1} stacked along channels
        → (..., 3·(num_frames − 1), H, W): f_1 − f_0, f_2 − f_1, ….
    """
    if num_frames < 2 or x.shape[-3] != 3 * num_frames:
        raise ValueError(f"expected {3 * num_frames} channels ({num_frames} RGB frames), got {tuple(x.shape)}")
    f = x.unflatten(-3, (num_frames, 3))  # (..., n, 3, H, W)
    return (f[..., 1:, :, :, :] - f[..., :-1, :, :, :]).flatten(-4, -3)


class TSN(VideoClassifier):
    """Temporal Segment Network (Wang et al. 2016, §3, eq. 1).

    ```
    (B, K, C, H, W) ─ [RGB differences] ─ fold K into the batch ─ backbone F (shared) ─ avg pool
      ─ dropout ─ fc ─ (B, K, num_classes) ─ consensus g over K ─ (B, num_classes)
    ```

    Args:
        backbone: ``"bn_inception"`` (the paper's), the name of a registered 2-D image classifier (e.g.
            ``"resnet50"``), or an RGB backbone module (e.g. ImageNet-trained) to convert: its classifier
            is removed and, for the other modalities, its first conv gets cross-modality initialisation.
        modality: ``rgb``, ``rgbdiff``, ``flow`` or ``warped_flow``.
        num_segments: K (§3.1: 3).
        new_length: frames / flow fields per snippet (tsn-pytorch: 1 for RGB, 5 otherwise).
        consensus: ``avg``, ``max`` or ``weighted``.
        num_classes: classes (UCF-101: 101).
        drop_rate: dropout before the classifier (RGB 0.8, flow 0.7).
        partial_bn: freeze all batch norms but the first in training mode (§3.2).
        backbone_kwargs: extra keyword arguments for a backbone built by name.

    Shapes:
        x: (B, K, C, H, W) with C = 3 (rgb), 3·(new_length + 1) (rgbdiff), 2·new_length (flow)
        → consensus class scores (B, num_classes).
    """

    def __init__(
        self,
        backbone: str | ImageClassifier = "bn_inception",
        *,
        modality: Modality = "rgb",
        num_segments: int = 3,
        new_length: int | None = None,
        consensus: Consensus = "avg",
        num_classes: int = 101,
        drop_rate: float = 0.8,
        partial_bn: bool = True,
        backbone_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if modality not in ("rgb", "rgbdiff", "flow", "warped_flow"):
            raise ValueError(f"modality must be rgb, rgbdiff, flow or warped_flow (got {modality!r})")
        new_length = new_length if new_length is not None else (1 if modality == "rgb" else 5)
        if new_length <= 0 or num_segments <= 0:
            raise ValueError(f"new_length and num_segments must be > 0 (got {new_length}, {num_segments})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.modality, self.num_segments, self.new_length = modality, num_segments, new_length
        self.num_classes = num_classes
        # Channels the network sees per snippet and channels the caller passes (RGB difference: one more frame).
        snippet_chans = {"rgb": 3, "rgbdiff": 3}.get(modality, 2) * new_length
        self.in_chans = 3 * (new_length + 1) if modality == "rgbdiff" else snippet_chans

        if isinstance(backbone, str):
            kw = dict(backbone_kwargs or {})
            build = partial(BNInception, **kw) if backbone == "bn_inception" else partial(create_model, backbone, **kw)
            net = build(num_classes=0, in_chans=3)
        elif isinstance(backbone, ImageClassifier):
            net = backbone
            net.reset_classifier(0)  # tsn-pytorch replaces the ImageNet classifier by dropout + a new fc
        else:
            raise ValueError(f"backbone must be a model name or an ImageClassifier (got {type(backbone).__name__})")
        if snippet_chans != 3:
            first_conv_cross_modality(net, snippet_chans)  # §3.2 cross-modality pre-training
        self.backbone = net
        self.num_features = net.num_features
        self.drop = nn.Dropout(drop_rate)
        self.fc = linear_head(self.num_features, num_classes)
        if isinstance(self.fc, nn.Linear):  # tsn-pytorch _prepare_tsn: N(0, 0.001), zero bias
            nn.init.normal_(self.fc.weight, std=0.001)
            nn.init.zeros_(self.fc.bias)
        self.consensus = SegmentalConsensus(consensus, num_segments)
        self.partial_bn = partial_bn
        self.train(self.training)

    def check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() != 5 or x.shape[1] != self.num_segments or x.shape[2] != self.in_chans:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"expected snippets of shape (B, {self.num_segments}, {self.in_chans}, H, W), got {shape}")

    def frozen_norms(self) -> list[nn.modules.batchnorm._BatchNorm]:
        """The batch norms partial BN freezes: every one in the backbone after the first."""
        norms = [m for m in self.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        return norms[1:] if self.partial_bn else []

    def train(self, mode: bool = True) -> TSN:
        """Set training mode; with partial BN the frozen norms stay in eval mode and their γ, β untrained."""
        super().train(mode)
        frozen = {id(m) for m in self.frozen_norms()}
        for m in self.backbone.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.requires_grad_(id(m) not in frozen)
                m.bias.requires_grad_(id(m) not in frozen)
                if id(m) in frozen:
                    m.eval()
        return self

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, K, C, H, W) → the backbone's last feature map per snippet, (B·K, D, h, w)."""
        self.check_input(x)
        if self.modality == "rgbdiff":
            x = rgb_difference(x, self.new_length + 1)  # (B, K, 3·new_length, H, W)
        return self.backbone.forward_features(rearrange(x, "b k c h w -> (b k) c h w"))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B·K, D, h, w) → consensus class scores (B, num_classes), or consensus of the pooled features (B, D)."""
        f = self.backbone.forward_head(x, pre_logits=True)  # (B·K, D)
        if not pre_logits:
            f = self.fc(self.drop(f))  # (B·K, num_classes)
        return self.consensus(rearrange(f, "(b k) n -> b k n", k=self.num_segments))


# --------------------------------------------------------------------------------------------------
# Registered variants. Counts: tsn-pytorch TSN(101, 3, modality, base_model=...) on UCF-101; its
# BN-Inception (1000 classes) has 11,295,240 parameters, torchvision's resnet50 25,557,032; TSN swaps
# the 1000-way classifier for a 101-way one and widens the first conv for flow (10) / RGB diff (15).

_REF = "yjxiong/tsn-pytorch models.TSN(101, 3, {!r}, base_model={!r})"


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> TSN:
    return TSN(**{**defaults, **overrides})


@register_model(
    paper=WANG_2016,
    reference=_REF.format("RGB", "BNInception"),
    reference_params=10_373_765,
    input_size=(3, 3, 224, 224),
)
def tsn_bninception_rgb(**kwargs: Any) -> TSN:
    """TSN RGB net: BN-Inception, K = 3, dropout 0.8, partial BN, average consensus."""
    return _build(dict(modality="rgb", drop_rate=0.8), kwargs)


@register_model(
    paper=WANG_2016,
    reference=_REF.format("Flow", "BNInception"),
    reference_params=10_395_717,
    input_size=(3, 10, 224, 224),
)
def tsn_bninception_flow(**kwargs: Any) -> TSN:
    """TSN optical-flow net: 5 stacked flow fields (10 channels), cross-modality init, dropout 0.7."""
    return _build(dict(modality="flow", drop_rate=0.7), kwargs)


@register_model(
    paper=WANG_2016,
    reference=_REF.format("Flow", "BNInception") + " on warped flow (TSN's Caffe warp_flow modality)",
    reference_params=10_395_717,
    input_size=(3, 10, 224, 224),
)
def tsn_bninception_warped_flow(**kwargs: Any) -> TSN:
    """TSN warped-flow net: the flow net on flow with camera motion removed (the warping is data-side)."""
    return _build(dict(modality="warped_flow", drop_rate=0.7), kwargs)


@register_model(
    paper=WANG_2016,
    reference=_REF.format("RGBDiff", "BNInception"),
    reference_params=10_411_397,
    input_size=(3, 18, 224, 224),
)
def tsn_bninception_rgbdiff(**kwargs: Any) -> TSN:
    """TSN RGB-difference net: 6 frames per snippet → 5 differences (15 channels), dropout 0.8."""
    return _build(dict(modality="rgbdiff", drop_rate=0.8), kwargs)


@register_model(
    paper=WANG_2016, reference=_REF.format("RGB", "resnet50"), reference_params=23_714_981, input_size=(3, 3, 224, 224)
)
def tsn_resnet50_rgb(**kwargs: Any) -> TSN:
    """TSN RGB net on torchvision's ResNet-50."""
    return _build(dict(backbone="resnet50", modality="rgb", drop_rate=0.8), kwargs)


_TINY_BN_INCEPTION: dict[str, Any] = dict(channel_divisor=16)


@register_model(paper=WANG_2016, reference="yjxiong/tsn-pytorch (reduced, ResNet)", input_size=(3, 3, 32, 32))
def tsn_resnet_tiny(**kwargs: Any) -> TSN:
    """RGB TSN on paperzoo's ``resnet_tiny`` with max consensus, 32×32 snippets."""
    return _build(dict(backbone="resnet_tiny", consensus="max", num_classes=10, drop_rate=0.5), kwargs)


@register_model(paper=WANG_2016, reference="yjxiong/tsn-pytorch (reduced, Flow)", input_size=(3, 4, 32, 32))
def tsn_flow_tiny(**kwargs: Any) -> TSN:
    """Flow TSN (2 flow fields, 4 channels) on BN-Inception at 1/16 width, weighted consensus."""
    return _build(
        dict(modality="flow", new_length=2, consensus="weighted", num_classes=10, backbone_kwargs=_TINY_BN_INCEPTION),
        kwargs,
    )


@register_model(paper=WANG_2016, reference="yjxiong/tsn-pytorch (reduced, RGBDiff)", input_size=(3, 9, 32, 32))
def tsn_rgbdiff_tiny(**kwargs: Any) -> TSN:
    """RGB-difference TSN (3 frames → 2 differences) on BN-Inception at 1/16 width."""
    return _build(dict(modality="rgbdiff", new_length=2, num_classes=10, backbone_kwargs=_TINY_BN_INCEPTION), kwargs)


@register_model(paper=WANG_2016, reference="yjxiong/tsn-pytorch (reduced, RGB)", input_size=(3, 3, 32, 32))
def tsn_tiny(**kwargs: Any) -> TSN:
    """RGB TSN on BN-Inception at 1/16 width, K = 3 segments of 32×32 frames."""
    return _build(dict(num_classes=10, backbone_kwargs=_TINY_BN_INCEPTION), kwargs)
