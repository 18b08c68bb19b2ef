"""GoogLeNet (Inception v1): Inception modules and two auxiliary classifiers.

Paper: Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke & Rabinovich, "Going Deeper
with Convolutions", CVPR 2015, arXiv 1409.4842 (2014). Reference implementation:
``torchvision.models.googlenet`` (13,004,888 parameters with its auxiliary heads, 6,624,904 without).

Implemented: the network of Table 1 and Fig. 3: a stem (7×7/2 conv, 3×3/2 max pool, 1×1 and 3×3
convs, 3×3/2 max pool), nine Inception modules 3a-5b (§4, Fig. 2b: parallel 1×1, 1×1→3×3,
1×1→5×5 and 3×3-max-pool→1×1 branches concatenated along channels, widths from Table 1), global
average pooling, dropout 0.4 and a linear classifier (§5). Two auxiliary classifiers sit on the
outputs of 4a and 4d (§5: 5×5/3 average pool, 1×1 conv with 128 filters, FC 1024, dropout 0.7, linear);
in training ``forward`` returns a :class:`ClassifierOutput` whose auxiliary losses get weight 0.3,
and in evaluation only the main logits ("at inference time, these auxiliary networks are discarded").

Variants (one class; the differences are constructor arguments):
    ``googlenet`` / ``googlenet_noaux``: torchvision's structure, the default, layer for layer and
        with torchvision's state-dict keys: every conv is conv → BatchNorm(eps=1e-3) → ReLU without
        conv bias; the "5×5" branch uses a 3×3 kernel (a known torchvision bug, pytorch/vision#906);
        no LRN; the max pool between 4e and 5a is 2×2/2; the auxiliary heads pool adaptively to 4×4
        (the same 4×4 grid as the paper's 5×5/3 pool at 14×14 but with 4-wide windows); truncated
        N(0, 0.01) initialisation. torchvision's main-head dropout is 0.2; we keep the paper's 0.4
        (no parameters change).
    ``googlenet_paper``: the paper's network: real 5×5 kernels, conv biases and no batch norm,
        local response normalisation after the first max pool and after the 3×3 stem conv (Fig. 3),
        3×3/2 max pooling before 5a (Table 1), 5×5/3 average pooling in the auxiliary heads. The paper
        gives neither LRN constants nor an initialisation (it trained on DistBelief), so both follow
        the BVLC Caffe reproduction (bvlc_googlenet): LRN n=5, α=1e-4 (Caffe's α, divided by n, =
        ``torch.nn.LocalResponseNorm``), β=0.75, k=1; "xavier" weights (uniform ±sqrt(3/fan_in)),
        biases 0.2, classifier biases 0. No reference implementation exists, so its
        ``reference_params`` is None; the test checks its per-module weights against Table 1.
    ``googlenet_tiny``: the default structure at 1/8 width on 64×64 inputs, auxiliary heads on.

Deviations and notes: Table 1's "params" column (K = 1024 weights, biases not counted) is not
consistent with its own filter counts in every row (conv1 lists 2.7K for 9.2K, 4c 463K for 497.5K,
5a 1072K for 1018K); the "ops" column agrees with the filter counts except for conv1 (34M for 118M)
and 5a (54M for 51M). The tests document which rows agree; the column sums agree within 0.5%.
Left out: Polyak averaging, the 7-model ensemble and the 144-crop test protocol (§6-7).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import ClassifierOutput, ImageClassifier, linear_head

__all__ = ["GoogLeNet", "Inception", "InceptionAux", "ConvNormAct", "INCEPTION_TABLE"]

SZEGEDY_2014 = Paper(
    title="Going Deeper with Convolutions",
    authors="Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, Dragomir Anguelov, "
    "Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich",
    year=2014,
    arxiv="1409.4842",
)

# Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj of each Inception module.
INCEPTION_TABLE: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}

NormLayer = Callable[[int], nn.Module]
TORCHVISION_BN: NormLayer = partial(nn.BatchNorm2d, eps=1e-3)  # torchvision's BasicConv2d batch norm


class ConvNormAct(nn.Module):
    """Convolution → optional normalisation → ReLU (torchvision's ``BasicConv2d`` when ``norm_layer`` is BN).

    The conv has a bias only when there is no normalisation (a bias before batch norm is redundant).

    Shapes:
        x: (B, in_chans, H, W) → (B, out_chans, H', W').
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        norm_layer: NormLayer | None = None,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=padding, bias=norm_layer is None)
        self.bn = norm_layer(out_chans) if norm_layer is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Inception module with dimension reductions (Szegedy et al. 2014, §4, Fig. 2b).

    ```
    x ─┬─ 1×1 (ch1x1) ───────────────────────┐
       ├─ 1×1 (ch3x3red) ─ 3×3 (ch3x3) ───────┤
       ├─ 1×1 (ch5x5red) ─ k×k (ch5x5) ───────┼─ concat → (B, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)
       └─ maxpool 3×3/1 ─ 1×1 (pool_proj) ────┘
    ```
    ``kernel5`` is 5 in the paper and 3 in torchvision.
    """

    def __init__(
        self,
        in_chans: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        kernel5: int = 5,
        norm_layer: NormLayer | None = None,
    ) -> None:
        super().__init__()
        if kernel5 <= 0 or kernel5 % 2 == 0:
            raise ValueError(f"kernel5 must be a positive odd kernel size (got {kernel5})")
        conv = partial(ConvNormAct, norm_layer=norm_layer)
        self.branch1 = conv(in_chans, ch1x1, 1)
        self.branch2 = nn.Sequential(conv(in_chans, ch3x3red, 1), conv(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(conv(in_chans, ch5x5red, 1), conv(ch5x5red, ch5x5, kernel5, padding=kernel5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), conv(in_chans, pool_proj, 1))
        self.out_chans = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → (B, out_chans, H, W)."""
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on an intermediate Inception output (Szegedy et al. 2014, §5).

    avg pool (5×5/3, or adaptive to 4×4) → 1×1 conv (``width``) → ReLU → FC (``hidden_dim``) → ReLU →
    dropout 0.7 → linear (num_classes; identity when 0).

    Shapes:
        x: (B, in_chans, 14, 14) (any size with ``adaptive_pool``) → (B, num_classes).
    """

    def __init__(
        self,
        in_chans: int,
        num_classes: int,
        *,
        width: int = 128,
        hidden_dim: int = 1024,
        adaptive_pool: bool = True,
        drop_rate: float = 0.7,
        norm_layer: NormLayer | None = None,
    ) -> None:
        super().__init__()
        # §5: "An average pooling layer with 5×5 filter size and stride 3, resulting in an 4×4×512 output".
        self.pool = nn.AdaptiveAvgPool2d(4) if adaptive_pool else nn.AvgPool2d(5, stride=3)
        self.conv = ConvNormAct(in_chans, width, 1, norm_layer=norm_layer)
        self.fc1 = nn.Linear(width * 4 * 4, hidden_dim)
        self.drop = nn.Dropout(drop_rate)
        self.fc2 = linear_head(hidden_dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.pool(x)).flatten(1)  # (B, width·4·4)
        return self.fc2(self.drop(F.relu(self.fc1(x))))


class GoogLeNet(ImageClassifier):
    """GoogLeNet (Szegedy et al. 2014, Table 1, Fig. 3).

    ```
    (B, 3, 224, 224)
      conv1 7×7/2 ─ maxpool 3/2 ─ [LRN] ─ conv2 1×1 ─ conv3 3×3 ─ [LRN] ─ maxpool 3/2   (B, 192, 28, 28)
      inception 3a ─ 3b ─ maxpool 3/2                                                 (B, 480, 14, 14)
      inception 4a ─ 4b ─ 4c ─ 4d ─ 4e ─ maxpool (2/2 or 3/2)                         (B, 832,  7,  7)
                 │              └─ aux2 (train only)
                 └─ aux1 (train only)
      inception 5a ─ 5b                                                               (B, 1024, 7, 7) = forward_features
      global avg pool ─ dropout 0.4 ─ fc                                              (B, num_classes)
    ```

    Args:
        num_classes: classes; 0 makes ``forward`` return pooled features (and the aux heads their
            hidden features).
        in_chans: input channels.
        aux_logits: build the two auxiliary classifiers (used in training mode only).
        norm_layer: normalisation after every convolution, called with the channel count
            (torchvision: ``BatchNorm2d(eps=1e-3)``; the paper: None, with conv biases instead).
        stem_norm_layer: built with no arguments after the first max pool and after conv3 (the
            paper's LRN), or None.
        kernel5: kernel of the "5×5" branch (the paper: 5; torchvision: 3).
        pool4_kernel: kernel of the max pool between 4e and 5a (Table 1: 3; torchvision: 2).
        aux_adaptive_pool: pool the aux inputs adaptively to 4×4 (torchvision) instead of the
            paper's fixed 5×5/3, which needs the 14×14 maps of a 224 input.
        channel_divisor: divide every width of Table 1 (stem, modules, aux heads) by this, for
            reduced variants.
        drop_rate: dropout before the main classifier (§5: 0.4).
        aux_drop_rate: dropout in the auxiliary heads (§5: 0.7).
        aux_weight: weight of each auxiliary loss in the total loss (§5: 0.3).
        init: ``"trunc_normal"`` (torchvision: N(0, 0.01) truncated at ±2σ for convs and linears) or
            ``"xavier"`` (bvlc_googlenet: uniform ±sqrt(3/fan_in), biases 0.2, classifier biases 0).

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes); in training mode with auxiliary heads a
        :class:`ClassifierOutput` with ``aux_logits=[aux1, aux2]`` and ``aux_weights=[0.3, 0.3]``.
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        aux_logits: bool = True,
        norm_layer: NormLayer | None = TORCHVISION_BN,
        stem_norm_layer: Callable[[], nn.Module] | None = None,
        kernel5: int = 3,
        pool4_kernel: int = 2,
        aux_adaptive_pool: bool = True,
        channel_divisor: int = 1,
        drop_rate: float = 0.4,
        aux_drop_rate: float = 0.7,
        aux_weight: float = 0.3,
        init: str = "trunc_normal",
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        widths = [64, 192, 128, 1024, *(c for row in INCEPTION_TABLE.values() for c in row)]
        if channel_divisor <= 0 or any(c % channel_divisor for c in widths):
            raise ValueError(f"channel_divisor must be > 0 and divide every width of Table 1 (got {channel_divisor})")
        if pool4_kernel not in (2, 3):
            raise ValueError(f"pool4_kernel must be 2 or 3 (got {pool4_kernel})")
        for name, rate in (("drop_rate", drop_rate), ("aux_drop_rate", aux_drop_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {rate})")
        if aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0 (got {aux_weight})")
        if init not in ("trunc_normal", "xavier"):
            raise ValueError(f"init must be 'trunc_normal' or 'xavier' (got {init!r})")
        d = channel_divisor
        conv = partial(ConvNormAct, norm_layer=norm_layer)
        stem_norm = stem_norm_layer or nn.Identity

        def inception(name: str, c_in: int) -> Inception:
            return Inception(c_in, *(c // d for c in INCEPTION_TABLE[name]), kernel5=kernel5, norm_layer=norm_layer)

        self.in_chans, self.num_classes = in_chans, num_classes
        self.aux_weight = aux_weight
        # Stem (Table 1 rows 1-4; Fig. 3). Caffe-style ceil-mode pools give 112 → 56 → 28 → 14 → 7.
        self.conv1 = conv(in_chans, 64 // d, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.norm1 = stem_norm()
        self.conv2 = conv(64 // d, 64 // d, 1)
        self.conv3 = conv(64 // d, 192 // d, 3, padding=1)
        self.norm2 = stem_norm()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = inception("3a", 192 // d)
        self.inception3b = inception("3b", self.inception3a.out_chans)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception("4a", self.inception3b.out_chans)
        self.inception4b = inception("4b", self.inception4a.out_chans)
        self.inception4c = inception("4c", self.inception4b.out_chans)
        self.inception4d = inception("4d", self.inception4c.out_chans)
        self.inception4e = inception("4e", self.inception4d.out_chans)
        self.maxpool4 = nn.MaxPool2d(pool4_kernel, stride=2, ceil_mode=True)
        self.inception5a = inception("5a", self.inception4e.out_chans)
        self.inception5b = inception("5b", self.inception5a.out_chans)
        self.num_features = self.inception5b.out_chans

        aux = partial(
            InceptionAux,
            num_classes=num_classes,
            width=128 // d,
            hidden_dim=1024 // d,
            adaptive_pool=aux_adaptive_pool,
            drop_rate=aux_drop_rate,
            norm_layer=norm_layer,
        )
        self.aux1 = aux(self.inception4a.out_chans) if aux_logits else None
        self.aux2 = aux(self.inception4d.out_chans) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(drop_rate)
        self.fc = linear_head(self.num_features, num_classes)
        self._init_weights(init)

    @property
    def aux_logits(self) -> bool:
        return self.aux1 is not None

    def _init_weights(self, init: str) -> None:
        classifiers = {id(self.fc), *(id(a.fc2) for a in (self.aux1, self.aux2) if a is not None)}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if init == "trunc_normal":  # torchvision: scipy truncnorm(-2, 2, scale=0.01); biases untouched
                    nn.init.trunc_normal_(m.weight, std=0.01, a=-0.02, b=0.02)
                else:  # Caffe "xavier" filler (variance 1/fan_in) and constant biases of bvlc_googlenet
                    bound = math.sqrt(3.0 / m.weight[0].numel())
                    nn.init.uniform_(m.weight, -bound, bound)
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0.0 if id(m) in classifiers else 0.2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _trunk(self, x: Tensor, with_aux: bool) -> tuple[Tensor, list[Tensor]]:
        self.check_input(x)
        aux: list[Tensor] = []
        x = self.maxpool1(self.conv1(x))  # (B, 64, 56, 56)
        x = self.maxpool2(self.norm2(self.conv3(self.conv2(self.norm1(x)))))  # (B, 192, 28, 28)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (B, 480, 14, 14)
        x = self.inception4a(x)  # (B, 512, 14, 14)
        if with_aux:
            aux.append(self.aux1(x))
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (B, 528, 14, 14)
        if with_aux:
            aux.append(self.aux2(x))
        x = self.maxpool4(self.inception4e(x))  # (B, 832, 7, 7)
        return self.inception5b(self.inception5a(x)), aux  # (B, 1024, 7, 7)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → output of 5b, (B, 1024, H/32, W/32); the auxiliary heads are not run."""
        return self._trunk(x, with_aux=False)[0]

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 1024, h, w) → logits (B, num_classes), or pooled features (B, 1024) with ``pre_logits``."""
        x = self.dropout(self.avgpool(x).flatten(1))
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor) -> Tensor | ClassifierOutput:
        """Logits (B, num_classes); in training mode with auxiliary heads a :class:`ClassifierOutput`."""
        features, aux = self._trunk(x, with_aux=self.training and self.aux_logits)
        logits = self.forward_head(features)
        if not aux:
            return logits
        return ClassifierOutput(logits, aux_logits=aux, aux_weights=[self.aux_weight] * len(aux))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the main and the auxiliary classifiers for ``num_classes`` (0: identity)."""
        super().reset_classifier(num_classes)
        for head in (self.aux1, self.aux2):
            if head is not None:
                head.fc2 = linear_head(head.fc1.out_features, num_classes)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> GoogLeNet:
    return GoogLeNet(**{**defaults, **overrides})


@register_model(
    paper=SZEGEDY_2014, reference="torchvision.models.googlenet", reference_params=13_004_888, input_size=(3, 224, 224)
)
def googlenet(**kwargs: Any) -> GoogLeNet:
    """torchvision's GoogLeNet with both auxiliary classifiers (BN, 3×3 in the "5×5" branch)."""
    return _build(dict(), kwargs)


@register_model(
    paper=SZEGEDY_2014,
    reference="torchvision.models.googlenet(aux_logits=False)",
    reference_params=6_624_904,
    input_size=(3, 224, 224),
)
def googlenet_noaux(**kwargs: Any) -> GoogLeNet:
    """torchvision's GoogLeNet without the auxiliary classifiers (the inference network)."""
    return _build(dict(aux_logits=False), kwargs)


@register_model(
    paper=SZEGEDY_2014,
    reference="none: the paper's Table 1 and Fig. 3 (per-module weights checked against Table 1 in the tests)",
    input_size=(3, 224, 224),
)
def googlenet_paper(**kwargs: Any) -> GoogLeNet:
    """The paper's GoogLeNet: real 5×5 branch, no BN, LRN in the stem, 3×3/2 pool before 5a, 5×5/3 aux pool."""
    return _build(
        dict(
            norm_layer=None,
            stem_norm_layer=partial(nn.LocalResponseNorm, 5, alpha=1e-4, beta=0.75, k=1.0),
            kernel5=5,
            pool4_kernel=3,
            aux_adaptive_pool=False,
            init="xavier",
        ),
        kwargs,
    )


@register_model(paper=SZEGEDY_2014, reference="torchvision.models.googlenet", input_size=(3, 64, 64))
def googlenet_tiny(**kwargs: Any) -> GoogLeNet:
    """torchvision's structure at 1/8 width on 64×64 inputs; aux heads on (adaptive pooling of 4×4 maps)."""
    return _build(dict(channel_divisor=8), kwargs)
