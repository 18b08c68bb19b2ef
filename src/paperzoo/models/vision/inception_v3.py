"""Inception-v2 and Inception-v3: factorised Inception modules, efficient grid reduction, label smoothing.

Paper: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception Architecture for Computer
Vision", CVPR 2016, arXiv:1512.00567. Reference implementation: ``torchvision.models.inception_v3``
(a port of the authors' TF-slim release; 27,161,264 parameters with the auxiliary head, 23,834,568
without it, which is also ``timm.create_model("inception_v3")``).

Implemented:

* the factorised modules of the paper's Table 1: Fig. 5 at 35×35 (a 5×5 replaced by two 3×3, §3.1),
  Fig. 6 at 17×17 (n×n replaced by 1×n then n×1 with n = 7, §3.2), Fig. 7 at 8×8 (expanded filter
  banks whose last layer splits into parallel 1×3 and 3×1, "to promote high dimensional
  representations", §2 principle 2);
* the efficient grid-size reduction of Fig. 10 (§5): stride-2 convolutions in parallel with a stride-2
  pooling, concatenated, for 35→17 and 17→8;
* the auxiliary classifier on the last 17×17 layer (Fig. 8, §4) with batch normalisation in its
  fully connected layer ("BN-auxiliary", Table 3), which the reference realises as a 5×5 convolution
  over the 5×5 pooled grid;
* label smoothing regularisation (§7): :func:`label_smoothing_loss`.

Variants (``paperzoo list "inception_v[23]*"``):

* ``inception_v3``: the reference, layer for layer (TF-slim's filter-bank widths; BN eps 0.001).
* ``inception_v3_noaux``: the same without the auxiliary head (timm's ``inception_v3``).
* ``inception_v2``: the first row of the paper's Table 3. Table 3 lists, cumulatively, what turns
  Inception-v2 into Inception-v3: RMSProp, label smoothing (training choices), "Factorized 7×7" (the
  first 7×7 convolution factorised into a sequence of 3×3 convolutions) and "BN-auxiliary" (the fully
  connected layer of the auxiliary classifier batch-normalised, not just its convolutions). So the
  v2 network is the v3 network with (a) a single 7×7/2 convolution with 64 filters as its first layer
  instead of the three 3×3 convolutions (valid padding maps 299 to 147×147×64, exactly the input
  Table 1 lists for the first pooling layer) and (b) no batch norm in the auxiliary head's fully
  connected (768-wide) layer, which then has a bias. The paper gives no filter-bank widths (they are in
  a supplementary ``model.txt`` that was never published), so both use the reference's widths.
  No reference implementation of v2 exists: ``reference_params`` is None.

Deviations and choices, each checked against the paper:

* §6 says Table 1's layout already has the factorised 7×7 (three 3×3), while Table 3 lists it as the
  change from v2 to v3; we follow Table 3, the only reading that makes v2 and v3 differ.
* Table 1 itself does not agree with the text or the release (it lists a stride-2 3×3 convolution
  where the release pools, and "5×Inception" at 17×17 where §6 and the release have a grid reduction
  plus four Fig. 6 modules); the text and the release agree, and we follow them.
* The release's 35×35 module (torchvision ``InceptionA``) keeps a 1×1→5×5 branch beside the
  factorised 1×1→3×3→3×3 branch, where Fig. 5 draws 1×1→3×3. ``inception35_kernel=3`` builds Fig. 5
  as drawn; the default 5 matches the reference.
* Dropout before the classifier: the paper gives no rate; the authors' TF-slim code uses keep
  probability 0.8, so ``drop_rate`` defaults to 0.2 (torchvision uses 0.5; pass ``drop_rate=0.5`` to
  match its training behaviour; parameters are unaffected).
* Auxiliary loss weight: the paper gives none; the authors' TF-slim training script
  (``train_image_classifier.py``) weights the auxiliary cross-entropy by 0.4, which we return as the
  head's ``aux_weights`` entry.
* Initialisation follows torchvision: truncated normal weights with std 0.1 (0.01 for the auxiliary
  768-wide layer, 0.001 for the auxiliary classifier), truncated at ±2 std as TF's
  ``truncated_normal`` does; BN γ = 1, β = 0; biases zero.
* The auxiliary head needs the 17×17 grid to be at least 17×17 (5×5/3 average pool, then a 5×5
  convolution), i.e. inputs of at least 299×299 in training mode; without it (or in eval mode) the
  network takes inputs down to 75×75. Smaller inputs raise a ``ValueError``.

Data flow of ``inception_v3`` at 299×299 (Table 1)::

    (B,3,299,299) ─ stem: 3×3/2 ─ 3×3 ─ 3×3 pad ─ max 3×3/2 ─ 1×1 ─ 3×3 ─ max 3×3/2 ─► (B,192,35,35)
      ─ mixed_5: 3 × Fig. 5 ────────────────────────────────────────────────────────► (B,288,35,35)
      ─ mixed_6: Fig. 10 reduction, 4 × Fig. 6 (n = 7) ───────────────────┬──────────► (B,768,17,17)
      │                                                                   └ aux head ► (B,num_classes)
      ─ mixed_7: Fig. 10 reduction, 2 × Fig. 7 ───────────────────────────────────────► (B,2048,8,8)
      ─ global average pool ─ dropout ─ fc ───────────────────────────────────────────► (B,num_classes)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import ClassifierOutput, ImageClassifier, linear_head

__all__ = [
    "BatchNorm",
    "BasicConv2d",
    "ConcatBranches",
    "Inception35",
    "GridReduction35",
    "Inception17",
    "GridReduction17",
    "Inception8",
    "ExpandedOutput",
    "InceptionAux",
    "InceptionV3",
    "label_smoothing_loss",
]

SZEGEDY_2016 = Paper(
    title="Rethinking the Inception Architecture for Computer Vision",
    authors="Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens, Zbigniew Wojna",
    year=2016,
    arxiv="1512.00567",
)

#: Batch norm as in the reference (TF's epsilon 0.001 rather than PyTorch's 1e-5).
BatchNorm = partial(nn.BatchNorm2d, eps=1e-3)

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


def scaled(channels: int, width_mult: float) -> int:
    """Width of a layer in a network scaled by ``width_mult`` (at least one channel)."""
    return max(1, round(channels * width_mult))


class BasicConv2d(nn.Module):
    """Convolution → batch norm → ReLU, the unit every Inception layer is built from.

    With ``norm_layer=None`` the convolution gets a bias instead of the norm (Inception-v2's auxiliary
    fully connected layer).

    Shapes:
        x: (B, in_chans, H, W) → (B, out_chans, H', W').
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int | tuple[int, int],
        *,
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
        norm_layer: NormLayer | None = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if in_chans <= 0 or out_chans <= 0:
            raise ValueError(f"channels must be > 0 (got in_chans={in_chans}, out_chans={out_chans})")
        self.conv = nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=padding, bias=norm_layer is None)
        self.bn = norm_layer(out_chans) if norm_layer is not None else nn.Identity()
        self.act = act_layer()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class ConcatBranches(nn.Module):
    """Parallel branches whose outputs are concatenated along channels (every Inception module).

    Subclasses fill ``branches`` and set ``out_chans`` (the sum of the branch widths).
    """

    branches: nn.ModuleList
    out_chans: int

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class ExpandedOutput(nn.Module):
    """Fig. 7's expanded output: a shared input feeds a 1×3 and a 3×1 convolution, concatenated.

    Shapes:
        x: (B, in_chans, H, W) → (B, 2 · out_chans, H, W).
    """

    def __init__(self, in_chans: int, out_chans: int, conv: Callable[..., BasicConv2d]) -> None:
        super().__init__()
        self.conv_1x3 = conv(in_chans, out_chans, (1, 3), padding=(0, 1))
        self.conv_3x1 = conv(in_chans, out_chans, (3, 1), padding=(1, 0))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv_1x3(x), self.conv_3x1(x)], dim=1)


class _AvgPool3x3(nn.Module):
    """3×3 stride-1 average pooling that keeps the grid (zero padding counted, as the reference does)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)


class Inception35(ConcatBranches):
    """The 35×35 Inception module of Fig. 5 (§3.1: a 5×5 convolution factorised into two 3×3).

    Branches (widths at ``width_mult = 1``): 1×1 (64); 1×1 (48) → k×k (64); 1×1 (64) → 3×3 (96) →
    3×3 (96); 3×3 average pool → 1×1 (``pool_chans``). ``mid_kernel`` k is 5 in the reference and 3 as
    Fig. 5 draws it.

    Shapes:
        x: (B, in_chans, H, W) → (B, 224 + pool_chans, H, W).
    """

    def __init__(
        self,
        in_chans: int,
        pool_chans: int,
        *,
        mid_kernel: int = 5,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if mid_kernel not in (3, 5):
            raise ValueError(f"mid_kernel must be 3 (Fig. 5) or 5 (reference) (got {mid_kernel})")
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c64, c48, c96, cp = (scaled(c, width_mult) for c in (64, 48, 96, pool_chans))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c64, 1),
                nn.Sequential(conv(in_chans, c48, 1), conv(c48, c64, mid_kernel, padding=mid_kernel // 2)),
                nn.Sequential(conv(in_chans, c64, 1), conv(c64, c96, 3, padding=1), conv(c96, c96, 3, padding=1)),
                nn.Sequential(_AvgPool3x3(), conv(in_chans, cp, 1)),
            ]
        )
        self.out_chans = c64 + c64 + c96 + cp


class GridReduction35(ConcatBranches):
    """Efficient grid-size reduction 35×35 → 17×17 (Fig. 10, §5).

    Stride-2 convolution branches run in parallel with a stride-2 max pool, so the grid shrinks while
    the filter bank grows, avoiding both the representational bottleneck of pooling first and the
    cost of expanding first (Fig. 9). Branches: 3×3/2 (384); 1×1 (64) → 3×3 (96) → 3×3/2 (96);
    3×3/2 max pool (passes the input channels through).

    Shapes:
        x: (B, in_chans, H, W) → (B, in_chans + 480, (H-3)//2 + 1, (W-3)//2 + 1).
    """

    def __init__(
        self,
        in_chans: int,
        *,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c384, c64, c96 = (scaled(c, width_mult) for c in (384, 64, 96))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c384, 3, stride=2),
                nn.Sequential(conv(in_chans, c64, 1), conv(c64, c96, 3, padding=1), conv(c96, c96, 3, stride=2)),
                nn.MaxPool2d(3, stride=2),
            ]
        )
        self.out_chans = c384 + c96 + in_chans


class Inception17(ConcatBranches):
    """The 17×17 Inception module of Fig. 6: n×n convolutions factorised into 1×n then n×1, n = 7 (§3.2).

    Branches: 1×1 (192); 1×1 (c) → 1×7 (c) → 7×1 (192); 1×1 (c) → 7×1 (c) → 1×7 (c) → 7×1 (c) →
    1×7 (192); 3×3 average pool → 1×1 (192), with c = ``mid_chans`` (128, 160, 160, 192 in the four
    reference modules).

    Shapes:
        x: (B, in_chans, H, W) → (B, 768, H, W).
    """

    def __init__(
        self,
        in_chans: int,
        mid_chans: int,
        *,
        n: int = 7,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if n < 3 or n % 2 == 0:
            raise ValueError(f"n must be an odd kernel size >= 3 (got {n})")
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c, c192 = scaled(mid_chans, width_mult), scaled(192, width_mult)
        row, col = dict(kernel_size=(1, n), padding=(0, n // 2)), dict(kernel_size=(n, 1), padding=(n // 2, 0))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c192, 1),
                nn.Sequential(conv(in_chans, c, 1), conv(c, c, **row), conv(c, c192, **col)),
                nn.Sequential(
                    conv(in_chans, c, 1), conv(c, c, **col), conv(c, c, **row), conv(c, c, **col), conv(c, c192, **row)
                ),
                nn.Sequential(_AvgPool3x3(), conv(in_chans, c192, 1)),
            ]
        )
        self.out_chans = 4 * c192


class GridReduction17(ConcatBranches):
    """Efficient grid-size reduction 17×17 → 8×8 (Fig. 10 applied at the second reduction, §5, §6).

    Branches: 1×1 (192) → 3×3/2 (320); 1×1 (192) → 1×7 (192) → 7×1 (192) → 3×3/2 (192); 3×3/2 max pool.

    Shapes:
        x: (B, in_chans, H, W) → (B, in_chans + 512, (H-3)//2 + 1, (W-3)//2 + 1).
    """

    def __init__(
        self,
        in_chans: int,
        *,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c192, c320 = scaled(192, width_mult), scaled(320, width_mult)
        self.branches = nn.ModuleList(
            [
                nn.Sequential(conv(in_chans, c192, 1), conv(c192, c320, 3, stride=2)),
                nn.Sequential(
                    conv(in_chans, c192, 1),
                    conv(c192, c192, (1, 7), padding=(0, 3)),
                    conv(c192, c192, (7, 1), padding=(3, 0)),
                    conv(c192, c192, 3, stride=2),
                ),
                nn.MaxPool2d(3, stride=2),
            ]
        )
        self.out_chans = c320 + c192 + in_chans


class Inception8(ConcatBranches):
    """The 8×8 Inception module with expanded filter bank outputs (Fig. 7).

    Branches: 1×1 (320); 1×1 (384) → [1×3 (384) ‖ 3×1 (384)]; 1×1 (448) → 3×3 (384) →
    [1×3 (384) ‖ 3×1 (384)]; 3×3 average pool → 1×1 (192).

    Shapes:
        x: (B, in_chans, H, W) → (B, 2048, H, W).
    """

    def __init__(
        self,
        in_chans: int,
        *,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c320, c384, c448, c192 = (scaled(c, width_mult) for c in (320, 384, 448, 192))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c320, 1),
                nn.Sequential(conv(in_chans, c384, 1), ExpandedOutput(c384, c384, conv)),
                nn.Sequential(
                    conv(in_chans, c448, 1), conv(c448, c384, 3, padding=1), ExpandedOutput(c384, c384, conv)
                ),
                nn.Sequential(_AvgPool3x3(), conv(in_chans, c192, 1)),
            ]
        )
        self.out_chans = c320 + 4 * c384 + c192


class InceptionAux(nn.Module):
    """Auxiliary classifier on top of the last 17×17 layer (Fig. 8, §4).

    5×5/3 average pool (17×17 → 5×5) → 1×1 conv (128) → 5×5 conv (768, the "fully connected" layer
    over the whole 5×5 grid) → linear. ``fc_norm_layer`` batch-normalises the 768-wide layer
    ("BN-auxiliary", Inception-v3); ``None`` leaves it unnormalised with a bias (Inception-v2).

    Shapes:
        x: (B, in_chans, H, W) with H, W >= 17 → (B, num_classes).
    """

    def __init__(
        self,
        in_chans: int,
        num_classes: int,
        *,
        width_mult: float = 1.0,
        fc_norm_layer: NormLayer | None = BatchNorm,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if num_classes <= 0:
            raise ValueError(f"the auxiliary head needs num_classes > 0 (got {num_classes})")
        c128, c768 = scaled(128, width_mult), scaled(768, width_mult)
        self.conv0 = BasicConv2d(in_chans, c128, 1, norm_layer=norm_layer, act_layer=act_layer)
        self.conv1 = BasicConv2d(c128, c768, 5, norm_layer=fc_norm_layer, act_layer=act_layer)
        self.fc = nn.Linear(c768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.avg_pool2d(x, kernel_size=5, stride=3)  # (B, C, 5, 5) from 17×17
        x = self.conv1(self.conv0(x))  # (B, 768, 1, 1)
        return self.fc(x.mean(dim=(2, 3)))  # the mean is a no-op at 299 input, kept for larger inputs


# (kernel, stride, padding) of the layers that change the grid size, input → 35×35.
_STEM_GEOMETRY = {
    "3x3": [(3, 2, 0), (3, 1, 0), (3, 1, 1), (3, 2, 0), (1, 1, 0), (3, 1, 0), (3, 2, 0)],
    "7x7": [(7, 2, 0), (3, 2, 0), (1, 1, 0), (3, 1, 0), (3, 2, 0)],
}
_REDUCTION = (3, 2, 0)  # both grid reductions: 3×3 stride 2, no padding


def _out_size(size: int, steps: Sequence[tuple[int, int, int]]) -> int:
    for k, s, p in steps:
        size = (size + 2 * p - k) // s + 1
    return size


def _min_in_size(out: int, steps: Sequence[tuple[int, int, int]]) -> int:
    for k, s, p in reversed(steps):  # invert each step: in >= (out - 1)·s + k - 2p
        out = (out - 1) * s + k - 2 * p
    return out


class InceptionV3(ImageClassifier):
    """Inception-v3 (Szegedy et al. 2016, Table 1 and Table 3), and Inception-v2 with ``stem="7x7"``.

    Args:
        num_classes: classifier outputs; 0 gives pooled features (and no auxiliary head).
        in_chans: input channels.
        aux_logits: build the auxiliary classifier on the last 17×17 layer (§4).
        aux_weight: the auxiliary loss weight returned in training mode (0.4, TF-slim's training script).
        drop_rate: dropout before the classifier (0.2: the authors' keep probability 0.8).
        stem: ``"3x3"`` (the 7×7 convolution factorised into three 3×3, Inception-v3) or ``"7x7"``
            (Inception-v2, Table 3's baseline).
        inception35_kernel: kernel of the second branch of the 35×35 modules (5: reference, 3: Fig. 5).
        width_mult: multiplies every layer width (1.0 for the paper; tiny variants use less).
        norm_layer: normalisation after every convolution.
        act_layer: activation after every normalisation.
        aux_fc_norm_layer: normalisation of the auxiliary head's fully connected layer; None for v2.

    Shapes:
        x: (B, in_chans, H, W), H, W >= 75 (>= 299 in training mode with the auxiliary head) →
        (B, num_classes) logits, or :class:`ClassifierOutput` in training mode with the auxiliary head.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        aux_logits: bool = True,
        aux_weight: float = 0.4,
        drop_rate: float = 0.2,
        stem: str = "3x3",
        inception35_kernel: int = 5,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
        aux_fc_norm_layer: NormLayer | None = BatchNorm,
    ) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0 (got {num_classes})")
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0 (got {aux_weight})")
        if stem not in _STEM_GEOMETRY:
            raise ValueError(f"stem must be one of {sorted(_STEM_GEOMETRY)} (got {stem!r})")
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0 (got {width_mult})")
        self.in_chans, self.num_classes = in_chans, num_classes
        self.aux_weight, self.stem_type = aux_weight, stem
        w = partial(scaled, width_mult=width_mult)
        kw = dict(width_mult=width_mult, norm_layer=norm_layer, act_layer=act_layer)
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)

        if stem == "3x3":  # "Factorized 7×7" (Table 3): the first 7×7 conv as three 3×3 convs (§3.1)
            first = [conv(in_chans, w(32), 3, stride=2), conv(w(32), w(32), 3), conv(w(32), w(64), 3, padding=1)]
        else:  # Inception-v2: one 7×7/2 conv, 299 → 147×147×64 as Table 1's pooling input requires
            first = [conv(in_chans, w(64), 7, stride=2)]
        self.stem = nn.Sequential(
            *first,
            nn.MaxPool2d(3, stride=2),  # 147 → 73
            conv(w(64), w(80), 1),
            conv(w(80), w(192), 3),  # 73 → 71
            nn.MaxPool2d(3, stride=2),  # 71 → 35
        )
        blocks: list[nn.Module] = []
        chans = w(192)
        for pool_chans in (32, 64, 64):  # 3 × Fig. 5 at 35×35: 256, 288, 288 channels
            blocks.append(Inception35(chans, pool_chans, mid_kernel=inception35_kernel, **kw))
            chans = blocks[-1].out_chans
        self.mixed_5 = nn.Sequential(*blocks)

        blocks = [GridReduction35(chans, **kw)]  # 35 → 17, 288 → 768
        chans = blocks[-1].out_chans
        for mid_chans in (128, 160, 160, 192):  # 4 × Fig. 6 at 17×17
            blocks.append(Inception17(chans, mid_chans, **kw))
            chans = blocks[-1].out_chans
        self.mixed_6 = nn.Sequential(*blocks)
        aux_chans = chans

        blocks = [GridReduction17(chans, **kw)]  # 17 → 8, 768 → 1280
        chans = blocks[-1].out_chans
        for _ in range(2):  # 2 × Fig. 7 at 8×8: 2048 channels
            blocks.append(Inception8(chans, **kw))
            chans = blocks[-1].out_chans
        self.mixed_7 = nn.Sequential(*blocks)

        self.aux: InceptionAux | None = None
        if aux_logits and num_classes > 0:
            self.aux = InceptionAux(aux_chans, num_classes, fc_norm_layer=aux_fc_norm_layer, **kw)
        self.num_features = chans
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(chans, num_classes)

        steps = _STEM_GEOMETRY[stem]
        self.min_input_size = _min_in_size(1, [*steps, _REDUCTION, _REDUCTION])  # 75 for both stems
        self.min_aux_input_size = _min_in_size(17, [*steps, _REDUCTION])  # 299: the aux head's 5×5 conv fits
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation: truncated normal weights, std 0.1 (aux: 0.01 and 0.001)."""
        special = {}
        if self.aux is not None:
            special = {self.aux.conv1.conv.weight: 0.01, self.aux.fc.weight: 0.001}
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                std = special.get(m.weight, 0.1)
                nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def grid_sizes(self, size: int) -> tuple[int, int, int]:
        """Side lengths of the three Inception grids (35, 17, 8 at ``size = 299``)."""
        g35 = _out_size(size, _STEM_GEOMETRY[self.stem_type])
        g17 = _out_size(g35, [_REDUCTION])
        return g35, g17, _out_size(g17, [_REDUCTION])

    def _trunk(self, x: Tensor, with_aux: bool) -> tuple[Tensor, Tensor]:
        self.check_input(x)
        need = self.min_aux_input_size if with_aux else self.min_input_size
        if min(x.shape[-2:]) < need:
            why = " for the auxiliary head in training mode" if with_aux else ""
            raise ValueError(f"expected images of at least {need}×{need}{why}, got {tuple(x.shape)}")
        x = self.mixed_5(self.stem(x))  # (B, 288, 35, 35)
        x17 = self.mixed_6(x)  # (B, 768, 17, 17)
        return self.mixed_7(x17), x17  # (B, 2048, 8, 8)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → last feature map (B, 2048, 8, 8) at 299×299."""
        return self._trunk(x, with_aux=False)[0]

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 2048, h, w) → global average pool → dropout → (B, num_classes), or (B, 2048) features."""
        x = self.head_drop(x.mean(dim=(2, 3)))
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor) -> Tensor | ClassifierOutput:  # type: ignore[override]
        """Logits; in training mode with the auxiliary head, a :class:`ClassifierOutput` with its logits."""
        if not (self.training and self.aux is not None):
            return self.forward_head(self.forward_features(x))
        x8, x17 = self._trunk(x, with_aux=True)
        return ClassifierOutput(self.forward_head(x8), aux_logits=[self.aux(x17)], aux_weights=[self.aux_weight])

    def reset_classifier(self, num_classes: int) -> None:
        """New classifier (and auxiliary classifier) for ``num_classes``; 0 removes both."""
        super().reset_classifier(num_classes)
        if self.aux is not None:
            if num_classes == 0:
                self.aux = None
            else:
                self.aux.fc = nn.Linear(self.aux.fc.in_features, num_classes)


def label_smoothing_loss(logits: Tensor, target: Tensor, epsilon: float = 0.1) -> Tensor:
    """Cross-entropy against the label-smoothed target of §7 (label smoothing regularisation).

    The ground-truth distribution q(k|x) = δ_{k,y} is replaced by
    q'(k|x) = (1 − ε) δ_{k,y} + ε u(k) with u(k) = 1/K, so the loss is
    H(q', p) = (1 − ε) H(q, p) + ε H(u, p) (the paper's decomposition), averaged over the batch.
    The paper uses ε = 0.1 on ImageNet (K = 1000).

    Args:
        logits: (B, K) unnormalised scores.
        target: (B,) class indices.
        epsilon: smoothing weight ε in [0, 1).

    Returns:
        Scalar loss.
    """
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"epsilon must be in [0, 1) (got {epsilon})")
    if logits.dim() != 2 or target.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (B, K) and target (B,), got {tuple(logits.shape)} and {tuple(target.shape)}")
    log_p = F.log_softmax(logits, dim=-1)  # (B, K)
    h_q = -log_p.gather(1, target[:, None]).squeeze(1)  # H(q, p): cross-entropy with the one-hot label
    h_u = -log_p.mean(dim=-1)  # H(u, p): cross-entropy with the uniform prior
    return ((1.0 - epsilon) * h_q + epsilon * h_u).mean()


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> InceptionV3:
    return InceptionV3(**{**defaults, **overrides})


@register_model(
    paper=SZEGEDY_2016,
    reference="torchvision.models.inception_v3",
    reference_params=27_161_264,
    input_size=(3, 299, 299),
)
def inception_v3(**kwargs: Any) -> InceptionV3:
    """Inception-v3 with its BN auxiliary classifier, layer for layer as torchvision."""
    return _build(dict(), kwargs)


@register_model(
    paper=SZEGEDY_2016,
    reference="timm inception_v3 (torchvision.models.inception_v3(aux_logits=False))",
    reference_params=23_834_568,
    input_size=(3, 299, 299),
)
def inception_v3_noaux(**kwargs: Any) -> InceptionV3:
    """Inception-v3 without the auxiliary classifier (the network used at inference)."""
    return _build(dict(aux_logits=False), kwargs)


@register_model(
    paper=SZEGEDY_2016,
    reference="none (the paper's Table 3 baseline; no reference implementation exists)",
    input_size=(3, 299, 299),
)
def inception_v2(**kwargs: Any) -> InceptionV3:
    """Inception-v2: the 7×7 first convolution, and no batch norm in the auxiliary fully connected layer."""
    return _build(dict(stem="7x7", aux_fc_norm_layer=None), kwargs)


@register_model(paper=SZEGEDY_2016, reference="torchvision.models.inception_v3", input_size=(3, 299, 299))
def inception_v3_tiny(**kwargs: Any) -> InceptionV3:
    """Inception-v3 at 1/16 width (the auxiliary head needs the full 299×299 input in training mode)."""
    return _build(dict(width_mult=1 / 16, num_classes=10), kwargs)
