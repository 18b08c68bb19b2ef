"""AlexNet: the paper's two-tower network with response normalisation, and torchvision's single tower.

Paper: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NIPS 2012 (no arXiv id). Reference implementation: ``torchvision.models.alexnet``
(61,100,840 parameters), which follows the later "one weird trick" single-tower variant
(Krizhevsky 2014, arXiv 1404.5997): 64-192-384-256-256 kernels, no response normalisation, no
grouping, an adaptive 6×6 average pool before the classifier, dropout *before* fc6 and fc7.

Variants:
    ``alexnet``: torchvision's network layer for layer (default PyTorch initialisation, as torchvision).
    ``alexnet_paper``: the paper's network (§3, Fig. 2), 60,965,224 parameters ("60 million", §1):
        96-256-384-384-256 kernels; conv2, conv4 and conv5 see only the kernel maps on their own GPU
        (``groups=2``), conv3 and the FC layers see both (§3.2); ReLU everywhere (§3.1); local
        response normalisation after the ReLU of conv1 and conv2 (§3.3, k=2, n=5, α=1e-4, β=0.75);
        overlapping 3×3 stride-2 max pooling after both normalisations and conv5 (§3.4); dropout 0.5
        on the outputs of fc6 and fc7 (§4.2); weights N(0, 0.01), biases 1 in conv2, conv4, conv5
        and the hidden FC layers and 0 elsewhere (§5). No reference implementation exists (the
        authors' cuda-convnet layer files are not a PyTorch model), so ``reference_params`` is None
        and the test counts the paper's layer table by hand.
    ``alexnet_tiny``: the paper's structure with reduced widths on 64×64 inputs.

Deviations and notes:
    * 224 vs 227: the paper says the input is 224×224×3 and conv1 (11×11, stride 4) gives 55×55,
      but (224 − 11)/4 + 1 = 54.25; 227 would fit with no padding. We keep 224 and pad conv1 by 2
      (as torchvision does): ⌊(224 + 4 − 11)/4⌋ + 1 = 55, so every map size of Fig. 2 comes out.
    * The adaptive average pool before fc6 is torchvision's; on the paper's 224 input the map is
      already 6×6 and the pool is the identity (tested), so the paper variant is unchanged by it.
    * Two-GPU model parallelism is expressed as grouped convolutions on one device; the maths is
      identical (tested against an explicit two-tower computation). LRN follows the formula of §3.3,
      whose sum runs over the layer's N kernel maps, so it crosses the boundary between the towers'
      halves; a per-GPU normalisation would differ only in the two maps either side of it.
    * Left out: PCA colour augmentation and the 10-crop test protocol (data side, §4.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head

__all__ = ["AlexNet", "KrizhevskyLRN"]

KRIZHEVSKY_2012 = Paper(
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton",
    year=2012,
    url="https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
)


class KrizhevskyLRN(nn.LocalResponseNorm):
    """Local response normalisation across kernel maps with the paper's constants (Krizhevsky et al. 2012, §3.3).

    b^i_{x,y} = a^i_{x,y} / (k + α Σ_{j=max(0, i−n/2)}^{min(N−1, i+n/2)} (a^j_{x,y})²)^β

    ``torch.nn.LocalResponseNorm`` divides α by n (Caffe's convention), so the paper's α is passed
    on multiplied by n; the result is the paper's formula exactly (tested against a naive loop).

    Args:
        size: n, the number of adjacent kernel maps summed over.
        alpha: α as written in the paper (not divided by n).
        beta: β.
        k: k.

    Shapes:
        x: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, size: int = 5, *, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> None:
        if size <= 0:
            raise ValueError(f"size must be > 0 (got {size})")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0 (got {alpha})")
        super().__init__(size, alpha=alpha * size, beta=beta, k=k)
        self.paper_alpha = alpha

    def extra_repr(self) -> str:
        return f"n={self.size}, alpha={self.paper_alpha} (paper's, not divided by n), beta={self.beta}, k={self.k}"


class AlexNet(ImageClassifier):
    """AlexNet (Krizhevsky et al. 2012, §3, Fig. 2), configurable down to torchvision's single tower.

    ```
    (B, 3, 224, 224)
      conv1 11×11/4 ─ ReLU ─ [LRN] ─ maxpool 3/2      (B,  96, 55, 55) → (B,  96, 27, 27)
      conv2  5×5  g ─ ReLU ─ [LRN] ─ maxpool 3/2      (B, 256, 27, 27) → (B, 256, 13, 13)
      conv3  3×3    ─ ReLU                            (B, 384, 13, 13)   (sees both towers)
      conv4  3×3  g ─ ReLU                            (B, 384, 13, 13)
      conv5  3×3  g ─ ReLU ─ maxpool 3/2              (B, 256,  6,  6)   = forward_features
      avgpool 6×6 ─ fc6 ─ ReLU ─ drop ─ fc7 ─ ReLU ─ drop ─ fc (4096 → num_classes)
    ```
    ``g`` marks the within-GPU (grouped) layers. The layers live in ``features`` in torchvision's
    order, so with ``norm_layer=None`` its ``features.*`` keys match torchvision's; its classifier
    ``classifier.{1,4,6}`` maps to ``fc6``, ``fc7``, ``fc``.

    Args:
        num_classes: classes; 0 makes ``forward`` return the 4096-d fc7 features.
        in_chans: input channels.
        widths: kernels of conv1..conv5.
        groups: groups of conv2, conv4, conv5 (2 = the paper's two GPUs, 1 = torchvision).
        hidden_dim: width of fc6 and fc7.
        stem_padding: zero padding of conv1 (2 gives the paper's 55×55 map from 224 inputs).
        norm_layer: built with no arguments after the ReLUs of conv1 and conv2 (the paper's
            :class:`KrizhevskyLRN`), or None.
        pool_size: output side of the adaptive average pool before fc6.
        drop_rate: dropout probability of the two hidden FC layers.
        dropout_before_fc: drop the *inputs* of fc6 and fc7 as torchvision does, instead of the
            paper's outputs of fc6 and fc7 (§4.2).
        init: ``"paper"`` (§5: N(0, 0.01), biases 1 in conv2, conv4, conv5, fc6, fc7) or ``"torch"``
            (PyTorch's default layer initialisation, as torchvision leaves it).

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        widths: Sequence[int] = (96, 256, 384, 384, 256),
        groups: int = 2,
        hidden_dim: int = 4096,
        stem_padding: int = 2,
        norm_layer: Callable[[], nn.Module] | None = KrizhevskyLRN,
        pool_size: int = 6,
        drop_rate: float = 0.5,
        dropout_before_fc: bool = False,
        init: str = "paper",
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if len(widths) != 5 or min(widths) <= 0:
            raise ValueError(f"widths must be 5 positive kernel counts (got {tuple(widths)})")
        if groups <= 0 or any(w % groups for w in widths):
            raise ValueError(f"groups must be > 0 and divide every width (got groups={groups}, widths={tuple(widths)})")
        if hidden_dim <= 0:
            raise ValueError(f"hidden_dim must be > 0 (got {hidden_dim})")
        if stem_padding < 0:
            raise ValueError(f"stem_padding must be >= 0 (got {stem_padding})")
        if pool_size <= 0:
            raise ValueError(f"pool_size must be > 0 (got {pool_size})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if init not in ("paper", "torch"):
            raise ValueError(f"init must be 'paper' or 'torch' (got {init!r})")
        self.in_chans, self.num_classes, self.num_features = in_chans, num_classes, hidden_dim
        self.dropout_before_fc = dropout_before_fc
        c1, c2, c3, c4, c5 = widths

        def norm() -> list[nn.Module]:
            return [norm_layer()] if norm_layer is not None else []

        self.features = nn.Sequential(
            nn.Conv2d(in_chans, c1, 11, stride=4, padding=stem_padding),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(3, stride=2),  # overlapping pooling, s < z (§3.4)
            nn.Conv2d(c1, c2, 5, padding=2, groups=groups),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c2, c3, 3, padding=1),  # conv3 connects across the two GPUs (§3.5)
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc6 = nn.Linear(c5 * pool_size * pool_size, hidden_dim)
        self.fc7 = nn.Linear(hidden_dim, hidden_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(hidden_dim, num_classes)
        if init == "paper":
            self._init_paper()

    def _init_paper(self) -> None:
        # §5: "We initialized the weights in each layer from a zero-mean Gaussian distribution with standard
        # deviation 0.01. We initialized the neuron biases in the second, fourth, and fifth convolutional layers,
        # as well as in the fully-connected hidden layers, with the constant 1 ... remaining layers ... 0."
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        layers = [*convs, self.fc6, self.fc7, *([self.fc] if isinstance(self.fc, nn.Linear) else [])]
        ones = {id(convs[1]), id(convs[3]), id(convs[4]), id(self.fc6), id(self.fc7)}
        for layer in layers:
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 1.0 if id(layer) in ones else 0.0)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → conv5 map after the last max pool, (B, widths[4], h, w); 6×6 at 224."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, C, h, w) → logits (B, num_classes), or the fc7 features (B, hidden_dim) with ``pre_logits``."""
        x = self.avgpool(x).flatten(1)  # (B, C·6·6)
        if self.dropout_before_fc:  # torchvision: Dropout → fc6 → ReLU → Dropout → fc7 → ReLU
            x = F.relu(self.fc6(self.head_drop(x)))
            x = F.relu(self.fc7(self.head_drop(x)))
        else:  # paper §4.2: dropout on the outputs of the first two FC layers
            x = self.head_drop(F.relu(self.fc6(x)))
            x = self.head_drop(F.relu(self.fc7(x)))
        return x if pre_logits else self.fc(x)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> AlexNet:
    return AlexNet(**{**defaults, **overrides})


@register_model(
    paper=KRIZHEVSKY_2012, reference="torchvision.models.alexnet", reference_params=61_100_840, input_size=(3, 224, 224)
)
def alexnet(**kwargs: Any) -> AlexNet:
    """torchvision's single-tower AlexNet: 64-192-384-256-256, no LRN, no groups, dropout before fc6/fc7."""
    return _build(
        dict(
            widths=(64, 192, 384, 256, 256),
            groups=1,
            norm_layer=None,
            dropout_before_fc=True,
            init="torch",
        ),
        kwargs,
    )


@register_model(
    paper=KRIZHEVSKY_2012,
    reference="none: the paper's §3 and Fig. 2 (parameters counted by hand in the tests)",
    input_size=(3, 224, 224),
)
def alexnet_paper(**kwargs: Any) -> AlexNet:
    """The paper's two-tower AlexNet: 96-256-384-384-256, grouped conv2/4/5, LRN, dropout after fc6/fc7."""
    return _build(dict(), kwargs)


@register_model(
    paper=KRIZHEVSKY_2012,
    reference="none: the paper's §3 and Fig. 2 (parameters counted by hand in the tests)",
    input_size=(3, 64, 64),
)
def alexnet_tiny(**kwargs: Any) -> AlexNet:
    """The paper's structure (groups, LRN) at 1/6 width on 64×64 inputs (conv5 map 3×3, max-pooled to 1×1)."""
    return _build(dict(widths=(16, 32, 48, 48, 32), hidden_dim=64, pool_size=1), kwargs)
