"""Sample-quality metrics for generative models: FID, Inception Score, precision/recall, on any feature extractor.

* Fréchet distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
  Equilibrium", arXiv 1706.08500): ``‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})``, the
  distance between Gaussians fitted to two feature sets. ``tr((Σ₁Σ₂)^{1/2})`` is computed as the sum of the
  square roots of the eigenvalues of the symmetric PSD matrix ``Σ₁^{1/2} Σ₂ Σ₁^{1/2}`` (which has the same
  spectrum as ``Σ₁Σ₂``), in float64, instead of the non-symmetric ``scipy.linalg.sqrtm`` of the reference
  ``pytorch-fid``; the two agree to rounding (tested).
* Inception Score (Salimans et al. 2016, arXiv 1606.03498): ``exp(E_x KL(p(y|x) ‖ p(y)))``, averaged over
  ``splits`` chunks as the original code does.
* Improved precision and recall (Kynkäänniemi et al. 2019, arXiv 1904.06991): a sample is *precise* if it
  lies inside the union of k-NN balls of the real features, and a real point is *recalled* if it lies inside
  the union of the generated features' k-NN balls (k = 3).

The published numbers (DDPM's FID 3.17, VQ-VAE-2's FID and precision/recall) use the ImageNet Inception-v3
network's pool features, whose weights paperzoo cannot download. Every recipe here computes these metrics on
the features of a classifier it trains itself (``pre_logits`` of a paperzoo model) and says so in its report:
the numbers are comparable between runs of paperzoo, not with the papers'.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = [
    "gaussian_stats",
    "frechet_distance",
    "fid_from_features",
    "inception_score",
    "precision_recall",
    "extract_features",
]


def _check_features(name: str, x: Tensor) -> None:
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"{name}: expected features of shape (N >= 2, D), got {tuple(x.shape)}")


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    _check_features("features", features)
    f = features.double()
    return f.mean(0), torch.cov(f.T).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition (negative round-off → 0)."""
    vals, vecs = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017, eq. 6)."""
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.numel(), mu1.numel()):
        raise ValueError(
            f"expected means (D,) and covariances (D, D) of one size, got {tuple(mu1.shape)}, {tuple(sigma1.shape)}, "
            f"{tuple(mu2.shape)}, {tuple(sigma2.shape)}"
        )
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt)


def fid_from_features(real: Tensor, fake: Tensor) -> float:
    """FID between two feature sets (N, D) and (M, D)."""
    _check_features("real", real)
    _check_features("fake", fake)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"expected features of one width, got {real.shape[1]} and {fake.shape[1]}")
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


def inception_score(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation over ``splits`` chunks of exp(E KL(p(y|x) ‖ p(y))); probs (N, C) rows sum to 1."""
    if probs.dim() != 2 or probs.shape[0] < splits or splits < 1:
        raise ValueError(f"expected class probabilities (N >= splits={splits}, C), got {tuple(probs.shape)}")
    p = probs.double().clamp_min(1e-12)
    scores = []
    for chunk in p.chunk(splits):  # a loop over the (≈10) splits, not over samples
        marginal = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.log() - marginal.log())).sum(1)
        scores.append(kl.mean().exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std(unbiased=False))


def _knn_radii(x: Tensor, k: int) -> Tensor:
    """Distance from each row of x to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 1st "neighbour" is the point itself (distance 0)


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` features against ``real`` ones (Kynkäänniemi et al. 2019)."""
    _check_features("real", real)
    _check_features("fake", fake)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"expected more than k={k} real and fake features (got {len(real)} and {len(fake)})")
    real, fake = real.double(), fake.double()
    cross = torch.cdist(fake, real)  # (M, N)
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    precision = (cross <= real_radii[None, :]).any(1).double().mean()
    inside_fake = cross.transpose(0, 1) <= fake_radii.unsqueeze(0)  # (N, M): real point n inside fake point m's ball
    recall = inside_fake.any(1).double().mean()
    return float(precision), float(recall)


@torch.no_grad()
def extract_features(
    model: nn.Module, images: Tensor, *, batch_size: int = 256, transform: Callable[[Tensor], Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """Pooled pre-logit features and class probabilities of a paperzoo classifier for ``images`` (N, C, H, W).

    ``model`` must have ``forward_features`` and ``forward_head(x, pre_logits=...)`` (every paperzoo
    classifier does); ``transform`` maps a batch to the model's input (e.g. normalisation).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    feats, probs = [], []
    for batch in images.split(batch_size):
        x = batch.to(device)
        x = transform(x) if transform is not None else x
        f = model.forward_features(x)
        pooled = model.forward_head(f, pre_logits=True)
        feats.append(pooled.flatten(1).double().cpu())
        probs.append(model.get_classifier()(pooled).softmax(-1).double().cpu())
    model.train(was_training)
    return torch.cat(feats), torch.cat(probs)
