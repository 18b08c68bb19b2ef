"""C3D: generic spatiotemporal features from 3×3×3 convolutions.

Paper: Tran, Bourdev, Fergus, Torresani & Paluri, "Learning Spatiotemporal Features with 3D Convolutional
Networks", ICCV 2015, arXiv:1412.0767.

Reference implementation: ``DavideA/c3d-pytorch`` (``C3D_model.py``), the widely used PyTorch port of the
authors' Caffe Sports-1M model (``facebook/C3D``, ``c3d_sport1m`` prototxt); 79,991,015 parameters with its
487 Sports-1M classes. Layer names follow the port (``conv1``, ``conv3a`` … ``conv5b``, ``fc6``, ``fc7``,
``fc8``), so its converted Sports-1M weights load as they are.

What is implemented (§3.3, Fig. 3):
    * 8 convolutions, all 3×3×3 with stride 1 and padding 1, with 64, 128, 256, 256, 512, 512, 512, 512
      filters (conv1, conv2, conv3a/b, conv4a/b, conv5a/b), each followed by ReLU.
    * 5 max pools: pool1 is 1×2×2 ("not to merge the temporal signal too early"), pool2 … pool5 are 2×2×2
      with stride 2, so a 16×112×112 clip becomes 1×4×4 after pool5 (the port pads pool5 by one pixel in H
      and W, which gives Caffe's ceil-mode 4×4 from a 7×7 map: 512·1·4·4 = 8192 inputs to fc6).
    * fc6 and fc7 with 4096 units, ReLU and dropout 0.5, then fc8 (softmax classifier, 487 Sports-1M
      classes by default as in the paper; Kinetics would be 400).
    * The paper's generic video descriptor (§3.3, "C3D video descriptor"): :meth:`C3D.extract_fc6` gives a
      clip's fc6 activations (4096-d, after ReLU), :meth:`C3D.video_descriptor` averages them over a video's
      clips and L2-normalises the mean.

Interface: ``forward_features`` returns the pool5 map ``(B, 512, 1, 4, 4)``; ``forward_head`` runs
fc6 → fc7 → fc8 and with ``pre_logits=True`` stops before fc8 (the fc7 activations, which is what
``reset_classifier`` re-heads); the fc6 descriptor is :meth:`C3D.extract_fc6`.

Deviations and notes:
    * pool5 uses the port's symmetric padding (windows start one pixel before the map) where Caffe's ceil
      mode starts them at 0 and lets the last one hang over: the same 4×4 output, windows shifted by one.
    * The input clip size is fixed (fc6 is a dense layer on the flattened pool5 map); ``clip_size``
      changes it, and the fc6 width follows.
    * Initialisation is not given in the paper: He normal (fan-in) for convs, fc6 and fc7, N(0, 0.01²) for
      fc8, zero biases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import VideoClassifier, check_clip, linear_head

__all__ = ["C3D", "c3d_pool5_size"]

TRAN_2015 = Paper(
    title="Learning Spatiotemporal Features with 3D Convolutional Networks",
    authors="Du Tran, Lubomir Bourdev, Rob Fergus, Lorenzo Torresani, Manohar Paluri",
    year=2015,
    arxiv="1412.0767",
)

# Conv names of Fig. 3, grouped by the pool that closes each group.
_GROUPS = (("conv1",), ("conv2",), ("conv3a", "conv3b"), ("conv4a", "conv4b"), ("conv5a", "conv5b"))


def c3d_pool5_size(clip_size: Sequence[int]) -> tuple[int, int, int]:
    """(T, H, W) after pool5 for a ``(T, H, W)`` clip: pool1 halves H, W; pool2-4 halve T, H, W (floor);
    pool5 halves T (floor) and maps H to ⌊H / 2⌋ + 1 (its one-pixel padding). 16×112×112 → 1×4×4."""
    t, h, w = clip_size
    h, w = h // 2, w // 2  # pool1 (1×2×2)
    for _ in range(3):  # pool2 … pool4 (2×2×2)
        t, h, w = t // 2, h // 2, w // 2
    t5 = (t - 2) // 2 + 1 if t >= 2 else 0  # pool5 in T: no padding
    h5, w5 = (h // 2 + 1 if h >= 1 else 0), (w // 2 + 1 if w >= 1 else 0)  # pool5 in H, W: padding 1
    return t5, h5, w5


class C3D(VideoClassifier):
    """C3D (Tran et al. 2015, Fig. 3): 8 3×3×3 convs, 5 max pools, two 4096-unit FC layers, softmax.

    Data flow (16×112×112 clip)::

        conv1 64 → pool1 1×2×2                      (B,  64, 16, 56, 56)
        conv2 128 → pool2                           (B, 128,  8, 28, 28)
        conv3a/b 256 → pool3                        (B, 256,  4, 14, 14)
        conv4a/b 512 → pool4                        (B, 512,  2,  7,  7)
        conv5a/b 512 → pool5 (pad 0,1,1)            (B, 512,  1,  4,  4)   forward_features
        fc6 4096 → ReLU  (extract_fc6)  → dropout   (B, 4096)
        fc7 4096 → ReLU → dropout                   (B, 4096)              pre_logits
        fc8                                         (B, num_classes)

    Args:
        num_classes: classifier outputs (487 Sports-1M classes as in the paper; 0: no fc8).
        in_chans: input channels (3 RGB).
        clip_size: ``(T, H, W)`` of the input clips (16×112×112 in the paper).
        widths: filters of the 8 convolutions.
        fc_dim: units of fc6 and fc7.
        drop_rate: dropout after fc6 and fc7 (0.5 in the paper).
        act_layer: activation constructor (ReLU).

    Shapes:
        x: (B, in_chans, T, H, W) with (T, H, W) = clip_size → logits (B, num_classes).
    """

    classifier_attr = "fc8"

    def __init__(
        self,
        num_classes: int = 487,
        *,
        in_chans: int = 3,
        clip_size: Sequence[int] = (16, 112, 112),
        widths: Sequence[int] = (64, 128, 256, 256, 512, 512, 512, 512),
        fc_dim: int = 4096,
        drop_rate: float = 0.5,
        act_layer: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if len(widths) != 8 or min(widths) < 1:
            raise ValueError(f"widths must be 8 positive ints, one per conv (got {widths})")
        if len(clip_size) != 3:
            raise ValueError(f"clip_size must be (T, H, W) (got {clip_size})")
        pool5 = c3d_pool5_size(clip_size)
        if min(pool5) < 1:
            raise ValueError(f"clip_size {tuple(clip_size)} is too small: pool5 would be {pool5} (T >= 16 needed)")
        if in_chans < 1 or fc_dim < 1:
            raise ValueError(f"in_chans and fc_dim must be >= 1 (got {in_chans}, {fc_dim})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        self.in_chans, self.num_classes, self.drop_rate = in_chans, num_classes, drop_rate
        self.clip_size = tuple(int(s) for s in clip_size)

        in_chs, k = in_chans, 0
        for g, names in enumerate(_GROUPS):
            for name in names:
                self.add_module(name, nn.Conv3d(in_chs, widths[k], 3, padding=1))
                in_chs, k = widths[k], k + 1
            # pool1 keeps T ("not to merge the temporal signal too early", §3.1); pool5 pads H, W by one.
            kernel = (1, 2, 2) if g == 0 else (2, 2, 2)
            padding = (0, 1, 1) if g == len(_GROUPS) - 1 else 0
            self.add_module(f"pool{g + 1}", nn.MaxPool3d(kernel, stride=kernel, padding=padding))
        self.act = act_layer()
        self.pool5_shape = (in_chs, *pool5)

        self.fc6 = nn.Linear(in_chs * pool5[0] * pool5[1] * pool5[2], fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.num_features = fc_dim
        self.fc8 = linear_head(fc_dim, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        if isinstance(self.fc8, nn.Linear):
            nn.init.normal_(self.fc8.weight, 0.0, 0.01)

    def check_input(self, x: Tensor) -> None:
        check_clip(x, self.in_chans)
        if tuple(x.shape[2:]) != self.clip_size:
            t, h, w = self.clip_size
            raise ValueError(f"expected clips of shape (B, {self.in_chans}, {t}, {h}, {w}), got {tuple(x.shape)}")

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, 16, 112, 112) → pool5 map (B, 512, 1, 4, 4)."""
        self.check_input(x)
        for g, names in enumerate(_GROUPS):
            for name in names:
                x = self.act(getattr(self, name)(x))
            x = getattr(self, f"pool{g + 1}")(x)
        return x

    def _fc6(self, pool5: Tensor) -> Tensor:
        return self.act(self.fc6(torch.flatten(pool5, 1)))  # (B, fc_dim)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """pool5 map (B, 512, 1, 4, 4) → logits (B, num_classes), or the fc7 activations with ``pre_logits``."""
        x = F.dropout(self._fc6(x), self.drop_rate, self.training)
        x = F.dropout(self.act(self.fc7(x)), self.drop_rate, self.training)
        return x if pre_logits else self.fc8(x)

    def extract_fc6(self, x: Tensor) -> Tensor:
        """The paper's clip feature (§3.3): fc6 activations after ReLU, before dropout.

        Shapes:
            x: (B, in_chans, 16, 112, 112) → (B, 4096).
        """
        return self._fc6(self.forward_features(x))

    def video_descriptor(self, clips: Tensor) -> Tensor:
        """The C3D video descriptor (§3.3): fc6 of every clip, averaged over the clips, L2-normalised.

        Shapes:
            clips: (B, N, in_chans, 16, 112, 112), N clips per video → (B, 4096) with unit L2 norm.
        """
        if clips.dim() != 6:
            raise ValueError(f"expected clips of shape (B, N, {self.in_chans}, T, H, W), got {tuple(clips.shape)}")
        b, n = clips.shape[:2]
        fc6 = self.extract_fc6(clips.flatten(0, 1)).unflatten(0, (b, n))  # (B, N, 4096)
        return F.normalize(fc6.mean(dim=1), dim=-1)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> C3D:
    return C3D(**{**defaults, **overrides})


@register_model(
    paper=TRAN_2015,
    reference="DavideA/c3d-pytorch C3D_model.C3D (port of facebook/C3D c3d_sport1m)",
    reference_params=79_991_015,
    input_size=(3, 16, 112, 112),
)
def c3d(**kwargs: Any) -> C3D:
    """C3D at the paper's size: 16×112×112 clips, 487 Sports-1M classes."""
    return _build(dict(num_classes=487), kwargs)


@register_model(paper=TRAN_2015, reference="DavideA/c3d-pytorch C3D_model.C3D", input_size=(3, 16, 32, 32))
def c3d_tiny(**kwargs: Any) -> C3D:
    """C3D at 1/8 width (8 … 64 filters, fc 128) on 16×32×32 clips. Without BatchNorm, the narrower 1/16 net
    (4 filters in conv1) stayed at chance for 400 steps at any learning rate tried (3e-4 … 3e-3)."""
    return _build(
        dict(num_classes=10, clip_size=(16, 32, 32), widths=(8, 16, 32, 32, 64, 64, 64, 64), fc_dim=128), kwargs
    )
