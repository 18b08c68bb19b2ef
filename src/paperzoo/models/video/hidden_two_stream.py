"""Hidden Two-Stream: MotionNet learns optical flow without labels, stacked under a temporal-stream CNN.

Paper: Zhu, Lan, Newsam & Hauptmann, "Hidden Two-Stream Convolutional Networks for Action Recognition",
ACCV 2018, arXiv:1704.00389. Reference implementation: bryanyzhu/Hidden-Two-Stream (Caffe;
``models/multiframe_MotionNet/train.prototxt`` for MotionNet and its losses,
``models/ucf101_split*_unsup_end/end_train_val.prototxt`` and ``stack_motionnet_vgg16_deploy.prototxt``
for the stacked network). Layer names follow the prototxt (``conv1`` … ``conv6_1``, ``deconv5`` …
``deconv2``, ``smooth_conv5`` …, ``conv_pr6`` … ``conv_pr2``, ``upsample_flow6to5`` …).

What is implemented:
    * :class:`MotionNet` (§3.1, Table 1 / the reference prototxt): 11 stacked RGB frames (33 channels) →
      10 flow fields (20 channels) at five scales. Contracting part (FlowNetSimple-like): pairs of 3×3
      convs, the first of each pair with stride 2 from conv2 on: 64, 64, 128, 128, 256, 256, 512, 512, 512,
      512, 1024, 1024 filters, leaky ReLU (slope 0.1). Expanding part: at each scale a 4×4/2 deconvolution
      (512, 256, 128, 64 filters, leaky ReLU) of the previous decoder features, the 4×4/2 deconvolution of
      the previous flow, and the encoder's skip features are concatenated and smoothed by a 3×3 conv
      (``smooth_conv``, the paper's "xconv" between deconvolutions, no activation as in the reference),
      from which a 3×3 conv predicts the flows. Outputs: flow6 … flow2 at 1/32 … 1/2 of the input size.
      Raw outputs are in units of 1/20 of an input pixel (the reference multiplies them by 20 before the
      temporal stream, by 20 / downsampling factor before warping: 0.625, 1.25, 2.5, 5, 10).
    * The unsupervised losses (§3.1), per scale, between frame t and frame t+1 warped back to t with the
      predicted flow (:func:`warp`, bilinear ``grid_sample``; the reference's FlowTransformer):
      pixelwise reconstruction with the generalised Charbonnier penalty ρ(x) = ((βx)² + ε²)^α (α = 0.4,
      β = 255, images in [0, 1]), smoothness ρ on the horizontal and vertical flow differences
      (α = 0.3, flow in pixels of that scale) and an SSIM loss, 1 − SSIM over 8×8 Gaussian windows
      (σ = 4/3) at stride 8, C1 = 1e-4, C2 = 1e-3, as the reference's SSIMLoss layer. Weights as the
      reference MotionNet prototxt: 1 (pixel), 1 (smoothness), 0.16, 0.08, 0.04, 0.02, 0.01 (SSIM, coarse
      to fine) — :class:`UnsupervisedFlowLoss`.
    * :class:`HiddenTwoStream` (§3.2): MotionNet's finest flow, rescaled as the reference does (×20 to
      pixels, clipped to ±20, mapped to [0, 255], bilinearly upsampled ×2 to the input size, minus 128)
      and fed to a temporal-stream CNN with ``2 × (frames − 1)`` input channels — any paperzoo 2D backbone
      (``vgg16``, the reference's choice, by default). Trained end to end with the multi-task loss
      ``L = L_cls + λ Σ_scales L_unsup`` (:meth:`HiddenTwoStream.multitask_loss`); ``detach_flow=True``
      gives the paper's two-stage variant where the classification loss does not reach MotionNet.

Deviations and choices (say where the paper or reference was silent or could not be followed):
    * The reference normalises frames with an across-channel LRN (size 9, α 1, β 0.7) before the
      photometric losses; here the losses see the frames as given ([0, 1] images are assumed by β = 255).
    * Charbonnier ε = 1e-3 (the reference prototxt does not set it). The reference divides the masked
      Charbonnier sum by batch × mask sum; here it is the mean over unmasked elements (a constant factor).
      The 10% image border is masked out of the pixel loss (``borderMask``, ratio 0.1); the smoothness
      loss uses the differences of neighbouring flow vectors inside the map (no zero padding to mask) and
      is the mean over horizontal plus the mean over vertical differences of u and v together, where the
      reference adds a u term and a v term (each over both directions).
    * SSIM: the reference sums 1 − SSIM over windows and channels per example; here it is the mean over
      windows (the paper's 1/N Σ). Windows at the map's edge are truncated as in the reference (zero
      padding, weights not renormalised), so maps smaller than 8×8 still give one window.
    * Frames are downsampled to each scale by area averaging (the reference's "Downsample" layer); the
      final ×2 upsampling uses ``F.interpolate`` (bilinear) where the reference uses a fixed bilinear
      deconvolution (which darkens the outermost pixels).
    * The reference's end-to-end prototxt lowers the SSIM weights tenfold (0.001 at flow2, read from the
      prototxt; the other scales are assumed lowered likewise): :func:`hidden_two_stream` uses those.
      λ = 1 (every loss in the reference has weight 1 next to the classification loss).
    * The reference's temporal VGG-16 uses dropout 0.9 after fc6 and 0.8 after fc7; paperzoo's VGG has one
      ``drop_rate`` (0.9 here). 101 classes (UCF101) by default, as the reference.
    * Deconvolution biases exist (the Caffe layers have them) but the reference freezes them at 0
      (``lr_mult: 0``); here they train.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...data.flow import pixel_grid
from ...data.flow import warp as flow_warp
from ...registry import Paper, create_model, register_model
from ._base import VideoClassifier, check_clip

__all__ = [
    "MotionNet",
    "MotionNetOutput",
    "UnsupervisedFlowLoss",
    "FlowLossOutput",
    "HiddenTwoStream",
    "HiddenTwoStreamOutput",
    "warp",
    "charbonnier",
    "smoothness_loss",
    "ssim",
    "ssim_loss",
    "flow_to_temporal_input",
]

ZHU_2018 = Paper(
    title="Hidden Two-Stream Convolutional Networks for Action Recognition",
    authors="Yi Zhu, Zhenzhong Lan, Shawn Newsam, Alexander G. Hauptmann",
    year=2018,
    arxiv="1704.00389",
)

FLOW_SCALE = 20.0  # raw MotionNet output × 20 = displacement in input pixels (reference)
MOTIONNET_SSIM_WEIGHTS = (0.16, 0.08, 0.04, 0.02, 0.01)  # flow6 … flow2, multiframe_MotionNet/train.prototxt
END_TO_END_SSIM_WEIGHTS = (0.016, 0.008, 0.004, 0.002, 0.001)  # ucf101_split1_unsup_end/end_train_val.prototxt


# --------------------------------------------------------------------------------------------------
# Warping and the unsupervised losses (§3.1)
# --------------------------------------------------------------------------------------------------


def warp(image: Tensor, flow: Tensor) -> Tensor:
    """Backward warping: ``out[y, x] = image[y + v(y, x), x + u(y, x)]``, bilinear, zeros outside the image.

    With ``image`` frame t+1 and ``flow`` the flow from t to t+1 this reconstructs frame t (§3.1).

    Args:
        image: (B, C, H, W).
        flow: (B, 2, H, W) in pixels, channel 0 horizontal (u, along W), channel 1 vertical (v, along H).

    Returns:
        (B, C, H, W).
    """
    if image.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"expected image (B, C, H, W) and flow (B, 2, H, W), got {tuple(image.shape)}, {tuple(flow.shape)}"
        )
    if image.shape[0] != flow.shape[0] or image.shape[2:] != flow.shape[2:]:
        raise ValueError(f"expected image and flow of the same B, H, W, got {tuple(image.shape)}, {tuple(flow.shape)}")
    return flow_warp(image, flow, padding_mode="zeros")


def charbonnier(x: Tensor, *, alpha: float, beta: float = 1.0, eps: float = 1e-3, mask: Tensor | None = None) -> Tensor:
    """Generalised Charbonnier penalty ρ(x) = ((βx)² + ε²)^α, averaged over the (unmasked) elements.

    Args:
        x: any shape.
        alpha: robustness exponent (0.4 photometric, 0.3 smoothness in the reference).
        beta: pre-scale (255 turns [0, 1] intensity differences into 0-255 units).
        eps: ε.
        mask: broadcastable to ``x``; 0 excludes an element.

    Returns:
        Scalar.
    """
    rho = ((beta * x) ** 2 + eps**2) ** alpha
    if mask is None:
        return rho.mean()
    mask = mask.expand_as(rho).to(rho.dtype)
    return (rho * mask).sum() / mask.sum().clamp_min(1.0)


def smoothness_loss(flow: Tensor, *, alpha: float = 0.3, eps: float = 1e-3) -> Tensor:
    """Charbonnier penalty on the flow gradients (§3.1): ρ(∂u/∂x), ρ(∂u/∂y), ρ(∂v/∂x), ρ(∂v/∂y).

    The gradients are differences of neighbouring flow vectors (the reference's [1, -1] kernels); the
    loss is the mean of ρ over the horizontal differences plus the mean over the vertical ones.

    Args:
        flow: (B, 2K, H, W) in pixels, any number of (u, v) pairs.

    Returns:
        Scalar.
    """
    dx = flow[..., :, :-1] - flow[..., :, 1:]  # (B, 2K, H, W - 1)
    dy = flow[..., :-1, :] - flow[..., 1:, :]  # (B, 2K, H - 1, W)
    loss = flow.new_zeros(())
    if dx.numel():
        loss = loss + charbonnier(dx, alpha=alpha, eps=eps)
    if dy.numel():
        loss = loss + charbonnier(dy, alpha=alpha, eps=eps)
    return loss


def gaussian_window(size: int = 8, sigma: float | None = None) -> Tensor:
    """The reference SSIM layer's window: exp(-((h - size/2)² + (w - size/2)²) / 2σ²), σ = size/6, sum 1.

    Returns:
        (size, size).
    """
    sigma = size / 6 if sigma is None else sigma  # (kernel_h + kernel_w) / 12
    r = torch.arange(size, dtype=torch.float64) - size / 2
    g = torch.exp(-(r.view(-1, 1) ** 2 + r.view(1, -1) ** 2) / (2 * sigma**2))
    return (g / g.sum()).float()


def ssim(x: Tensor, y: Tensor, *, window: int = 8, stride: int = 8, c1: float = 1e-4, c2: float = 1e-3) -> Tensor:
    """SSIM of every window and channel (Wang et al. 2004), Gaussian-weighted windows at a stride.

    SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), with the moments taken under
    the window of :func:`gaussian_window`. Windows start every ``stride`` pixels; the last window in each
    direction is truncated at the map's edge (its missing weights count as zeros, as the reference).

    Args:
        x, y: (B, C, H, W).

    Returns:
        (B, C, h, w) with h = ⌈(H - window) / stride⌉ + 1 (at least 1).
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    b, c, h, w = x.shape
    n_h, n_w = (max(math.ceil((s - window) / stride), 0) + 1 for s in (h, w))
    pad_h, pad_w = (n_h - 1) * stride + window - h, (n_w - 1) * stride + window - w  # >= 0
    stats = torch.cat([x, y, x * x, y * y, x * y], dim=0)  # (5B, C, H, W)
    stats = F.pad(stats, (0, pad_w, 0, pad_h))  # truncated last windows: missing weights count as 0
    kernel = gaussian_window(window).to(x).expand(c, 1, window, window)
    mu_x, mu_y, e_xx, e_yy, e_xy = F.conv2d(stats, kernel, stride=stride, groups=c).chunk(5, dim=0)
    var_x, var_y, cov = e_xx - mu_x**2, e_yy - mu_y**2, e_xy - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    return luminance * contrast_structure


def ssim_loss(x: Tensor, y: Tensor, **kwargs: Any) -> Tensor:
    """1 − SSIM averaged over windows, channels and the batch (§3.1). Keyword arguments go to :func:`ssim`."""
    return (1 - ssim(x, y, **kwargs)).mean()


def border_mask(h: int, w: int, ratio: float, *, device: Any = None) -> Tensor:
    """(1, 1, H, W) mask that is 0 on the outer ⌊ratio·H⌋ rows and ⌊ratio·W⌋ columns (the reference's borderMask)."""
    mask = torch.zeros(1, 1, h, w, device=device)
    bh, bw = int(ratio * h), int(ratio * w)
    mask[..., bh : h - bh, bw : w - bw] = 1
    return mask


def in_frame_mask(flow: Tensor) -> Tensor:
    """(B, 1, H, W) mask that is 1 where :func:`warp` samples inside the image (``flow`` (B, 2, H, W) in pixels).

    Zero padding makes every pixel whose source lies outside the frame a large photometric error whatever the
    flow; on small frames (the coarse scales of a 32×32 clip are 1-4 pixels wide) that penalises any motion.
    """
    _, _, h, w = flow.shape
    x, y = (pixel_grid(h, w, dtype=flow.dtype, device=flow.device) + flow).unbind(1)  # sampling positions (B, H, W)
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return inside.unsqueeze(1).to(flow.dtype)


@dataclass
class FlowLossOutput:
    """The weighted total and each term per scale (coarse to fine, flow6 … flow2 for MotionNet)."""

    total: Tensor
    photometric: list[Tensor] = field(default_factory=list)
    smoothness: list[Tensor] = field(default_factory=list)
    ssim: list[Tensor] = field(default_factory=list)


class UnsupervisedFlowLoss(nn.Module):
    """MotionNet's multi-scale unsupervised loss (Zhu et al. 2018, §3.1).

    For every scale s and every adjacent frame pair (t, t+1):
    ``L_s = w_pixel ρ_0.4(I_t − warp(I_{t+1}, V_t)) + w_smooth ρ_0.3(∇V_t) + w_ssim,s (1 − SSIM(warp, I_t))``
    with the frames area-downsampled to the scale's size and the flow converted to that scale's pixels.

    Args:
        ssim_weights: one SSIM weight per scale, coarse to fine.
        pixel_weight, smooth_weight: weights of the reconstruction and smoothness terms at every scale.
        flow_scale: raw flow × flow_scale = displacement in input pixels (20).
        pixel_alpha, pixel_beta, smooth_alpha, eps: Charbonnier parameters.
        border_ratio: fraction of the border excluded from the pixel loss (0.1).
        mask_out_of_frame: also exclude pixels whose warped source lies outside the frame (:func:`in_frame_mask`;
            not in the reference, whose 224² frames keep most pixels away from the border). Without it, a
            32×32 clip's coarse scales (1-4 pixels wide) score zero flow best whatever the motion.
        ssim_window, ssim_stride, c1, c2: SSIM parameters.

    Shapes:
        frames: (B, 3, T, H, W); flows: list of (B, 2(T−1), H/d, W/d), coarse to fine → :class:`FlowLossOutput`.
    """

    def __init__(
        self,
        ssim_weights: Sequence[float] = MOTIONNET_SSIM_WEIGHTS,
        *,
        pixel_weight: float = 1.0,
        smooth_weight: float = 1.0,
        flow_scale: float = FLOW_SCALE,
        pixel_alpha: float = 0.4,
        pixel_beta: float = 255.0,
        smooth_alpha: float = 0.3,
        eps: float = 1e-3,
        border_ratio: float = 0.1,
        mask_out_of_frame: bool = False,
        ssim_window: int = 8,
        ssim_stride: int = 8,
        c1: float = 1e-4,
        c2: float = 1e-3,
    ) -> None:
        super().__init__()
        if min((pixel_weight, smooth_weight, *ssim_weights)) < 0:
            raise ValueError(f"loss weights must be >= 0 (got {pixel_weight}, {smooth_weight}, {tuple(ssim_weights)})")
        if not 0.0 <= border_ratio < 0.5:
            raise ValueError(f"border_ratio must be in [0, 0.5) (got {border_ratio})")
        if flow_scale <= 0 or eps < 0 or ssim_window < 1 or ssim_stride < 1:
            raise ValueError(
                f"flow_scale > 0, eps >= 0, ssim_window, ssim_stride >= 1 required "
                f"(got {flow_scale}, {eps}, {ssim_window}, {ssim_stride})"
            )
        self.ssim_weights = tuple(float(w) for w in ssim_weights)
        self.pixel_weight, self.smooth_weight, self.flow_scale = pixel_weight, smooth_weight, flow_scale
        self.pixel_alpha, self.pixel_beta, self.smooth_alpha, self.eps = pixel_alpha, pixel_beta, smooth_alpha, eps
        self.border_ratio, self.mask_out_of_frame = border_ratio, mask_out_of_frame
        self.ssim_kwargs = dict(window=ssim_window, stride=ssim_stride, c1=c1, c2=c2)

    def scale_terms(self, frames: Tensor, flow: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(pixel, smoothness, SSIM) terms at one scale.

        Args:
            frames: (B, 3, T, H, W) at input resolution.
            flow: (B, 2(T−1), h, w) raw MotionNet output.
        """
        b, c, t, h_in, w_in = frames.shape
        h, w = flow.shape[-2:]
        if flow.shape[1] != 2 * (t - 1):
            raise ValueError(f"expected flows with {2 * (t - 1)} channels for {t} frames, got {tuple(flow.shape)}")
        images = rearrange(frames, "b c t h w -> (b t) c h w")
        if (h, w) != (h_in, w_in):
            images = F.interpolate(images, size=(h, w), mode="area")
        images = rearrange(images, "(b t) c h w -> b t c h w", b=b)
        targets = rearrange(images[:, :-1], "b t c h w -> (b t) c h w")  # frames 0 … T−2
        sources = rearrange(images[:, 1:], "b t c h w -> (b t) c h w")  # frames 1 … T−1
        # Raw flow × 20 is in input pixels; this scale is downsampled by h_in / h (0.625 … 10 in the reference).
        pixel_flow = flow * (self.flow_scale * h / h_in)
        pair_flow = rearrange(pixel_flow, "b (t two) h w -> (b t) two h w", two=2)
        warped = warp(sources, pair_flow)
        mask = border_mask(h, w, self.border_ratio, device=flow.device)
        if self.mask_out_of_frame:
            mask = mask * in_frame_mask(pair_flow)  # (B·(T−1), 1, h, w)
        pixel = charbonnier(targets - warped, alpha=self.pixel_alpha, beta=self.pixel_beta, eps=self.eps, mask=mask)
        smooth = smoothness_loss(pixel_flow, alpha=self.smooth_alpha, eps=self.eps)
        structural = ssim_loss(warped, targets, **self.ssim_kwargs)
        return pixel, smooth, structural

    def forward(self, frames: Tensor, flows: Sequence[Tensor]) -> FlowLossOutput:
        check_clip(frames, 3, "frames")
        if len(flows) != len(self.ssim_weights):
            raise ValueError(f"expected {len(self.ssim_weights)} flow scales, got {len(flows)}")
        out = FlowLossOutput(total=frames.new_zeros(()))
        for flow, w_ssim in zip(flows, self.ssim_weights):
            pixel, smooth, structural = self.scale_terms(frames, flow)
            out.total = out.total + self.pixel_weight * pixel + self.smooth_weight * smooth + w_ssim * structural
            out.photometric.append(pixel)
            out.smoothness.append(smooth)
            out.ssim.append(structural)
        return out


# --------------------------------------------------------------------------------------------------
# MotionNet (§3.1, Table 1)
# --------------------------------------------------------------------------------------------------


@dataclass
class MotionNetOutput:
    """Flows at every scale, coarse to fine (flow6 … flow2), each (B, 2(T−1), H/d, W/d) in units of 1/20 pixel."""

    flows: list[Tensor]

    @property
    def flow(self) -> Tensor:
        """The finest flow (flow2, half the input resolution)."""
        return self.flows[-1]


class MotionNet(nn.Module):
    """MotionNet (Zhu et al. 2018, §3.1): stacked frames → optical flow of every adjacent pair, 5 scales.

    Data flow (11 frames of 224×224, reference widths)::

        (B, 3, 11, 224, 224) → stack frames on channels        (B, 33, 224, 224)
        conv1, conv1_1  64                                      (B,   64, 224, 224)
        conv2 /2, conv2_1  128                                  (B,  128, 112, 112)
        conv3 /2, conv3_1  256   conv4 /2, conv4_1  512         …         (B, 512, 28, 28)
        conv5 /2, conv5_1  512   conv6 /2, conv6_1  1024                  (B, 1024, 7, 7)
        conv_pr6 → flow6                                        (B,   20,   7,   7)
        for s = 5 … 2:  concat[conv{s}_1, deconv{s}(x), upsample_flow(flow{s+1})] → smooth_conv{s} → x
                        conv_pr{s}(x) → flow{s}                 flow2: (B, 20, 112, 112)

    Args:
        num_frames: frames stacked (11: 10 flows).
        in_chans: channels per frame.
        widths: filters of conv1 … conv6 (each also of its ``_1`` partner).
        decoder_widths: filters of deconv5 … deconv2 (and smooth_conv5 … smooth_conv2).
        negative_slope: leaky ReLU slope (0.1).

    Shapes:
        x: (B, in_chans, num_frames, H, W), H and W multiples of 32 → :class:`MotionNetOutput`.
    """

    def __init__(
        self,
        num_frames: int = 11,
        *,
        in_chans: int = 3,
        widths: Sequence[int] = (64, 128, 256, 512, 512, 1024),
        decoder_widths: Sequence[int] = (512, 256, 128, 64),
        negative_slope: float = 0.1,
    ) -> None:
        super().__init__()
        if num_frames < 2 or in_chans < 1:
            raise ValueError(f"num_frames must be >= 2 and in_chans >= 1 (got {num_frames}, {in_chans})")
        if len(widths) != 6 or min(widths) < 1:
            raise ValueError(f"widths must be 6 positive ints, conv1 … conv6 (got {tuple(widths)})")
        if len(decoder_widths) != 4 or min(decoder_widths) < 1:
            raise ValueError(f"decoder_widths must be 4 positive ints, deconv5 … deconv2 (got {tuple(decoder_widths)})")
        self.num_frames, self.in_chans = num_frames, in_chans
        self.flow_chans = 2 * (num_frames - 1)
        self.act = nn.LeakyReLU(negative_slope)

        c_in = in_chans * num_frames
        for level, width in enumerate(widths, start=1):  # conv{l} (stride 2 from conv2 on) and conv{l}_1
            self.add_module(f"conv{level}", nn.Conv2d(c_in, width, 3, stride=1 if level == 1 else 2, padding=1))
            self.add_module(f"conv{level}_1", nn.Conv2d(width, width, 3, padding=1))
            c_in = width
        self.conv_pr6 = nn.Conv2d(c_in, self.flow_chans, 3, padding=1)
        for level, width in zip((5, 4, 3, 2), decoder_widths):
            skip = widths[level - 1]  # conv{level}_1
            self.add_module(f"deconv{level}", nn.ConvTranspose2d(c_in, width, 4, stride=2, padding=1))
            up = nn.ConvTranspose2d(self.flow_chans, self.flow_chans, 4, stride=2, padding=1)
            self.add_module(f"upsample_flow{level + 1}to{level}", up)
            self.add_module(f"smooth_conv{level}", nn.Conv2d(skip + width + self.flow_chans, width, 3, padding=1))
            self.add_module(f"conv_pr{level}", nn.Conv2d(width, self.flow_chans, 3, padding=1))
            c_in = width
        self._init_weights()

    def _init_weights(self) -> None:
        # The prototxt's "msra" filler: N(0, 2 / fan_in), fan_in = C_in·k² (C_out·k² for deconvolutions,
        # as PyTorch's fan_in of a ConvTranspose2d weight); constant 0 biases.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def check_input(self, x: Tensor) -> None:
        check_clip(x, self.in_chans)
        t, h, w = x.shape[2:]
        if t != self.num_frames or h % 32 or w % 32 or h == 0 or w == 0:
            raise ValueError(
                f"expected clips of shape (B, {self.in_chans}, {self.num_frames}, H, W) with H, W multiples of 32, "
                f"got {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> MotionNetOutput:
        self.check_input(x)
        x = rearrange(x, "b c t h w -> b (t c) h w")  # frames stacked on channels: img0, img1, …
        skips = {}
        for level in range(1, 7):
            x = self.act(getattr(self, f"conv{level}")(x))
            x = self.act(getattr(self, f"conv{level}_1")(x))
            skips[level] = x
        flow = self.conv_pr6(x)
        flows = [flow]
        for level in (5, 4, 3, 2):
            up_x = self.act(getattr(self, f"deconv{level}")(x))
            up_flow = getattr(self, f"upsample_flow{level + 1}to{level}")(flow)
            x = getattr(self, f"smooth_conv{level}")(torch.cat([skips[level], up_x, up_flow], dim=1))
            flow = getattr(self, f"conv_pr{level}")(x)
            flows.append(flow)
        return MotionNetOutput(flows)


# --------------------------------------------------------------------------------------------------
# Hidden Two-Stream: MotionNet stacked under a temporal stream (§3.2)
# --------------------------------------------------------------------------------------------------


def flow_to_temporal_input(flow: Tensor, *, flow_scale: float = FLOW_SCALE, bound: float = 20.0) -> Tensor:
    """The reference's flow "normalization" before the temporal CNN, as on pre-computed flow images.

    raw × 20 (pixels) → clip to [−bound, bound] → (f + bound) · 255 / (2 bound) → bilinear ×2 upsampling →
    − 128, i.e. the 8-bit flow-image encoding of the two-stream networks, mean-subtracted.

    Args:
        flow: (B, 2K, h, w) raw MotionNet output (flow2).

    Returns:
        (B, 2K, 2h, 2w).
    """
    f = (flow * flow_scale).clamp(-bound, bound)
    f = (f + bound) * (255.0 / (2 * bound))
    f = F.interpolate(f, scale_factor=2, mode="bilinear", align_corners=False)
    return f - 128.0


@dataclass
class HiddenTwoStreamOutput:
    """Class logits and MotionNet's flows (coarse to fine)."""

    logits: Tensor
    flows: list[Tensor]


@dataclass
class HiddenTwoStreamLoss:
    """``total = classification + λ · unsupervised.total`` (the multi-task loss of §3.2)."""

    total: Tensor
    classification: Tensor
    unsupervised: FlowLossOutput


class HiddenTwoStream(VideoClassifier):
    """The stacked temporal stream of Hidden Two-Stream (Zhu et al. 2018, §3.2, Fig. 1).

    ::

        clip (B, 3, T, H, W) ─ MotionNet ─ flow6 … flow2 ──────────── unsupervised losses (× λ)
                                             └ flow2 ─ ×20, clip ±20, → [0, 255], ×2 up, −128
                                                  └ temporal CNN (2(T−1) channels) ─ logits ─ cross entropy

    Args:
        num_classes: action classes (101, UCF101, as the reference).
        in_chans: channels per frame.
        num_frames: frames per clip (11).
        temporal: registered 2D backbone of the temporal stream (``vgg16`` as the reference).
        temporal_kwargs: extra constructor arguments for it.
        motionnet_kwargs: constructor arguments for :class:`MotionNet` (widths, decoder_widths).
        drop_rate: the temporal backbone's dropout before the classifier.
        detach_flow: stop the classification gradient at the flow (two-stage training) instead of end to end.
        unsup_weight: λ of the multi-task loss.
        ssim_weights: per-scale SSIM weights of the unsupervised loss, coarse to fine.

    Shapes:
        x: (B, in_chans, num_frames, H, W) → logits (B, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 101,
        *,
        in_chans: int = 3,
        num_frames: int = 11,
        temporal: str = "vgg16",
        temporal_kwargs: dict[str, Any] | None = None,
        motionnet_kwargs: dict[str, Any] | None = None,
        drop_rate: float = 0.9,
        detach_flow: bool = False,
        unsup_weight: float = 1.0,
        ssim_weights: Sequence[float] = END_TO_END_SSIM_WEIGHTS,
    ) -> None:
        super().__init__()
        if unsup_weight < 0:
            raise ValueError(f"unsup_weight must be >= 0 (got {unsup_weight})")
        self.motionnet = MotionNet(num_frames, in_chans=in_chans, **(motionnet_kwargs or {}))
        flow_chans = self.motionnet.flow_chans
        self.temporal = create_model(
            temporal, num_classes=num_classes, in_chans=flow_chans, drop_rate=drop_rate, **(temporal_kwargs or {})
        )
        self.in_chans, self.num_classes, self.num_frames = in_chans, num_classes, num_frames
        self.num_features = self.temporal.num_features
        self.detach_flow, self.unsup_weight = detach_flow, unsup_weight
        self.flow_loss = UnsupervisedFlowLoss(ssim_weights)

    def get_classifier(self) -> nn.Module:
        return self.temporal.get_classifier()

    def reset_classifier(self, num_classes: int) -> None:
        self.temporal.reset_classifier(num_classes)
        self.num_classes = num_classes

    def check_input(self, x: Tensor) -> None:
        self.motionnet.check_input(x)

    def temporal_input(self, flow: Tensor) -> Tensor:
        """flow2 (B, 2(T−1), H/2, W/2) → the temporal stream's input (B, 2(T−1), H, W)."""
        return flow_to_temporal_input(flow.detach() if self.detach_flow else flow)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_chans, T, H, W) → the temporal backbone's last feature map."""
        return self.temporal.forward_features(self.temporal_input(self.motionnet(x).flow))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        return self.temporal.forward_head(x, pre_logits=pre_logits)

    def forward_with_flows(self, x: Tensor) -> HiddenTwoStreamOutput:
        """Logits and every scale's flow from one MotionNet pass (what the multi-task loss needs)."""
        flows = self.motionnet(x).flows
        logits = self.temporal(self.temporal_input(flows[-1]))
        return HiddenTwoStreamOutput(logits, flows)

    def multitask_loss(self, x: Tensor, labels: Tensor) -> HiddenTwoStreamLoss:
        """``L = CE(logits, labels) + λ Σ_s L_unsup,s`` (§3.2, end-to-end training).

        Args:
            x: (B, in_chans, T, H, W) clips with intensities in [0, 1].
            labels: (B,) class indices.
        """
        out = self.forward_with_flows(x)
        classification = F.cross_entropy(out.logits, labels)
        unsupervised = self.flow_loss(x, out.flows)
        return HiddenTwoStreamLoss(
            classification + self.unsup_weight * unsupervised.total, classification, unsupervised
        )


# --------------------------------------------------------------------------------------------------
# Registered variants
# --------------------------------------------------------------------------------------------------

_REFERENCE = "bryanyzhu/Hidden-Two-Stream"
_TINY_MOTIONNET = dict(widths=(8, 8, 16, 16, 16, 32), decoder_widths=(16, 16, 8, 8))

# Parameter counts of the reference prototxts, counted layer by layer (every Caffe conv and deconv has a bias);
# the tests recount them from the layer table.
MOTIONNET_PARAMS = 42_319_860
VGG16_FLOW_UCF101_PARAMS = 134_684_133  # VGG-16 with 20 input channels and 101 classes


@register_model(
    paper=ZHU_2018,
    reference=f"{_REFERENCE} models/multiframe_MotionNet/train.prototxt",
    reference_params=MOTIONNET_PARAMS,
    input_size=(3, 11, 224, 224),
)
def motionnet(**kwargs: Any) -> MotionNet:
    """MotionNet at the paper's size: 11 frames of 224×224 → 10 flows at 7² … 112²."""
    return MotionNet(**kwargs)


@register_model(
    paper=ZHU_2018,
    reference=f"{_REFERENCE} models/ucf101_split1_unsup_end/end_train_val.prototxt (MotionNet + VGG-16)",
    reference_params=MOTIONNET_PARAMS + VGG16_FLOW_UCF101_PARAMS,
    input_size=(3, 11, 224, 224),
)
def hidden_two_stream(**kwargs: Any) -> HiddenTwoStream:
    """MotionNet stacked under the temporal VGG-16, 101 UCF101 classes, trained end to end."""
    return HiddenTwoStream(**kwargs)


@register_model(paper=ZHU_2018, reference=f"{_REFERENCE} MotionNet reduced", input_size=(3, 3, 64, 64))
def motionnet_tiny(**kwargs: Any) -> MotionNet:
    return MotionNet(**{**dict(num_frames=3, **_TINY_MOTIONNET), **kwargs})


@register_model(paper=ZHU_2018, reference=f"{_REFERENCE} MotionNet + VGG reduced", input_size=(3, 3, 64, 64))
def hidden_two_stream_tiny(**kwargs: Any) -> HiddenTwoStream:
    defaults = dict(num_classes=10, num_frames=3, temporal="vgg_tiny", motionnet_kwargs=_TINY_MOTIONNET, drop_rate=0.0)
    return HiddenTwoStream(**{**defaults, **kwargs})
