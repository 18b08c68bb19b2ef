"""I3D: Two-Stream Inflated 3D ConvNets, and the inflation of any 2D network into 3D.

Paper: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset",
CVPR 2017, arXiv 1705.07750. Reference implementations: deepmind/kinetics-i3d (Sonnet, ``InceptionI3d``)
and its PyTorch port piergiaj/pytorch-i3d (``pytorch_i3d.InceptionI3d``), whose parameter counts the
registered variants match exactly (12,697,264 for RGB, 12,675,312 for flow, with 400 classes).

Implemented:
    * Inflation (§2.4, "Inflating 2D ConvNets into 3D" and "Bootstrapping 3D filters from 2D filters"):
      every N×N kernel becomes N×N×N; its weights are the 2D weights repeated N times along time and
      divided by N, so that a "boring video" (one image repeated) gives the same activations as the
      image gives the 2D network. :func:`inflate_conv2d`, :func:`inflate_batchnorm`, :func:`inflate_pool`
      and :func:`inflate_model` convert modules; :func:`inflate_state_dict` maps a 2D state dict (e.g.
      paperzoo's ``googlenet`` or ``resnet18``) onto a 3D model's parameters by name.
    * The Inflated Inception-v1 of Fig. 3, layer for layer as the reference: Conv3d_1a_7x7 (stride 2),
      MaxPool3d_2a_3x3 (1×3×3, stride 1×2×2: no temporal pooling in the first two pools, §2.4 "Pacing
      receptive field growth"), Conv3d_2b_1x1, Conv3d_2c_3x3, MaxPool3d_3a_3x3, Mixed_3b/3c,
      MaxPool3d_4a_3x3 (3×3×3, stride 2), Mixed_4b-4f, MaxPool3d_5a_2x2 (2×2×2, stride 2), Mixed_5b/5c,
      average pooling (2×7×7, stride 1), dropout and a 1×1×1 logits layer whose outputs are averaged
      over time. Every conv is conv (no bias) → BatchNorm(eps=1e-3, momentum=0.01) → ReLU with
      TensorFlow 'SAME' padding computed from the input size (asymmetric for even sizes with stride 2,
      as Sonnet and pytorch-i3d); max pools pad with zeros as pytorch-i3d (their inputs follow a ReLU,
      so this equals TensorFlow's padding that ignores padded cells). Module names follow pytorch-i3d,
      so its checkpoints load after :func:`convert_pytorch_i3d_state_dict`.
    * RGB (3 channels) and optical-flow (2 channels, the x and y displacements) streams, and the
      two-stream network of §2.5 that trains the streams separately and averages their logits at test
      time (:class:`I3DTwoStream`, input ``[rgb, flow]``).
    * :meth:`I3D.from_2d`: initialisation from paperzoo's ``googlenet`` (torchvision layout) by inflation.
      The Inception modules of Sonnet's I3D, of TF-slim's InceptionV1 (the ImageNet checkpoint the
      paper inflated) and of torchvision's GoogLeNet all use a 3×3 kernel in the branch the GoogLeNet
      paper calls "5×5", so every conv of GoogLeNet maps onto one of I3D with the same spatial shape;
      only the classifiers (1000 ImageNet classes, auxiliary heads) have no counterpart. The two
      networks differ where 'SAME' padding is asymmetric: torchvision pads the 7×7/2 stem conv by 3 on
      both sides, Sonnet by 2 before and 3 after on even sizes, so the inflated net reproduces GoogLeNet
      on a boring video block by block (and the stem on odd sizes), not end to end.

Deviations: the final average pool uses a kernel of ``min(2, t) × min(7, h) × min(7, w)`` (TF-slim's
``reduced_kernel_size_3d``), which is the reference's 2×7×7 at 224×224 and lets smaller clips through
where the reference fails; its outputs are averaged over time and space (Sonnet averages over time;
space is 1×1 at 224). The 1×1×1 logits conv is a ``nn.Linear`` applied after that average, which is the
same function because the layer is affine. :class:`I3DTwoStream` averages the logits (the brief's and
the paper's "averaging their predictions"); Sonnet's ``evaluate_sample.py`` sums them, which ranks the
classes identically. The flow stream initialised from RGB GoogLeNet averages the stem kernel over the
three colour channels and copies it to each flow channel (the cross-modality initialisation of TSN,
Wang et al. 2016, §3.2); the paper does not say how it did this. Left out: the optical-flow computation
(TV-L1), the training schedule and the 64-frame/full-video test protocol.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model
from ..vision.googlenet import INCEPTION_TABLE
from ._base import VideoClassifier, check_clip, linear_head

__all__ = [
    "I3D",
    "I3DTwoStream",
    "Unit3D",
    "InceptionBlock3d",
    "MaxPool3dSame",
    "I3D_MIXED_TO_GOOGLENET",
    "same_padding",
    "pad_same",
    "inflate_conv2d",
    "inflate_batchnorm",
    "inflate_pool",
    "inflate_model",
    "inflate_state_dict",
    "googlenet_to_i3d_key",
    "convert_pytorch_i3d_state_dict",
    "reduced_avg_pool",
]

CARREIRA_2017 = Paper(
    title="Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset",
    authors="Joao Carreira, Andrew Zisserman",
    year=2017,
    arxiv="1705.07750",
)

# I3D's Inception blocks (the TF-slim InceptionV1 names) and the GoogLeNet module each one inflates.
I3D_MIXED_TO_GOOGLENET: dict[str, str] = {
    "Mixed_3b": "3a",
    "Mixed_3c": "3b",
    "Mixed_4b": "4a",
    "Mixed_4c": "4b",
    "Mixed_4d": "4c",
    "Mixed_4e": "4d",
    "Mixed_4f": "4e",
    "Mixed_5b": "5a",
    "Mixed_5c": "5b",
}

NormLayer = Callable[[int], nn.Module]
I3D_BN: NormLayer = partial(nn.BatchNorm3d, eps=1e-3, momentum=0.01)  # Sonnet's decay 0.99 → momentum 0.01

Triple = tuple[int, int, int]


def _triple(v: int | Sequence[int], name: str) -> Triple:
    t = (v, v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 3 or any(int(s) <= 0 for s in t):
        raise ValueError(f"{name} must be a positive int or three positive ints (got {v})")
    return tuple(int(s) for s in t)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# TensorFlow 'SAME' padding
# ---------------------------------------------------------------------------------------------------


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding (before, after) of one dimension: output ``ceil(size / stride)``.

    The total is ``max(kernel - stride, 0)`` when ``stride`` divides ``size``, else
    ``max(kernel - size % stride, 0)``; the extra cell of an odd total goes after.
    """
    total = max(kernel - (stride if size % stride == 0 else size % stride), 0)
    return total // 2, total - total // 2


def pad_same(x: Tensor, kernel: Triple, stride: Triple) -> Tensor:
    """Zero-pad ``(B, C, T, H, W)`` so that a VALID conv/pool with ``kernel``/``stride`` behaves as 'SAME'."""
    pads = [same_padding(s, k, st) for s, k, st in zip(x.shape[-3:], kernel, stride)]
    (tb, ta), (hb, ha), (wb, wa) = pads
    if tb == ta == hb == ha == wb == wa == 0:
        return x
    return F.pad(x, (wb, wa, hb, ha, tb, ta))


class Unit3D(nn.Module):
    """conv3d (no bias) → BatchNorm3d → ReLU with TensorFlow 'SAME' padding (Sonnet's ``Unit3D``).

    Attribute names (``conv3d``, ``bn``) follow pytorch-i3d so that its state dicts load as they are.

    Shapes:
        x: (B, in_chans, T, H, W) → (B, out_chans, ceil(T/s_t), ceil(H/s_h), ceil(W/s_w)).
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int | Sequence[int] = 1,
        *,
        stride: int | Sequence[int] = 1,
        norm_layer: NormLayer = I3D_BN,
    ) -> None:
        super().__init__()
        if in_chans <= 0 or out_chans <= 0:
            raise ValueError(f"channel counts must be > 0 (got {in_chans} → {out_chans})")
        self.kernel_size = _triple(kernel_size, "kernel_size")
        self.stride = _triple(stride, "stride")
        self.conv3d = nn.Conv3d(in_chans, out_chans, self.kernel_size, stride=self.stride, bias=False)
        self.bn = norm_layer(out_chans)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv3d(pad_same(x, self.kernel_size, self.stride))))


class MaxPool3dSame(nn.Module):
    """3D max pooling with TensorFlow 'SAME' padding (zeros, as pytorch-i3d; inputs are post-ReLU)."""

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int]) -> None:
        super().__init__()
        self.kernel_size = _triple(kernel_size, "kernel_size")
        self.stride = _triple(stride, "stride")

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool3d(pad_same(x, self.kernel_size, self.stride), self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=SAME"


class InceptionBlock3d(nn.Module):
    """The inflated Inception module (Fig. 3 right): GoogLeNet's four branches with 3×3×3 kernels.

    ```
    x ─┬─ 1×1×1 (c0) ──────────────────────────┐
       ├─ 1×1×1 (c1a) ─ 3×3×3 (c1b) ───────────┤
       ├─ 1×1×1 (c2a) ─ 3×3×3 (c2b) ───────────┼─ concat → (B, c0 + c1b + c2b + c3b, T, H, W)
       └─ maxpool 3×3×3/1 ─ 1×1×1 (c3b) ───────┘
    ```
    ``widths`` are GoogLeNet's Table 1 columns (#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj).
    Attribute names (``b0``, ``b1a``, ``b1b``, ``b2a``, ``b2b``, ``b3b``) follow pytorch-i3d.
    """

    def __init__(self, in_chans: int, widths: Sequence[int], *, norm_layer: NormLayer = I3D_BN) -> None:
        super().__init__()
        if len(widths) != 6:
            raise ValueError(f"widths must have 6 entries (got {len(widths)})")
        c0, c1a, c1b, c2a, c2b, c3b = widths
        unit = partial(Unit3D, norm_layer=norm_layer)
        self.b0 = unit(in_chans, c0, 1)
        self.b1a = unit(in_chans, c1a, 1)
        self.b1b = unit(c1a, c1b, 3)
        self.b2a = unit(in_chans, c2a, 1)
        self.b2b = unit(c2a, c2b, 3)
        self.b3a = MaxPool3dSame(3, 1)
        self.b3b = unit(in_chans, c3b, 1)
        self.out_chans = c0 + c1b + c2b + c3b

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → (B, out_chans, T, H, W)."""
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


def reduced_avg_pool(x: Tensor, kernel: Triple = (2, 7, 7)) -> Tensor:
    """Stride-1 average pooling with the kernel clipped to the input (TF-slim ``reduced_kernel_size_3d``).

    Shapes:
        x: (B, C, T, H, W) → (B, C, T - kt + 1, H - kh + 1, W - kw + 1), ``k = min(kernel, size)``.
    """
    k = tuple(min(k, s) for k, s in zip(kernel, x.shape[-3:]))
    return F.avg_pool3d(x, k, stride=1)


# ---------------------------------------------------------------------------------------------------
# I3D
# ---------------------------------------------------------------------------------------------------


class I3D(VideoClassifier):
    """Inflated Inception-v1 (Carreira & Zisserman 2017, Fig. 3), one stream (RGB or flow).

    ```
    (B, C, 64, 224, 224)
      Conv3d_1a_7x7 /2 ─ MaxPool3d_2a_3x3 (1×3×3 /1,2,2)            (B,   64, 32, 56, 56)
      Conv3d_2b_1x1 ─ Conv3d_2c_3x3 ─ MaxPool3d_3a_3x3 (1×3×3 /1,2,2) (B,  192, 32, 28, 28)
      Mixed_3b ─ Mixed_3c ─ MaxPool3d_4a_3x3 (3×3×3 /2)             (B,  480, 16, 14, 14)
      Mixed_4b ─ 4c ─ 4d ─ 4e ─ 4f ─ MaxPool3d_5a_2x2 (2×2×2 /2)    (B,  832,  8,  7,  7)
      Mixed_5b ─ Mixed_5c                                          (B, 1024,  8,  7,  7) = forward_features
      avg pool 2×7×7 /1 ─ dropout ─ logits (per position) ─ mean   (B, num_classes)
    ```

    Args:
        num_classes: classes (Kinetics-400); 0 makes ``forward`` return pooled features.
        in_chans: 3 for RGB, 2 for optical flow.
        drop_rate: dropout before the logits (pytorch-i3d: 0.5).
        norm_layer: normalisation after every conv (Sonnet/pytorch-i3d: BatchNorm3d(eps=1e-3, momentum=0.01)).
        channel_divisor: divide every width by this, for reduced variants.

    Shapes:
        x: (B, in_chans, T, H, W) → logits (B, num_classes).
    """

    classifier_attr = "logits"

    def __init__(
        self,
        *,
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.5,
        norm_layer: NormLayer = I3D_BN,
        channel_divisor: int = 1,
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        widths = [64, 192, *(c for row in INCEPTION_TABLE.values() for c in row)]
        if channel_divisor <= 0 or any(c % channel_divisor for c in widths):
            raise ValueError(f"channel_divisor must be > 0 and divide every width (got {channel_divisor})")
        d = channel_divisor
        unit = partial(Unit3D, norm_layer=norm_layer)
        self.in_chans, self.num_classes, self.channel_divisor = in_chans, num_classes, d

        self.Conv3d_1a_7x7 = unit(in_chans, 64 // d, 7, stride=2)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = unit(64 // d, 64 // d, 1)
        self.Conv3d_2c_3x3 = unit(64 // d, 192 // d, 3)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        c = 192 // d
        for name, module in I3D_MIXED_TO_GOOGLENET.items():
            block = InceptionBlock3d(c, [w // d for w in INCEPTION_TABLE[module]], norm_layer=norm_layer)
            setattr(self, name, block)
            c = block.out_chans
            if name == "Mixed_3c":
                self.MaxPool3d_4a_3x3 = MaxPool3dSame(3, 2)
            elif name == "Mixed_4f":
                self.MaxPool3d_5a_2x2 = MaxPool3dSame(2, 2)
        self.num_features = c
        self.dropout = nn.Dropout(drop_rate)
        self.logits = linear_head(self.num_features, num_classes)

    # The endpoints in the reference's order (Sonnet's VALID_ENDPOINTS up to Mixed_5c).
    ENDPOINTS = (
        "Conv3d_1a_7x7",
        "MaxPool3d_2a_3x3",
        "Conv3d_2b_1x1",
        "Conv3d_2c_3x3",
        "MaxPool3d_3a_3x3",
        "Mixed_3b",
        "Mixed_3c",
        "MaxPool3d_4a_3x3",
        "Mixed_4b",
        "Mixed_4c",
        "Mixed_4d",
        "Mixed_4e",
        "Mixed_4f",
        "MaxPool3d_5a_2x2",
        "Mixed_5b",
        "Mixed_5c",
    )

    def forward_endpoints(self, x: Tensor, start: str = "Conv3d_1a_7x7", end: str = "Mixed_5c") -> Tensor:
        """Run the endpoints from ``start`` to ``end`` (inclusive) on an intermediate tensor, unchecked."""
        names = self.ENDPOINTS
        if start not in names or end not in names or names.index(start) > names.index(end):
            raise ValueError(f"start and end must be endpoints in order, one of {names} (got {start!r}, {end!r})")
        for name in names[names.index(start) : names.index(end) + 1]:
            x = getattr(self, name)(x)
        return x

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → output of Mixed_5c, (B, 1024, ceil(T/8), ceil(H/32), ceil(W/32))."""
        self.check_input(x)
        return self.forward_endpoints(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 1024, t, h, w) → logits (B, num_classes), or the averaged features (B, 1024) with ``pre_logits``.

        The reference applies dropout and the 1×1×1 logits conv at every position of the 2×7×7 average
        pool and then averages the logits over time; averaging the dropped-out features first and
        applying the (affine) classifier once gives the same numbers.
        """
        x = rearrange(reduced_avg_pool(x), "b c t h w -> b (t h w) c")
        x = self.dropout(x).mean(dim=1)  # (B, C)
        return x if pre_logits else self.logits(x)

    @classmethod
    def from_2d(cls, googlenet: nn.Module, **kwargs: Any) -> I3D:
        """An I3D whose convs and batch norms are paperzoo's ``googlenet`` (torchvision layout) inflated (§2.4).

        ``kwargs`` go to the constructor (``num_classes``, ``in_chans``, ``channel_divisor``, ...); the
        logits layer keeps its fresh initialisation, GoogLeNet's classifiers are dropped.

        Raises:
            ValueError: if a GoogLeNet tensor has no counterpart or no inflatable shape (e.g. the paper
                variant ``googlenet_paper`` with real 5×5 kernels and conv biases).
        """
        model = cls(**kwargs)
        state = inflate_state_dict(
            googlenet.state_dict(), model, key_map=googlenet_to_i3d_key, ignore=("fc.*", "aux1.*", "aux2.*")
        )
        missing, unexpected = model.load_state_dict(state, strict=False)
        left = [k for k in missing if not k.startswith("logits.")]
        if left or unexpected:
            raise ValueError(f"GoogLeNet does not cover I3D: missing {left}, unexpected {unexpected}")
        return model


class I3DTwoStream(VideoClassifier):
    """Two-Stream I3D (§2.5): an RGB and a flow I3D trained separately, logits averaged at test time.

    ```
    rgb  (B, 3, T, H, W) ── I3D (RGB)  ── logits ─┐
                                                  ├─ mean → (B, num_classes)
    flow (B, 2, T, H, W) ── I3D (flow) ── logits ─┘
    ```
    ``forward_features`` returns the two streams' Mixed_5c maps; ``forward_head(..., pre_logits=True)``
    returns their pooled features concatenated, (B, 2048).

    Args:
        num_classes, drop_rate, norm_layer, channel_divisor: passed to both streams (:class:`I3D`).
        flow_chans: channels of the flow input (x and y displacement: 2).

    Shapes:
        x: ``[rgb (B, 3, T, H, W), flow (B, flow_chans, T', H, W)]`` → logits (B, num_classes).
    """

    def __init__(
        self,
        *,
        num_classes: int = 400,
        flow_chans: int = 2,
        drop_rate: float = 0.5,
        norm_layer: NormLayer = I3D_BN,
        channel_divisor: int = 1,
    ) -> None:
        super().__init__()
        stream = partial(
            I3D, num_classes=num_classes, drop_rate=drop_rate, norm_layer=norm_layer, channel_divisor=channel_divisor
        )
        self.rgb = stream(in_chans=3)
        self.flow = stream(in_chans=flow_chans)
        self.in_chans, self.num_classes = 3, num_classes
        self.num_features = self.rgb.num_features + self.flow.num_features

    def _check_pair(self, x: Any) -> None:
        if not isinstance(x, (list, tuple)) or len(x) != 2:
            got = f"{type(x).__name__} of length {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__
            raise ValueError(
                f"expected a list [rgb (B, 3, T, H, W), flow (B, {self.flow.in_chans}, T, H, W)], got {got}"
            )
        check_clip(x[0], 3, "RGB clips")
        check_clip(x[1], self.flow.in_chans, "flow clips")
        if x[0].shape[0] != x[1].shape[0]:
            raise ValueError(f"expected the same batch size in both streams, got {x[0].shape[0]} and {x[1].shape[0]}")

    def forward_features(self, x: Sequence[Tensor]) -> list[Tensor]:  # type: ignore[override]
        """``[rgb, flow]`` → ``[rgb Mixed_5c, flow Mixed_5c]``, each (B, 1024, t, h, w)."""
        self._check_pair(x)
        return [self.rgb.forward_features(x[0]), self.flow.forward_features(x[1])]

    def forward_head(self, x: Sequence[Tensor], pre_logits: bool = False) -> Tensor:  # type: ignore[override]
        """Average of the two streams' logits (B, num_classes), or concatenated features (B, 2048)."""
        if pre_logits:
            return torch.cat([self.rgb.forward_head(x[0], True), self.flow.forward_head(x[1], True)], dim=1)
        return 0.5 * (self.rgb.forward_head(x[0]) + self.flow.forward_head(x[1]))

    def get_classifier(self) -> nn.Module:
        return nn.ModuleList([self.rgb.logits, self.flow.logits])

    def reset_classifier(self, num_classes: int) -> None:
        """Replace both streams' classifiers (0: features only)."""
        self.rgb.reset_classifier(num_classes)
        self.flow.reset_classifier(num_classes)
        self.num_classes = num_classes


# ---------------------------------------------------------------------------------------------------
# Inflation (§2.4)
# ---------------------------------------------------------------------------------------------------


def _inflate_kernel(weight_2d: Tensor, time_kernel: int, in_chans: int | None = None) -> Tensor:
    """(out, in, kh, kw) → (out, in', t, kh, kw): repeated t times along time and divided by t (§2.4).

    A different input width ``in_chans`` (e.g. 2 flow channels from an RGB kernel) takes the mean over
    the 2D input channels and copies it to each new channel (TSN's cross-modality initialisation).
    """
    if in_chans is not None and in_chans != weight_2d.shape[1]:
        weight_2d = weight_2d.mean(dim=1, keepdim=True).expand(-1, in_chans, -1, -1)
    return weight_2d.unsqueeze(2).repeat(1, 1, time_kernel, 1, 1) / time_kernel


def inflate_conv2d(
    conv: nn.Conv2d, *, time_kernel: int, time_stride: int = 1, time_padding: int | None = None
) -> nn.Conv3d:
    """A ``Conv3d`` whose kernel is ``conv``'s repeated over ``time_kernel`` frames and divided by it (§2.4).

    On a clip of identical frames the result at every frame whose temporal window lies inside the clip
    equals ``conv`` applied to the frame ("boring-video fixed point").

    Args:
        conv: the 2D convolution (any groups, bias, dilation; ``padding_mode`` kept).
        time_kernel: temporal extent t of the kernel.
        time_stride: temporal stride.
        time_padding: temporal zero padding; None gives ``time_kernel // 2`` when ``conv`` pads, else 0,
            so that "valid" 2D convs stay valid in time.
    """
    if time_kernel <= 0 or time_stride <= 0:
        raise ValueError(f"time_kernel and time_stride must be > 0 (got {time_kernel}, {time_stride})")
    if isinstance(conv.padding, str):
        padding: str | Triple = conv.padding
        if time_padding is not None:
            raise ValueError(f"time_padding cannot be combined with padding={conv.padding!r}")
    else:
        tp = (time_kernel // 2 if any(conv.padding) else 0) if time_padding is None else time_padding
        padding = (tp, *conv.padding)
    conv3d = nn.Conv3d(
        conv.in_channels,
        conv.out_channels,
        (time_kernel, *conv.kernel_size),
        stride=(time_stride, *conv.stride),
        padding=padding,
        dilation=(1, *conv.dilation),
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        conv3d.weight.copy_(_inflate_kernel(conv.weight, time_kernel))
        if conv.bias is not None:
            conv3d.bias.copy_(conv.bias)
    return conv3d


def inflate_batchnorm(bn: nn.BatchNorm2d) -> nn.BatchNorm3d:
    """A ``BatchNorm3d`` with ``bn``'s affine parameters, running statistics, eps and momentum."""
    bn3d = nn.BatchNorm3d(
        bn.num_features,
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
        device=bn.running_mean.device if bn.running_mean is not None else None,
    )
    bn3d.load_state_dict(bn.state_dict())
    return bn3d


def inflate_pool(pool: nn.Module, *, time_kernel: int = 1, time_stride: int | None = None) -> nn.Module:
    """3D counterpart of a 2D pooling layer; by default it does not pool time (the first pools of §2.4).

    Max/average pools get ``time_kernel``/``time_stride`` (stride defaults to the kernel) and no temporal
    padding; adaptive pools keep their spatial output size and average (or max) over all of time, so
    that a global image pool becomes a global spatio-temporal pool.
    """
    ts = time_kernel if time_stride is None else time_stride
    if isinstance(pool, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = (nn.modules.utils._pair(v) for v in (pool.kernel_size, pool.stride or pool.kernel_size, pool.padding))
        if isinstance(pool, nn.MaxPool2d):
            d = nn.modules.utils._pair(pool.dilation)
            return nn.MaxPool3d((time_kernel, *k), (ts, *s), (0, *p), dilation=(1, *d), ceil_mode=pool.ceil_mode)
        if pool.divisor_override is not None:
            raise ValueError(f"AvgPool2d with divisor_override is not supported (got {pool.divisor_override})")
        return nn.AvgPool3d((time_kernel, *k), (ts, *s), (0, *p), pool.ceil_mode, pool.count_include_pad)
    if isinstance(pool, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = nn.modules.utils._pair(pool.output_size)
        if isinstance(pool, nn.AdaptiveAvgPool2d):
            return nn.AdaptiveAvgPool3d((1, *size))
        return nn.AdaptiveMaxPool3d((1, *size))
    raise ValueError(f"expected a 2D pooling layer, got {type(pool).__name__}")


def _cubic(name: str, conv: nn.Conv2d) -> int:
    """I3D's default: an N×N kernel becomes N×N×N (§2.4); non-square kernels take their height."""
    return conv.kernel_size[0]


def inflate_model(model: nn.Module, *, time_kernel: int | Callable[[str, nn.Conv2d], int] | None = None) -> nn.Module:
    """A deep copy of ``model`` with every 2D layer replaced by its inflated 3D counterpart (§2.4).

    Conv2d → :func:`inflate_conv2d` (temporal kernel from ``time_kernel``: an int for every conv, or a
    function of the module's qualified name and the conv; default N×N → N×N×N), BatchNorm2d →
    :func:`inflate_batchnorm`, pools → :func:`inflate_pool` (no temporal pooling), Dropout2d →
    Dropout3d. Other modules (ReLU, Linear, Flatten, containers) are kept. Only modules are converted:
    a ``forward`` that checks for 4-D input or calls 2-D functionals (e.g. the image classifiers'
    ``check_input``) needs a 3-D forward of its own, as :class:`I3D` has.
    """
    rule: Callable[[str, nn.Conv2d], int]
    if time_kernel is None:
        rule = _cubic
    elif isinstance(time_kernel, int):
        rule = lambda name, conv: time_kernel  # noqa: E731
    else:
        rule = time_kernel
    model = copy.deepcopy(model)

    def convert(name: str, m: nn.Module) -> nn.Module | None:
        if isinstance(m, nn.Conv2d):
            return inflate_conv2d(m, time_kernel=rule(name, m))
        if isinstance(m, nn.BatchNorm2d):
            return inflate_batchnorm(m)
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            return inflate_pool(m)
        if isinstance(m, nn.Dropout2d):
            return nn.Dropout3d(m.p)
        return None

    root = convert("", model)
    if root is not None:
        return root
    for name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            new = convert(f"{name}.{child_name}" if name else child_name, child)
            if new is not None:
                setattr(parent, child_name, new)
    return model


def inflate_state_dict(
    state_2d: Mapping[str, Tensor],
    model_3d: nn.Module,
    *,
    key_map: Callable[[str], str | None] | Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> dict[str, Tensor]:
    """Map a 2D network's state dict onto ``model_3d``'s by inflating every 2D kernel (§2.4).

    For each 2D entry, ``key_map`` gives the 3D name (identity when None; a mapping or a function that
    may return None to drop the entry). A 4-D conv kernel ``(out, in, kh, kw)`` meeting a 5-D target
    ``(out, in', t, kh, kw)`` is repeated over t and divided by t (a different ``in'`` takes the channel
    mean, see :func:`_inflate_kernel`); every other tensor (biases, batch-norm parameters and running
    statistics, linear layers) must have the target's shape and is copied.

    Args:
        state_2d: the 2D network's ``state_dict()``.
        model_3d: the 3D network; its parameter shapes decide the temporal extents.
        key_map: 2D name → 3D name.
        ignore: fnmatch patterns of 2D names to leave out (e.g. ``"fc.*"`` for a new classifier).

    Returns:
        A dict for ``model_3d.load_state_dict(..., strict=False)`` (3D names → tensors).

    Raises:
        ValueError: listing every 2D entry that is not ignored and has no 3D counterpart or whose shape
            cannot be inflated into the counterpart's.
    """
    target = model_3d.state_dict()
    patterns = tuple(ignore)
    if key_map is None:
        rename: Callable[[str], str | None] = lambda k: k  # noqa: E731
    elif isinstance(key_map, Mapping):
        rename = key_map.get
    else:
        rename = key_map
    out: dict[str, Tensor] = {}
    problems: list[str] = []
    for key, value in state_2d.items():
        if any(fnmatch.fnmatchcase(key, p) for p in patterns):
            continue
        key3 = rename(key)
        if key3 is None or key3 not in target:
            problems.append(f"{key}: no counterpart{f' ({key3})' if key3 else ''}")
            continue
        want = target[key3]
        if value.dim() == 4 and want.dim() == 5:
            out_c, _, t, kh, kw = want.shape
            if (value.shape[0], *value.shape[2:]) != (out_c, kh, kw):
                problems.append(f"{key}: {tuple(value.shape)} cannot inflate to {key3} {tuple(want.shape)}")
                continue
            out[key3] = _inflate_kernel(value, t, in_chans=want.shape[1]).to(want.dtype)
        elif value.shape == want.shape:
            out[key3] = value.detach().clone()
        else:
            problems.append(f"{key}: {tuple(value.shape)} does not match {key3} {tuple(want.shape)}")
    if problems:
        raise ValueError("cannot inflate the 2D state dict: " + "; ".join(problems))
    return out


# GoogLeNet (torchvision layout) → I3D names: stem convs, then the branches of each Inception module.
_GOOGLENET_STEM = {"conv1": "Conv3d_1a_7x7", "conv2": "Conv3d_2b_1x1", "conv3": "Conv3d_2c_3x3"}
_GOOGLENET_BRANCH = {
    "branch1": "b0",
    "branch2.0": "b1a",
    "branch2.1": "b1b",
    "branch3.0": "b2a",
    "branch3.1": "b2b",
    "branch4.1": "b3b",
}
_GOOGLENET_TO_MIXED = {f"inception{v}": k for k, v in I3D_MIXED_TO_GOOGLENET.items()}


def googlenet_to_i3d_key(key: str) -> str | None:
    """``inception3a.branch2.1.conv.weight`` → ``Mixed_3b.b1b.conv3d.weight``; None where I3D has no such layer."""
    parts = key.split(".")
    if parts[0] in _GOOGLENET_STEM and len(parts) == 3:
        unit, rest = _GOOGLENET_STEM[parts[0]], parts[1:]
    elif parts[0] in _GOOGLENET_TO_MIXED:
        branch = ".".join(parts[1:-2]) if len(parts) > 3 else parts[1]
        if branch not in _GOOGLENET_BRANCH:
            return None
        unit, rest = f"{_GOOGLENET_TO_MIXED[parts[0]]}.{_GOOGLENET_BRANCH[branch]}", parts[-2:]
    else:
        return None
    layer = {"conv": "conv3d", "bn": "bn"}.get(rest[0])
    return f"{unit}.{layer}.{rest[1]}" if layer else None


def convert_pytorch_i3d_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A piergiaj/pytorch-i3d ``InceptionI3d`` state dict in :class:`I3D`'s names.

    Only the logits differ: its 1×1×1 conv ``logits.conv3d.weight`` (K, 1024, 1, 1, 1) becomes the
    linear ``logits.weight`` (K, 1024).
    """
    out = {}
    for key, value in state.items():
        if key.startswith("logits.conv3d."):
            key = "logits." + key.removeprefix("logits.conv3d.")
            value = value.flatten(1) if value.dim() == 5 else value
        out[key] = value
    return out


# ---------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------


def _build(cls: type, defaults: dict[str, Any], overrides: dict[str, Any]) -> Any:
    return cls(**{**defaults, **overrides})


def _two_stream_input(frames: int, size: int, channel: int = 2) -> Callable[[int, Any], list[Tensor]]:
    def make(batch_size: int, device: Any = "cpu") -> list[Tensor]:
        return [
            torch.randn(batch_size, 3, frames, size, size, device=device),
            torch.randn(batch_size, channel, frames, size, size, device=device),
        ]

    return make


@register_model(
    paper=CARREIRA_2017,
    reference="piergiaj/pytorch-i3d pytorch_i3d.InceptionI3d(400, in_channels=3)",
    reference_params=12_697_264,
    input_size=(3, 64, 224, 224),
)
def i3d_rgb(**kwargs: Any) -> I3D:
    """The RGB stream: Inflated Inception-v1 on 64-frame 224×224 clips (§2.4, §3)."""
    return _build(I3D, dict(in_chans=3), kwargs)


@register_model(
    paper=CARREIRA_2017,
    reference="piergiaj/pytorch-i3d pytorch_i3d.InceptionI3d(400, in_channels=2)",
    reference_params=12_675_312,
    input_size=(2, 64, 224, 224),
)
def i3d_flow(**kwargs: Any) -> I3D:
    """The optical-flow stream: the same network on 2-channel (x, y) flow clips."""
    return _build(I3D, dict(in_chans=2), kwargs)


@register_model(
    paper=CARREIRA_2017,
    reference="piergiaj/pytorch-i3d InceptionI3d(400, in_channels=3) + InceptionI3d(400, in_channels=2)",
    reference_params=12_697_264 + 12_675_312,
    input_size=(3, 64, 224, 224),
    example_input=_two_stream_input(64, 224),
)
def i3d_two_stream(**kwargs: Any) -> I3DTwoStream:
    """Two-Stream I3D (§2.5): RGB and flow streams, logits averaged; input ``[rgb, flow]``."""
    return _build(I3DTwoStream, dict(), kwargs)


@register_model(
    paper=CARREIRA_2017,
    reference="piergiaj/pytorch-i3d InceptionI3d + InceptionI3d(in_channels=2)",
    input_size=(3, 8, 32, 32),
    example_input=_two_stream_input(8, 32),
)
def i3d_two_stream_tiny(**kwargs: Any) -> I3DTwoStream:
    """Two-Stream I3D at 1/8 width on 8×32×32 clips."""
    return _build(I3DTwoStream, dict(channel_divisor=8), kwargs)


@register_model(paper=CARREIRA_2017, reference="piergiaj/pytorch-i3d InceptionI3d", input_size=(3, 8, 32, 32))
def i3d_tiny(**kwargs: Any) -> I3D:
    """The RGB stream at 1/8 width on 8×32×32 clips."""
    return _build(I3D, dict(channel_divisor=8), kwargs)
