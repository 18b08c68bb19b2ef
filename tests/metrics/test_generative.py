"""FID, Inception Score and precision/recall against scipy's sqrtm, closed forms and naive loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from paperzoo.metrics.generative import (
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    inception_score,
    precision_recall,
)


def _random_cov(d: int, gen: torch.Generator) -> torch.Tensor:
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_frechet_distance_matches_the_scipy_sqrtm_formula() -> None:
    gen = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.randn(6, generator=gen, dtype=torch.float64), torch.randn(6, generator=gen, dtype=torch.float64)
    s1, s2 = _random_cov(6, gen), _random_cov(6, gen)
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real  # pytorch-fid's computation
    ref = float(((mu1 - mu2) ** 2).sum()) + float(np.trace(s1.numpy() + s2.numpy() - 2 * covmean))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)


def test_frechet_distance_closed_forms() -> None:
    gen = torch.Generator().manual_seed(1)
    s = _random_cov(4, gen)
    mu = torch.randn(4, generator=gen, dtype=torch.float64)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)
    # Isotropic Gaussians: ‖Δμ‖² + d (σ₁ − σ₂)².
    eye = torch.eye(4, dtype=torch.float64)
    assert frechet_distance(mu, 4 * eye, mu + 1, 9 * eye) == pytest.approx(4 * 1 + 4 * (2 - 3) ** 2)


def test_fid_from_features_uses_the_fitted_gaussians() -> None:
    gen = torch.Generator().manual_seed(2)
    a, b = torch.randn(500, 3, generator=gen), torch.randn(400, 3, generator=gen) * 2 + 1
    ma, sa = gaussian_stats(a)
    torch.testing.assert_close(sa, torch.from_numpy(np.cov(a.double().numpy(), rowvar=False)))
    assert fid_from_features(a, b) == pytest.approx(frechet_distance(ma, sa, *gaussian_stats(b)))
    with pytest.raises(ValueError, match="expected"):
        fid_from_features(a, b[:, :2])


def test_inception_score_matches_a_loop_and_its_bounds() -> None:
    gen = torch.Generator().manual_seed(3)
    probs = torch.randn(100, 5, generator=gen).softmax(-1)
    scores = []
    for chunk in np.array_split(probs.double().numpy(), 4):
        marginal = chunk.mean(0)
        kls = [sum(p[c] * math.log(p[c] / marginal[c]) for c in range(5)) for p in chunk]
        scores.append(math.exp(sum(kls) / len(kls)))
    mean, std = inception_score(probs, splits=4)
    assert mean == pytest.approx(np.mean(scores)) and std == pytest.approx(np.std(scores))
    one_hot = torch.eye(5).repeat(20, 1)  # confident and uniform over classes: IS = number of classes
    assert inception_score(one_hot, splits=1)[0] == pytest.approx(5.0, rel=1e-6)
    assert inception_score(torch.full((10, 5), 0.2), splits=1)[0] == pytest.approx(1.0)


def test_precision_recall_matches_a_naive_loop() -> None:
    gen = torch.Generator().manual_seed(4)
    real, fake = torch.randn(40, 2, generator=gen), torch.randn(30, 2, generator=gen) * 0.5 + 0.8
    k = 3

    def radius(points, i):
        d = sorted(float((points[i] - points[j]).norm()) for j in range(len(points)) if j != i)
        return d[k - 1]

    def inside(q, points):
        return any(float((q - points[j]).norm()) <= radius(points, j) for j in range(len(points)))

    precision = np.mean([inside(f, real) for f in fake])
    recall = np.mean([inside(r, fake) for r in real])
    assert precision_recall(real, fake, k=k) == pytest.approx((precision, recall))
    assert precision_recall(real, real.clone(), k=k) == (1.0, 1.0)
