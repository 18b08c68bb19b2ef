"""GoogLeNet (Szegedy et al. 2014): Inception modules, auxiliary classifiers, far fewer parameters.

System: GoogLeNet (:mod:`paperzoo.models.vision.googlenet`). Claims checked: (1) on built-in data,
GoogLeNet (narrowed) trained with its two auxiliary classifiers (loss weight 0.3, dropped at
inference) beats a linear classifier on pixels; (2) its parameter count against AlexNet's and
VGG-16's, from the registry (the notes say 12× and 27× fewer; see docs/errata.md for what the
counts give).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.vision.googlenet import SZEGEDY_2014
from ..registry import count_params, register_recipe
from ._image import ImageRecipe, imagenet_config, quick_config, registry_params_table
from .base import Experiment, Finish, PaperNumber

QUICK = quick_config("googlenet_tiny", 64, steps=500, optim={"name": "adamw", "lr": 1e-3, "weight_decay": 5e-4})
# §6: asynchronous SGD with momentum 0.9, lr decreased by 4% every 8 epochs, Polyak averaging for the
# final model; crops of 8%-100% of the image with aspect ratio in [3/4, 4/3] and photometric
# distortions. The initial lr, batch size and epochs are not given: lr 0.01, batch 256, 250 epochs.
FULL = imagenet_config(
    QUICK,
    "googlenet",
    image_size=224,
    batch_size=256,
    epochs=250,
    data={"train_transform": "inception"},
    optim={"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
    schedule={"name": "step", "warmup_steps": 0, "step_size": 8 * 5005, "gamma": 0.96},
)


class GoogLeNetRecipe(ImageRecipe):
    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        names = ["googlenet_noaux", "googlenet", "googlenet_paper", "alexnet", "alexnet_paper", "vgg16"]
        table = registry_params_table(names, "googlenet_noaux")
        inference = count_params("googlenet_noaux")
        metrics = {
            "alexnet_over_googlenet": count_params("alexnet") / inference,
            "vgg16_over_googlenet": count_params("vgg16") / inference,
        }
        return Finish(metrics=metrics, tables={"parameters (auxiliary heads are dropped at inference)": table})


register_recipe(
    GoogLeNetRecipe(
        name="googlenet_shapes",
        system="GoogLeNet",
        paper=SZEGEDY_2014,
        model="googlenet",
        metric="acc@5",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="GoogLeNet with 0.3-weighted auxiliary heads beats a linear classifier; 9x fewer params than AlexNet",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.8993, "ILSVRC-2014 val top-5, one model, one crop (error 10.07%)", "Szegedy et al. 2014, Table 5"
        ),
    )
)
