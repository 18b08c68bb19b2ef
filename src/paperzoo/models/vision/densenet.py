"""DenseNet: densely connected convolutional networks.

Paper: Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks", CVPR 2017,
arXiv:1608.06993. Reference implementation: ``torchvision.models.densenet`` (DenseNet-121/161/169/201),
whose parameter counts the registered variants match exactly; state-dict keys follow torchvision
(``features.conv0``, ``features.denseblock1.denselayer1.conv1``, ``features.transition1.conv``,
``features.norm5``, ``classifier``), so its checkpoints load as they are.

What is implemented: the ImageNet DenseNet-BC of Table 1: a 7×7/2 conv + 3×3/2 max-pool stem, four dense
blocks in which layer ℓ receives the concatenation of all earlier feature maps, ``x_ℓ = H_ℓ([x_0, …,
x_{ℓ-1}])`` (eq. 2), with ``H_ℓ`` the bottleneck BN-ReLU-Conv(1×1, 4k)-BN-ReLU-Conv(3×3, k) (§3
"Bottleneck layers"), transition layers BN-ReLU-Conv(1×1, ⌊θm⌋)-AvgPool(2×2) with compression θ = 0.5,
a final BN-ReLU, global average pooling and a linear classifier. ``memory_efficient`` recomputes the
concatenation + 1×1 bottleneck in the backward pass (Pleiss et al. 2017, arXiv:1707.06990) instead of
storing it.

The blocks take ``conv_layer`` / ``norm_layer`` / ``pool_layer`` arguments and concatenate on the
channel dimension only, so the same :class:`DenseLayer`, :class:`DenseBlock` and :class:`Transition`
build the 3D DenseNet of T3D with ``nn.Conv3d`` / ``nn.BatchNorm3d`` / ``nn.AvgPool3d``.

Deviations and notes:
    * ``drop_rate`` is dropout before the classifier (paperzoo's convention; the paper uses none).
      The paper's dropout "after each convolutional layer (except the first one)" (§4.2, CIFAR without
      augmentation) is ``conv_drop_rate``: applied after both convs of every dense layer and after the
      transition conv; torchvision's ``drop_rate`` applies it after the 3×3 conv only.
    * The CIFAR/SVHN DenseNets of §4 (three blocks, 3×3 stem) are not registered.
    * Initialisation as torchvision: He normal (fan-in) convolutions, BN γ = 1, β = 0, classifier bias 0.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head

__all__ = ["DenseNet", "DenseLayer", "DenseBlock", "Transition", "init_dense_weights"]

HUANG_2017 = Paper(
    title="Densely Connected Convolutional Networks",
    authors="Gao Huang, Zhuang Liu, Laurens van der Maaten, Kilian Q. Weinberger",
    year=2017,
    arxiv="1608.06993",
)


class DenseLayer(nn.Module):
    """The composite function H_ℓ of DenseNet-B (§3): BN-ReLU-Conv(1×1, bn_size·k)-BN-ReLU-Conv(3×3, k).

    Args:
        in_chs: channels of the concatenated input, k_0 + k(ℓ - 1).
        growth_rate: k, the channels this layer adds.
        bn_size: bottleneck factor (the 1×1 conv outputs ``bn_size * k`` maps; 4 in the paper).
        conv_drop_rate: dropout after each conv (§4.2; 0 for ImageNet).
        memory_efficient: recompute concat + BN + ReLU + 1×1 conv in backward instead of storing them.
        conv_layer, norm_layer, act_layer: ``nn.Conv2d`` / ``nn.BatchNorm2d`` / ``nn.ReLU`` (3D: Conv3d, …).

    Shapes:
        features: list of (B, c_i, *spatial) with Σ c_i = in_chs → (B, growth_rate, *spatial).
    """

    def __init__(
        self,
        in_chs: int,
        growth_rate: int,
        *,
        bn_size: int = 4,
        conv_drop_rate: float = 0.0,
        memory_efficient: bool = False,
        conv_layer: Callable[..., nn.Module] = nn.Conv2d,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        inner = bn_size * growth_rate
        self.norm1 = norm_layer(in_chs)
        self.relu1 = act_layer()
        self.conv1 = conv_layer(in_chs, inner, kernel_size=1, stride=1, bias=False)
        self.norm2 = norm_layer(inner)
        self.relu2 = act_layer()
        self.conv2 = conv_layer(inner, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.conv_drop_rate = conv_drop_rate
        self.memory_efficient = memory_efficient

    def bottleneck(self, *features: Tensor) -> Tensor:
        """[x_0, …, x_{ℓ-1}] → 1×1-conv output (B, bn_size·k, *spatial) (eq. 2's concatenation + first half of H_ℓ)."""
        x = self.conv1(self.relu1(self.norm1(torch.cat(features, dim=1))))
        return nn.functional.dropout(x, self.conv_drop_rate, self.training)

    def forward(self, features: list[Tensor]) -> Tensor:
        if self.memory_efficient and self.training and any(f.requires_grad for f in features):
            x = checkpoint(self.bottleneck, *features, use_reentrant=False)
        else:
            x = self.bottleneck(*features)
        x = self.conv2(self.relu2(self.norm2(x)))
        return nn.functional.dropout(x, self.conv_drop_rate, self.training)


class DenseBlock(nn.Module):
    """A dense block (Fig. 1): ``num_layers`` :class:`DenseLayer` s, each fed all earlier feature maps.

    Output channels are ``in_chs + num_layers * growth_rate``. Layers are registered as ``denselayer1``,
    ``denselayer2``, … (torchvision's names). Keyword arguments go to every :class:`DenseLayer`.

    Shapes:
        x: (B, in_chs, *spatial) → (B, in_chs + num_layers · k, *spatial).
    """

    def __init__(self, num_layers: int, in_chs: int, growth_rate: int, **layer_kwargs: Any) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1 (got {num_layers})")
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(in_chs + i * growth_rate, growth_rate, **layer_kwargs))
        self.out_chs = in_chs + num_layers * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        # Keep the maps as a list and concatenate once per layer (eq. 2); one loop over layers, not pixels.
        features = [x]
        for layer in self.children():
            features.append(layer(features))
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """Transition layer between dense blocks (§3 "Pooling layers"): BN-ReLU-Conv(1×1)-AvgPool(2×2, stride 2).

    With compression θ the conv maps m channels to ⌊θm⌋ (DenseNet-C, §3 "Compression").

    Shapes:
        x: (B, in_chs, *spatial) → (B, out_chs, *spatial / 2).
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        conv_drop_rate: float = 0.0,
        conv_layer: Callable[..., nn.Module] = nn.Conv2d,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
        pool_layer: Callable[..., nn.Module] = nn.AvgPool2d,
    ) -> None:
        layers: list[tuple[str, nn.Module]] = [
            ("norm", norm_layer(in_chs)),
            ("relu", act_layer()),
            ("conv", conv_layer(in_chs, out_chs, kernel_size=1, stride=1, bias=False)),
        ]
        if conv_drop_rate > 0:
            layers.append(("drop", nn.Dropout(conv_drop_rate)))
        layers.append(("pool", pool_layer(kernel_size=2, stride=2)))
        super().__init__(OrderedDict(layers))


def init_dense_weights(model: nn.Module) -> None:
    """DenseNet's initialisation (torchvision and the authors' code): He-normal convolutions, unit norms, zero
    linear biases; 2D and 3D alike, so the 3D T3D shares it."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


class DenseNet(ImageClassifier):
    """DenseNet-BC for ImageNet (Huang et al. 2017, Table 1).

    Data flow (224×224 input, DenseNet-121)::

        conv0 7×7/2 (2k) → norm0 → relu0 → pool0 3×3/2     (B, 64, 56, 56)
        denseblock1 (+6k) → transition1 (×θ, /2)           (B, 128, 28, 28)
        denseblock2 (+12k) → transition2                    (B, 256, 14, 14)
        denseblock3 (+24k) → transition3                    (B, 512, 7, 7)
        denseblock4 (+16k) → norm5 → relu                   (B, 1024, 7, 7)
        global avg pool → dropout → classifier              (B, num_classes)

    Args:
        growth_rate: k (32 for DenseNet-121/169/201, 48 for DenseNet-161).
        block_config: layers per dense block.
        num_init_features: stem output channels (2k in the paper).
        bn_size: bottleneck factor of the 1×1 convs (4).
        compression: θ ∈ (0, 1]; each transition keeps ⌊θm⌋ of m channels (0.5).
        num_classes: classifier outputs (0: no classifier).
        in_chans: input channels.
        drop_rate: dropout before the classifier.
        conv_drop_rate: dropout after each conv but the stem (§4.2; 0 for ImageNet).
        memory_efficient: checkpoint the concatenation + bottleneck of every dense layer.
        norm_layer, act_layer: normalisation (takes channels) and activation constructors.

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    classifier_attr = "classifier"

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        *,
        num_init_features: int = 64,
        bn_size: int = 4,
        compression: float = 0.5,
        num_classes: int = 1000,
        in_chans: int = 3,
        drop_rate: float = 0.0,
        conv_drop_rate: float = 0.0,
        memory_efficient: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if growth_rate < 1 or bn_size < 1 or num_init_features < 1 or in_chans < 1:
            raise ValueError(
                f"growth_rate, bn_size, num_init_features, in_chans must be >= 1 "
                f"(got {growth_rate}, {bn_size}, {num_init_features}, {in_chans})"
            )
        if len(block_config) == 0 or min(block_config) < 1:
            raise ValueError(f"block_config must be a non-empty list of positive ints (got {block_config})")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1] (got {compression})")
        for name, rate in (("drop_rate", drop_rate), ("conv_drop_rate", conv_drop_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {rate})")
        self.in_chans, self.num_classes, self.drop_rate = in_chans, num_classes, drop_rate
        self.growth_rate, self.block_config, self.compression = growth_rate, tuple(block_config), compression

        features: list[tuple[str, nn.Module]] = [
            ("conv0", nn.Conv2d(in_chans, num_init_features, 7, stride=2, padding=3, bias=False)),
            ("norm0", norm_layer(num_init_features)),
            ("relu0", act_layer()),
            ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
        ]
        chs = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(
                num_layers,
                chs,
                growth_rate,
                bn_size=bn_size,
                conv_drop_rate=conv_drop_rate,
                memory_efficient=memory_efficient,
                norm_layer=norm_layer,
                act_layer=act_layer,
            )
            features.append((f"denseblock{i + 1}", block))
            chs = block.out_chs
            if i != len(block_config) - 1:
                out_chs = int(math.floor(compression * chs))
                trans = Transition(
                    chs, out_chs, conv_drop_rate=conv_drop_rate, norm_layer=norm_layer, act_layer=act_layer
                )
                features.append((f"transition{i + 1}", trans))
                chs = out_chs
        # Table 1 ends with global average pooling; torchvision (and the authors' Torch code) put a
        # BN-ReLU before it, since every dense layer hands on un-normalised conv outputs.
        features.append(("norm5", norm_layer(chs)))
        self.features = nn.Sequential(OrderedDict(features))
        self.act = act_layer()

        self.num_features = chs
        self.classifier = linear_head(chs, num_classes)
        init_dense_weights(self)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → (B, num_features, H / 32, W / 32) after the final BN-ReLU."""
        self.check_input(x)
        return self.act(self.features(x))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, num_features, h, w) → logits (B, num_classes), or pooled features with ``pre_logits``."""
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)  # (B, num_features)
        x = nn.functional.dropout(x, self.drop_rate, self.training)
        return x if pre_logits else self.classifier(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> DenseNet:
    return DenseNet(**{**defaults, **overrides})


@register_model(
    paper=HUANG_2017, reference="torchvision.models.densenet121", reference_params=7_978_856, input_size=(3, 224, 224)
)
def densenet121(**kwargs: Any) -> DenseNet:
    return _build(dict(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64), kwargs)


@register_model(
    paper=HUANG_2017, reference="torchvision.models.densenet169", reference_params=14_149_480, input_size=(3, 224, 224)
)
def densenet169(**kwargs: Any) -> DenseNet:
    return _build(dict(growth_rate=32, block_config=(6, 12, 32, 32), num_init_features=64), kwargs)


@register_model(
    paper=HUANG_2017, reference="torchvision.models.densenet201", reference_params=20_013_928, input_size=(3, 224, 224)
)
def densenet201(**kwargs: Any) -> DenseNet:
    return _build(dict(growth_rate=32, block_config=(6, 12, 48, 32), num_init_features=64), kwargs)


@register_model(
    paper=HUANG_2017, reference="torchvision.models.densenet161", reference_params=28_681_000, input_size=(3, 224, 224)
)
def densenet161(**kwargs: Any) -> DenseNet:
    return _build(dict(growth_rate=48, block_config=(6, 12, 36, 24), num_init_features=96), kwargs)


@register_model(paper=HUANG_2017, reference="torchvision.models.densenet121 reduced", input_size=(3, 32, 32))
def densenet_tiny(**kwargs: Any) -> DenseNet:
    """k = 8, two layers per block, 16-channel stem (final map 1×1 at 32×32)."""
    return _build(dict(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, num_classes=10), kwargs)
