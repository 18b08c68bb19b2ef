"""Inception-v4 and Inception-ResNet-v2 (Szegedy et al. 2017): residual connections speed up Inception training.

System: Inception v4 (:mod:`paperzoo.models.vision.inception_v4`). Claims checked on built-in data:
Inception-v4 (narrowed) beats a linear classifier on pixels, and Inception-ResNet-v2, trained with
the same data, budget and schedule in :meth:`finish`, reaches a lower training loss (§4/Fig. 24-26:
"residual connections ... accelerate the training of Inception networks significantly").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.vision.inception_v4 import SZEGEDY_2017
from ..registry import register_recipe
from ..report.plots import metric_series
from ._image import ImageRecipe, imagenet_config, params_of, plot_curves, quick_config
from .base import Experiment, Finish, PaperNumber

QUICK = quick_config(
    "inception_v4_tiny",
    139,
    steps=200,
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 5e-4},
    train={"batch_size": 32},
)
# §4: RMSProp with decay 0.9 and ε = 1.0, lr 0.045 decayed every two epochs by 0.94, 20 replicas;
# batch size and epochs are not stated: batch 32 × 20 replicas and 100 epochs (as Inception v3).
FULL = imagenet_config(
    QUICK,
    "inception_v4",
    image_size=299,
    batch_size=640,
    epochs=100,
    data={"train_transform": "inception", "eval_transform": "inception"},
    optim={"name": "rmsprop", "lr": 0.045, "alpha": 0.9, "eps": 1.0, "momentum": 0.0, "weight_decay": 4e-5},
    schedule={"name": "step", "warmup_steps": 0, "step_size": 2 * 2002, "gamma": 0.94},
    train={"grad_clip": 2.0},
)


class InceptionV4Recipe(ImageRecipe):
    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        name = "inception_resnet_v2_tiny" if config["model"]["name"].endswith("_tiny") else "inception_resnet_v2"
        other, metrics, losses = self.train_other(exp, config, name, dict(config["model"]["kwargs"]))
        tail = max(1, len(losses) // 5)
        main_losses = metric_series(run_dir, "train", "loss")[1].tolist()
        out = {
            f"test_acc/{name}": metrics["acc"],
            f"final_train_loss/{name}": sum(losses[-tail:]) / tail,
        }
        if main_losses:
            out[f"final_train_loss/{config['model']['name']}"] = sum(main_losses[-tail:]) / len(main_losses[-tail:])
        if run_dir is not None and main_losses:
            curves = {config["model"]["name"]: main_losses, name: losses}
            plot_curves(curves, run_dir / "plots" / "residual_vs_plain_inception.png", title="training loss")
        rows = [
            [config["model"]["name"], params_of(exp.model), round(test_metrics["acc"], 4)],
            [name, params_of(other), round(metrics["acc"], 4)],
        ]
        table = {"columns": ["network", "params", "test acc"], "rows": rows}
        return Finish(metrics=out, tables={"Inception-v4 vs Inception-ResNet-v2": table})


register_recipe(
    InceptionV4Recipe(
        name="inception_v4_shapes",
        system="Inception v4",
        paper=SZEGEDY_2017,
        model="inception_v4",
        metric="acc",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="Inception-v4 beats a linear classifier on pixels; Inception-ResNet-v2 trains faster on the same budget",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.800, "ILSVRC-2012 val top-1, single model, single crop (error 20.0%)", "Szegedy et al. 2017, Table 2"
        ),
    )
)
