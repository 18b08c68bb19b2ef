"""Denoising diffusion probabilistic models: the noise schedule, the maths of Algorithms 1-2, and the U-Net.

Paper: Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020, arXiv:2006.11239.
Reference implementation: the authors' TensorFlow code (``hojonathanho/diffusion``:
``diffusion_tf/models/unet.py``, ``diffusion_tf/diffusion_utils_2.py``) and its PyTorch port in diffusers
(``UNet2DModel`` with the ``google/ddpm-cifar10-32`` config, 35,746,307 parameters, the paper's "35.7M").

Implemented:

- :class:`NoiseSchedule`: the variance schedule β_1..β_T (the paper's linear 1e-4 → 0.02 over T = 1000, the
  TF code's ``quad``, and the cosine schedule of Nichol & Dhariwal 2021, arXiv:2102.09672), the closed-form
  forward process q(x_t | x_0) (Eq. 4), the posterior q(x_{t-1} | x_t, x_0) (Eqs. 6-7), the reverse
  process p_θ(x_{t-1} | x_t) with σ_t² = β_t ("fixedlarge") or β̃_t ("fixedsmall") (§3.2), the simplified
  loss L_simple (Eq. 14, Algorithm 1) and ancestral sampling (Algorithm 2). Timesteps are 0-based as in the
  TF code: index ``t`` here is the paper's t + 1, so ``t = 0`` is the last, noise-free sampling step.
- :class:`DDPMUNet`: the paper's U-Net (Appendix B; the TF ``unet.model``): sinusoidal timestep embedding
  → MLP, wide residual blocks with GroupNorm, swish, dropout and the timestep embedding added after the
  first convolution, single-head self-attention at 16×16, strided-convolution downsampling, nearest
  upsampling + convolution, skip concatenation, and zero-initialised output layers (the TF
  ``init_scale=0``). ``ddpm_cifar10`` matches the reference's 35,746,307 parameters exactly, and the 256×256
  ``ddpm_celebahq`` / ``ddpm_lsun`` the 113,673,219 of ``google/ddpm-celebahq-256`` (the paper's "114M").
- :class:`DDPMMLP2d`: a small timestep-conditioned MLP denoiser for 2-D toy distributions (no reference).

Left out: the learned-variance and x_0 / x_{t-1} parameterisations the TF code also offers, the
variational-bound (bits/dim) evaluation and the discretised decoder L_0, progressive coding, the
``block_size`` space-to-depth trick. Deviation: the attention block's q, k, v 1×1 projections are one fused
``qkv`` Linear (:class:`paperzoo.nn.Attention`, single head) instead of three, the same function and
parameter count; converting TF weights means stacking W_q, W_k, W_v.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...nn import Attention
from ...registry import Paper, register_model

__all__ = [
    "NoiseSchedule",
    "PMeanVariance",
    "timestep_embedding",
    "ResBlock",
    "AttnBlock",
    "Downsample",
    "Upsample",
    "DDPMUNet",
    "DDPMMLP2d",
]

HO_2020 = Paper(
    title="Denoising Diffusion Probabilistic Models",
    authors="Jonathan Ho, Ajay Jain, Pieter Abbeel",
    year=2020,
    arxiv="2006.11239",
)

# ---------------------------------------------------------------------------------------------------------------
# The diffusion process (§2, §3)
# ---------------------------------------------------------------------------------------------------------------


def _beta_schedule(kind: str, num_timesteps: int, beta_start: float, beta_end: float, cosine_s: float) -> Tensor:
    """β_1..β_T in float64 (the TF code computes the schedule in float64 for accuracy)."""
    if kind == "linear":  # the paper's (§4): linear from β_1 = 1e-4 to β_T = 0.02
        return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)
    if kind == "quadratic":  # the TF code's "quad": linear in sqrt(β)
        return torch.linspace(beta_start**0.5, beta_end**0.5, num_timesteps, dtype=torch.float64) ** 2
    # Cosine (Nichol & Dhariwal 2021, Eq. 17): ᾱ(t) = f(t)/f(0), f(t) = cos²(π/2 · (t/T + s)/(1 + s)), and
    # β_t = 1 - ᾱ_t/ᾱ_{t-1}, clipped at 0.999 so the last steps stay invertible.
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    f = torch.cos((steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=0.999)


def _extract(values: Tensor, t: Tensor, x: Tensor) -> Tensor:
    """Gather the per-timestep constants ``values[t]`` as (B, 1, ..., 1) in ``x``'s dtype and device."""
    out = values.to(t.device)[t].to(dtype=x.dtype, device=x.device)
    return out.reshape(t.shape[0], *([1] * (x.dim() - 1)))


class PMeanVariance(NamedTuple):
    """The reverse-process Gaussian p_θ(x_{t-1} | x_t) = N(mean, variance) and the x_0 it implies.

    ``variance`` is σ_t² (β_t or β̃_t); ``log_variance`` is the log-variance the TF code uses for sampling and
    the KL terms, where the t = 0 entry (β̃_0 = 0) is replaced by β̃_1. ``variance`` and ``log_variance`` are
    (B, 1, ..., 1), ``mean`` and ``pred_x0`` are x_t's shape.
    """

    mean: Tensor
    variance: Tensor
    log_variance: Tensor
    pred_x0: Tensor


class NoiseSchedule:
    r"""The forward and reverse processes of Ho et al. 2020 for a fixed variance schedule (§2, §3).

    The forward process adds Gaussian noise, q(x_t | x_{t-1}) = N(√(1-β_t) x_{t-1}, β_t I) (Eq. 2), so
    that with α_t = 1 - β_t and ᾱ_t = ∏_{s≤t} α_s it has the closed form q(x_t | x_0) = N(√ᾱ_t x_0, (1-ᾱ_t) I)
    (Eq. 4). All constants are precomputed in float64 and cast to the input's dtype when gathered.

    Args:
        num_timesteps: T (the paper: 1000).
        schedule: ``"linear"`` (the paper's), ``"quadratic"`` (the TF code's ``quad``) or ``"cosine"``
            (Nichol & Dhariwal 2021).
        beta_start: β_1 of the linear and quadratic schedules (the paper: 1e-4).
        beta_end: β_T of the linear and quadratic schedules (the paper: 0.02).
        cosine_s: the offset s of the cosine schedule (Nichol & Dhariwal: 0.008).

    Timesteps are 0-based LongTensors of shape (B,) (index ``t`` is the paper's t + 1), one per example.
    """

    def __init__(
        self,
        num_timesteps: int = 1000,
        schedule: str = "linear",
        *,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        cosine_s: float = 0.008,
    ) -> None:
        if num_timesteps < 2:
            raise ValueError(f"num_timesteps must be >= 2 (got {num_timesteps})")
        if schedule not in ("linear", "quadratic", "cosine"):
            raise ValueError(f"schedule must be 'linear', 'quadratic' or 'cosine' (got {schedule!r})")
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1 (got {beta_start}, {beta_end})")
        if cosine_s < 0:
            raise ValueError(f"cosine_s must be >= 0 (got {cosine_s})")
        self.num_timesteps, self.schedule = num_timesteps, schedule
        betas = _beta_schedule(schedule, num_timesteps, beta_start, beta_end, cosine_s)
        self.betas = betas  # β_t, (T,)
        self.alphas = 1 - betas  # α_t
        self.alphas_cumprod = torch.cumprod(self.alphas, 0)  # ᾱ_t
        self.alphas_cumprod_prev = torch.cat([betas.new_ones(1), self.alphas_cumprod[:-1]])  # ᾱ_{t-1}, ᾱ_0 = 1
        # q(x_t | x_0), Eq. 4, and its inverse for x_0 from ε
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1 - self.alphas_cumprod).sqrt()
        self.sqrt_recip_alphas_cumprod = (1 / self.alphas_cumprod).sqrt()
        self.sqrt_recipm1_alphas_cumprod = (1 / self.alphas_cumprod - 1).sqrt()
        # q(x_{t-1} | x_t, x_0), Eq. 7: β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t) β_t and the two mean coefficients
        abar, abar_prev = self.alphas_cumprod, self.alphas_cumprod_prev
        self.posterior_variance = (1 - abar_prev) / (1 - abar) * betas
        # β̃ at the first step is 0, so its log is clipped to β̃ of the second step (as the TF code does)
        post_var = self.posterior_variance
        self.posterior_log_variance_clipped = torch.cat([post_var[1:2], post_var[1:]]).log()
        self.posterior_mean_coef1 = abar_prev.sqrt() * betas / (1 - abar)  # multiplies x_0
        self.posterior_mean_coef2 = self.alphas.sqrt() * (1 - abar_prev) / (1 - abar)  # multiplies x_t
        # σ_t² = β_t ("fixedlarge"), with the same clipped log at the first step
        self.fixedlarge_log_variance = torch.cat([self.posterior_variance[1:2], betas[1:]]).log()

    def __repr__(self) -> str:
        return f"NoiseSchedule(num_timesteps={self.num_timesteps}, schedule={self.schedule!r})"

    def _check_t(self, t: Tensor, x: Tensor) -> None:
        if t.dim() != 1 or t.shape[0] != x.shape[0]:
            raise ValueError(f"expected timesteps of shape ({x.shape[0]},), got {tuple(t.shape)}")
        if t.dtype.is_floating_point or t.dtype == torch.bool:
            raise ValueError(f"expected integer timesteps, got {t.dtype}")

    def sample_timesteps(self, batch_size: int, *, device: Any = None, generator: torch.Generator | None = None):
        """t ~ Uniform({0, ..., T-1}) (Algorithm 1, line 3), a LongTensor (B,)."""
        return torch.randint(0, self.num_timesteps, (batch_size,), device=device, generator=generator)

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """Draw x_t ~ q(x_t | x_0) by reparameterising Eq. 4: x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε.

        Args:
            x0: clean data (B, ...).
            t: timesteps (B,).
            noise: ε ~ N(0, I), x0's shape.

        Returns:
            x_t, x0's shape.
        """
        self._check_t(t, x0)
        if noise.shape != x0.shape:
            raise ValueError(f"expected noise of shape {tuple(x0.shape)}, got {tuple(noise.shape)}")
        mean_coef, std = _extract(self.sqrt_alphas_cumprod, t, x0), _extract(self.sqrt_one_minus_alphas_cumprod, t, x0)
        return mean_coef * x0 + std * noise

    def q_posterior(self, x0: Tensor, xt: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """The forward-process posterior q(x_{t-1} | x_t, x_0) = N(μ̃_t, β̃_t I) (Eqs. 6-7).

        μ̃_t = √ᾱ_{t-1} β_t/(1-ᾱ_t) x_0 + √α_t (1-ᾱ_{t-1})/(1-ᾱ_t) x_t and β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t) β_t.

        Returns:
            ``(mean, variance)``: mean of x_t's shape, variance (B, 1, ..., 1).
        """
        self._check_t(t, xt)
        if x0.shape != xt.shape:
            raise ValueError(f"expected x0 of shape {tuple(xt.shape)}, got {tuple(x0.shape)}")
        mean = _extract(self.posterior_mean_coef1, t, xt) * x0 + _extract(self.posterior_mean_coef2, t, xt) * xt
        return mean, _extract(self.posterior_variance, t, xt)

    def predict_x0_from_eps(self, xt: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """Invert Eq. 4 for x_0 given the noise: x_0 = (x_t - √(1-ᾱ_t) ε)/√ᾱ_t (the x̂_0 of Eq. 15)."""
        self._check_t(t, xt)
        c1, c2 = _extract(self.sqrt_recip_alphas_cumprod, t, xt), _extract(self.sqrt_recipm1_alphas_cumprod, t, xt)
        return c1 * xt - c2 * eps

    def p_mean_variance(
        self, model_eps: Tensor, xt: Tensor, t: Tensor, *, var_type: str = "fixedlarge", clip_denoised: bool = True
    ) -> PMeanVariance:
        """The reverse step p_θ(x_{t-1} | x_t) = N(μ_θ(x_t, t), σ_t² I) under the ε-parameterisation (§3.2).

        μ_θ is the posterior mean (Eq. 7) at x̂_0 = predict_x0_from_eps(x_t, ε_θ); without clipping this equals
        Eq. 11, μ_θ = (x_t - β_t/√(1-ᾱ_t) ε_θ)/√α_t. With ``clip_denoised`` x̂_0 is clipped to the data range
        [-1, 1] first, as the TF sampler does.

        Args:
            model_eps: the network's noise prediction ε_θ(x_t, t), x_t's shape.
            xt: x_t (B, ...).
            t: timesteps (B,).
            var_type: ``"fixedlarge"`` (σ_t² = β_t, the CIFAR-10 setting) or ``"fixedsmall"`` (σ_t² = β̃_t);
                §3.2: both give similar samples.
            clip_denoised: clip x̂_0 to [-1, 1].
        """
        if model_eps.shape != xt.shape:
            raise ValueError(f"expected model_eps of shape {tuple(xt.shape)}, got {tuple(model_eps.shape)}")
        if var_type == "fixedlarge":
            variance, log_variance = self.betas, self.fixedlarge_log_variance
        elif var_type == "fixedsmall":
            variance, log_variance = self.posterior_variance, self.posterior_log_variance_clipped
        else:
            raise ValueError(f"var_type must be 'fixedlarge' or 'fixedsmall' (got {var_type!r})")
        pred_x0 = self.predict_x0_from_eps(xt, t, model_eps)
        if clip_denoised:
            pred_x0 = pred_x0.clamp(-1.0, 1.0)
        mean, _ = self.q_posterior(pred_x0, xt, t)
        return PMeanVariance(mean, _extract(variance, t, xt), _extract(log_variance, t, xt), pred_x0)

    def loss_simple(
        self,
        model: Callable[[Tensor, Tensor], Tensor],
        x0: Tensor,
        *,
        t: Tensor | None = None,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        reduction: str = "mean",
    ) -> Tensor:
        """L_simple (Eq. 14; Algorithm 1): E_{t, x_0, ε} ‖ε - ε_θ(√ᾱ_t x_0 + √(1-ᾱ_t) ε, t)‖².

        Args:
            model: ε_θ, called as ``model(x_t, t)``.
            x0: a batch of data (B, ...).
            t: timesteps (B,); default t ~ Uniform({0, ..., T-1}) (line 3).
            noise: ε; default ε ~ N(0, I) (line 4).
            generator: random generator for the default t and ε.
            reduction: ``"mean"`` (a scalar, the mean over batch and dimensions, as the TF code's
                ``meanflat`` then mean) or ``"none"`` (B,).
        """
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none' (got {reduction!r})")
        if t is None:
            t = self.sample_timesteps(x0.shape[0], device=x0.device, generator=generator)
        if noise is None:
            noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
        xt = self.q_sample(x0, t, noise)
        per_example = (noise - model(xt, t)).pow(2).flatten(1).mean(1)  # (B,): the TF meanflat
        return per_example.mean() if reduction == "mean" else per_example

    @torch.no_grad()
    def sample(
        self,
        model: Callable[[Tensor, Tensor], Tensor],
        shape: Sequence[int],
        generator: torch.Generator | None = None,
        *,
        var_type: str = "fixedlarge",
        clip_denoised: bool = True,
        device: Any = None,
        dtype: torch.dtype = torch.float32,
        progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
    ) -> Tensor:
        """Ancestral sampling (Algorithm 2): x_T ~ N(0, I), then x_{t-1} = μ_θ(x_t, t) + σ_t z for t = T..1.

        No noise is added at the last step (z = 0 for the paper's t = 1, index 0 here).

        Args:
            model: ε_θ, called as ``model(x_t, t)`` with t a LongTensor (B,).
            shape: the batch shape (B, ...).
            generator: random generator for x_T and every z (on ``device``).
            var_type, clip_denoised: see :meth:`p_mean_variance`.
            progress: wraps the loop over timesteps (e.g. a tqdm bar), or None.

        Returns:
            x_0 samples of ``shape``.
        """
        x = torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)  # line 1: x_T
        steps: Iterable[int] = reversed(range(self.num_timesteps))
        for i in progress(steps) if progress is not None else steps:  # line 2: t = T, ..., 1
            t = torch.full((x.shape[0],), i, dtype=torch.long, device=x.device)
            out = self.p_mean_variance(model(x, t), x, t, var_type=var_type, clip_denoised=clip_denoised)
            if i == 0:  # line 3: z = 0 at the last step, so x_0 is the mean
                x = out.mean
            else:  # line 4: x_{t-1} = μ_θ + σ_t z
                z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x = out.mean + (0.5 * out.log_variance).exp() * z
        return x


# ---------------------------------------------------------------------------------------------------------------
# The U-Net (Appendix B; the TF ``unet.py``)
# ---------------------------------------------------------------------------------------------------------------


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal embedding of the timestep (Transformer position embedding, Appendix B), as the TF code.

    emb[:, i] = sin(t · 10000^{-i/(d/2-1)}) and emb[:, d/2 + i] = cos(·) for i < d/2 (the tensor2tensor
    variant: sines then cosines, denominator d/2 - 1); an odd ``dim`` gets a zero last column.

    Args:
        t: timesteps (B,), integer or float.
        dim: the embedding width d (>= 4).

    Returns:
        (B, dim) float32.
    """
    if dim < 4:
        raise ValueError(f"dim must be >= 4 (got {dim})")
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    args = t.float()[:, None] * freqs[None, :]  # (B, d/2)
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def _init_(module: nn.Conv2d | nn.Linear, scale: float = 1.0) -> None:
    """The TF ``default_init``: variance scaling, fan_avg, uniform (= Glorot uniform), zero bias; scale 0 → zeros."""
    if scale == 0:
        nn.init.zeros_(module.weight)
    else:
        nn.init.xavier_uniform_(module.weight, gain=math.sqrt(scale))
    if module.bias is not None:
        nn.init.zeros_(module.bias)


class ResBlock(nn.Module):
    """The DDPM residual block (the TF ``resnet_block``; a Wide ResNet block with the timestep embedding).

    h = conv1(swish(GN(x))) + Dense(swish(temb)); h = conv2(dropout(swish(GN(h)))); out = shortcut(x) + h, with a
    1×1 ("nin") shortcut when the width changes. conv2 starts at zero, so the block starts as the identity.

    Shapes:
        x: (B, in_ch, H, W), temb: (B, temb_ch) → (B, out_ch, H, W).
    """

    def __init__(
        self, in_ch: int, out_ch: int, *, temb_ch: int, dropout: float = 0.0, num_groups: int = 32, eps: float = 1e-6
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1) (got {dropout})")
        self.norm1 = nn.GroupNorm(num_groups, in_ch, eps=eps)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = nn.GroupNorm(num_groups, out_ch, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        for m, scale in ((self.conv1, 1.0), (self.temb_proj, 1.0), (self.conv2, 0.0)):
            _init_(m, scale)
        if isinstance(self.shortcut, nn.Conv2d):
            _init_(self.shortcut)

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]  # add the timestep embedding per channel
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.shortcut(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the H·W positions (the TF ``attn_block``; Appendix B: at 16×16).

    out = x + proj(softmax(q kᵀ/√C) v) with q, k, v 1×1 projections of GN(x); the projection starts at zero.

    Shapes:
        x: (B, C, H, W) → (B, C, H, W).
    """

    def __init__(self, channels: int, *, num_groups: int = 32, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(num_groups, channels, eps=eps)
        self.attn = Attention(channels, num_heads=1, qkv_bias=True)  # 1×1 convs = Linear on the tokens
        _init_(self.attn.qkv)
        _init_(self.attn.proj, 0.0)

    def forward(self, x: Tensor) -> Tensor:
        h = rearrange(self.norm(x), "b c h w -> b (h w) c")  # (B, HW, C) tokens
        h = self.attn(h)  # softmax over all HW keys, scale C^{-1/2}
        return x + rearrange(h, "b (h w) c -> b c h w", h=x.shape[2])


class Downsample(nn.Module):
    """Halve H and W with a 3×3 stride-2 convolution (the TF ``downsample`` with ``resamp_with_conv``).

    TF's "SAME" padding at stride 2 pads only the bottom and right by one pixel, so the kernel windows start
    at even pixels; the explicit asymmetric pad reproduces that.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)
        _init_(self.conv)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # (B, C, H, W) → (B, C, H/2, W/2)


class Upsample(nn.Module):
    """Double H and W: nearest-neighbour ×2 then a 3×3 convolution (the TF ``upsample`` with a conv)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        _init_(self.conv)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))  # (B, C, 2H, 2W)


def _split_input(x: Tensor | Sequence[Tensor], t: Tensor | None) -> tuple[Tensor, Tensor]:
    """Accept ``forward(x, t)`` or ``forward((x, t))`` (the registry's single-argument example input)."""
    if t is None:
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise ValueError("expected forward(x, t) or forward((x, t)) with t the timesteps (B,)")
        x, t = x
    return x, t


def _check_timesteps(t: Tensor, batch: int) -> Tensor:
    if not isinstance(t, Tensor) or t.dim() != 1 or t.shape[0] != batch:
        shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(f"expected timesteps of shape ({batch},), got {shape}")
    return t


class DDPMUNet(nn.Module):
    """The DDPM noise-prediction U-Net ε_θ(x_t, t) (Ho et al. 2020, Appendix B; the TF ``unet.model``).

    ::

        t ─ sinusoid(ch) ─ Dense(4ch) ─ swish ─ Dense(4ch) ───────────────────── temb (to every ResBlock)
        x ─ conv_in ─┬ [ResBlock (+Attn)] × n ─┬ Downsample ─ ... ─ [ResBlock (+Attn)] × n ─┐   (keep each output)
                     │                         │                                           mid: Res-Attn-Res
        out ← conv_out ← swish(GN) ← [cat skip → ResBlock (+Attn)] × (n+1) ← Upsample ← ... ←┘

    Args:
        in_channels: image channels C.
        image_size: the square input's side (attention placement and the shape check depend on it).
        ch: base width (CIFAR-10: 128).
        ch_mult: width multiplier per resolution level (CIFAR-10: (1, 2, 2, 2): 32, 16, 8, 4).
        num_res_blocks: ResBlocks per level on the way down (n; n + 1 on the way up).
        attn_resolutions: the feature-map sides with self-attention after each ResBlock (the paper: 16).
        dropout: dropout inside every ResBlock (CIFAR-10: 0.1).
        out_channels: output channels (default: ``in_channels``, ε has x's shape).
        num_groups: GroupNorm groups (32; must divide ``ch``).

    Shapes:
        x: (B, C, S, S) and t: (B,) timesteps → ε̂ (B, C_out, S, S).
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 32,
        *,
        ch: int = 128,
        ch_mult: Sequence[int] = (1, 2, 2, 2),
        num_res_blocks: int = 2,
        attn_resolutions: Sequence[int] = (16,),
        dropout: float = 0.1,
        out_channels: int | None = None,
        num_groups: int = 32,
    ) -> None:
        super().__init__()
        if in_channels <= 0:
            raise ValueError(f"in_channels must be > 0 (got {in_channels})")
        if ch <= 0 or num_groups <= 0 or ch % num_groups:
            raise ValueError(f"ch must be a positive multiple of num_groups={num_groups} (got {ch})")
        if not ch_mult or any(m <= 0 for m in ch_mult):
            raise ValueError(f"ch_mult must be a non-empty sequence of positive ints (got {ch_mult})")
        if num_res_blocks <= 0:
            raise ValueError(f"num_res_blocks must be > 0 (got {num_res_blocks})")
        if image_size <= 0 or image_size % 2 ** (len(ch_mult) - 1):
            raise ValueError(f"image_size must be a positive multiple of {2 ** (len(ch_mult) - 1)} (got {image_size})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1) (got {dropout})")
        self.in_channels, self.image_size = in_channels, image_size
        self.out_channels = out_channels or in_channels
        self.ch, self.ch_mult, self.num_res_blocks = ch, tuple(ch_mult), num_res_blocks
        self.attn_resolutions = tuple(attn_resolutions)
        temb_ch = 4 * ch
        block = dict(temb_ch=temb_ch, dropout=dropout, num_groups=num_groups)

        def attn(channels: int, res: int) -> nn.Module:  # self-attention only at the listed resolutions
            return AttnBlock(channels, num_groups=num_groups) if res in self.attn_resolutions else nn.Identity()

        self.temb = nn.Sequential(nn.Linear(ch, temb_ch), nn.SiLU(), nn.Linear(temb_ch, temb_ch))
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)

        # Down path: record every stored feature's width; the up path pops them in reverse.
        self.down = nn.ModuleList()
        skip_chs, cur, res = [ch], ch, image_size
        for level, mult in enumerate(self.ch_mult):
            stage = nn.Module()
            stage.blocks, stage.attns = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks):
                stage.blocks.append(ResBlock(cur, ch * mult, **block))
                cur = ch * mult
                stage.attns.append(attn(cur, res))
                skip_chs.append(cur)
            if level != len(self.ch_mult) - 1:
                stage.downsample = Downsample(cur)
                skip_chs.append(cur)
                res //= 2
            self.down.append(stage)

        self.mid_block1 = ResBlock(cur, cur, **block)
        self.mid_attn = AttnBlock(cur, num_groups=num_groups)
        self.mid_block2 = ResBlock(cur, cur, **block)

        # Up path, stored from the lowest resolution up (self.up[0] is the deepest level).
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(self.ch_mult))):
            stage = nn.Module()
            stage.blocks, stage.attns = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                stage.blocks.append(ResBlock(cur + skip_chs.pop(), ch * mult, **block))
                cur = ch * mult
                stage.attns.append(attn(cur, res))
            if level != 0:
                stage.upsample = Upsample(cur)
                res *= 2
            self.up.append(stage)
        assert not skip_chs

        self.norm_out = nn.GroupNorm(num_groups, cur, eps=1e-6)
        self.conv_out = nn.Conv2d(cur, self.out_channels, 3, padding=1)
        for m in (self.temb[0], self.temb[2], self.conv_in):
            _init_(m)
        _init_(self.conv_out, 0.0)  # the TF init_scale=0: the network starts by predicting ε̂ = 0

    def forward(self, x: Tensor | Sequence[Tensor], t: Tensor | None = None) -> Tensor:
        """Predict the noise ε̂ = ε_θ(x_t, t).

        Args:
            x: noisy images x_t (B, C, S, S), or the pair ``(x, t)`` as the single argument (so that the
                registry's ``model(example_input)`` works).
            t: timesteps (B,), 0-based LongTensor (floats are accepted by the embedding).

        Returns:
            ε̂ (B, C_out, S, S).
        """
        x, t = _split_input(x, t)
        expected = (self.in_channels, self.image_size, self.image_size)
        if not isinstance(x, Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != expected:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"expected x of shape (B, {', '.join(map(str, expected))}), got {shape}")
        t = _check_timesteps(t, x.shape[0])
        temb = self.temb(timestep_embedding(t, self.ch).to(x.dtype))  # (B, 4ch)

        hs = [self.conv_in(x)]  # every feature the up path concatenates
        for stage in self.down:
            for block, attn in zip(stage.blocks, stage.attns):
                hs.append(attn(block(hs[-1], temb)))
            if hasattr(stage, "downsample"):
                hs.append(stage.downsample(hs[-1]))

        h = self.mid_block2(self.mid_attn(self.mid_block1(hs[-1], temb)), temb)

        for stage in self.up:
            for block, attn in zip(stage.blocks, stage.attns):
                h = attn(block(torch.cat([h, hs.pop()], dim=1), temb))  # skip concatenation on channels
            if hasattr(stage, "upsample"):
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class DDPMMLP2d(nn.Module):
    """A timestep-conditioned MLP ε_θ(x_t, t) for low-dimensional toy data (not from the paper).

    The same conditioning as the U-Net: temb = Dense(swish(Dense(sinusoid(t)))), added to every hidden layer:
    h_0 = Dense(x), h_{l+1} = swish(Dense(h_l) + Dense_l(temb)), ε̂ = Dense(h_L).

    Args:
        dim: data dimension (2 for the planar toy distributions).
        hidden: hidden width.
        num_layers: hidden layers L.
        emb_dim: sinusoidal embedding width.

    Shapes:
        x: (B, dim), t: (B,) → (B, dim); ``forward((x, t))`` works as for :class:`DDPMUNet`.
    """

    def __init__(self, dim: int = 2, *, hidden: int = 128, num_layers: int = 3, emb_dim: int = 64) -> None:
        super().__init__()
        for name, v in (("dim", dim), ("hidden", hidden), ("num_layers", num_layers)):
            if v <= 0:
                raise ValueError(f"{name} must be > 0 (got {v})")
        if emb_dim < 4:
            raise ValueError(f"emb_dim must be >= 4 (got {emb_dim})")
        self.dim, self.emb_dim = dim, emb_dim
        self.temb = nn.Sequential(nn.Linear(emb_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers))
        self.temb_projs = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: Tensor | Sequence[Tensor], t: Tensor | None = None) -> Tensor:
        x, t = _split_input(x, t)
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"expected x of shape (B, {self.dim}), got {shape}")
        t = _check_timesteps(t, x.shape[0])
        temb = F.silu(self.temb(timestep_embedding(t, self.emb_dim).to(x.dtype)))  # (B, hidden)
        h = self.inp(x)
        for layer, proj in zip(self.layers, self.temb_projs):
            h = F.silu(layer(h) + proj(temb))
        return self.out(h)


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

_REF_TF = "hojonathanho/diffusion diffusion_tf/models/unet.py"


def _image_input(c: int, s: int) -> Callable[[int, Any], tuple[Tensor, Tensor]]:
    def fn(b: int, device: Any) -> tuple[Tensor, Tensor]:
        return torch.randn(b, c, s, s, device=device), torch.randint(0, 1000, (b,), device=device)

    return fn


def _toy_input(b: int, device: Any) -> tuple[Tensor, Tensor]:
    return torch.randn(b, 2, device=device), torch.randint(0, 1000, (b,), device=device)


@register_model(
    paper=HO_2020,
    reference=f"{_REF_TF} (run_cifar.py); diffusers UNet2DModel google/ddpm-cifar10-32",
    reference_params=35_746_307,
    input_size=(3, 32, 32),
    example_input=_image_input(3, 32),
)
def ddpm_cifar10(**kwargs: Any) -> DDPMUNet:
    """The paper's CIFAR-10 model: ch 128, ch_mult (1, 2, 2, 2), 2 blocks, attention at 16, dropout 0.1 (35.7M)."""
    defaults = dict(in_channels=3, image_size=32, ch=128, ch_mult=(1, 2, 2, 2), num_res_blocks=2)
    return DDPMUNet(**{**defaults, "attn_resolutions": (16,), "dropout": 0.1, **kwargs})


@register_model(
    paper=HO_2020,
    reference=f"{_REF_TF} (run_celebahq.py, unet2d16b2c112244); diffusers UNet2DModel google/ddpm-celebahq-256",
    reference_params=113_673_219,
    input_size=(3, 256, 256),
    example_input=_image_input(3, 256),
)
def ddpm_celebahq(**kwargs: Any) -> DDPMUNet:
    """The paper's 256×256 model (CelebA-HQ): ch 128, ch_mult (1, 1, 2, 2, 4, 4), attention at 16, no dropout.

    113,673,219 parameters, as the diffusers port of the authors' checkpoint (the paper: "114 million").
    """
    defaults = dict(in_channels=3, image_size=256, ch=128, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2)
    return DDPMUNet(**{**defaults, "attn_resolutions": (16,), "dropout": 0.0, **kwargs})


@register_model(
    paper=HO_2020,
    reference=f"{_REF_TF} (run_lsun.py, unet2d16b2c112244); diffusers UNet2DModel google/ddpm-church-256",
    reference_params=113_673_219,
    input_size=(3, 256, 256),
    example_input=_image_input(3, 256),
)
def ddpm_lsun(**kwargs: Any) -> DDPMUNet:
    """The paper's LSUN church/bedroom/cat 256×256 model: the same network as ``ddpm_celebahq``."""
    defaults = dict(in_channels=3, image_size=256, ch=128, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2)
    return DDPMUNet(**{**defaults, "attn_resolutions": (16,), "dropout": 0.0, **kwargs})


@register_model(
    paper=HO_2020,
    reference="none (a toy denoiser for 2-D distributions; not in the paper)",
    input_size=(2,),
    example_input=_toy_input,
)
def ddpm_mlp_2d(**kwargs: Any) -> DDPMMLP2d:
    """Timestep-conditioned MLP denoiser for the 2-D toy distributions (hidden 128, 3 layers)."""
    return DDPMMLP2d(**{**dict(dim=2, hidden=128, num_layers=3, emb_dim=64), **kwargs})


@register_model(paper=HO_2020, reference="none (toy)", input_size=(2,), example_input=_toy_input)
def ddpm_mlp_2d_tiny(**kwargs: Any) -> DDPMMLP2d:
    return DDPMMLP2d(**{**dict(dim=2, hidden=32, num_layers=2, emb_dim=16), **kwargs})


@register_model(paper=HO_2020, reference=_REF_TF, input_size=(3, 16, 16), example_input=_image_input(3, 16))
def ddpm_tiny(**kwargs: Any) -> DDPMUNet:
    """A small U-Net for tests: 16×16, ch 32, ch_mult (1, 2), one block per level, attention at 8."""
    defaults = dict(in_channels=3, image_size=16, ch=32, ch_mult=(1, 2), num_res_blocks=1)
    return DDPMUNet(**{**defaults, "attn_resolutions": (8,), "dropout": 0.1, **kwargs})
