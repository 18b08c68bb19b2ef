"""ResNet and ResNeXt: residual learning for image recognition.

Papers:
    He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385.
    Xie, Girshick, Dollár, Tu & He, "Aggregated Residual Transformations for Deep Neural Networks",
    CVPR 2017, arXiv:1611.05431 (ResNeXt: the bottleneck's 3×3 conv split into ``groups`` paths).

Reference implementations: ``torchvision.models.resnet`` for the ImageNet networks (ResNet-18 … 152,
ResNeXt), whose parameter counts the registered variants match exactly, and
``akamaster/pytorch_resnet_cifar10`` for the CIFAR-10 networks of §4.2 (ResNet-20 … 1202 with option-A
shortcuts). State-dict keys follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ``fc``), so torchvision checkpoints load as they are.

What is implemented:
    * ``y = F(x, {W_i}) + x`` (eq. 1) with the basic two-3×3 block (Fig. 5 left) and the 1×1-3×3-1×1
      bottleneck (Fig. 5 right); the shortcut options of §3.3: A (identity, extra channels zero-padded,
      parameter-free), B (1×1 projection only where the shape changes, eq. 2; the ImageNet default) and
      C (projection on every block), and ``"none"`` for the *plain* twins of the degradation experiment
      (Fig. 4 and Fig. 6).
    * Stride placement: the paper's original (Caffe) model puts the stride-2 of conv3_1, conv4_1, conv5_1
      in the first 1×1 conv of the bottleneck (``stride_in_1x1=True``, the ``*_v1`` variants);
      torchvision's "v1.5", the default here, puts it in the 3×3 conv (same parameters, better accuracy).
    * ImageNet stem (7×7/2 conv + 3×3/2 max pool, Table 1) and CIFAR stem (one 3×3 conv, §4.2: 16, 32, 64
      filters, depth 6n + 2).
    * ``zero_init_residual`` (the last BN of each block starts at γ = 0, so every block starts as its
      shortcut; Goyal et al. 2017), stochastic depth on the residual branches (``drop_path_rate``).

Deviations and notes:
    * Option A zero-pads the new channels half before and half after the identity channels, as
      akamaster's reference does (the paper only says "extra zero entries padded"); this is a channel
      permutation of the residual branch and changes nothing but weight compatibility.
    * Initialisation is He et al. 2015's normal init [13] in torchvision's form (fan-out, gain √2) for
      every convolution, BN γ = 1, β = 0, and PyTorch's default for the classifier; akamaster uses fan-in
      for the convolutions and the classifier (identical for the equal-width 3×3 convs).
    * The plain ImageNet nets ``plain18`` / ``plain34`` and the CIFAR plain nets have no reference
      implementation (``reference_params=None``); their counts equal ResNet-18/34 minus the projections
      and ResNet-20 … 56 respectively.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ...nn.drop import DropPath, drop_path_rates
from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "PadShortcut", "make_shortcut"]

HE_2015 = Paper(
    title="Deep Residual Learning for Image Recognition",
    authors="Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun",
    year=2015,
    arxiv="1512.03385",
)
XIE_2016 = Paper(
    title="Aggregated Residual Transformations for Deep Neural Networks",
    authors="Saining Xie, Ross Girshick, Piotr Dollár, Zhuowen Tu, Kaiming He",
    year=2016,
    arxiv="1611.05431",
)

Shortcut = Literal["A", "B", "C", "none"]
_SHORTCUTS = ("A", "B", "C", "none")


class PadShortcut(nn.Module):
    """Option A of §3.3: identity with stride-``s`` subsampling and zero-padded extra channels (no parameters).

    The ``out_chs - in_chs`` zero channels go half in front of and half behind the identity channels
    (akamaster's layout).

    Shapes:
        x: (B, in_chs, H, W) → (B, out_chs, ⌈H / stride⌉, ⌈W / stride⌉).
    """

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1) -> None:
        super().__init__()
        if out_chs < in_chs:
            raise ValueError(f"option A can only add channels: out_chs must be >= in_chs (got {out_chs} < {in_chs})")
        if stride < 1:
            raise ValueError(f"stride must be >= 1 (got {stride})")
        self.in_chs, self.out_chs, self.stride = in_chs, out_chs, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_chs - self.in_chs
        # F.pad pads the last dims first: (W left, W right, H top, H bottom, C front, C back).
        return nn.functional.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))

    def extra_repr(self) -> str:
        return f"{self.in_chs}, {self.out_chs}, stride={self.stride}"


def make_shortcut(
    kind: Shortcut, in_chs: int, out_chs: int, stride: int, norm_layer: Callable[[int], nn.Module]
) -> nn.Module | None:
    """The shortcut of one residual block (§3.3), or None for a plain block.

    A: identity, or :class:`PadShortcut` where the shape changes. B: identity, or a 1×1 projection + BN
    where the shape changes (eq. 2). C: a 1×1 projection + BN on every block. ``"none"``: no shortcut.
    """
    if kind == "none":
        return None
    same_shape = stride == 1 and in_chs == out_chs
    if kind == "C" or (kind == "B" and not same_shape):
        return nn.Sequential(nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=False), norm_layer(out_chs))
    if same_shape:
        return nn.Identity()
    return PadShortcut(in_chs, out_chs, stride)


class _ResidualBlock(nn.Module):
    """Shared tail of both blocks: ``act(drop_path(F(x)) + shortcut(x))`` (eq. 1), or ``act(F(x))`` if plain."""

    expansion = 1
    downsample: nn.Module | None

    def residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def last_norm(self) -> nn.Module:
        """The BN closing the residual branch (zeroed by ``zero_init_residual``)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        out = self.drop_path(self.residual(x))
        if self.downsample is not None:
            out = out + self.downsample(x)
        return self.act(out)


class BasicBlock(_ResidualBlock):
    """Two 3×3 convs (He et al. 2015, Fig. 5 left; ResNet-18/34 and the CIFAR nets).

    Args:
        in_chs: input channels.
        planes: output channels (``expansion = 1``).
        stride: stride of the first 3×3 conv (2 at the first block of conv3_x … conv5_x).
        shortcut: option ``"A"``, ``"B"``, ``"C"`` of §3.3 or ``"none"`` (plain net).
        groups, width_per_group: must stay 1 and 64 (ResNeXt needs the bottleneck).
        stride_in_1x1: ignored here (a basic block has no 1×1 conv; the stride is in the first 3×3).
        drop_path: stochastic-depth rate of the residual branch.

    Shapes:
        x: (B, in_chs, H, W) → (B, planes, H / stride, W / stride).
    """

    expansion = 1

    def __init__(
        self,
        in_chs: int,
        planes: int,
        *,
        stride: int = 1,
        shortcut: Shortcut = "B",
        groups: int = 1,
        width_per_group: int = 64,
        stride_in_1x1: bool = False,
        drop_path: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if groups != 1 or width_per_group != 64:
            raise ValueError(f"BasicBlock supports only groups=1, width_per_group=64 (got {groups}, {width_per_group})")
        self.conv1 = nn.Conv2d(in_chs, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = norm_layer(planes)
        self.act = act_layer()
        self.downsample = make_shortcut(shortcut, in_chs, planes, stride, norm_layer)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def residual(self, x: Tensor) -> Tensor:
        return self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))

    def last_norm(self) -> nn.Module:
        return self.bn2


class Bottleneck(_ResidualBlock):
    """1×1 reduce → 3×3 → 1×1 expand (He et al. 2015, Fig. 5 right), grouped 3×3 for ResNeXt (Xie et al. 2016).

    The inner width is ``int(planes * width_per_group / 64) * groups`` (ResNeXt's "C × d": 32×4d at
    conv2_x gives a 128-wide 3×3 conv in 32 groups), the output ``planes * 4``.

    Args:
        in_chs: input channels.
        planes: the paper's bottleneck width at groups=1 (64, 128, 256, 512); output is ``4 * planes``.
        stride: 2 at the first block of conv3_x … conv5_x.
        shortcut: option ``"A"``, ``"B"``, ``"C"`` of §3.3 or ``"none"`` (plain net).
        groups: ResNeXt cardinality C.
        width_per_group: ResNeXt bottleneck width d per group at conv2_x (64 for ResNet).
        stride_in_1x1: put the stride in the first 1×1 conv (the paper's Caffe model) instead of the
            3×3 conv (torchvision's "v1.5").
        drop_path: stochastic-depth rate of the residual branch.

    Shapes:
        x: (B, in_chs, H, W) → (B, 4 * planes, H / stride, W / stride).
    """

    expansion = 4

    def __init__(
        self,
        in_chs: int,
        planes: int,
        *,
        stride: int = 1,
        shortcut: Shortcut = "B",
        groups: int = 1,
        width_per_group: int = 64,
        stride_in_1x1: bool = False,
        drop_path: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        if width <= 0:
            raise ValueError(f"bottleneck width must be > 0 (got {width} from planes={planes}, groups={groups})")
        out_chs = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(in_chs, width, 1, stride=s1, bias=False)
        self.bn1 = norm_layer(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=s3, padding=1, groups=groups, bias=False)
        self.bn2 = norm_layer(width)
        self.conv3 = nn.Conv2d(width, out_chs, 1, bias=False)
        self.bn3 = norm_layer(out_chs)
        self.act = act_layer()
        self.downsample = make_shortcut(shortcut, in_chs, out_chs, stride, norm_layer)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def residual(self, x: Tensor) -> Tensor:
        x = self.act(self.bn1(self.conv1(x)))
        x = self.act(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))

    def last_norm(self) -> nn.Module:
        return self.bn3


_BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(ImageClassifier):
    """Deep residual network (He et al. 2015), ImageNet (Table 1) or CIFAR (§4.2) layout; ResNeXt via ``groups``.

    Data flow (ImageNet stem, 224×224 input)::

        conv1 7×7/2 → bn → act → maxpool 3×3/2      (B, 64, 56, 56)
        layer1 … layer4  (stride 1, 2, 2, 2)        (B, widths[-1] * expansion, 7, 7)
        global avg pool → dropout → fc              (B, num_classes)

    The CIFAR stem is one 3×3/1 conv with no pooling; with ``widths=(16, 32, 64)`` and ``layers=(n, n, n)``
    the net has 6n + 2 weighted layers.

    Args:
        block: ``"basic"`` (two 3×3) or ``"bottleneck"`` (1×1-3×3-1×1).
        layers: number of blocks per stage.
        widths: ``planes`` of each stage (output channels are ``planes * expansion``).
        stem: ``"imagenet"`` (7×7/2 conv + 3×3/2 max pool) or ``"cifar"`` (3×3/1 conv).
        stem_width: output channels of the stem conv (64 ImageNet, 16 CIFAR).
        shortcut: §3.3 option ``"A"``, ``"B"`` (paper's ImageNet choice), ``"C"``, or ``"none"`` (plain net).
        groups, width_per_group: ResNeXt cardinality and per-group width (1, 64 for ResNet).
        stride_in_1x1: bottleneck stride in the first 1×1 conv (paper) instead of the 3×3 (v1.5).
        zero_init_residual: start the last BN of every residual branch at γ = 0.
        num_classes: classifier outputs (0: no classifier, ``forward`` returns pooled features).
        in_chans: input channels.
        drop_rate: dropout before the classifier (the paper uses none).
        drop_path_rate: stochastic-depth rate of the last block, linearly increasing from 0 over blocks.
        norm_layer: normalisation constructor taking the channel count.
        act_layer: activation constructor.

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        block: Literal["basic", "bottleneck"] = "bottleneck",
        layers: Sequence[int] = (3, 4, 6, 3),
        *,
        widths: Sequence[int] = (64, 128, 256, 512),
        stem: Literal["imagenet", "cifar"] = "imagenet",
        stem_width: int = 64,
        shortcut: Shortcut = "B",
        groups: int = 1,
        width_per_group: int = 64,
        stride_in_1x1: bool = False,
        zero_init_residual: bool = False,
        num_classes: int = 1000,
        in_chans: int = 3,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {sorted(_BLOCKS)} (got {block!r})")
        if len(layers) == 0 or len(layers) != len(widths) or min(layers) < 1 or min(widths) < 1:
            raise ValueError(f"layers and widths must be equally long lists of positive ints (got {layers}, {widths})")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar' (got {stem!r})")
        if shortcut not in _SHORTCUTS:
            raise ValueError(f"shortcut must be one of {_SHORTCUTS} (got {shortcut!r})")
        if stem_width < 1 or in_chans < 1 or groups < 1 or width_per_group < 1:
            raise ValueError(
                f"stem_width, in_chans, groups, width_per_group must be >= 1 "
                f"(got {stem_width}, {in_chans}, {groups}, {width_per_group})"
            )
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if shortcut == "none" and (drop_path_rate > 0 or zero_init_residual):
            # A plain block is its residual branch: dropping or zeroing it would cut the network.
            raise ValueError(
                f"a plain net (shortcut='none') takes neither drop_path_rate nor zero_init_residual "
                f"(got {drop_path_rate}, {zero_init_residual})"
            )
        block_cls = _BLOCKS[block]
        self.in_chans, self.num_classes, self.drop_rate = in_chans, num_classes, drop_rate

        # Stem (Table 1 "conv1" + the max pool of conv2_x; §4.2: a single 3×3 conv for CIFAR).
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_chans, stem_width, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_chans, stem_width, 3, stride=1, padding=1, bias=False)
        self.bn1 = norm_layer(stem_width)
        self.act = act_layer()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()

        # Stages conv2_x … conv5_x: the first keeps the resolution (the max pool already halved it),
        # each later one halves it in its first block and doubles the width (§3.3).
        dpr = drop_path_rates(drop_path_rate, sum(layers))
        in_chs, idx = stem_width, 0
        self.stage_names: list[str] = []
        for i, (n, planes) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(n):
                blocks.append(
                    block_cls(
                        in_chs,
                        planes,
                        stride=2 if (i > 0 and j == 0) else 1,
                        shortcut=shortcut,
                        groups=groups,
                        width_per_group=width_per_group,
                        stride_in_1x1=stride_in_1x1,
                        drop_path=dpr[idx],
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
                in_chs, idx = planes * block_cls.expansion, idx + 1
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)

        self.num_features = in_chs
        self.fc = linear_head(self.num_features, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He et al. 2015 [13], std = sqrt(2 / (k² · c_out)) (their eq. 14, backward form).
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, _ResidualBlock) and getattr(m.last_norm(), "weight", None) is not None:
                    nn.init.zeros_(m.last_norm().weight)

    def stages(self) -> list[nn.Sequential]:
        """The residual stages (conv2_x … conv5_x for ImageNet)."""
        return [getattr(self, n) for n in self.stage_names]

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → last feature map (B, num_features, H / 32, W / 32) (H / 4 for CIFAR)."""
        self.check_input(x)
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return x

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, num_features, h, w) → logits (B, num_classes), or pooled features with ``pre_logits``."""
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)  # (B, num_features)
        x = nn.functional.dropout(x, self.drop_rate, self.training)
        return x if pre_logits else self.fc(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> ResNet:
    return ResNet(**{**defaults, **overrides})


_TV = "torchvision.models.{}"
_V1 = "torchvision.models.{} with the stride in conv1 of the bottleneck (original MSRA Caffe model)"
_CIFAR = "akamaster/pytorch_resnet_cifar10 ({}, option A)"
_CIFAR_KW: dict[str, Any] = dict(block="basic", widths=(16, 32, 64), stem="cifar", stem_width=16, shortcut="A")


# ImageNet ResNets (Table 1), option B shortcuts, torchvision's stride placement ("v1.5").


@register_model(paper=HE_2015, reference=_TV.format("resnet18"), reference_params=11_689_512, input_size=(3, 224, 224))
def resnet18(**kwargs: Any) -> ResNet:
    return _build(dict(block="basic", layers=(2, 2, 2, 2)), kwargs)


@register_model(paper=HE_2015, reference=_TV.format("resnet34"), reference_params=21_797_672, input_size=(3, 224, 224))
def resnet34(**kwargs: Any) -> ResNet:
    return _build(dict(block="basic", layers=(3, 4, 6, 3)), kwargs)


@register_model(paper=HE_2015, reference=_TV.format("resnet50"), reference_params=25_557_032, input_size=(3, 224, 224))
def resnet50(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 6, 3)), kwargs)


@register_model(paper=HE_2015, reference=_TV.format("resnet101"), reference_params=44_549_160, input_size=(3, 224, 224))
def resnet101(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 23, 3)), kwargs)


@register_model(paper=HE_2015, reference=_TV.format("resnet152"), reference_params=60_192_808, input_size=(3, 224, 224))
def resnet152(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 8, 36, 3)), kwargs)


# The paper's stride placement (stride 2 in the first 1×1 conv of conv3_1, conv4_1, conv5_1).


@register_model(paper=HE_2015, reference=_V1.format("resnet50"), reference_params=25_557_032, input_size=(3, 224, 224))
def resnet50_v1(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 6, 3), stride_in_1x1=True), kwargs)


@register_model(paper=HE_2015, reference=_V1.format("resnet101"), reference_params=44_549_160, input_size=(3, 224, 224))
def resnet101_v1(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 23, 3), stride_in_1x1=True), kwargs)


@register_model(paper=HE_2015, reference=_V1.format("resnet152"), reference_params=60_192_808, input_size=(3, 224, 224))
def resnet152_v1(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 8, 36, 3), stride_in_1x1=True), kwargs)


# Plain ImageNet nets of Table 2 / Fig. 4 (no reference implementation).


@register_model(paper=HE_2015, reference="none (paper's plain-18, Table 2)", input_size=(3, 224, 224))
def plain18(**kwargs: Any) -> ResNet:
    return _build(dict(block="basic", layers=(2, 2, 2, 2), shortcut="none"), kwargs)


@register_model(paper=HE_2015, reference="none (paper's plain-34, Table 2)", input_size=(3, 224, 224))
def plain34(**kwargs: Any) -> ResNet:
    return _build(dict(block="basic", layers=(3, 4, 6, 3), shortcut="none"), kwargs)


# ResNeXt (Xie et al. 2016, Table 1): cardinality C × bottleneck width d.


@register_model(
    paper=XIE_2016, reference=_TV.format("resnext50_32x4d"), reference_params=25_028_904, input_size=(3, 224, 224)
)
def resnext50_32x4d(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 6, 3), groups=32, width_per_group=4), kwargs)


@register_model(
    paper=XIE_2016, reference=_TV.format("resnext101_32x8d"), reference_params=88_791_336, input_size=(3, 224, 224)
)
def resnext101_32x8d(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 23, 3), groups=32, width_per_group=8), kwargs)


@register_model(
    paper=XIE_2016, reference=_TV.format("resnext101_64x4d"), reference_params=83_455_272, input_size=(3, 224, 224)
)
def resnext101_64x4d(**kwargs: Any) -> ResNet:
    return _build(dict(block="bottleneck", layers=(3, 4, 23, 3), groups=64, width_per_group=4), kwargs)


# CIFAR-10 ResNets of §4.2 (depth 6n + 2, option A) and their plain twins (Fig. 6).


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet20"), reference_params=269_722, input_size=(3, 32, 32))
def resnet20(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(3, 3, 3), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet32"), reference_params=464_154, input_size=(3, 32, 32))
def resnet32(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(5, 5, 5), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet44"), reference_params=658_586, input_size=(3, 32, 32))
def resnet44(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(7, 7, 7), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet56"), reference_params=853_018, input_size=(3, 32, 32))
def resnet56(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(9, 9, 9), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet110"), reference_params=1_727_962, input_size=(3, 32, 32))
def resnet110(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(18, 18, 18), num_classes=10), kwargs)


@register_model(
    paper=HE_2015, reference=_CIFAR.format("resnet1202"), reference_params=19_421_274, input_size=(3, 32, 32)
)
def resnet1202(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(200, 200, 200), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference="none (paper's plain-20, Fig. 6)", input_size=(3, 32, 32))
def plain20(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(3, 3, 3), num_classes=10, shortcut="none"), kwargs)


@register_model(paper=HE_2015, reference="none (paper's plain-32, Fig. 6)", input_size=(3, 32, 32))
def plain32(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(5, 5, 5), num_classes=10, shortcut="none"), kwargs)


@register_model(paper=HE_2015, reference="none (paper's plain-44, Fig. 6)", input_size=(3, 32, 32))
def plain44(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(7, 7, 7), num_classes=10, shortcut="none"), kwargs)


@register_model(paper=HE_2015, reference="none (paper's plain-56, Fig. 6)", input_size=(3, 32, 32))
def plain56(**kwargs: Any) -> ResNet:
    return _build(dict(_CIFAR_KW, layers=(9, 9, 9), num_classes=10, shortcut="none"), kwargs)


# Tiny variants: the same code paths at toy size.


@register_model(paper=HE_2015, reference=_CIFAR.format("resnet20 at n=1"), input_size=(3, 32, 32))
def resnet_cifar_tiny(**kwargs: Any) -> ResNet:
    """ResNet-8: the CIFAR layout with one basic block per stage (option A)."""
    return _build(dict(_CIFAR_KW, layers=(1, 1, 1), num_classes=10), kwargs)


@register_model(paper=HE_2015, reference=_TV.format("resnet50 reduced"), input_size=(3, 64, 64))
def resnet_tiny(**kwargs: Any) -> ResNet:
    """ImageNet stem and one bottleneck per stage at 1/8 width (final map 2×2 at 64×64)."""
    return _build(
        dict(block="bottleneck", layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem_width=8, num_classes=10), kwargs
    )
