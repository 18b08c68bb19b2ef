"""DDPM (Ho et al. 2020): the diffusion maths against closed forms, Bayes' rule and iterated forward steps;
the U-Net's blocks against naive computations and its parameter counts against a hand count."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.generative.ddpm import (
    AttnBlock,
    DDPMUNet,
    Downsample,
    NoiseSchedule,
    ResBlock,
    Upsample,
    ddpm_celebahq,
    ddpm_cifar10,
    ddpm_lsun,
    ddpm_mlp_2d_tiny,
    ddpm_tiny,
    timestep_embedding,
)

# ---------------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------------


def _abar64(betas: np.ndarray) -> np.ndarray:
    return np.cumprod(1.0 - betas)


def test_schedules_match_their_definitions() -> None:
    lin = NoiseSchedule(1000, "linear")
    np.testing.assert_allclose(lin.betas.numpy(), 1e-4 + np.arange(1000) * (0.02 - 1e-4) / 999, rtol=1e-12)
    quad = NoiseSchedule(1000, "quadratic")
    np.testing.assert_allclose(quad.betas.numpy(), np.linspace(1e-2, 0.02**0.5, 1000) ** 2, rtol=1e-12)
    cos = NoiseSchedule(1000, "cosine")
    # Nichol & Dhariwal Eq. 17: ᾱ_t = f(t)/f(0), read back from the βs where no clipping happened
    f = np.cos((np.arange(1001) / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    abar = _abar64(cos.betas.numpy())
    np.testing.assert_allclose(abar[:900], (f[1:] / f[0])[:900], rtol=1e-10)
    assert cos.betas.max() <= 0.999
    # the paper's schedule ends nearly at pure noise (§4: "L_T ≈ 0"): ᾱ_T ≈ 4e-5
    assert 1e-5 < lin.alphas_cumprod[-1] < 1e-4
    with pytest.raises(ValueError, match="schedule must be"):
        NoiseSchedule(10, "sigmoid")
    with pytest.raises(ValueError, match="num_timesteps"):
        NoiseSchedule(1)


# ---------------------------------------------------------------------------------------------------------------
# Forward process: Eq. 4 against iterating Eq. 2
# ---------------------------------------------------------------------------------------------------------------


def test_q_sample_closed_form_equals_iterated_forward_steps() -> None:
    sched = NoiseSchedule(1000, "linear")
    betas = sched.betas.numpy()
    steps = [0, 9, 99, 499, 999]
    # Deterministic part exactly: with ε = 0 iterating x_t = √(1-β_t) x_{t-1} gives √ᾱ_t x_0.
    # Noise part exactly: x_t is Gaussian, its variance obeys v_t = (1-β_t) v_{t-1} + β_t, v_0 = 0.
    x0 = torch.tensor([[0.7, -1.3]], dtype=torch.float64)
    mean, var = x0.numpy().copy(), 0.0
    for s in range(1000):
        mean = math.sqrt(1 - betas[s]) * mean
        var = (1 - betas[s]) * var + betas[s]
        if s in steps:
            t = torch.tensor([s])
            np.testing.assert_allclose(sched.q_sample(x0, t, torch.zeros_like(x0)).numpy(), mean, rtol=1e-10)
            unit = sched.q_sample(torch.zeros_like(x0), t, torch.ones_like(x0))  # = √(1-ᾱ_t)
            np.testing.assert_allclose(unit.numpy() ** 2, var, rtol=1e-10)

    # In distribution, by Monte Carlo: iterate the chain on many seeded samples and compare moments.
    g = torch.Generator().manual_seed(0)
    n = 40_000
    x = torch.full((n,), 0.8, dtype=torch.float64)
    chain = {}
    for s in range(1000):
        x = math.sqrt(1 - betas[s]) * x + math.sqrt(betas[s]) * torch.randn(n, generator=g, dtype=torch.float64)
        if s in steps:
            chain[s] = x.clone()
    x0 = torch.full((n,), 0.8, dtype=torch.float64)
    for s in steps:
        closed = sched.q_sample(x0, torch.full((n,), s), torch.randn(n, generator=g, dtype=torch.float64))
        se = math.sqrt(chain[s].var().item() / n)
        assert abs(chain[s].mean() - closed.mean()) < 5 * math.sqrt(2) * se + 1e-4
        assert abs(chain[s].var() / closed.var() - 1) < 0.05
        assert abs(closed.mean() - math.sqrt(sched.alphas_cumprod[s]) * 0.8) < 5 * se + 1e-4


def test_predict_x0_from_eps_inverts_q_sample() -> None:
    sched = NoiseSchedule(1000)
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(6, 3, 4, 4, generator=g, dtype=torch.float64), torch.randn(6, 3, 4, 4, generator=g)
    eps = eps.double()
    t = torch.tensor([0, 1, 10, 300, 700, 999])
    xt = sched.q_sample(x0, t, eps)
    torch.testing.assert_close(sched.predict_x0_from_eps(xt, t, eps), x0, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# Posterior: Eqs. 6-7 against the formulas in float64 and against Bayes' rule
# ---------------------------------------------------------------------------------------------------------------


def test_posterior_matches_paper_formulas_and_bayes_rule() -> None:
    sched = NoiseSchedule(1000, "linear")
    betas = np.linspace(1e-4, 0.02, 1000)  # independent float64 schedule
    abar = _abar64(betas)
    x0_val, xt_val = 0.4, -0.9
    ts = [1, 2, 50, 500, 999]
    x0 = torch.full((len(ts), 1), x0_val, dtype=torch.float64)
    xt = torch.full((len(ts), 1), xt_val, dtype=torch.float64)
    mean, var = sched.q_posterior(x0, xt, torch.tensor(ts))
    for i, t in enumerate(ts):
        a, ab, ab_prev, b = 1 - betas[t], abar[t], abar[t - 1], betas[t]
        # Eq. 7, written out
        mu = math.sqrt(ab_prev) * b / (1 - ab) * x0_val + math.sqrt(a) * (1 - ab_prev) / (1 - ab) * xt_val
        beta_tilde = (1 - ab_prev) / (1 - ab) * b
        np.testing.assert_allclose(mean[i, 0].item(), mu, rtol=1e-10)
        np.testing.assert_allclose(var[i, 0].item(), beta_tilde, rtol=1e-10)
        # Bayes: q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0), normalised on a fine grid
        m1, v1 = math.sqrt(ab_prev) * x0_val, 1 - ab_prev
        centre = m1 + math.sqrt(a) * v1 / (a * v1 + b) * (xt_val - math.sqrt(a) * m1)  # Gaussian conditioning
        sd = math.sqrt(v1 - a * v1**2 / (a * v1 + b))
        grid = np.linspace(centre - 12 * sd, centre + 12 * sd, 20001)
        logp = -0.5 * (xt_val - math.sqrt(a) * grid) ** 2 / b - 0.5 * (grid - m1) ** 2 / v1
        w = np.exp(logp - logp.max())
        w /= w.sum()
        grid_mean = (w * grid).sum()
        grid_var = (w * (grid - grid_mean) ** 2).sum()
        np.testing.assert_allclose(mean[i, 0].item(), grid_mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(var[i, 0].item(), grid_var, rtol=1e-4)
    # at the first step (paper's t = 1) the posterior is the point mass at x_0
    m0, v0 = sched.q_posterior(x0[:1], xt[:1], torch.tensor([0]))
    assert v0.item() == 0 and m0.item() == pytest.approx(x0_val, abs=1e-12)
    assert sched.posterior_log_variance_clipped[0] == sched.posterior_log_variance_clipped[1]


def test_p_mean_variance_equals_eq_11_and_variance_choices() -> None:
    sched = NoiseSchedule(1000)
    g = torch.Generator().manual_seed(2)
    xt, eps = torch.randn(4, 5, generator=g).double(), torch.randn(4, 5, generator=g).double()
    t = torch.tensor([1, 10, 400, 999])
    out = sched.p_mean_variance(eps, xt, t, var_type="fixedlarge", clip_denoised=False)
    b = sched.betas[t][:, None]
    a = 1 - b
    ab = sched.alphas_cumprod[t][:, None]
    eq11 = (xt - b / (1 - ab).sqrt() * eps) / a.sqrt()  # Eq. 11 / Algorithm 2 line 4
    torch.testing.assert_close(out.mean, eq11, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out.variance, b)
    torch.testing.assert_close(out.log_variance, b.log())
    small = sched.p_mean_variance(eps, xt, t, var_type="fixedsmall", clip_denoised=False)
    torch.testing.assert_close(small.variance, sched.posterior_variance[t][:, None])
    # clipping x̂_0 to [-1, 1] changes the mean exactly through Eq. 7
    clipped = sched.p_mean_variance(eps, xt, t, clip_denoised=True)
    assert clipped.pred_x0.abs().max() <= 1
    torch.testing.assert_close(clipped.mean, sched.q_posterior(clipped.pred_x0, xt, t)[0])
    with pytest.raises(ValueError, match="var_type"):
        sched.p_mean_variance(eps, xt, t, var_type="learned")


# ---------------------------------------------------------------------------------------------------------------
# Algorithm 1 (loss) and Algorithm 2 (sampling)
# ---------------------------------------------------------------------------------------------------------------


def test_loss_simple_equals_hand_computation() -> None:
    sched = NoiseSchedule(1000)
    x0 = torch.tensor([[0.5, -0.2], [1.0, 0.3], [-0.7, 0.9]], dtype=torch.float64)
    noise = torch.tensor([[0.1, 1.2], [-0.4, 0.6], [2.0, -1.0]], dtype=torch.float64)
    t = torch.tensor([3, 500, 999])

    def model(x, tt):  # a fixed "network": ε̂ = 0.5 x + t/1000
        return 0.5 * x + tt[:, None].double() / 1000

    betas = np.linspace(1e-4, 0.02, 1000)
    abar = _abar64(betas)
    total = []
    for i in range(3):
        xt = math.sqrt(abar[t[i]]) * x0[i].numpy() + math.sqrt(1 - abar[t[i]]) * noise[i].numpy()
        total.append(np.mean((noise[i].numpy() - (0.5 * xt + t[i].item() / 1000)) ** 2))
    loss = sched.loss_simple(model, x0, t=t, noise=noise)
    np.testing.assert_allclose(loss.item(), np.mean(total), rtol=1e-10)
    per = sched.loss_simple(model, x0, t=t, noise=noise, reduction="none")
    np.testing.assert_allclose(per.numpy(), total, rtol=1e-10)


def _true_eps_model(sched: NoiseSchedule, c: torch.Tensor, calls: dict | None = None, record_at: int = -1):
    """ε*(x_t, t) = (x_t - √ᾱ_t c)/√(1-ᾱ_t): the exact noise for the point mass x_0 = c."""

    def model(x, t):
        if calls is not None and t[0].item() == record_at:
            calls["x"] = x.clone()
        ab = sched.alphas_cumprod[t].to(x.dtype)[:, None]
        return (x - ab.sqrt() * c) / (1 - ab).sqrt()

    return model


def test_sample_with_true_eps_ends_at_the_point_mass() -> None:
    sched = NoiseSchedule(100, "linear", beta_end=0.2)
    c = torch.tensor([0.3, -0.6])
    g = torch.Generator().manual_seed(3)
    seen: dict = {}
    out = sched.sample(_true_eps_model(sched, c, seen, record_at=40), (4000, 2), g, var_type="fixedsmall")
    torch.testing.assert_close(out, c.expand(4000, 2), rtol=0, atol=1e-5)
    # With the true ε and σ_t² = β̃_t every step samples q(x_{t-1} | x_t, x_0 = c) exactly, so the chain's
    # marginal at any step is q(x_t | c) = N(√ᾱ_t c, (1-ᾱ_t) I) (Eq. 4).
    x40, ab = seen["x"].double(), sched.alphas_cumprod[40].item()
    np.testing.assert_allclose(x40.mean(0).numpy(), math.sqrt(ab) * c.double().numpy(), atol=0.05)
    np.testing.assert_allclose(x40.var(0).numpy(), [1 - ab, 1 - ab], rtol=0.08)
    # σ_t² = β_t (fixedlarge) also ends at c: the last step has no noise and its mean is x̂_0 = c.
    out = sched.sample(_true_eps_model(sched, c), (8, 2), torch.Generator().manual_seed(4))
    torch.testing.assert_close(out, c.expand(8, 2), rtol=0, atol=1e-5)


def test_training_reduces_loss_simple_on_a_2d_mixture() -> None:
    torch.manual_seed(0)
    sched = NoiseSchedule(1000)
    model = ddpm_mlp_2d_tiny()
    g = torch.Generator().manual_seed(5)
    centres = torch.tensor([[-0.6, -0.6], [0.6, 0.6], [-0.6, 0.6], [0.6, -0.6]])

    def data(n):
        return centres[torch.randint(0, 4, (n,), generator=g)] + 0.05 * torch.randn(n, 2, generator=g)

    x_eval = data(2048)
    t_eval, n_eval = sched.sample_timesteps(2048, generator=g), torch.randn(2048, 2, generator=g)
    with torch.no_grad():
        before = sched.loss_simple(model, x_eval, t=t_eval, noise=n_eval).item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = sched.loss_simple(model, data(256), generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = sched.loss_simple(model, x_eval, t=t_eval, noise=n_eval).item()
    assert after < 0.75 * before, (before, after)


# ---------------------------------------------------------------------------------------------------------------
# The U-Net's blocks
# ---------------------------------------------------------------------------------------------------------------


def test_timestep_embedding_equals_tf_formula() -> None:
    t = torch.tensor([0, 1, 17, 999])
    for dim in (128, 33):
        half = dim // 2
        ref = np.zeros((4, dim))
        for b, tv in enumerate(t.tolist()):
            for i in range(half):
                freq = math.exp(-math.log(10000) * i / (half - 1))
                ref[b, i], ref[b, half + i] = math.sin(tv * freq), math.cos(tv * freq)
        np.testing.assert_allclose(timestep_embedding(t, dim).numpy(), ref, atol=2e-4)


def test_attention_block_equals_naive_softmax_loop() -> None:
    torch.manual_seed(0)
    block = AttnBlock(32).eval()
    for p in block.parameters():  # the zero-initialised projection would hide everything
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, 32, 3, 4)
    h = block.norm(x)
    wq, wk, wv = block.attn.qkv.weight.split(32)
    bq, bk, bv = block.attn.qkv.bias.split(32)
    ref = torch.empty_like(x)
    for b in range(2):
        feats = [h[b, :, i, j] for i in range(3) for j in range(4)]  # the 12 positions
        q = [wq @ f + bq for f in feats]
        k = [wk @ f + bk for f in feats]
        v = [wv @ f + bv for f in feats]
        for p, (i, j) in enumerate((i, j) for i in range(3) for j in range(4)):
            logits = torch.stack([q[p] @ kk for kk in k]) / math.sqrt(32)
            w = torch.exp(logits - logits.max())
            w = w / w.sum()
            o = sum(w[n] * v[n] for n in range(12))
            ref[b, :, i, j] = x[b, :, i, j] + block.attn.proj.weight @ o + block.attn.proj.bias
    torch.testing.assert_close(block(x), ref, rtol=1e-4, atol=1e-5)


def test_resblock_matches_its_definition() -> None:
    torch.manual_seed(0)
    block = ResBlock(32, 64, temb_ch=16).eval()
    torch.nn.init.normal_(block.conv2.weight, std=0.05)
    x, temb = torch.randn(2, 32, 5, 5), torch.randn(2, 16)
    h = F.conv2d(
        F.silu(F.group_norm(x, 32, block.norm1.weight, block.norm1.bias, 1e-6)),
        block.conv1.weight,
        block.conv1.bias,
        padding=1,
    )
    h = h + (F.silu(temb) @ block.temb_proj.weight.T + block.temb_proj.bias)[:, :, None, None]
    h = F.conv2d(
        F.silu(F.group_norm(h, 32, block.norm2.weight, block.norm2.bias, 1e-6)),
        block.conv2.weight,
        block.conv2.bias,
        padding=1,
    )
    sc = torch.einsum("oc,bchw->bohw", block.shortcut.weight[:, :, 0, 0], x) + block.shortcut.bias[None, :, None, None]
    torch.testing.assert_close(block(x, temb), sc + h, rtol=1e-4, atol=1e-5)


def test_down_and_upsample_shapes_and_tf_padding() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 16, 16)
    down, up = Downsample(8), Upsample(8)
    # TF "SAME" at stride 2 on an even side: windows start at even pixels = centres at odd pixels of a
    # stride-1, pad-1 convolution.
    dense = F.conv2d(x, down.conv.weight, down.conv.bias, padding=1)
    assert down(x).shape == (2, 8, 8, 8)
    torch.testing.assert_close(down(x), dense[:, :, 1::2, 1::2])
    nearest = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert up(x).shape == (2, 8, 32, 32)
    torch.testing.assert_close(up(x), F.conv2d(nearest, up.conv.weight, up.conv.bias, padding=1))


# ---------------------------------------------------------------------------------------------------------------
# The U-Net: parameter count by hand, structure, input checks
# ---------------------------------------------------------------------------------------------------------------


def _resblock(cin: int, cout: int, temb: int) -> int:
    n = 2 * cin + 9 * cin * cout + cout + temb * cout + cout + 2 * cout + 9 * cout * cout + cout
    return n + (cin * cout + cout if cin != cout else 0)


def _attn(c: int) -> int:
    return 2 * c + 4 * (c * c + c)  # GroupNorm, q, k, v, proj_out


def _unet_params(ch, ch_mult, nres, attn_res, size, cin=3) -> int:
    """Walk the TF unet.model and add up each layer's parameters (Appendix B)."""
    temb = 4 * ch
    n = ch * temb + temb + temb * temb + temb  # temb dense0, dense1
    n += 9 * cin * ch + ch  # conv_in
    skips, cur, res = [ch], ch, size
    for level, mult in enumerate(ch_mult):
        for _ in range(nres):
            n += _resblock(cur, ch * mult, temb) + (_attn(ch * mult) if res in attn_res else 0)
            cur = ch * mult
            skips.append(cur)
        if level != len(ch_mult) - 1:
            n += 9 * cur * cur + cur
            skips.append(cur)
            res //= 2
    n += 2 * _resblock(cur, cur, temb) + _attn(cur)
    for level in reversed(range(len(ch_mult))):
        for _ in range(nres + 1):
            n += _resblock(cur + skips.pop(), ch * ch_mult[level], temb)
            cur = ch * ch_mult[level]
            n += _attn(cur) if res in attn_res else 0
        if level != 0:
            n += 9 * cur * cur + cur
            res *= 2
    return n + 2 * cur + 9 * cur * cin + cin  # norm_out, conv_out


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_unet_parameter_counts_by_hand_and_reference() -> None:
    with torch.device("meta"):
        cifar, celeba, lsun, tiny = ddpm_cifar10(), ddpm_celebahq(), ddpm_lsun(), ddpm_tiny()
    assert _count(cifar) == _unet_params(128, (1, 2, 2, 2), 2, (16,), 32) == 35_746_307  # google/ddpm-cifar10-32
    assert _count(celeba) == _count(lsun) == _unet_params(128, (1, 1, 2, 2, 4, 4), 2, (16,), 256) == 113_673_219
    assert _count(tiny) == _unet_params(32, (1, 2), 1, (8,), 16)
    # sub-blocks: the CIFAR-10 model's first 16×16 block (128 → 256 channels) and its attention
    block = cifar.down[1].blocks[0]
    assert (
        _count(block)
        == _resblock(128, 256, 512)
        == 2 * 128 + 9 * 128 * 256 + 256 + 512 * 256 + 256 + 2 * 256 + (9 * 256 * 256 + 256) + 128 * 256 + 256
    )
    assert _count(cifar.down[1].attns[0]) == 2 * 256 + 4 * (256 * 256 + 256)
    # attention only at 16×16: level 1 on the way down (2 blocks), the middle, level 1 on the way up (3 blocks)
    n_attn = sum(isinstance(m, AttnBlock) for m in cifar.modules())
    assert n_attn == 2 + 1 + 3


def test_unet_forward_and_input_checks() -> None:
    torch.manual_seed(0)
    model = ddpm_tiny().eval()
    assert model.conv_out.weight.abs().sum() == 0  # zero-initialised output (TF init_scale=0)
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([5, 900])
    torch.testing.assert_close(model(x, t), torch.zeros_like(x))
    for p in model.parameters():  # undo every zero init (ResBlock conv2, attention proj, conv_out)
        if p.dim() > 1 and p.abs().sum() == 0:
            torch.nn.init.normal_(p, std=0.05)
    out = model(x, t)
    torch.testing.assert_close(model((x, t)), out)  # the single-argument pair form
    assert not torch.allclose(out, model(x, torch.tensor([6, 900])))  # the timestep matters
    torch.testing.assert_close(out[:1], model(x[:1], t[:1]), rtol=1e-4, atol=1e-5)  # examples are independent
    with pytest.raises(ValueError, match="expected x of shape"):
        model(torch.randn(2, 3, 32, 32), t)
    with pytest.raises(ValueError, match="expected timesteps"):
        model(x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="expected"):
        model(x)
    with pytest.raises(ValueError, match="multiple of num_groups"):
        DDPMUNet(ch=48)
    with pytest.raises(ValueError, match="image_size"):
        DDPMUNet(image_size=20, ch_mult=(1, 2, 2, 2))


def test_schedule_checks_shapes() -> None:
    sched = NoiseSchedule(10)
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="expected timesteps"):
        sched.q_sample(x, torch.tensor([1, 2]), x)
    with pytest.raises(ValueError, match="expected integer"):
        sched.q_sample(x, torch.tensor([1.0, 2.0, 3.0]), x)
    with pytest.raises(ValueError, match="expected noise"):
        sched.q_sample(x, torch.tensor([1, 2, 3]), torch.zeros(3, 3))
