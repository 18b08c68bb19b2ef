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
      filter_renorm: false     # ZFNet: renormalise conv filters whose RMS exceeds 0.1 after each step
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
from ..engine.trainer import Trainer, eval_batches, iterate_batches
from ..registry import create_dataset, create_model, get_dataset_entry
from .base import BASE_CONFIG, Experiment, Recipe

__all__ = [
    "IMAGE_CONFIG",
    "ImageRecipe",
    "RecordingTask",
    "build_image_data",
    "linear_probe_accuracy",
    "quick_config",
    "imagenet_config",
    "registry_params_table",
]

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
        "task": {"label_smoothing": 0.0, "filter_renorm": False},
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
    native = int(kwargs.get("image_size", size))
    if entry.builtin and native != size:  # built-in images rendered small, upscaled to the model's input size
        up = T.Resize((size, size))
        kwargs["train_transform"] = T.Compose([up, *([kwargs["train_transform"]] if kwargs["train_transform"] else [])])
        kwargs["eval_transform"] = T.Compose([up, *([kwargs["eval_transform"]] if kwargs["eval_transform"] else [])])
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
    radius of 10^-1 to this fixed radius" (the model's ``renormalize_filters_``), applied to the weights
    each step uses, i.e. after every update."""

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        module = getattr(model, "module", model)
        if not hasattr(module, "renormalize_filters_"):
            raise ValueError(f"task.filter_renorm is set but {type(module).__name__} has no renormalize_filters_")
        with torch.no_grad():
            module.renormalize_filters_()
        return super().training_step(model, batch)


def _images(x: Tensor) -> Tensor:
    return x.flatten(0, 1) if x.dim() == 5 else x  # (B, crops, C, H, W) → (B·crops, C, H, W)


def _pixels(x: Tensor, max_side: int) -> Tensor:
    """Flattened pixels, average-pooled to at most ``max_side`` per side (ImageNet-size inputs stay tractable)."""
    if max(x.shape[-2:]) > max_side:
        x = F.adaptive_avg_pool2d(x, (min(x.shape[-2], max_side), min(x.shape[-1], max_side)))
    return x.flatten(1)


def linear_probe_accuracy(
    splits: ImageSplits, *, max_train: int, batch_size: int = 512, steps: int = 200, max_side: int = 32
) -> dict[str, float]:
    """Top-1 and top-5 test accuracy of a multinomial logistic regression on raw pixels (the "linear
    classifier" baseline).

    Fitted with L-BFGS on up to ``max_train`` training images (a seeded random subset) read through the
    evaluation transform (pixels average-pooled to at most ``max_side``² per channel), with a small L2
    penalty; multi-crop test images average the softmax over crops.
    """
    train = splits.train.with_transform(splits.test.transform) if hasattr(splits.test, "transform") else splits.train
    # A seeded random subset: readers keep class-folder order, so the first max_train images could be a few classes.
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:max_train].tolist()
    xs, ys = [], []
    for x, y in iterate_batches(train, [order[i : i + batch_size] for i in range(0, len(order), batch_size)]):
        x = x.mean(1) if x.dim() == 5 else x
        xs.append(_pixels(x, max_side))
        ys.append(y)
    x, y = torch.cat(xs), torch.cat(ys)
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
    top1 = top5 = total = 0
    k = min(5, splits.num_classes)
    with torch.no_grad():
        for x, y in eval_batches(splits.test, batch_size):
            crops = x.shape[1] if x.dim() == 5 else 1
            probs = linear((_pixels(_images(x), max_side) - mean) / std).softmax(-1)
            probs = probs.view(len(y), crops, -1).mean(1)
            top = probs.topk(k, dim=-1).indices
            top1 += int((top[:, 0] == y).sum())
            top5 += int((top == y[:, None]).any(-1).sum())
            total += len(y)
    return {"acc": top1 / max(total, 1), "acc@5": top5 / max(total, 1)}


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
        # sample_ndim=4: a 5-D evaluation batch holds crops of each image (ten-crop testing).
        common = dict(label_smoothing=float(task_cfg["label_smoothing"]), topk=topk, sample_ndim=4)
        task = FilterRenormTask(**common) if task_cfg.get("filter_renorm") else ClassificationTask(**common)
        info = {"data": splits.source, "splits": splits, "num_classes": splits.num_classes}
        return Experiment(model, task, splits.train, splits.val, splits.test, info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        if "linear" not in exp.info:
            max_train = int(config.get("baseline", {}).get("max_train", 10000))
            exp.info["linear"] = linear_probe_accuracy(exp.info["splits"], max_train=max_train)
        return exp.info["linear"][self.metric]

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


#: ImageNet-1k (ILSVRC-2012) training images, for the full configs' epoch arithmetic.
IMAGENET_TRAIN_IMAGES = 1_281_167


def epochs_to_steps(epochs: float, batch_size: int, images: int = IMAGENET_TRAIN_IMAGES) -> int:
    return max(1, round(epochs * images / batch_size))


def quick_config(model_name: str, image_size: int, *, steps: int = 300, native_size: int = 32, **sections: Any) -> dict:
    """A quick config on the built-in ``shapes`` images (rendered at ``native_size``, resized to ``image_size``)."""
    base = extend_config(
        IMAGE_CONFIG,
        {
            "model": {"name": model_name, "kwargs": {}},
            "data": {"name": "shapes", "kwargs": {"image_size": native_size}, "image_size": image_size},
            "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4},
            "schedule": {"name": "cosine", "warmup_steps": 20},
            "train": {"steps": steps, "eval_every": steps // 2, "ckpt_every": steps // 2},
        },
    )
    return extend_config(base, sections)


def imagenet_config(
    quick: dict, model_name: str, *, image_size: int, batch_size: int, epochs: float, **sections: Any
) -> dict:
    """A full config on ImageNet-1k in class folders (``--data PATH``), the paper's hyperparameters in ``sections``."""
    steps = epochs_to_steps(epochs, batch_size)
    base = extend_config(
        quick,
        {
            "model": {"name": model_name, "kwargs": {}},
            "data": {
                "name": "image_folder",
                "kwargs": {},
                "image_size": image_size,
                "train_transform": "imagenet",
                "eval_transform": "imagenet",
            },
            "train": {
                "steps": steps,
                "batch_size": batch_size,
                "eval_every": epochs_to_steps(1, batch_size),
                "ckpt_every": epochs_to_steps(1, batch_size),
                "log_every": 100,
                "num_workers": 8,
                "amp": True,
            },
        },
    )
    return extend_config(base, sections)


def registry_params_table(names: list[str], reference: str) -> dict[str, Any]:
    """Parameter counts from the registry (meta device) and their ratio to ``reference``'s."""
    from ..registry import count_params

    counts = {name: count_params(name) for name in names}
    rows = [[name, counts[name], round(counts[name] / counts[reference], 2)] for name in names]
    return {"columns": ["model", "parameters", f"÷ {reference}"], "rows": rows}
