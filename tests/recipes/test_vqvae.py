"""The VQ-VAE stage-1 recipes: the PCA codec against naive loops and closed forms, bit budgets, the fitted
likelihood scale, the learning tests (VQ-VAE beats PCA at equal bits; bits/dim below 8 and near the VAE), and the
full configs' real-data path on the ImageNet-folder fixture."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import paperzoo.recipes.vqvae  # noqa: F401  (registers the recipes)
from paperzoo.engine.run import run_recipe
from paperzoo.models.generative.vqvae import VQVAE, discretized_gaussian_log_likelihood
from paperzoo.models.generative.vqvae2 import VQVAE2
from paperzoo.recipes.vqvae import PCACodec, fit_log_scale, latent_bits

IMAGENET = Path(__file__).parents[1] / "fixtures" / "images" / "imagenet"
FFHQ = Path(__file__).parents[1] / "fixtures" / "ffhq"


def test_pca_quantizer_matches_a_naive_loop() -> None:
    g = torch.Generator().manual_seed(0)
    c, sd = torch.randn(50, 3, generator=g, dtype=torch.float64) * 2, torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    b, alpha = 3, 2.0
    out = PCACodec.quantize(c, sd, b, alpha)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            lo, width = -alpha * float(sd[j]), 2 * alpha * float(sd[j]) / 2**b
            k = min(max(math.floor((float(c[i, j]) - lo) / width), 0), 2**b - 1)  # clamp into the outer bins
            assert float(out[i, j]) == pytest.approx(lo + (k + 0.5) * width)


def test_pca_codec_spends_exactly_the_budget_and_reaches_the_unquantised_pca_error() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 4, generator=g) @ torch.randn(4, 24, generator=g) + 0.01 * torch.randn(400, 24, generator=g)
    codec = PCACodec(64, alphas=(3.0, 4.0, 5.0)).fit(x)
    assert codec.k * codec.b == 64 and codec.b <= 16
    # 16 bits per coefficient: the error is the unquantised PCA residual (sum of the dropped eigenvalues / D).
    fine = PCACodec(16 * 4, alphas=(5.0,))
    fine.fit(x)
    centred = x.double() - x.double().mean(0)
    eig = torch.linalg.eigvalsh(centred.T @ centred / len(x)).flip(0)
    residual = float(eig[fine.k :].sum()) / x.shape[1]
    assert fine.k >= 4
    assert fine.mse(x) == pytest.approx(residual, rel=0.05, abs=1e-6)


def test_bit_budgets_of_one_and_two_level_models() -> None:
    vq = VQVAE(1, hidden_channels=8, residual_channels=4, num_downsamples=3, embedding_dim=4, num_embeddings=8)
    assert latent_bits(vq, 32, 32) == (48.0, [(16, 8)])
    two = VQVAE2(1, channels=8, residual_channels=4, embedding_dim=4, num_embeddings=16, strides=(4, 2))
    one = VQVAE2(1, channels=8, residual_channels=4, embedding_dim=4, num_embeddings=32, strides=(4,))
    assert latent_bits(two, 32, 32) == (320.0, [(16, 16), (64, 16)])  # top 4×4 + bottom 8×8, 4 bits each
    assert latent_bits(one, 32, 32) == (320.0, [(64, 32)])  # 8×8 × 5 bits: the same budget


def test_fitted_scale_is_the_maximum_likelihood_sigma() -> None:
    g = torch.Generator().manual_seed(2)
    target = (torch.randint(0, 256, (64, 2, 8, 8), generator=g).float() / 127.5 - 1).clamp(-0.9, 0.9)
    noise = torch.randn(target.shape, generator=g) * torch.tensor([0.05, 0.2])[None, :, None, None]
    recon = target + noise
    log_scale = fit_log_scale(recon, target)
    torch.testing.assert_close(log_scale.exp(), torch.tensor([0.05, 0.2]), rtol=0.08, atol=0)
    # It is the optimum: nudging it either way lowers the likelihood.
    for c in range(2):

        def ll(s: float, c: int = c) -> float:
            return float(discretized_gaussian_log_likelihood(target[:, c], recon[:, c], torch.tensor(s)).sum())

        best = float(log_scale[c])
        assert ll(best) >= max(ll(best - 0.05), ll(best + 0.05))


def test_quick_compression_beats_pca_at_equal_bits(tmp_path) -> None:
    torch.set_num_threads(1)
    # 600 of the quick config's 800 steps keep every claim (seed 0: MSE 0.79 × PCA's, all 8 codes, perplexity 7.6)
    overrides = ["train.tensorboard=false", "train.steps=600", "train.eval_every=600", "train.ckpt_every=600"]
    summary = run_recipe("vqvae_compression", out=tmp_path / "run", quiet=True, report=False, overrides=overrides)
    m = summary["metrics"]
    assert m["bits_per_image"] == 48.0 and m["pca/k"] * m["pca/bits_per_component"] == 48
    assert summary["beats_baseline"] and m["mse"] < 0.85 * summary["baseline"]["value"]
    assert m["usage"] >= 0.75 and m["perplexity"] > 5  # most of the K = 8 codes are used
    assert (tmp_path / "run" / "plots" / "reconstructions.png").is_file()
    assert (tmp_path / "run" / "plots" / "code_usage.png").is_file()


def test_quick_bits_per_dim_is_a_density_near_the_gaussian_vae(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = ["train.tensorboard=false", "train.steps=300", "train.eval_every=300", "train.ckpt_every=300"]
    summary = run_recipe("vqvae_bits_per_dim", out=tmp_path / "run", quiet=True, report=False, overrides=overrides)
    m = summary["metrics"]
    # KL of a uniform prior over K = 32 codes at 8×8 positions, per 32×32 dimension: 64 · 5 / 1024 bits.
    assert m["kl_bits_per_dim"] == pytest.approx(64 * 5 / 1024)
    assert summary["beats_baseline"] and m["bits_per_dim"] < 6.0
    assert abs(m["gap_to_vae"]) < 1.5 and m["vae/bits_per_dim"] < 8.0


def test_quick_hierarchy_uses_the_top_level_and_beats_one_level_at_equal_bits(tmp_path) -> None:
    torch.set_num_threads(1)
    overrides = ["train.tensorboard=false", "train.steps=250", "train.eval_every=250", "train.ckpt_every=250"]
    summary = run_recipe("vqvae2_hierarchy", out=tmp_path / "run", quiet=True, report=False, overrides=overrides)
    m = summary["metrics"]
    assert m["bits_per_image"] == m["baseline/bits_per_image"] == 320.0  # 16·4 + 64·4 bits = 64·5 bits
    assert m["perplexity_level0"] > 3 and m["usage_level0"] >= 0.25  # the top code map carries information
    assert summary["beats_baseline"] and m["mse_ratio_to_one_level"] < 0.85


@pytest.mark.parametrize("recipe", ["vqvae_compression", "vqvae2_hierarchy"])
def test_full_configs_run_on_the_imagenet_folder_fixture(recipe: str, tmp_path) -> None:
    overrides = [
        "train.tensorboard=false",
        "train.batch_size=2",
        "train.eval_batch_size=2",
        "train.num_workers=0",
        "train.eval_every=1",
        "train.ckpt_every=1",
        "task.variance_samples=4",
        "task.pca_samples=8",
        "task.pca_max_components=4",
        "task.plot_images=2",
        "data.kwargs.val_fraction=0.2",
    ]
    summary = run_recipe(
        recipe,
        config_name="full",
        data=IMAGENET,
        steps=1,
        out=tmp_path / "run",
        quiet=True,
        report=False,
        overrides=overrides,
    )
    assert summary["steps"] == 1 and math.isfinite(summary["value"]) and math.isfinite(summary["baseline"]["value"])
    if recipe == "vqvae_compression":
        assert summary["metrics"]["bits_per_image"] == 32 * 32 * 9  # 128×128 → 32×32 latents of K = 512
    else:  # 256×256 → 32×32 (top) + 64×64 (bottom) latents of K = 512; one level of K = 2435 at 64×64
        assert summary["metrics"]["bits_per_image"] == (32 * 32 + 64 * 64) * 9
        assert summary["metrics"]["baseline/bits_per_image"] == pytest.approx(64 * 64 * math.log2(2435))


def test_ffhq_three_level_config_runs_on_the_ffhq_fixture(tmp_path) -> None:
    overrides = [
        "train.tensorboard=false",
        "train.batch_size=2",
        "train.eval_batch_size=2",
        "train.num_workers=0",
        "train.eval_every=1",
        "train.ckpt_every=1",
        "task.image_size=64",  # the fixture's tiny PNGs, resized to a multiple of the 32× total stride
        "task.variance_samples=4",
        "task.plot_images=1",
        "data.kwargs.val_fraction=0.34",
    ]
    summary = run_recipe(
        "vqvae2_hierarchy",
        config_name="full_ffhq",
        data=FFHQ,
        steps=1,
        out=tmp_path / "run",
        quiet=True,
        report=False,
        overrides=overrides,
    )
    m = summary["metrics"]
    assert summary["steps"] == 1 and math.isfinite(summary["value"]) and "perplexity_level2" in m
    # 64×64 → 2×2 + 4×4 + 8×8 latents of K = 512 (3 levels); one level at 8×8 with K = round(2^(756 / 64)) = 3597
    assert m["bits_per_image"] == (4 + 16 + 64) * 9
    assert m["baseline/bits_per_image"] == pytest.approx(64 * math.log2(3597))
