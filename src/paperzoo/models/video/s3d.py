"""S3D and S3D-G: separable 3D Inception networks with spatio-temporal feature gating.

Paper: Xie, Sun, Huang, Tu & Murphy, "Rethinking Spatiotemporal Feature Learning: Speed-Accuracy
Trade-offs in Video Classification", ECCV 2018, arXiv 1712.04851. Reference implementations:
``torchvision.models.video.s3d`` for S3D (8,320,048 parameters), and for S3D-G the PyTorch port
antoine77340/S3D_HowTo100M (``s3dg.S3D``, itself a port of the authors' TF-slim
``tensorflow/models/research/slim/nets/s3dg.py``), whose layout and parameter count ``s3dg`` matches.

Implemented:
    * The separable 3D convolution (§4.3, Fig. 2): a k×k×k conv replaced by a 1×k×k spatial conv
      and a k×1×1 temporal conv, each followed by BatchNorm and ReLU (:class:`SepConv3d`).
    * S3D (§4.3): I3D's Inflated Inception-v1 with every 3×3×3 conv of the Inception branches, the
      3×3×3 stem conv (Conv_2c) and the 7×7×7 first conv made separable; torchvision's structure,
      layer for layer and with its state-dict keys (``features.*``): BN eps 1e-3, momentum 1e-3,
      PyTorch padding (7×7×7/2 stem padded by 3, 1×3×3/1,2,2 max pools padded by 1 spatially,
      3×3×3/2 pool padded by 1, 2×2×2/2 pool unpadded), 2×7×7 average pool, dropout 0.2, 1×1×1
      logits averaged over positions.
    * S3D-G (§4.4): feature gating y = σ(W·pool(x) + b) ⊙ x, where pool averages over space and time,
      W is C×C and b ∈ R^C (:class:`SelfGating`). Placement as the authors' TF-slim code and the
      HowTo100M port: after the separable Conv_2c and on the output of each of the four branches of
      every Inception block (``gating_startat='Conv2d_2c_3x3'``). The first conv of S3D-G is a full
      (non-separable) 3×7×7 conv with stride 2, as TF-slim's default ``first_temporal_kernel_size=3``
      and the port (TF-slim notes that separable first convs are slow; its docstring says the
      original S3D-G used 7 frames, available as ``stem_temporal_kernel=7``).

Deviations and notes: S3D-G uses the same PyTorch padding as torchvision's S3D (the port and TF-slim
pad the max pools 'SAME', which differs on even sizes by which side gets the padding; no parameter
changes); its BN keeps torchvision's eps 1e-3 (TF-slim's ``batch_norm_epsilon``; the port uses
PyTorch's default 1e-5). The port's optional space-to-depth stem (a TPU trick) and its text branch
are left out; its head (a global mean and a linear layer) is replaced by the TF-slim/torchvision head
used here, which has the same parameters. The final average pool clips its 2×7×7 kernel to the
feature map (TF-slim's ``reduced_kernel_size_3d``): torchvision's exact head at ≥ 14 frames of
224×224, and short or small clips run where torchvision fails. The 1×1×1 logits conv is a
``nn.Linear`` on the averaged features (the same affine map); :func:`convert_torchvision_state_dict`
reshapes torchvision's ``classifier.1`` weights for it. Left out: the "top-heavy"/"bottom-heavy"
I3D ablations (Table 1-2) and the detection experiments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model
from ..vision.googlenet import INCEPTION_TABLE
from ._base import VideoClassifier, linear_head
from .i3d import I3D_MIXED_TO_GOOGLENET, reduced_avg_pool

__all__ = [
    "S3D",
    "SepConv3d",
    "SepInceptionBlock3d",
    "SelfGating",
    "ConvNormAct3d",
    "convert_torchvision_state_dict",
]

XIE_2018 = Paper(
    title="Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in Video Classification",
    authors="Saining Xie, Chen Sun, Jonathan Huang, Zhuowen Tu, Kevin Murphy",
    year=2018,
    arxiv="1712.04851",
)

NormLayer = Callable[[int], nn.Module]
S3D_BN: NormLayer = partial(nn.BatchNorm3d, eps=1e-3, momentum=1e-3)  # torchvision; TF-slim decay 0.999
# The tiny variants train a few hundred steps: running averages with decay 0.999 would still hold their
# initial values then (0.999^1000 = 37% of the init), and evaluation would read garbage statistics.
TINY_BN: NormLayer = partial(nn.BatchNorm3d, eps=1e-3, momentum=0.1)

Triple = tuple[int, int, int]


def _triple(v: int | Sequence[int]) -> Triple:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class ConvNormAct3d(nn.Sequential):
    """Conv3d (no bias) → BatchNorm3d → ReLU; the indices ``0``/``1`` are torchvision's ``Conv3dNormActivation``.

    Shapes:
        x: (B, in_chans, T, H, W) → (B, out_chans, T', H', W') (PyTorch padding arithmetic).
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int | Sequence[int] = 1,
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        norm_layer: NormLayer = S3D_BN,
    ) -> None:
        if in_chans <= 0 or out_chans <= 0:
            raise ValueError(f"channel counts must be > 0 (got {in_chans} → {out_chans})")
        conv = nn.Conv3d(in_chans, out_chans, _triple(kernel_size), _triple(stride), _triple(padding), bias=False)
        super().__init__(conv, norm_layer(out_chans), nn.ReLU(inplace=True))


class SepConv3d(nn.Sequential):
    """Spatio-temporal separable convolution (§4.3, Fig. 2c): 1×k×k conv → BN → ReLU → k×1×1 conv → BN → ReLU.

    Replaces a k×k×k conv with ``stride`` and ``padding`` applied to space in the first conv and to
    time in the second (torchvision's ``TemporalSeparableConv``).

    Shapes:
        x: (B, in_chans, T, H, W) → (B, out_chans, T', H', W').
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        norm_layer: NormLayer = S3D_BN,
    ) -> None:
        if kernel_size <= 0 or stride <= 0 or padding < 0:
            raise ValueError(f"kernel_size/stride must be > 0, padding >= 0 (got {kernel_size}, {stride}, {padding})")
        k, s, p = kernel_size, stride, padding
        super().__init__(
            ConvNormAct3d(in_chans, out_chans, (1, k, k), stride=(1, s, s), padding=(0, p, p), norm_layer=norm_layer),
            ConvNormAct3d(out_chans, out_chans, (k, 1, 1), stride=(s, 1, 1), padding=(p, 0, 0), norm_layer=norm_layer),
        )


class SelfGating(nn.Module):
    """Spatio-temporal feature gating of S3D-G (§4.4): y = σ(W·pool(x) + b) ⊙ x.

    ``pool`` averages each channel over time and space; the gate re-weights the channels of every
    position with a learned function of the clip's context (a squeeze-and-excitation-like gate
    without a bottleneck).

    Args:
        channels: C.
        bias: learn b (the paper's equation and the PyTorch port; TF-slim's 1×1×1 conv has no bias).

    Shapes:
        x: (B, C, T, H, W) → (B, C, T, H, W).
    """

    def __init__(self, channels: int, *, bias: bool = True) -> None:
        super().__init__()
        if channels <= 0:
            raise ValueError(f"channels must be > 0 (got {channels})")
        self.fc = nn.Linear(channels, channels, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3, 4))))  # (B, C)
        return x * rearrange(gate, "b c -> b c 1 1 1")


class SepInceptionBlock3d(nn.Module):
    """The S3D Inception block: I3D's block with separable 3×3×3 convs, optionally gated (S3D-G).

    ```
    x ─┬─ 1×1×1 (c0) ───────────────────────────── [gate] ─┐
       ├─ 1×1×1 (c1a) ─ sep 3×3×3 (c1b) ────────── [gate] ─┤
       ├─ 1×1×1 (c2a) ─ sep 3×3×3 (c2b) ────────── [gate] ─┼─ concat → (B, c0 + c1b + c2b + c3b, T, H, W)
       └─ maxpool 3×3×3/1 ─ 1×1×1 (c3b) ────────── [gate] ─┘
    ```
    Attribute names (``branch0`` ... ``branch3``) follow torchvision; the gates are ``gate0`` ... ``gate3``.
    """

    def __init__(
        self, in_chans: int, widths: Sequence[int], *, gating: bool = False, gate_bias: bool = True, norm_layer=S3D_BN
    ) -> None:
        super().__init__()
        if len(widths) != 6:
            raise ValueError(f"widths must have 6 entries (got {len(widths)})")
        c0, c1a, c1b, c2a, c2b, c3b = widths
        unit = partial(ConvNormAct3d, norm_layer=norm_layer)
        sep = partial(SepConv3d, kernel_size=3, padding=1, norm_layer=norm_layer)
        self.branch0 = unit(in_chans, c0)
        self.branch1 = nn.Sequential(unit(in_chans, c1a), sep(c1a, c1b))
        self.branch2 = nn.Sequential(unit(in_chans, c2a), sep(c2a, c2b))
        self.branch3 = nn.Sequential(nn.MaxPool3d(3, stride=1, padding=1), unit(in_chans, c3b))
        self.out_chans = c0 + c1b + c2b + c3b
        gate: Callable[[int], nn.Module] = partial(SelfGating, bias=gate_bias) if gating else lambda c: nn.Identity()
        self.gate0, self.gate1, self.gate2, self.gate3 = gate(c0), gate(c1b), gate(c2b), gate(c3b)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → (B, out_chans, T, H, W)."""
        return torch.cat(
            [
                self.gate0(self.branch0(x)),
                self.gate1(self.branch1(x)),
                self.gate2(self.branch2(x)),
                self.gate3(self.branch3(x)),
            ],
            dim=1,
        )


class S3D(VideoClassifier):
    """S3D / S3D-G (Xie et al. 2018, §4.3-4.4): separable-convolution Inception-v1 for clips.

    ```
    (B, 3, 16, 224, 224)
      0  stem: sep 7×7×7 /2 (S3D) or 3×7×7 /2 (S3D-G)   (B,   64, 8, 112, 112)
      1  maxpool 1×3×3 /1,2,2                          (B,   64, 8,  56,  56)
      2  1×1×1 ─ 3 sep 3×3×3 [─ gate]                  (B,  192, 8,  56,  56)
      4  maxpool 1×3×3 /1,2,2                          (B,  192, 8,  28,  28)
      5-6  Mixed_3b, 3c ─ 7 maxpool 3×3×3 /2           (B,  480, 4,  14,  14)
      8-12 Mixed_4b ... 4f ─ 13 maxpool 2×2×2 /2       (B,  832, 2,   7,   7)
      14-15 Mixed_5b, 5c                               (B, 1024, 2,   7,   7) = forward_features
      avg pool 2×7×7 /1 ─ dropout ─ fc ─ mean          (B, num_classes)
    ```

    Args:
        num_classes: classes (Kinetics-400); 0 makes ``forward`` return pooled features.
        in_chans: input channels.
        drop_rate: dropout before the classifier (torchvision: 0.2; TF-slim S3D-G: keep 0.8).
        gating: S3D-G's feature gating after Conv_2c and on every Inception branch.
        gate_bias: the gates' bias b.
        stem: ``"separable"`` (torchvision's S3D: 1×7×7/1,2,2 then 7×1×1/2,1,1) or ``"full"`` (a
            non-separable ``stem_temporal_kernel``×7×7 conv with stride 2, S3D-G).
        stem_temporal_kernel: temporal extent of the first conv (7 in S3D; 3 in TF-slim's S3D-G).
        norm_layer: normalisation after every conv.
        channel_divisor: divide every width by this, for reduced variants.

    Shapes:
        x: (B, in_chans, T, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        *,
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.2,
        gating: bool = False,
        gate_bias: bool = True,
        stem: str = "separable",
        stem_temporal_kernel: int = 7,
        norm_layer: NormLayer = S3D_BN,
        channel_divisor: int = 1,
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if stem not in ("separable", "full"):
            raise ValueError(f"stem must be 'separable' or 'full' (got {stem!r})")
        if stem_temporal_kernel <= 0 or stem_temporal_kernel % 2 == 0:
            raise ValueError(f"stem_temporal_kernel must be a positive odd number (got {stem_temporal_kernel})")
        if stem == "separable" and stem_temporal_kernel != 7:
            raise ValueError(f"the separable stem is 7×7×7 (got stem_temporal_kernel={stem_temporal_kernel})")
        widths = [64, 192, *(c for row in INCEPTION_TABLE.values() for c in row)]
        if channel_divisor <= 0 or any(c % channel_divisor for c in widths):
            raise ValueError(f"channel_divisor must be > 0 and divide every width (got {channel_divisor})")
        d = channel_divisor
        self.in_chans, self.num_classes, self.gating = in_chans, num_classes, gating
        unit = partial(ConvNormAct3d, norm_layer=norm_layer)
        if stem == "separable":
            conv1: nn.Module = SepConv3d(in_chans, 64 // d, 7, stride=2, padding=3, norm_layer=norm_layer)
        else:
            t = stem_temporal_kernel
            conv1 = unit(in_chans, 64 // d, (t, 7, 7), stride=2, padding=(t // 2, 3, 3))
        conv2c: nn.Module = SepConv3d(64 // d, 192 // d, 3, padding=1, norm_layer=norm_layer)
        if gating:
            conv2c = nn.Sequential(conv2c, SelfGating(192 // d, bias=gate_bias))
        layers: list[nn.Module] = [
            conv1,
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            unit(64 // d, 64 // d),
            conv2c,
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        ]
        c = 192 // d
        block = partial(SepInceptionBlock3d, gating=gating, gate_bias=gate_bias, norm_layer=norm_layer)
        for name, module in I3D_MIXED_TO_GOOGLENET.items():
            layers.append(block(c, [w // d for w in INCEPTION_TABLE[module]]))
            c = layers[-1].out_chans
            if name == "Mixed_3c":
                layers.append(nn.MaxPool3d(3, stride=2, padding=1))
            elif name == "Mixed_4f":
                layers.append(nn.MaxPool3d(2, stride=2))
        self.features = nn.Sequential(*layers)
        self.num_features = c
        self.dropout = nn.Dropout(drop_rate)
        self.fc = linear_head(c, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → output of Mixed_5c, (B, 1024, T/8, H/32, W/32)."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 1024, t, h, w) → logits (B, num_classes), or averaged features (B, 1024) with ``pre_logits``.

        torchvision/TF-slim: 2×7×7 average pool (stride 1), dropout, 1×1×1 logits conv at every position,
        mean over positions; the classifier is affine, so averaging first gives the same logits.
        """
        x = rearrange(reduced_avg_pool(x), "b c t h w -> b (t h w) c")
        x = self.dropout(x).mean(dim=1)  # (B, C)
        return x if pre_logits else self.fc(x)


def convert_torchvision_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A ``torchvision.models.video.S3D`` state dict in :class:`S3D`'s names.

    ``features.*`` keys are identical; the 1×1×1 logits conv ``classifier.1`` (K, 1024, 1, 1, 1)
    becomes the linear ``fc`` (K, 1024).
    """
    out = {}
    for key, value in state.items():
        if key.startswith("classifier.1."):
            key = "fc." + key.removeprefix("classifier.1.")
            value = value.flatten(1) if value.dim() == 5 else value
        out[key] = value
    return out


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> S3D:
    return S3D(**{**defaults, **overrides})


# S3D-G as antoine77340/S3D_HowTo100M s3dg.S3D(num_classes=400, gating=True, space_to_depth=False), video
# branch only (its text module left out): 3×7×7 full stem, gates with bias after Conv_2c and on every branch.
_S3DG = dict(gating=True, gate_bias=True, stem="full", stem_temporal_kernel=3)


@register_model(
    paper=XIE_2018, reference="torchvision.models.video.s3d", reference_params=8_320_048, input_size=(3, 16, 224, 224)
)
def s3d(**kwargs: Any) -> S3D:
    """torchvision's S3D: separable convs everywhere including the 7×7×7 stem."""
    return _build(dict(), kwargs)


@register_model(
    paper=XIE_2018,
    reference="antoine77340/S3D_HowTo100M s3dg.S3D(num_classes=400, gating=True, space_to_depth=False), video branch",
    reference_params=9_535_072,
    input_size=(3, 64, 224, 224),
)
def s3dg(**kwargs: Any) -> S3D:
    """S3D-G: feature gating after Conv_2c and on every Inception branch, full 3×7×7 stem (TF-slim layout)."""
    return _build(_S3DG, kwargs)


@register_model(paper=XIE_2018, reference="torchvision.models.video.s3d", input_size=(3, 8, 32, 32))
def s3d_tiny(**kwargs: Any) -> S3D:
    """S3D at 1/8 width on 8×32×32 clips, BatchNorm momentum 0.1 (:data:`TINY_BN`)."""
    return _build(dict(channel_divisor=8, norm_layer=TINY_BN), kwargs)


@register_model(paper=XIE_2018, reference="antoine77340/S3D_HowTo100M s3dg.S3D", input_size=(3, 8, 32, 32))
def s3dg_tiny(**kwargs: Any) -> S3D:
    """S3D-G at 1/8 width on 8×32×32 clips, BatchNorm momentum 0.1 (:data:`TINY_BN`)."""
    return _build({**_S3DG, "channel_divisor": 8, "norm_layer": TINY_BN}, kwargs)
