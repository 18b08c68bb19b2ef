"""SlowFast networks: a low-frame-rate Slow pathway and a thin high-frame-rate Fast pathway.

Paper: Feichtenhofer, Fan, Malik & He, "SlowFast Networks for Video Recognition", ICCV 2019,
arXiv:1812.03982. Reference implementations: pytorchvideo's ``create_slowfast`` (hub functions
``slowfast_r50`` and ``slowfast_r101``, the model zoo's ``SLOWFAST_8x8_R50`` / ``SLOWFAST_8x8_R101``) and
the authors' PySlowFast (``configs/Kinetics/SLOWFAST_4x16_R50.yaml``). Every registered variant matches
pytorchvideo's module for module, so its parameter count is the reference's exactly:

=====================  ====  =========  ================  ===========  ======================
variant                α     lateral    clip (slow/fast)  parameters   reference
=====================  ====  =========  ================  ===========  ======================
``slowfast_r50``       4     7×1×1 /4   8 / 32 frames     34,566,488   hub ``slowfast_r50``
``slowfast_r50_4x16``  8     5×1×1 /8   4 / 32 frames     34,480,216   PySlowFast 4x16 config
``slowfast_r101``      4     5×1×1 /4   8 / 32 frames     62,826,968   hub ``slowfast_r101``
=====================  ====  =========  ================  ===========  ======================

(``slowfast_r50_8x8`` is an alias of ``slowfast_r50``; the counts were read off pytorchvideo 0.1.5's
builders and agree with its model zoo's 34.57M / 34.48M / 62.83M.)

What is implemented (Table 1 and §3 of the paper):
    * Slow pathway: a 3D ResNet-50/101 whose stem is 1×7×7 (no temporal convolution) and whose bottleneck
      1×1 convs are inflated to 3×1×1 only in res4 and res5 ("non-degenerate temporal convolutions",
      §3.1: temporal kernels 1, 1, 3, 3 in res2..res5). No temporal downsampling anywhere.
    * Fast pathway (§3.2): the same network with β = 1/8 of the channels, a 5×7×7 stem and 3×1×1
      temporal kernels in every stage, reading α times more frames.
    * Lateral connections (§3.3): after pool1, res2, res3 and res4, a time-strided convolution
      (kernel k×1×1, stride α, 2βC outputs) + BN + ReLU maps the Fast features to the Slow frame rate
      and is concatenated to the Slow features (the paper's best option, Table 5a), so the next Slow stage
      reads C + 2βC channels.
    * Head: each pathway is globally average-pooled, the two vectors are concatenated (2048 + 256 = 2304
      for R50), dropout 0.5 (§4: "dropout of 0.5 before the final classifier") and a linear classifier.
    * :func:`pack_pathways` builds the two-clip input from one clip with the reference's temporal
      subsampling (pytorchvideo's ``PackPathway``: ``linspace(0, T - 1, T // α).long()``).

Deviations and notes:
    * The reference averages each pathway with a fixed ``AvgPool3d`` of (T, 7, 7) and averages the
      classifier's outputs over what is left (a no-op at 224×224); this model pools globally, which is
      the same at 224×224 and the fully-convolutional test the paper describes at other sizes.
    * The lateral kernel: the paper's Table 5 / PySlowFast use 5×1×1; pytorchvideo's ``slowfast_r50``
      (whose checkpoint is the 8x8 model of its zoo) uses 7×1×1. Both are offered (``lateral_kernel``).
    * Initialisation follows PySlowFast: He-normal (fan-out) convolutions, BN (1, 0) except the last BN
      of every residual branch, which starts at 0 (``ZERO_INIT_FINAL_BN``), classifier N(0, 0.01²).
    * Left out: non-local blocks, the AVA detection head and the time-strided-sampling and
      time-to-channel lateral variants of Table 5a.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._base import VideoClassifier, check_clip, linear_head

__all__ = ["SlowFast", "Bottleneck3d", "LateralConnection", "pack_pathways"]

SLOWFAST_2019 = Paper(
    title="SlowFast Networks for Video Recognition",
    authors="Christoph Feichtenhofer, Haoqi Fan, Jitendra Malik, Kaiming He",
    year=2019,
    arxiv="1812.03982",
)

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


def pack_pathways(clip: Tensor, alpha: int) -> list[Tensor]:
    """Split one clip into the ``[slow, fast]`` input of :class:`SlowFast`.

    The Fast pathway reads every frame; the Slow pathway reads ``T // alpha`` frames spread evenly over the
    clip, at indices ``linspace(0, T - 1, T // alpha)`` truncated to integers, exactly as the reference's
    ``PackPathway`` transform does (so the first and the last frame are always kept).

    Args:
        clip: ``(B, C, T, H, W)`` or a single ``(C, T, H, W)`` clip.
        alpha: the speed ratio α between the pathways (§3.2).

    Returns:
        ``[slow, fast]`` with ``slow`` of ``T // alpha`` frames and ``fast`` the clip itself.
    """
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1 (got {alpha})")
    if clip.dim() not in (4, 5):
        raise ValueError(f"expected a clip of shape (B, C, T, H, W) or (C, T, H, W), got {tuple(clip.shape)}")
    frames = clip.shape[-3]
    if frames < alpha:
        raise ValueError(f"expected at least alpha={alpha} frames, got {frames}")
    # torch.linspace in float32 and truncation by .long(), as the reference (not rounding).
    index = torch.linspace(0, frames - 1, frames // alpha).long().to(clip.device)
    return [clip.index_select(clip.dim() - 3, index), clip]


def _conv_bn_act(
    in_chs: int,
    out_chs: int,
    kernel: tuple[int, int, int],
    stride: tuple[int, int, int],
    norm_layer: NormLayer,
    act_layer: ActLayer | None,
) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    layers = [nn.Conv3d(in_chs, out_chs, kernel, stride=stride, padding=padding, bias=False), norm_layer(out_chs)]
    if act_layer is not None:
        layers.append(act_layer())
    return nn.Sequential(*layers)


class Bottleneck3d(nn.Module):
    """A 3D ResNet bottleneck: ``act(shortcut(x) + BN(conv_c(act(BN(conv_b(act(BN(conv_a(x)))))))))``.

    ``conv_a`` is ``kt×1×1`` (the temporal kernel of Table 1: 1 for a degenerate block, 3 otherwise),
    ``conv_b`` is ``1×3×3`` and carries the spatial stride, ``conv_c`` is ``1×1×1``. The shortcut is a
    strided 1×1×1 projection + BN where the shape changes (He et al. 2016, option B).

    Shapes:
        x: (B, in_chs, T, H, W) → (B, out_chs, T, ⌈H / stride⌉, ⌈W / stride⌉).
    """

    def __init__(
        self,
        in_chs: int,
        inner_chs: int,
        out_chs: int,
        *,
        temporal_kernel: int = 1,
        stride: int = 1,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be a positive odd number (got {temporal_kernel})")
        if stride < 1:
            raise ValueError(f"stride must be >= 1 (got {stride})")
        self.shortcut = (
            _conv_bn_act(in_chs, out_chs, (1, 1, 1), (1, stride, stride), norm_layer, None)
            if in_chs != out_chs or stride != 1
            else nn.Identity()
        )
        self.conv_a = _conv_bn_act(in_chs, inner_chs, (temporal_kernel, 1, 1), (1, 1, 1), norm_layer, act_layer)
        self.conv_b = _conv_bn_act(inner_chs, inner_chs, (1, 3, 3), (1, stride, stride), norm_layer, act_layer)
        self.conv_c = _conv_bn_act(inner_chs, out_chs, (1, 1, 1), (1, 1, 1), norm_layer, None)
        self.act = act_layer()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.shortcut(x) + self.conv_c(self.conv_b(self.conv_a(x))))


class LateralConnection(nn.Module):
    """Fast → Slow lateral connection by time-strided convolution (§3.3, option (iii)).

    A ``k×1×1`` convolution with temporal stride α turns the Fast features ``(B, βC, αT, H, W)`` into
    ``(B, ratio·βC, T, H, W)`` (the paper's 2βC), followed by BN and ReLU; the result is concatenated to the
    Slow features along channels.

    Shapes:
        slow: (B, C_s, T, H, W), fast: (B, C_f, αT, H, W) → (B, C_s + ratio·C_f, T, H, W).
    """

    def __init__(
        self,
        fast_chs: int,
        *,
        alpha: int,
        kernel: int = 5,
        ratio: int = 2,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"lateral kernel must be a positive odd number (got {kernel})")
        self.out_chs = ratio * fast_chs
        # Padding k // 2 with stride α maps αT frames to exactly T: ⌊(αT + 2⌊k/2⌋ - k) / α⌋ + 1 = T for odd k.
        self.conv = _conv_bn_act(fast_chs, self.out_chs, (kernel, 1, 1), (alpha, 1, 1), norm_layer, act_layer)

    def forward(self, slow: Tensor, fast: Tensor) -> Tensor:
        return torch.cat([slow, self.conv(fast)], dim=1)


class _Stem(nn.Sequential):
    """conv1 (kt×7×7, spatial stride 2) + BN + ReLU + pool1 (1×3×3 max, stride 2) of Table 1."""

    def __init__(
        self, in_chs: int, out_chs: int, temporal_kernel: int, norm_layer: NormLayer, act_layer: ActLayer
    ) -> None:
        super().__init__(
            _conv_bn_act(in_chs, out_chs, (temporal_kernel, 7, 7), (1, 2, 2), norm_layer, act_layer),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )


class _PathwayStage(nn.Module):
    """One stage of both pathways and the lateral connection that follows it (None after res5)."""

    def __init__(self, slow: nn.Module, fast: nn.Module, lateral: LateralConnection | None) -> None:
        super().__init__()
        self.slow, self.fast, self.lateral = slow, fast, lateral

    def forward(self, slow: Tensor, fast: Tensor) -> tuple[Tensor, Tensor]:
        slow, fast = self.slow(slow), self.fast(fast)
        if self.lateral is not None:
            slow = self.lateral(slow, fast)
        return slow, fast


class SlowFast(VideoClassifier):
    """SlowFast network (Feichtenhofer et al. 2019): two ResNet pathways fused by lateral connections.

    ::

        slow clip (B, 3, T, H, W)              fast clip (B, 3, αT, H, W)
                  │                                       │
           conv1 1×7×7, C  ── pool1                conv1 5×7×7, βC ── pool1
                  │ ◄──── concat ── lateral conv k×1×1, stride α, 2βC ──┤
           res2 (kt=1) 4C                           res2 (kt=3) 4βC
                  │ ◄──── concat ── lateral ────────────────────────────┤
           res3 (kt=1) 8C                           res3 (kt=3) 8βC
                  │ ◄──── concat ── lateral ────────────────────────────┤
           res4 (kt=3) 16C                          res4 (kt=3) 16βC
                  │ ◄──── concat ── lateral ────────────────────────────┤
           res5 (kt=3) 32C                          res5 (kt=3) 32βC
                  │                                       │
           global avg pool ─────────── concat ──── global avg pool
                                         │
                            dropout → fc (32C + 32βC → classes)

    Every Slow stage after a lateral reads ``C_slow + 2·C_fast`` channels; spatial strides are 2 in
    conv1, pool1, res3, res4 and res5; neither pathway strides in time.

    Args:
        layers: bottleneck blocks per stage (ResNet-50: 3, 4, 6, 3; ResNet-101: 3, 4, 23, 3).
        alpha: frame-rate ratio α between the pathways (Fast reads α times the Slow frames).
        beta_inv: 1/β, the Fast pathway's channel reduction (8 in the paper).
        lateral_kernel: temporal kernel of the lateral convolutions (5 in the paper, 7 in pytorchvideo's R50).
        lateral_ratio: lateral output channels as a multiple of the Fast channels (the paper's 2βC).
        stem_width: Slow conv1 width C (64); stage widths are 4C, 8C, 16C, 32C with bottleneck C, 2C, 4C, 8C.
        slow_temporal_kernels / fast_temporal_kernels: conv_a temporal kernel of res2..res5 (Table 1).
        slow_stem_kernel / fast_stem_kernel: conv1 temporal kernel (1 and 5, Table 1).
        num_classes: classes (400 for Kinetics-400); 0 returns the pooled 2304-d features.
        in_chans: input channels of both clips.
        drop_rate: dropout before the classifier (0.5, §4).
        norm_layer / act_layer: normalisation and activation (BatchNorm3d, ReLU).

    Shapes:
        x: ``[slow (B, in_chans, T, H, W), fast (B, in_chans, αT, H, W)]`` → logits (B, num_classes).
    """

    def __init__(
        self,
        layers: Sequence[int] = (3, 4, 6, 3),
        *,
        alpha: int = 4,
        beta_inv: int = 8,
        lateral_kernel: int = 7,
        lateral_ratio: int = 2,
        stem_width: int = 64,
        slow_temporal_kernels: Sequence[int] = (1, 1, 3, 3),
        fast_temporal_kernels: Sequence[int] = (3, 3, 3, 3),
        slow_stem_kernel: int = 1,
        fast_stem_kernel: int = 5,
        num_classes: int = 400,
        in_chans: int = 3,
        drop_rate: float = 0.5,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        if len(layers) != 4 or any(n < 1 for n in layers):
            raise ValueError(f"layers must be 4 positive block counts (got {layers})")
        if len(slow_temporal_kernels) != 4 or len(fast_temporal_kernels) != 4:
            raise ValueError(
                "temporal kernels must be given for the 4 stages "
                f"(got {tuple(slow_temporal_kernels)}, {tuple(fast_temporal_kernels)})"
            )
        if alpha < 1:
            raise ValueError(f"alpha must be >= 1 (got {alpha})")
        if beta_inv < 1 or stem_width % beta_inv:
            raise ValueError(f"beta_inv must be >= 1 and divide stem_width={stem_width} (got {beta_inv})")
        if lateral_ratio < 1:
            raise ValueError(f"lateral_ratio must be >= 1 (got {lateral_ratio})")
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1) (got {drop_rate})")
        if in_chans < 1:
            raise ValueError(f"in_chans must be >= 1 (got {in_chans})")
        self.in_chans, self.num_classes, self.alpha = in_chans, num_classes, alpha

        def lateral(fast_chs: int) -> LateralConnection:
            return LateralConnection(
                fast_chs,
                alpha=alpha,
                kernel=lateral_kernel,
                ratio=lateral_ratio,
                norm_layer=norm_layer,
                act_layer=act_layer,
            )

        slow_w, fast_w = stem_width, stem_width // beta_inv
        stages = [
            _PathwayStage(
                _Stem(in_chans, slow_w, slow_stem_kernel, norm_layer, act_layer),
                _Stem(in_chans, fast_w, fast_stem_kernel, norm_layer, act_layer),
                lateral(fast_w),
            )
        ]
        slow_in, fast_in = slow_w + lateral_ratio * fast_w, fast_w
        for i, depth in enumerate(layers):
            inner = stem_width * 2**i  # bottleneck width C, 2C, 4C, 8C; outputs are 4× that (Table 1)
            stride = 1 if i == 0 else 2
            slow_out, fast_out = 4 * inner, 4 * inner // beta_inv
            slow_blocks, fast_blocks = [], []
            for j in range(depth):
                slow_blocks.append(
                    Bottleneck3d(
                        slow_in if j == 0 else slow_out,
                        inner,
                        slow_out,
                        temporal_kernel=slow_temporal_kernels[i],
                        stride=stride if j == 0 else 1,
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
                fast_blocks.append(
                    Bottleneck3d(
                        fast_in if j == 0 else fast_out,
                        inner // beta_inv,
                        fast_out,
                        temporal_kernel=fast_temporal_kernels[i],
                        stride=stride if j == 0 else 1,
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
            last = i == len(layers) - 1
            stages.append(
                _PathwayStage(
                    nn.Sequential(*slow_blocks), nn.Sequential(*fast_blocks), None if last else lateral(fast_out)
                )
            )
            slow_in, fast_in = slow_out + (0 if last else lateral_ratio * fast_out), fast_out
        self.stages = nn.ModuleList(stages)  # stem, res2, res3, res4, res5
        self.num_features = slow_in + fast_in
        self.drop = nn.Dropout(drop_rate)
        self.fc = linear_head(self.num_features, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, Bottleneck3d) and isinstance(m.conv_c[1], nn.BatchNorm3d):
                nn.init.zeros_(m.conv_c[1].weight)  # each block starts as its shortcut (PySlowFast)

    def check_input(self, x: Any) -> None:
        """Raise ``ValueError`` unless ``x`` is ``[slow (B, C, T, H, W), fast (B, C, αT, H, W)]``."""
        if not isinstance(x, (list, tuple)) or len(x) != 2:
            got = f"{type(x).__name__} of {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__
            raise ValueError(f"expected a list [slow, fast] of two clips (see pack_pathways), got {got}")
        slow, fast = x
        check_clip(slow, self.in_chans, "slow clips")
        check_clip(fast, self.in_chans, "fast clips")
        b, _, t, h, w = slow.shape
        if fast.shape[0] != b or fast.shape[2] != self.alpha * t or tuple(fast.shape[3:]) != (h, w):
            raise ValueError(
                f"expected the fast clip to be (B={b}, {self.in_chans}, alpha*T={self.alpha * t}, {h}, {w}) "
                f"for a slow clip {tuple(slow.shape)}, got {tuple(fast.shape)}"
            )

    def forward_features(self, x: Sequence[Tensor]) -> list[Tensor]:
        """``[slow, fast]`` clips → ``[slow (B, 32C, T, H/32, W/32), fast (B, 32βC, αT, H/32, W/32)]``."""
        self.check_input(x)
        slow, fast = x
        for stage in self.stages:
            slow, fast = stage(slow, fast)
        return [slow, fast]

    def forward_head(self, x: Sequence[Tensor], pre_logits: bool = False) -> Tensor:
        """Global average pool of each pathway, concatenated (B, 32C + 32βC), dropout, classifier."""
        pooled = torch.cat([f.mean(dim=(2, 3, 4)) for f in x], dim=1)
        pooled = self.drop(pooled)
        return pooled if pre_logits else self.fc(pooled)


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> SlowFast:
    return SlowFast(**{**defaults, **overrides})


def _example(frames: int, size: int, alpha: int) -> Callable[[int, Any], list[Tensor]]:
    def make(batch: int, device: Any) -> list[Tensor]:
        return pack_pathways(torch.randn(batch, 3, frames, size, size, device=device), alpha)

    return make


_R50_8X8 = dict(layers=(3, 4, 6, 3), alpha=4, lateral_kernel=7)


@register_model(
    paper=SLOWFAST_2019,
    reference="pytorchvideo.models.hub.slowfast_r50 (SLOWFAST_8x8_R50)",
    reference_params=34_566_488,
    input_size=(3, 32, 224, 224),
    example_input=_example(32, 224, 4),
)
def slowfast_r50(**kwargs: Any) -> SlowFast:
    """SlowFast 8×8 R50 as pytorchvideo's ``slowfast_r50``: α = 4, 7×1×1 laterals, 8 + 32 frames."""
    return _build(_R50_8X8, kwargs)


@register_model(
    paper=SLOWFAST_2019,
    reference="pytorchvideo.models.hub.slowfast_r50 (SLOWFAST_8x8_R50)",
    reference_params=34_566_488,
    input_size=(3, 32, 224, 224),
    example_input=_example(32, 224, 4),
)
def slowfast_r50_8x8(**kwargs: Any) -> SlowFast:
    """Alias of :func:`slowfast_r50` named by its sampling (T × τ = 8 × 8)."""
    return _build(_R50_8X8, kwargs)


@register_model(
    paper=SLOWFAST_2019,
    reference="PySlowFast configs/Kinetics/SLOWFAST_4x16_R50.yaml (pytorchvideo create_slowfast, 5x1x1 stride 8)",
    reference_params=34_480_216,
    input_size=(3, 32, 224, 224),
    example_input=_example(32, 224, 8),
)
def slowfast_r50_4x16(**kwargs: Any) -> SlowFast:
    """The paper's SlowFast 4×16 R50: α = 8, 5×1×1 laterals with stride 8, 4 + 32 frames (Table 1)."""
    return _build(dict(layers=(3, 4, 6, 3), alpha=8, lateral_kernel=5), kwargs)


@register_model(
    paper=SLOWFAST_2019,
    reference="pytorchvideo.models.hub.slowfast_r101 (SLOWFAST_8x8_R101)",
    reference_params=62_826_968,
    input_size=(3, 32, 224, 224),
    example_input=_example(32, 224, 4),
)
def slowfast_r101(**kwargs: Any) -> SlowFast:
    """SlowFast 8×8 R101 as pytorchvideo's ``slowfast_r101``: α = 4, 5×1×1 laterals."""
    return _build(dict(layers=(3, 4, 23, 3), alpha=4, lateral_kernel=5), kwargs)


@register_model(
    paper=SLOWFAST_2019,
    reference="pytorchvideo.models.hub.slowfast_r50 (reduced)",
    input_size=(3, 8, 32, 32),
    example_input=_example(8, 32, 4),
)
def slowfast_tiny(**kwargs: Any) -> SlowFast:
    """One block per stage, C = 16 (Fast 4 channels), α = 4, 5×1×1 laterals; 2 + 8 frames of 32×32."""
    return _build(dict(layers=(1, 1, 1, 1), alpha=4, beta_inv=4, lateral_kernel=5, stem_width=16), kwargs)
