"""X3D: a tiny 2D network expanded step by step along six axes into an efficient video network.

Paper: Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition", CVPR 2020,
arXiv:2004.04730. Reference implementations: pytorchvideo's ``create_x3d`` (hub ``x3d_xs``, ``x3d_s``,
``x3d_m``, and ``x3d_l`` as ``create_x3d(depth_factor=5.0)``) and the authors' PySlowFast
(``configs/Kinetics/X3D_{XS,S,M,L}.yaml``). The registered variants match pytorchvideo module for module:

==========  ======================  ======  =====  =====  ===========  ===================
variant     clip (T × τ, size)      γw      γb     γd     parameters   GMACs (PySlowFast)
==========  ======================  ======  =====  =====  ===========  ===================
``x3d_xs``  4 × 12, 160²            2.0     2.25   2.2    3,794,274    0.60
``x3d_s``   13 × 6, 160²            2.0     2.25   2.2    3,794,274    1.96
``x3d_m``   16 × 5, 224²            2.0     2.25   2.2    3,794,274    4.73
``x3d_l``   16 × 5, 312²            2.0     2.25   5.0    6,153,384    18.37
==========  ======================  ======  =====  =====  ===========  ===================

(XS, S and M are one network fed different clips: the expansions in time and space change no weights.)

What is implemented (§3, Table 1 of the paper):
    * Stem ("conv1"): a 1×3×3 convolution with spatial stride 2 followed by a channel-wise (depthwise)
      5×1×1 temporal convolution, BN, ReLU; no pooling.
    * Four stages res2..res5 of base depth 1, 2, 5, 3 (× γd, rounded up) and base width 12, 24, 48, 96
      (× γw, rounded to a multiple of 8 as the reference does), each starting with a spatial stride 2; no
      temporal striding anywhere (§3: "no temporal downsampling layer").
    * Bottleneck blocks with a channel-wise 3×3×3 convolution between 1×1×1 convolutions, inner width
      γb times the block's output width, squeeze-excitation (reduction 1/16, Hu et al. 2018) after the
      3×3×3 conv of every other block, swish (SiLU) after it and ReLU elsewhere (§3, "Basis instantiation").
    * Head: conv5 (1×1×1 to the last bottleneck width) + BN + ReLU, global average pooling, fc1 to 2048
      (no BN, ReLU), dropout 0.5, fc2 to the classes.
    * :class:`X3DConfig` holds the six expansion axes (frames γt, sampling stride γτ, resolution γs, width
      γw, bottleneck γb, depth γd); :func:`expand` applies one expansion step (§4.1) and
      :meth:`X3D.from_config` builds a network from a config. ``x3d_x2d`` is the unexpanded base X2D (all
      factors 1: one 112² frame).

Deviations and notes:
    * The reference head averages with a fixed ``AvgPool3d`` sized for the training clip and applies a
      softmax to the logits; this model pools globally (identical at the reference clip sizes and valid for
      any other) and returns logits (the softmax belongs to the loss).
    * Following pytorchvideo exactly, a block whose shortcut needs only a stride (res2's first block, 24 → 24
      channels) gets a strided 1×1×1 convolution without BN; PySlowFast adds a BN there (+48 parameters).
    * Initialisation follows PySlowFast: He-normal (fan-out) convolutions, BN (1, 0) except the last BN of
      each residual branch at 0, linear layers N(0, 0.01²) with zero bias.
    * The width rounding of the reference makes the base X2D's 12-channel res2 16 channels wide at γw = 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import VideoClassifier, linear_head

__all__ = ["X3D", "X3DBlock", "X3DConfig", "SqueezeExcite3d", "expand", "round_width", "round_repeats", "AXES"]

X3D_2020 = Paper(
    title="X3D: Expanding Architectures for Efficient Video Recognition",
    authors="Christoph Feichtenhofer",
    year=2020,
    arxiv="2004.04730",
)

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]
Axis = Literal["fast", "temporal", "spatial", "depth", "width", "bottleneck"]
AXES: tuple[str, ...] = ("fast", "temporal", "spatial", "depth", "width", "bottleneck")

# One expansion step per axis: the factors that take X2D to the X3D-XS/S/M networks of the reference
# (width 2, bottleneck 2.25, depth 2.2 are pytorchvideo's create_x3d defaults; √2 takes 112² to 160²).
DEFAULT_FACTORS: dict[str, float] = {
    "fast": 2.0,
    "temporal": 2.0,
    "spatial": math.sqrt(2.0),
    "depth": 2.2,
    "width": 2.0,
    "bottleneck": 2.25,
}
BASE_WIDTHS = (12, 24, 48, 96)  # res2..res5 outputs of the base, before γw (the stem is as wide as res2)
BASE_DEPTHS = (1, 2, 5, 3)  # blocks of res2..res5 before γd


def round_width(width: float, multiplier: float, *, divisor: int = 8, min_width: int = 8) -> int:
    """``width · multiplier`` rounded to the nearest multiple of ``divisor``, at least ``min_width``.

    The reference's rule (also EfficientNet's): round half up to a multiple of 8, and add one more
    ``divisor`` if that lost over 10% of the width.
    """
    scaled = width * multiplier
    out = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if out < 0.9 * scaled:
        out += divisor
    return int(out)


def round_repeats(repeats: int, multiplier: float) -> int:
    """Blocks of a stage after the depth expansion: ``⌈γd · repeats⌉``."""
    return int(math.ceil(multiplier * repeats))


@dataclass(frozen=True)
class X3DConfig:
    """The six expansion axes of X3D (Fig. 1, §3).

    Attributes:
        frames: clip length T (temporal duration axis γt; the base X2D reads 1 frame).
        stride: temporal sampling stride τ in source frames (frame-rate axis γτ; frame rate 1/τ).
        resolution: spatial input size S (γs times the base 112).
        width: γw, the global width multiplier of every layer.
        bottleneck: γb, inner width of each block as a multiple of its output width.
        depth: γd, the multiplier of the base stage depths 1, 2, 5, 3.
    """

    frames: int = 1
    stride: int = 1
    resolution: int = 112
    width: float = 1.0
    bottleneck: float = 1.0
    depth: float = 1.0

    def __post_init__(self) -> None:
        for name in ("frames", "stride", "resolution"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)})")
        for name in ("width", "bottleneck", "depth"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (got {getattr(self, name)})")

    @property
    def input_size(self) -> tuple[int, int, int, int]:
        """One RGB clip's shape ``(3, T, S, S)``."""
        return (3, self.frames, self.resolution, self.resolution)

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return tuple(round_width(w, self.width) for w in BASE_WIDTHS)

    @property
    def stage_depths(self) -> tuple[int, ...]:
        return tuple(round_repeats(d, self.depth) for d in BASE_DEPTHS)


def expand(config: X3DConfig, axis: Axis, factor: float | None = None) -> X3DConfig:
    """One expansion step of §4.1: the config with one axis expanded by ``factor``.

    Axes (the paper's expansion operations):
        * ``"fast"`` (X-Fast): ``factor`` times the frames at ``1/factor`` the stride, so the clip covers the
          same duration at a higher frame rate.
        * ``"temporal"`` (X-Temporal): ``factor`` times the frames at the same stride (a longer clip).
        * ``"spatial"`` (X-Spatial): ``factor`` times the resolution, rounded to a multiple of 16.
        * ``"depth"`` (X-Depth), ``"width"`` (X-Width), ``"bottleneck"`` (X-Bottleneck): multiply γd, γw, γb.

    Args:
        config: the current network.
        axis: one of :data:`AXES`.
        factor: the expansion factor; ``None`` uses :data:`DEFAULT_FACTORS` (2, 2, √2, 2.2, 2, 2.25).

    Returns:
        A new :class:`X3DConfig` (the input is not modified).
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES} (got {axis!r})")
    factor = DEFAULT_FACTORS[axis] if factor is None else factor
    if factor <= 0:
        raise ValueError(f"factor must be > 0 (got {factor})")
    if axis == "fast":
        return dataclasses.replace(
            config, frames=max(1, round(config.frames * factor)), stride=max(1, round(config.stride / factor))
        )
    if axis == "temporal":
        return dataclasses.replace(config, frames=max(1, round(config.frames * factor)))
    if axis == "spatial":
        return dataclasses.replace(config, resolution=max(16, round(config.resolution * factor / 16) * 16))
    return dataclasses.replace(config, **{axis: getattr(config, axis) * factor})


class SqueezeExcite3d(nn.Module):
    """Squeeze-and-excitation over space-time (Hu et al. 2018): ``x · σ(W₂ ReLU(W₁ mean_{T,H,W}(x) + b₁) + b₂)``.

    Shapes:
        x: (B, C, T, H, W) → (B, C, T, H, W).
    """

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        if channels < 1 or reduced < 1:
            raise ValueError(f"channels and reduced must be >= 1 (got {channels}, {reduced})")
        self.fc1 = nn.Linear(channels, reduced)
        self.fc2 = nn.Linear(reduced, channels)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(2, 3, 4))  # squeeze: (B, C)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))  # excite: (B, C) gates in (0, 1)
        return x * s[:, :, None, None, None]


class X3DBlock(nn.Module):
    """X3D bottleneck: 1×1×1 → channel-wise 3×3×3 (+ SE) → 1×1×1, with a residual connection (§3).

    ``out = ReLU(shortcut(x) + BN(conv_c(swish(SE(BN(conv_b(ReLU(BN(conv_a(x))))))))))``, where ``conv_b`` has
    ``groups = inner_chs`` (one 3×3×3 filter per channel) and carries the spatial stride.

    Shapes:
        x: (B, in_chs, T, H, W) → (B, out_chs, T, ⌈H / stride⌉, ⌈W / stride⌉).
    """

    def __init__(
        self,
        in_chs: int,
        inner_chs: int,
        out_chs: int,
        *,
        stride: int = 1,
        se_ratio: float = 0.0625,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
        inner_act_layer: ActLayer = nn.SiLU,
    ) -> None:
        super().__init__()
        if stride < 1:
            raise ValueError(f"stride must be >= 1 (got {stride})")
        if se_ratio < 0:
            raise ValueError(f"se_ratio must be >= 0 (got {se_ratio})")
        needs_proj = in_chs != out_chs or stride != 1
        # pytorchvideo: a projection whenever the shape changes, its BN only when the width changes.
        self.shortcut = nn.Conv3d(in_chs, out_chs, 1, stride=(1, stride, stride), bias=False) if needs_proj else None
        self.shortcut_norm = norm_layer(out_chs) if in_chs != out_chs else None
        self.conv_a = nn.Conv3d(in_chs, inner_chs, 1, bias=False)
        self.norm_a = norm_layer(inner_chs)
        self.act_a = act_layer()
        self.conv_b = nn.Conv3d(
            inner_chs, inner_chs, 3, stride=(1, stride, stride), padding=1, groups=inner_chs, bias=False
        )
        self.norm_b = norm_layer(inner_chs)
        self.se = SqueezeExcite3d(inner_chs, round_width(inner_chs, se_ratio)) if se_ratio > 0 else nn.Identity()
        self.act_b = inner_act_layer()
        self.conv_c = nn.Conv3d(inner_chs, out_chs, 1, bias=False)
        self.norm_c = norm_layer(out_chs)
        self.act = act_layer()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        if self.shortcut is not None:
            shortcut = self.shortcut(x)
        if self.shortcut_norm is not None:
            shortcut = self.shortcut_norm(shortcut)
        y = self.act_a(self.norm_a(self.conv_a(x)))
        y = self.act_b(self.se(self.norm_b(self.conv_b(y))))
        y = self.norm_c(self.conv_c(y))
        return self.act(shortcut + y)


class X3D(VideoClassifier):
    """X3D network (Feichtenhofer 2020), Table 1 with expansion factors γw, γb, γd.

    Args:
        width: γw, multiplier of the base widths 12, 24, 48, 96 (res2..res5; the stem is as wide as res2).
        bottleneck: γb, block inner width as a multiple of its output width.
        depth: γd, multiplier of the base depths 1, 2, 5, 3 (rounded up).
        se_ratio: squeeze-excitation reduction (1/16), applied in blocks 1, 3, 5, ... of each stage; 0 disables.
        head_width: width of fc1 (2048).
        stem_temporal_kernel: temporal kernel of the channel-wise stem convolution (5).
        num_classes: classes (400 for Kinetics-400); 0 returns the ``head_width`` features.
        in_chans: input channels.
        drop_rate: dropout before the classifier (0.5).
        norm_layer / act_layer / inner_act_layer: BatchNorm3d, ReLU, and the swish after the 3×3×3 conv.

    Shapes:
        x: (B, in_chans, T, H, W) → logits (B, num_classes); features (B, C5, T, H/32, W/32).
    """

    config: X3DConfig | None = None

    def __init__(
        self,
        *,
        width: float = 2.0,
        bottleneck: float = 2.25,
        depth: float = 2.2,
        se_ratio: float = 0.0625,
        head_width: int = 2048,
        stem_temporal_kernel: int = 5,
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.5,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
        inner_act_layer: ActLayer = nn.SiLU,
    ) -> None:
        super().__init__()
        if width <= 0 or bottleneck <= 0 or depth <= 0:
            raise ValueError(f"width, bottleneck and depth must be > 0 (got {width}, {bottleneck}, {depth})")
        if head_width < 1:
            raise ValueError(f"head_width must be >= 1 (got {head_width})")
        if stem_temporal_kernel < 1 or stem_temporal_kernel % 2 == 0:
            raise ValueError(f"stem_temporal_kernel must be a positive odd number (got {stem_temporal_kernel})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if in_chans < 1:
            raise ValueError(f"in_chans must be >= 1 (got {in_chans})")
        self.in_chans, self.num_classes, self.num_features = in_chans, num_classes, head_width

        # conv1: spatial 1×3×3 (stride 2), then a channel-wise temporal conv (§3: "the temporal convolution
        # in the first stage is channel-wise"), BN, ReLU.
        stem_w = round_width(BASE_WIDTHS[0], width)
        kt = stem_temporal_kernel
        self.stem = nn.Sequential(
            nn.Conv3d(in_chans, stem_w, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),
            nn.Conv3d(stem_w, stem_w, (kt, 1, 1), padding=(kt // 2, 0, 0), groups=stem_w, bias=False),
            norm_layer(stem_w),
            act_layer(),
        )
        stages, in_w = [], stem_w
        for base_w, base_d in zip(BASE_WIDTHS, BASE_DEPTHS):
            out_w = round_width(base_w, width)
            inner_w = int(bottleneck * out_w)
            blocks = [
                X3DBlock(
                    in_w if j == 0 else out_w,
                    inner_w,
                    out_w,
                    stride=2 if j == 0 else 1,
                    se_ratio=se_ratio if j % 2 == 0 else 0.0,  # SE in every other block (§3)
                    norm_layer=norm_layer,
                    act_layer=act_layer,
                    inner_act_layer=inner_act_layer,
                )
                for j in range(round_repeats(base_d, depth))
            ]
            stages.append(nn.Sequential(*blocks))
            in_w = out_w
        self.stages = nn.Sequential(*stages)  # res2, res3, res4, res5
        # conv5: 1×1×1 to the last bottleneck width, BN, ReLU (Table 1).
        self.conv5 = nn.Sequential(nn.Conv3d(in_w, inner_w, 1, bias=False), norm_layer(inner_w), act_layer())
        self.fc1 = nn.Linear(inner_w, head_width, bias=False)  # a 1×1×1 conv on the pooled features
        self.act_fc1 = act_layer()
        self.drop = nn.Dropout(drop_rate)
        self.fc = linear_head(head_width, num_classes)
        self._init_weights()

    @classmethod
    def from_config(cls, config: X3DConfig, **kwargs: Any) -> X3D:
        """Build the network of an :class:`X3DConfig` (its width, bottleneck and depth; the clip axes only
        size the input, which is remembered in ``model.config``)."""
        model = cls(width=config.width, bottleneck=config.bottleneck, depth=config.depth, **kwargs)
        model.config = config
        return model

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, X3DBlock) and isinstance(m.norm_c, nn.BatchNorm3d):
                nn.init.zeros_(m.norm_c.weight)  # each block starts as its shortcut (PySlowFast)

    def forward_features(self, x: Tensor) -> Tensor:
        """Clips (B, C, T, H, W) → conv5 features (B, γb·C5, T, ⌈H/32⌉, ⌈W/32⌉)."""
        self.check_input(x)
        return self.conv5(self.stages(self.stem(x)))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Global average pool → fc1 + ReLU (B, head_width) → dropout → classifier."""
        x = self.act_fc1(self.fc1(x.mean(dim=(2, 3, 4))))
        x = self.drop(x)
        return x if pre_logits else self.fc(x)


# The reference models as configs: clip T × τ and crop from pytorchvideo's hub / PySlowFast's model zoo.
X2D = X3DConfig()
X3D_XS = X3DConfig(frames=4, stride=12, resolution=160, width=2.0, bottleneck=2.25, depth=2.2)
X3D_S = dataclasses.replace(X3D_XS, frames=13, stride=6)
X3D_M = dataclasses.replace(X3D_XS, frames=16, stride=5, resolution=224)
X3D_L = dataclasses.replace(X3D_M, resolution=312, depth=5.0)
X3D_TINY = X3DConfig(frames=4, stride=1, resolution=32, width=0.5, bottleneck=1.0, depth=1.0)


def _build(config: X3DConfig, overrides: dict[str, Any], **defaults: Any) -> X3D:
    return X3D.from_config(config, **{**defaults, **overrides})


def _register(config: X3DConfig, params: int | None, reference: str) -> Callable[[Callable[..., X3D]], Any]:
    return register_model(paper=X3D_2020, reference=reference, reference_params=params, input_size=config.input_size)


@_register(X3D_XS, 3_794_274, "pytorchvideo.models.hub.x3d_xs (PySlowFast X3D_XS, 4x12 at 160)")
def x3d_xs(**kwargs: Any) -> X3D:
    """X3D-XS: 4 frames at stride 12, 160², γw 2, γb 2.25, γd 2.2."""
    return _build(X3D_XS, kwargs)


@_register(X3D_S, 3_794_274, "pytorchvideo.models.hub.x3d_s (PySlowFast X3D_S, 13x6 at 160)")
def x3d_s(**kwargs: Any) -> X3D:
    """X3D-S: the XS network fed 13 frames at stride 6, 160²."""
    return _build(X3D_S, kwargs)


@_register(X3D_M, 3_794_274, "pytorchvideo.models.hub.x3d_m (PySlowFast X3D_M, 16x5 at 224)")
def x3d_m(**kwargs: Any) -> X3D:
    """X3D-M: the XS network fed 16 frames at stride 5, 224²."""
    return _build(X3D_M, kwargs)


@_register(X3D_L, 6_153_384, "pytorchvideo.models.x3d.create_x3d(depth_factor=5.0) (PySlowFast X3D_L, 16x5 at 312)")
def x3d_l(**kwargs: Any) -> X3D:
    """X3D-L: γd 5.0 (5, 10, 25, 15 blocks), 16 frames at stride 5, 312²."""
    return _build(X3D_L, kwargs)


@_register(X2D, None, "none (the paper's unexpanded base, built with pytorchvideo's create_x3d rules)")
def x3d_x2d(**kwargs: Any) -> X3D:
    """The base X2D of §3: every expansion factor 1, one 112² frame."""
    return _build(X2D, kwargs)


@_register(X3D_TINY, None, "pytorchvideo.models.x3d.create_x3d (reduced)")
def x3d_tiny(**kwargs: Any) -> X3D:
    """γw 0.5 (8, 16, 24, 48 channels), γb 1, γd 1, a 64-d fc1; 4 frames of 32×32."""
    return _build(X3D_TINY, kwargs, head_width=64)
