"""VQ-VAE (van den Oord et al. 2017): the quantiser against a naive nearest-neighbour loop, the straight-through
gradient and Eq. 3's loss gradients against closed forms, the EMA update against a hand-computed step, the
perplexity formula, parameter counts by hand from the paper's layer description (and the Sonnet example),
the audio model's exact 64× compression and causal decoder, and the Gaussian VAE's KL and likelihood."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.generative.vqvae import (
    AudioVQVAE,
    GaussianVAE,
    VectorQuantizer,
    VectorQuantizerEMA,
    discretized_gaussian_log_likelihood,
    mu_law_decode,
    mu_law_encode,
    perplexity,
)
from paperzoo.registry import count_params, create_model


def _n(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# --- the quantiser ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [VectorQuantizer, VectorQuantizerEMA])
def test_indices_match_a_naive_argmin_loop_and_vectors_are_codebook_rows(cls) -> None:
    torch.manual_seed(0)
    vq = cls(16, 5).double().eval()
    z = torch.randn(3, 4, 7, 5, dtype=torch.float64)
    codebook = vq.codebook.detach().clone()
    out = vq(z)
    flat = z.reshape(-1, 5)
    naive = []
    for v in flat:  # the definition: k = argmin_j ‖z - e_j‖₂
        dists = [float(((v - codebook[j]) ** 2).sum()) for j in range(16)]
        naive.append(min(range(16), key=dists.__getitem__))
    assert out.indices.shape == (3, 4, 7)
    assert out.indices.reshape(-1).tolist() == naive
    torch.testing.assert_close(out.quantized, codebook[out.indices], rtol=0, atol=1e-12)
    counts = torch.bincount(torch.tensor(naive), minlength=16).double()
    torch.testing.assert_close(out.counts, counts)


def test_codebook_loss_and_commitment_match_eq3_and_their_gradients() -> None:
    torch.manual_seed(1)
    beta = 0.25
    vq = VectorQuantizer(8, 3, commitment_cost=beta).double()
    z = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    out = vq(z)
    e = vq.embedding[out.indices].detach()
    n = z.numel()
    expected = ((z.detach() - e) ** 2).sum() / n * (1 + beta)  # ‖sg[z]-e‖² + β‖z-sg[e]‖², same value
    torch.testing.assert_close(out.loss, expected)
    gz, ge = torch.autograd.grad(out.loss, [z, vq.embedding])
    # the encoder gets only β's term: ∂/∂z β‖z - sg[e]‖²/n = 2β(z - e)/n
    torch.testing.assert_close(gz, 2 * beta * (z.detach() - e) / n)
    # the codebook gets only the codebook term: ∂/∂e_k = Σ_{i→k} 2(e_k - z_i)/n
    expected_ge = torch.zeros_like(vq.embedding)
    expected_ge.index_add_(0, out.indices, 2 * (e - z.detach()) / n)
    torch.testing.assert_close(ge, expected_ge)


@pytest.mark.parametrize("cls", [VectorQuantizer, VectorQuantizerEMA])
def test_straight_through_gradient_reaches_the_encoder_as_if_identity(cls) -> None:
    torch.manual_seed(2)
    vq = cls(8, 4).double().eval()
    encoder = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 4, 5, 5, dtype=torch.float64)

    def f(q):  # a non-linear loss on the decoder side
        return (torch.tanh(q) * w).sum()

    out = vq.forward_channels_first(encoder(x))
    (gx,) = torch.autograd.grad(f(out.quantized), x)
    # the same loss with the quantiser replaced by the identity, its gradient taken at q = e_k(z)
    q = vq.codes_to_vectors(out.indices, channels_first=True).detach().requires_grad_()
    (gq,) = torch.autograd.grad(f(q), q)
    h = encoder(x)
    (gx_identity,) = torch.autograd.grad(h, x, grad_outputs=gq)
    torch.testing.assert_close(gx, gx_identity)
    assert gx.abs().sum() > 0


def test_perplexity_formula() -> None:
    counts = torch.tensor([5.0, 0.0, 3.0, 2.0])
    p = counts / 10
    expected = math.exp(-sum(float(v) * math.log(float(v)) for v in p if v > 0))
    assert perplexity(counts).item() == pytest.approx(expected, rel=1e-6)
    assert perplexity(torch.full((7,), 3.0)).item() == pytest.approx(7.0, rel=1e-6)  # uniform usage: K
    assert perplexity(torch.tensor([0.0, 9.0, 0.0])).item() == pytest.approx(1.0)  # one code: 1
    vq = VectorQuantizer(4, 2)
    with torch.no_grad():
        vq.embedding.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]]))
    z = torch.tensor([[0.1, 0.0], [9.0, 0.2], [9.5, 0.1], [0.0, 9.0], [0.2, 0.3]])  # codes 0, 1, 1, 2, 0
    assert vq(z).perplexity.item() == pytest.approx(math.exp(-(2 * 0.4 * math.log(0.4) + 0.2 * math.log(0.2))))


def _ema_example(debias: bool) -> tuple[VectorQuantizerEMA, torch.Tensor, torch.Tensor]:
    vq = VectorQuantizerEMA(3, 2, decay=0.9, epsilon=0.1, debias=debias).double()
    e0 = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    vq.embedding.copy_(e0)
    if not debias:
        vq.ema_weight.copy_(e0)  # rosinality: m starts at e, N at 1
    z = torch.tensor([[0.5, 0.0], [-0.5, 1.0], [3.0, 1.0], [1.0, 0.5]], dtype=torch.float64)  # codes 0, 0, 1, 0
    return vq, e0, z


@pytest.mark.parametrize("debias", [False, True])
def test_ema_update_equals_a_hand_computed_step(debias: bool) -> None:
    vq, e0, z = _ema_example(debias)
    vq.train()
    out = vq(z)
    assert out.indices.tolist() == [0, 0, 1, 0]
    torch.testing.assert_close(out.quantized, e0[[0, 0, 1, 0]])  # quantised with the codebook before the update
    # by hand: n = (3, 1, 0); s_0 = (1.0, 1.5), s_1 = (3, 1), s_2 = 0
    n = torch.tensor([3.0, 1.0, 0.0], dtype=torch.float64)
    s = torch.tensor([[1.0, 1.5], [3.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    if debias:  # hidden from zero, divided by 1 - 0.9¹: the first step's averages are n and s themselves
        N, m = 0.1 * n / (1 - 0.9), 0.1 * s / (1 - 0.9)
    else:  # N = 0.9·1 + 0.1 n,  m = 0.9 e0 + 0.1 s
        N, m = 0.9 + 0.1 * n, 0.9 * e0 + 0.1 * s
    total = N.sum()
    smoothed = (N + 0.1) / (total + 3 * 0.1) * total  # Laplace smoothing with ε = 0.1
    torch.testing.assert_close(vq.embedding, m / smoothed[:, None])
    torch.testing.assert_close(vq.cluster_size(), N)
    # EMA: only the commitment term, β‖z - sg[e]‖²
    torch.testing.assert_close(out.loss, 0.25 * ((z - e0[[0, 0, 1, 0]]) ** 2).mean())
    # second step: one more EMA update with the same batch, assignments under the new codebook
    e1 = vq.embedding.clone()
    out2 = vq(z)
    d = torch.cdist(z, e1).argmin(1)
    assert out2.indices.tolist() == d.tolist()
    n2 = torch.bincount(d, minlength=3).double()
    s2 = torch.zeros(3, 2, dtype=torch.float64).index_add_(0, d, z)
    if debias:
        N2 = (0.9 * 0.1 * n + 0.1 * n2) / (1 - 0.81)
        m2 = (0.9 * 0.1 * s + 0.1 * s2) / (1 - 0.81)
    else:
        N2, m2 = 0.9 * N + 0.1 * n2, 0.9 * m + 0.1 * s2
    sm2 = (N2 + 0.1) / (N2.sum() + 0.3) * N2.sum()
    torch.testing.assert_close(vq.embedding, m2 / sm2[:, None])


def test_ema_does_not_update_in_eval_mode_and_codebook_is_a_buffer() -> None:
    vq, e0, z = _ema_example(debias=True)
    vq.eval()
    vq(z)
    torch.testing.assert_close(vq.embedding, e0)
    assert _n(vq) == 0 and "embedding" in dict(vq.named_buffers())


def test_dead_code_restart_reinitialises_unused_codes_from_encoder_outputs() -> None:
    torch.manual_seed(3)
    vq = VectorQuantizerEMA(4, 2, debias=False, restart_threshold=0.5).double().train()
    with torch.no_grad():
        vq.embedding.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0], [-50.0, 50.0]]))
        vq.ema_weight.copy_(vq.embedding)
        vq.ema_cluster_size.zero_()  # codes 2 and 3 have never been used
    z = torch.randn(32, 2, dtype=torch.float64) * 0.3
    vq(z)
    for k in (2, 3):  # restarted to one of the batch's vectors
        assert ((z - vq.embedding[k]).abs().sum(1) < 1e-12).any()
    torch.testing.assert_close(vq.cluster_size()[2:], torch.ones(2, dtype=torch.float64))
    off = VectorQuantizerEMA(4, 2, debias=False).double().train()  # off by default
    with torch.no_grad():
        off.embedding.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0], [-50.0, 50.0]]))
        off.ema_weight.copy_(off.embedding)
    off(z)
    assert off.embedding[2, 0] > 40


def test_codes_to_vectors_and_argument_checks() -> None:
    vq = VectorQuantizer(8, 3)
    idx = torch.tensor([[1, 7], [0, 2]])
    torch.testing.assert_close(vq.codes_to_vectors(idx), vq.embedding[idx])
    assert vq.codes_to_vectors(idx[None], channels_first=True).shape == (1, 3, 2, 2)
    with pytest.raises(ValueError, match="expected integer codes"):
        vq.codes_to_vectors(torch.tensor([8]))
    with pytest.raises(ValueError, match=r"expected vectors of shape \(\.\.\., 3\)"):
        vq(torch.randn(2, 4))
    with pytest.raises(ValueError, match="decay"):
        VectorQuantizerEMA(8, 3, decay=1.5)


# --- the image VQ-VAE -----------------------------------------------------------------------------------------


def _conv(i: int, o: int, k: int) -> int:
    return i * o * k * k + o


def _res(c: int, r: int) -> int:  # ReLU, 3×3 c→r, ReLU, 1×1 r→c
    return _conv(c, r, 3) + _conv(r, c, 1)


def _vqvae_count(h: int, r: int, d: int, k: int, *, in_ch: int = 3, codebook: bool = True) -> int:
    # §4.1: two stride-2 4×4 convolutions (the first h/2 wide, as the Sonnet example), a 3×3 convolution,
    # two residual blocks; a 1×1 projection to D; decoder: 3×3 D→h, two residual blocks, two 4×4 transposed.
    enc = _conv(in_ch, h // 2, 4) + _conv(h // 2, h, 4) + _conv(h, h, 3) + 2 * _res(h, r)
    pre = _conv(h, d, 1)
    dec = _conv(d, h, 3) + 2 * _res(h, r) + _conv(h, h // 2, 4) + _conv(h // 2, in_ch, 4)
    return enc + pre + dec + (k * d if codebook else 0)


def test_parameter_counts_by_hand() -> None:
    assert count_params("vqvae_cifar10") == _vqvae_count(256, 256, 64, 512) == 4_471_875
    assert count_params("vqvae_imagenet") == _vqvae_count(256, 256, 64, 512)
    # The Sonnet example's CIFAR-10 model (128 hidden, 32 residual, EMA codebook = not trainable): 662,723.
    with torch.device("meta"):
        sonnet = create_model("vqvae_cifar10", hidden_channels=128, residual_channels=32, ema=True)
    assert _n(sonnet) == _vqvae_count(128, 32, 64, 512, codebook=False) == 662_723
    # The Gaussian VAE: the same encoder/decoder, a 1×1 to (μ, log σ²), one log-scale per colour channel.
    gauss = _vqvae_count(256, 256, 64, 0) - _conv(256, 64, 1) + _conv(256, 2 * 64, 1) + 3
    assert count_params("gaussian_vae_cifar10") == gauss == 4_455_558


def test_latent_sizes_roundtrip_and_loss() -> None:
    torch.manual_seed(4)
    m = create_model("vqvae_tiny", num_downsamples=2).eval()
    x = torch.randn(2, 3, 16, 16)
    out = m(x)
    assert out.reconstruction.shape == x.shape and out.indices.shape == (2, 4, 4)
    torch.testing.assert_close(m.decode_codes(m.encode(x)), out.reconstruction)
    torch.testing.assert_close(m.loss(x), F.mse_loss(out.reconstruction, x) + out.vq_loss)
    # ImageNet 128×128 → 32×32 and CIFAR 32×32 → 8×8 (narrow widths, same strides)
    small = dict(hidden_channels=8, residual_channels=4, embedding_dim=4, num_embeddings=16)
    assert create_model("vqvae_imagenet", **small).encode(torch.randn(1, 3, 128, 128)).shape == (1, 32, 32)
    assert create_model("vqvae_cifar10", **small).encode(torch.randn(1, 3, 32, 32)).shape == (1, 8, 8)
    # the paper's 8×8×10 CIFAR-10 latent field: ten codes per position
    g = create_model("vqvae_cifar10", latents_per_position=10, **small).eval()
    codes = g.encode(torch.randn(2, 3, 32, 32))
    assert codes.shape == (2, 10, 8, 8)
    assert g.decode_codes(codes).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="expected H and W divisible by 4"):
        m(torch.randn(1, 3, 18, 18))


# --- the audio VQ-VAE -----------------------------------------------------------------------------------------


def test_audio_compression_is_exactly_64_and_encoder_count_by_hand() -> None:
    m = create_model("vqvae_audio_tiny").eval()
    for t in (64, 256, 1024):
        assert m.encode(torch.rand(1, t) * 2 - 1).shape == (1, t // 64)
    assert m.compression == 64
    with pytest.raises(ValueError, match="divisible by 64"):
        m(torch.zeros(1, 100), torch.zeros(1, dtype=torch.long))
    # §4.3: six strided 1-D convolutions, window 4, stride 2; 256 hidden; a 1×1 to D = 64; K = 512
    with torch.device("meta"):
        full = AudioVQVAE()
    enc = (1 * 256 * 4 + 256) + 5 * (256 * 256 * 4 + 256) + (256 * 64 + 64)
    assert _n(full.encoder) + _n(full.pre_quantize) == enc
    assert _n(full.quantizer) == 512 * 64
    strides = [mod.stride[0] for mod in full.encoder if isinstance(mod, torch.nn.Conv1d)]
    kernels = [mod.kernel_size[0] for mod in full.encoder if isinstance(mod, torch.nn.Conv1d)]
    assert strides == [2] * 6 and kernels == [4] * 6 and math.prod(strides) == 64
    assert count_params("vqvae_audio") == _n(full)


def test_wavenet_decoder_is_causal_and_speaker_conditioned() -> None:
    torch.manual_seed(5)
    m = create_model("vqvae_audio_tiny").double().eval()
    audio = torch.rand(1, 128, dtype=torch.float64) * 2 - 1
    z = m.quantize(audio).quantized
    spk = torch.tensor([1])
    dec = m.decoder
    base = dec(audio, z, spk)
    t = 70
    changed = audio.clone()
    changed[0, t] = -changed[0, t] + 0.3
    diff = (dec(changed, z, spk) - base).abs().amax(1)[0]  # (T,)
    assert diff[: t + 1].max() == 0  # logits at ≤ t never see x_t
    assert diff[t + 1] > 0
    assert (dec(audio, z, torch.tensor([2])) - base).abs().max() > 0  # the speaker matters
    out = m(audio, spk)
    target = mu_law_encode(audio)
    torch.testing.assert_close(m.loss(audio, spk), F.cross_entropy(out.logits, target) + out.vq_loss)
    assert m.decode_codes(m.encode(audio[:, :64]), spk, generator=torch.Generator().manual_seed(0)).shape == (1, 64)


def test_mu_law_matches_the_wavenet_formula() -> None:
    x = torch.linspace(-1, 1, 101)
    y = torch.sign(x) * torch.log(1 + 255 * x.abs()) / math.log(256)
    assert torch.equal(mu_law_encode(x), torch.floor((y + 1) / 2 * 255 + 0.5).long())
    codes = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(codes)), codes)  # bin centres round-trip


# --- the Gaussian VAE ------------------------------------------------------------------------------------------


def test_gaussian_vae_kl_likelihood_and_bits_per_dim() -> None:
    torch.manual_seed(6)
    m = create_model("gaussian_vae_tiny").double()
    x = (torch.randint(0, 256, (2, 3, 16, 16)).double() / 255) * 2 - 1
    out = m(x, sample=False)
    q = torch.distributions.Normal(out.mean, torch.exp(0.5 * out.logvar))
    p = torch.distributions.Normal(torch.zeros_like(out.mean), torch.ones_like(out.mean))
    torch.testing.assert_close(out.kl, torch.distributions.kl_divergence(q, p).flatten(1).sum(1))
    # the discretised likelihood: bin probabilities by the normal CDF, edges open
    mean = out.reconstruction
    normal = torch.distributions.Normal(mean, torch.ones_like(mean))
    up = torch.where(x > 1 - 1 / 255, torch.ones_like(x), normal.cdf(x + 1 / 255))
    lo = torch.where(x < -1 + 1 / 255, torch.zeros_like(x), normal.cdf(x - 1 / 255))
    torch.testing.assert_close(out.nll, -torch.log(up - lo).flatten(1).sum(1))
    torch.testing.assert_close(out.bits_per_dim, (out.nll + out.kl) / (3 * 16 * 16 * math.log(2)))


def test_discretized_gaussian_sums_to_one_over_the_256_bins() -> None:
    bins = (torch.arange(256, dtype=torch.float64) / 255) * 2 - 1
    for mean, log_scale in ((0.1, -1.0), (-0.9, -3.0), (0.7, 0.5)):
        logp = discretized_gaussian_log_likelihood(
            bins, torch.tensor(mean), torch.tensor(log_scale, dtype=torch.float64)
        )
        assert logp.exp().sum().item() == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="likelihood"):
        GaussianVAE(likelihood="laplace")
