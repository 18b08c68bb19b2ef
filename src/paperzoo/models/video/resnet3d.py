"""Video ResNets with 3D, mixed and (2+1)D convolutions: R3D, MCx / rMCx, R(2+1)D.

Paper: Tran, Wang, Torresani, Ray, LeCun & Paluri, "A Closer Look at Spatiotemporal Convolutions for Action
Recognition", CVPR 2018, arXiv:1711.11248.

Reference implementations:
    * ``torchvision.models.video`` (``r3d_18``, ``mc3_18``, ``r2plus1d_18``; 33,371,472 / 11,695,440 /
      31,505,325 parameters and 40.70 / 43.34 / 40.52 GMACs at 16×112×112 in its weight tables). State-dict
      keys follow torchvision (``stem.0``, ``layer1.0.conv1.0.0``, ``layer2.0.downsample.0``, ``fc``), so its
      checkpoints load as they are.
    * The authors' VMZ (``facebookresearch/VMZ``): the Caffe2 builder (``c2/lib/models/r3d_model.py``,
      ``video_model.py``) and its PyTorch port (``pt/vmz/models/r2plus1d.py``, ``r2plus1d_34``, whose
      Sports-1M/IG-65M/Kinetics weights are moabitcoin/ig65m-pytorch's), for R(2+1)D-34 and R3D-34.

What is implemented:
    * The residual network of Table 1: a stem (conv1, 3×7×7 / stride 1×2×2, 64 channels), four stages
      conv2_x … conv5_x of basic blocks (two 3×3×3 convs) with 64, 128, 256, 512 channels, each later stage
      halving T, H and W in its first block (so 16×112×112 ends at 2×7×7), global average pooling and a
      linear classifier. Depth 18 has (2, 2, 2, 2) blocks, depth 34 has (3, 4, 6, 3).
    * Per-stage convolution kinds (§3): ``"3d"`` (R3D, t×d×d kernels), ``"2d"`` (1×d×d, frame by frame, as
      in R2D and the 2D part of the mixed nets; its shortcut keeps T) and ``"2+1d"`` (§3.5, a d×d spatial
      conv into M_i channels, BN, ReLU, then a t×1×1 temporal conv). ``mixed_conv_types`` gives the MCx
      and rMCx layouts of §3.3 (3D bottom / 2D top and the reverse).
    * M_i, the (2+1)D mid-channel count, is chosen so that the (2+1)D block has about the parameters of
      the full 3D one: M_i = ⌊t·d²·N_{i-1}·N_i / (d²·N_{i-1} + t·N_i)⌋ (§3.5). ``midplanes="paper"``
      (default; VMZ's Caffe2 and PyTorch code) applies it to each convolution from its own input and
      output widths; ``midplanes="torchvision"`` computes it once per block from the block's input and
      output widths and uses it for both convs, as torchvision does (which is why torchvision's
      r2plus1d_18 has 31,505,325 parameters where R3D-18 has 33,371,472; with the per-conv formula
      R(2+1)D-18 has 33,370,839, the near-equality §3.5 aims for). The (2+1)D stem uses 45 mid channels in
      both reference codes (a fixed number, not the formula, which would give 83).

Deviations and notes:
    * BN keeps PyTorch's ε = 1e-5 and momentum 0.1 as torchvision does; VMZ uses Caffe2's ε = 1e-3 (pass
      ``norm_layer=partial(nn.BatchNorm3d, eps=1e-3)`` to match a VMZ checkpoint's statistics exactly).
    * Initialisation is torchvision's: He normal (fan-out) for convolutions, BN γ = 1, β = 0, classifier
      N(0, 0.01²) with zero bias. The paper does not state its initialisation (VMZ uses MSRA fill too).
    * R3D-34 has no PyTorch reference; its count is that of VMZ's Caffe2 ``create_r3d(model_depth=34)``,
      which is torchvision's layout with (3, 4, 6, 3) blocks (worked out by hand in the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import VideoClassifier, linear_head

__all__ = [
    "VideoResNet",
    "VideoBasicBlock",
    "Conv2Plus1D",
    "midplanes_2plus1d",
    "mixed_conv_types",
    "make_conv",
]

TRAN_2018 = Paper(
    title="A Closer Look at Spatiotemporal Convolutions for Action Recognition",
    authors="Du Tran, Heng Wang, Lorenzo Torresani, Jamie Ray, Yann LeCun, Manohar Paluri",
    year=2018,
    arxiv="1711.11248",
)

ConvType = Literal["3d", "2d", "2+1d"]
MidPlanes = Literal["paper", "torchvision"]
_CONV_TYPES = ("3d", "2d", "2+1d")
_MIDPLANES = ("paper", "torchvision")

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


def _triple(v: int | Sequence[int], what: str) -> tuple[int, int, int]:
    t = (v, v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 3 or min(t) < 1:
        raise ValueError(f"{what} must be a positive int or three positive ints (got {v})")
    return t  # type: ignore[return-value]


def midplanes_2plus1d(in_chs: int, out_chs: int, t: int = 3, d: int = 3) -> int:
    """Mid channels M_i of a (2+1)D conv with the parameters of a t×d×d 3D conv (§3.5).

    M_i = ⌊t·d²·N_{i-1}·N_i / (d²·N_{i-1} + t·N_i)⌋: the spatial conv has d²·N_{i-1}·M_i weights and the
    temporal one t·M_i·N_i, which together equal the 3D conv's t·d²·N_{i-1}·N_i up to the floor.
    """
    if min(in_chs, out_chs, t, d) < 1:
        raise ValueError(f"in_chs, out_chs, t, d must be >= 1 (got {in_chs}, {out_chs}, {t}, {d})")
    return (t * d * d * in_chs * out_chs) // (d * d * in_chs + t * out_chs)


class Conv2Plus1D(nn.Sequential):
    """(2+1)D convolution (§3.5, Fig. 2e): spatial 1×d×d conv → norm → act → temporal t×1×1 conv.

    Both convs are bias-free (each is followed by BN in the network). The spatial conv carries the spatial
    stride, the temporal conv the temporal one; zero padding keeps ``(T, H, W)`` at stride 1. With
    ``norm_layer = act_layer = nn.Identity`` it is exactly a 3D conv whose t×d×d kernel has rank ≤ M_i
    (the sum over mid channels of temporal ⊗ spatial kernels), which the tests check.

    Args:
        in_chs: N_{i-1}.
        out_chs: N_i.
        mid_chs: M_i; None computes it with :func:`midplanes_2plus1d`.
        kernel_size: (t, d, d) of the 3D conv it replaces (odd sizes).
        stride: (temporal, height, width) stride, or one int for all three.
        norm_layer: normalisation between the two convs (BN in the paper).
        act_layer: activation between the two convs (ReLU in the paper: the extra nonlinearity is one of
            the two reasons §3.5 gives for the gain over R3D).

    Shapes:
        x: (B, in_chs, T, H, W) → (B, out_chs, ⌈T / s_t⌉, ⌈H / s_h⌉, ⌈W / s_w⌉).
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        mid_chs: int | None = None,
        kernel_size: int | Sequence[int] = 3,
        stride: int | Sequence[int] = 1,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        t, kh, kw = _triple(kernel_size, "kernel_size")
        st, sh, sw = _triple(stride, "stride")
        if t % 2 == 0 or kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"kernel_size must be odd (got {kernel_size})")
        if kh != kw:
            raise ValueError(f"the spatial kernel must be square, d×d (got {kernel_size})")
        mid = midplanes_2plus1d(in_chs, out_chs, t, kh) if mid_chs is None else mid_chs
        if mid < 1:
            raise ValueError(f"mid_chs must be >= 1 (got {mid})")
        super().__init__(
            nn.Conv3d(in_chs, mid, (1, kh, kw), stride=(1, sh, sw), padding=(0, kh // 2, kw // 2), bias=False),
            norm_layer(mid),
            act_layer(),
            nn.Conv3d(mid, out_chs, (t, 1, 1), stride=(st, 1, 1), padding=(t // 2, 0, 0), bias=False),
        )
        self.mid_chs = mid


def make_conv(
    conv_type: ConvType,
    in_chs: int,
    out_chs: int,
    *,
    stride: int = 1,
    mid_chs: int | None = None,
    norm_layer: NormLayer = nn.BatchNorm3d,
    act_layer: ActLayer = nn.ReLU,
) -> nn.Module:
    """One 3×3×3-class conv of a residual block: full 3D, per-frame 2D (1×3×3) or (2+1)D (§3)."""
    if conv_type == "3d":
        return nn.Conv3d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False)
    if conv_type == "2d":
        # A 2D conv applied to every frame: no temporal extent, so no temporal striding either.
        return nn.Conv3d(in_chs, out_chs, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
    if conv_type == "2+1d":
        return Conv2Plus1D(in_chs, out_chs, mid_chs=mid_chs, stride=stride, norm_layer=norm_layer, act_layer=act_layer)
    raise ValueError(f"conv_type must be one of {_CONV_TYPES} (got {conv_type!r})")


def mixed_conv_types(level: int, *, reverse: bool = False) -> tuple[ConvType, tuple[ConvType, ...]]:
    """(stem, per-stage) conv kinds of MCx (``reverse=False``) or rMCx (§3.3, Fig. 2b-c).

    MCx keeps 3D convs in conv1 … conv(x-1) and uses 2D convs from conv_x on (MC3: 3D stem and conv2_x,
    2D conv3_x … conv5_x, torchvision's mc3_18). rMCx is the reverse: 2D up to conv(x-1), 3D from conv_x.
    """
    if not 2 <= level <= 5:
        raise ValueError(f"level must be in 2..5, the conv group where the switch happens (got {level})")
    # conv_k for k = 2..5 is stage k - 2; its kind depends on k < level.
    early, late = ("2d", "3d") if reverse else ("3d", "2d")
    stages = tuple(early if k < level else late for k in range(2, 6))
    return early, stages  # type: ignore[return-value]


class VideoBasicBlock(nn.Module):
    """Residual block of two 3×3×3-class convs (Table 1) whose conv kind is 3D, 2D or (2+1)D.

    ``out = act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x))``, the shortcut a 1×1×1 conv + BN where the
    shape changes (stride (s, s, s), or (1, s, s) for 2D convs, which keep T).

    Args:
        in_chs: input channels.
        planes: output channels.
        conv_type: ``"3d"``, ``"2d"`` or ``"2+1d"``.
        stride: spatial (and, for 3D/(2+1)D, temporal) stride of the first conv.
        midplanes: ``"paper"`` (M_i per conv: (in_chs, planes) then (planes, planes)) or ``"torchvision"``
            (M_i of (in_chs, planes) for both convs). Only used by ``"2+1d"``.
        norm_layer: normalisation constructor taking the channel count.
        act_layer: activation constructor.

    Shapes:
        x: (B, in_chs, T, H, W) → (B, planes, T / s_t, H / s, W / s).
    """

    def __init__(
        self,
        in_chs: int,
        planes: int,
        *,
        conv_type: ConvType = "3d",
        stride: int = 1,
        midplanes: MidPlanes = "paper",
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if conv_type not in _CONV_TYPES:
            raise ValueError(f"conv_type must be one of {_CONV_TYPES} (got {conv_type!r})")
        if midplanes not in _MIDPLANES:
            raise ValueError(f"midplanes must be one of {_MIDPLANES} (got {midplanes!r})")
        if stride < 1:
            raise ValueError(f"stride must be >= 1 (got {stride})")
        mid1 = midplanes_2plus1d(in_chs, planes)
        mid2 = mid1 if midplanes == "torchvision" else midplanes_2plus1d(planes, planes)
        kw = dict(norm_layer=norm_layer, act_layer=act_layer)
        self.conv1 = nn.Sequential(
            make_conv(conv_type, in_chs, planes, stride=stride, mid_chs=mid1, **kw), norm_layer(planes), act_layer()
        )
        self.conv2 = nn.Sequential(make_conv(conv_type, planes, planes, mid_chs=mid2, **kw), norm_layer(planes))
        self.relu = act_layer()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_chs != planes:
            ds_stride = (1, stride, stride) if conv_type == "2d" else (stride, stride, stride)
            self.downsample = nn.Sequential(
                nn.Conv3d(in_chs, planes, 1, stride=ds_stride, bias=False), norm_layer(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + shortcut)


def make_stem(
    stem: ConvType,
    in_chans: int,
    out_chs: int = 64,
    *,
    mid_chs: int = 45,
    norm_layer: NormLayer = nn.BatchNorm3d,
    act_layer: ActLayer = nn.ReLU,
) -> nn.Sequential:
    """conv1 of Table 1: 3×7×7 / (1, 2, 2) (``"3d"``), 1×7×7 (``"2d"``, rMCx), or (2+1)D with ``mid_chs``."""
    if stem == "3d":
        conv: list[nn.Module] = [nn.Conv3d(in_chans, out_chs, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False)]
    elif stem == "2d":
        conv = [nn.Conv3d(in_chans, out_chs, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False)]
    elif stem == "2+1d":
        # Flattened into the stem so that the keys are stem.0 (spatial), stem.1, stem.3 (temporal), stem.4.
        conv = list(
            Conv2Plus1D(
                in_chans,
                out_chs,
                mid_chs=mid_chs,
                kernel_size=(3, 7, 7),
                stride=(1, 2, 2),
                norm_layer=norm_layer,
                act_layer=act_layer,
            )
        )
    else:
        raise ValueError(f"stem must be one of {_CONV_TYPES} (got {stem!r})")
    return nn.Sequential(*conv, norm_layer(out_chs), act_layer())


class VideoResNet(VideoClassifier):
    """Video ResNet of Tran et al. 2018 (Table 1): R3D, MCx, rMCx, R2D-per-frame and R(2+1)D.

    Data flow (16×112×112 clip)::

        stem (conv1)  3×7×7 / (1,2,2)  or  (2+1)D 1×7×7 → 45 → 3×1×1      (B,  64, 16, 56, 56)
        layer1 … layer4 (conv2_x … conv5_x), stride 1, 2, 2, 2               (B, 512,  2,  7,  7)
        global avg pool → dropout → fc                                        (B, num_classes)

    Args:
        layers: blocks per stage, (2, 2, 2, 2) for depth 18 and (3, 4, 6, 3) for depth 34.
        conv_types: conv kind of each stage, ``"3d"``, ``"2d"`` or ``"2+1d"``.
        stem: conv kind of conv1.
        midplanes: how (2+1)D blocks choose M_i: ``"paper"`` (per conv, §3.5) or ``"torchvision"`` (per block).
        stem_mid_chs: M of the (2+1)D stem (45 in VMZ and torchvision).
        widths: channels of the four stages.
        num_classes: classifier outputs (400 for Kinetics; 0: pooled features only).
        in_chans: input channels (3 RGB).
        drop_rate: dropout before the classifier (none in the paper or the references).
        zero_init_residual: start the last BN of every block at γ = 0.
        norm_layer: normalisation constructor taking the channel count.
        act_layer: activation constructor.

    Shapes:
        x: (B, in_chans, T, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        layers: Sequence[int] = (2, 2, 2, 2),
        *,
        conv_types: Sequence[ConvType] = ("3d", "3d", "3d", "3d"),
        stem: ConvType = "3d",
        midplanes: MidPlanes = "paper",
        stem_mid_chs: int = 45,
        widths: Sequence[int] = (64, 128, 256, 512),
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.0,
        zero_init_residual: bool = False,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if len(layers) == 0 or len(layers) != len(widths) or min(layers) < 1 or min(widths) < 1:
            raise ValueError(f"layers and widths must be equally long lists of positive ints (got {layers}, {widths})")
        if len(conv_types) != len(layers) or any(c not in _CONV_TYPES for c in conv_types):
            raise ValueError(f"conv_types must give one of {_CONV_TYPES} per stage (got {conv_types})")
        if stem not in _CONV_TYPES:
            raise ValueError(f"stem must be one of {_CONV_TYPES} (got {stem!r})")
        if midplanes not in _MIDPLANES:
            raise ValueError(f"midplanes must be one of {_MIDPLANES} (got {midplanes!r})")
        if in_chans < 1 or stem_mid_chs < 1:
            raise ValueError(f"in_chans and stem_mid_chs must be >= 1 (got {in_chans}, {stem_mid_chs})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.in_chans, self.num_classes, self.drop_rate = in_chans, num_classes, drop_rate
        self.stem_type, self.conv_types, self.midplanes = stem, tuple(conv_types), midplanes

        self.stem = make_stem(
            stem, in_chans, widths[0], mid_chs=stem_mid_chs, norm_layer=norm_layer, act_layer=act_layer
        )
        # conv2_x keeps the stem's resolution (no max pool in Table 1); each later stage halves T, H, W
        # (H, W only for 2D stages) in its first block.
        in_chs = widths[0]
        self.stage_names: list[str] = []
        for i, (n, planes, kind) in enumerate(zip(layers, widths, conv_types)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(
                    VideoBasicBlock(
                        in_chs,
                        planes,
                        conv_type=kind,
                        stride=stride,
                        midplanes=midplanes,
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
                in_chs = planes
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)

        self.num_features = in_chs
        self.fc = linear_head(self.num_features, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm3d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, VideoBasicBlock) and getattr(m.conv2[1], "weight", None) is not None:
                    nn.init.zeros_(m.conv2[1].weight)

    def stages(self) -> list[nn.Sequential]:
        """The residual stages conv2_x … conv5_x."""
        return [getattr(self, n) for n in self.stage_names]

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → last feature map (B, num_features, T / 8, H / 16, W / 16) (T kept by 2D stages)."""
        self.check_input(x)
        x = self.stem(x)
        for stage in self.stages():
            x = stage(x)
        return x

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, num_features, t, h, w) → logits (B, num_classes), or pooled features with ``pre_logits``."""
        x = torch.flatten(nn.functional.adaptive_avg_pool3d(x, 1), 1)  # (B, num_features)
        x = nn.functional.dropout(x, self.drop_rate, self.training)
        return x if pre_logits else self.fc(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> VideoResNet:
    return VideoResNet(**{**defaults, **overrides})


_R3D = dict(stem="3d", conv_types=("3d",) * 4)
_MC3 = dict(stem=mixed_conv_types(3)[0], conv_types=mixed_conv_types(3)[1])
_R2PLUS1D = dict(stem="2+1d", conv_types=("2+1d",) * 4)
_TINY = dict(layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem_mid_chs=6)


@register_model(
    paper=TRAN_2018,
    reference="torchvision.models.video.r3d_18",
    reference_params=33_371_472,
    input_size=(3, 16, 112, 112),
)
def r3d_18(**kwargs: Any) -> VideoResNet:
    """R3D-18: 3D convs throughout (Table 1, 18 layers)."""
    return _build(dict(layers=(2, 2, 2, 2), **_R3D), kwargs)


@register_model(
    paper=TRAN_2018,
    reference="VMZ caffe2 r3d_model.create_r3d(model_depth=34) (torchvision VideoResNet layout, 3-4-6-3 blocks)",
    reference_params=63_681_104,
    input_size=(3, 16, 112, 112),
)
def r3d_34(**kwargs: Any) -> VideoResNet:
    """R3D-34: 3D convs throughout, (3, 4, 6, 3) blocks (Table 1, 34 layers)."""
    return _build(dict(layers=(3, 4, 6, 3), **_R3D), kwargs)


@register_model(
    paper=TRAN_2018,
    reference="torchvision.models.video.mc3_18",
    reference_params=11_695_440,
    input_size=(3, 16, 112, 112),
)
def mc3_18(**kwargs: Any) -> VideoResNet:
    """MC3-18: 3D convs in conv1 and conv2_x, 2D convs in conv3_x … conv5_x (§3.3)."""
    return _build(dict(layers=(2, 2, 2, 2), **_MC3), kwargs)


@register_model(
    paper=TRAN_2018,
    reference="torchvision.models.video.r2plus1d_18",
    reference_params=31_505_325,
    input_size=(3, 16, 112, 112),
)
def r2plus1d_18(**kwargs: Any) -> VideoResNet:
    """R(2+1)D-18 as torchvision builds it: M_i computed once per block (``midplanes="torchvision"``)."""
    return _build(dict(layers=(2, 2, 2, 2), midplanes="torchvision", **_R2PLUS1D), kwargs)


@register_model(
    paper=TRAN_2018,
    reference="VMZ pt/vmz/models (R2Plus1dStem + per-conv Conv2Plus1D) with 2-2-2-2 blocks; caffe2 create_r3d depth 18",
    reference_params=33_370_839,
    input_size=(3, 16, 112, 112),
)
def r2plus1d_18_paper(**kwargs: Any) -> VideoResNet:
    """R(2+1)D-18 with the paper's per-conv M_i (§3.5), as the authors' VMZ code builds it."""
    return _build(dict(layers=(2, 2, 2, 2), midplanes="paper", **_R2PLUS1D), kwargs)


@register_model(
    paper=TRAN_2018,
    reference="VMZ pt/vmz/models/r2plus1d.py r2plus1d_34 (weights: moabitcoin/ig65m-pytorch)",
    reference_params=63_697_175,
    input_size=(3, 32, 112, 112),
)
def r2plus1d_34(**kwargs: Any) -> VideoResNet:
    """R(2+1)D-34 with the paper's per-conv M_i, the authors' Kinetics / IG-65M network (32-frame clips)."""
    return _build(dict(layers=(3, 4, 6, 3), midplanes="paper", **_R2PLUS1D), kwargs)


@register_model(paper=TRAN_2018, reference="torchvision.models.video.r3d_18", input_size=(3, 4, 32, 32))
def r3d_tiny(**kwargs: Any) -> VideoResNet:
    return _build(dict(**_TINY, **_R3D), kwargs)


@register_model(paper=TRAN_2018, reference="torchvision.models.video.mc3_18", input_size=(3, 4, 32, 32))
def mc3_tiny(**kwargs: Any) -> VideoResNet:
    return _build(dict(**_TINY, **_MC3), kwargs)


@register_model(paper=TRAN_2018, reference="VMZ pt/vmz/models r2plus1d (per-conv M_i)", input_size=(3, 4, 32, 32))
def r2plus1d_tiny(**kwargs: Any) -> VideoResNet:
    return _build(dict(**_TINY, midplanes="paper", **_R2PLUS1D), kwargs)
