"""DDPM on images (Ho, Jain & Abbeel 2020, §4): the paper's U-Net, L_simple, EMA weights, FID of ancestral samples.

System: DDPM (:mod:`paperzoo.models.generative.ddpm`). Claim checked on built-in data (scikit-learn's digits at
their native 8×8, one channel, scaled to [-1, 1]): a small version of the paper's U-Net trained with L_simple
(Algorithm 1) under the paper's linear schedule (T = 1000, β from 1e-4 to 0.02) and sampled with Algorithm 2
from an exponential moving average of its weights generates digits whose feature statistics are closer to
held-out digits (lower FID) than samples of a Gaussian fitted to the training images (mean and full covariance).

Metric: ``fid``, the Fréchet distance (:mod:`paperzoo.metrics.generative`) between ``task.eval_samples``
generated images and the split's real images, computed on the pooled features of a classifier that the recipe
trains first on the training split (``task.feature_net``, ``task.feature_steps``) or loads from a finished
paperzoo image-classification run folder (``task.feature_run``). Also reported: precision/recall (Kynkäänniemi
et al. 2019, k = 3), the Inception Score computed with that classifier's softmax, and the FID of the real
validation images against the test images (the floor that sampling noise allows).

Not comparable with the paper's numbers: the paper's FID 3.17 and IS 9.46 on CIFAR-10 use the ImageNet
Inception-v3 network, whose weights paperzoo cannot download, and 50,000 samples. Our FID uses our own
classifier's features; the report says so.

The ``full`` config is the paper's CIFAR-10 run (§4, Appendix B): ``ddpm_cifar10`` (35.7M parameters, dropout
0.1), Adam with lr 2e-4, batch 128, 800k steps, 5,000 warm-up steps, gradient clipping at 1.0, random horizontal
flips, EMA decay 0.9999, 50,000 samples; FID features from a ResNet-20 trained on the same split first (or
``task.feature_run`` pointing at a run of ``paperzoo train resnet_degradation --full``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data.images import ImageSplits
from ..data.transforms import Compose, Normalize, RandomHorizontalFlip, ToFloat
from ..engine.config import ConfigError, extend_config
from ..engine.logging import progress
from ..engine.tasks import StepOutput, Task
from ..metrics.generative import extract_features, fid_from_features, inception_score, precision_recall
from ..models.generative.ddpm import HO_2020, NoiseSchedule
from ..registry import create_dataset, create_model, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = ["ImageDiffusionTask", "DDPMImages", "train_feature_classifier", "gaussian_image_samples"]

QUICK = extend_config(
    BASE_CONFIG,
    {
        "model": {
            "name": "ddpm_tiny",
            "kwargs": {
                "in_channels": 1,
                "image_size": 8,
                "ch": 32,
                "ch_mult": [1, 2],
                "num_res_blocks": 1,
                "attn_resolutions": [4],
                "dropout": 0.0,
            },
        },
        "data": {"name": "digits_images", "path": None, "kwargs": {"image_size": 8, "in_chans": 1}},
        "optim": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "warmup_steps": 100, "min_lr_ratio": 0.1},
        "train": {
            "steps": 1200,
            "batch_size": 64,
            "eval_batch_size": 512,
            "eval_every": 1200,
            "ckpt_every": 400,
            "log_every": 50,
            "grad_clip": 1.0,
            "ema_decay": 0.995,
        },
        "task": {
            "num_timesteps": 1000,
            "beta_schedule": "linear",
            "beta_start": 1e-4,
            "beta_end": 0.02,
            "var_type": "fixedlarge",
            "clip_denoised": True,
            "hflip": False,
            "eval_samples": 256,
            "eval_seed": 1234,
            "feature_net": "resnet_cifar_tiny",
            "feature_steps": 300,
            "feature_lr": 3e-3,
            "feature_batch": 64,
            "feature_run": None,
        },
    },
)

# The paper's CIFAR-10 run (§4 and Appendix B of Ho et al. 2020).
FULL = extend_config(
    QUICK,
    {
        "model": {"name": "ddpm_cifar10", "kwargs": {}},  # dropout 0.1 is the variant's default
        "data": {"name": "cifar10", "kwargs": {"val_fraction": 0.1}},
        "optim": {"name": "adam", "lr": 2e-4, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 5000, "min_lr_ratio": 0.0},
        "train": {
            "steps": 800_000,
            "batch_size": 128,
            "eval_batch_size": 256,
            "eval_every": 800_000,
            "ckpt_every": 10_000,
            "log_every": 100,
            "grad_clip": 1.0,
            "ema_decay": 0.9999,
            "num_workers": 4,
        },
        "task": {
            "hflip": True,
            "eval_samples": 50_000,
            "feature_net": "resnet20",
            "feature_steps": 32_000,
            "feature_lr": 1e-3,
        },
    },
)


def _to_unit_range(in_chans: int, hflip: bool) -> Compose:
    """uint8 → float in [-1, 1] (the paper scales pixels linearly to [-1, 1]), with optional random flips."""
    half = (0.5,) * in_chans
    steps = [RandomHorizontalFlip()] if hflip else []
    return Compose([*steps, ToFloat(), Normalize(half, half)])


def _all_images(dataset: Any) -> tuple[Tensor, Tensor]:
    """Every (image, label) of an in-memory image dataset as two tensors."""
    return dataset.get_batch(torch.arange(len(dataset)))


def train_feature_classifier(
    name: str, train: Any, *, num_classes: int, in_chans: int, steps: int, lr: float, seed: int, batch_size: int = 64
) -> nn.Module:
    """The feature network for FID: a paperzoo classifier trained with Adam on ``train`` for ``steps`` batches.

    Uses its own ``torch.Generator`` for batch order so that it leaves the global RNG as it found it.
    """
    model = create_model(name, num_classes=num_classes, in_chans=in_chans)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    state = torch.get_rng_state()
    model.train()
    for _ in progress(range(steps), desc="feature classifier"):
        idx = torch.randint(len(train), (batch_size,), generator=gen)
        x, y = train.get_batch(idx)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.set_rng_state(state)  # dropout / stochastic layers above drew from the global RNG
    return model.eval().requires_grad_(False)


def gaussian_image_samples(train: Tensor, num: int, seed: int) -> Tensor:
    """``num`` images from N(mean, covariance) of the flattened training images, clipped to [-1, 1]."""
    flat = train.flatten(1).double()
    mean, cov = flat.mean(0), torch.cov(flat.T)
    # A small ridge keeps the Cholesky factor defined where pixels never vary (digits' constant borders).
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(cov.shape[0], dtype=cov.dtype))
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num, flat.shape[1], generator=gen, dtype=torch.float64)
    return (mean + z @ chol.T).clamp(-1, 1).float().reshape(num, *train.shape[1:])


class ImageDiffusionTask(Task):
    """L_simple training (Algorithm 1) and sample-quality evaluation of ancestral samples (Algorithm 2).

    ``evaluate`` reports the loss on the split (t and ε from a seeded generator) and, from ``eval_samples``
    images sampled with a fixed seed, ``fid``/``precision``/``recall`` against the split's real images and the
    Inception Score, all on ``feature_model``'s features. Samples are cached per set of weights, so the
    validation and test evaluations of the same final weights sample once.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        feature_model: nn.Module,
        *,
        eval_samples: int,
        eval_seed: int = 1234,
        var_type: str = "fixedlarge",
        clip_denoised: bool = True,
        sample_batch: int = 512,
    ) -> None:
        if eval_samples < 4:
            raise ValueError(f"eval_samples must be >= 4 (got {eval_samples})")
        if var_type not in ("fixedlarge", "fixedsmall"):
            raise ValueError(f"var_type must be 'fixedlarge' or 'fixedsmall' (got {var_type!r})")
        self.schedule, self.feature_model = schedule, feature_model
        self.eval_samples, self.eval_seed, self.sample_batch = eval_samples, eval_seed, sample_batch
        self.var_type, self.clip_denoised = var_type, clip_denoised
        self.last_samples: Tensor | None = None
        self._cache_key: tuple[float, ...] | None = None

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        return StepOutput(self.schedule.loss_simple(model, batch[0]))  # Algorithm 1, lines 2-5

    @staticmethod
    def _fingerprint(model: nn.Module) -> tuple[float, ...]:
        return tuple(float(p.detach().double().sum()) for p in model.parameters())

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int, shape: tuple[int, ...]) -> Tensor:
        """``num`` images (num, *shape) in [-1, 1] by Algorithm 2, seeded with ``eval_seed``; on the CPU."""
        device = next(model.parameters()).device
        gen = torch.Generator(device=device).manual_seed(self.eval_seed)
        out = []
        for start in range(0, num, self.sample_batch):
            n = min(self.sample_batch, num - start)
            bar = lambda steps: progress(steps, total=self.schedule.num_timesteps, desc="sampling")  # noqa: E731
            x = self.schedule.sample(
                model,
                (n, *shape),
                gen,
                var_type=self.var_type,
                clip_denoised=self.clip_denoised,
                device=device,
                progress=bar,
            )
            out.append(x.clamp(-1, 1).cpu())
        return torch.cat(out)

    def samples_for(self, model: nn.Module, shape: tuple[int, ...]) -> Tensor:
        key = self._fingerprint(model)
        if self.last_samples is None or key != self._cache_key:
            self.last_samples, self._cache_key = self.sample(model, self.eval_samples, shape), key
        return self.last_samples

    def scores(self, real: Tensor, fake: Tensor) -> dict[str, float]:
        """FID, precision, recall and IS of ``fake`` against ``real`` on the feature network."""
        self.feature_model.to("cpu")
        real_f, _ = extract_features(self.feature_model, real)
        fake_f, fake_p = extract_features(self.feature_model, fake)
        k = 3  # Kynkäänniemi et al.'s neighbourhood size; a split with so few images gets no precision/recall
        enough = min(len(real_f), len(fake_f)) > k
        precision, recall = precision_recall(real_f, fake_f, k=k) if enough else (float("nan"), float("nan"))
        is_mean, _ = inception_score(fake_p, splits=min(10, len(fake_p)))
        return {"fid": fid_from_features(real_f, fake_f), "precision": precision, "recall": recall, "is": is_mean}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        gen, total, loss_sum, real = None, 0, 0.0, []
        for batch in batches:
            x0 = batch[0]
            gen = torch.Generator(device=x0.device).manual_seed(self.eval_seed) if gen is None else gen
            loss_sum += self.schedule.loss_simple(model, x0, generator=gen).item() * len(x0)
            total += len(x0)
            real.append(x0.cpu())
        out = {"loss": loss_sum / max(total, 1)}
        if real:
            images = torch.cat(real)
            out.update(self.scores(images, self.samples_for(model, tuple(images.shape[1:]))))
        return out


class DDPMImages(Recipe):
    """DDPM on image data, judged by FID on a trained classifier's features against a fitted Gaussian."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        data_cfg, task_cfg = config["data"], config["task"]
        kwargs = dict(data_cfg.get("kwargs") or {})
        if data_cfg.get("path") is not None:
            kwargs["path"] = data_cfg["path"]
        splits = create_dataset(data_cfg["name"], seed=int(config["seed"]), **kwargs)
        if not isinstance(splits, ImageSplits):
            raise ConfigError(f"recipe {self.name!r} needs an image dataset (got data.name={data_cfg['name']!r})")
        unit = _to_unit_range(splits.in_chans, hflip=False)
        splits = splits.with_transforms(train=_to_unit_range(splits.in_chans, bool(task_cfg["hflip"])), eval=unit)
        feature_model = self._feature_model(splits, task_cfg, int(config["seed"]))
        schedule = NoiseSchedule(
            int(task_cfg["num_timesteps"]),
            task_cfg["beta_schedule"],
            beta_start=float(task_cfg["beta_start"]),
            beta_end=float(task_cfg["beta_end"]),
        )
        task = ImageDiffusionTask(
            schedule,
            feature_model,
            eval_samples=int(task_cfg["eval_samples"]),
            eval_seed=int(task_cfg["eval_seed"]),
            var_type=task_cfg["var_type"],
            clip_denoised=bool(task_cfg["clip_denoised"]),
            sample_batch=int(config["train"]["eval_batch_size"]),
        )
        model = create_model(config["model"]["name"], **dict(config["model"]["kwargs"]))
        if getattr(model, "in_channels", splits.in_chans) != splits.in_chans:
            raise ConfigError(
                f"model.kwargs: the model takes {model.in_channels} channels but data {data_cfg['name']!r} has "
                f"{splits.in_chans}; set model.kwargs.in_channels={splits.in_chans}"
            )
        info = {"data": splits.source, "splits": splits}
        return Experiment(model, task, splits.train, splits.val, splits.test, info=info)

    @staticmethod
    def _feature_model(splits: ImageSplits, task_cfg: dict[str, Any], seed: int) -> nn.Module:
        if task_cfg.get("feature_run"):
            from ..engine.run import load_run

            _recipe, _config, exp = load_run(task_cfg["feature_run"])
            return exp.model.eval().requires_grad_(False)
        return train_feature_classifier(
            task_cfg["feature_net"],
            splits.train.with_transform(_to_unit_range(splits.in_chans, hflip=False)),
            num_classes=splits.num_classes,
            in_chans=splits.in_chans,
            steps=int(task_cfg["feature_steps"]),
            lr=float(task_cfg["feature_lr"]),
            seed=seed,
            batch_size=int(task_cfg["feature_batch"]),
        )

    def _baseline(self, exp: Experiment) -> dict[str, Any]:
        if "baseline" not in exp.info:
            task: ImageDiffusionTask = exp.task
            train, _ = _all_images(exp.train_set.with_transform(exp.test_set.transform))
            samples = gaussian_image_samples(train, task.eval_samples, task.eval_seed)
            test, _ = _all_images(exp.test_set)
            exp.info["baseline"] = {"samples": samples, **task.scores(test, samples)}
        return exp.info["baseline"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return self._baseline(exp)["fid"]

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        task: ImageDiffusionTask = exp.task
        base = self._baseline(exp)
        test, _ = _all_images(exp.test_set)
        val, _ = _all_images(exp.val_set)
        real = task.scores(test, val)  # held-out real images: the floor that this many samples allows
        keys = ("fid", "precision", "recall", "is")
        rows = [
            ["DDPM (EMA weights, Algorithm 2)", *(round(float(test_metrics[k]), 4) for k in keys)],
            ["Gaussian fitted to the training images", *(round(float(base[k]), 4) for k in keys)],
            ["real validation images", *(round(real[k], 4) for k in keys)],
        ]
        metrics = {f"baseline/{k}": float(base[k]) for k in keys}
        metrics.update({f"real/{k}": float(real[k]) for k in keys})
        if run_dir is not None and task.last_samples is not None:
            grids = {"DDPM samples": task.last_samples, "Gaussian baseline": base["samples"], "test": test}
            _plot_grids(grids, run_dir)
        table = {"columns": ["images", "FID ↓", "precision", "recall", "IS"], "rows": rows}
        title = "sample quality on our classifier's features (not Inception-v3: not comparable with the paper)"
        return Finish(metrics=metrics, tables={title: table})


def _plot_grids(images: dict[str, Tensor], run_dir: Path, count: int = 64) -> Path:
    """One 8×8 grid per image set, side by side."""
    from ..report.plots import _figure_cls

    fig = _figure_cls()(figsize=(4.0 * len(images), 4.2))
    axes = fig.subplots(1, len(images))
    for ax, (title, x) in zip(axes, images.items()):
        x = ((x[:count].clamp(-1, 1) + 1) / 2).float()
        n, c, h, w = x.shape
        side = int(n**0.5)
        grid = x[: side * side].reshape(side, side, c, h, w).permute(0, 3, 1, 4, 2).reshape(side * h, side * w, c)
        ax.imshow(grid.squeeze(-1).numpy(), cmap="gray" if c == 1 else None, vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    path = run_dir / "plots" / "samples.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


register_recipe(
    DDPMImages(
        name="ddpm_images",
        system="DDPM",
        paper=HO_2020,
        model="ddpm_cifar10",
        metric="fid",
        higher_is_better=False,
        baseline="Gaussian fitted to the training images (mean + full covariance)",
        claim="samples of the EMA U-Net are closer to held-out images (FID on our classifier) than a fitted Gaussian's",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            value=3.17,
            protocol="FID on CIFAR-10, 50k samples, Inception-v3 features (ours: our own classifier's features)",
            source="Ho et al. 2020, Table 1",
        ),
    )
)
