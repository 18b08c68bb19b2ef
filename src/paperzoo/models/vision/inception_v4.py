"""Inception-v4 and Inception-ResNet-v2.

Paper: Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4, Inception-ResNet and the Impact of Residual
Connections on Learning", AAAI 2017, arXiv:1602.07261. Reference implementations: ``timm``'s
``inception_v4`` (42,679,816 parameters) and ``inception_resnet_v2`` (55,843,464), ports of the
authors' TF-slim releases.

Implemented:

* Inception-v4 (Fig. 9), exactly as the paper's figures and the reference: the stem of Fig. 3,
  4 × Inception-A (Fig. 4), Reduction-A (Fig. 7 with k, l, m, n = 192, 224, 256, 384 from Table 1),
  7 × Inception-B (Fig. 5), Reduction-B (Fig. 8), 3 × Inception-C (Fig. 6), average pooling, dropout
  (keep probability 0.8, so ``drop_rate = 0.2``) and the classifier.
* Inception-ResNet-v2: Inception-ResNet-A/B/C (Figs. 16, 17, 19) with a linear 1×1 up-projection
  (bias, no batch norm, no activation), residual scaling (§3.3) and an activation after the sum;
  Reduction-A with k, l, m, n = 256, 256, 384, 384; Reduction-B of Fig. 18. ``drop_path_rate`` adds
  stochastic depth to the residual branches (not in the paper; linear in depth, as timm does).

Variants:

* ``inception_v4``: the paper = the reference.
* ``inception_resnet_v2``: the reference (the authors' TF-slim release), which differs from the
  paper's Fig. 15 in ways that do not change any block's branches: the stem is Inception-v3's stem
  followed by one 35×35 Inception module (320 channels) instead of Fig. 3 (384); the blocks repeat
  10/20/10 times instead of 5/10/5; the last Inception-ResNet-C block has residual scale 1.0 and no
  activation, and a 1×1 convolution to 1536 channels (with batch norm and ReLU) follows it.
  Residual scales 0.17, 0.10, 0.20 for the A, B, C blocks (the paper: "between 0.1 and 0.3").
* ``inception_resnet_v2_paper``: Fig. 15 as drawn: Fig. 3 stem, 5/10/5 blocks, every block with its
  ReLU, no final 1×1 convolution. The figures' up-projection widths are not self-consistent (Fig. 17
  says 1154 where Reduction-A yields 384 + 384 + 384 = 1152; Fig. 19 says 2048 where Reduction-B
  yields 1152 + 384 + 288 + 320 = 2144) and a residual sum needs equal widths, so each block projects
  back to its input width (1152 and 2144). The reference's residual scales are kept. No reference
  implementation exists: ``reference_params`` is None.

Where the paper's figures and the reference order the two factors of a factorised convolution
differently (Fig. 3's 7×1 → 1×7 branch, Fig. 5's first 1×7/7×1, Fig. 6's 1×3 → 3×1), we follow the
reference; the parameter count is the same either way. The average pools inside the modules do not
count padding (``count_include_pad=False``), as the reference. Initialisation: He normal (fan-in)
for convolutions (TF-slim's ``variance_scaling_initializer``), Glorot uniform for the classifier,
zero biases, BN γ = 1, β = 0; BN epsilon 0.001.

Inception-v4 at 299×299::

    (B,3,299,299) ─ stem (Fig. 3) ────────────────────────────► (B,384,35,35)
      ─ 4 × Inception-A ─ Reduction-A ────────────────────────► (B,1024,17,17)
      ─ 7 × Inception-B ─ Reduction-B ────────────────────────► (B,1536,8,8)
      ─ 3 × Inception-C ─ avg pool ─ dropout ─ fc ────────────► (B,num_classes)

Inception-ResNet-v2 (reference) at 299×299::

    (B,3,299,299) ─ Inception-v3 stem ─ 35×35 Inception ──────► (B,320,35,35)
      ─ 10 × IR-A (×0.17) ─ Reduction-A ──────────────────────► (B,1088,17,17)
      ─ 20 × IR-B (×0.10) ─ Reduction-B ──────────────────────► (B,2080,8,8)
      ─ 9 × IR-C (×0.20) ─ IR-C (×1, linear) ─ 1×1 conv ──────► (B,1536,8,8) ─ avg pool ─ dropout ─ fc
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ...nn import DropPath, drop_path_rates
from ...registry import Paper, register_model
from ._base import ImageClassifier, linear_head
from .inception_v3 import ActLayer, BasicConv2d, BatchNorm, ConcatBranches, ExpandedOutput, NormLayer, scaled

__all__ = [
    "StemV4",
    "StemV3",
    "InceptionA",
    "InceptionB",
    "InceptionC",
    "ReductionA",
    "ReductionB",
    "ReductionResNetB",
    "InceptionResNetBlock",
    "InceptionResNetA",
    "InceptionResNetB",
    "InceptionResNetC",
    "InceptionV4",
    "InceptionResNetV2",
]

SZEGEDY_2017 = Paper(
    title="Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
    authors="Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alex Alemi",
    year=2017,
    arxiv="1602.07261",
)


def _avg_pool() -> nn.Module:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class _Branches(ConcatBranches):
    """Given branches of known total width, concatenated."""

    def __init__(self, branches: Sequence[nn.Module], out_chans: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.out_chans = out_chans


class _Concat2(nn.Module):
    """Two branches on the same input, concatenated (the stem's and Reduction modules' building block)."""

    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.a(x), self.b(x)], dim=1)


class StemV4(nn.Module):
    """The stem of Inception-v4 and of the paper's Inception-ResNet-v2 (Fig. 3); 'V' = valid padding.

    3×3/2 (32, V) → 3×3 (32, V) → 3×3 (64) → [3×3/2 max pool ‖ 3×3/2 (96, V)] →
    [1×1 (64) → 3×3 (96, V) ‖ 1×1 (64) → 1×7 (64) → 7×1 (64) → 3×3 (96, V)] →
    [3×3/2 (192, V) ‖ 3×3/2 max pool].

    Shapes:
        x: (B, in_chans, 299, 299) → (B, 384, 35, 35).
    """

    #: (kernel, stride, padding) of the layers that change the grid, for the input-size check.
    geometry = ((3, 2, 0), (3, 1, 0), (3, 1, 1), (3, 2, 0), (3, 1, 0), (3, 2, 0))

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
        c32, c64, c96, c192 = (scaled(c, width_mult) for c in (32, 64, 96, 192))
        self.convs = nn.Sequential(
            conv(in_chans, c32, 3, stride=2), conv(c32, c32, 3), conv(c32, c64, 3, padding=1)
        )  # 299 → 149 → 147 → 147
        self.mixed_3a = _Concat2(nn.MaxPool2d(3, stride=2), conv(c64, c96, 3, stride=2))  # 147 → 73
        self.mixed_4a = _Concat2(
            nn.Sequential(conv(c64 + c96, c64, 1), conv(c64, c96, 3)),
            nn.Sequential(
                conv(c64 + c96, c64, 1),
                conv(c64, c64, (1, 7), padding=(0, 3)),
                conv(c64, c64, (7, 1), padding=(3, 0)),
                conv(c64, c96, 3),
            ),
        )  # 73 → 71
        self.mixed_5a = _Concat2(conv(2 * c96, c192, 3, stride=2), nn.MaxPool2d(3, stride=2))  # 71 → 35
        self.out_chans = c192 + 2 * c96

    def forward(self, x: Tensor) -> Tensor:
        return self.mixed_5a(self.mixed_4a(self.mixed_3a(self.convs(x))))


class StemV3(nn.Module):
    """The reference Inception-ResNet-v2 stem: Inception-v3's stem, then one 35×35 Inception module.

    3×3/2 (32) → 3×3 (32) → 3×3 (64) → 3×3/2 max pool → 1×1 (80) → 3×3 (192) → 3×3/2 max pool →
    [1×1 (96) ‖ 1×1 (48) → 5×5 (64) ‖ 1×1 (64) → 3×3 (96) → 3×3 (96) ‖ 3×3 avg pool → 1×1 (64)].

    Shapes:
        x: (B, in_chans, 299, 299) → (B, 320, 35, 35).
    """

    geometry = ((3, 2, 0), (3, 1, 0), (3, 1, 1), (3, 2, 0), (1, 1, 0), (3, 1, 0), (3, 2, 0))

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
        c32, c48, c64, c80, c96, c192 = (scaled(c, width_mult) for c in (32, 48, 64, 80, 96, 192))
        self.convs = nn.Sequential(
            conv(in_chans, c32, 3, stride=2),
            conv(c32, c32, 3),
            conv(c32, c64, 3, padding=1),
            nn.MaxPool2d(3, stride=2),
            conv(c64, c80, 1),
            conv(c80, c192, 3),
            nn.MaxPool2d(3, stride=2),
        )
        self.mixed_5b = _Branches(
            [
                conv(c192, c96, 1),
                nn.Sequential(conv(c192, c48, 1), conv(c48, c64, 5, padding=2)),
                nn.Sequential(conv(c192, c64, 1), conv(c64, c96, 3, padding=1), conv(c96, c96, 3, padding=1)),
                nn.Sequential(_avg_pool(), conv(c192, c64, 1)),
            ],
            out_chans=2 * c96 + 2 * c64,
        )
        self.out_chans = self.mixed_5b.out_chans

    def forward(self, x: Tensor) -> Tensor:
        return self.mixed_5b(self.convs(x))


class InceptionA(ConcatBranches):
    """Inception-A, the 35×35 module of Inception-v4 (Fig. 4).

    [3×3 avg pool → 1×1 (96) ‖ 1×1 (96) ‖ 1×1 (64) → 3×3 (96) ‖ 1×1 (64) → 3×3 (96) → 3×3 (96)].

    Shapes:
        x: (B, in_chans, H, W) → (B, 384, H, W).
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
        c64, c96 = scaled(64, width_mult), scaled(96, width_mult)
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c96, 1),
                nn.Sequential(conv(in_chans, c64, 1), conv(c64, c96, 3, padding=1)),
                nn.Sequential(conv(in_chans, c64, 1), conv(c64, c96, 3, padding=1), conv(c96, c96, 3, padding=1)),
                nn.Sequential(_avg_pool(), conv(in_chans, c96, 1)),
            ]
        )
        self.out_chans = 4 * c96


class ReductionA(ConcatBranches):
    """Reduction-A, 35×35 → 17×17 (Fig. 7), with the filter counts k, l, m, n of Table 1.

    [3×3/2 max pool (V) ‖ 3×3/2 (n, V) ‖ 1×1 (k) → 3×3 (l) → 3×3/2 (m, V)].
    Table 1: Inception-v4 (192, 224, 256, 384); Inception-ResNet-v2 (256, 256, 384, 384).

    Shapes:
        x: (B, in_chans, H, W) → (B, in_chans + m + n, (H-3)//2 + 1, (W-3)//2 + 1).
    """

    def __init__(
        self,
        in_chans: int,
        k: int,
        l: int,  # noqa: E741 (the paper's name)
        m: int,
        n: int,
        *,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        k, l, m, n = (scaled(c, width_mult) for c in (k, l, m, n))  # noqa: E741
        self.branches = nn.ModuleList(
            [
                conv(in_chans, n, 3, stride=2),
                nn.Sequential(conv(in_chans, k, 1), conv(k, l, 3, padding=1), conv(l, m, 3, stride=2)),
                nn.MaxPool2d(3, stride=2),
            ]
        )
        self.out_chans = n + m + in_chans


class InceptionB(ConcatBranches):
    """Inception-B, the 17×17 module of Inception-v4 (Fig. 5): 7×7 factorised into 1×7 and 7×1.

    [3×3 avg pool → 1×1 (128) ‖ 1×1 (384) ‖ 1×1 (192) → 1×7 (224) → 7×1 (256) ‖
    1×1 (192) → 7×1 (192) → 1×7 (224) → 7×1 (224) → 1×7 (256)].

    Shapes:
        x: (B, in_chans, H, W) → (B, 1024, H, W).
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
        c128, c192, c224, c256, c384 = (scaled(c, width_mult) for c in (128, 192, 224, 256, 384))
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c384, 1),
                nn.Sequential(conv(in_chans, c192, 1), conv(c192, c224, **row), conv(c224, c256, **col)),
                nn.Sequential(
                    conv(in_chans, c192, 1),
                    conv(c192, c192, **col),
                    conv(c192, c224, **row),
                    conv(c224, c224, **col),
                    conv(c224, c256, **row),
                ),
                nn.Sequential(_avg_pool(), conv(in_chans, c128, 1)),
            ]
        )
        self.out_chans = c384 + 2 * c256 + c128


class ReductionB(ConcatBranches):
    """Reduction-B of Inception-v4, 17×17 → 8×8 (Fig. 8).

    [3×3/2 max pool (V) ‖ 1×1 (192) → 3×3/2 (192, V) ‖ 1×1 (256) → 1×7 (256) → 7×1 (320) → 3×3/2 (320, V)].

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
        c192, c256, c320 = (scaled(c, width_mult) for c in (192, 256, 320))
        self.branches = nn.ModuleList(
            [
                nn.Sequential(conv(in_chans, c192, 1), conv(c192, c192, 3, stride=2)),
                nn.Sequential(
                    conv(in_chans, c256, 1),
                    conv(c256, c256, (1, 7), padding=(0, 3)),
                    conv(c256, c320, (7, 1), padding=(3, 0)),
                    conv(c320, c320, 3, stride=2),
                ),
                nn.MaxPool2d(3, stride=2),
            ]
        )
        self.out_chans = c192 + c320 + in_chans


class InceptionC(ConcatBranches):
    """Inception-C, the 8×8 module of Inception-v4 (Fig. 6).

    [3×3 avg pool → 1×1 (256) ‖ 1×1 (256) ‖ 1×1 (384) → [1×3 (256) ‖ 3×1 (256)] ‖
    1×1 (384) → 3×1 (448) → 1×3 (512) → [1×3 (256) ‖ 3×1 (256)]].

    Shapes:
        x: (B, in_chans, H, W) → (B, 1536, H, W).
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
        c256, c384, c448, c512 = (scaled(c, width_mult) for c in (256, 384, 448, 512))
        self.branches = nn.ModuleList(
            [
                conv(in_chans, c256, 1),
                nn.Sequential(conv(in_chans, c384, 1), ExpandedOutput(c384, c256, conv)),
                nn.Sequential(
                    conv(in_chans, c384, 1),
                    conv(c384, c448, (3, 1), padding=(1, 0)),
                    conv(c448, c512, (1, 3), padding=(0, 1)),
                    ExpandedOutput(c512, c256, conv),
                ),
                nn.Sequential(_avg_pool(), conv(in_chans, c256, 1)),
            ]
        )
        self.out_chans = 6 * c256


class ReductionResNetB(ConcatBranches):
    """Reduction-B of Inception-ResNet-v2, 17×17 → 8×8 (Fig. 18).

    [3×3/2 max pool (V) ‖ 1×1 (256) → 3×3/2 (384, V) ‖ 1×1 (256) → 3×3/2 (288, V) ‖
    1×1 (256) → 3×3 (288) → 3×3/2 (320, V)].

    Shapes:
        x: (B, in_chans, H, W) → (B, in_chans + 992, (H-3)//2 + 1, (W-3)//2 + 1).
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
        c256, c288, c320, c384 = (scaled(c, width_mult) for c in (256, 288, 320, 384))
        self.branches = nn.ModuleList(
            [
                nn.Sequential(conv(in_chans, c256, 1), conv(c256, c384, 3, stride=2)),
                nn.Sequential(conv(in_chans, c256, 1), conv(c256, c288, 3, stride=2)),
                nn.Sequential(conv(in_chans, c256, 1), conv(c256, c288, 3, padding=1), conv(c288, c320, 3, stride=2)),
                nn.MaxPool2d(3, stride=2),
            ]
        )
        self.out_chans = c384 + c288 + c320 + in_chans


class InceptionResNetBlock(nn.Module):
    """Residual Inception block (§3.2, §3.3): y = act(x + drop_path(s · W·concat(branches(x)))).

    The 1×1 up-projection W ("1×1 Conv (... Linear)" in Figs. 16, 17, 19) restores the input width
    and has a bias but neither batch norm nor activation; the paper puts batch norm only on the
    traditional layers, not on the summations. The scale s (0.1–0.3, §3.3) keeps very wide residual
    networks from "dying" early in training.

    Shapes:
        x: (B, chans, H, W) → (B, chans, H, W).
    """

    def __init__(
        self,
        branches: ConcatBranches,
        chans: int,
        *,
        scale: float,
        drop_path: float = 0.0,
        act_layer: ActLayer | None = nn.ReLU,
    ) -> None:
        super().__init__()
        if scale <= 0:
            raise ValueError(f"residual scale must be > 0 (got {scale})")
        self.branches = branches
        self.up = nn.Conv2d(branches.out_chans, chans, 1)
        self.scale = scale
        self.drop_path = DropPath(drop_path)
        self.act = act_layer() if act_layer is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.drop_path(self.scale * self.up(self.branches(x))))


class InceptionResNetA(InceptionResNetBlock):
    """Inception-ResNet-A, 35×35 (Fig. 16): [1×1 (32) ‖ 1×1 (32) → 3×3 (32) ‖ 1×1 (32) → 3×3 (48) → 3×3 (64)]."""

    def __init__(
        self,
        chans: int,
        *,
        scale: float = 0.17,
        drop_path: float = 0.0,
        final_act: bool = True,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c32, c48, c64 = (scaled(c, width_mult) for c in (32, 48, 64))
        branches = [
            conv(chans, c32, 1),
            nn.Sequential(conv(chans, c32, 1), conv(c32, c32, 3, padding=1)),
            nn.Sequential(conv(chans, c32, 1), conv(c32, c48, 3, padding=1), conv(c48, c64, 3, padding=1)),
        ]
        super().__init__(
            _Branches(branches, 2 * c32 + c64),
            chans,
            scale=scale,
            drop_path=drop_path,
            act_layer=act_layer if final_act else None,
        )


class InceptionResNetB(InceptionResNetBlock):
    """Inception-ResNet-B, 17×17 (Fig. 17): [1×1 (192) ‖ 1×1 (128) → 1×7 (160) → 7×1 (192)]."""

    def __init__(
        self,
        chans: int,
        *,
        scale: float = 0.10,
        drop_path: float = 0.0,
        final_act: bool = True,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c128, c160, c192 = (scaled(c, width_mult) for c in (128, 160, 192))
        branches = [
            conv(chans, c192, 1),
            nn.Sequential(
                conv(chans, c128, 1), conv(c128, c160, (1, 7), padding=(0, 3)), conv(c160, c192, (7, 1), padding=(3, 0))
            ),
        ]
        super().__init__(
            _Branches(branches, 2 * c192),
            chans,
            scale=scale,
            drop_path=drop_path,
            act_layer=act_layer if final_act else None,
        )


class InceptionResNetC(InceptionResNetBlock):
    """Inception-ResNet-C, 8×8 (Fig. 19): [1×1 (192) ‖ 1×1 (192) → 1×3 (224) → 3×1 (256)]."""

    def __init__(
        self,
        chans: int,
        *,
        scale: float = 0.20,
        drop_path: float = 0.0,
        final_act: bool = True,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        conv = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)
        c192, c224, c256 = (scaled(c, width_mult) for c in (192, 224, 256))
        branches = [
            conv(chans, c192, 1),
            nn.Sequential(
                conv(chans, c192, 1), conv(c192, c224, (1, 3), padding=(0, 1)), conv(c224, c256, (3, 1), padding=(1, 0))
            ),
        ]
        super().__init__(
            _Branches(branches, c192 + c256),
            chans,
            scale=scale,
            drop_path=drop_path,
            act_layer=act_layer if final_act else None,
        )


_REDUCTION = (3, 2, 0)  # both reductions: 3×3 stride 2, valid


def _min_in_size(out: int, steps: Sequence[tuple[int, int, int]]) -> int:
    for k, s, p in reversed(steps):  # invert each step: in >= (out - 1)·s + k - 2p
        out = (out - 1) * s + k - 2 * p
    return out


class _InceptionV4Base(ImageClassifier):
    """Shared input check, head and initialisation of Inception-v4 and Inception-ResNet-v2."""

    min_input_size: int
    head_drop: nn.Module
    fc: nn.Module

    def _check(self, x: Tensor) -> None:
        self.check_input(x)
        if min(x.shape[-2:]) < self.min_input_size:
            raise ValueError(
                f"expected images of at least {self.min_input_size}×{self.min_input_size}, got {tuple(x.shape)}"
            )

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, C, h, w) → global average pool → dropout → (B, num_classes), or (B, C) features."""
        x = self.head_drop(x.mean(dim=(2, 3)))
        return x if pre_logits else self.fc(x)

    def reset_parameters(self) -> None:
        """TF-slim's initialisation: He normal (fan-in) convolutions, Glorot uniform classifier."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def _check_common(num_classes: int, in_chans: int, drop_rate: float, width_mult: float) -> None:
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0 (got {num_classes})")
    if in_chans <= 0:
        raise ValueError(f"in_chans must be > 0 (got {in_chans})")
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
    if width_mult <= 0:
        raise ValueError(f"width_mult must be > 0 (got {width_mult})")


class InceptionV4(_InceptionV4Base):
    """Inception-v4 (Szegedy et al. 2017, Fig. 9).

    Args:
        num_classes: classifier outputs; 0 gives pooled features.
        in_chans: input channels.
        drop_rate: dropout before the classifier (keep probability 0.8 in Fig. 9).
        depths: number of Inception-A, -B, -C modules (4, 7, 3).
        width_mult: multiplies every layer width (1.0 for the paper; tiny variants use less).
        norm_layer: normalisation after every convolution.
        act_layer: activation after every normalisation.

    Shapes:
        x: (B, in_chans, H, W), H, W >= 75 → (B, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.2,
        depths: tuple[int, int, int] = (4, 7, 3),
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        _check_common(num_classes, in_chans, drop_rate, width_mult)
        if len(depths) != 3 or min(depths) < 1:
            raise ValueError(f"depths must be three positive counts (got {depths})")
        self.in_chans, self.num_classes = in_chans, num_classes
        kw = dict(width_mult=width_mult, norm_layer=norm_layer, act_layer=act_layer)
        self.stem = StemV4(in_chans, **kw)
        chans = self.stem.out_chans
        self.blocks_a = nn.Sequential(*[InceptionA(chans, **kw) for _ in range(depths[0])])
        self.reduction_a = ReductionA(self.blocks_a[-1].out_chans, 192, 224, 256, 384, **kw)
        chans = self.reduction_a.out_chans
        self.blocks_b = nn.Sequential(*[InceptionB(chans, **kw) for _ in range(depths[1])])
        self.reduction_b = ReductionB(self.blocks_b[-1].out_chans, **kw)
        chans = self.reduction_b.out_chans
        self.blocks_c = nn.Sequential(*[InceptionC(chans, **kw) for _ in range(depths[2])])
        self.num_features = self.blocks_c[-1].out_chans
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(self.num_features, num_classes)
        self.min_input_size = _min_in_size(1, [*StemV4.geometry, _REDUCTION, _REDUCTION])  # 75
        self.reset_parameters()

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, 299, 299) → 35×35×384 → 17×17×1024 → (B, 1536, 8, 8)."""
        self._check(x)
        x = self.blocks_a(self.stem(x))
        x = self.blocks_b(self.reduction_a(x))
        return self.blocks_c(self.reduction_b(x))


class InceptionResNetV2(_InceptionV4Base):
    """Inception-ResNet-v2 (Szegedy et al. 2017, Figs. 15–19), reference layout by default.

    Args:
        num_classes: classifier outputs; 0 gives pooled features.
        in_chans: input channels.
        stem: ``"v3"`` (the reference: Inception-v3's stem + a 35×35 Inception module, 320 channels) or
            ``"v4"`` (the paper: Fig. 3, 384 channels).
        depths: number of Inception-ResNet-A, -B, -C blocks ((10, 20, 10) reference, (5, 10, 5) paper).
        scales: residual scales of the A, B, C blocks (§3.3).
        head_chans: width of the reference's final 1×1 convolution; with it the last C block has scale
            1.0 and no activation (the reference). ``None``: no final convolution, every block ends in
            its ReLU (the paper).
        drop_rate: dropout before the classifier (keep probability 0.8 in Fig. 15).
        drop_path_rate: stochastic depth of the last residual branch; earlier blocks get linearly less.
        width_mult: multiplies every layer width (1.0 for the paper; tiny variants use less).
        norm_layer: normalisation after every convolution.
        act_layer: activation after every normalisation and residual sum.

    Shapes:
        x: (B, in_chans, H, W), H, W >= 75 → (B, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        stem: str = "v3",
        depths: tuple[int, int, int] = (10, 20, 10),
        scales: tuple[float, float, float] = (0.17, 0.10, 0.20),
        head_chans: int | None = 1536,
        drop_rate: float = 0.2,
        drop_path_rate: float = 0.0,
        width_mult: float = 1.0,
        norm_layer: NormLayer = BatchNorm,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        _check_common(num_classes, in_chans, drop_rate, width_mult)
        stems = {"v3": StemV3, "v4": StemV4}
        if stem not in stems:
            raise ValueError(f"stem must be one of {sorted(stems)} (got {stem!r})")
        if len(depths) != 3 or min(depths) < 1:
            raise ValueError(f"depths must be three positive counts (got {depths})")
        if len(scales) != 3 or min(scales) <= 0:
            raise ValueError(f"scales must be three positive numbers (got {scales})")
        if head_chans is not None and head_chans <= 0:
            raise ValueError(f"head_chans must be > 0 or None (got {head_chans})")
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f"drop_path_rate must be in [0, 1) (got {drop_path_rate})")
        self.in_chans, self.num_classes = in_chans, num_classes
        kw = dict(width_mult=width_mult, norm_layer=norm_layer, act_layer=act_layer)
        total = sum(depths)  # stochastic depth grows linearly with depth, up to drop_path_rate
        dpr = drop_path_rates(drop_path_rate, total)
        dpr_a, dpr_b, dpr_c = dpr[: depths[0]], dpr[depths[0] : -depths[2]], dpr[-depths[2] :]

        self.stem = stems[stem](in_chans, **kw)
        chans = self.stem.out_chans
        self.blocks_a = nn.Sequential(*[InceptionResNetA(chans, scale=scales[0], drop_path=p, **kw) for p in dpr_a])
        self.reduction_a = ReductionA(chans, 256, 256, 384, 384, **kw)
        chans = self.reduction_a.out_chans
        self.blocks_b = nn.Sequential(*[InceptionResNetB(chans, scale=scales[1], drop_path=p, **kw) for p in dpr_b])
        self.reduction_b = ReductionResNetB(chans, **kw)
        chans = self.reduction_b.out_chans
        blocks_c = [InceptionResNetC(chans, scale=scales[2], drop_path=p, **kw) for p in dpr_c]
        if head_chans is not None:  # the reference: a linear last block, then 1×1 conv + BN + ReLU
            blocks_c[-1] = InceptionResNetC(chans, scale=1.0, drop_path=dpr_c[-1], final_act=False, **kw)
            self.head_conv: nn.Module = BasicConv2d(
                chans, scaled(head_chans, width_mult), 1, norm_layer=norm_layer, act_layer=act_layer
            )
            chans = scaled(head_chans, width_mult)
        else:
            self.head_conv = nn.Identity()
        self.blocks_c = nn.Sequential(*blocks_c)
        self.num_features = chans
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(chans, num_classes)
        self.min_input_size = _min_in_size(1, [*stems[stem].geometry, _REDUCTION, _REDUCTION])  # 75
        self.reset_parameters()

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, 299, 299) → 35×35×320 → 17×17×1088 → 8×8×2080 → (B, 1536, 8, 8) (reference)."""
        self._check(x)
        x = self.blocks_a(self.stem(x))
        x = self.blocks_b(self.reduction_a(x))
        return self.head_conv(self.blocks_c(self.reduction_b(x)))


def _v4(defaults: dict[str, Any], overrides: dict[str, Any]) -> InceptionV4:
    return InceptionV4(**{**defaults, **overrides})


def _irv2(defaults: dict[str, Any], overrides: dict[str, Any]) -> InceptionResNetV2:
    return InceptionResNetV2(**{**defaults, **overrides})


@register_model(
    paper=SZEGEDY_2017, reference="timm inception_v4", reference_params=42_679_816, input_size=(3, 299, 299)
)
def inception_v4(**kwargs: Any) -> InceptionV4:
    """Inception-v4 (Fig. 9)."""
    return _v4(dict(), kwargs)


@register_model(
    paper=SZEGEDY_2017, reference="timm inception_resnet_v2", reference_params=55_843_464, input_size=(3, 299, 299)
)
def inception_resnet_v2(**kwargs: Any) -> InceptionResNetV2:
    """Inception-ResNet-v2 as released by the authors (TF-slim) and ported by timm."""
    return _irv2(dict(), kwargs)


@register_model(
    paper=SZEGEDY_2017,
    reference="none (the paper's Fig. 15; no reference implementation exists)",
    input_size=(3, 299, 299),
)
def inception_resnet_v2_paper(**kwargs: Any) -> InceptionResNetV2:
    """Inception-ResNet-v2 as Fig. 15 draws it: Fig. 3 stem, 5/10/5 blocks, no final 1×1 convolution."""
    return _irv2(dict(stem="v4", depths=(5, 10, 5), head_chans=None), kwargs)


@register_model(paper=SZEGEDY_2017, reference="timm inception_v4", input_size=(3, 139, 139))
def inception_v4_tiny(**kwargs: Any) -> InceptionV4:
    """Inception-v4 at 1/16 width, one module per stage, 139×139 input (grids 15, 7, 3)."""
    return _v4(dict(width_mult=1 / 16, depths=(1, 1, 1), num_classes=10), kwargs)


@register_model(paper=SZEGEDY_2017, reference="timm inception_resnet_v2", input_size=(3, 139, 139))
def inception_resnet_v2_tiny(**kwargs: Any) -> InceptionResNetV2:
    """Inception-ResNet-v2 at 1/16 width, two blocks per stage, 139×139 input (grids 15, 7, 3)."""
    return _irv2(dict(width_mult=1 / 16, depths=(2, 2, 2), num_classes=10, drop_path_rate=0.1), kwargs)
