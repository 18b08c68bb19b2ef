"""Gated PixelCNN (van den Oord et al. 2016) over code maps: the masked convolution against a plain convolution
with a masked weight, causality and the absence of a blind spot by perturbing every position, greedy and
seeded sampling against a naive loop of full forwards, conditioning, the NLL in bits/dim against the
cross-entropy, and the parameter count of the full variant against a hand count."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paperzoo.models.generative.pixelcnn import (
    GatedPixelCNN,
    MaskedConv2d,
    bits_per_dim,
    gated_pixelcnn,
    gated_pixelcnn_tiny,
    horizontal_mask,
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers shared with test_pixelsnail.py (names not starting with "test" so pytest collects them once)
# ---------------------------------------------------------------------------------------------------------------


def perturbation_effects(logits_fn: Callable[[Tensor], Tensor], codes: Tensor, num_codes: int) -> Tensor:
    """How much changing the code at each position moves the logits at each position, in one batched forward.

    Args:
        logits_fn: (N, H, W) codes → (N, K, H, W) logits (conditioning repeated inside as needed).
        codes: (H, W) a base code map.

    Returns:
        (L, L) with L = H·W: entry [p, q] is max_k |Δ logits[k, q]| when the code at raster position p changes.
    """
    length = codes.numel()
    batch = codes.reshape(1, -1).repeat(length + 1, 1)  # row 0 is the base map, row p + 1 changes position p
    positions = torch.arange(length)
    batch[positions + 1, positions] = (batch[positions + 1, positions] + 1 + positions % (num_codes - 1)) % num_codes
    logits = logits_fn(batch.reshape(length + 1, *codes.shape))  # (L + 1, K, H, W)
    return (logits[1:] - logits[:1]).abs().amax(1).flatten(1)  # (L, L)


def assert_causal(effects: Tensor, *, dense: bool = False) -> None:
    """No logit at or before the changed position moves; some later one does (every later one if ``dense``)."""
    length = effects.shape[0]
    assert effects.tril().max() <= 1e-5, "a code changed a logit at or before its own position"
    later = [effects[p, p + 1 :].max() for p in range(length - 1)]
    assert min(later) > 1e-4, "some position influences no later logit"
    if dense:  # no blind spot: every earlier position reaches every later one
        strict_upper = effects[torch.triu(torch.ones(length, length, dtype=torch.bool), 1)]
        assert strict_upper.min() > 1e-7, "blind spot: an earlier position does not reach a later logit"


def naive_sample(
    logits_fn: Callable[[Tensor], Tensor],
    shape: tuple[int, int, int],
    *,
    temperature: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Raster-order sampling by a full forward of the whole map at every position (no caching)."""
    codes = torch.zeros(shape, dtype=torch.long)
    for r in range(shape[1]):
        for c in range(shape[2]):
            logits = logits_fn(codes)[:, :, r, c]
            if temperature == 0:
                codes[:, r, c] = logits.argmax(1)
            else:
                probs = torch.softmax(logits / temperature, 1)
                codes[:, r, c] = torch.multinomial(probs, 1, generator=generator)[:, 0]
    return codes


def sharpen(model: nn.Module, std: float) -> nn.Module:
    """Re-draw every weight from N(0, std²) and zero the biases, so that random-weight logits depend strongly on
    the context (with default initialisation, greedy decoding often repeats one code everywhere)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.zero_() if name.endswith("bias") else p.normal_(0, std)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------
# Masked convolution
# ---------------------------------------------------------------------------------------------------------------


def test_horizontal_masks() -> None:
    assert horizontal_mask(3, "A").tolist() == [[1.0, 1.0, 0.0]]  # the current position (last column) is dropped
    assert horizontal_mask(3, "B").tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="mask_type"):
        horizontal_mask(3, "C")


@pytest.mark.parametrize(
    "kernel, padding, mask",
    [
        ((1, 3), (2, 0, 0, 0), horizontal_mask(3, "A")),
        ((1, 3), (2, 0, 0, 0), horizontal_mask(3, "B")),
        ((3, 5), (2, 2, 2, 0), torch.tensor([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 1.0]])),
    ],
)
def test_masked_conv_equals_plain_conv_with_masked_weight(kernel, padding, mask) -> None:
    torch.manual_seed(0)
    masked = MaskedConv2d(4, 6, kernel, padding=padding, mask=mask)
    plain = nn.Conv2d(4, 6, kernel)
    with torch.no_grad():
        plain.weight.copy_(masked.weight * mask)  # the mask applied to a plain convolution's weight
        plain.bias.copy_(masked.bias)
    x = torch.randn(2, 4, 7, 9)
    torch.testing.assert_close(masked(x), plain(F.pad(x, padding)))
    # masked weights get no gradient, kept ones do
    masked(x).sum().backward()
    assert (masked.weight.grad * (1 - mask)).abs().max() == 0
    assert (masked.weight.grad * mask).abs().sum() > 0


# ---------------------------------------------------------------------------------------------------------------
# Causality, blind spot, conditioning
# ---------------------------------------------------------------------------------------------------------------


def test_gated_pixelcnn_is_causal_in_raster_order() -> None:
    torch.manual_seed(0)
    model = gated_pixelcnn_tiny().eval()
    codes = torch.randint(0, 16, (8, 8))
    labels = torch.tensor([3])
    with torch.no_grad():
        effects = perturbation_effects(lambda z: model(z, labels.expand(z.shape[0])), codes, 16)
    assert_causal(effects)


def test_gated_pixelcnn_has_no_blind_spot() -> None:
    # 6 layers of 3×3 reach every earlier position of a 5×5 map: the vertical stack covers the rows above,
    # including the columns up-right that the single masked stack of the original PixelCNN never sees.
    torch.manual_seed(0)
    model = GatedPixelCNN(8, shape=(5, 5), channels=8, num_layers=6, kernel_size=3).eval()
    with torch.no_grad():
        effects = perturbation_effects(model, torch.randint(0, 8, (5, 5)), 8)
    assert_causal(effects, dense=True)


def test_class_and_spatial_conditioning_change_the_output() -> None:
    torch.manual_seed(0)
    model = GatedPixelCNN(16, shape=(6, 6), channels=8, num_layers=2, kernel_size=3, num_classes=4, cond_channels=3)
    model.eval()
    codes, cond = torch.randint(0, 16, (2, 6, 6)), torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        a = model(codes, torch.tensor([0, 1]), cond)
        b = model(codes, torch.tensor([2, 3]), cond)
        c = model(codes, torch.tensor([0, 1]), cond + torch.randn_like(cond))
    # position (0, 0) sees no code, so only the conditioning moves it
    assert (a[:, :, 0, 0] - b[:, :, 0, 0]).abs().min() > 1e-4
    assert (a[:, :, 0, 0] - c[:, :, 0, 0]).abs().min() > 1e-4
    # the spatial map is local: changing it at one position moves that position's logits (Eq. 5)
    cond2 = cond.clone()
    cond2[:, :, 4, 2] += 1
    with torch.no_grad():
        d = model(codes, torch.tensor([0, 1]), cond2)
    assert (a - d)[:, :, 4, 2].abs().max() > 1e-4
    assert (a - d)[:, :, :4].abs().max() == 0  # rows above are untouched (the vertical stack looks up only)


# ---------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------


def test_greedy_sampling_equals_naive_position_loop() -> None:
    model = sharpen(gated_pixelcnn_tiny(), 0.5)
    labels = torch.tensor([1, 7, 7])
    with torch.no_grad():
        expected = naive_sample(lambda z: model(z, labels), (3, 8, 8), temperature=0)
    assert expected.unique().numel() > 3  # a context-dependent map, not a constant one
    assert torch.equal(model.sample((3, 8, 8), labels, temperature=0), expected)


def test_seeded_sampling_equals_naive_loop_and_conditions_on_the_map() -> None:
    model = sharpen(GatedPixelCNN(8, shape=(4, 5), channels=8, num_layers=3, kernel_size=3, cond_channels=2), 0.5)
    cond = torch.randn(2, 2, 4, 5)
    with torch.no_grad():
        expected = naive_sample(
            lambda z: model(z, condition=cond), (2, 4, 5), temperature=0.7, generator=torch.Generator().manual_seed(5)
        )
    got = model.sample((2, 4, 5), condition=cond, temperature=0.7, generator=torch.Generator().manual_seed(5))
    assert torch.equal(got, expected)
    model.train()
    model.sample((2, 4, 5), condition=cond)
    assert model.training  # sampling restores the mode it found


# ---------------------------------------------------------------------------------------------------------------
# NLL
# ---------------------------------------------------------------------------------------------------------------


def test_bits_per_dim_is_cross_entropy_over_ln2() -> None:
    torch.manual_seed(0)
    model = gated_pixelcnn_tiny()
    codes, labels = torch.randint(0, 16, (3, 8, 8)), torch.randint(0, 10, (3,))
    logits = model(codes, labels)
    torch.testing.assert_close(model.nll(codes, labels), F.cross_entropy(logits, codes) / math.log(2))
    # per example: -Σ log softmax at the true code / (H·W·ln 2), gathered by hand
    logp = torch.log_softmax(logits, 1).gather(1, codes[:, None])[:, 0]  # (B, H, W)
    torch.testing.assert_close(model.nll(codes, labels, reduction="none"), -logp.mean((1, 2)) / math.log(2))
    # uniform logits cost exactly log2 K bits per code
    assert bits_per_dim(torch.zeros(2, 16, 3, 3), codes[:2, :3, :3]).item() == pytest.approx(4.0, abs=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Inputs and sizes
# ---------------------------------------------------------------------------------------------------------------


def test_wrong_inputs_raise_expected() -> None:
    model = gated_pixelcnn_tiny()
    codes, labels = torch.randint(0, 16, (2, 8, 8)), torch.tensor([0, 9])
    cases = [
        ((torch.randint(0, 16, (2, 8, 9)), labels), "expected codes of shape"),
        ((codes.float(), labels), "expected integer codes"),
        ((torch.full((2, 8, 8), 16), labels), r"expected codes in \[0, 16\)"),
        ((codes - 1, labels), r"expected codes in \[0, 16\)"),
        ((codes, torch.tensor([0, 10])), r"expected labels in \[0, 10\)"),
        ((codes, torch.tensor([0, 1, 2])), "expected labels of shape"),
        ((codes,), "expected labels"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            model(*args)
    with pytest.raises(ValueError, match="expected no condition"):
        model(codes, labels, torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="expected a sample shape"):
        model.sample((2, 7, 8), labels)
    with pytest.raises(ValueError, match="temperature"):
        model.sample((2, 8, 8), labels, temperature=-1.0)
    with pytest.raises(ValueError, match="kernel_size"):
        GatedPixelCNN(16, kernel_size=4)


def _gated_pixelcnn_hand_count(k: int, p: int, layers: int, kernel: int, classes: int) -> int:
    half = kernel // 2
    per_layer = (
        p * 2 * p * (half + 1) * kernel + 2 * p  # vertical (k//2+1)×k
        + p * 2 * p * (half + 1) + 2 * p  # horizontal 1×(k//2+1)
        + 2 * p * 2 * p + 2 * p  # vertical → horizontal 1×1
        + p * p + p  # skip 1×1
        + 2 * classes * 2 * p  # class embeddings of both stacks
    )  # fmt: skip
    residual = (layers - 1) * (p * p + p)  # every layer but the last
    return k * p + layers * per_layer + residual + (p * p + p) + (p * k + k)  # embedding, layers, head


def test_parameter_counts_match_hand_counts() -> None:
    with torch.device("meta"):
        full, tiny = gated_pixelcnn(), gated_pixelcnn_tiny()
    assert sum(p.numel() for p in full.parameters()) == _gated_pixelcnn_hand_count(512, 384, 20, 5, 1000)
    assert sum(p.numel() for p in full.parameters()) == 155_038_208
    assert sum(p.numel() for p in tiny.parameters()) == _gated_pixelcnn_hand_count(16, 16, 3, 3, 10)
