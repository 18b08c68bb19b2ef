"""VQ-VAE: vector-quantised variational autoencoders for images and audio, and the continuous-VAE baseline.

Paper: van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning", NeurIPS 2017,
arXiv:1711.00937.
Reference implementations: DeepMind Sonnet ``snt.nets.VectorQuantizer`` / ``VectorQuantizerEMA``
(``sonnet/src/nets/vqvae.py``) and the Sonnet VQ-VAE example notebook (``examples/vqvae_example.ipynb``: the
encoder / decoder / residual stack used below); ``rosinality/vq-vae-2-pytorch`` ``vqvae.py`` for the same
blocks in PyTorch.

Implemented:

- :class:`VectorQuantizer` (§3.1-3.2): nearest-codebook lookup with vectorised squared distances
  ‖z‖² - 2 z·e + ‖e‖², the straight-through gradient z + sg[e - z], and the loss of Eq. 3,
  ‖sg[z_e] - e‖² + β ‖z_e - sg[e]‖² with β = 0.25 (means over elements, as Sonnet).
- :class:`VectorQuantizerEMA` (Appendix A.1): the codebook follows exponential moving averages of the
  assigned encoder outputs, N_i ← γ N_i + (1-γ) n_i, m_i ← γ m_i + (1-γ) Σ_j z_{i,j}, e_i = m_i / N_i, γ = 0.99,
  with Sonnet's Laplace smoothing of N (ε = 1e-5); only the commitment loss trains the encoder.
  ``debias=True`` is Sonnet v2 (zero-debiased averages), ``debias=False`` rosinality's plain averages
  starting from N = 1, m = e. Optional dead-code restarts (off by default; not in the paper).
- :class:`VQVAE` (§4.1-4.2): the paper's image encoder (two stride-2 4×4 convolutions, a 3×3 convolution,
  two residual blocks ReLU-3×3-ReLU-1×1) and decoder (3×3 convolution, two residual blocks, two stride-2
  4×4 transposed convolutions), a 1×1 projection to the codebook dimension D. ``vqvae_cifar10``:
  32×32 → 8×8 latents; ``vqvae_imagenet``: 128×128 → 32×32, K = 512, D = 64 (both with the paper's 256
  hidden units). ``latents_per_position=10`` gives the paper's 8×8×10 CIFAR-10 latent field.
- :class:`AudioVQVAE` (§4.3): six strided 1-D convolutions, stride 2 and window 4 (64× fewer latents
  than samples), K = 512, and a decoder conditioned on the latents and a learned speaker embedding.
  The paper's decoder is a full WaveNet; :class:`WaveNetDecoder` is a small WaveNet of the same kind
  (gated dilated causal convolutions, local conditioning on the nearest-upsampled latents, global
  conditioning on the speaker, skip connections, 256-way μ-law softmax).
- :class:`GaussianVAE` (§4.1's continuous baseline): the same encoder and decoder with a diagonal
  Gaussian posterior, the KL to N(0, I), and a discretised-Gaussian (or plain Gaussian) likelihood,
  reporting bits/dim.

Choices and deviations: the paper states only "256 hidden units" for the encoder and decoder; as in the
Sonnet example and rosinality the first strided convolution has half the hidden width and a 1×1
convolution projects to D (the decoder starts with a 3×3 convolution from D). No reference code exists for
the paper's own configurations, so their ``reference_params`` are None; ``vqvae_cifar10`` built with
``hidden_channels=128, residual_channels=32, ema=True`` is the Sonnet example (662,723 trainable
parameters, counted in the tests). The audio encoder width, D and the WaveNet sizes are not given in the
paper (ours: 256 hidden, D = 64, a 20-layer WaveNet with 128 residual channels). §4.3 quotes 64× compression
but also 40960 samples → 320 latents (128×) for its unconditional samples; ``num_downsamples=7`` gives the
latter. Left out: the VIMCO baseline, the video model (§4.4) and the bits/dim evaluation of the VQ-VAE
itself (a likelihood head on its decoder); priors live in :mod:`.pixelcnn` / :mod:`.pixelsnail`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model

__all__ = [
    "QuantizerOutput",
    "VectorQuantizer",
    "VectorQuantizerEMA",
    "ResidualBlock",
    "ResidualStack",
    "Encoder",
    "Decoder",
    "VQVAEOutput",
    "VQVAE",
    "mu_law_encode",
    "mu_law_decode",
    "WaveNetDecoder",
    "AudioVQVAEOutput",
    "AudioVQVAE",
    "GaussianVAEOutput",
    "GaussianVAE",
    "discretized_gaussian_log_likelihood",
    "perplexity",
]

VAN_DEN_OORD_2017 = Paper(
    title="Neural Discrete Representation Learning",
    authors="Aaron van den Oord, Oriol Vinyals, Koray Kavukcuoglu",
    year=2017,
    arxiv="1711.00937",
)


# ---------------------------------------------------------------------------------------------------------------
# Vector quantisation (§3.1-3.2, Appendix A.1)
# ---------------------------------------------------------------------------------------------------------------


def perplexity(counts: Tensor) -> Tensor:
    """Codebook perplexity exp(-Σ_k p_k log p_k) with p = counts / Σ counts (Sonnet's usage measure).

    It is K when every code is used equally often and 1 when a single code is used.
    """
    p = counts.float() / counts.sum().clamp(min=1)
    return torch.exp(-torch.special.xlogy(p, p).sum())


def _code_counts(idx: Tensor, num_embeddings: int, dtype: torch.dtype) -> Tensor:
    """How many of the (N,) indices fall on each code: (K,) (a scatter-add, which also runs on the meta device)."""
    return torch.zeros(num_embeddings, dtype=dtype, device=idx.device).index_add_(
        0, idx, torch.ones(idx.shape, dtype=dtype, device=idx.device)
    )


@dataclass
class QuantizerOutput:
    """What a vector quantiser returns.

    Attributes:
        quantized: e_{k(z)} with the straight-through gradient, shaped like the input.
        indices: the code index k of every vector (the input's shape without the channel dimension), long.
        loss: the quantiser's loss term of Eq. 3 (codebook + β · commitment; commitment only for EMA), scalar.
        perplexity: exp(entropy) of the batch's code usage, scalar.
        counts: how many vectors each code received in this batch, (K,).
    """

    quantized: Tensor
    indices: Tensor
    loss: Tensor
    perplexity: Tensor
    counts: Tensor


class _Quantizer(nn.Module):
    """Shared lookup machinery: nearest code, straight-through estimator, channel-first helpers."""

    num_embeddings: int
    embedding_dim: int

    @property
    def codebook(self) -> Tensor:  # (K, D)
        raise NotImplementedError

    def _check(self, z: Tensor) -> None:
        if not isinstance(z, Tensor) or z.dim() < 1 or z.shape[-1] != self.embedding_dim:
            shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"expected vectors of shape (..., {self.embedding_dim}) (channel last), got {shape}")

    def nearest(self, flat: Tensor) -> Tensor:
        """argmin_k ‖z - e_k‖² for (N, D) vectors → (N,) long, via ‖z‖² - 2 z·e + ‖e‖² (one matmul)."""
        e = self.codebook.to(flat.dtype)
        dist2 = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]  # (N, K)
        return dist2.argmin(1)

    def codes_to_vectors(self, indices: Tensor, *, channels_first: bool = False) -> Tensor:
        """Codebook rows for a code map (e.g. a prior's samples): (...) → (..., D); (B, D, ...) if channels_first."""
        if indices.dtype not in (torch.int64, torch.int32) or (
            indices.numel() and indices.max() >= self.num_embeddings
        ):
            raise ValueError(f"expected integer codes in [0, {self.num_embeddings}), got dtype {indices.dtype}")
        vectors = F.embedding(indices.long(), self.codebook)
        return vectors.movedim(-1, 1) if channels_first else vectors

    def forward_channels_first(self, z: Tensor) -> QuantizerOutput:
        """Quantise a (B, D, *spatial) feature map; ``quantized`` comes back channel-first, indices (B, *spatial)."""
        if not isinstance(z, Tensor) or z.dim() < 2 or z.shape[1] != self.embedding_dim:
            shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"expected a feature map of shape (B, {self.embedding_dim}, ...), got {shape}")
        out = self(z.movedim(1, -1))
        out.quantized = out.quantized.movedim(-1, 1)
        return out

    def _straight_through(self, z: Tensor, e: Tensor) -> Tensor:
        # Eq. 3's sg: forward value e, gradient ∂L/∂e copied onto z (the decoder's gradient reaches the encoder).
        return z + (e - z).detach()


class VectorQuantizer(_Quantizer):
    """The VQ-VAE bottleneck (van den Oord et al. 2017, §3.1, Eq. 3), learnt by the codebook loss.

    z_q = e_k with k = argmin_j ‖z_e - e_j‖₂; loss = ‖sg[z_e] - e‖² + β ‖z_e - sg[e]‖².

    Args:
        num_embeddings: codebook size K.
        embedding_dim: code dimension D.
        commitment_cost: β (0.25 in every experiment of the paper).

    Shapes:
        z: (..., D) channel last → quantized (..., D), indices (...).
    """

    def __init__(self, num_embeddings: int = 512, embedding_dim: int = 64, *, commitment_cost: float = 0.25) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"need num_embeddings >= 1 and embedding_dim >= 1 (got {num_embeddings}, {embedding_dim})")
        if commitment_cost < 0:
            raise ValueError(f"commitment_cost must be >= 0 (got {commitment_cost})")
        self.num_embeddings, self.embedding_dim, self.commitment_cost = num_embeddings, embedding_dim, commitment_cost
        # Sonnet's VarianceScaling(uniform) on its (D, K) matrix: U(±√(3/D)).
        bound = math.sqrt(3.0 / embedding_dim)
        self.embedding = nn.Parameter(torch.empty(num_embeddings, embedding_dim).uniform_(-bound, bound))

    @property
    def codebook(self) -> Tensor:
        return self.embedding

    def forward(self, z: Tensor) -> QuantizerOutput:
        self._check(z)
        flat = z.reshape(-1, self.embedding_dim)  # (N, D)
        with torch.no_grad():
            idx = self.nearest(flat)  # (N,)
        e = F.embedding(idx, self.embedding).view_as(z)
        codebook_loss = F.mse_loss(e, z.detach())  # moves e towards sg[z_e]
        commitment = F.mse_loss(z, e.detach())  # keeps z_e near its code
        counts = _code_counts(idx, self.num_embeddings, z.dtype)
        return QuantizerOutput(
            quantized=self._straight_through(z, e),
            indices=idx.view(z.shape[:-1]),
            loss=codebook_loss + self.commitment_cost * commitment,
            perplexity=perplexity(counts),
            counts=counts,
        )


class VectorQuantizerEMA(_Quantizer):
    """VQ with exponential-moving-average codebook updates (van den Oord et al. 2017, Appendix A.1).

    In training mode each call, after quantising with the current codebook, updates (Sonnet order):

        n_i = #{z assigned to i},  s_i = Σ z assigned to i
        N ← γ N + (1 - γ) n,  m ← γ m + (1 - γ) s         (zero-debiased by 1 - γ^t when ``debias``)
        Ñ_i = (N_i + ε) / (Σ N + K ε) · Σ N              (Laplace smoothing: no division by zero)
        e_i = m_i / Ñ_i

    Counts and sums are all-reduced across processes under ``torch.distributed``. The codebook is a buffer
    (not a parameter), and the loss is β ‖z_e - sg[e]‖² only.

    Args:
        num_embeddings: K. embedding_dim: D.
        commitment_cost: β (0.25).
        decay: γ (0.99).
        epsilon: ε of the Laplace smoothing (1e-5).
        debias: Sonnet v2's debiased averages (hidden state from 0, divided by 1 - γ^t); False: rosinality's
            plain averages starting from N = 1 and m = e.
        init: ``"uniform"`` (Sonnet: U(±√(3/D))) or ``"normal"`` (rosinality: N(0, 1)) initial codebook.
        restart_threshold: codes whose smoothed count falls below this are re-initialised from random
            encoder outputs of the batch (dead-code restarts; 0 disables them, the default).

    Shapes:
        z: (..., D) channel last → quantized (..., D), indices (...).
    """

    def __init__(
        self,
        num_embeddings: int = 512,
        embedding_dim: int = 64,
        *,
        commitment_cost: float = 0.25,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        debias: bool = True,
        init: str = "uniform",
        restart_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"need num_embeddings >= 1 and embedding_dim >= 1 (got {num_embeddings}, {embedding_dim})")
        if not 0 <= decay < 1:
            raise ValueError(f"decay must be in [0, 1) (got {decay})")
        if epsilon <= 0 or commitment_cost < 0 or restart_threshold < 0:
            raise ValueError(
                f"need epsilon > 0, commitment_cost >= 0, restart_threshold >= 0 "
                f"(got {epsilon}, {commitment_cost}, {restart_threshold})"
            )
        if init not in ("uniform", "normal"):
            raise ValueError(f"init must be 'uniform' or 'normal' (got {init!r})")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost, self.decay, self.epsilon = commitment_cost, decay, epsilon
        self.debias, self.restart_threshold = debias, restart_threshold
        if init == "uniform":
            bound = math.sqrt(3.0 / embedding_dim)
            codebook = torch.empty(num_embeddings, embedding_dim).uniform_(-bound, bound)
        else:
            codebook = torch.randn(num_embeddings, embedding_dim)
        self.register_buffer("embedding", codebook)
        # The EMA state: hidden (biased) averages when debiasing, else the averages themselves.
        self.register_buffer("ema_cluster_size", torch.zeros(num_embeddings) if debias else torch.ones(num_embeddings))
        self.register_buffer("ema_weight", torch.zeros_like(codebook) if debias else codebook.clone())
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    @property
    def codebook(self) -> Tensor:
        return self.embedding

    def cluster_size(self) -> Tensor:
        """The (debiased, unsmoothed) moving average N of the code counts, (K,)."""
        if not self.debias:
            return self.ema_cluster_size
        return self.ema_cluster_size / (1 - self.decay ** self.steps.clamp(min=1).to(self.ema_cluster_size.dtype))

    @torch.no_grad()
    def _update(self, flat: Tensor, idx: Tensor, counts: Tensor) -> None:
        counts = counts.clone()  # n_i, (K,)
        sums = flat.new_zeros(self.num_embeddings, self.embedding_dim).index_add_(0, idx, flat)  # s_i, (K, D)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.steps += 1
        self.ema_cluster_size.mul_(self.decay).add_(counts.to(self.ema_cluster_size.dtype), alpha=1 - self.decay)
        self.ema_weight.mul_(self.decay).add_(sums.to(self.ema_weight.dtype), alpha=1 - self.decay)
        # Sonnet v2's zero-debiasing divides by 1 - γ^t (a tensor: no host sync, and it runs on meta).
        bias = 1 - self.decay ** self.steps.to(self.ema_cluster_size.dtype) if self.debias else 1.0
        size, weight = self.ema_cluster_size / bias, self.ema_weight / bias
        n = size.sum()
        smoothed = (size + self.epsilon) / (n + self.num_embeddings * self.epsilon) * n
        self.embedding.copy_(weight / smoothed[:, None])
        if self.restart_threshold > 0:
            self._restart(flat, smoothed, bias)

    @torch.no_grad()
    def _restart(self, flat: Tensor, smoothed: Tensor, bias: Tensor | float) -> None:
        dead = smoothed < self.restart_threshold  # (K,)
        if not dead.any():
            return
        picks = flat[torch.randint(0, flat.shape[0], (self.num_embeddings,), device=flat.device)]  # (K, D)
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(picks, 0)  # every process restarts to the same vectors
        picks = picks.to(self.embedding.dtype)
        self.embedding[dead] = picks[dead]
        # A restarted code starts with a (debiased) count of 1 and its new vector as the running mean.
        self.ema_cluster_size[dead] = bias
        self.ema_weight[dead] = picks[dead] * bias

    def forward(self, z: Tensor) -> QuantizerOutput:
        self._check(z)
        flat = z.reshape(-1, self.embedding_dim)
        with torch.no_grad():
            idx = self.nearest(flat)
            counts = _code_counts(idx, self.num_embeddings, flat.dtype)  # (K,)
        e = F.embedding(idx, self.embedding).view_as(z).to(z.dtype)  # the codes before this step's update
        if self.training:
            self._update(flat.detach(), idx, counts)
        return QuantizerOutput(
            quantized=self._straight_through(z, e),
            indices=idx.view(z.shape[:-1]),
            loss=self.commitment_cost * F.mse_loss(z, e),
            perplexity=perplexity(counts),
            counts=counts,
        )


def _make_quantizer(
    ema: bool, num_embeddings: int, embedding_dim: int, commitment_cost: float, decay: float, epsilon: float
) -> _Quantizer:
    if ema:
        return VectorQuantizerEMA(
            num_embeddings, embedding_dim, commitment_cost=commitment_cost, decay=decay, epsilon=epsilon
        )
    return VectorQuantizer(num_embeddings, embedding_dim, commitment_cost=commitment_cost)


# ---------------------------------------------------------------------------------------------------------------
# Image encoder and decoder (§4.1; Sonnet example, rosinality)
# ---------------------------------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """x + Conv1×1(ReLU(Conv3×3(ReLU(x)))) (the paper's residual block, §4.1). ``conv`` is Conv2d or Conv1d."""

    def __init__(self, channels: int, hidden: int, *, conv: type[nn.Module] = nn.Conv2d) -> None:
        super().__init__()
        if channels < 1 or hidden < 1:
            raise ValueError(f"channels and hidden must be >= 1 (got {channels}, {hidden})")
        self.conv3 = conv(channels, hidden, 3, padding=1)
        self.conv1 = conv(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1(F.relu(self.conv3(F.relu(x))))


class ResidualStack(nn.Module):
    """``num_layers`` residual blocks followed by a ReLU (Sonnet's ``ResidualStack``)."""

    def __init__(self, channels: int, hidden: int, num_layers: int, *, conv: type[nn.Module] = nn.Conv2d) -> None:
        super().__init__()
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0 (got {num_layers})")
        self.blocks = nn.ModuleList(ResidualBlock(channels, hidden, conv=conv) for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return F.relu(x)


def _log2(stride: int) -> int:
    n = int(round(math.log2(stride))) if stride >= 1 else -1
    if stride < 2 or 2**n != stride:
        raise ValueError(f"stride must be a power of two >= 2 (got {stride})")
    return n


class Encoder(nn.Module):
    """Downsample by ``stride`` (a power of two): stride-2 4×4 convolutions, a 3×3 convolution, a residual stack.

    ::

        x ─ Conv4×4/2 (C/2) ─ ReLU ─ [Conv4×4/2 (C) ─ ReLU] × (log₂ stride - 1) ─ Conv3×3 (C) ─ ResStack ─ ReLU

    With stride 4 this is the paper's encoder (§4.1) as laid out in the Sonnet example and rosinality's
    ``Encoder(stride=4)``; stride 2 is rosinality's ``Encoder(stride=2)`` (one strided convolution).

    Args:
        in_channels: input channels. channels: hidden width C. residual_channels: the blocks' 3×3 width.
        num_residual_layers: residual blocks. stride: total downsampling.

    Shapes:
        (B, in, H, W) → (B, C, H/stride, W/stride).
    """

    def __init__(
        self, in_channels: int, channels: int, *, residual_channels: int, num_residual_layers: int, stride: int
    ) -> None:
        super().__init__()
        if in_channels < 1 or channels < 2:
            raise ValueError(f"need in_channels >= 1 and channels >= 2 (got {in_channels}, {channels})")
        n = _log2(stride)
        widths = [channels // 2] + [channels] * (n - 1)
        layers: list[nn.Module] = []
        c = in_channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 4, stride=2, padding=1), nn.ReLU()]
            c = w
        layers.append(nn.Conv2d(c, channels, 3, padding=1))
        self.layers = nn.Sequential(*layers)
        self.residual = ResidualStack(channels, residual_channels, num_residual_layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(self.layers(x))


class Decoder(nn.Module):
    """Upsample by ``stride``: a 3×3 convolution, a residual stack, stride-2 4×4 transposed convolutions.

    ::

        z ─ Conv3×3 (C) ─ ResStack ─ ReLU ─ [ConvT4×4/2 (C) ─ ReLU] × (n-2) ─ ConvT4×4/2 (C/2) ─ ReLU ─ ConvT4×4/2

    (n = log₂ stride, the last to ``out_channels``; n = 1: one transposed convolution C → out). Stride 4 is the
    paper's decoder (§4.1) and rosinality's ``Decoder(stride=4)``.

    Shapes:
        (B, in, h, w) → (B, out, h·stride, w·stride).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels: int,
        *,
        residual_channels: int,
        num_residual_layers: int,
        stride: int,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1 or channels < 2:
            raise ValueError(f"need channel counts >= 1 (got {in_channels}, {out_channels}, {channels})")
        n = _log2(stride)
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.residual = ResidualStack(channels, residual_channels, num_residual_layers)
        outs = [channels] * (n - 2) + ([channels // 2] if n >= 2 else []) + [out_channels]
        layers: list[nn.Module] = []
        c = channels
        for i, o in enumerate(outs):
            layers.append(nn.ConvTranspose2d(c, o, 4, stride=2, padding=1))
            if i < len(outs) - 1:
                layers.append(nn.ReLU())
            c = o
        self.layers = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(self.residual(self.conv(z)))


# ---------------------------------------------------------------------------------------------------------------
# The image VQ-VAE (§3, §4.2)
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class VQVAEOutput:
    """reconstruction (B, C, H, W); vq_loss (scalar); indices (B, h, w) or (B, G, h, w); perplexity (scalar)."""

    reconstruction: Tensor
    vq_loss: Tensor
    indices: Tensor
    perplexity: Tensor


def _check_image(x: Any, channels: int, multiple: int, name: str) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != channels:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected images of shape (B, {channels}, H, W), got {shape}")
    if x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"{name}: expected H and W divisible by {multiple}, got {tuple(x.shape)}")


class VQVAE(nn.Module):
    """The image VQ-VAE (van den Oord et al. 2017, §3, Fig. 1): encoder → quantiser → decoder.

    ::

        x ─ Encoder (÷2^n) ─ Conv1×1 (G·D) ─ VQ (K × D) ─ Decoder (×2^n) ─ x̂
                                              │
                                              └ indices (B, [G,] h, w)

    Args:
        in_channels: image channels (3).
        hidden_channels: the encoder/decoder width (the paper: 256).
        residual_channels: the residual blocks' 3×3 width (the paper: 256).
        num_residual_layers: residual blocks in each of encoder and decoder (2).
        num_downsamples: stride-2 4×4 convolutions, i.e. the latent map is H / 2^n (2).
        embedding_dim: D (64). num_embeddings: K (512).
        latents_per_position: G discrete latents per spatial position (1; the paper's CIFAR-10 field is
            8×8×10, i.e. G = 10, each quantised with the same codebook).
        commitment_cost: β (0.25).
        ema: EMA codebook updates (Appendix A.1) instead of the codebook loss. decay, epsilon: its γ, ε.

    Shapes:
        x: (B, C, H, W) with H, W divisible by 2^n → :class:`VQVAEOutput`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        *,
        hidden_channels: int = 256,
        residual_channels: int = 256,
        num_residual_layers: int = 2,
        num_downsamples: int = 2,
        embedding_dim: int = 64,
        num_embeddings: int = 512,
        latents_per_position: int = 1,
        commitment_cost: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        epsilon: float = 1e-5,
    ) -> None:
        super().__init__()
        if num_downsamples < 1:
            raise ValueError(f"num_downsamples must be >= 1 (got {num_downsamples})")
        if latents_per_position < 1:
            raise ValueError(f"latents_per_position must be >= 1 (got {latents_per_position})")
        self.in_channels, self.stride = in_channels, 2**num_downsamples
        self.embedding_dim, self.latents_per_position = embedding_dim, latents_per_position
        g_d = latents_per_position * embedding_dim
        blocks = dict(residual_channels=residual_channels, num_residual_layers=num_residual_layers, stride=self.stride)
        self.encoder = Encoder(in_channels, hidden_channels, **blocks)
        self.pre_quantize = nn.Conv2d(hidden_channels, g_d, 1)
        self.quantizer = _make_quantizer(ema, num_embeddings, embedding_dim, commitment_cost, decay, epsilon)
        self.decoder = Decoder(g_d, in_channels, hidden_channels, **blocks)

    def _to_vectors(self, z: Tensor) -> Tensor:
        return rearrange(z, "b (g d) h w -> b g h w d", g=self.latents_per_position)

    def _from_vectors(self, q: Tensor) -> Tensor:
        return rearrange(q, "b g h w d -> b (g d) h w")

    def _squeeze(self, idx: Tensor) -> Tensor:
        return idx[:, 0] if self.latents_per_position == 1 else idx  # (B, h, w) or (B, G, h, w)

    def quantize(self, x: Tensor) -> tuple[Tensor, QuantizerOutput]:
        """Encode and quantise: (quantized map (B, G·D, h, w), the quantiser's output)."""
        _check_image(x, self.in_channels, self.stride, type(self).__name__)
        vq = self.quantizer(self._to_vectors(self.pre_quantize(self.encoder(x))))  # (B, G, h, w, D)
        return self._from_vectors(vq.quantized), vq

    def forward(self, x: Tensor) -> VQVAEOutput:
        q, vq = self.quantize(x)
        return VQVAEOutput(self.decoder(q), vq.loss, self._squeeze(vq.indices), vq.perplexity)

    def loss(self, x: Tensor, *, data_variance: float = 1.0) -> Tensor:
        """The training objective (Eq. 3): ‖x - x̂‖² / data_variance (mean) + the quantiser's loss.

        The paper's log p(x|z_q) is a Gaussian with fixed variance, i.e. the MSE; Sonnet divides it by the
        training set's variance, which ``data_variance`` reproduces.
        """
        out = self(x)
        return F.mse_loss(out.reconstruction, x) / data_variance + out.vq_loss

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """The discrete code map: (B, C, H, W) → (B, h, w) (or (B, G, h, w) when G > 1), long."""
        return self._squeeze(self.quantize(x)[1].indices)

    def decode_codes(self, indices: Tensor) -> Tensor:
        """Decode a code map (e.g. a prior's sample): (B, h, w) or (B, G, h, w) → (B, C, H, W)."""
        if self.latents_per_position == 1:
            indices = indices[:, None]
        if indices.dim() != 4 or indices.shape[1] != self.latents_per_position:
            raise ValueError(f"expected codes of shape (B, h, w) / (B, G, h, w), got {tuple(indices.shape)}")
        return self.decoder(self._from_vectors(self.quantizer.codes_to_vectors(indices)))


# ---------------------------------------------------------------------------------------------------------------
# The audio VQ-VAE (§4.3) with a WaveNet decoder
# ---------------------------------------------------------------------------------------------------------------


def mu_law_encode(audio: Tensor, channels: int = 256) -> Tensor:
    """μ-law companding and quantisation (WaveNet §2.2): [-1, 1] → {0, ..., channels - 1}."""
    mu = channels - 1
    x = audio.clamp(-1, 1)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(codes: Tensor, channels: int = 256) -> Tensor:
    """The inverse of :func:`mu_law_encode` (bin centres): {0..channels-1} → [-1, 1]."""
    mu = channels - 1
    y = codes.float() / mu * 2 - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu


class WaveNetDecoder(nn.Module):
    """A small WaveNet p(x_t | x_<t, z, speaker) used as the VQ-VAE audio decoder (§4.3; WaveNet, arXiv:1609.03499).

    Each layer: h = W_f ∗_d x + V_f c_t + U_f s,  g = W_g ∗_d x + V_g c_t + U_g s,  y = tanh(h) ⊙ σ(g),
    x ← x + W_r y (residual),  skip += W_s y; output softmax over 256 μ-law levels from ReLU-1×1-ReLU-1×1 of
    the skips. ∗_d is a causal convolution with dilation d, c_t the latents repeated ``upsample`` times
    (nearest upsampling), s the speaker embedding.

    Args:
        latent_channels: D of the latents.
        upsample: samples per latent step (64).
        num_speakers, speaker_dim: the learned speaker embedding (one-hot speaker id → vector).
        residual_channels, skip_channels: widths.
        dilations: one per layer, e.g. 2 cycles of 1, 2, ..., 512.
        kernel_size: of the dilated convolutions (2, as WaveNet).
        quantization_channels: μ-law levels (256).

    Shapes:
        audio (B, T) in [-1, 1], latents (B, D, T / upsample), speaker (B,) → logits (B, 256, T), where
        logits[..., t] predicts x_t from x_<t (the input is shifted right by one sample internally).
    """

    def __init__(
        self,
        latent_channels: int,
        *,
        upsample: int,
        num_speakers: int,
        speaker_dim: int = 64,
        residual_channels: int = 128,
        skip_channels: int = 256,
        dilations: Sequence[int] = tuple(2**i for i in range(10)) * 2,
        kernel_size: int = 2,
        quantization_channels: int = 256,
    ) -> None:
        super().__init__()
        if not dilations or any(d < 1 for d in dilations):
            raise ValueError(f"dilations must be a non-empty sequence of ints >= 1 (got {dilations})")
        if num_speakers < 1 or upsample < 1 or kernel_size < 1:
            raise ValueError(
                f"need num_speakers, upsample, kernel_size >= 1 (got {num_speakers}, {upsample}, {kernel_size})"
            )
        self.upsample, self.kernel_size = upsample, kernel_size
        self.dilations, self.quantization_channels = tuple(dilations), quantization_channels
        r, n = residual_channels, len(dilations)
        self.speaker = nn.Embedding(num_speakers, speaker_dim)
        self.input = nn.Conv1d(1, r, kernel_size)  # causal: left-padded in forward
        self.filters = nn.ModuleList(nn.Conv1d(r, 2 * r, kernel_size, dilation=d) for d in dilations)
        self.local = nn.ModuleList(nn.Conv1d(latent_channels, 2 * r, 1, bias=False) for _ in dilations)
        self.glob = nn.ModuleList(nn.Linear(speaker_dim, 2 * r, bias=False) for _ in dilations)
        # The last layer's residual output would feed nothing, so it has only a skip projection.
        self.residuals = nn.ModuleList(nn.Conv1d(r, r, 1) for _ in range(n - 1))
        self.skips = nn.ModuleList(nn.Conv1d(r, skip_channels, 1) for _ in dilations)
        self.out1 = nn.Conv1d(skip_channels, skip_channels, 1)
        self.out2 = nn.Conv1d(skip_channels, quantization_channels, 1)

    @property
    def receptive_field(self) -> int:
        return (self.kernel_size - 1) * (1 + sum(self.dilations)) + 1

    def forward(self, audio: Tensor, latents: Tensor, speaker: Tensor) -> Tensor:
        x = F.pad(audio[:, None], (1, 0))[..., :-1]  # (B, 1, T): x_{t-1} at position t (teacher forcing)
        x = self.input(F.pad(x, (self.kernel_size - 1, 0)))  # (B, R, T)
        cond = latents.repeat_interleave(self.upsample, dim=-1)  # (B, D, T)
        spk = self.speaker(speaker)  # (B, S)
        skip = 0
        for i, (filt, loc, glob, sk) in enumerate(zip(self.filters, self.local, self.glob, self.skips)):
            d = self.dilations[i]
            h = filt(F.pad(x, ((self.kernel_size - 1) * d, 0))) + loc(cond) + glob(spk)[..., None]  # (B, 2R, T)
            f, g = h.chunk(2, dim=1)
            y = torch.tanh(f) * torch.sigmoid(g)  # gated activation (WaveNet Eq. 2)
            skip = skip + sk(y)
            if i < len(self.residuals):
                x = x + self.residuals[i](y)
        return self.out2(F.relu(self.out1(F.relu(skip))))  # (B, 256, T)


@dataclass
class AudioVQVAEOutput:
    """logits (B, 256, T) over μ-law levels; vq_loss (scalar); indices (B, T / 64); perplexity (scalar)."""

    logits: Tensor
    vq_loss: Tensor
    indices: Tensor
    perplexity: Tensor


def _split_audio(audio: Any, speaker: Any) -> tuple[Any, Any]:
    if speaker is None:
        if not isinstance(audio, (tuple, list)) or len(audio) != 2:
            raise ValueError("expected forward(audio, speaker) or forward((audio, speaker))")
        return tuple(audio)
    return audio, speaker


class AudioVQVAE(nn.Module):
    """The speech VQ-VAE of van den Oord et al. 2017, §4.3 (VCTK, 109 speakers).

    ::

        x (B, T) ─ [Conv1d k4/2 ─ ReLU] × 6 ─ Conv1×1 (D) ─ VQ (K=512) ─ z_q (B, D, T/64)
                                                                            │
        x_<t, speaker id ──────────────────────────────────── WaveNet decoder ┴─ p(x_t | x_<t, z_q, speaker)

    Args:
        hidden_channels: encoder width (not given in the paper; 256).
        num_downsamples: strided convolutions (6 → 64× compression).
        embedding_dim: D (64; not given). num_embeddings: K (512).
        num_speakers: speaker ids (109 for VCTK). speaker_dim: its embedding width.
        residual_channels, skip_channels, dilations: the WaveNet decoder's sizes.
        commitment_cost, ema, decay, epsilon: the quantiser's.

    Shapes:
        audio (B, T) in [-1, 1] with T divisible by 2^n, speaker (B,) long → :class:`AudioVQVAEOutput`.
    """

    def __init__(
        self,
        *,
        hidden_channels: int = 256,
        num_downsamples: int = 6,
        embedding_dim: int = 64,
        num_embeddings: int = 512,
        num_speakers: int = 109,
        speaker_dim: int = 64,
        residual_channels: int = 128,
        skip_channels: int = 256,
        dilations: Sequence[int] = tuple(2**i for i in range(10)) * 2,
        commitment_cost: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        epsilon: float = 1e-5,
    ) -> None:
        super().__init__()
        if num_downsamples < 1 or hidden_channels < 1:
            raise ValueError(
                f"need num_downsamples >= 1 and hidden_channels >= 1 (got {num_downsamples}, {hidden_channels})"
            )
        self.compression = 2**num_downsamples
        self.num_speakers = num_speakers
        layers: list[nn.Module] = []
        c = 1
        for _ in range(num_downsamples):  # stride 2, window 4, padding 1: T → T/2 exactly
            layers += [nn.Conv1d(c, hidden_channels, 4, stride=2, padding=1), nn.ReLU()]
            c = hidden_channels
        self.encoder = nn.Sequential(*layers)
        self.pre_quantize = nn.Conv1d(hidden_channels, embedding_dim, 1)
        self.quantizer = _make_quantizer(ema, num_embeddings, embedding_dim, commitment_cost, decay, epsilon)
        self.decoder = WaveNetDecoder(
            embedding_dim,
            upsample=self.compression,
            num_speakers=num_speakers,
            speaker_dim=speaker_dim,
            residual_channels=residual_channels,
            skip_channels=skip_channels,
            dilations=dilations,
        )

    def _check(self, audio: Any, speaker: Any) -> None:
        if not isinstance(audio, Tensor) or audio.dim() != 2 or audio.shape[1] % self.compression:
            shape = tuple(audio.shape) if isinstance(audio, Tensor) else type(audio).__name__
            raise ValueError(f"expected audio of shape (B, T) with T divisible by {self.compression}, got {shape}")
        if not isinstance(speaker, Tensor) or tuple(speaker.shape) != (audio.shape[0],) or speaker.is_floating_point():
            shape = tuple(speaker.shape) if isinstance(speaker, Tensor) else type(speaker).__name__
            raise ValueError(f"expected integer speaker ids of shape ({audio.shape[0]},), got {shape}")

    def quantize(self, audio: Tensor) -> QuantizerOutput:
        """Encode and quantise; ``quantized`` is (B, D, T / 64)."""
        return self.quantizer.forward_channels_first(self.pre_quantize(self.encoder(audio[:, None])))

    def forward(self, audio: Any, speaker: Tensor | None = None) -> AudioVQVAEOutput:
        audio, speaker = _split_audio(audio, speaker)
        self._check(audio, speaker)
        vq = self.quantize(audio)
        # The decoder sees the μ-law-quantised past, exactly what it will see when sampling.
        past = mu_law_decode(
            mu_law_encode(audio, self.decoder.quantization_channels), self.decoder.quantization_channels
        )
        logits = self.decoder(past.to(audio.dtype), vq.quantized, speaker)
        return AudioVQVAEOutput(logits, vq.loss, vq.indices, vq.perplexity)

    def loss(self, audio: Tensor, speaker: Tensor) -> Tensor:
        """-log p(x | z_q, speaker) per sample (cross-entropy over μ-law levels) + the quantiser's loss (Eq. 3)."""
        out = self(audio, speaker)
        target = mu_law_encode(audio, self.decoder.quantization_channels)
        return F.cross_entropy(out.logits, target) + out.vq_loss

    @torch.no_grad()
    def encode(self, audio: Tensor) -> Tensor:
        """(B, T) → the code sequence (B, T / 64), long."""
        return self.quantize(audio).indices

    @torch.no_grad()
    def decode_codes(
        self, indices: Tensor, speaker: Tensor, *, generator: torch.Generator | None = None, temperature: float = 1.0
    ) -> Tensor:
        """Sample a waveform for a code sequence and speaker (ancestral sampling, one sample at a time).

        Runs the whole decoder once per sample (no activation cache), so it is for short clips and tests.

        Args:
            indices: (B, L) codes. speaker: (B,) ids (may differ from the encoded speaker: voice conversion).

        Returns:
            audio (B, L · 64) in [-1, 1].
        """
        latents = self.quantizer.codes_to_vectors(indices, channels_first=True)  # (B, D, L)
        b, length = indices.shape[0], indices.shape[1] * self.compression
        audio = torch.zeros(b, length, device=latents.device, dtype=latents.dtype)
        for t in range(length):
            logits = self.decoder(audio, latents, speaker)[..., t] / temperature  # (B, 256)
            probs = torch.softmax(logits.float(), -1)
            code = torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0].to(audio.device)
            audio[:, t] = mu_law_decode(code, self.decoder.quantization_channels).to(audio.dtype)
        return audio


# ---------------------------------------------------------------------------------------------------------------
# The continuous baseline of §4.1: a Gaussian VAE with the same encoder and decoder
# ---------------------------------------------------------------------------------------------------------------


def discretized_gaussian_log_likelihood(x: Tensor, mean: Tensor, log_scale: Tensor, *, bins: int = 256) -> Tensor:
    """log P(x) of 8-bit data scaled to [-1, 1] under a Gaussian discretised into ``bins`` bins.

    P(x) = Φ((x + δ - μ)/σ) - Φ((x - δ - μ)/σ) with δ = 1/(bins - 1), the edge bins extended to ±∞ so the
    probabilities of all bins sum to 1 (as the DDPM/PixelCNN++ decoders).

    Returns:
        elementwise log-probabilities, shaped like x.
    """
    half = 1.0 / (bins - 1)
    inv = torch.exp(-log_scale)
    cdf_plus = torch.special.ndtr((x - mean + half) * inv)  # Φ, the standard normal CDF
    cdf_minus = torch.special.ndtr((x - mean - half) * inv)
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_minus = torch.log((1 - cdf_minus).clamp(min=1e-12))
    log_mid = torch.log((cdf_plus - cdf_minus).clamp(min=1e-12))
    edge_lo, edge_hi = -1 + half, 1 - half
    return torch.where(x < edge_lo, log_cdf_plus, torch.where(x > edge_hi, log_one_minus_cdf_minus, log_mid))


@dataclass
class GaussianVAEOutput:
    """reconstruction = decoder mean (B, C, H, W); posterior mean / logvar (B, G·D, h, w); kl, nll,
    bits_per_dim: per image (B,) in nats, nats and bits per dimension."""

    reconstruction: Tensor
    mean: Tensor
    logvar: Tensor
    kl: Tensor
    nll: Tensor
    bits_per_dim: Tensor


class GaussianVAE(nn.Module):
    """The continuous-latent VAE the paper compares against (§4.1, "VAE 4.51 bits/dim" on CIFAR-10).

    Same encoder and decoder as :class:`VQVAE`; the 1×1 projection outputs a diagonal Gaussian posterior
    q(z|x) = N(μ, σ²) of the same size as the VQ-VAE's latents, the prior is N(0, I), and the likelihood is a
    discretised Gaussian with a learned per-channel scale (``"discretized"``) or a Gaussian density
    (``"gaussian"``, whose bits/dim subtract log(2/255) per dimension: the density of uniformly dequantised
    8-bit data). Negative ELBO = KL(q‖p) - E_q log p(x|z), one sample of z.

    Shapes:
        x: (B, C, H, W) in [-1, 1] → :class:`GaussianVAEOutput`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        *,
        hidden_channels: int = 256,
        residual_channels: int = 256,
        num_residual_layers: int = 2,
        num_downsamples: int = 2,
        latent_dim: int = 64,
        likelihood: str = "discretized",
    ) -> None:
        super().__init__()
        if likelihood not in ("discretized", "gaussian"):
            raise ValueError(f"likelihood must be 'discretized' or 'gaussian' (got {likelihood!r})")
        if num_downsamples < 1 or latent_dim < 1:
            raise ValueError(f"need num_downsamples >= 1 and latent_dim >= 1 (got {num_downsamples}, {latent_dim})")
        self.in_channels, self.stride, self.likelihood = in_channels, 2**num_downsamples, likelihood
        blocks = dict(residual_channels=residual_channels, num_residual_layers=num_residual_layers, stride=self.stride)
        self.encoder = Encoder(in_channels, hidden_channels, **blocks)
        self.posterior = nn.Conv2d(hidden_channels, 2 * latent_dim, 1)  # (μ, log σ²)
        self.decoder = Decoder(latent_dim, in_channels, hidden_channels, **blocks)
        self.log_scale = nn.Parameter(torch.zeros(in_channels))  # log σ of p(x|z), per channel

    def forward(self, x: Tensor, *, sample: bool = True) -> GaussianVAEOutput:
        _check_image(x, self.in_channels, self.stride, type(self).__name__)
        mean, logvar = self.posterior(self.encoder(x)).chunk(2, dim=1)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if sample else mean
        recon = self.decoder(z)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)  # KL(N(μ,σ²) ‖ N(0,1))
        log_scale = self.log_scale[None, :, None, None]
        if self.likelihood == "discretized":
            logp = discretized_gaussian_log_likelihood(x, recon, log_scale)
        else:  # a density on [-1, 1]; + log(2/255) per dim turns it into the probability of a bin
            logp = -0.5 * math.log(2 * math.pi) - log_scale - 0.5 * ((x - recon) * torch.exp(-log_scale)).pow(2)
            logp = logp + math.log(2 / 255)
        nll = -logp.flatten(1).sum(1)
        dims = x[0].numel()
        return GaussianVAEOutput(recon, mean, logvar, kl, nll, (nll + kl) / (dims * math.log(2)))

    def loss(self, x: Tensor) -> Tensor:
        """The negative ELBO in nats per dimension, averaged over the batch."""
        out = self(x)
        return (out.nll + out.kl).mean() / x[0].numel()


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

_REF = "deepmind sonnet snt.nets.VectorQuantizer(EMA) + examples/vqvae_example.ipynb (paper config: no public code)"


def _audio_input(length: int, speakers: int):
    def fn(b: int, device: Any) -> tuple[Tensor, Tensor]:
        return torch.rand(b, length, device=device) * 2 - 1, torch.randint(0, speakers, (b,), device=device)

    return fn


@register_model(paper=VAN_DEN_OORD_2017, reference=_REF, input_size=(3, 32, 32))
def vqvae_cifar10(**kwargs: Any) -> VQVAE:
    """§4.1 CIFAR-10: 32×32 → 8×8 latents, 256 hidden units, 2 residual blocks, K = 512, D = 64."""
    return VQVAE(**kwargs)


@register_model(paper=VAN_DEN_OORD_2017, reference=_REF, input_size=(3, 128, 128))
def vqvae_imagenet(**kwargs: Any) -> VQVAE:
    """§4.2 ImageNet 128×128 → 32×32 latents, K = 512, D = 64 (42.6× fewer bits than the pixels)."""
    return VQVAE(**kwargs)


@register_model(
    paper=VAN_DEN_OORD_2017,
    reference="none (paper §4.3; a small WaveNet decoder)",
    input_size=(16384,),
    example_input=_audio_input(16384, 109),
)
def vqvae_audio(**kwargs: Any) -> AudioVQVAE:
    """§4.3 VCTK: 6 strided convolutions (64×), K = 512, WaveNet decoder conditioned on 109 speakers."""
    return AudioVQVAE(**kwargs)


@register_model(
    paper=VAN_DEN_OORD_2017, reference="none (the paper's continuous baseline, §4.1)", input_size=(3, 32, 32)
)
def gaussian_vae_cifar10(**kwargs: Any) -> GaussianVAE:
    """§4.1's continuous VAE on CIFAR-10: the VQ-VAE's encoder/decoder, an 8×8×64 Gaussian latent."""
    return GaussianVAE(**kwargs)


@register_model(paper=VAN_DEN_OORD_2017, reference=_REF, input_size=(3, 16, 16))
def vqvae_tiny(**kwargs: Any) -> VQVAE:
    """A small image VQ-VAE for tests: 16×16 → 4×4, width 16, K = 32, D = 8."""
    defaults = dict(hidden_channels=16, residual_channels=8, embedding_dim=8, num_embeddings=32)
    return VQVAE(**{**defaults, **kwargs})


@register_model(
    paper=VAN_DEN_OORD_2017,
    reference="none (paper §4.3)",
    input_size=(256,),
    example_input=_audio_input(256, 4),
)
def vqvae_audio_tiny(**kwargs: Any) -> AudioVQVAE:
    """A small audio VQ-VAE for tests: 4 speakers, width 16, K = 32, D = 8, WaveNet dilations 1-8."""
    defaults = dict(
        hidden_channels=16,
        embedding_dim=8,
        num_embeddings=32,
        num_speakers=4,
        speaker_dim=8,
        residual_channels=16,
        skip_channels=16,
        dilations=(1, 2, 4, 8),
    )
    return AudioVQVAE(**{**defaults, **kwargs})


@register_model(paper=VAN_DEN_OORD_2017, reference="none (paper §4.1)", input_size=(3, 16, 16))
def gaussian_vae_tiny(**kwargs: Any) -> GaussianVAE:
    """A small Gaussian VAE for tests: 16×16 → 4×4×8, width 16."""
    return GaussianVAE(**{**dict(hidden_channels=16, residual_channels=8, latent_dim=8), **kwargs})
