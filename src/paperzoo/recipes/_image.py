"""What the image-classification recipes share: data and transforms from the config, the linear baseline,
and training extra networks (a plain twin, a shallower net, a ResNet to compare a ViT with) on the
same data and budget as the recipe's own model.

Config (beyond :data:`~paperzoo.recipes.base.BASE_CONFIG`)::

    data:
      name: shapes             # a registered image dataset (built-in, or a reader that needs --data PATH)
      kwargs: {}               # passed to the dataset (sizes, fractions, ...)
      image_size: 32           # side of the images the transforms produce
      train_transform: flip    # none | flip | cifar | imagenet | alexnet | inception
      eval_transform: none     # none | cifar | imagenet | ten_crop | inception
    task:
      label_smoothing: 0.0     # Inception v3's regulariser (ε = 0.1 in the paper)
      filter_renorm: 0.0       # ZFNet: renormalise conv filters whose RMS exceeds this after each step
    baseline:
      max_train: 10000         # examples the linear baseline is fitted on
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import transforms as T
from ..data.images import ImageSplits
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import ClassificationTask, StepOutput, Task
from ..engine.trainer import Trainer, eval_batches
from ..registry import create_dataset, create_model, get_dataset_entry
from .base import BASE_CONFIG, Experiment, Recipe

__all__ = ["IMAGE_CONFIG", "ImageRecipe", "RecordingTask", "build_image_data", "linear_probe_accuracy"]

IMAGE_CONFIG: dict[str, Any] = extend_config(
    BASE_CONFIG,
    {
        "data": {
            "name": "shapes",
            "path": None,
            "kwargs": {},
            "image_size": 32,
            "train_transform": "flip",
            "eval_transform": "none",
        },
        "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "alpha": 0.9},
        "schedule": {"name": "cosine", "warmup_steps": 20},
        "train": {"steps": 300, "batch_size": 64, "eval_every": 100, "ckpt_every": 100, "eval_batch_size": 256},
        "task": {"label_smoothing": 0.0, "filter_renorm": 0.0},
        "baseline": {"max_train": 10000},
    },
)


def _train_transform(name: str, size: int) -> T.Transform | None:
    if name == "none":
        return None
    if name == "flip":
        return T.Compose([T.RandomHorizontalFlip(), T.ToFloat()])
    if name == "cifar":  # ResNet §4.2: pad 4, random 32×32 crop, flip
        return T.cifar_train_transform(size)
    if name == "imagenet":  # GoogLeNet's random-resized crop + flip (torchvision's reference recipe)
        return T.imagenet_train_transform(size)
    if name == "inception":  # Inception v3/v4: the same crops at 299 with colour distortion
        return T.imagenet_train_transform(size, color_jitter=0.4)
    if name == "alexnet":  # AlexNet §4.1: random 224 crops of the 256 image, flips, PCA lighting (σ = 0.1)
        return T.Compose(
            [
                T.Resize(256),
                T.CenterCrop(256),
                T.RandomCrop(size),
                T.RandomHorizontalFlip(),
                T.ToFloat(),
                T.PCALighting(0.1),
                T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD),
            ]
        )
    raise ConfigError(
        f"data.train_transform must be one of none, flip, cifar, imagenet, inception, alexnet (got {name!r})"
    )


def _eval_transform(name: str, size: int) -> T.Transform | None:
    if name == "none":
        return None
    if name == "cifar":
        return T.cifar_eval_transform()
    if name == "imagenet":
        return T.imagenet_eval_transform(size, resize=round(size * 256 / 224))
    if name == "ten_crop":  # AlexNet's test protocol: average the softmax over ten patches
        return T.ten_crop_eval_transform(size, resize=round(size * 256 / 224))
    if name == "inception":
        return T.inception_eval_transform(size)
    raise ConfigError(f"data.eval_transform must be one of none, cifar, imagenet, ten_crop, inception (got {name!r})")


def build_image_data(config: dict[str, Any]) -> ImageSplits:
    """The image splits named by ``config["data"]`` with its train/eval transforms."""
    cfg = config["data"]
    entry = get_dataset_entry(cfg["name"])
    size = int(cfg["image_size"])
    kwargs = dict(cfg.get("kwargs") or {})
    kwargs["train_transform"] = _train_transform(cfg["train_transform"], size)
    kwargs["eval_transform"] = _eval_transform(cfg["eval_transform"], size)
    if entry.builtin:
        kwargs.setdefault("seed", int(config["seed"]))
    else:
        if not cfg.get("path"):
            raise ConfigError(f"dataset {cfg['name']!r} is read from files: give its location with --data PATH")
        kwargs["path"] = cfg["path"]
    splits = create_dataset(cfg["name"], **kwargs)
    if not isinstance(splits, ImageSplits):
        raise ConfigError(f"dataset {cfg['name']!r} is not an image classification dataset")
    return splits


class RecordingTask(Task):
    """Wraps a task and records every training loss (the curves of networks trained inside a recipe)."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.losses: list[float] = []

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        out = self.task.training_step(model, batch)
        self.losses.append(float(out.loss.detach()))
        return out

    def evaluate(self, model: nn.Module, batches: Any) -> dict[str, float]:
        return self.task.evaluate(model, batches)


class FilterRenormTask(ClassificationTask):
    """ZFNet §3: "renormalize each filter in the convolutional layers whose RMS value exceeds a fixed
    radius of 10^-1 to this fixed radius". Applied to the weights used by the next step."""

    def __init__(self, radius: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.radius = radius

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        module = getattr(model, "module", model)
        if hasattr(module, "renormalize_filters_"):
            module.renormalize_filters_(self.radius)
        return super().training_step(model, batch)


def _images(x: Tensor) -> Tensor:
    return x.flatten(0, 1) if x.dim() == 5 else x  # (B, crops, C, H, W) → (B·crops, C, H, W)


def linear_probe_accuracy(splits: ImageSplits, *, max_train: int, batch_size: int = 512, steps: int = 200) -> float:
    """Test accuracy of a multinomial logistic regression on raw pixels (the "linear classifier" baseline).

    Fitted with L-BFGS on up to ``max_train`` training images read through the evaluation transform, with
    a small L2 penalty; multi-crop test images average the softmax over crops.
    """
    train = splits.train.with_transform(splits.test.transform) if hasattr(splits.test, "transform") else splits.train
    xs, ys, n = [], [], 0
    for x, y in eval_batches(train, batch_size):
        x = x.mean(1) if x.dim() == 5 else x
        xs.append(x.flatten(1))
        ys.append(y)
        n += len(y)
        if n >= max_train:
            break
    x, y = torch.cat(xs)[:max_train], torch.cat(ys)[:max_train]
    mean, std = x.mean(0), x.std(0).clamp_min(1e-3)
    linear = nn.Linear(x.shape[1], splits.num_classes)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    opt = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")
    xn = (x - mean) / std

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(linear(xn), y) + 1e-4 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    correct = total = 0
    with torch.no_grad():
        for x, y in eval_batches(splits.test, batch_size):
            crops = x.shape[1] if x.dim() == 5 else 1
            probs = linear((_images(x).flatten(1) - mean) / std).softmax(-1)
            probs = probs.view(len(y), crops, -1).mean(1)
            correct += int((probs.argmax(-1) == y).sum())
            total += len(y)
    return correct / max(total, 1)


class ImageRecipe(Recipe):
    """An image classifier trained with cross-entropy; judged by top-1 accuracy against a linear classifier.

    Subclasses add their paper's claim in :meth:`finish`.
    """

    def setup(self, config: dict[str, Any]) -> Experiment:
        splits = build_image_data(config)
        kwargs = dict(config["model"]["kwargs"])
        kwargs.setdefault("num_classes", splits.num_classes)
        kwargs.setdefault("in_chans", splits.in_chans)
        model = create_model(config["model"]["name"], **kwargs)
        task_cfg = config["task"]
        topk = (1, 5) if splits.num_classes > 5 else (1,)
        common = dict(label_smoothing=float(task_cfg["label_smoothing"]), topk=topk)
        radius = float(task_cfg.get("filter_renorm", 0.0))
        task = FilterRenormTask(radius, **common) if radius > 0 else ClassificationTask(**common)
        info = {"data": splits.source, "splits": splits, "num_classes": splits.num_classes}
        return Experiment(model, task, splits.train, splits.val, splits.test, info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        if "linear_acc" not in exp.info:
            max_train = int(config.get("baseline", {}).get("max_train", 10000))
            exp.info["linear_acc"] = linear_probe_accuracy(exp.info["splits"], max_train=max_train)
        return exp.info["linear_acc"]

    def train_other(
        self, exp: Experiment, config: dict[str, Any], model_name: str, model_kwargs: dict[str, Any] | None = None
    ) -> tuple[nn.Module, dict[str, float], list[float]]:
        """Train another registered model on the recipe's data with the recipe's config (same seed, steps,
        optimizer and schedule); returns the model, its test metrics and its per-step training losses."""
        device = next(exp.model.parameters()).device
        cfg = copy.deepcopy(config)
        kwargs = {"num_classes": exp.info["num_classes"], **(model_kwargs or {})}
        kwargs.setdefault("in_chans", getattr(exp.model, "in_chans", 3))
        torch.manual_seed(int(cfg["seed"]))
        model = create_model(model_name, **kwargs)
        task = RecordingTask(exp.task)
        trainer = Trainer(
            model=model,
            task=task,
            train_set=exp.train_set,
            val_set=None,
            config=cfg,
            run_dir=None,
            device=device,
            metric=self.metric,
            higher_is_better=self.higher_is_better,
            quiet=True,
        )
        trainer.fit()
        metrics = trainer.evaluate(exp.test_set)
        return trainer.module, metrics, task.losses


def params_of(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def plot_curves(curves: dict[str, list[float]], path: Path, *, title: str, ylabel: str = "training loss") -> Path:
    """Smoothed per-step training curves of several networks on one axis."""
    from ..report.plots import _figure_cls, moving_average

    fig = _figure_cls()(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for name, values in curves.items():
        v = torch.tensor(values).numpy()
        window = max(1, len(v) // 20)
        ax.plot(range(window, len(v) + 1), moving_average(v, window), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
