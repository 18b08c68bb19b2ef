"""Stage 2 of VQ-VAE / VQ-VAE-2: class-conditional priors over code maps, CAS and rejection sampling; the VQ-VAE
paper's second VQ-VAE that compresses an image to three discrete latents; action-conditioned video in latent space.

Papers: Razavi, van den Oord & Vinyals, "Generating Diverse High-Fidelity Images with VQ-VAE-2", NeurIPS 2019,
arXiv:1906.00446 (§3.2 priors, §3.3 classifier-based rejection sampling, §5.2 Classification Accuracy Score);
van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning", NeurIPS 2017, arXiv:1711.00937
(§4.2, last paragraph: a VQ-VAE trained on the first VQ-VAE's latents, 3 latents of K = 512, 27 bits; §4.4
video). CAS:
Ravuri & Vinyals 2019, arXiv:1905.10887. Reference implementation of the VQ-VAE-2 pipeline:
``rosinality/vq-vae-2-pytorch`` (``train_vqvae.py`` → ``extract_code.py`` → ``train_pixelsnail.py`` →
``sample.py``); no public code exists for CAS on VQ-VAE-2 or for the 3-latent model.

Recipes:

``vqvae2_class_prior`` (metric ``cas``, higher is better). Quick: scikit-learn's digits at 16×16 (one channel,
[-1, 1]). Stage 1, in ``setup``: a two-level VQ-VAE-2 (bottom 8×8, top 4×4 codes, K = 32, EMA codebooks) trained
by Adam on MSE / Var(x) + commitment. The training, validation and test images are encoded once into code maps.
Stage 2, the model the trainer trains: :class:`CodePrior`, a PixelSNAIL top prior conditioned on the class and a
PixelSNAIL bottom prior conditioned on the class and the top codes (the rosinality structure at toy width),
trained jointly on their NLL in bits per code. Evaluation samples ``samples_per_class`` code maps per class (top,
then bottom given top, raster order), decodes them with stage 1 and reports:

- ``cas``: the Classification Accuracy Score, the real-test accuracy of a classifier (``task.classifier``)
  trained only on the decoded samples with the labels they were conditioned on.
- ``bits_per_dim`` (and per level): the prior's NLL of the split's codes in bits per code, against the uniform
  prior's log₂ K; in ``finish`` the stage-1 reconstruction MSE and the perplexity of each level's codes.
- in ``finish``: classifier-based rejection sampling (VQ-VAE-2 §3.3). A classifier trained on real images scores
  every sample by p(intended class | sample); the top 100% / 50% / 10% of each class are kept, and the table and
  plot give the kept samples' mean score, FID and precision/recall on that classifier's features against the
  real test images (not Inception-v3: not comparable with the paper's numbers); a grid with one row per class.

Baseline (the claim: CAS far above chance): chance, 1/K. Also measured and reported, not used as the baseline:
the real-data accuracy of the same classifier (the upper bound) and the CAS of per-class Gaussian samples (mean
and full covariance of each class's training images). On digits that Gaussian is the stronger baseline, and it
beats the quick priors: a classifier trained on its samples is close to quadratic discriminant analysis, which
separates digits well (seed 0, quick config, 58 s on one thread: Gaussian CAS 0.971, ours 0.786, real data
0.991, chance 0.1). The recipe reports it beside ours rather than claiming to beat it. Rejection sampling in the
same run, keeping 100% / 50% / 10%: mean p(intended class) 0.48 / 0.83 / 0.996, FID 7.7 / 5.1 / 1.9, precision
0.65 / 0.66 / 0.72, recall 0.86 / 0.87 / 0.81; prior NLL 1.42 bits per code against the uniform 5 bits.

Full config: ImageNet 256×256 from an ``image_folder`` (shorter side to 256, centre crop); ``vqvae2``
(rosinality's 1,388,867-parameter stage 1; Adam 3e-4, batch 128 as its ``train_vqvae.py``), priors
``pixelsnail_top`` and ``pixelsnail_bottom`` (the reference's sizes; Adam 3e-4, batch 32 as its
``train_pixelsnail.py``) made class-conditional on the dataset's classes, 50 samples per class, CAS with a
ResNet-50. The paper's CAS trains the ResNet-50 on as many samples as ImageNet's 1.28M training images
(``task.samples_per_class = 1281``, at a great sampling cost). The paper's number is VQ-VAE-2's top-1 CAS of
54.83% (Table 2; real data 73.09%, BigGAN-deep 42.65%).

``vqvae_3_latents`` (metric ``recon_acc``, higher is better). Quick: digits at 16×16. Stage 1, in ``setup``: a
VQ-VAE to a 4×4 map of K = 64 codes (96 bits). Stage 2, trained by the trainer: :class:`LatentVQVAE`, whose input
is stage 1's code map (embedded), whose bottleneck is 3 discrete latents of K = 512 (3 · log₂ 512 = 27 bits per
image), and whose decoder predicts stage 1's codes (a categorical likelihood, cross-entropy); it also trains on
the codes of ``task.shifted_copies`` randomly translated copies of each training image (±1 pixel), since 27 bits
can tell ~1,000 training images apart and the code otherwise generalises poorly, and it restarts dead codes of
its codebook (``restart_threshold``). An image is reconstructed through both stages: image → stage-1 codes →
3 latents → predicted distribution of the stage-1 codes → its mean codebook vector at each position
(``task.decode = "mean"``; ``"argmax"`` decodes the most likely codes, also reported) → stage-1 decoder. The metric
is the accuracy, on those reconstructions of the test images, of a classifier trained on real images (the paper:
the reconstructions keep the global structure but not the details). Baseline: the same classifier on
reconstructions from 27 bits of PCA: the top principal components of the training images, each quantised by a
scalar quantiser with 2^b equal-probability bins (reconstruction at each bin's mean), over allocations
m·b = 27 (27×1, 9×3, 3×9 bits), the one with the best validation accuracy. Also reported: MSE through both
stages, through stage 1 alone and of the PCA code, and the stage-1 code accuracy. Measured (seed 0, quick
config, one thread): classifier accuracy 0.909 on the 27-bit two-stage reconstructions against 0.898 for 27
bits of PCA (9 components × 3 bits), 0.967 through stage 1 alone (96 bits) and 0.989 on the real images; the
win is narrow and PCA keeps the lower MSE (0.041 against 0.044): digits at 16×16 are close to a linear
subspace, unlike the paper's ImageNet. Without the shifted copies, the restarts and the mean decoding the two-stage
code scored 0.83-0.87, below PCA. Full config: ImageNet
128×128, ``vqvae_imagenet`` (32×32 latents, K = 512) then 3 latents of K = 512.

``vqvae_video`` (metric ``gen_acc``, higher is better; VQ-VAE §4.4). Quick: ``moving_shapes`` clips of 16 frames
at 16×16, where the label is the motion. Stage 1: a per-frame VQ-VAE (4×4 codes, K = 64). Stage 2: a
class-(action-)conditional PixelSNAIL over each clip's code maps stacked in time, a (16·4)×4 map whose raster
order is frame after frame. Given the codes of the first 6 real frames and the action, it samples the codes of
the next 10 frames in latent space only; the per-frame decoder decodes them deterministically. The metric is the
accuracy of a classifier trained on the same 10 frames of real clips (frames stacked as channels) on the
generated frames; baseline: the last context frame repeated (no motion); also reported: the real future frames
and their stage-1 reconstructions (upper bounds). The paper conditions on an agent's actions in DeepMind Lab,
whose data paperzoo cannot read; the ``full`` config is the same built-in data at 32×32 with K = 512.
Measured, and NOT yet a convincing success (seed 0, quick config, 100 test clips): the generated futures score
0.16 against 0.08 for the repeated last frame and 0.10 for chance, while the classifier scores 0.50 on the real
future frames and only 0.20 on their stage-1 reconstructions: 4×4 codes of a 16×16 frame lose most of the
shape's motion (reconstruction MSE 0.11-0.12). With 8×8 codes the reconstructions keep more of it (0.43), but
sampling 10 frames of 64 codes position by position does not fit a quick CPU run (this one already takes about
5 minutes on a loaded 2-core machine, most of it sampling).

Two stages and one trainer: the trainer trains one model per run, so each recipe trains stage 1 inside
``setup`` and hands stage 2 to the trainer, as :mod:`.ddpm_images` trains its feature classifier. Stage 1 and
the real-data classifier are trained from ``seed`` with their own ``torch.Generator`` for batch order and leave
the global RNG as they found it, so they are deterministic given the seed, the data and the thread count:
``--resume auto`` re-runs ``setup``, gets the same stage 1 and the same codes, and continues stage 2 from its
checkpoint exactly. Stage 1 is also held (frozen) inside the stage-2 model, so ``model.safetensors`` and the
checkpoints carry the whole generator (its decoder decodes the prior's samples).

Deviations: the priors are PixelSNAIL at toy sizes in the quick runs; the quick VQ-VAE-2 uses β = 0.1 and
zero-debiased EMA codebooks, because at β = 0.25 the 4×4 top level of 16×16 digits collapsed to a single code
(perplexity 1.0 for seeds 0 and 1: the 8×8 bottom level alone reconstructs them); ``task.temperature`` is 1;
the per-class Gaussian, the PCA baseline and the shifted copies are ours. Every classifier is trained with
:func:`paperzoo.recipes.ddpm_images.train_feature_classifier` (Adam, batch 64, on the CPU, which is slow for
the full configs' ResNet-50).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ..data.images import ImageSplits
from ..data.transforms import Compose, Normalize, ToFloat, imagenet_eval_transform
from ..engine.config import ConfigError, extend_config
from ..engine.logging import progress
from ..engine.tasks import StepOutput, Task
from ..metrics.cas import (
    TensorPairs,
    accuracy_on,
    classification_accuracy_score,
    intended_class_scores,
    predict,
    top_fraction,
)
from ..metrics.generative import extract_features, fid_from_features, precision_recall
from ..models.generative.pixelcnn import draw
from ..models.generative.vqvae import VAN_DEN_OORD_2017, VectorQuantizerEMA, perplexity
from ..models.generative.vqvae2 import RAZAVI_2019, VQVAE2
from ..registry import create_dataset, create_model, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe
from .ddpm_images import gaussian_image_samples, train_feature_classifier

__all__ = [
    "CodePrior",
    "CodeDataset",
    "ClassPriorTask",
    "VQVAE2ClassPrior",
    "LatentVQVAE",
    "LatentVQVAEOutput",
    "LatentCompressionTask",
    "VQVAE3Latents",
    "load_unit_images",
    "train_stage1",
    "encode_images",
    "decode_codes",
    "pca_quantized_reconstruction",
]

# ---------------------------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------------------------

_CLASSIFIER_QUICK = {"classifier": "resnet_cifar_tiny", "classifier_steps": 300, "classifier_lr": 3e-3}

PRIOR_QUICK = extend_config(
    BASE_CONFIG,
    {
        # the model the trainer trains: the top prior (num_codes, shape and num_classes come from stage 1 and data)
        "model": {
            "name": "pixelsnail_top_tiny",
            "kwargs": {"channels": 16, "res_channels": 16, "num_blocks": 2, "res_blocks": 1, "dropout": 0.0},
        },
        # the bottom prior, conditioned on the top codes ("" for a one-level stage 1)
        "bottom": {
            "name": "pixelsnail_bottom_tiny",
            "kwargs": {"channels": 16, "res_channels": 16, "cond_channels": 16, "dropout": 0.0},
        },
        "stage1": {
            "name": "vqvae2_tiny",
            "kwargs": {
                "strides": [2, 2],
                "channels": 32,
                "residual_channels": 16,
                "embedding_dim": 16,
                "num_embeddings": 32,
                "commitment_cost": 0.1,  # at the paper's 0.25 the 4×4 top level collapsed to one code (see above)
                "debias": True,
            },
            "steps": 300,
            "lr": 2e-3,
            "batch_size": 64,
        },
        "data": {"name": "digits_images", "path": None, "kwargs": {"image_size": 16, "in_chans": 1}},
        "optim": {"name": "adam", "lr": 3e-3, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "warmup_steps": 20, "min_lr_ratio": 0.1},
        "train": {
            "steps": 500,
            "batch_size": 64,
            "eval_batch_size": 512,
            "eval_every": 500,
            "ckpt_every": 250,
            "log_every": 50,
            "grad_clip": 1.0,
        },
        "task": {
            **_CLASSIFIER_QUICK,
            "cas_steps": 300,
            "samples_per_class": 100,
            "sample_seed": 1234,
            "temperature": 1.0,
            "keep_fractions": [1.0, 0.5, 0.1],
            "gaussian_baseline": True,
        },
    },
)

# ImageNet 256×256 (VQ-VAE-2 §4-5; the reference's train_vqvae.py / train_pixelsnail.py settings).
PRIOR_FULL = extend_config(
    PRIOR_QUICK,
    {
        "model": {"name": "pixelsnail_top", "kwargs": {}},
        "bottom": {"name": "pixelsnail_bottom", "kwargs": {}},
        "stage1": {"name": "vqvae2", "kwargs": {}, "steps": 1_000_000, "lr": 3e-4, "batch_size": 128},
        "data": {"name": "image_folder", "kwargs": {"image_size": 256, "val_fraction": 0.01}},
        "optim": {"name": "adam", "lr": 3e-4, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 0, "min_lr_ratio": 0.0},
        "train": {
            "steps": 1_000_000,
            "batch_size": 32,
            "eval_batch_size": 64,
            "eval_every": 1_000_000,
            "ckpt_every": 10_000,
            "log_every": 100,
            "grad_clip": 0.0,
            "num_workers": 4,
        },
        "task": {
            "classifier": "resnet50",
            "classifier_steps": 500_000,
            "classifier_lr": 1e-3,
            "cas_steps": 500_000,
            "samples_per_class": 50,
            "gaussian_baseline": False,
        },
    },
)

LATENT_QUICK = extend_config(
    BASE_CONFIG,
    {
        "model": {
            "name": "",  # the stage-2 LatentVQVAE is built by the recipe from model.kwargs
            "kwargs": {
                "channels": 64,
                "embedding_dim": 32,
                "num_latents": 3,
                "num_embeddings": 512,
                "restart_threshold": 1.0,  # dead-code restarts: 180 of the 512 codes in use instead of ~100
            },
        },
        "stage1": {
            "name": "vqvae_tiny",
            "kwargs": {"hidden_channels": 32, "residual_channels": 16, "embedding_dim": 16, "num_embeddings": 64},
            "steps": 300,
            "lr": 2e-3,
            "batch_size": 64,
        },
        "data": {"name": "digits_images", "path": None, "kwargs": {"image_size": 16, "in_chans": 1}},
        "optim": {"name": "adam", "lr": 2e-3, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "warmup_steps": 20, "min_lr_ratio": 0.05},
        "train": {
            "steps": 600,
            "batch_size": 64,
            "eval_batch_size": 512,
            "eval_every": 600,
            "ckpt_every": 300,
            "log_every": 50,
        },
        "task": {
            **_CLASSIFIER_QUICK,
            "pca_allocations": [[27, 1], [9, 3], [3, 9]],
            "shifted_copies": 4,
            "decode": "mean",
        },
    },
)

LATENT_FULL = extend_config(
    LATENT_QUICK,
    {
        "model": {
            "name": "",
            "kwargs": {"channels": 256, "embedding_dim": 64},  # 3 latents of K = 512: the defaults (the paper)
        },
        "stage1": {"name": "vqvae_imagenet", "kwargs": {}, "steps": 250_000, "lr": 2e-4, "batch_size": 128},
        "data": {"name": "image_folder", "kwargs": {"image_size": 128, "val_fraction": 0.01}},
        "optim": {"name": "adam", "lr": 2e-4, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 0, "min_lr_ratio": 0.0},
        "train": {
            "steps": 250_000,
            "batch_size": 128,
            "eval_batch_size": 128,
            "eval_every": 250_000,
            "ckpt_every": 10_000,
            "log_every": 100,
            "num_workers": 4,
        },
        "task": {"classifier": "resnet50", "classifier_steps": 500_000, "classifier_lr": 1e-3},
    },
)


# ---------------------------------------------------------------------------------------------------------------
# Shared stage-1 helpers: data in [-1, 1], training, encoding, decoding
# ---------------------------------------------------------------------------------------------------------------


def load_unit_images(config: dict[str, Any], recipe: str) -> ImageSplits:
    """The config's image dataset with pixels scaled to [-1, 1] (VQ-VAE's range); no augmentation.

    Folder datasets (ImageNet) are resized to ``image_size`` on the shorter side and centre-cropped, as the
    reference's ``train_vqvae.py`` does.
    """
    data_cfg = config["data"]
    kwargs = dict(data_cfg.get("kwargs") or {})
    if data_cfg.get("path") is not None:
        kwargs["path"] = data_cfg["path"]
    if data_cfg["name"] == "image_folder":
        size = int(kwargs.get("image_size", 256))
        tf = imagenet_eval_transform(size, size, mean=(0.5,) * 3, std=(0.5,) * 3)
        kwargs.update(train_transform=tf, eval_transform=tf)
    splits = create_dataset(data_cfg["name"], seed=int(config["seed"]), **kwargs)
    if not isinstance(splits, ImageSplits):
        raise ConfigError(f"recipe {recipe!r} needs an image dataset (got data.name={data_cfg['name']!r})")
    if data_cfg["name"] != "image_folder":
        half = (0.5,) * splits.in_chans
        unit = Compose([ToFloat(), Normalize(half, half)])
        splits = splits.with_transforms(train=unit, eval=unit)
    return splits


def _batch(dataset: Any, idx: Tensor) -> tuple[Tensor, Tensor]:
    """Images and labels of ``idx``: one vectorised read for in-memory sets, item by item for image folders."""
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(idx)
    items = [dataset[int(i)] for i in idx]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def _chunks(n: int, size: int) -> Iterable[Tensor]:
    for start in range(0, n, size):
        yield torch.arange(start, min(start + size, n))


def _all(dataset: Any, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Every (image, label) of a dataset as two tensors."""
    parts = [_batch(dataset, idx) for idx in _chunks(len(dataset), batch_size)]
    return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])


def _levels(stage1: nn.Module) -> int:
    return stage1.num_levels if isinstance(stage1, VQVAE2) else 1


def _quantizers(stage1: nn.Module) -> list[nn.Module]:
    """The codebooks, top first."""
    return list(stage1.quantizers)[::-1] if isinstance(stage1, VQVAE2) else [stage1.quantizer]


def latent_shapes(stage1: nn.Module, image_size: int) -> list[tuple[int, int]]:
    """(h, w) of each code map, top first."""
    if isinstance(stage1, VQVAE2):
        return stage1.latent_sizes(image_size, image_size)
    side = image_size // stage1.stride
    return [(side, side)]


def train_stage1(
    model: nn.Module, dataset: Any, *, steps: int, lr: float, batch_size: int, seed: int, device: torch.device
) -> nn.Module:
    """Train a VQ-VAE / VQ-VAE-2 with Adam on MSE / Var(x) + its quantiser loss (the Sonnet/rosinality objective).

    Batches are drawn with a ``torch.Generator`` seeded from ``seed`` and the global RNG is restored afterwards,
    so the result is a function of the seed and the data (what ``--resume auto`` relies on). Returns the model in
    eval mode with gradients off.
    """
    if steps < 1 or batch_size < 1:
        raise ConfigError(f"stage1.steps and stage1.batch_size must be >= 1 (got {steps}, {batch_size})")
    model.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    state = torch.get_rng_state()
    sample, _ = _batch(dataset, torch.randperm(len(dataset), generator=gen)[: min(len(dataset), 1024)])
    variance = float(sample.var())  # Sonnet divides the MSE by the training data's variance
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in progress(range(steps), desc="stage 1 (VQ-VAE)"):
        x, _ = _batch(dataset, torch.randint(len(dataset), (batch_size,), generator=gen))
        loss = model.loss(x.to(device), data_variance=variance)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.set_rng_state(state)
    return model.eval().requires_grad_(False)


@torch.no_grad()
def encode_images(stage1: nn.Module, images: Tensor, *, batch_size: int = 512) -> list[Tensor]:
    """Code maps of (N, C, H, W) images, top first: [(N, h_top, w_top), ...], long, on the CPU."""
    device = next(stage1.parameters()).device
    parts = []
    for x in images.split(batch_size):
        codes = stage1.encode(x.to(device))
        parts.append([c.cpu() for c in (codes if isinstance(codes, list) else [codes])])
    return [torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]


@torch.no_grad()
def decode_codes(stage1: nn.Module, codes: Sequence[Tensor], *, batch_size: int = 512) -> Tensor:
    """Images (N, C, H, W) in [-1, 1] from code maps (top first), on the CPU."""
    device = next(stage1.parameters()).device
    out = []
    for start in range(0, len(codes[0]), batch_size):
        part = [c[start : start + batch_size].to(device) for c in codes]
        x = stage1.decode_codes(part) if isinstance(stage1, VQVAE2) else stage1.decode_codes(part[0])
        out.append(x.clamp(-1, 1).cpu())
    return torch.cat(out)


@torch.no_grad()
def stage1_report(stage1: nn.Module, images: Tensor, *, batch_size: int = 512) -> dict[str, float]:
    """Reconstruction MSE of ``images`` through stage 1 and the perplexity of each level's code usage (top first)."""
    codes = encode_images(stage1, images, batch_size=batch_size)
    recon = decode_codes(stage1, codes, batch_size=batch_size)
    out = {"stage1/recon_mse": float(F.mse_loss(recon, images))}
    for level, (c, q) in enumerate(zip(codes, _quantizers(stage1))):
        counts = torch.bincount(c.flatten(), minlength=q.num_embeddings)
        out[f"stage1/perplexity_{level}"] = float(perplexity(counts))
    return out


def _build_stage1(config: dict[str, Any], splits: ImageSplits) -> nn.Module:
    cfg = config["stage1"]
    kwargs = dict(cfg["kwargs"])
    kwargs["in_channels"] = splits.in_chans
    if "strides" in kwargs:
        kwargs["strides"] = tuple(kwargs["strides"])
    model = create_model(cfg["name"], **kwargs)
    if getattr(model, "latents_per_position", 1) != 1:
        raise ConfigError("stage1: a prior over codes needs one latent per position (latents_per_position=1)")
    if splits.image_size % model.stride:
        raise ConfigError(f"stage1: the image size {splits.image_size} is not divisible by the stride {model.stride}")
    return model


def _fit_stage1(config: dict[str, Any], splits: ImageSplits, device: torch.device) -> nn.Module:
    cfg = config["stage1"]
    return train_stage1(
        _build_stage1(config, splits),
        splits.train,
        steps=int(cfg["steps"]),
        lr=float(cfg["lr"]),
        batch_size=int(cfg["batch_size"]),
        seed=int(config["seed"]),
        device=device,
    )


class _Batched:
    """``get_batch`` for a dataset that only has ``__getitem__`` (an image folder)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def get_batch(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        return _batch(self.dataset, idx)


def _classifier(
    config: dict[str, Any], train: Any, splits: ImageSplits, seed: int, *, on_samples: bool = False
) -> nn.Module:
    """A classifier (``task.classifier``) trained on ``train``: real images (``task.classifier_steps`` batches) or
    samples for CAS (``task.cas_steps``)."""
    task = config["task"]
    if not hasattr(train, "get_batch"):  # image folders are read item by item
        train = _Batched(train)
    with torch.enable_grad():  # also when called from an evaluation, which runs under no_grad
        return train_feature_classifier(
            task["classifier"],
            train,
            num_classes=splits.num_classes,
            in_chans=splits.in_chans,
            steps=int(task["cas_steps" if on_samples else "classifier_steps"]),
            lr=float(task["classifier_lr"]),
            seed=seed,
        )


class _Frozen(nn.Module):
    """Holds stage 1 inside the stage-2 model without training it: its parameters are frozen, and it stays in
    eval mode (no EMA codebook updates) whatever mode the trainer sets."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> _Frozen:
        super().train(False)
        return self


# ---------------------------------------------------------------------------------------------------------------
# VQ-VAE-2 class-conditional priors, CAS and rejection sampling
# ---------------------------------------------------------------------------------------------------------------


class CodeDataset:
    """Code maps (top first) and labels, and optionally the images they encode, read as dict batches.

    ``get_batch(idx)`` → ``{"codes": [top (B, h, w), ...], "labels": (B,), "images": (B, C, H, W)}`` (images only
    when given: the evaluation splits need them for CAS, the training split does not).
    """

    def __init__(self, codes: Sequence[Tensor], labels: Tensor, images: Any = None) -> None:
        if any(len(c) != len(labels) for c in codes):
            raise ValueError(f"expected one code map per label, got {[len(c) for c in codes]} and {len(labels)}")
        self.codes, self.labels, self.images = list(codes), labels.long(), images

    def __len__(self) -> int:
        return len(self.labels)

    def get_batch(self, indices: Sequence[int] | Tensor) -> dict[str, Any]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        out: dict[str, Any] = {"codes": [c[idx] for c in self.codes], "labels": self.labels[idx]}
        if self.images is not None:
            out["images"] = self.images[idx] if isinstance(self.images, Tensor) else _batch(self.images, idx)[0]
        return out


class CodePrior(nn.Module):
    """The stage-2 model: one autoregressive prior per level of code maps, top first, and the frozen stage 1.

    p(z_top, ..., z_bottom | y) = p(z_top | y) · ∏ p(z_level | z_above, y) (VQ-VAE-2 §3.2, Fig. 2b): the top
    prior is class-conditional (:class:`~paperzoo.models.generative.pixelsnail.PixelSNAIL` or
    :class:`~paperzoo.models.generative.pixelcnn.GatedPixelCNN`), every lower prior is also conditioned on the
    codes of the level directly above (a PixelSNAIL conditioning stack).

    Args:
        priors: the priors, top first.
        stage1: the trained VQ-VAE / VQ-VAE-2 that decodes the sampled codes (kept frozen).
    """

    def __init__(self, priors: Sequence[nn.Module], stage1: nn.Module) -> None:
        super().__init__()
        if len(priors) != _levels(stage1):
            raise ValueError(f"expected one prior per stage-1 level ({_levels(stage1)}), got {len(priors)}")
        self.priors = nn.ModuleList(priors)
        self.stage1 = _Frozen(stage1)

    def _conditions(self, codes: Sequence[Tensor]) -> list[Tensor | None]:
        return [None] + list(codes[:-1])

    def level_nll(self, codes: Sequence[Tensor], labels: Tensor) -> list[Tensor]:
        """Per level, the NLL of each example's codes in bits per code: [(B,), ...], top first."""
        return [
            prior.nll(c, labels, cond, reduction="none")
            for prior, c, cond in zip(self.priors, codes, self._conditions(codes))
        ]

    def nll(self, codes: Sequence[Tensor], labels: Tensor) -> Tensor:
        """Bits per code over every code of every level (levels weighted by their number of codes), (B,)."""
        sizes = [c[0].numel() for c in codes]
        per_level = self.level_nll(codes, labels)
        return sum(n * bpd for n, bpd in zip(sizes, per_level)) / sum(sizes)

    def forward(self, batch: dict[str, Any]) -> Tensor:
        """Per level, the batch's mean NLL in bits per code, (L,) top first, for ``{"codes": [...], "labels": ...}``.

        The training loss goes through ``forward`` so that DistributedDataParallel sees the call.
        """
        return torch.stack([bpd.mean() for bpd in self.level_nll(batch["codes"], batch["labels"])])

    def logits(self, codes: Sequence[Tensor], labels: Tensor) -> list[Tensor]:
        """Logits (B, K, h, w) of every level, top first."""
        return [prior(c, labels, cond) for prior, c, cond in zip(self.priors, codes, self._conditions(codes))]

    @torch.no_grad()
    def sample(
        self, labels: Tensor, *, generator: torch.Generator | None = None, temperature: float = 1.0
    ) -> list[Tensor]:
        """Code maps for ``labels`` (B,), top first: the top level first, each lower level given the one above."""
        codes: list[Tensor] = []
        for prior in self.priors:
            shape = (len(labels), *prior.shape)
            codes.append(
                prior.sample(shape, labels, codes[-1] if codes else None, generator=generator, temperature=temperature)
            )
        return codes

    def decode(self, codes: Sequence[Tensor], *, batch_size: int = 512) -> Tensor:
        return decode_codes(self.stage1.module, codes, batch_size=batch_size)


def _fingerprint(model: nn.Module) -> tuple[float, ...]:
    return tuple(float(p.detach().double().sum()) for p in model.parameters() if p.requires_grad)


class ClassPriorTask(Task):
    """Trains the priors on the NLL of the codes; evaluates bits/dim and the CAS of decoded class samples.

    ``evaluate`` reports, on a split of :class:`CodeDataset` batches: ``bits_per_dim`` (all codes) and
    ``bits_per_dim/level{i}`` (top first), and ``cas``, the accuracy on the split's real images of a classifier
    trained on ``samples_per_class`` decoded samples per class. Samples and that classifier are cached per set of
    weights, so the validation and test evaluations of the final weights sample and train once.

    Args:
        fit: trains a classifier on a :class:`~paperzoo.metrics.cas.TensorPairs` of samples.
        num_classes: K.
        samples_per_class: samples generated per class.
        sample_seed: seed of the sampling generator.
        temperature: the priors' softmax temperature.
        sample_batch: samples drawn at once.
    """

    def __init__(
        self,
        fit: Any,
        *,
        num_classes: int,
        samples_per_class: int,
        sample_seed: int = 1234,
        temperature: float = 1.0,
        sample_batch: int = 512,
    ) -> None:
        if samples_per_class < 1 or num_classes < 2:
            raise ValueError(
                f"need samples_per_class >= 1 and num_classes >= 2 (got {samples_per_class}, {num_classes})"
            )
        self.fit, self.num_classes = fit, num_classes
        self.samples_per_class, self.sample_seed = samples_per_class, sample_seed
        self.temperature, self.sample_batch = temperature, sample_batch
        self._cache: dict[str, Any] = {}

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        per_level = model(batch)  # (L,) bits per code, top first
        sizes = torch.tensor([c[0].numel() for c in batch["codes"]], dtype=per_level.dtype, device=per_level.device)
        loss = (sizes * per_level).sum() / sizes.sum()  # bits per code over every code of every level
        return StepOutput(loss, {f"bpd{i}": float(b) for i, b in enumerate(per_level.detach())})

    def sample_labels(self) -> Tensor:
        return torch.arange(self.num_classes).repeat_interleave(self.samples_per_class)

    @torch.no_grad()
    def samples(self, model: CodePrior) -> tuple[Tensor, Tensor]:
        """Decoded samples (N, C, H, W) in [-1, 1] and their labels, ``samples_per_class`` per class (cached)."""
        key = _fingerprint(model)
        if self._cache.get("key") != key:
            device = next(model.parameters()).device
            gen = torch.Generator(device=device).manual_seed(self.sample_seed)
            labels = self.sample_labels()
            images = []
            for idx in progress(list(labels.split(self.sample_batch)), desc="sampling priors"):
                codes = model.sample(idx.to(device), generator=gen, temperature=self.temperature)
                images.append(model.decode([c.cpu() for c in codes], batch_size=self.sample_batch))
            self._cache = {"key": key, "samples": (torch.cat(images), labels)}
        return self._cache["samples"]

    def cas_classifier(self, model: CodePrior) -> nn.Module:
        """The classifier trained only on the samples (cached with them)."""
        x, y = self.samples(model)
        if "classifier" not in self._cache:
            self._cache["classifier"] = self.fit(TensorPairs(x, y))
        return self._cache["classifier"]

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Any]]) -> dict[str, float]:
        sums: list[float] = []
        total, images, labels = 0, [], []
        for batch in batches:
            per_level = model.level_nll(batch["codes"], batch["labels"])
            sums = [s + float(b.sum()) for s, b in zip(sums or [0.0] * len(per_level), per_level)]
            total += len(batch["labels"])
            images.append(batch["images"].cpu())
            labels.append(batch["labels"].cpu())
        if total == 0:
            return {}
        bpd = [s / total for s in sums]
        sizes = [p.shape[0] * p.shape[1] for p in model.priors]
        out = {"bits_per_dim": sum(n * b for n, b in zip(sizes, bpd)) / sum(sizes)}
        out.update({f"bits_per_dim/level{i}": b for i, b in enumerate(bpd)})
        out["cas"] = accuracy_on(self.cas_classifier(model), torch.cat(images), torch.cat(labels))
        return out


class VQVAE2ClassPrior(Recipe):
    """VQ-VAE-2 stage 2: class-conditional priors over the codes, judged by the CAS of their decoded samples."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        splits = load_unit_images(config, self.name)
        seed, task_cfg = int(config["seed"]), config["task"]
        # Stage 1 and the real-data classifier: trained here, deterministic from the seed (see the module docstring).
        device = torch.device("cpu")
        stage1 = _fit_stage1(config, splits, device)
        real_classifier = _classifier(config, splits.train, splits, seed)
        priors = self._priors(config, stage1, splits)
        model = CodePrior(priors, stage1)
        train_codes = CodeDataset(*self._encode(stage1, splits.train))
        val = CodeDataset(*self._encode(stage1, splits.val), images=splits.val)
        test = CodeDataset(*self._encode(stage1, splits.test), images=splits.test)
        task = ClassPriorTask(
            lambda data: _classifier(config, data, splits, seed + 1, on_samples=True),
            num_classes=splits.num_classes,
            samples_per_class=int(task_cfg["samples_per_class"]),
            sample_seed=int(task_cfg["sample_seed"]),
            temperature=float(task_cfg["temperature"]),
            sample_batch=int(config["train"]["eval_batch_size"]),
        )
        info = {"data": splits.source, "splits": splits, "real_classifier": real_classifier}
        return Experiment(model, task, train_codes, val, test, info=info)

    @staticmethod
    def _encode(stage1: nn.Module, dataset: Any) -> tuple[list[Tensor], Tensor]:
        if len(dataset) == 0:
            raise ConfigError("an empty data split: give the validation and test splits at least one image each")
        codes, labels = [], []
        for idx in _chunks(len(dataset), 256):
            x, y = _batch(dataset, idx)
            codes.append(encode_images(stage1, x))
            labels.append(y)
        return [torch.cat([c[i] for c in codes]) for i in range(len(codes[0]))], torch.cat(labels)

    @staticmethod
    def _priors(config: dict[str, Any], stage1: nn.Module, splits: ImageSplits) -> list[nn.Module]:
        shapes = latent_shapes(stage1, splits.image_size)
        k = _quantizers(stage1)[0].num_embeddings
        names = [config["model"]["name"]] + ([config["bottom"]["name"]] if config["bottom"]["name"] else [])
        kwargs = [dict(config["model"]["kwargs"]), dict(config["bottom"]["kwargs"])]
        if len(names) != len(shapes):
            raise ConfigError(
                f"stage 1 ({config['stage1']['name']}) has {len(shapes)} code levels but {len(names)} priors are "
                "configured (model.name for the top, bottom.name for the level below; bottom.name='' for one level)"
            )
        priors = []
        for level, (name, kw, shape) in enumerate(zip(names, kwargs, shapes)):
            kw.update(num_codes=k, shape=shape, num_classes=splits.num_classes)
            if level > 0:
                kw["cond_shape"] = shapes[level - 1]
            priors.append(create_model(name, **kw))
        return priors

    # -- baseline and report -------------------------------------------------------------------------------------

    def _gaussian(self, exp: Experiment, config: dict[str, Any]) -> dict[str, Any]:
        """CAS of per-class Gaussian samples (mean and full covariance of each class's training images)."""
        if "gaussian" not in exp.info:
            splits: ImageSplits = exp.info["splits"]
            task: ClassPriorTask = exp.task
            x, y = _all(splits.train)
            seed = int(config["task"]["sample_seed"])
            samples = torch.cat(
                [gaussian_image_samples(x[y == k], task.samples_per_class, seed + k) for k in range(task.num_classes)]
            )
            test_x, test_y = _all(splits.test)
            cas, _ = classification_accuracy_score(task.fit, samples, task.sample_labels(), test_x, test_y)
            exp.info["gaussian"] = {"cas": cas, "samples": samples}
        return exp.info["gaussian"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return 1.0 / exp.task.num_classes  # chance; the Gaussian CAS is reported beside it in finish

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        splits: ImageSplits = exp.info["splits"]
        task: ClassPriorTask = exp.task
        model: CodePrior = exp.model
        model.eval()
        real_clf: nn.Module = exp.info["real_classifier"]
        test_x, test_y = _all(splits.test)
        samples, labels = task.samples(model)
        k = _quantizers(model.stage1.module)[0].num_embeddings
        metrics: dict[str, float] = {
            "chance": 1.0 / task.num_classes,
            "real_accuracy": accuracy_on(real_clf, test_x, test_y),
            "uniform_bits_per_dim": math.log2(k),
            **stage1_report(model.stage1.module, test_x),
        }
        tables: dict[str, dict[str, Any]] = {}
        rows = [
            ["VQ-VAE-2 class-conditional priors (ours)", round(float(test_metrics["cas"]), 4)],
            ["real training images (upper bound)", round(metrics["real_accuracy"], 4)],
            ["chance (1/K)", round(metrics["chance"], 4)],
        ]
        if config["task"]["gaussian_baseline"]:
            gauss = self._gaussian(exp, config)
            metrics["gaussian_cas"] = gauss["cas"]
            rows.insert(2, ["per-class Gaussian samples (mean + full covariance)", round(gauss["cas"], 4)])
        tables["Classification Accuracy Score (classifier trained on samples, tested on real images)"] = {
            "columns": ["training images", "test accuracy"],
            "rows": rows,
        }
        # Rejection sampling (§3.3): score by the real-data classifier's probability of the intended class.
        scores = intended_class_scores(predict(real_clf, samples), labels)
        real_f, _ = extract_features(real_clf, test_x)
        fake_f, _ = extract_features(real_clf, samples)
        reject_rows, curve = [], []
        for fraction in config["task"]["keep_fractions"]:
            keep = top_fraction(scores, float(fraction), labels)
            row = {
                "kept": float(fraction),
                "mean_score": float(scores[keep].mean()),
                "real_classifier_acc": float(
                    (predict(real_clf, samples[keep]).argmax(1) == labels[keep]).double().mean()
                ),
                "fid": fid_from_features(real_f, fake_f[keep]) if min(len(keep), len(real_f)) > 1 else math.nan,
            }
            row["precision"], row["recall"] = (
                precision_recall(real_f, fake_f[keep]) if min(len(keep), len(real_f)) > 3 else (math.nan,) * 2
            )
            curve.append(row)
            name = f"{round(100 * float(fraction))}%"
            metrics.update({f"reject{name}/{key}": float(v) for key, v in row.items() if key != "kept"})
            reject_rows.append(
                [
                    name,
                    len(keep),
                    *(round(row[c], 4) for c in ("mean_score", "real_classifier_acc", "fid", "precision", "recall")),
                ]
            )
        tables["classifier-based rejection sampling (our classifier's features, not Inception-v3)"] = {
            "columns": ["kept", "samples", "mean p(class)", "real-classifier acc", "FID ↓", "precision", "recall"],
            "rows": reject_rows,
        }
        if run_dir is not None:
            _plot_class_grid(samples, labels, task.num_classes, run_dir / "plots" / "samples_per_class.png")
            _plot_rejection(curve, run_dir / "plots" / "rejection_sampling.png")
        return Finish(metrics=metrics, tables=tables)


def _plot_class_grid(images: Tensor, labels: Tensor, num_classes: int, path: Path, per_class: int = 10) -> Path:
    """One row of ``per_class`` samples per class."""
    from ..report.plots import _figure_cls

    rows = []
    for k in range(num_classes):
        x = images[labels == k][:per_class]
        x = torch.cat([x, x.new_full((per_class - len(x), *x.shape[1:]), -1.0)])  # pad short rows
        rows.append(torch.cat(list(x), dim=-1))  # (C, H, W · per_class)
    grid = ((torch.cat(rows, dim=-2) + 1) / 2).clamp(0, 1).permute(1, 2, 0)  # (H · K, W · per_class, C)
    fig = _figure_cls()(figsize=(per_class * 0.6 + 1, num_classes * 0.6 + 0.6))
    ax = fig.subplots()
    ax.imshow(grid.squeeze(-1).numpy(), cmap="gray" if grid.shape[-1] == 1 else None, vmin=0, vmax=1)
    ax.set_title("prior samples, one row per class")
    ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _plot_rejection(curve: list[dict[str, float]], path: Path) -> Path:
    """Mean intended-class score, precision and recall against the kept fraction."""
    from ..report.plots import _figure_cls

    fig = _figure_cls()(figsize=(5.5, 3.8))
    ax = fig.subplots()
    kept = [row["kept"] for row in curve]
    for key, label in (("mean_score", "mean p(intended class)"), ("precision", "precision"), ("recall", "recall")):
        ax.plot(kept, [row[key] for row in curve], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("fraction of samples kept (per class)")
    ax.set_title("classifier-based rejection sampling")
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


# ---------------------------------------------------------------------------------------------------------------
# VQ-VAE §4.2: a second VQ-VAE on the first one's latents, 3 latents per image
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class LatentVQVAEOutput:
    """logits (B, K_in, h, w) over the stage-1 codes; vq_loss (scalar); indices (B, G); perplexity (scalar)."""

    logits: Tensor
    vq_loss: Tensor
    indices: Tensor
    perplexity: Tensor


class LatentVQVAE(nn.Module):
    """A VQ-VAE whose input is a map of discrete codes and whose bottleneck is G discrete latents (VQ-VAE §4.2).

    ::

        codes (B, h, w) ─ Embed ─ [Conv4×4/2 ─ ReLU] × n ─ Conv3×3 ─ ReLU ─ flatten ─ Linear ─ (B, G, D) ─ VQ (K)
        ─ flatten ─ Linear ─ ReLU ─ (B, C, 4, 4) ─ [ConvT4×4/2 ─ ReLU] × n ─ Conv3×3 ─ logits (B, K_in, h, w)

    The strided convolutions bring the map down to 4×4 (n = log₂(h / 4); none for a 4×4 map); the decoder
    predicts every input code with a softmax (cross-entropy), the likelihood of a discrete input.

    Args:
        num_codes_in: K_in, stage 1's codebook size. shape: (h, w) of stage 1's code map (a power of two ≥ 4).
        channels: convolution width. embedding_dim: D of the input embedding and of the codebook.
        num_latents: G (3). num_embeddings: K (512): G · log₂ K bits per image.
        commitment_cost, decay: the EMA quantiser's β and γ.
        restart_threshold: codes whose average count falls below it restart from encoder outputs (0: never).

    Shapes:
        codes (B, h, w) long → :class:`LatentVQVAEOutput`.
    """

    def __init__(
        self,
        num_codes_in: int,
        *,
        shape: tuple[int, int],
        channels: int = 64,
        embedding_dim: int = 32,
        num_latents: int = 3,
        num_embeddings: int = 512,
        commitment_cost: float = 0.25,
        decay: float = 0.99,
        restart_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        h, w = int(shape[0]), int(shape[1])
        if h != w or h < 4 or h & (h - 1):
            raise ValueError(f"shape must be square with a power-of-two side >= 4 (got {shape})")
        if min(num_codes_in, channels, embedding_dim, num_latents, num_embeddings) < 1:
            raise ValueError(
                f"sizes must be >= 1 (got {num_codes_in}, {channels}, {embedding_dim}, {num_latents}, {num_embeddings})"
            )
        self.num_codes_in, self.shape, self.num_latents = num_codes_in, (h, w), num_latents
        self.bits = num_latents * math.log2(num_embeddings)
        n = int(math.log2(h // 4))
        self.embed = nn.Embedding(num_codes_in, embedding_dim)
        down: list[nn.Module] = []
        c = embedding_dim
        for _ in range(n):
            down += [nn.Conv2d(c, channels, 4, stride=2, padding=1), nn.ReLU()]
            c = channels
        self.encoder = nn.Sequential(*down, nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(), nn.Flatten())
        self.to_latents = nn.Linear(channels * 16, num_latents * embedding_dim)
        self.quantizer = VectorQuantizerEMA(
            num_embeddings,
            embedding_dim,
            commitment_cost=commitment_cost,
            decay=decay,
            init="uniform",
            restart_threshold=restart_threshold,
        )
        self.from_latents = nn.Sequential(nn.Linear(num_latents * embedding_dim, channels * 16), nn.ReLU())
        up: list[nn.Module] = []
        for _ in range(n):
            up += [nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1), nn.ReLU()]
        self.decoder = nn.Sequential(*up, nn.Conv2d(channels, num_codes_in, 3, padding=1))
        self.channels, self.embedding_dim = channels, embedding_dim

    def forward(self, codes: Tensor) -> LatentVQVAEOutput:
        if not isinstance(codes, Tensor) or codes.dim() != 3 or tuple(codes.shape[1:]) != self.shape:
            got = tuple(codes.shape) if isinstance(codes, Tensor) else type(codes).__name__
            raise ValueError(f"expected stage-1 codes of shape (B, {self.shape[0]}, {self.shape[1]}), got {got}")
        x = self.embed(codes).permute(0, 3, 1, 2)  # (B, D, h, w)
        z = self.to_latents(self.encoder(x)).view(len(codes), self.num_latents, self.embedding_dim)  # (B, G, D)
        vq = self.quantizer(z)
        h = self.from_latents(vq.quantized.flatten(1)).view(len(codes), self.channels, 4, 4)
        return LatentVQVAEOutput(self.decoder(h), vq.loss, vq.indices, vq.perplexity)


class _LatentModel(nn.Module):
    """The stage-2 LatentVQVAE with the frozen stage 1 that decodes its predicted codes."""

    def __init__(self, latent: LatentVQVAE, stage1: nn.Module) -> None:
        super().__init__()
        self.latent, self.stage1 = latent, _Frozen(stage1)

    def forward(self, codes: Tensor | dict[str, Any]) -> LatentVQVAEOutput:
        return self.latent(codes["codes"][0] if isinstance(codes, dict) else codes)

    @torch.no_grad()
    def reconstruct(self, codes: Tensor, *, decode: str = "mean") -> Tensor:
        """Images through both stages: stage-1 codes → 3 latents → predicted codes → stage-1 decoder.

        ``decode="argmax"`` decodes the most likely stage-1 code at every position; ``"mean"`` decodes the
        expected codebook vector Σ_k p(k) e_k under the predicted distribution (the stage-1 decoder's input that
        is closest in squared error to the true one, on average under the model).
        """
        logits = self.latent(codes).logits  # (B, K_in, h, w)
        stage1 = self.stage1.module
        if decode == "argmax":
            return decode_codes(stage1, [logits.argmax(1)])
        if decode != "mean":
            raise ValueError(f"decode must be 'mean' or 'argmax' (got {decode!r})")
        vectors = torch.einsum("bkhw,kd->bdhw", logits.softmax(1), stage1.quantizer.codebook.to(logits.dtype))
        return stage1.decoder(vectors).clamp(-1, 1).cpu()


class LatentCompressionTask(Task):
    """Cross-entropy of the stage-1 codes + the quantiser's loss; evaluates reconstructions through both stages.

    ``evaluate`` reports ``recon_acc`` (the real-data classifier's accuracy on the two-stage reconstructions),
    ``recon_mse`` (against the images), ``code_acc`` (stage-1 codes predicted right), ``perplexity`` of the
    3-latent codes and ``bits`` per image.
    """

    def __init__(self, classifier: nn.Module, *, decode: str = "mean") -> None:
        if decode not in ("mean", "argmax"):
            raise ValueError(f"decode must be 'mean' or 'argmax' (got {decode!r})")
        self.classifier, self.decode = classifier, decode

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        codes = batch["codes"][0]
        out = model(codes)
        ce = F.cross_entropy(out.logits, codes)
        return StepOutput(ce + out.vq_loss, {"ce": float(ce.detach()), "perplexity": float(out.perplexity)})

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Any]]) -> dict[str, float]:
        recon, recon_argmax, images, labels, correct, total, used = [], [], [], [], 0.0, 0, []
        for batch in batches:
            codes = batch["codes"][0]
            out = model(codes)
            correct += float((out.logits.argmax(1) == codes).double().mean((1, 2)).sum())
            total += len(codes)
            used.append(out.indices.flatten().cpu())
            recon.append(model.reconstruct(codes, decode=self.decode))
            recon_argmax.append(model.reconstruct(codes, decode="argmax"))
            images.append(batch["images"].cpu())
            labels.append(batch["labels"].cpu())
        if total == 0:
            return {}
        x, r, y = torch.cat(images), torch.cat(recon), torch.cat(labels)
        k = model.latent.quantizer.num_embeddings
        return {
            "recon_acc": accuracy_on(self.classifier, r, y),
            "recon_acc/argmax": accuracy_on(self.classifier, torch.cat(recon_argmax), y),
            "recon_mse": float(F.mse_loss(r, x)),
            "code_acc": correct / total,
            "perplexity": float(perplexity(torch.bincount(torch.cat(used), minlength=k))),
            "bits": model.latent.bits,
        }


def _equal_mass_quantizer(values: Tensor, bits: int) -> tuple[Tensor, Tensor]:
    """A scalar quantiser of a column of training values with 2^bits bins of equal probability.

    Returns (inner edges (2^b - 1,), reconstruction levels (2^b,)): each level is the mean of the training values
    in its bin (the centroid condition of Lloyd-Max; the edges are the training quantiles).
    """
    levels = 2**bits
    edges = torch.quantile(values, torch.linspace(0, 1, levels + 1, dtype=values.dtype)[1:-1])
    bins = torch.bucketize(values, edges)
    sums = torch.zeros(levels, dtype=values.dtype).index_add_(0, bins, values)
    counts = torch.bincount(bins, minlength=levels).to(values.dtype)
    centres = torch.where(counts > 0, sums / counts.clamp(min=1), torch.cat([edges[:1], edges]))
    return edges, centres


def shifted_copies(images: Tensor, labels: Tensor, copies: int, *, seed: int) -> tuple[Tensor, Tensor]:
    """The images plus ``copies`` copies each translated by a random (dy, dx) in {-1, 0, 1}² (background -1 fills).

    Stage 2 has as many parameters as data allows; translated copies give it more stage-1 code maps to learn from.
    """
    if copies < 0:
        raise ConfigError(f"task.shifted_copies must be >= 0 (got {copies})")
    gen = torch.Generator().manual_seed(seed)
    h, w = images.shape[-2:]
    padded = F.pad(images, (1, 1, 1, 1), value=-1.0)
    out = [images]
    for _ in range(copies):
        dy, dx = torch.randint(0, 3, (2, len(images)), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None])[:, None, :, None].expand(-1, images.shape[1], -1, w + 2)
        shifted = padded.gather(2, rows)  # (N, C, h, w + 2): rows dy..dy+h-1 of each image
        cols = (dx[:, None] + torch.arange(w)[None])[:, None, None, :].expand(-1, images.shape[1], h, -1)
        out.append(shifted.gather(3, cols))
    return torch.cat(out), labels.repeat(copies + 1)


def pca_quantized_reconstruction(train: Tensor, images: Tensor, *, components: int, bits: int) -> Tensor:
    """Reconstruct ``images`` from ``components · bits`` bits: the top PCA coefficients, scalar-quantised.

    The principal axes and each coefficient's quantiser (:func:`_equal_mass_quantizer`) are fitted on ``train``
    (N, ...); ``images`` (M, ...) are projected, quantised coefficient by coefficient and mapped back.
    """
    flat = train.flatten(1).double()
    mean = flat.mean(0)
    _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    axes = vh[:components]  # (m, P)
    coef_train = (flat - mean) @ axes.T  # (N, m)
    coef = (images.flatten(1).double() - mean) @ axes.T  # (M, m)
    quantised = torch.empty_like(coef)
    for j in range(components):  # one scalar quantiser per coefficient (m ≤ 27 columns)
        edges, centres = _equal_mass_quantizer(coef_train[:, j].contiguous(), bits)
        quantised[:, j] = centres[torch.bucketize(coef[:, j].contiguous(), edges)]
    return (mean + quantised @ axes).float().reshape(images.shape).clamp(-1, 1)


class VQVAE3Latents(Recipe):
    """VQ-VAE §4.2: a VQ-VAE on VQ-VAE latents, 3 latents of K = 512 per image, against 27 bits of PCA."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        splits = load_unit_images(config, self.name)
        seed = int(config["seed"])
        stage1 = _fit_stage1(config, splits, torch.device("cpu"))
        if _levels(stage1) != 1:
            raise ConfigError(f"recipe {self.name!r} needs a one-level stage 1 (a vqvae_* model)")
        classifier = _classifier(config, splits.train, splits, seed)
        (shape,) = latent_shapes(stage1, splits.image_size)
        kwargs = dict(config["model"]["kwargs"])
        latent = LatentVQVAE(stage1.quantizer.num_embeddings, shape=shape, **kwargs)
        model = _LatentModel(latent, stage1)
        sets = {}
        for name, ds in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
            x, y = _all(ds)
            if name == "train":  # stage 2 also sees the codes of shifted copies (more code maps than images)
                x, y = shifted_copies(x, y, int(config["task"]["shifted_copies"]), seed=seed)
            sets[name] = CodeDataset(encode_images(stage1, x), y, images=x if name != "train" else None)
        task = LatentCompressionTask(classifier, decode=config["task"]["decode"])
        info = {"data": splits.source, "splits": splits, "classifier": classifier}
        return Experiment(model, task, sets["train"], sets["val"], sets["test"], info=info)

    def _pca(self, exp: Experiment, config: dict[str, Any]) -> dict[str, Any]:
        """The PCA baseline at the model's bit budget: the allocation with the best validation accuracy."""
        if "pca" not in exp.info:
            splits: ImageSplits = exp.info["splits"]
            clf = exp.info["classifier"]
            bits = exp.model.latent.bits
            train, _ = _all(splits.train)
            val_x, val_y = _all(splits.val)
            test_x, test_y = _all(splits.test)
            best = None
            rank = min(len(train), train[0].numel())  # principal components the training set has
            for m, b in config["task"]["pca_allocations"]:
                if abs(m * b - bits) > 1e-9:
                    raise ConfigError(f"task.pca_allocations: {m} × {b} bits is not the model's {bits:g} bits")
                if m > rank:
                    continue  # more components than the training set has (tiny data only)
                val_acc = accuracy_on(clf, pca_quantized_reconstruction(train, val_x, components=m, bits=b), val_y)
                if best is None or val_acc > best[0]:
                    best = (val_acc, m, b)
            if best is None:
                raise ConfigError(f"task.pca_allocations: every allocation needs more than {rank} principal components")
            _, m, b = best
            recon = pca_quantized_reconstruction(train, test_x, components=m, bits=b)
            exp.info["pca"] = {
                "acc": accuracy_on(clf, recon, test_y),
                "mse": float(F.mse_loss(recon, test_x)),
                "allocation": f"{m} components × {b} bits",
                "recon": recon,
            }
        return exp.info["pca"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return self._pca(exp, config)["acc"]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        splits: ImageSplits = exp.info["splits"]
        clf, model = exp.info["classifier"], exp.model
        model.eval()
        pca = self._pca(exp, config)
        test_x, test_y = _all(splits.test)
        stage1 = model.stage1.module
        codes = encode_images(stage1, test_x)
        stage1_recon = decode_codes(stage1, codes)
        k1 = stage1.quantizer.num_embeddings
        stage1_bits = codes[0][0].numel() * math.log2(k1)
        metrics = {
            "real_accuracy": accuracy_on(clf, test_x, test_y),
            "stage1/recon_acc": accuracy_on(clf, stage1_recon, test_y),
            "stage1/bits": stage1_bits,
            **stage1_report(stage1, test_x),
            "baseline/recon_mse": pca["mse"],
        }
        bits = model.latent.bits
        rows = [
            ["real test images", "8 bits × pixels", round(metrics["real_accuracy"], 4), 0.0],
            [
                "stage 1 (VQ-VAE codes)",
                f"{stage1_bits:g}",
                round(metrics["stage1/recon_acc"], 4),
                round(metrics["stage1/recon_mse"], 5),
            ],
            [
                f"stage 2: {model.latent.num_latents} latents (ours)",
                f"{bits:g}",
                round(float(test_metrics["recon_acc"]), 4),
                round(float(test_metrics["recon_mse"]), 5),
            ],
            [f"PCA, {pca['allocation']}", f"{bits:g}", round(pca["acc"], 4), round(pca["mse"], 5)],
        ]
        table = {"columns": ["reconstruction", "bits / image", "classifier accuracy", "MSE"], "rows": rows}
        if run_dir is not None:
            grids = {
                "test": test_x[:8],
                "stage 1": stage1_recon[:8],
                f"{bits:g} bits (ours)": model.reconstruct(codes[0][:8], decode=exp.task.decode),
                f"{bits:g} bits PCA": pca["recon"][:8],
            }
            _plot_rows(grids, run_dir / "plots" / "reconstructions.png")
        return Finish(metrics=metrics, tables={"reconstructions of the test images": table})


def _plot_rows(images: dict[str, Tensor], path: Path) -> Path:
    """One row of images per entry, titled."""
    from ..report.plots import _figure_cls

    fig = _figure_cls()(figsize=(8, 1.3 * len(images)))
    axes = fig.subplots(len(images), 1)
    for ax, (title, x) in zip(axes, images.items()):
        row = ((torch.cat(list(x), dim=-1) + 1) / 2).clamp(0, 1).permute(1, 2, 0)
        ax.imshow(row.squeeze(-1).numpy(), cmap="gray" if row.shape[-1] == 1 else None, vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


# ---------------------------------------------------------------------------------------------------------------
# VQ-VAE §4.4: action-conditioned generation of video in latent space
# ---------------------------------------------------------------------------------------------------------------

VIDEO_QUICK = extend_config(
    BASE_CONFIG,
    {
        # the prior over a clip's code maps stacked in time: (T·h, w) in raster order = frame after frame
        "model": {
            "name": "pixelsnail_top_tiny",
            "kwargs": {"channels": 32, "res_channels": 32, "num_blocks": 2, "res_blocks": 1, "dropout": 0.0},
        },
        "stage1": {
            "name": "vqvae_tiny",
            "kwargs": {"hidden_channels": 32, "residual_channels": 16, "embedding_dim": 16, "num_embeddings": 64},
            "steps": 300,
            "lr": 2e-3,
            "batch_size": 64,
        },
        "data": {
            "name": "moving_shapes",
            "path": None,
            "kwargs": {"image_size": 16, "num_frames": 16, "train_size": 1000, "val_size": 50, "test_size": 100},
        },
        "optim": {"name": "adam", "lr": 3e-3, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "warmup_steps": 20, "min_lr_ratio": 0.1},
        "train": {
            "steps": 400,
            "batch_size": 32,
            "eval_batch_size": 512,
            "eval_every": 400,
            "ckpt_every": 200,
            "log_every": 50,
            "grad_clip": 1.0,
        },
        "task": {
            **_CLASSIFIER_QUICK,
            "context_frames": 6,
            "sample_seed": 1234,
            "temperature": 1.0,
        },
    },
)


# No DeepMind Lab reader exists (the paper's data is not public in a file format): the "full" config is the same
# built-in data at the generator's default 32×32 size with the paper's K = 512 and a longer budget.
VIDEO_FULL = extend_config(
    VIDEO_QUICK,
    {
        "model": {"name": "pixelsnail_top", "kwargs": {}},
        "stage1": {"name": "vqvae_cifar10", "kwargs": {}, "steps": 50_000, "lr": 2e-4},
        "data": {"name": "moving_shapes", "kwargs": {"num_frames": 16}},
        "train": {"steps": 100_000, "batch_size": 32, "eval_batch_size": 64, "eval_every": 100_000, "ckpt_every": 5000},
        "task": {"classifier": "resnet20", "classifier_steps": 20_000, "classifier_lr": 1e-3},
    },
)


def _fold_time(clips: Tensor) -> Tensor:
    """(B, C, T, H, W) → (B, C·T, H, W): the classifier sees the frames as channels (early fusion)."""
    return rearrange(clips, "b c t h w -> b (c t) h w")


class _VideoModel(nn.Module):
    """The latent-sequence prior with the frozen per-frame VQ-VAE that decodes its codes."""

    def __init__(self, prior: nn.Module, stage1: nn.Module, frames: int) -> None:
        super().__init__()
        self.prior, self.stage1, self.frames = prior, _Frozen(stage1), frames

    def forward(self, batch: dict[str, Any]) -> Tensor:
        """The batch's mean NLL in bits per code."""
        return self.prior.nll(batch["codes"][0], batch["labels"])

    @torch.no_grad()
    def continue_codes(
        self, codes: Tensor, labels: Tensor, start_row: int, *, generator: torch.Generator, temperature: float
    ) -> Tensor:
        """Keep rows < ``start_row`` of the (B, T·h, w) code maps and sample the rest in raster order."""
        codes = codes.clone()
        height, width = codes.shape[1:]
        for r in range(start_row, height):
            for c in range(width):
                logits = self.prior(codes, labels)[:, :, r, c]  # causal: later codes do not change these logits
                codes[:, r, c] = draw(logits, temperature, generator)
        return codes

    def decode(self, codes: Tensor) -> Tensor:
        """(B, T·h, w) codes → clips (B, C, T, H, W) in [-1, 1], frame by frame."""
        frames = rearrange(codes, "b (t h) w -> (b t) h w", t=self.frames)
        x = decode_codes(self.stage1.module, [frames])
        return rearrange(x, "(b t) c h w -> b c t h w", t=self.frames)


class ActionVideoTask(Task):
    """Trains the prior on the NLL of whole clips' codes; evaluates continuations generated in latent space.

    ``evaluate`` reports ``bits_per_dim`` of the split's codes and ``gen_acc``: given the first ``context``
    frames' codes of each real clip and its action, the prior samples the codes of the remaining frames, the
    per-frame decoder decodes them (deterministically), and a classifier trained on the same frames of real
    clips classifies the action of the generated frames.
    """

    def __init__(
        self, classifier: nn.Module, *, context: int, latent_rows: int, sample_seed: int, temperature: float
    ) -> None:
        self.classifier, self.context, self.latent_rows = classifier, context, latent_rows
        self.sample_seed, self.temperature = sample_seed, temperature
        self.last: dict[str, Tensor] = {}

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        return StepOutput(model(batch))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[dict[str, Any]]) -> dict[str, float]:
        gen, bits, total, clips, labels = None, 0.0, 0, [], []
        for batch in batches:
            codes, y = batch["codes"][0], batch["labels"]
            gen = torch.Generator(device=codes.device).manual_seed(self.sample_seed) if gen is None else gen
            bits += float(model.prior.nll(codes, y, reduction="none").sum())
            total += len(y)
            sampled = model.continue_codes(
                codes, y, self.context * self.latent_rows, generator=gen, temperature=self.temperature
            )
            clips.append(model.decode(sampled)[:, :, self.context :])
            labels.append(y.cpu())
        if total == 0:
            return {}
        generated, y = torch.cat(clips), torch.cat(labels)
        self.last = {"generated": generated, "labels": y}
        return {"bits_per_dim": bits / total, "gen_acc": accuracy_on(self.classifier, _fold_time(generated), y)}


class VQVAEVideo(Recipe):
    """VQ-VAE §4.4: a prior over per-frame latents conditioned on the action generates the future in latent space."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        data_cfg, task_cfg, seed = config["data"], config["task"], int(config["seed"])
        splits = create_dataset(data_cfg["name"], seed=seed, **dict(data_cfg.get("kwargs") or {}))
        if not hasattr(splits, "num_frames"):
            raise ConfigError(f"recipe {self.name!r} needs a video dataset (got data.name={data_cfg['name']!r})")
        context, frames = int(task_cfg["context_frames"]), splits.num_frames
        if not 0 < context < frames:
            raise ConfigError(f"task.context_frames must be in [1, {frames - 1}] (got {context})")
        sets = {name: _all(getattr(splits, name)) for name in ("train", "val", "test")}
        sets = {name: (x * 2 - 1, y) for name, (x, y) in sets.items()}  # [0, 1] → [-1, 1]
        train_frames = rearrange(sets["train"][0], "b c t h w -> (b t) c h w")
        image_splits = _VideoAsImages(splits.in_chans, splits.image_size)
        stage1 = train_stage1(
            _build_stage1(config, image_splits),
            TensorPairs(train_frames, torch.zeros(len(train_frames))),
            steps=int(config["stage1"]["steps"]),
            lr=float(config["stage1"]["lr"]),
            batch_size=int(config["stage1"]["batch_size"]),
            seed=seed,
            device=torch.device("cpu"),
        )
        if _levels(stage1) != 1:
            raise ConfigError(f"recipe {self.name!r} needs a one-level stage 1 (a vqvae_* model)")
        future = {name: _fold_time(x[:, :, context:]) for name, (x, _) in sets.items()}
        classifier = _classifier(
            config,
            TensorPairs(future["train"], sets["train"][1]),
            _VideoAsImages(splits.in_chans * (frames - context), splits.image_size, splits.num_classes),
            seed,
        )
        ((h, w),) = latent_shapes(stage1, splits.image_size)
        kwargs = dict(config["model"]["kwargs"])
        kwargs.update(num_codes=stage1.quantizer.num_embeddings, shape=(frames * h, w), num_classes=splits.num_classes)
        model = _VideoModel(create_model(config["model"]["name"], **kwargs), stage1, frames)
        datasets = {}
        for name, (x, y) in sets.items():
            codes = encode_images(stage1, rearrange(x, "b c t h w -> (b t) c h w"))[0]
            codes = rearrange(codes, "(b t) h w -> b (t h) w", t=frames)
            datasets[name] = CodeDataset([codes], y, images=x if name != "train" else None)
        task = ActionVideoTask(
            classifier,
            context=context,
            latent_rows=h,
            sample_seed=int(task_cfg["sample_seed"]),
            temperature=float(task_cfg["temperature"]),
        )
        info = {"data": splits.source, "sets": sets, "classifier": classifier, "context": context}
        # No validation during training: each evaluation samples 10 frames of codes per clip, position by position,
        # which is the run's most expensive part; the test split is evaluated once, with the final weights.
        return Experiment(model, task, datasets["train"], None, datasets["test"], info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        """The classifier on the last context frame repeated over the future frames."""
        x, y = exp.info["sets"]["test"]
        context = exp.info["context"]
        repeated = x[:, :, context - 1 : context].expand(-1, -1, x.shape[2] - context, -1, -1)
        return accuracy_on(exp.info["classifier"], _fold_time(repeated), y)

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        x, y = exp.info["sets"]["test"]
        context, clf, model = exp.info["context"], exp.info["classifier"], exp.model
        model.eval()
        recon = _recon_codes(model, x)
        metrics = {
            "real_future_acc": accuracy_on(clf, _fold_time(x[:, :, context:]), y),
            "stage1_future_acc": accuracy_on(clf, _fold_time(recon[:, :, context:]), y),
            "chance": 1.0 / int(y.max() + 1),
            "baseline/repeat_last_frame": self.baseline_value(exp, config),
        }
        rows = [
            ["real future frames (upper bound)", round(metrics["real_future_acc"], 4)],
            ["stage-1 reconstructions of the real future", round(metrics["stage1_future_acc"], 4)],
            ["generated in latent space (ours)", round(float(test_metrics["gen_acc"]), 4)],
            ["last context frame repeated", round(metrics["baseline/repeat_last_frame"], 4)],
        ]
        table = {"columns": ["future frames", "action accuracy"], "rows": rows}
        generated = exp.task.last.get("generated")
        if run_dir is not None and generated is not None:
            grids = {
                f"real (frames {context}-{x.shape[2] - 1})": x[0, :, context:].movedim(1, 0),
                "generated": generated[0].movedim(1, 0),
                "real, clip 2": x[1, :, context:].movedim(1, 0),
                "generated, clip 2": generated[1].movedim(1, 0),
            }
            _plot_rows(grids, run_dir / "plots" / "continuations.png")
        return Finish(metrics=metrics, tables={"action classification of the future frames": table})


def _recon_codes(model: _VideoModel, clips: Tensor) -> Tensor:
    """Clips through the per-frame VQ-VAE (encode, decode)."""
    frames = rearrange(clips, "b c t h w -> (b t) c h w")
    codes = encode_images(model.stage1.module, frames)[0]
    return rearrange(decode_codes(model.stage1.module, [codes]), "(b t) c h w -> b c t h w", t=clips.shape[2])


class _VideoAsImages:
    """What the stage-1 and classifier builders read from image splits: channels, size and classes."""

    def __init__(self, in_chans: int, image_size: int, num_classes: int = 0) -> None:
        self.in_chans, self.image_size, self.num_classes = in_chans, image_size, num_classes


# ---------------------------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------------------------

register_recipe(
    VQVAE2ClassPrior(
        name="vqvae2_class_prior",
        system="VQ-VAE-2",
        paper=RAZAVI_2019,
        model="pixelsnail_top",
        metric="cas",
        higher_is_better=True,
        baseline="chance (1/K); the per-class Gaussian's CAS and the real-data accuracy are reported beside it",
        claim="a classifier trained only on the priors' class samples classifies real test images far above chance",
        configs={"quick": PRIOR_QUICK, "full": PRIOR_FULL},
        paper_number=PaperNumber(
            value=0.5483,
            protocol="top-1 CAS on ImageNet 256×256: ResNet-50 trained on samples, tested on the real validation set",
            source="Razavi et al. 2019, Table 2",
        ),
    )
)

register_recipe(
    VQVAEVideo(
        name="vqvae_video",
        system="VQ-VAE",
        paper=VAN_DEN_OORD_2017,
        model="vqvae_tiny",
        metric="gen_acc",
        higher_is_better=True,
        baseline="the last context frame repeated (no motion)",
        claim="futures generated in latent space from 6 real frames show the conditioned action to a classifier of "
        "real clips, unlike a repeated last frame",
        configs={"quick": VIDEO_QUICK, "full": VIDEO_FULL},
        paper_number=PaperNumber(
            value=None,
            protocol="DeepMind Lab, 6 frames → 10 generated, action-conditioned; the paper shows samples only",
            source="van den Oord et al. 2017, §4.4 and Figure 7",
        ),
    )
)

register_recipe(
    VQVAE3Latents(
        name="vqvae_3_latents",
        system="VQ-VAE",
        paper=VAN_DEN_OORD_2017,
        model="vqvae_imagenet",
        metric="recon_acc",
        higher_is_better=True,
        baseline="27 bits of PCA (top components, equal-probability scalar quantisers; best allocation on val)",
        claim="images compressed to 3 discrete latents (27 bits) keep their class better than 27 bits of PCA",
        configs={"quick": LATENT_QUICK, "full": LATENT_FULL},
        paper_number=PaperNumber(
            value=None,
            protocol="ImageNet 128×128 → 32×32 latents → 3 latents of K = 512 (27 bits); the paper shows "
            "reconstructions only",
            source="van den Oord et al. 2017, §4.2 and Figure 4",
        ),
    )
)
