"""Two-stream ConvNets (late fusion of a spatial and a temporal net) and their convolutional fusion.

Papers:
    Simonyan & Zisserman, "Two-Stream Convolutional Networks for Action Recognition in Videos",
    NeurIPS 2014, arXiv 1406.2199.
    Feichtenhofer, Pinz & Zisserman, "Convolutional Two-Stream Network Fusion for Video Action
    Recognition", CVPR 2016, arXiv 1604.06573.

Reference implementations: none in PyTorch. Simonyan & Zisserman trained with a modified Caffe that
was not released; Feichtenhofer et al. released MatConvNet code (``feichtenhofer/twostreamfusion``).
Every registered variant therefore has ``reference_params=None``, and the tests count the parameters
by hand from the papers' layer tables.

Implemented:

* :class:`CNNM2048`, the ConvNet of Simonyan & Zisserman's Fig. 1 (§5, "CNN-M-2048" of Chatfield et
  al. 2014): conv1 7×7/2 96 → LRN → pool; conv2 5×5/2 256 → LRN → pool; conv3, conv4, conv5 3×3 512
  → pool; full6 4096 + dropout; full7 2048 + dropout; classifier. ReLU after every weight layer, 3×3/2
  max pooling (Caffe's ceil mode), local response normalisation with AlexNet's constants. The temporal
  net is the same "without the second normalisation layer" (§5). conv2 has padding 1 (Chatfield et
  al., Table 1), which gives 224 → 109 → 54 → 26 → 13 → 6, i.e. a 6×6×512 input to full6.
* :class:`TwoStream`: a spatial stream on RGB frames ``(B, 3, H, W)`` and a temporal stream on
  ``2L`` stacked optical-flow channels ``(B, 2L, H, W)`` (§3.1, eq. 1: channels ``2k−1, 2k`` hold the
  horizontal and vertical displacement of frame ``k``; L = 10). Either stream is the paper's CNN-M-2048
  (``backbone="cnn_m_2048"``) or any registered 2-D image classifier (e.g. ``"vgg16"``, as Feichtenhofer
  et al.). Late fusion averages the two streams' softmax scores (§4); 5-D inputs ``(B, C, T, H, W)``
  carry T frames / flow stacks per video, whose scores are averaged too (§6, testing: 25 frames).
  ``forward`` returns the *log* of the averaged scores, so its softmax is exactly the fused score and
  argmax/cross-entropy work on it as on logits. The paper's other fusion, a multi-class linear SVM
  trained on the stacked L2-normalised softmax scores (§6), is a post-hoc classifier and is left to the
  user: the two streams' frame-averaged softmax scores are ``model.stream_scores(x)``.
* :class:`TwoStreamFusion` (Feichtenhofer et al. §3): two conv towers truncated after the last
  convolutional layer (ReLU5_3 of VGG-16), fused there by sum (eq. 1), max (eq. 2), concatenation
  (eq. 3, channels interleaved as written), conv fusion (eq. 4: concatenation followed by a learnt
  1×1×2D×D filter, initialised as two identity matrices so that it starts as sum fusion), or bilinear
  fusion (eq. 5: outer products summed over all locations, then signed square root and L2
  normalisation before the linear classifier, §3.1). Over time (§3.2-3.3): the towers run on each of T
  frames; ``fusion="conv3d"`` fuses the T stacked maps with a 3×3×3×2D×D convolution (identity-initialised
  at its centre tap), and ``pool="3d"`` replaces pool5 by a 3-D max pooling whose window covers all T
  time steps and 2×2 in space, so fc6 sees the same 7×7 grid as a single frame. With
  ``keep_temporal=True`` the temporal tower is not truncated (Fig. 4: its own pool5, fc6-fc8 and loss,
  predictions of both averaged at test time).

Training: Simonyan & Zisserman train the two streams separately (§4). The two losses touch disjoint
parameters, so training on their sum is the same; in training mode :class:`TwoStream` returns a
:class:`ClassifierOutput` whose main logits are the spatial stream's and whose auxiliary logits (weight
1) are the temporal stream's. ``train_streams="fused"`` instead trains through the late fusion.

Deviations and choices:

* Dropout: the paper reports a high ratio (0.9) working best for the temporal net (§6, Table 1); the
  defaults are 0.5 (spatial) and 0.9 (temporal); parameters are unaffected.
* Our readings of Feichtenhofer et al. where the text leaves a detail open: the 3-D pooling window spans
  all T frames (the paper samples T = 5 at stride τ = 10) and 2×2 in space, so the pooled map is pool5's
  7×7 and VGG-16's fc6 applies unchanged; the 3×3×3 fusion filter is initialised with the two identity
  matrices at its centre tap and zeros elsewhere (the 1×1 conv fusion's identity initialisation, extended).
* Initialisation: neither paper gives one for training from scratch; CNN-M-2048 uses N(0, 0.01)
  weights and zero biases (AlexNet's scale), the VGG towers torchvision's VGG initialisation.
* An adaptive average pool before full6 / fc6 (as in torchvision's AlexNet/VGG) is the identity at the
  papers' 224×224 input and lets reduced variants run on small inputs.
* Left out: trajectory stacking and the bi-directional flow of §3.1 (input construction), mean flow
  subtraction (a data transform), multi-task training on UCF-101 + HMDB-51 (§4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, create_model, register_model
from ..vision._base import ImageClassifier
from ..vision.alexnet import KrizhevskyLRN
from ..vision.vgg import VGG, VGG_DEPTHS
from ._base import ClassifierOutput, VideoClassifier, linear_head

__all__ = [
    "CNNM2048",
    "TwoStream",
    "TwoStreamFusion",
    "SpatialFusion",
    "concat_fusion",
    "bilinear_fusion",
    "first_conv_cross_modality",
]

SIMONYAN_2014 = Paper(
    title="Two-Stream Convolutional Networks for Action Recognition in Videos",
    authors="Karen Simonyan, Andrew Zisserman",
    year=2014,
    arxiv="1406.2199",
)
FEICHTENHOFER_2016 = Paper(
    title="Convolutional Two-Stream Network Fusion for Video Action Recognition",
    authors="Christoph Feichtenhofer, Axel Pinz, Andrew Zisserman",
    year=2016,
    arxiv="1604.06573",
)

FusionKind = Literal["sum", "max", "concat", "conv", "conv3d", "bilinear"]


class CNNM2048(ImageClassifier):
    """The spatial / temporal ConvNet of Simonyan & Zisserman 2014 (Fig. 1, §5; CNN-M-2048).

    ```
    (B, in_chans, 224, 224)
      conv1 7×7/2 (96) ─ ReLU ─ norm1 ─ maxpool 3/2       (B,  96, 109, 109) → (B,  96, 54, 54)
      conv2 5×5/2 (256) ─ ReLU ─ [norm2] ─ maxpool 3/2    (B, 256,  26,  26) → (B, 256, 13, 13)
      conv3, conv4, conv5 3×3 (512) ─ ReLU ─ maxpool 3/2  (B, 512,  13,  13) → (B, 512,  6,  6) = forward_features
      full6 4096 ─ ReLU ─ drop ─ full7 2048 ─ ReLU ─ drop ─ fc (num_classes)
    ```

    Args:
        num_classes: classes (UCF-101: 101); 0 makes ``forward`` return the full7 features.
        in_chans: 3 for the spatial net, 2L (20) for the temporal net.
        widths: kernels of conv1..conv5.
        hidden_dims: widths of full6 and full7.
        norm1_layer, norm2_layer: built with no arguments after the ReLUs of conv1 and conv2, or None
            (the temporal net has no second normalisation, §5).
        pool_size: output side of the adaptive average pool before full6 (6 at 224: the identity).
        drop_rate: dropout after full6 and full7.

    Shapes:
        x: (B, in_chans, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        *,
        num_classes: int = 101,
        in_chans: int = 3,
        widths: Sequence[int] = (96, 256, 512, 512, 512),
        hidden_dims: Sequence[int] = (4096, 2048),
        norm1_layer: Callable[[], nn.Module] | None = KrizhevskyLRN,
        norm2_layer: Callable[[], nn.Module] | None = KrizhevskyLRN,
        pool_size: int = 6,
        drop_rate: float = 0.5,
    ) -> None:
        super().__init__()
        if len(widths) != 5 or min(widths) <= 0:
            raise ValueError(f"widths must be five positive kernel counts (got {tuple(widths)})")
        if len(hidden_dims) != 2 or min(hidden_dims) <= 0:
            raise ValueError(f"hidden_dims must be two positive widths (got {tuple(hidden_dims)})")
        if in_chans <= 0 or pool_size <= 0:
            raise ValueError(f"in_chans and pool_size must be > 0 (got {in_chans}, {pool_size})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.in_chans, self.num_classes, self.num_features = in_chans, num_classes, hidden_dims[1]
        c1, c2, c3, c4, c5 = widths
        pool = partial(nn.MaxPool2d, 3, stride=2, ceil_mode=True)  # §5: 3×3 windows, stride 2 (Caffe rounding)
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, c1, 7, stride=2),
            nn.ReLU(inplace=True),
            norm1_layer() if norm1_layer is not None else nn.Identity(),
            pool(),
            nn.Conv2d(c1, c2, 5, stride=2, padding=1),
            nn.ReLU(inplace=True),
            norm2_layer() if norm2_layer is not None else nn.Identity(),
            pool(),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1),
            nn.ReLU(inplace=True),
            pool(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc6 = nn.Linear(c5 * pool_size * pool_size, hidden_dims[0])
        self.fc7 = nn.Linear(hidden_dims[0], hidden_dims[1])
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = linear_head(hidden_dims[1], num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, H, W) → conv5 after pooling, (B, 512, 6, 6) at 224×224."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 512, h, w) → logits (B, num_classes), or the full7 features (B, 2048) with ``pre_logits``."""
        x = self.avgpool(x).flatten(1)
        x = self.head_drop(F.relu(self.fc6(x)))
        x = self.head_drop(F.relu(self.fc7(x)))
        return x if pre_logits else self.fc(x)


def first_conv_cross_modality(model: nn.Module, in_chans: int) -> nn.Conv2d:
    """Replace the first ``nn.Conv2d`` of ``model`` by one for ``in_chans`` inputs (cross-modality init).

    The new kernel of every input channel is the old kernel averaged over its input channels; the
    bias is copied (Wang et al. 2016, §3.2; tsn-pytorch ``_construct_flow_model``). On an input that
    is constant across channels, the new conv's response (bias aside) is ``in_chans / old_in_chans``
    times the old one's. The model's ``in_chans`` attribute is updated when it has one.

    Returns:
        The new convolution (already set on its parent module).
    """
    if in_chans <= 0:
        raise ValueError(f"in_chans must be > 0 (got {in_chans})")
    found = next(((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)
    if found is None:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d to convert")
    name, conv = found
    if conv.groups != 1:
        raise ValueError(f"the first convolution must not be grouped (got groups={conv.groups})")
    new = nn.Conv2d(
        in_chans,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    ).to(device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(conv.weight.mean(dim=1, keepdim=True).expand_as(new.weight))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    parent_name, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, new)
    if hasattr(model, "in_chans"):
        model.in_chans = in_chans
    return new


def _make_stream(
    backbone: str,
    *,
    in_chans: int,
    num_classes: int,
    drop_rate: float,
    temporal: bool,
    cross_modality: bool,
    kwargs: dict[str, Any],
) -> ImageClassifier:
    if backbone == "cnn_m_2048":
        extra: dict[str, Any] = {"norm2_layer": None} if temporal else {}
        make = partial(CNNM2048, **{**extra, **kwargs})
    else:
        make = partial(create_model, backbone, **kwargs)
    if cross_modality and in_chans != 3:
        # Build the RGB net, then average its first conv over channels (the ImageNet-initialised route).
        net = make(num_classes=num_classes, in_chans=3, drop_rate=drop_rate)
        first_conv_cross_modality(net, in_chans)
        return net
    return make(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)


def _check_pair(x: Any, in_chans: tuple[int, int]) -> tuple[Tensor, Tensor]:
    if not isinstance(x, (list, tuple)) or len(x) != 2 or not all(isinstance(t, Tensor) for t in x):
        raise ValueError(f"expected a list [rgb, flow] of two tensors, got {type(x).__name__}")
    for t, c, what in zip(x, in_chans, ("rgb", "flow")):
        if t.dim() not in (4, 5) or t.shape[1] != c:
            raise ValueError(f"expected {what} of shape (B, {c}, H, W) or (B, {c}, T, H, W), got {tuple(t.shape)}")
    if x[0].shape[0] != x[1].shape[0]:
        raise ValueError(f"expected rgb and flow with the same batch size, got {x[0].shape[0]} and {x[1].shape[0]}")
    return x[0], x[1]


def _frames(x: Tensor) -> tuple[Tensor, int]:
    """(B, C, H, W) or (B, C, T, H, W) → ((B·T, C, H, W), T)."""
    if x.dim() == 4:
        return x, 1
    return rearrange(x, "b c t h w -> (b t) c h w"), x.shape[2]


def _log_mean_softmax(logits: Sequence[Tensor]) -> Tensor:
    """Log of the average of softmax scores: each (B, N_i, K) → (B, K)."""
    probs = torch.cat([t.softmax(-1) for t in logits], dim=1)  # (B, ΣN_i, K)
    return probs.mean(1).log()


class TwoStream(VideoClassifier):
    """Two-stream ConvNet with late fusion (Simonyan & Zisserman 2014, Fig. 1, §3-§4).

    ```
    rgb  (B, 3, [T,] H, W)  ─ spatial stream  ─ softmax ─┐
                                                          ├─ average (over streams and T) ─ log → (B, num_classes)
    flow (B, 2L, [T,] H, W) ─ temporal stream ─ softmax ─┘
    ```

    Args:
        backbone: ``"cnn_m_2048"`` (the paper's net) or the name of a registered 2-D image classifier.
        temporal_backbone: the temporal stream's network (default: ``backbone``).
        num_classes: classes (UCF-101: 101).
        flow_length: L, the number of stacked flow fields (2L input channels, §3.1: L = 10).
        drop_rate: dropout of the spatial stream's hidden layers / head.
        temporal_drop_rate: the same for the temporal stream.
        cross_modality_init: build the temporal stream as an RGB net whose first conv is then averaged
            over channels and replicated to 2L (the ImageNet route of Feichtenhofer et al. / TSN);
            Simonyan & Zisserman train the temporal net from scratch (False).
        train_streams: ``"separate"`` (§4; training mode returns spatial logits plus temporal auxiliary
            logits at weight 1) or ``"fused"`` (training mode returns the fused log-scores).
        backbone_kwargs: extra keyword arguments for both streams' constructors.

    Shapes:
        x: ``[rgb, flow]``, rgb (B, 3, H, W) or (B, 3, T, H, W), flow (B, 2L, H, W) or (B, 2L, T', H, W)
        → log of the averaged softmax scores (B, num_classes).
    """

    def __init__(
        self,
        backbone: str = "cnn_m_2048",
        *,
        temporal_backbone: str | None = None,
        num_classes: int = 101,
        flow_length: int = 10,
        drop_rate: float = 0.5,
        temporal_drop_rate: float = 0.9,
        cross_modality_init: bool = False,
        train_streams: Literal["separate", "fused"] = "separate",
        backbone_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if flow_length <= 0:
            raise ValueError(f"flow_length must be > 0 (got {flow_length})")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0: late fusion averages class scores (got {num_classes})")
        if train_streams not in ("separate", "fused"):
            raise ValueError(f"train_streams must be 'separate' or 'fused' (got {train_streams!r})")
        self.in_chans, self.num_classes = 3, num_classes
        self.flow_length, self.train_streams = flow_length, train_streams
        kw = dict(backbone_kwargs or {})
        self.spatial = _make_stream(
            backbone,
            in_chans=3,
            num_classes=num_classes,
            drop_rate=drop_rate,
            temporal=False,
            cross_modality=False,
            kwargs=kw,
        )
        self.temporal = _make_stream(
            temporal_backbone or backbone,
            in_chans=2 * flow_length,
            num_classes=num_classes,
            drop_rate=temporal_drop_rate,
            temporal=True,
            cross_modality=cross_modality_init,
            kwargs=kw,
        )
        self.num_features = self.spatial.num_features + self.temporal.num_features

    def check_input(self, x: Any) -> None:
        _check_pair(x, (3, 2 * self.flow_length))

    def forward_features(self, x: list[Tensor]) -> list[Tensor]:
        """``[rgb, flow]`` → each stream's pre-logit features per frame, [(B, T, D_s), (B, T', D_t)]."""
        self.check_input(x)
        out = []
        for stream, t in zip((self.spatial, self.temporal), x):
            frames, n = _frames(t)
            f = stream.forward_head(stream.forward_features(frames), pre_logits=True)  # (B·T, D)
            out.append(rearrange(f, "(b t) d -> b t d", t=n))
        return out

    def stream_logits(self, features: list[Tensor]) -> list[Tensor]:
        """Each stream's classifier on its features: [(B, T, K), (B, T', K)]."""
        return [s.get_classifier()(f) for s, f in zip((self.spatial, self.temporal), features)]

    def stream_scores(self, x: list[Tensor]) -> list[Tensor]:
        """Each stream's softmax scores averaged over its frames, [(B, K), (B, K)] (the SVM-fusion features)."""
        return [t.softmax(-1).mean(1) for t in self.stream_logits(self.forward_features(x))]

    def forward_head(self, x: list[Tensor], pre_logits: bool = False) -> Tensor:
        """Per-frame features → log of the softmax scores averaged over frames and streams (B, K);
        with ``pre_logits`` the frame-averaged features of both streams concatenated (B, D_s + D_t)."""
        if pre_logits:
            return torch.cat([f.mean(1) for f in x], dim=-1)
        return _log_mean_softmax(self.stream_logits(x))

    def forward(self, x: list[Tensor]) -> Tensor | ClassifierOutput:
        feats = self.forward_features(x)
        if self.training and self.train_streams == "separate":
            spatial, temporal = (t.mean(1) for t in self.stream_logits(feats))  # (B, K) each
            return ClassifierOutput(spatial, aux_logits=[temporal], aux_weights=[1.0])
        return self.forward_head(feats)

    def reset_classifier(self, num_classes: int) -> None:
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0: late fusion averages class scores (got {num_classes})")
        self.spatial.reset_classifier(num_classes)
        self.temporal.reset_classifier(num_classes)
        self.num_classes = num_classes

    def get_classifier(self) -> nn.Module:
        return nn.ModuleList([self.spatial.get_classifier(), self.temporal.get_classifier()])


# --------------------------------------------------------------------------------------------------
# Convolutional fusion (Feichtenhofer et al. 2016, §3)


def concat_fusion(xa: Tensor, xb: Tensor) -> Tensor:
    """Eq. 3: y_{2d} = x^a_d, y_{2d−1} = x^b_d (1-based), i.e. channels interleaved b_1, a_1, b_2, a_2, ...

    Shapes:
        xa, xb: (B, D, ...) → (B, 2D, ...).
    """
    return torch.stack([xb, xa], dim=2).flatten(1, 2)


def bilinear_fusion(xa: Tensor, xb: Tensor, *, normalize: bool = True) -> Tensor:
    """Eq. 5: y = Σ_{i,j} x^a_{i,j} ⊗ x^b_{i,j}, the outer products of the two feature vectors at each
    location summed over all locations; with ``normalize`` followed by the signed square root and L2
    normalisation ("power- and L2-normalisation", §3.1).

    Shapes:
        xa, xb: (B, D, H, W) → (B, D·D), entry d·D + e = Σ_{ij} x^a_{d,ij} x^b_{e,ij}.
    """
    y = torch.einsum("bdhw,behw->bde", xa, xb).flatten(1)
    if normalize:
        y = F.normalize(torch.sign(y) * torch.sqrt(y.abs() + 1e-12), dim=1)
    return y


class SpatialFusion(nn.Module):
    """Fusion of two equally shaped feature maps at one layer (Feichtenhofer et al. §3.1-3.2).

    ``sum`` y = x^a + x^b (eq. 1); ``max`` y = max(x^a, x^b) (eq. 2); ``concat`` eq. 3; ``conv`` eq. 4,
    y = y^cat ∗ f + b with a 1×1×2D×D filter; ``conv3d`` the same with a 3×3×3×2D×D filter over stacked
    time steps (§3.2). ``conv`` / ``conv3d`` start as sum fusion: f holds two identity matrices
    (at the centre tap for conv3d) and b = 0.

    Shapes:
        xa, xb: (B, D, H, W), or (B, D, T, H, W) for ``conv3d`` → (B, D or 2D, [T,] H, W).
    """

    def __init__(self, kind: FusionKind, channels: int) -> None:
        super().__init__()
        if kind not in ("sum", "max", "concat", "conv", "conv3d"):
            raise ValueError(f"kind must be sum, max, concat, conv or conv3d (got {kind!r})")
        if channels <= 0:
            raise ValueError(f"channels must be > 0 (got {channels})")
        self.kind, self.channels = kind, channels
        self.out_chans = 2 * channels if kind == "concat" else channels
        if kind == "conv":
            self.conv = nn.Conv2d(2 * channels, channels, 1)
        elif kind == "conv3d":
            self.conv = nn.Conv3d(2 * channels, channels, 3, padding=1)
        if kind in ("conv", "conv3d"):
            self.reset_identity()

    def reset_identity(self) -> None:
        """f = [I, I] (in the interleaved order of eq. 3) at the centre tap, b = 0: sum fusion."""
        w = self.conv.weight  # (D, 2D, k, k[, k])
        centre = tuple(s // 2 for s in w.shape[2:])
        eye = torch.eye(self.channels, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            w.zero_()
            w[(slice(None), slice(None), *centre)] = eye.repeat_interleave(2, dim=1)  # out d ← in 2d, 2d+1
            self.conv.bias.zero_()

    def forward(self, xa: Tensor, xb: Tensor) -> Tensor:
        if self.kind == "sum":
            return xa + xb
        if self.kind == "max":
            return torch.maximum(xa, xb)
        y = concat_fusion(xa, xb)
        return self.conv(y) if self.kind in ("conv", "conv3d") else y


class _VGGHead(nn.Module):
    """fc6 ─ ReLU ─ drop ─ fc7 ─ ReLU ─ drop ─ fc8 on a (B, C, 7, 7) map (VGG-16's classifier)."""

    def __init__(self, in_chans: int, num_classes: int, hidden_dim: int, pool_size: int, drop_rate: float) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc6 = nn.Linear(in_chans * pool_size * pool_size, hidden_dim)
        self.fc7 = nn.Linear(hidden_dim, hidden_dim)
        self.drop = nn.Dropout(drop_rate)
        self.fc = linear_head(hidden_dim, num_classes)
        for m in (self.fc6, self.fc7, self.fc):
            if isinstance(m, nn.Linear):  # torchvision's VGG initialisation
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.avgpool(x).flatten(1)
        x = self.drop(F.relu(self.fc6(x)))
        x = self.drop(F.relu(self.fc7(x)))
        return x if pre_logits else self.fc(x)


def _vgg_tower(depths: Sequence[int], widths: Sequence[int], in_chans: int) -> nn.Sequential:
    """VGG's conv layers up to the last ReLU (conv5_3 → ReLU5_3; pool5 dropped); torchvision's key order."""
    vgg = VGG(depths, widths=widths, in_chans=in_chans, num_classes=0, hidden_dim=1, pool_size=1)
    return nn.Sequential(*list(vgg.features)[:-1])


class TwoStreamFusion(VideoClassifier):
    """Two VGG towers fused after their last conv layer (Feichtenhofer et al. 2016, §3, Fig. 2-4).

    ```
    rgb  (B, 3, [T,] H, W)  ─ spatial tower  conv1_1 … ReLU5_3 ─┐ (B·T, 512, 14, 14)
                                                                 ├─ fusion ─ pool5 (2-D / 3-D) ─ fc6 ─ fc7 ─ fc8
    flow (B, 2L, [T,] H, W) ─ temporal tower conv1_1 … ReLU5_3 ─┘   (bilinear: eq. 5 ─ fc8)
                                   └─ [keep_temporal: pool5 ─ fc6 ─ fc7 ─ fc8, averaged at test time]
    ```

    Args:
        fusion: ``sum``, ``max``, ``concat``, ``conv`` (1×1 conv fusion, the paper's choice at ReLU5),
            ``conv3d`` (3×3×3 conv fusion over time, §3.2) or ``bilinear``.
        pool: ``"2d"`` (pool5 per frame, scores averaged over frames) or ``"3d"`` (§3.3: 3-D max pooling
            over all T steps and 2×2 in space).
        keep_temporal: keep the whole temporal net beside the fused one (Fig. 4).
        num_classes: classes (UCF-101: 101).
        flow_length: L (2L flow channels; the paper uses L = 10).
        depths, widths: VGG conv layers and widths per stage (VGG-16: ``VGG_DEPTHS["D"]``).
        hidden_dim: width of fc6 and fc7.
        pool_size: the adaptive pool before fc6 (7: the identity at 224×224).
        drop_rate: dropout after fc6 and fc7.
        normalize_bilinear: signed square root and L2 normalisation of the bilinear features.

    Shapes:
        x: ``[rgb, flow]``, (B, 3, H, W) and (B, 2L, H, W), or clips (B, 3, T, H, W) and (B, 2L, T, H, W)
        → logits (B, num_classes) for one frame; log of the frame-averaged softmax scores for T > 1 with
        2-D pooling; log of the averaged scores of the fused and temporal nets with ``keep_temporal`` in
        eval mode (in training a :class:`ClassifierOutput` with the temporal net's logits as auxiliary).
    """

    classifier_attr = "head"

    def __init__(
        self,
        *,
        fusion: FusionKind = "conv",
        pool: Literal["2d", "3d"] = "2d",
        keep_temporal: bool = False,
        num_classes: int = 101,
        flow_length: int = 10,
        depths: Sequence[int] = VGG_DEPTHS["D"],
        widths: Sequence[int] = (64, 128, 256, 512, 512),
        hidden_dim: int = 4096,
        pool_size: int = 7,
        drop_rate: float = 0.5,
        normalize_bilinear: bool = True,
    ) -> None:
        super().__init__()
        if fusion not in ("sum", "max", "concat", "conv", "conv3d", "bilinear"):
            raise ValueError(f"fusion must be sum, max, concat, conv, conv3d or bilinear (got {fusion!r})")
        if pool not in ("2d", "3d"):
            raise ValueError(f"pool must be '2d' or '3d' (got {pool!r})")
        if fusion == "bilinear" and pool == "3d":
            raise ValueError("bilinear fusion pools over all locations itself; use pool='2d' (got pool='3d')")
        if flow_length <= 0 or hidden_dim <= 0 or pool_size <= 0:
            raise ValueError(
                f"flow_length, hidden_dim and pool_size must be > 0 (got {flow_length}, {hidden_dim}, {pool_size})"
            )
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0 (got {num_classes})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.in_chans, self.num_classes, self.flow_length = 3, num_classes, flow_length
        self.fusion_kind, self.pool, self.keep_temporal = fusion, pool, keep_temporal
        self.spatial_tower = _vgg_tower(depths, widths, 3)
        self.temporal_tower = _vgg_tower(depths, widths, 2 * flow_length)
        for m in self.modules():  # torchvision's VGG initialisation of the convs
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        d = widths[-1]
        head = partial(
            _VGGHead, num_classes=num_classes, hidden_dim=hidden_dim, pool_size=pool_size, drop_rate=drop_rate
        )
        if fusion == "bilinear":
            self.fusion = None
            self.normalize_bilinear = normalize_bilinear
            self.num_features = d * d
            self.head = linear_head(d * d, num_classes)
        else:
            self.fusion = SpatialFusion(fusion, d)
            self.head = head(self.fusion.out_chans)
            self.num_features = hidden_dim
        self.temporal_head = head(d) if keep_temporal else None

    def check_input(self, x: Any) -> None:
        rgb, flow = _check_pair(x, (3, 2 * self.flow_length))
        if rgb.dim() != flow.dim() or (rgb.dim() == 5 and rgb.shape[2] != flow.shape[2]):
            raise ValueError(f"expected rgb and flow with the same number of frames, got {rgb.shape} and {flow.shape}")
        if self.fusion_kind == "conv3d" and rgb.dim() != 5:
            raise ValueError(f"expected clips (B, C, T, H, W) for 3-D conv fusion, got {tuple(rgb.shape)}")

    def _pool(self, x: Tensor, t: int) -> Tensor:
        """pool5: (B·T, C, h, w) → (B·T, C, h/2, w/2), or 3-D (§3.3) → (B, C, h/2, w/2) over all T."""
        if self.pool == "2d":
            return F.max_pool2d(x, 2)
        x = rearrange(x, "(b t) c h w -> b c t h w", t=t)
        return F.max_pool3d(x, (t, 2, 2)).squeeze(2)

    def forward_features(self, x: list[Tensor]) -> tuple[Tensor, Tensor]:
        """``[rgb, flow]`` → (fused map, temporal map): after fusion and pool5, (B·T or B, C, 7, 7);
        for bilinear fusion the fused features (B·T, D²)."""
        self.check_input(x)
        (rgb, t), (flow, _) = _frames(x[0]), _frames(x[1])
        xa, xb = self.spatial_tower(rgb), self.temporal_tower(flow)  # (B·T, D, h, w) each
        if self.fusion is None:
            y = bilinear_fusion(xa, xb, normalize=self.normalize_bilinear)
        elif self.fusion_kind == "conv3d":
            to3d = partial(rearrange, pattern="(b t) c h w -> b c t h w", t=t)
            y = rearrange(self.fusion(to3d(xa), to3d(xb)), "b c t h w -> (b t) c h w")
            y = self._pool(y, t)
        else:
            y = self._pool(self.fusion(xa, xb), t)
        return y, self._pool(xb, t)

    def forward_head(self, x: tuple[Tensor, Tensor], pre_logits: bool = False) -> Tensor:
        """(fused, temporal) maps → logits / log-averaged scores (B, K), or fused pre-logit features."""
        y, _ = x
        if self.fusion is None:
            return y if pre_logits else self.head(y)
        return self.head(y, pre_logits=pre_logits)

    def forward(self, x: list[Tensor]) -> Tensor | ClassifierOutput:
        y, yt = self.forward_features(x)
        b = x[0].shape[0]
        per_frame = y.shape[0] != b  # 2-D pooling over T > 1 frames: one prediction per frame
        logits = self.forward_head((y, yt))  # (B or B·T, K)
        logits = rearrange(logits, "(b t) k -> b t k", b=b)
        outputs = [logits]
        if self.temporal_head is not None:
            outputs.append(rearrange(self.temporal_head(yt), "(b t) k -> b t k", b=b))
        if self.training and self.temporal_head is not None:
            fused, temporal = (o.mean(1) for o in outputs)
            return ClassifierOutput(fused, aux_logits=[temporal], aux_weights=[1.0])
        if len(outputs) == 1 and not per_frame:
            return logits[:, 0]
        return _log_mean_softmax(outputs)

    def reset_classifier(self, num_classes: int) -> None:
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0 (got {num_classes})")
        if self.fusion is None:
            self.head = linear_head(self.num_features, num_classes)
        else:
            self.head.fc = linear_head(self.num_features, num_classes)
        if self.temporal_head is not None:
            self.temporal_head.fc = linear_head(self.temporal_head.fc.in_features, num_classes)
        self.num_classes = num_classes


# --------------------------------------------------------------------------------------------------
# Registered variants


def _example(flow_length: int, size: int, frames: int | None = None) -> Callable[[int, Any], list[Tensor]]:
    def make(batch: int, device: Any) -> list[Tensor]:
        t = () if frames is None else (frames,)
        return [
            torch.randn(batch, 3, *t, size, size, device=device),
            torch.randn(batch, 2 * flow_length, *t, size, size, device=device),
        ]

    return make


@register_model(
    paper=SIMONYAN_2014,
    reference="none (authors' Caffe code unreleased; CNN-M-2048 of Fig. 1 counted by hand in the tests)",
    input_size=(3, 224, 224),
    example_input=_example(10, 224),
)
def two_stream_cnn_m(**kwargs: Any) -> TwoStream:
    """The paper's two-stream net: CNN-M-2048 spatial stream, temporal stream on 20 flow channels (L = 10)."""
    return TwoStream(**{"backbone": "cnn_m_2048", **kwargs})


@register_model(
    paper=FEICHTENHOFER_2016,
    reference="none (feichtenhofer/twostreamfusion is MatConvNet; two torchvision vgg16 streams, counted in the tests)",
    input_size=(3, 224, 224),
    example_input=_example(10, 224),
)
def two_stream_vgg16(**kwargs: Any) -> TwoStream:
    """Late-fusion two-stream net on two VGG-16s (Feichtenhofer et al.'s baseline, Table 2), cross-modality init."""
    return TwoStream(**{"backbone": "vgg16", "cross_modality_init": True, "temporal_drop_rate": 0.5, **kwargs})


@register_model(
    paper=FEICHTENHOFER_2016,
    reference="none (feichtenhofer/twostreamfusion is MatConvNet; fusion layers counted by hand in the tests)",
    input_size=(3, 224, 224),
    example_input=_example(10, 224),
)
def two_stream_vgg16_fusion(**kwargs: Any) -> TwoStreamFusion:
    """Two VGG-16 towers fused at ReLU5_3 by a 1×1 conv (identity-initialised), then VGG-16's fc6-fc8."""
    return TwoStreamFusion(**{"fusion": "conv", **kwargs})


@register_model(
    paper=FEICHTENHOFER_2016,
    reference="none (feichtenhofer/twostreamfusion is MatConvNet)",
    input_size=(3, 224, 224),
    example_input=_example(10, 224, frames=5),
)
def two_stream_vgg16_fusion3d(**kwargs: Any) -> TwoStreamFusion:
    """The proposed architecture (Fig. 4): 3-D conv fusion + 3-D pooling on T = 5 frames, temporal net kept."""
    return TwoStreamFusion(**{"fusion": "conv3d", "pool": "3d", "keep_temporal": True, **kwargs})


_TINY_CNN_M = dict(widths=(8, 16, 16, 16, 16), hidden_dims=(32, 16), pool_size=1)


@register_model(
    paper=FEICHTENHOFER_2016,
    reference="none (reduced two_stream_vgg16_fusion3d)",
    input_size=(3, 32, 32),
    example_input=_example(2, 32, frames=2),
)
def two_stream_fusion_tiny(**kwargs: Any) -> TwoStreamFusion:
    """3-D conv fusion + 3-D pooling with the temporal net kept, on VGG-11-shaped towers at 1/8 width, 32×32."""
    return TwoStreamFusion(
        **{
            "fusion": "conv3d",
            "pool": "3d",
            "keep_temporal": True,
            "num_classes": 10,
            "flow_length": 2,
            "depths": VGG_DEPTHS["A"],
            "widths": (8, 16, 16, 16, 16),
            "hidden_dim": 16,
            "pool_size": 1,
            **kwargs,
        }
    )


@register_model(
    paper=SIMONYAN_2014,
    reference="none (reduced two_stream_cnn_m)",
    input_size=(3, 64, 64),
    example_input=_example(2, 64),
)
def two_stream_tiny(**kwargs: Any) -> TwoStream:
    """CNN-M-2048's layout at toy widths on 64×64 frames and L = 2 flow fields."""
    return TwoStream(
        **{"backbone": "cnn_m_2048", "num_classes": 10, "flow_length": 2, "backbone_kwargs": _TINY_CNN_M, **kwargs}
    )
