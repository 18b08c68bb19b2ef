"""Planar Gaussian mixtures: the 2-D toy distributions diffusion and GAN papers use to show mode coverage.

``toy2d`` draws points from an equally weighted mixture of isotropic Gaussians whose centres are known, so
that generated samples can be scored against the true modes (:func:`mode_coverage`): ``"ring"`` puts
``num_modes`` centres on a circle of radius ``radius`` (the classic 8-Gaussians ring), ``"grid"`` puts
``grid_size``² centres on a square grid with spacing ``spacing`` centred at the origin (the 5×5 grid).
Points come from a seeded ``numpy`` generator; the three splits are independent draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from ..registry import register_dataset

__all__ = ["Toy2dSplits", "mixture_centers", "toy2d", "mode_coverage"]


@dataclass
class Toy2dSplits:
    """Train/validation/test ``TensorDataset`` s of points ``x`` float32 (N, 2), and the mixture that made them.

    Attributes:
        centers: the K mode centres (K, 2), float32.
        std: the per-coordinate standard deviation σ of every mode.
        source: a one-line description of the mixture.
    """

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    centers: Tensor
    std: float
    source: str


def mixture_centers(kind: str, *, num_modes: int = 8, radius: float = 2.0, grid_size: int = 5, spacing: float = 1.0):
    """The mode centres (K, 2) of a ``"ring"`` (K = num_modes) or ``"grid"`` (K = grid_size²) mixture."""
    if kind == "ring":
        if num_modes < 1 or radius <= 0:
            raise ValueError(f"a ring needs num_modes >= 1 and radius > 0 (got {num_modes}, {radius})")
        angle = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
        return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()
    if kind == "grid":
        if grid_size < 1 or spacing <= 0:
            raise ValueError(f"a grid needs grid_size >= 1 and spacing > 0 (got {grid_size}, {spacing})")
        axis = (torch.arange(grid_size, dtype=torch.float64) - (grid_size - 1) / 2) * spacing
        gx, gy = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([gx.flatten(), gy.flatten()], dim=1).float()
    raise ValueError(f"kind must be 'ring' or 'grid' (got {kind!r})")


@register_dataset(
    description="seeded 2-D Gaussian mixture: 8 modes on a ring of radius 2 (or a 5x5 grid), sigma 0.05",
    builtin=True,
)
def toy2d(
    *,
    kind: str = "ring",
    num_modes: int = 8,
    radius: float = 2.0,
    grid_size: int = 5,
    spacing: float = 1.0,
    std: float = 0.05,
    num_train: int = 20000,
    num_val: int = 2000,
    num_test: int = 2000,
    seed: int = 0,
) -> Toy2dSplits:
    """Draw train/val/test points from an equally weighted mixture of N(c_k, σ² I) (see the module docstring)."""
    centers = mixture_centers(kind, num_modes=num_modes, radius=radius, grid_size=grid_size, spacing=spacing)
    if std <= 0:
        raise ValueError(f"std must be > 0 (got {std})")
    for name, n in (("num_train", num_train), ("num_val", num_val), ("num_test", num_test)):
        if n <= 0:
            raise ValueError(f"{name} must be > 0 (got {n})")
    rng = np.random.default_rng(seed)
    c = centers.numpy().astype(np.float64)

    def draw(n: int) -> TensorDataset:
        k = rng.integers(0, len(c), size=n)  # equal mixture weights
        x = c[k] + std * rng.standard_normal((n, 2))
        return TensorDataset(torch.from_numpy(x).float())

    shape = f"{len(c)} modes on a ring of radius {radius}" if kind == "ring" else f"{grid_size}x{grid_size} grid"
    source = f"toy2d: {shape}, sigma {std}, seed {seed}"
    return Toy2dSplits(draw(num_train), draw(num_val), draw(num_test), centers, float(std), source)


def mode_coverage(samples: Tensor, centers: Tensor, std: float, *, radius: float = 3.0, min_share: float = 0.25):
    """How well ``samples`` cover an equally weighted mixture's modes: ``(mode_recall, precision, quality)``.

    A sample is *on* mode k when it lies within ``radius`` · σ of c_k (for a 2-D Gaussian 98.9% of its mass
    lies within 3σ). ``precision`` is the fraction of samples on some mode; a mode is *covered* when it gets
    at least ``min_share`` of its expected count N/K of on-mode samples, and ``mode_recall`` is the fraction
    of modes covered; ``quality`` is their harmonic mean (0 when both are 0).

    Args:
        samples: generated points (N, D).
        centers: mode centres (K, D).
        std: the modes' σ.

    Returns:
        ``(mode_recall, precision, quality)`` as floats.
    """
    if samples.dim() != 2 or centers.dim() != 2 or samples.shape[1] != centers.shape[1]:
        shapes = f"{tuple(samples.shape)}, {tuple(centers.shape)}"
        raise ValueError(f"expected samples (N, D) and centers (K, D), got {shapes}")
    if len(samples) == 0:
        raise ValueError("expected at least one sample")
    dist = torch.cdist(samples.float(), centers.to(samples.device).float())  # (N, K)
    nearest, k = dist.min(dim=1)
    on_mode = nearest <= radius * std  # the modes are far apart, so a sample is near at most one of them
    counts = torch.bincount(k[on_mode], minlength=len(centers))  # (K,)
    recall = (counts >= min_share * len(samples) / len(centers)).float().mean().item()
    precision = on_mode.float().mean().item()
    quality = 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)
    return recall, precision, quality
