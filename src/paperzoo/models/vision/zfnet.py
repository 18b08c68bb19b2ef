"""ZFNet: AlexNet with a 7×7 stride-2 first layer, dense connections and filter renormalisation.

Paper: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014,
arXiv 1311.2901 (2013). No reference implementation exists (the authors' code was not released
and torchvision/timm have no ZFNet), so ``reference_params`` is None and the test counts the
architecture of Fig. 3 by hand: 62,357,608 parameters for 1000 classes.

Implemented (Fig. 3 and §3): 96 7×7 stride-2 filters in layer 1 (instead of AlexNet's 11×11
stride 4, §4.1: "reduced the 1st layer filter size from 11x11 to 7x7 and made the stride of the
convolution 2, rather than 4"), 3×3 stride-2 max pooling, contrast normalisation across feature maps
after layers 1 and 2, 256 5×5 stride-2 filters in layer 2, then 384-384-256 3×3 filters, two 4096-d
FC layers with dropout 0.5 (§3) and a C-way classifier. Connections are dense: one GPU, no grouping
(§3: "... sparse connections used in Krizhevsky's layers 3,4,5 are replaced with dense connections").
Weights start at N(0, 10⁻²) and biases at 0 (§3). :meth:`ZFNet.renormalize_filters_` is the paper's
filter renormalisation (§3: each conv filter whose RMS exceeds 10⁻¹ is scaled back to that radius),
for a training recipe to call after every optimiser step.

The map sizes of Fig. 3 for a 224×224 input, 110 → 55 → 26 → 13 → 13 → 13 → 13 → 6, come out with
conv1 padding 1 and ceil-mode pooling (cuda-convnet-style pools that keep a partial last window:
⌈(110 − 3)/2⌉ + 1 = 55, ⌈(26 − 3)/2⌉ + 1 = 13); the paper states the sizes, not the padding.

Deviations: the paper gives no constants for its "contrast normalization across feature maps" and
points to Krizhevsky et al. (2012) for it, so we use AlexNet's local response normalisation with
AlexNet's constants (k=2, n=5, α=1e-4, β=0.75, :class:`~paperzoo.models.vision.alexnet.KrizhevskyLRN`).
An adaptive 6×6 average pool precedes fc6 so other input sizes work; at 224 it is the identity.
Left out: the deconvnet visualisation machinery and the occlusion experiments (analysis tools, §2.1, §4.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head
from .alexnet import KrizhevskyLRN

__all__ = ["ZFNet"]

ZEILER_2013 = Paper(
    title="Visualizing and Understanding Convolutional Networks",
    authors="Matthew D. Zeiler, Rob Fergus",
    year=2013,
    arxiv="1311.2901",
)


class ZFNet(ImageClassifier):
    """ZFNet (Zeiler & Fergus 2013, Fig. 3).

    ```
    (B, 3, 224, 224)
      conv1 7×7/2, 96  ─ ReLU ─ norm ─ maxpool 3/2    (B,  96, 110, 110) → (B,  96, 55, 55)
      conv2 5×5/2, 256 ─ ReLU ─ norm ─ maxpool 3/2    (B, 256,  26,  26) → (B, 256, 13, 13)
      conv3 3×3, 384   ─ ReLU                         (B, 384,  13,  13)
      conv4 3×3, 384   ─ ReLU                         (B, 384,  13,  13)
      conv5 3×3, 256   ─ ReLU ─ maxpool 3/2           (B, 256,   6,   6)   = forward_features
      fc6 4096 ─ ReLU ─ drop ─ fc7 4096 ─ ReLU ─ drop ─ fc (num_classes)
    ```

    Args:
        num_classes: classes; 0 makes ``forward`` return the fc7 features.
        in_chans: input channels.
        widths: filters of layers 1-5.
        hidden_dim: width of fc6 and fc7.
        norm_layer: contrast normalisation across feature maps after layers 1 and 2, built with no
            arguments, or None.
        pool_size: output side of the adaptive average pool before fc6 (6 = identity at 224).
        drop_rate: dropout probability on the outputs of fc6 and fc7.
        filter_rms_limit: the radius of :meth:`renormalize_filters_` (§3: 10⁻¹).
        init_std: standard deviation of the initial weights (§3: 10⁻²).

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        widths: Sequence[int] = (96, 256, 384, 384, 256),
        hidden_dim: int = 4096,
        norm_layer: Callable[[], nn.Module] | None = KrizhevskyLRN,
        pool_size: int = 6,
        drop_rate: float = 0.5,
        filter_rms_limit: float = 0.1,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if len(widths) != 5 or min(widths) <= 0:
            raise ValueError(f"widths must be 5 positive filter counts (got {tuple(widths)})")
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be > 0 (got {hidden_dim})")
        if pool_size <= 0:
            raise ValueError(f"pool_size must be > 0 (got {pool_size})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if filter_rms_limit <= 0:
            raise ValueError(f"filter_rms_limit must be > 0 (got {filter_rms_limit})")
        if init_std <= 0:
            raise ValueError(f"init_std must be > 0 (got {init_std})")
        self.in_chans, self.num_classes, self.num_features = in_chans, num_classes, hidden_dim
        self.filter_rms_limit = filter_rms_limit
        c1, c2, c3, c4, c5 = widths

        def norm() -> list[nn.Module]:
            return [norm_layer()] if norm_layer is not None else []

        self.features = nn.Sequential(
            nn.Conv2d(in_chans, c1, 7, stride=2, padding=1),  # 224 → 110
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 110 → 55
            nn.Conv2d(c1, c2, 5, stride=2),  # 55 → 26
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 26 → 13
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 13 → 6
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc6 = nn.Linear(c5 * pool_size * pool_size, hidden_dim)
        self.fc7 = nn.Linear(hidden_dim, hidden_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(hidden_dim, num_classes)
        for m in self.modules():  # §3: "All weights are initialized to 10^-2 and biases are set to 0."
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=init_std)
                nn.init.zeros_(m.bias)

    def conv_layers(self) -> list[nn.Conv2d]:
        """The five convolutional layers, in order."""
        return [m for m in self.features if isinstance(m, nn.Conv2d)]

    @torch.no_grad()
    def renormalize_filters_(self) -> int:
        """Scale every conv filter whose RMS exceeds ``filter_rms_limit`` back to that radius (§3).

        A filter is one output channel's weights (in_chans × k × k); its RMS is sqrt(mean(w²)). The
        paper does this because a few first-layer filters otherwise dominate (inputs span ±128).
        Biases and FC layers are left alone. Call it after each optimiser step.

        Returns:
            The number of filters that were rescaled.
        """
        rescaled = torch.zeros((), dtype=torch.long)
        for conv in self.conv_layers():
            rms = conv.weight.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()  # (C_out, 1, 1, 1)
            too_big = rms > self.filter_rms_limit
            conv.weight.mul_(torch.where(too_big, self.filter_rms_limit / rms, torch.ones_like(rms)))
            rescaled = rescaled + too_big.sum().cpu()
        return int(rescaled)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → layer-5 map after max pooling, (B, widths[4], h, w); 6×6 at 224."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, C, h, w) → logits (B, num_classes), or the fc7 features (B, hidden_dim) with ``pre_logits``."""
        x = self.avgpool(x).flatten(1)  # (B, C·6·6)
        x = self.head_drop(F.relu(self.fc6(x)))
        x = self.head_drop(F.relu(self.fc7(x)))
        return x if pre_logits else self.fc(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> ZFNet:
    return ZFNet(**{**defaults, **overrides})


@register_model(
    paper=ZEILER_2013,
    reference="none: the paper's Fig. 3 (parameters counted by hand in the tests)",
    input_size=(3, 224, 224),
)
def zfnet(**kwargs: Any) -> ZFNet:
    """ZFNet as in Fig. 3: 96-256-384-384-256 filters, 4096-4096 FC, 62.4M parameters."""
    return _build(dict(), kwargs)


@register_model(
    paper=ZEILER_2013,
    reference="none: the paper's Fig. 3 (parameters counted by hand in the tests)",
    input_size=(3, 64, 64),
)
def zfnet_tiny(**kwargs: Any) -> ZFNet:
    """ZFNet at 1/6 width on 64×64 inputs (maps 30 → 15 → 6 → 3 → 1)."""
    return _build(dict(widths=(16, 32, 48, 48, 32), hidden_dim=64, pool_size=1), kwargs)
