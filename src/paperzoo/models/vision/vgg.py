"""VGG: very deep stacks of 3×3 convolutions (configurations A, B, D, E = VGG-11/13/16/19).

Paper: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, arXiv 1409.1556 (2014). Reference implementation: ``torchvision.models.vgg11`` ...
``vgg19_bn``; every variant here matches it layer for layer and parameter for parameter
(vgg16: 138,357,544).

Implemented (Table 1, §2.1): five stages of 3×3 stride-1 padding-1 convolutions with ReLU, each
followed by 2×2 stride-2 max pooling; stage widths 64-128-256-512-512; configurations A (1-1-2-2-2
convs per stage), B (2-2-2-2-2), D (2-2-3-3-3), E (2-2-4-4-4); then FC-4096, FC-4096 (each followed
by ReLU and dropout 0.5, §3.1) and FC-1000. ``_bn`` variants put batch normalisation between each
convolution and its ReLU, as torchvision does (not in the paper, which predates batch norm). The
adaptive 7×7 average pool before fc6 is torchvision's; at 224 inputs the map is already 7×7 and it
is the identity. Initialisation is torchvision's (Kaiming-normal convolutions, N(0, 0.01) FC
layers, zero biases): the paper trained configuration A from N(0, 10⁻²) and initialised the deeper
ones from it, then notes that Glorot initialisation works without pre-training (§3.1).

:func:`stacked_conv_receptive_field` and :func:`conv_stack_params` give the paper's §2.3 argument
in numbers: two stacked 3×3 layers see 5×5 with 2·3²C² = 18C² weights instead of 25C², three see
7×7 with 27C² instead of 49C².

Left out: configurations A-LRN and C (1×1 convolutions; not in torchvision), the dense (fully
convolutional) evaluation and multi-scale training/testing (§3.2), which are protocol, not model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head

__all__ = ["VGG", "VGG_DEPTHS", "stacked_conv_receptive_field", "conv_stack_params"]

SIMONYAN_2014 = Paper(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Karen Simonyan, Andrew Zisserman",
    year=2014,
    arxiv="1409.1556",
)

# Table 1: number of 3×3 conv layers in each of the five stages.
VGG_DEPTHS: dict[str, tuple[int, ...]] = {
    "A": (1, 1, 2, 2, 2),  # VGG-11
    "B": (2, 2, 2, 2, 2),  # VGG-13
    "D": (2, 2, 3, 3, 3),  # VGG-16
    "E": (2, 2, 4, 4, 4),  # VGG-19
}


def stacked_conv_receptive_field(num_layers: int, kernel_size: int = 3) -> int:
    """Side of the receptive field of ``num_layers`` stacked stride-1 k×k convolutions: 1 + L(k − 1).

    §2.3: "a stack of two 3×3 conv. layers ... has an effective receptive field of 5×5; three such
    layers have a 7×7 effective receptive field."
    """
    if num_layers <= 0 or kernel_size <= 0:
        raise ValueError(f"num_layers and kernel_size must be > 0 (got {num_layers}, {kernel_size})")
    return 1 + num_layers * (kernel_size - 1)


def conv_stack_params(num_layers: int, kernel_size: int, channels: int, *, bias: bool = False) -> int:
    """Parameters of ``num_layers`` k×k convolutions with C channels in and out: L·k²·C² (+ L·C biases).

    §2.3: three 3×3 layers have 3(3²C²) = 27C² weights, one 7×7 layer 7²C² = 49C².
    """
    if num_layers <= 0 or kernel_size <= 0 or channels <= 0:
        raise ValueError(
            f"num_layers, kernel_size and channels must be > 0 (got {num_layers}, {kernel_size}, {channels})"
        )
    return num_layers * (kernel_size * kernel_size * channels * channels + (channels if bias else 0))


class VGG(ImageClassifier):
    """VGG (Simonyan & Zisserman 2014, Table 1).

    ```
    (B, 3, 224, 224)
      stage s = 1..5: depths[s] × [conv 3×3 (widths[s]) ─ (norm) ─ ReLU] ─ maxpool 2/2
                                                  → (B, 512, 7, 7) = forward_features
      avgpool 7×7 ─ fc6 4096 ─ ReLU ─ drop ─ fc7 4096 ─ ReLU ─ drop ─ fc (num_classes)
    ```
    ``features`` holds the layers in torchvision's order, so its ``features.*`` keys are torchvision's;
    torchvision's ``classifier.{0,3,6}`` are ``fc6``, ``fc7``, ``fc`` here.

    Args:
        depths: conv layers per stage (:data:`VGG_DEPTHS`).
        num_classes: classes; 0 makes ``forward`` return the fc7 features.
        in_chans: input channels.
        widths: channels of each stage.
        norm_layer: normalisation between each conv and its ReLU, called with the channel count
            (``nn.BatchNorm2d`` for the ``_bn`` variants), or None.
        hidden_dim: width of fc6 and fc7.
        pool_size: output side of the adaptive average pool before fc6.
        drop_rate: dropout probability after fc6 and fc7.

    Shapes:
        x: (B, in_chans, H, W) with H, W ≥ 32 → logits (B, num_classes).
    """

    def __init__(
        self,
        depths: Sequence[int] = VGG_DEPTHS["D"],
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        widths: Sequence[int] = (64, 128, 256, 512, 512),
        norm_layer: Callable[[int], nn.Module] | None = None,
        hidden_dim: int = 4096,
        pool_size: int = 7,
        drop_rate: float = 0.5,
    ) -> None:
        super().__init__()
        if len(depths) == 0 or min(depths) <= 0:
            raise ValueError(f"depths must be positive layer counts (got {tuple(depths)})")
        if len(widths) != len(depths) or min(widths) <= 0:
            raise ValueError(f"widths must be one positive width per stage (got {tuple(widths)} for {tuple(depths)})")
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be > 0 (got {hidden_dim})")
        if pool_size <= 0:
            raise ValueError(f"pool_size must be > 0 (got {pool_size})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.in_chans, self.num_classes, self.num_features = in_chans, num_classes, hidden_dim
        layers: list[nn.Module] = []
        c_in = in_chans
        for depth, width in zip(depths, widths):
            for _ in range(depth):
                # torchvision keeps the conv bias even before batch norm (it only affects the count).
                layers.append(nn.Conv2d(c_in, width, 3, padding=1))
                if norm_layer is not None:
                    layers.append(norm_layer(width))
                layers.append(nn.ReLU(inplace=True))
                c_in = width
            layers.append(nn.MaxPool2d(2, stride=2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc6 = nn.Linear(c_in * pool_size * pool_size, hidden_dim)
        self.fc7 = nn.Linear(hidden_dim, hidden_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(hidden_dim, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → last stage after pooling, (B, widths[-1], H/32, W/32)."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, C, h, w) → logits (B, num_classes), or the fc7 features (B, hidden_dim) with ``pre_logits``."""
        x = self.avgpool(x).flatten(1)  # (B, C·7·7)
        x = self.head_drop(F.relu(self.fc6(x)))
        x = self.head_drop(F.relu(self.fc7(x)))
        return x if pre_logits else self.fc(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> VGG:
    return VGG(**{**defaults, **overrides})


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg11", reference_params=132_863_336, input_size=(3, 224, 224)
)
def vgg11(**kwargs: Any) -> VGG:
    """VGG-11 (configuration A of Table 1)."""
    return _build(dict(depths=VGG_DEPTHS["A"]), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg11_bn", reference_params=132_868_840, input_size=(3, 224, 224)
)
def vgg11_bn(**kwargs: Any) -> VGG:
    """VGG-11 (configuration A of Table 1), batch norm after every convolution."""
    return _build(dict(depths=VGG_DEPTHS["A"], norm_layer=nn.BatchNorm2d), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg13", reference_params=133_047_848, input_size=(3, 224, 224)
)
def vgg13(**kwargs: Any) -> VGG:
    """VGG-13 (configuration B of Table 1)."""
    return _build(dict(depths=VGG_DEPTHS["B"]), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg13_bn", reference_params=133_053_736, input_size=(3, 224, 224)
)
def vgg13_bn(**kwargs: Any) -> VGG:
    """VGG-13 (configuration B of Table 1), batch norm after every convolution."""
    return _build(dict(depths=VGG_DEPTHS["B"], norm_layer=nn.BatchNorm2d), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg16", reference_params=138_357_544, input_size=(3, 224, 224)
)
def vgg16(**kwargs: Any) -> VGG:
    """VGG-16 (configuration D of Table 1)."""
    return _build(dict(depths=VGG_DEPTHS["D"]), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg16_bn", reference_params=138_365_992, input_size=(3, 224, 224)
)
def vgg16_bn(**kwargs: Any) -> VGG:
    """VGG-16 (configuration D of Table 1), batch norm after every convolution."""
    return _build(dict(depths=VGG_DEPTHS["D"], norm_layer=nn.BatchNorm2d), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg19", reference_params=143_667_240, input_size=(3, 224, 224)
)
def vgg19(**kwargs: Any) -> VGG:
    """VGG-19 (configuration E of Table 1)."""
    return _build(dict(depths=VGG_DEPTHS["E"]), kwargs)


@register_model(
    paper=SIMONYAN_2014, reference="torchvision.models.vgg19_bn", reference_params=143_678_248, input_size=(3, 224, 224)
)
def vgg19_bn(**kwargs: Any) -> VGG:
    """VGG-19 (configuration E of Table 1), batch norm after every convolution."""
    return _build(dict(depths=VGG_DEPTHS["E"], norm_layer=nn.BatchNorm2d), kwargs)


@register_model(paper=SIMONYAN_2014, reference="torchvision.models.vgg11_bn", input_size=(3, 32, 32))
def vgg_tiny(**kwargs: Any) -> VGG:
    """Configuration A with batch norm at 1/8-1/16 width on 32×32 inputs (five pools: 32 → 1)."""
    return _build(
        dict(depths=VGG_DEPTHS["A"], widths=(8, 16, 32, 32, 32), norm_layer=nn.BatchNorm2d, hidden_dim=64, pool_size=1),
        kwargs,
    )
