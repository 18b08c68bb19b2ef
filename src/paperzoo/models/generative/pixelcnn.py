"""Gated PixelCNN over discrete code maps: the autoregressive prior of VQ-VAE (stage 2).

Paper: van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, "Conditional Image Generation with
PixelCNN Decoders", NeurIPS 2016, arXiv:1606.05328. Used as the prior p(z) over the 32×32 latent map of
van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning" (VQ-VAE), NeurIPS 2017,
arXiv:1711.00937, §4.2. Reference implementation: none published by the authors (the DeepMind code is not
public); the layer design follows the paper's Figure 2 and Eqs. 4-5.

Implemented:

- :class:`MaskedConv2d`: a convolution whose kernel is multiplied by a fixed binary mask, with explicit
  (left, right, top, bottom) zero padding, so that a kernel only sees the past in raster order.
- :class:`GatedPixelCNNLayer`: one gated layer of Figure 2. A vertical stack (a (k//2+1)×k kernel padded on top,
  so row r sees rows r-k//2..r) and a horizontal stack (a 1×(k//2+1) kernel padded on the left, masked 'A' in
  the first layer so it excludes the current position, 'B' after). The vertical pre-activations reach the
  horizontal stack through a 1×1 convolution *after a one-row downward shift*, which removes the blind spot of
  the original PixelCNN without letting the current row leak (§2.2). Gated activations
  y = tanh(W_f ∗ x + V_f h) ⊙ σ(W_g ∗ x + V_g h) (Eq. 4) with a learned class embedding h, and an optional
  spatial conditioning map s through 1×1 convolutions V ∗ s (Eq. 5). Residual connections in the horizontal
  stack (not in the first layer, whose input is the current code itself) and skip connections to the output.
- :class:`GatedPixelCNN`: code embedding → L gated layers → ReLU → 1×1 → ReLU → 1×1 logits (B, K, H, W);
  :meth:`GatedPixelCNN.nll` in bits/dim; :meth:`GatedPixelCNN.sample` in raster order, vectorised over the
  batch. Sampling caches what does not change within a row: for each row r the vertical stack runs once (on
  rows ≤ r) and its links into row r are reused for all W positions of the row, where only the horizontal
  stack is recomputed, on that single row.
- :func:`bits_per_dim`: cross-entropy NLL in bits per code, shared with :mod:`.pixelsnail`.

Choices where the papers are silent: the VQ-VAE paper gives no prior sizes, so ``gated_pixelcnn`` uses the
Gated PixelCNN paper's ImageNet model (§3.1: 20 layers, 384 feature maps, 5×5 filters) over VQ-VAE's ImageNet
latents (32×32, K = 512, class-conditional on the 1000 classes); discrete codes enter through a learned
embedding (equivalent to a one-hot input convolution); the skip connections and the two-layer 1×1 output
head follow PixelCNN/WaveNet practice (Figure 2 draws neither); the last layer has no residual 1×1 convolution
(its output feeds only the skip sum). Left out: the colour-channel masking of RGB pixels (codes have one
channel) and the per-layer split of the 2p-wide gate convolutions into separate tanh/sigmoid convolutions
(one convolution with 2p outputs is the same function).
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
    "bits_per_dim",
    "horizontal_mask",
    "MaskedConv2d",
    "GatedPixelCNNLayer",
    "GatedPixelCNN",
    "CodePrior",
]

VAN_DEN_OORD_2016 = Paper(
    title="Conditional Image Generation with PixelCNN Decoders",
    authors="Aaron van den Oord, Nal Kalchbrenner, Oriol Vinyals, Lasse Espeholt, Alex Graves, Koray Kavukcuoglu",
    year=2016,
    arxiv="1606.05328",
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers shared with pixelsnail.py: input checks, the NLL in bits/dim, drawing one code
# ---------------------------------------------------------------------------------------------------------------


def bits_per_dim(logits: Tensor, codes: Tensor, *, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``codes`` under categorical ``logits``, in bits per code.

    Args:
        logits: (B, K, H, W) unnormalised log-probabilities.
        codes: (B, H, W) integer codes in [0, K).
        reduction: ``"mean"`` (a scalar, averaged over the batch) or ``"none"`` (one value per example, (B,)).

    Returns:
        The cross-entropy in nats divided by ln 2, averaged over the H·W positions.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none' (got {reduction!r})")
    nats = F.cross_entropy(logits.float(), codes, reduction="none").flatten(1).mean(1)  # (B,)
    bits = nats / math.log(2)
    return bits.mean() if reduction == "mean" else bits


def _shape_of(x: Any) -> Any:
    return tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__


def split_input(
    codes: Tensor | Sequence[Tensor], labels: Tensor | None, condition: Tensor | None
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Unpack ``model((codes, labels, condition))``: after the codes, a 1-D tensor is the labels, others the condition.

    The registry sweep calls a model with one tuple; keyword arguments are the readable way to call it.
    """
    if isinstance(codes, Tensor):
        return codes, labels, condition
    if not isinstance(codes, (tuple, list)) or not codes or len(codes) > 3:
        raise ValueError(f"expected codes, or a tuple (codes, [labels], [condition]), got {_shape_of(codes)}")
    first, *rest = codes
    for t in rest:
        if not isinstance(t, Tensor):
            raise ValueError(f"expected tensors in the input tuple, got {type(t).__name__}")
        if t.dim() == 1:
            if labels is not None:
                raise ValueError("expected one labels tensor, got two")
            labels = t
        else:
            if condition is not None:
                raise ValueError("expected one condition tensor, got two")
            condition = t
    return first, labels, condition


def _check_range(x: Tensor, high: int, what: str) -> None:
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise ValueError(f"expected integer {what}, got dtype {x.dtype}")
    if x.device.type != "meta" and x.numel() and (int(x.min()) < 0 or int(x.max()) >= high):
        raise ValueError(f"expected {what} in [0, {high}), got values in [{int(x.min())}, {int(x.max())}]")


def check_codes(codes: Any, num_codes: int, shape: tuple[int, int], what: str = "codes") -> Tensor:
    """Raise a ValueError saying the expected shape unless ``codes`` is (B, H, W) of integers in [0, K)."""
    if not isinstance(codes, Tensor) or codes.dim() != 3 or tuple(codes.shape[1:]) != tuple(shape):
        raise ValueError(f"expected {what} of shape (B, {shape[0]}, {shape[1]}), got {_shape_of(codes)}")
    _check_range(codes, num_codes, what)
    return codes


def check_labels(labels: Any, num_classes: int, batch: int) -> Tensor | None:
    """Class labels (B,) in [0, num_classes): required when the model is class-conditional, refused otherwise."""
    if num_classes == 0:
        if labels is not None:
            raise ValueError("expected no labels: this model is not class-conditional (num_classes=0)")
        return None
    if labels is None:
        raise ValueError(f"expected labels of shape ({batch},): this model is class-conditional")
    if not isinstance(labels, Tensor) or tuple(labels.shape) != (batch,):
        raise ValueError(f"expected labels of shape ({batch},), got {_shape_of(labels)}")
    _check_range(labels, num_classes, "labels")
    return labels


def check_temperature(temperature: float) -> None:
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0 (got {temperature})")


def draw(logits: Tensor, temperature: float, generator: torch.Generator | None) -> Tensor:
    """One code per example from (B, K) logits: softmax(logits / T) sampling, or the argmax when T = 0."""
    if temperature == 0:
        return logits.argmax(1)
    probs = torch.softmax(logits.float() / temperature, dim=1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def shift_down(x: Tensor) -> Tensor:
    """Move a (B, C, H, W) map down by one row (zeros in row 0), so row r holds what row r-1 held."""
    return F.pad(x, (0, 0, 1, 0))[:, :, : x.shape[2]]


# ---------------------------------------------------------------------------------------------------------------
# Masked convolution and the gated layer (Figure 2)
# ---------------------------------------------------------------------------------------------------------------


def horizontal_mask(width: int, mask_type: str) -> Tensor:
    """The (1, width) mask of a left-padded horizontal kernel whose last column is the current position.

    'A' (first layer) zeroes the current position, so the layer sees only codes strictly to the left; 'B'
    (later layers, whose input at the current position already depends only on the past) keeps it.
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B' (got {mask_type!r})")
    mask = torch.ones(1, width)
    if mask_type == "A":
        mask[0, -1] = 0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A convolution with a fixed binary kernel mask and explicit zero padding.

    ``out = conv2d(pad(x, padding), weight ⊙ mask, bias)``. The mask is a buffer broadcast over the (out, in)
    channel dimensions; masked weights still exist (and get zero gradient), as in the papers' masked kernels.

    Args:
        in_channels, out_channels: widths.
        kernel_size: (kh, kw).
        padding: (left, right, top, bottom) zero padding, as ``F.pad`` takes it.
        mask: (kh, kw) of zeros and ones; None keeps every weight.
        bias: add a bias.

    Shapes:
        (B, C_in, H, W) → (B, C_out, H + top + bottom - kh + 1, W + left + right - kw + 1).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        *,
        padding: tuple[int, int, int, int] = (0, 0, 0, 0),
        mask: Tensor | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=0, bias=bias)
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"padding must be four non-negative ints (left, right, top, bottom) (got {padding})")
        kh, kw = self.kernel_size
        if mask is None:
            mask = torch.ones(kh, kw)
        if tuple(mask.shape) != (kh, kw):
            raise ValueError(f"mask must have the kernel's shape {(kh, kw)} (got {tuple(mask.shape)})")
        self.pad = tuple(padding)
        self.register_buffer("mask", mask.to(torch.get_default_dtype()), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)


def _gate(x: Tensor) -> Tensor:
    """tanh(first half) ⊙ σ(second half) along channels (Eq. 2/4)."""
    f, g = x.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedPixelCNNLayer(nn.Module):
    """One gated layer of the Gated PixelCNN (van den Oord et al. 2016, Figure 2, Eqs. 4-5).

    ::

        v ─ Conv(k//2+1 × k, padded on top) ─(+ V_v h, V_v ∗ s)─ pre_v ─ gate ─────────────── v_out
                                                                  │
                                                            shift down 1 row ─ 1×1
                                                                  │
        h ─ MaskedConv(1 × k//2+1, 'A' or 'B') ───────────────────(+)─(+ V_h h, V_h ∗ s)─ gate ─ g
        g ─ 1×1 ─ skip                        g ─ 1×1 ─(+ h, not in the first layer)─ h_out (not in the last)

    Args:
        channels: p, the feature maps of each stack.
        kernel_size: odd k of the paper's k×k receptive field per layer.
        first: the first layer: mask 'A' and no residual connection (its input is the current code).
        last: the last layer: no residual 1×1 convolution (its horizontal output is not used again).
        num_classes: size of the class embedding h (0: none).
        cond_channels: channels of the spatial conditioning map s (0: none).
    """

    def __init__(
        self,
        channels: int,
        *,
        kernel_size: int = 5,
        first: bool = False,
        last: bool = False,
        num_classes: int = 0,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        p, half = channels, kernel_size // 2
        self.first, self.last = first, last
        # vertical stack: row r sees rows r-k//2..r (all k columns); the down-shift below keeps row r out of the
        # horizontal stack, so the vertical stack itself needs no mask
        self.v_conv = MaskedConv2d(p, 2 * p, (half + 1, kernel_size), padding=(half, half, half, 0))
        # horizontal stack: position (r, c) sees (r, c-k//2..c), 'A' drops c itself
        self.h_conv = MaskedConv2d(
            p, 2 * p, (1, half + 1), padding=(half, 0, 0, 0), mask=horizontal_mask(half + 1, "A" if first else "B")
        )
        self.v_to_h = nn.Conv2d(2 * p, 2 * p, 1)
        self.skip = nn.Conv2d(p, p, 1)
        self.h_res = None if last else nn.Conv2d(p, p, 1)
        # Eq. 4: V^T h is a per-class bias on the 2p gate pre-activations, one per stack
        self.v_class = nn.Embedding(num_classes, 2 * p) if num_classes else None
        self.h_class = nn.Embedding(num_classes, 2 * p) if num_classes else None
        # Eq. 5: V ∗ s with 1×1 convolutions of the spatial map
        self.v_cond = nn.Conv2d(cond_channels, 2 * p, 1, bias=False) if cond_channels else None
        self.h_cond = nn.Conv2d(cond_channels, 2 * p, 1, bias=False) if cond_channels else None

    def _conditioning(self, which: str, labels: Tensor | None, cond: Tensor | None) -> Tensor | int:
        out: Tensor | int = 0
        embed, proj = (self.v_class, self.v_cond) if which == "v" else (self.h_class, self.h_cond)
        if embed is not None and labels is not None:
            out = out + embed(labels)[:, :, None, None]  # (B, 2p, 1, 1), broadcast over positions
        if proj is not None and cond is not None:
            out = out + proj(cond)  # (B, 2p, H, W)
        return out

    def vertical(self, v: Tensor, labels: Tensor | None, cond: Tensor | None) -> tuple[Tensor, Tensor]:
        """The vertical stack: (v_out, link), the link being the 1×1 projection of pre_v shifted down a row."""
        pre = self.v_conv(v) + self._conditioning("v", labels, cond)  # (B, 2p, H, W)
        return _gate(pre), shift_down(self.v_to_h(pre))

    def horizontal(
        self, h: Tensor, link: Tensor, labels: Tensor | None, cond: Tensor | None
    ) -> tuple[Tensor | None, Tensor]:
        """The horizontal stack: (h_out or None in the last layer, skip), given the vertical stack's ``link``."""
        g = _gate(self.h_conv(h) + link + self._conditioning("h", labels, cond))  # (B, p, H, W)
        if self.h_res is None:
            return None, self.skip(g)
        out = self.h_res(g) if self.first else h + self.h_res(g)
        return out, self.skip(g)


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------


class CodePrior(nn.Module):
    """What the priors over code maps share: ``forward(codes, labels, condition)`` returns logits (B, K, H, W)."""

    def nll(
        self,
        codes: Tensor,
        labels: Tensor | None = None,
        condition: Tensor | None = None,
        *,
        reduction: str = "mean",
    ) -> Tensor:
        """Negative log-likelihood in bits per code: a scalar, or (B,) with ``reduction="none"``."""
        return bits_per_dim(self(codes, labels, condition), codes, reduction=reduction)


class GatedPixelCNN(CodePrior):
    """Gated PixelCNN (van den Oord et al. 2016) over (B, H, W) maps of integer codes in [0, K).

    p(z | h, s) = ∏_i p(z_i | z_<i, h, s) in raster order; the logits at position i depend only on codes before i.

    Args:
        num_codes: K, the codebook size.
        shape: (H, W) of the code map.
        channels: p, the feature maps of each stack (the paper's ImageNet model: 384).
        num_layers: gated layers (the paper's ImageNet model: 20).
        kernel_size: odd k (the paper: 5).
        num_classes: classes of the label conditioning h (0: unconditional).
        cond_channels: channels of the optional spatial conditioning map s (0: none).

    Shapes:
        codes (B, H, W) long, labels (B,) long, condition (B, cond_channels, H, W) float → logits (B, K, H, W).
        ``model((codes, labels))`` also works (a 1-D tensor is the labels, a 4-D one the condition).
    """

    def __init__(
        self,
        num_codes: int = 512,
        *,
        shape: tuple[int, int] = (32, 32),
        channels: int = 384,
        num_layers: int = 20,
        kernel_size: int = 5,
        num_classes: int = 0,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        if num_codes < 2:
            raise ValueError(f"num_codes must be >= 2 (got {num_codes})")
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be (H, W) with H, W >= 1 (got {shape})")
        for name, v in (("channels", channels), ("num_layers", num_layers)):
            if v < 1:
                raise ValueError(f"{name} must be >= 1 (got {v})")
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 3 (got {kernel_size})")
        if num_classes < 0 or cond_channels < 0:
            raise ValueError(f"num_classes and cond_channels must be >= 0 (got {num_classes}, {cond_channels})")
        self.num_codes, self.shape = num_codes, (int(shape[0]), int(shape[1]))
        self.num_classes, self.cond_channels = num_classes, cond_channels
        self.embed = nn.Embedding(num_codes, channels)
        self.layers = nn.ModuleList(
            GatedPixelCNNLayer(
                channels,
                kernel_size=kernel_size,
                first=i == 0,
                last=i == num_layers - 1,
                num_classes=num_classes,
                cond_channels=cond_channels,
            )
            for i in range(num_layers)
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, num_codes, 1)
        )

    # -- inputs ----------------------------------------------------------------------------------------------

    def _check(self, b: int, labels: Any, condition: Any) -> tuple[Tensor | None, Tensor | None]:
        labels = check_labels(labels, self.num_classes, b)
        if self.cond_channels == 0:
            if condition is not None:
                raise ValueError("expected no condition: this model has no spatial conditioning (cond_channels=0)")
            return labels, None
        want = (b, self.cond_channels, *self.shape)
        if not isinstance(condition, Tensor) or tuple(condition.shape) != want:
            raise ValueError(f"expected condition of shape {want}, got {_shape_of(condition)}")
        return labels, condition

    # -- the two stacks --------------------------------------------------------------------------------------

    def _links(self, codes: Tensor, labels: Tensor | None, cond: Tensor | None) -> list[Tensor]:
        """Run the vertical stack over ``codes`` (B, R, W); per layer, its (B, 2p, R, W) link into each row."""
        v, links = self.embed(codes).permute(0, 3, 1, 2), []  # (B, p, R, W)
        for layer in self.layers:
            v, link = layer.vertical(v, labels, cond)
            links.append(link)
        return links

    def _horizontal(self, codes: Tensor, links: list[Tensor], labels: Tensor | None, cond: Tensor | None) -> Tensor:
        """Run the horizontal stack over ``codes`` (B, R, W) given the vertical links; logits (B, K, R, W)."""
        h, skip = self.embed(codes).permute(0, 3, 1, 2), 0
        for layer, link in zip(self.layers, links):
            h, s = layer.horizontal(h, link, labels, cond)
            skip = skip + s
        return self.head(skip)

    def forward(
        self,
        codes: Tensor | Sequence[Tensor],
        labels: Tensor | None = None,
        condition: Tensor | None = None,
    ) -> Tensor:
        """Logits of every code given the codes before it.

        Args:
            codes: (B, H, W) integer codes in [0, K), or a tuple (codes, [labels], [condition]).
            labels: (B,) class labels, required iff ``num_classes > 0``.
            condition: (B, cond_channels, H, W) spatial conditioning map, required iff ``cond_channels > 0``.

        Returns:
            (B, K, H, W) logits; position (r, c) depends only on codes before (r, c) in raster order.
        """
        codes, labels, condition = split_input(codes, labels, condition)
        check_codes(codes, self.num_codes, self.shape)
        labels, condition = self._check(codes.shape[0], labels, condition)
        return self._horizontal(codes, self._links(codes, labels, condition), labels, condition)

    @torch.no_grad()
    def sample(
        self,
        shape: tuple[int, int, int],
        labels: Tensor | None = None,
        condition: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> Tensor:
        """Draw code maps in raster order, all batch items at once; dropout is off while sampling.

        Args:
            shape: (B, H, W) with (H, W) the model's ``shape``.
            labels: (B,) class labels (class-conditional models).
            condition: (B, cond_channels, H, W) spatial conditioning map (spatially conditioned models).
            generator: the random generator of ``torch.multinomial``.
            temperature: softmax temperature; 0 takes the most likely code (greedy decoding).

        Returns:
            (B, H, W) long codes.

        Cached: for row r the vertical stack runs once, over rows ≤ r, and its links into row r serve all W
        positions of the row, where the horizontal stack runs on the one row r only (the horizontal kernels and
        1×1 convolutions never look at other rows). Each step is exact: a test compares it with full forwards
        in a naive loop. (Class embeddings are cheap look-ups, redone at each step.)
        """
        batch, height, width = _sample_shape(shape, self.shape)
        check_temperature(temperature)
        labels, condition = self._check(batch, labels, condition)
        device = self.embed.weight.device
        codes = torch.zeros(batch, height, width, dtype=torch.long, device=device)
        with _eval(self):
            for r in range(height):
                rows = condition[:, :, : r + 1] if condition is not None else None
                links = [link[:, :, r:] for link in self._links(codes[:, : r + 1], labels, rows)]  # row r only
                row_cond = condition[:, :, r : r + 1] if condition is not None else None
                for c in range(width):
                    logits = self._horizontal(codes[:, r : r + 1], links, labels, row_cond)  # (B, K, 1, W)
                    codes[:, r, c] = draw(logits[:, :, 0, c], temperature, generator)
        return codes


def _sample_shape(shape: Sequence[int], model_shape: tuple[int, int]) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[0] < 1 or tuple(shape[1:]) != tuple(model_shape):
        raise ValueError(f"expected a sample shape (B, {model_shape[0]}, {model_shape[1]}) with B >= 1 (got {shape})")
    return int(shape[0]), int(shape[1]), int(shape[2])


class _eval:
    """Context manager: the module in eval mode (no dropout) inside, its previous mode restored after."""

    def __init__(self, module: nn.Module) -> None:
        self.module, self.was_training = module, module.training

    def __enter__(self) -> nn.Module:
        return self.module.eval()

    def __exit__(self, *exc: object) -> None:
        self.module.train(self.was_training)


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------

_REF = "none (no public implementation; VQ-VAE §4.2 ImageNet prior with the Gated PixelCNN §3.1 ImageNet sizes)"


def code_input(
    num_codes: int, shape: tuple[int, int], num_classes: int = 0
) -> Callable[[int, Any], Tensor | tuple[Tensor, Tensor]]:
    """``example_input`` for a prior over (H, W) code maps: random codes, plus random labels if class-conditional."""

    def fn(b: int, device: Any) -> Tensor | tuple[Tensor, Tensor]:
        codes = torch.randint(0, num_codes, (b, *shape), device=device)
        if num_classes == 0:
            return codes
        return codes, torch.randint(0, num_classes, (b,), device=device)

    return fn


@register_model(
    paper=VAN_DEN_OORD_2016, reference=_REF, input_size=(32, 32), example_input=code_input(512, (32, 32), 1000)
)
def gated_pixelcnn(**kwargs: Any) -> GatedPixelCNN:
    """VQ-VAE's ImageNet prior: 32×32 codes, K = 512, 1000 classes, 20 layers of 384 maps, 5×5 (no reference)."""
    defaults = dict(num_codes=512, shape=(32, 32), channels=384, num_layers=20, kernel_size=5, num_classes=1000)
    return GatedPixelCNN(**{**defaults, **kwargs})


@register_model(paper=VAN_DEN_OORD_2016, reference=_REF, input_size=(8, 8), example_input=code_input(16, (8, 8), 10))
def gated_pixelcnn_tiny(**kwargs: Any) -> GatedPixelCNN:
    """A small Gated PixelCNN for tests: 8×8 codes, K = 16, 10 classes, 3 layers of 16 maps, 3×3."""
    defaults = dict(num_codes=16, shape=(8, 8), channels=16, num_layers=3, kernel_size=3, num_classes=10)
    return GatedPixelCNN(**{**defaults, **kwargs})
