"""ViT (Dosovitskiy et al. 2020) on small data: it beats a linear classifier but trails a ResNet.

System: ViT (:mod:`paperzoo.models.vision.vit`). Claim checked on built-in data (§4.2 and the
notes' point about inductive bias): trained from scratch on a few thousand images, a small ViT
beats a linear classifier on pixels but trails a ResNet of similar size trained with the same data,
steps and optimiser, because it lacks the convolution's locality and translation equivariance and
needs more data to learn them. In the quick run (800 steps on 6,000 images, 4×4 patches) the ViT only
just leaves chance while the ResNet reaches about 80%. Full config: ViT-B/16 trained on ImageNet-1k
(Table 3's protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.vision.vit import VIT_2020
from ..registry import register_recipe
from ._image import ImageRecipe, imagenet_config, params_of, quick_config
from .base import Experiment, Finish, PaperNumber

QUICK = quick_config(
    "vit_tiny",
    32,
    steps=800,
    model={"kwargs": {"patch_size": 4}},
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 5e-4},
    schedule={"name": "cosine", "warmup_steps": 80},
    compare={"model": "resnet_cifar_tiny", "kwargs": {}, "optim": {"name": "adamw", "lr": 2e-3, "weight_decay": 5e-4}},
)
# Table 3 (ImageNet-1k from scratch): Adam β = (0.9, 0.999), batch 4096, lr 3e-3, weight decay 0.3,
# dropout 0.1, 10k warm-up steps then cosine decay, 300 epochs, gradient clipping at global norm 1.
FULL = imagenet_config(
    QUICK,
    "vit_b16",
    image_size=224,
    batch_size=4096,
    epochs=300,
    model={"kwargs": {"pos_drop_rate": 0.1, "proj_drop_rate": 0.1}},
    optim={"name": "adamw", "lr": 3e-3, "weight_decay": 0.3, "betas": [0.9, 0.999]},
    schedule={"name": "cosine", "warmup_steps": 10000},
    train={"grad_clip": 1.0},
    compare={"model": "resnet50", "optim": {"name": "sgd", "lr": 0.1, "weight_decay": 1e-4}},
)


class ViTRecipe(ImageRecipe):
    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        cmp = config["compare"]
        cnn_config = {**config, "optim": {**config["optim"], **cmp["optim"]}}
        cnn, metrics, _ = self.train_other(exp, cnn_config, cmp["model"], dict(cmp["kwargs"]))
        rows = [
            [config["model"]["name"], params_of(exp.model), round(test_metrics["acc"], 4)],
            [cmp["model"], params_of(cnn), round(metrics["acc"], 4)],
            ["linear classifier on pixels", None, round(self.baseline_value(exp, config), 4)],
        ]
        out = {f"test_acc/{cmp['model']}": metrics["acc"], "vit_minus_cnn": test_metrics["acc"] - metrics["acc"]}
        table = {"columns": ["network", "params", "test acc"], "rows": rows}
        return Finish(metrics=out, tables={"ViT vs a ResNet of similar size, same data and steps": table})


register_recipe(
    ViTRecipe(
        name="vit_shapes",
        system="ViT",
        paper=VIT_2020,
        model="vit_b16",
        metric="acc",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="on small data ViT beats a linear classifier but trails a ResNet of similar size (inductive bias)",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.779,
            "ImageNet-1k val top-1, ViT-B/16 trained on ImageNet-1k only, fine-tuned at 384",
            "Dosovitskiy et al. 2020, Table 5 / Fig. 3 (as quoted by DeiT Table 7)",
        ),
    )
)
