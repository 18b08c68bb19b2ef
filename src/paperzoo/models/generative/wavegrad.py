"""WaveGrad: a mel-conditioned diffusion vocoder that estimates the gradient of the waveform's log-density.

Paper: Chen, Zhang, Zen, Weiss, Norouzi & Chan, "WaveGrad: Estimating Gradients for Waveform Generation",
ICLR 2021, arXiv:2009.00713.
Reference implementation: ``ivanvovk/WaveGrad`` (``model/nn.py``, ``configs/default.json``: 80 mel bands,
factors (5, 5, 3, 2, 2)), whose layers are those of ``lmnt-com/wavegrad`` ``model.py`` (which takes 128 mel
bands) apart from the mel input width. ``wavegrad_base`` has the reference's 15,810,401 parameters (the
paper's "15M" WaveGrad Base).

Implemented (§3, Figs. 3-6):

- :class:`UBlock` (Fig. 3): upsample the conditioning features by ``factor`` with two residual blocks of
  dilated 3×1 convolutions, FiLM-modulated (scale · h + shift) before every non-linearity after the first.
- :class:`DBlock` (Fig. 4): downsample the noisy waveform's features by ``factor`` (1×1 residual + three
  dilated 3×1 convolutions, dilations 1, 2, 4).
- :class:`FiLM` (Fig. 5): (scale, shift) from a DBlock output plus the positional embedding of the
  continuous noise level √ᾱ (:func:`noise_level_embedding`, the Transformer sinusoid at position 5000·√ᾱ).
- :class:`WaveGrad` (Fig. 6): mel → 3×1 conv (768) → 5 UBlocks (×5, ×5, ×3, ×2, ×2 = hop 300) → 3×1 conv → ε̂,
  modulated by the FiLM outputs of the waveform branch 1 → 5×1 conv (32) → 4 DBlocks (÷2, ÷2, ÷3, ÷5).
- The noise-level maths of §3: :func:`noise_levels` (√ᾱ_n), :func:`sample_noise_level` (the continuous
  √ᾱ ~ U(√ᾱ_s, √ᾱ_{s-1}) of §3, Algorithm 1), :func:`training_loss` (the L1 loss on ε the paper trains
  with) and :func:`sample` (Algorithm 2, for any β schedule: 1000, 50, 25 or 6 iterations).

Deviations and choices: up/downsampling is linear interpolation as in the reference (``lmnt-com``: nearest);
both branches' 1×1 residual convolutions commute with interpolation, so their order does not matter. The
noise-level embedding follows the paper (sinusoid of 5000·√ᾱ, added to every channel and time step);
``ivanvovk`` instead adds √ᾱ to a time-position sinusoid divided by 5000, and ``lmnt-com`` uses √ᾱ without the
5000 scale. Neither choice has parameters. Weights are initialised orthogonally with zero biases as in both
references. Left out: the 6-iteration schedule grid search and the training loop (the recipe's job), and the
paper's WaveGrad Large variant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model

__all__ = [
    "noise_level_embedding",
    "FiLM",
    "UBlock",
    "DBlock",
    "WaveGrad",
    "linear_betas",
    "noise_levels",
    "sample_noise_level",
    "training_loss",
    "sample",
]

CHEN_2020 = Paper(
    title="WaveGrad: Estimating Gradients for Waveform Generation",
    authors="Nanxin Chen, Yu Zhang, Heiga Zen, Ron J. Weiss, Mohammad Norouzi, William Chan",
    year=2020,
    arxiv="2009.00713",
)

_SLOPE = 0.2  # every non-linearity is LeakyReLU(0.2) (Figs. 3-5)


def _conv(c_in: int, c_out: int, kernel: int, dilation: int = 1) -> nn.Conv1d:
    """A 'same'-length 1-D convolution, orthogonal weights and zero bias (as both references)."""
    conv = nn.Conv1d(c_in, c_out, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
    nn.init.orthogonal_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _resample(x: Tensor, length: int, mode: str) -> Tensor:
    """Interpolate (B, C, T) to (B, C, length)."""
    if mode == "nearest":
        return F.interpolate(x, size=length, mode="nearest")
    return F.interpolate(x, size=length, mode="linear", align_corners=False)


def noise_level_embedding(noise_level: Tensor, dim: int, *, scale: float = 5000.0) -> Tensor:
    """The paper's positional embedding of the continuous noise level √ᾱ (§3, Fig. 5).

    The Transformer sinusoid (Vaswani et al. 2017) at the position p = scale · √ᾱ, the d/2 sines then the d/2
    cosines: e_k = sin(p · 10000^{-k/(d/2)}), e_{d/2+k} = cos(p · 10000^{-k/(d/2)}), k = 0..d/2-1.

    Args:
        noise_level: √ᾱ (B,).
        dim: the embedding width d (even).
        scale: the paper's linear scale (5000) that spreads √ᾱ ∈ [0, 1] over many periods.

    Returns:
        (B, dim).
    """
    if dim % 2:
        raise ValueError(f"dim must be even (got {dim})")
    half = dim // 2
    # float64: the argument reaches 5000, where float32's sin would lose about 1e-4
    freqs = torch.exp(-math.log(1e4) * torch.arange(half, device=noise_level.device, dtype=torch.float64) / half)
    arg = scale * noise_level.double()[:, None] * freqs[None]  # (B, d/2)
    return torch.cat([arg.sin(), arg.cos()], dim=1).to(noise_level.dtype)


class FiLM(nn.Module):
    """Feature-wise linear modulation from the waveform branch (WaveGrad Fig. 5).

    h = LReLU(Conv3(x)) + PE(√ᾱ); scale = Conv3(h), shift = Conv3(h). The UBlocks then apply scale · y + shift.

    Args:
        in_channels: channels of the DBlock output it reads.
        out_channels: channels of the UBlock it modulates.
        pe_scale: the noise-level embedding's scale (5000).

    Shapes:
        x: (B, C_in, T), noise_level: (B,) → scale, shift: (B, C_out, T).
    """

    def __init__(self, in_channels: int, out_channels: int, *, pe_scale: float = 5000.0) -> None:
        super().__init__()
        if in_channels <= 0 or in_channels % 2 or out_channels <= 0:
            raise ValueError(f"need an even in_channels > 0 and out_channels > 0 (got {in_channels}, {out_channels})")
        self.pe_scale = pe_scale
        self.input_conv = _conv(in_channels, in_channels, 3)
        self.scale_conv = _conv(in_channels, out_channels, 3)
        self.shift_conv = _conv(in_channels, out_channels, 3)

    def forward(self, x: Tensor, noise_level: Tensor) -> tuple[Tensor, Tensor]:
        h = F.leaky_relu(self.input_conv(x), _SLOPE)
        h = h + noise_level_embedding(noise_level, h.shape[1], scale=self.pe_scale).to(h.dtype)[:, :, None]
        return self.scale_conv(h), self.shift_conv(h)


class UBlock(nn.Module):
    """The upsampling block (WaveGrad Fig. 3): two residual blocks, the first one upsampling by ``factor``.

    ::

        x ─ LReLU ─ up ─ Conv3(d0) ─ FiLM ─ LReLU ─ Conv3(d1) ─(+)─ h      (first residual block)
        x ─ up ─ Conv1 ─────────────────────────────────────────┘
        h ─ FiLM ─ LReLU ─ Conv3(d2) ─ FiLM ─ LReLU ─ Conv3(d3) ─(+)─ out  (second residual block)
        h ──────────────────────────────────────────────────────┘

    where FiLM(y) = scale · y + shift.

    Args:
        in_channels, out_channels: widths.
        factor: the upsampling factor.
        dilations: the four 3×1 convolutions' dilations ((1, 2, 1, 2) or (1, 2, 4, 8) in the paper).
        mode: ``"linear"`` (reference) or ``"nearest"`` interpolation.

    Shapes:
        x: (B, C_in, T); scale, shift: (B, C_out, T·factor) → (B, C_out, T·factor).
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, factor: int, dilations: Sequence[int], mode: str = "linear"
    ) -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"factor must be >= 1 (got {factor})")
        if len(dilations) != 4:
            raise ValueError(f"dilations must have 4 entries (got {dilations})")
        if mode not in ("linear", "nearest"):
            raise ValueError(f"mode must be 'linear' or 'nearest' (got {mode!r})")
        self.factor, self.mode = factor, mode
        self.residual = _conv(in_channels, out_channels, 1)
        self.convs = nn.ModuleList(
            _conv(in_channels if i == 0 else out_channels, out_channels, 3, d) for i, d in enumerate(dilations)
        )

    def forward(self, x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        length = x.shape[-1] * self.factor
        c0, c1, c2, c3 = self.convs
        h = c0(_resample(F.leaky_relu(x, _SLOPE), length, self.mode))
        h = c1(F.leaky_relu(scale * h + shift, _SLOPE))
        h = h + _resample(self.residual(x), length, self.mode)  # first residual block
        r = c2(F.leaky_relu(scale * h + shift, _SLOPE))
        r = c3(F.leaky_relu(scale * r + shift, _SLOPE))
        return h + r  # second residual block


class DBlock(nn.Module):
    """The downsampling block (WaveGrad Fig. 4): down by ``factor``, then LReLU + Conv3 at each dilation.

    ``out = Convs(down(x)) + down(Conv1(x))``, the output length ``T // factor``.

    Args:
        in_channels, out_channels: widths.
        factor: the downsampling factor.
        dilations: the 3×1 convolutions' dilations (the paper: 1, 2, 4).
        mode: ``"linear"`` (reference) or ``"nearest"`` interpolation.

    Shapes:
        (B, C_in, T) → (B, C_out, T // factor).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        factor: int,
        dilations: Sequence[int] = (1, 2, 4),
        mode: str = "linear",
    ) -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"factor must be >= 1 (got {factor})")
        if not dilations:
            raise ValueError(f"dilations must be non-empty (got {dilations})")
        if mode not in ("linear", "nearest"):
            raise ValueError(f"mode must be 'linear' or 'nearest' (got {mode!r})")
        self.factor, self.mode = factor, mode
        self.residual = _conv(in_channels, out_channels, 1)
        self.convs = nn.ModuleList(
            _conv(in_channels if i == 0 else out_channels, out_channels, 3, d) for i, d in enumerate(dilations)
        )

    def forward(self, x: Tensor) -> Tensor:
        length = x.shape[-1] // self.factor
        h = _resample(x, length, self.mode)
        for conv in self.convs:
            h = conv(F.leaky_relu(h, _SLOPE))
        return h + _resample(self.residual(x), length, self.mode)


def _split_input(audio: Any, mel: Tensor | None, noise_level: Tensor | None) -> tuple[Any, Any, Any]:
    """Accept ``forward(audio, mel, noise_level)`` or ``forward((audio, mel, noise_level))`` (the registry)."""
    if mel is None and noise_level is None:
        if not isinstance(audio, (tuple, list)) or len(audio) != 3:
            raise ValueError("expected forward(audio, mel, noise_level) or forward((audio, mel, noise_level))")
        return tuple(audio)
    return audio, mel, noise_level


class WaveGrad(nn.Module):
    """WaveGrad's noise-prediction network ε_θ(y_n, x, √ᾱ) (Chen et al. 2020, Fig. 6).

    ::

        mel (B, 80, F) ─ Conv3 (768) ─ UBlock ×5 ─ UBlock ×5 ─ UBlock ×3 ─ UBlock ×2 ─ UBlock ×2 ─ Conv3 ─ ε̂ (B, 300F)
                                              ↑ FiLM      ↑ FiLM      ↑ FiLM      ↑ FiLM      ↑ FiLM
        y_n (B, 300F) ─ Conv5 (32) ──────── DBlock ÷2 ── DBlock ÷2 ── DBlock ÷3 ── DBlock ÷5 (outputs feed the FiLMs)

    FiLM i reads the waveform branch at the resolution of UBlock (n - 1 - i)'s output and √ᾱ.

    Args:
        n_mels: mel bands of the conditioning (80).
        upsample_factors: the UBlocks' factors; their product is the hop length (300).
        upsample_channels: the UBlocks' output widths.
        upsample_preconv_channels: width of the 3×1 conv on the mel (768).
        upsample_dilations: per UBlock, its four dilations.
        downsample_preconv_channels: width of the 5×1 conv on the waveform (32).
        downsample_channels: the DBlocks' output widths (one fewer than UBlocks); FiLM i maps
            (preconv, *downsample_channels)[i] to reversed(upsample_channels)[i].
        downsample_dilations: every DBlock's dilations (1, 2, 4).
        mode: interpolation for up/downsampling, ``"linear"`` (reference) or ``"nearest"``.
        pe_scale: the noise-level embedding's scale (5000).

    Shapes:
        audio y_n: (B, T), mel: (B, n_mels, F) with T = F · hop, noise_level √ᾱ: (B,) → ε̂ (B, T).
    """

    def __init__(
        self,
        n_mels: int = 80,
        *,
        upsample_factors: Sequence[int] = (5, 5, 3, 2, 2),
        upsample_channels: Sequence[int] = (512, 512, 256, 128, 128),
        upsample_preconv_channels: int = 768,
        upsample_dilations: Sequence[Sequence[int]] = (
            (1, 2, 1, 2),
            (1, 2, 1, 2),
            (1, 2, 4, 8),
            (1, 2, 4, 8),
            (1, 2, 4, 8),
        ),
        downsample_preconv_channels: int = 32,
        downsample_channels: Sequence[int] = (128, 128, 256, 512),
        downsample_dilations: Sequence[int] = (1, 2, 4),
        mode: str = "linear",
        pe_scale: float = 5000.0,
    ) -> None:
        super().__init__()
        n = len(upsample_factors)
        if n_mels <= 0:
            raise ValueError(f"n_mels must be > 0 (got {n_mels})")
        if n == 0 or any(f < 1 for f in upsample_factors):
            raise ValueError(f"upsample_factors must be a non-empty sequence of ints >= 1 (got {upsample_factors})")
        if len(upsample_channels) != n or len(upsample_dilations) != n:
            raise ValueError(f"need one channel width and dilation tuple per UBlock ({n}) (got {upsample_channels})")
        if len(downsample_channels) != n - 1:
            raise ValueError(f"need {n - 1} downsample_channels, one per DBlock (got {downsample_channels})")
        self.n_mels = n_mels
        self.upsample_factors = tuple(upsample_factors)
        self.hop_length = math.prod(self.upsample_factors)

        self.ublock_preconv = _conv(n_mels, upsample_preconv_channels, 3)
        ins = [upsample_preconv_channels, *upsample_channels[:-1]]
        self.ublocks = nn.ModuleList(
            UBlock(i, o, factor=f, dilations=d, mode=mode)
            for i, o, f, d in zip(ins, upsample_channels, upsample_factors, upsample_dilations)
        )
        self.ublock_postconv = _conv(upsample_channels[-1], 1, 3)

        # The waveform branch runs the UBlocks' factors backwards, skipping the first (the mel's frame rate).
        self.dblock_preconv = _conv(1, downsample_preconv_channels, 5)
        d_ins = [downsample_preconv_channels, *downsample_channels]
        self.dblocks = nn.ModuleList(
            DBlock(i, o, factor=f, dilations=downsample_dilations, mode=mode)
            for i, o, f in zip(d_ins[:-1], downsample_channels, self.upsample_factors[1:][::-1])
        )
        self.films = nn.ModuleList(FiLM(i, o, pe_scale=pe_scale) for i, o in zip(d_ins, tuple(upsample_channels)[::-1]))

    def forward(self, audio: Any, mel: Tensor | None = None, noise_level: Tensor | None = None) -> Tensor:
        """Predict the noise ε̂ in y_n = √ᾱ y_0 + √(1 - ᾱ) ε.

        Args:
            audio: y_n (B, T), or the triple ``(audio, mel, noise_level)`` as the single argument.
            mel: the conditioning (B, n_mels, F), with T = F · hop_length.
            noise_level: √ᾱ (B,).

        Returns:
            ε̂ (B, T).
        """
        audio, mel, noise_level = _split_input(audio, mel, noise_level)
        if not isinstance(mel, Tensor) or mel.dim() != 3 or mel.shape[1] != self.n_mels:
            shape = tuple(mel.shape) if isinstance(mel, Tensor) else type(mel).__name__
            raise ValueError(f"expected mel of shape (B, {self.n_mels}, frames), got {shape}")
        b, frames = mel.shape[0], mel.shape[2]
        if not isinstance(audio, Tensor) or tuple(audio.shape) != (b, frames * self.hop_length):
            shape = tuple(audio.shape) if isinstance(audio, Tensor) else type(audio).__name__
            raise ValueError(f"expected audio of shape ({b}, {frames * self.hop_length}) = frames × hop, got {shape}")
        if not isinstance(noise_level, Tensor) or tuple(noise_level.shape) != (b,):
            shape = tuple(noise_level.shape) if isinstance(noise_level, Tensor) else type(noise_level).__name__
            raise ValueError(f"expected noise_level of shape ({b},), got {shape}")

        h = self.dblock_preconv(audio[:, None])  # (B, 32, T)
        films = [self.films[0](h, noise_level)]
        for dblock, film in zip(self.dblocks, self.films[1:]):
            h = dblock(h)  # (B, C_i, T / ∏ factors so far)
            films.append(film(h, noise_level))

        x = self.ublock_preconv(mel)  # (B, 768, F)
        for ublock, (scale, shift) in zip(self.ublocks, reversed(films)):
            x = ublock(x, scale, shift)
        return self.ublock_postconv(x)[:, 0]  # (B, T)


# ---------------------------------------------------------------------------------------------------------------
# The diffusion maths of §3 (continuous noise level)
# ---------------------------------------------------------------------------------------------------------------


def linear_betas(num_steps: int = 1000, start: float = 1e-6, end: float = 0.01) -> Tensor:
    """A linear β schedule in float64; the defaults are the training schedule of both references."""
    if num_steps < 1 or not 0 < start <= end < 1:
        raise ValueError(f"need num_steps >= 1 and 0 < start <= end < 1 (got {num_steps}, {start}, {end})")
    return torch.linspace(start, end, num_steps, dtype=torch.float64)


def _check_betas(betas: Tensor | Sequence[float]) -> Tensor:
    betas = torch.as_tensor(betas, dtype=torch.float64)
    if betas.dim() != 1 or betas.numel() == 0 or not ((betas > 0) & (betas < 1)).all():
        raise ValueError(f"expected a non-empty 1-D β schedule in (0, 1) (got {betas})")
    return betas


def noise_levels(betas: Tensor | Sequence[float]) -> Tensor:
    """√ᾱ_n for n = 0..N with ᾱ_0 = 1 and ᾱ_n = ∏_{s ≤ n} (1 - β_s): (N + 1,), float64, decreasing."""
    betas = _check_betas(betas)
    return torch.cat([betas.new_ones(1), torch.cumprod(1 - betas, 0)]).sqrt()


def sample_noise_level(
    betas: Tensor | Sequence[float], batch_size: int, *, generator: torch.Generator | None = None
) -> Tensor:
    """The continuous noise level of §3: s ~ U({1..N}), √ᾱ ~ U(√ᾱ_s, √ᾱ_{s-1}) (Algorithm 1).

    Conditioning on a continuous √ᾱ instead of the index n lets one trained model run any inference schedule.

    Returns:
        √ᾱ (B,), float32.
    """
    levels = noise_levels(betas)
    s = torch.randint(1, levels.numel(), (batch_size,), generator=generator)
    lo, hi = levels[s], levels[s - 1]
    u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
    return (lo + u * (hi - lo)).float()


def training_loss(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    audio: Tensor,
    mel: Tensor,
    betas: Tensor | Sequence[float],
    *,
    noise_level: Tensor | None = None,
    noise: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The paper's training objective (Algorithm 1, with the L1 norm): ‖ε - ε_θ(√ᾱ y_0 + √(1-ᾱ) ε, x, √ᾱ)‖₁.

    Args:
        model: ε_θ, called as ``model(y_noisy, mel, noise_level)``.
        audio: clean y_0 (B, T). mel: (B, n_mels, F).
        betas: the training schedule (N,).
        noise_level: √ᾱ (B,); default :func:`sample_noise_level`.
        noise: ε; default N(0, I).

    Returns:
        the mean absolute error, a scalar.
    """
    b = audio.shape[0]
    if noise_level is None:
        noise_level = sample_noise_level(betas, b, generator=generator).to(audio.device)
    if noise is None:
        noise = torch.randn(audio.shape, generator=generator, dtype=audio.dtype).to(audio.device)
    lvl = noise_level.to(audio.dtype)[:, None]
    noisy = lvl * audio + (1 - lvl**2).clamp(min=0).sqrt() * noise
    return (noise - model(noisy, mel, noise_level)).abs().mean()


@torch.no_grad()
def sample(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    mel: Tensor,
    betas: Tensor | Sequence[float],
    generator: torch.Generator | None = None,
    *,
    hop_length: int | None = None,
) -> Tensor:
    """Algorithm 2: y_N ~ N(0, I); for n = N..1, y_{n-1} = (y_n - β_n/√(1-ᾱ_n) ε_θ(y_n, x, √ᾱ_n))/√α_n + σ_n z.

    σ_n² = (1-ᾱ_{n-1})/(1-ᾱ_n) β_n (§3) and z = 0 at n = 1. Any β schedule works (the paper: 1000, 50, 25 and
    6 iterations), because the network is conditioned on the continuous √ᾱ_n.

    Args:
        model: ε_θ, called as ``model(y, mel, noise_level)``.
        mel: (B, n_mels, F).
        betas: the inference schedule β_1..β_N.
        generator: for y_N and every z.
        hop_length: samples per mel frame; default ``model.hop_length``.

    Returns:
        y_0 (B, F · hop_length).
    """
    betas = _check_betas(betas)
    hop = hop_length if hop_length is not None else getattr(model, "hop_length", None)
    if hop is None:
        raise ValueError("expected hop_length, or a model with a hop_length attribute")
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
    b = mel.shape[0]
    shape = (b, mel.shape[-1] * hop)
    y = torch.randn(shape, generator=generator, dtype=torch.float64)
    for n in reversed(range(betas.numel())):
        level = torch.full((b,), abar[n].sqrt().item(), dtype=mel.dtype, device=mel.device)
        eps = model(y.to(mel.dtype).to(mel.device), mel, level).to(torch.float64).cpu()
        y = (y - betas[n] / (1 - abar[n]).sqrt() * eps) / alphas[n].sqrt()
        if n > 0:
            sigma = ((1 - abar_prev[n]) / (1 - abar[n]) * betas[n]).sqrt()
            y = y + sigma * torch.randn(shape, generator=generator, dtype=torch.float64)
    return y.to(mel.dtype).to(mel.device)


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

_REF = "ivanvovk/WaveGrad model/nn.py (configs/default.json); layers as lmnt-com/wavegrad model.py"


def _example(n_mels: int, frames: int, hop: int) -> Callable[[int, Any], tuple[Tensor, Tensor, Tensor]]:
    def fn(b: int, device: Any) -> tuple[Tensor, Tensor, Tensor]:
        audio = torch.randn(b, frames * hop, device=device)
        return audio, torch.randn(b, n_mels, frames, device=device), torch.rand(b, device=device)

    return fn


@register_model(
    paper=CHEN_2020,
    reference=_REF,
    reference_params=15_810_401,
    input_size=(7200,),
    example_input=_example(80, 24, 300),
)
def wavegrad_base(**kwargs: Any) -> WaveGrad:
    """WaveGrad Base (§3, Fig. 6): 80 mels, UBlocks ×(5, 5, 3, 2, 2) at (512, 512, 256, 128, 128), hop 300."""
    return WaveGrad(**kwargs)


@register_model(paper=CHEN_2020, reference=_REF, input_size=(64,), example_input=_example(16, 4, 16))
def wavegrad_tiny(**kwargs: Any) -> WaveGrad:
    """A small WaveGrad for tests: 16 mels, factors (4, 2, 2) (hop 16), widths 32/16."""
    defaults = dict(
        n_mels=16,
        upsample_factors=(4, 2, 2),
        upsample_channels=(32, 16, 16),
        upsample_preconv_channels=32,
        upsample_dilations=((1, 2, 1, 2), (1, 2, 4, 8), (1, 2, 4, 8)),
        downsample_preconv_channels=8,
        downsample_channels=(16, 16),
    )
    return WaveGrad(**{**defaults, **kwargs})
