"""WaveGrad (Chen et al. 2020): parameter counts by hand from the reference's layer shapes, FiLM / UBlock /
DBlock against plain functional convolutions with the same weights, the noise-level embedding against the
paper's formula, and the diffusion maths (continuous noise level, L1 loss, Algorithm 2) against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.generative.wavegrad import (
    DBlock,
    FiLM,
    UBlock,
    WaveGrad,
    linear_betas,
    noise_level_embedding,
    noise_levels,
    sample,
    sample_noise_level,
    training_loss,
    wavegrad_base,
    wavegrad_tiny,
)
from paperzoo.registry import count_params, get_model_entry


def _conv(i: int, o: int, k: int) -> int:
    return i * o * k + o


def _ublock(i: int, o: int) -> int:  # 3×1 in→out, three 3×1 out→out, 1×1 residual
    return _conv(i, o, 3) + 3 * _conv(o, o, 3) + _conv(i, o, 1)


def _dblock(i: int, o: int) -> int:  # 3×1 in→out, two 3×1 out→out, 1×1 residual
    return _conv(i, o, 3) + 2 * _conv(o, o, 3) + _conv(i, o, 1)


def _film(i: int, o: int) -> int:  # 3×1 in→in, then 3×1 in→out for scale and for shift
    return _conv(i, i, 3) + 2 * _conv(i, o, 3)


def _n(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_parameter_count_by_hand() -> None:
    # ivanvovk/WaveGrad configs/default.json (80 mels) = lmnt-com/wavegrad model.py with an 80-band input
    ups = [_ublock(768, 512), _ublock(512, 512), _ublock(512, 256), _ublock(256, 128), _ublock(128, 128)]
    downs = [_dblock(32, 128), _dblock(128, 128), _dblock(128, 256), _dblock(256, 512)]
    films = [_film(32, 128), _film(128, 128), _film(128, 256), _film(256, 512), _film(512, 512)]
    total = _conv(80, 768, 3) + sum(ups) + _conv(128, 1, 3) + _conv(1, 32, 5) + sum(downs) + sum(films)
    assert total == 15_810_401
    assert get_model_entry("wavegrad_base").reference_params == total
    assert count_params("wavegrad_base") == total
    with torch.device("meta"):
        m = wavegrad_base()
    assert [_n(b) for b in m.ublocks] == ups
    assert [_n(b) for b in m.dblocks] == downs
    assert [_n(f) for f in m.films] == films
    assert m.hop_length == 300
    # lmnt-com/wavegrad takes 128 mel bands: only the first conv differs
    with torch.device("meta"):
        assert _n(WaveGrad(n_mels=128)) == total - _conv(80, 768, 3) + _conv(128, 768, 3) == 15_920_993


def test_noise_level_embedding_matches_the_formula() -> None:
    levels = torch.tensor([0.0, 0.3, 0.999, 1.0], dtype=torch.float64)
    d = 32
    emb = noise_level_embedding(levels, d)
    for b, lvl in enumerate(levels.tolist()):
        for k in range(d // 2):  # PE(p, k) = sin/cos(p / 10000^(2k/d)), p = 5000 √ᾱ
            arg = 5000.0 * lvl / 10000.0 ** (2 * k / d)
            assert emb[b, k].item() == pytest.approx(math.sin(arg), abs=1e-9)
            assert emb[b, d // 2 + k].item() == pytest.approx(math.cos(arg), abs=1e-9)
    # nearby noise levels get distinguishable embeddings thanks to the 5000 scale
    assert (
        noise_level_embedding(torch.tensor([0.5]), 64) - noise_level_embedding(torch.tensor([0.501]), 64)
    ).abs().max() > 0.5


def test_film_by_hand() -> None:
    torch.manual_seed(0)
    film = FiLM(8, 6).double()
    x, lvl = torch.randn(2, 8, 10, dtype=torch.float64), torch.tensor([0.2, 0.9], dtype=torch.float64)
    scale, shift = film(x, lvl)
    h = F.leaky_relu(F.conv1d(x, film.input_conv.weight, film.input_conv.bias, padding=1), 0.2)
    pe = torch.tensor(
        [
            [math.sin(5000 * v / 1e4 ** (k / 4)) for k in range(4)]
            + [math.cos(5000 * v / 1e4 ** (k / 4)) for k in range(4)]
            for v in lvl.tolist()
        ],
        dtype=torch.float64,
    )
    h = h + pe[:, :, None]  # the same embedding at every time step
    torch.testing.assert_close(scale, F.conv1d(h, film.scale_conv.weight, film.scale_conv.bias, padding=1))
    torch.testing.assert_close(shift, F.conv1d(h, film.shift_conv.weight, film.shift_conv.bias, padding=1))


def _naive_upsample_linear(x: torch.Tensor, factor: int) -> torch.Tensor:
    """align_corners=False linear interpolation, one output sample at a time."""
    t = x.shape[-1]
    out = torch.empty(*x.shape[:-1], t * factor, dtype=x.dtype)
    for j in range(t * factor):
        src = max((j + 0.5) / factor - 0.5, 0.0)
        i0 = min(int(math.floor(src)), t - 1)
        i1 = min(i0 + 1, t - 1)
        w = src - i0
        out[..., j] = (1 - w) * x[..., i0] + w * x[..., i1]
    return out


def test_ublock_by_hand() -> None:
    torch.manual_seed(1)
    block = UBlock(6, 4, factor=3, dilations=(1, 2, 4, 8)).double()
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    scale, shift = torch.randn(2, 4, 15, dtype=torch.float64), torch.randn(2, 4, 15, dtype=torch.float64)
    out = block(x, scale, shift)
    assert out.shape == (2, 4, 15)

    def conv(c: torch.nn.Conv1d, h: torch.Tensor) -> torch.Tensor:
        d = c.dilation[0]
        return F.conv1d(h, c.weight, c.bias, padding=d * (c.kernel_size[0] - 1) // 2, dilation=d)

    def film_act(h: torch.Tensor) -> torch.Tensor:  # FiLM then LeakyReLU(0.2), Fig. 3
        return F.leaky_relu(scale * h + shift, 0.2)

    c0, c1, c2, c3 = block.convs
    h = conv(c1, film_act(conv(c0, _naive_upsample_linear(F.leaky_relu(x, 0.2), 3))))
    h = h + _naive_upsample_linear(conv(block.residual, x), 3)
    ref = h + conv(c3, film_act(conv(c2, film_act(h))))
    torch.testing.assert_close(out, ref)
    assert [c.dilation[0] for c in block.convs] == [1, 2, 4, 8]


@pytest.mark.parametrize("length, factor", [(60, 2), (61, 3), (100, 5)])
def test_dblock_by_hand_and_length(length: int, factor: int) -> None:
    torch.manual_seed(2)
    block = DBlock(3, 5, factor=factor).double()
    x = torch.randn(2, 3, length, dtype=torch.float64)
    out = block(x)
    assert out.shape == (2, 5, length // factor)
    down = lambda h: F.interpolate(h, size=length // factor, mode="linear", align_corners=False)  # noqa: E731
    h = down(x)
    for c, d in zip(block.convs, (1, 2, 4)):
        h = F.conv1d(F.leaky_relu(h, 0.2), c.weight, c.bias, padding=d, dilation=d)
    torch.testing.assert_close(out, h + down(F.conv1d(x, block.residual.weight, block.residual.bias)))


def test_tiny_forward_backward_and_conditioning() -> None:
    torch.manual_seed(0)
    model = wavegrad_tiny()
    assert model.hop_length == 16
    audio, mel, lvl = torch.randn(2, 64), torch.randn(2, 16, 4), torch.rand(2)
    out = model(audio, mel, lvl)
    assert out.shape == (2, 64) and torch.isfinite(out).all()
    torch.testing.assert_close(model((audio, mel, lvl)), out)  # the single-tuple form of the registry
    out.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    with torch.no_grad():  # every input matters: the noisy audio, the mel and the noise level
        assert not torch.allclose(model(audio, mel, lvl + 0.1), out)
        assert not torch.allclose(model(audio, mel + 1, lvl), out)
        assert not torch.allclose(model(audio + 1, mel, lvl), out)
    with pytest.raises(ValueError, match="expected audio"):
        model(torch.randn(2, 65), mel, lvl)  # T must be frames × hop
    with pytest.raises(ValueError, match="expected mel"):
        model(audio, torch.randn(2, 15, 4), lvl)
    with pytest.raises(ValueError, match="expected noise_level"):
        model(audio, mel, torch.rand(3))
    with pytest.raises(ValueError, match="downsample_channels"):
        WaveGrad(upsample_factors=(5, 5), upsample_channels=(8, 8), upsample_dilations=((1,) * 4,) * 2)


# ---------------------------------------------------------------------------------------------------------------
# Diffusion maths
# ---------------------------------------------------------------------------------------------------------------


def test_noise_levels_and_continuous_sampling_stay_in_the_bracket() -> None:
    betas = linear_betas(1000)
    levels = noise_levels(betas)
    np.testing.assert_allclose(levels.numpy()[1:] ** 2, np.cumprod(1 - np.linspace(1e-6, 0.01, 1000)), rtol=1e-12)
    assert levels[0] == 1 and (levels.diff() < 0).all()

    short = torch.tensor([0.1, 0.3, 0.5, 0.7], dtype=torch.float64)
    lv = noise_levels(short)
    l = sample_noise_level(short, 20_000, generator=torch.Generator().manual_seed(0)).double()
    assert ((l >= lv[-1] - 1e-6) & (l <= 1 + 1e-6)).all()
    # Replay the same draws: s ~ U{1..N}, then l inside [√ᾱ_s, √ᾱ_{s-1}] at the uniform position u
    g = torch.Generator().manual_seed(0)
    s = torch.randint(1, 5, (20_000,), generator=g)
    u = torch.rand(20_000, generator=g, dtype=torch.float64)
    assert ((l >= lv[s] - 1e-6) & (l <= lv[s - 1] + 1e-6)).all()
    torch.testing.assert_close(l, lv[s] + u * (lv[s - 1] - lv[s]), atol=1e-6, rtol=0)
    counts = torch.bincount(s, minlength=5)[1:].double()
    assert (counts / 20_000 - 0.25).abs().max() < 0.02


def test_training_loss_is_l1_on_the_noise() -> None:
    g = torch.Generator().manual_seed(0)
    y0, mel = torch.randn(3, 32, generator=g, dtype=torch.float64), torch.zeros(3, 1, 2, dtype=torch.float64)
    eps, lvl = torch.randn(3, 32, generator=g, dtype=torch.float64), torch.tensor([0.1, 0.5, 0.99], dtype=torch.float64)
    seen = {}

    def oracle(y: torch.Tensor, m: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        seen["y"] = y
        lv = level[:, None]
        return (y - lv * y0) / (1 - lv**2).sqrt()  # the true ε given the clean signal

    loss = training_loss(oracle, y0, mel, linear_betas(), noise_level=lvl, noise=eps)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    torch.testing.assert_close(seen["y"], lvl[:, None] * y0 + (1 - lvl[:, None] ** 2).sqrt() * eps)
    zero = training_loss(lambda y, m, lv: torch.zeros_like(y), y0, mel, linear_betas(), noise_level=lvl, noise=eps)
    assert zero.item() == pytest.approx(eps.abs().mean().item())


def _true_noise_model(betas: torch.Tensor, record: dict):
    """ε_θ that knows y_0 = 0: y_n = √(1-ᾱ_n) ε, so ε = y_n / √(1-ᾱ_n)."""

    def model(y: torch.Tensor, mel: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        record.setdefault("levels", []).append(level[0].item())
        record.setdefault("var", []).append(y.double().var().item())
        return y / (1 - level[:, None].double() ** 2).sqrt()

    return model


@pytest.mark.parametrize("betas", [linear_betas(50, 1e-4, 0.05), torch.tensor([1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5])])
def test_sample_with_true_noise_for_a_zero_signal_ends_at_zero(betas: torch.Tensor) -> None:
    record: dict = {}
    mel = torch.zeros(1, 1, 20_000, dtype=torch.float64)
    y = sample(_true_noise_model(betas, record), mel, betas, torch.Generator().manual_seed(0), hop_length=1)
    assert y.shape == (1, 20_000)
    torch.testing.assert_close(y, torch.zeros_like(y), atol=1e-10, rtol=0)  # closed form: the n = 1 mean is 0
    abar = torch.cumprod(1 - betas.double(), 0)
    # the model is asked at √ᾱ_N, ..., √ᾱ_1, and with the true ε each step samples q(y_{n-1} | y_n, y_0 = 0),
    # so y_n ~ N(0, 1 - ᾱ_n) all along the chain (y_N ~ N(0, I) approximates 1 - ᾱ_N ≈ 1 only at the start)
    np.testing.assert_allclose(record["levels"], abar.sqrt().flip(0).numpy(), rtol=1e-6)
    n = len(betas)
    expected_var = torch.empty(n, dtype=torch.float64)
    v = 1.0
    for i, k in enumerate(reversed(range(n))):  # exact variance recursion of the chain from y_N ~ N(0, 1)
        expected_var[i] = v
        if k > 0:
            c = (1 - abar[k - 1]) / (1 - abar[k]) * (1 - betas[k]).sqrt()  # the mean's coefficient on y_k
            v = c**2 * v + (1 - abar[k - 1]) / (1 - abar[k]) * betas[k]
    np.testing.assert_allclose(record["var"], expected_var.numpy(), rtol=0.05)


def test_sample_runs_the_tiny_model() -> None:
    torch.manual_seed(0)
    model = wavegrad_tiny().eval()
    mel, betas = torch.randn(2, 16, 3), torch.tensor([1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5])
    y = sample(model, mel, betas, torch.Generator().manual_seed(1))  # hop_length from the model
    assert y.shape == (2, 48)  # an untrained network's ε̂ can overflow the chain: shapes only here
    damped = sample(
        lambda a, m, lv: 1e-3 * model(a, m, lv), mel, betas, torch.Generator().manual_seed(1), hop_length=16
    )
    assert damped.shape == (2, 48) and torch.isfinite(damped).all()
    with pytest.raises(ValueError, match="schedule"):
        sample(model, mel, torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="hop_length"):
        sample(lambda a, m, lv: a, mel, betas)
