"""VQ-VAE-2 (Razavi et al. 2019): the exact parameter count of rosinality's VQVAE computed by hand from its layer
shapes, the two-level forward against rosinality's data flow rebuilt from plain nn layers with copied weights,
latent sizes at 256×256 (64×64 / 32×32) and of the three-level 1024×1024 FFHQ model (128 / 64 / 32), and the
encode / decode_codes round trip."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperzoo.models.generative.vqvae2 import VQVAE2
from paperzoo.registry import count_params, create_model, get_model_entry


def _conv(i: int, o: int, k: int) -> int:  # Conv2d and ConvTranspose2d alike
    return i * o * k * k + o


def _res(c: int, r: int) -> int:
    return _conv(c, r, 3) + _conv(r, c, 1)


def _n(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_vqvae2_matches_rosinality_parameter_count_exactly() -> None:
    # rosinality/vq-vae-2-pytorch vqvae.py, VQVAE(in_channel=3, channel=128, n_res_block=2, n_res_channel=32,
    # embed_dim=64, n_embed=512); Quantize keeps its codebook in buffers.
    c, r, d = 128, 32, 64
    enc_b = _conv(3, c // 2, 4) + _conv(c // 2, c, 4) + _conv(c, c, 3) + 2 * _res(c, r)  # Encoder(stride=4)
    enc_t = _conv(c, c // 2, 4) + _conv(c // 2, c, 3) + 2 * _res(c, r)  # Encoder(stride=2)
    quantize_conv_t = _conv(c, d, 1)
    dec_t = _conv(d, c, 3) + 2 * _res(c, r) + _conv(c, d, 4)  # Decoder(64, 64, stride=2)
    quantize_conv_b = _conv(d + c, d, 1)
    upsample_t = _conv(d, d, 4)
    dec = _conv(2 * d, c, 3) + 2 * _res(c, r) + _conv(c, c // 2, 4) + _conv(c // 2, 3, 4)  # Decoder(stride=4)
    total = enc_b + enc_t + quantize_conv_t + dec_t + quantize_conv_b + upsample_t + dec
    assert total == 1_388_867
    assert get_model_entry("vqvae2").reference_params == total
    assert count_params("vqvae2") == total
    with torch.device("meta"):
        m = create_model("vqvae2")
    assert [_n(e) for e in m.encoders] == [enc_b, enc_t]
    assert _n(m.cond_decoders[0]) == dec_t and _n(m.upsamplers[0]) == upsample_t and _n(m.decoder) == dec
    assert [_n(q) for q in m.quantize_convs] == [quantize_conv_b, quantize_conv_t]
    assert all(_n(q) == 0 and q.embedding.shape == (512, 64) for q in m.quantizers)  # EMA codebooks: buffers
    # the paper's Appendix A width (64 residual units) changes only the residual blocks (4 encoders/decoders × 2)
    assert count_params("vqvae2_paper") == total + 8 * (_res(c, 64) - _res(c, r))


def test_ffhq_three_level_parameter_count_by_hand() -> None:
    c, r, d = 128, 64, 64
    enc0 = _conv(3, c // 2, 4) + _conv(c // 2, c, 4) + _conv(c, c, 4) + _conv(c, c, 3) + 2 * _res(c, r)  # ÷8
    enc12 = 2 * (_conv(c, c // 2, 4) + _conv(c // 2, c, 3) + 2 * _res(c, r))  # ÷2, ÷2
    qconvs = 2 * _conv(c + d, d, 1) + _conv(c, d, 1)
    cond = 2 * (_conv(d, c, 3) + 2 * _res(c, r) + _conv(c, d, 4))
    ups = _conv(d, d, 4) + 2 * _conv(d, d, 4)  # middle ×2, top ×4
    dec = _conv(3 * d, c, 3) + 2 * _res(c, r) + _conv(c, c, 4) + _conv(c, c // 2, 4) + _conv(c // 2, 3, 4)  # ×8
    assert count_params("vqvae2_ffhq") == enc0 + enc12 + qconvs + cond + ups + dec == 3_197_059


class _Res(nn.Module):
    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.ReLU(), nn.Conv2d(c, r, 3, padding=1), nn.ReLU(), nn.Conv2d(r, c, 1))

    def forward(self, x):
        return x + self.conv(x)


def _rosinality_layers(c: int, r: int, d: int) -> dict[str, nn.Module]:
    """rosinality's layer lists (Encoder / Decoder ``blocks``), in order, from plain nn layers."""
    res = [_Res(c, r), _Res(c, r)]
    enc_b = nn.Sequential(
        nn.Conv2d(3, c // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1)
    )
    enc_b.extend([*res, nn.ReLU()])
    enc_t = nn.Sequential(nn.Conv2d(c, c // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 3, 1, 1))
    enc_t.extend([_Res(c, r), _Res(c, r), nn.ReLU()])
    dec_t = nn.Sequential(
        nn.Conv2d(d, c, 3, 1, 1), _Res(c, r), _Res(c, r), nn.ReLU(), nn.ConvTranspose2d(c, d, 4, 2, 1)
    )
    dec = nn.Sequential(nn.Conv2d(2 * d, c, 3, 1, 1), _Res(c, r), _Res(c, r), nn.ReLU())
    dec.extend([nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c // 2, 3, 4, 2, 1)])
    return dict(
        enc_b=enc_b,
        enc_t=enc_t,
        quantize_conv_t=nn.Conv2d(c, d, 1),
        dec_t=dec_t,
        quantize_conv_b=nn.Conv2d(d + c, d, 1),
        upsample_t=nn.ConvTranspose2d(d, d, 4, 2, 1),
        dec=dec,
    )


def _copy(src: nn.Module, dst: nn.Module) -> None:
    ps, pd = list(src.parameters()), list(dst.parameters())
    assert [p.shape for p in ps] == [p.shape for p in pd]
    with torch.no_grad():
        for a, b in zip(ps, pd):
            b.copy_(a)


def test_two_level_forward_equals_rosinality_data_flow_with_copied_weights() -> None:
    torch.manual_seed(0)
    c, r, d = 16, 8, 8
    m = create_model("vqvae2_tiny").double().eval()
    ref = {name: mod.double() for name, mod in _rosinality_layers(c, r, d).items()}
    _copy(m.encoders[0], ref["enc_b"])
    _copy(m.encoders[1], ref["enc_t"])
    _copy(m.quantize_convs[1], ref["quantize_conv_t"])
    _copy(m.cond_decoders[0], ref["dec_t"])
    _copy(m.quantize_convs[0], ref["quantize_conv_b"])
    _copy(m.upsamplers[0], ref["upsample_t"])
    _copy(m.decoder, ref["dec"])
    code_t, code_b = m.quantizers[1].embedding, m.quantizers[0].embedding

    def quantize(z, codebook):  # nearest code by brute force, (B, D, h, w)
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        idx = torch.cdist(flat, codebook).argmin(1)
        q = codebook[idx].view(z.shape[0], z.shape[2], z.shape[3], d).permute(0, 3, 1, 2)
        return q, idx.view(z.shape[0], z.shape[2], z.shape[3])

    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    h_b = ref["enc_b"](x)
    h_t = ref["enc_t"](h_b)
    q_t, id_t = quantize(ref["quantize_conv_t"](h_t), code_t)
    q_b, id_b = quantize(ref["quantize_conv_b"](torch.cat([ref["dec_t"](q_t), h_b], 1)), code_b)
    recon = ref["dec"](torch.cat([ref["upsample_t"](q_t), q_b], 1))

    out = m(x)
    assert [i.shape for i in out.indices] == [(2, 4, 4), (2, 8, 8)]
    assert torch.equal(out.indices[0], id_t) and torch.equal(out.indices[1], id_b)
    torch.testing.assert_close(out.reconstruction, recon)
    e_t = m.quantizers[1].commitment_cost * ((ref["quantize_conv_t"](h_t) - q_t) ** 2).mean()
    z_b = ref["quantize_conv_b"](torch.cat([ref["dec_t"](q_t), h_b], 1))
    e_b = m.quantizers[0].commitment_cost * ((z_b - q_b) ** 2).mean()
    torch.testing.assert_close(out.vq_loss, e_t + e_b)
    # decode_codes of the codes reproduces the reconstruction
    torch.testing.assert_close(m.decode_codes(m.encode(x)), recon)


def test_latent_sizes_at_256_and_three_levels_at_1024() -> None:
    torch.manual_seed(1)
    narrow = dict(channels=4, residual_channels=2, num_residual_layers=1, embedding_dim=2, num_embeddings=8)
    two = create_model("vqvae2", **narrow).eval()
    assert two.latent_sizes(256, 256) == [(32, 32), (64, 64)]
    codes = two.encode(torch.randn(1, 3, 256, 256))
    assert [tuple(cm.shape) for cm in codes] == [(1, 32, 32), (1, 64, 64)]
    three = create_model("vqvae2_ffhq", **narrow).eval()
    assert three.num_levels == 3 and three.latent_sizes(1024, 1024) == [(32, 32), (64, 64), (128, 128)]
    with torch.device("meta"):  # the full-width model's shapes, without computing
        full = create_model("vqvae2_ffhq")
        feats = [torch.empty(1, 3, 1024, 1024)]
        for enc in full.encoders:
            feats.append(enc(feats[-1]))
        assert [f.shape[-1] for f in feats[1:]] == [128, 64, 32]
    small = create_model("vqvae2_ffhq", **narrow).eval()
    x = torch.randn(1, 3, 64, 64)
    codes = small.encode(x)  # the same model at 64×64: 8, 4, 2
    assert [tuple(cm.shape) for cm in codes] == [(1, 2, 2), (1, 4, 4), (1, 8, 8)]
    torch.testing.assert_close(small.decode_codes(codes), small(x).reconstruction)


def test_generic_levels_loss_and_errors() -> None:
    torch.manual_seed(2)
    m = VQVAE2(channels=8, residual_channels=4, embedding_dim=4, num_embeddings=16, strides=(2, 2, 2, 2)).train()
    x = torch.randn(2, 3, 32, 32)
    out = m(x)
    assert [tuple(i.shape) for i in out.indices] == [(2, 2, 2), (2, 4, 4), (2, 8, 8), (2, 16, 16)]
    assert out.perplexity.shape == (4,) and out.reconstruction.shape == x.shape
    m.eval()
    out = m(x)
    torch.testing.assert_close(m.loss(x), torch.nn.functional.mse_loss(out.reconstruction, x) + out.vq_loss)
    with pytest.raises(ValueError, match="power of two"):
        VQVAE2(strides=(3, 2))
    with pytest.raises(ValueError, match="expected H and W divisible by 16"):
        m(torch.randn(1, 3, 24, 24))
    with pytest.raises(ValueError, match="expected 4 code maps"):
        m.decode_codes(m.encode(x)[:2])
