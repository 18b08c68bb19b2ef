"""Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture"): factorised convolutions,
efficient grid reduction, a batch-normalised auxiliary head and label smoothing.

System: Inception v2/v3 (:mod:`paperzoo.models.vision.inception_v3`). Claim checked on built-in
data: Inception v3 (1/16 width, the shapes upscaled to 139×139) trained with label smoothing
ε = 0.1 beats a linear classifier on pixels. The full config
is §8's protocol.
"""

from __future__ import annotations

from ..models.vision.inception_v3 import SZEGEDY_2016
from ..registry import register_recipe
from ._image import ImageRecipe, imagenet_config, quick_config
from .base import PaperNumber

# The auxiliary head needs the 17×17 grid of a 299×299 input; a 299 run at 1/16 width costs 0.8 s per step
# on a CPU core, so the quick run trains without it at 139×139 (the full config trains with it, weight 0.4).
QUICK = quick_config(
    "inception_v3_tiny",
    139,
    steps=300,
    model={"kwargs": {"aux_logits": False}},
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 5e-4},
    train={"batch_size": 32},
    task={"label_smoothing": 0.1},
)
# §8: RMSProp with decay 0.9 and ε = 1.0, lr 0.045 decayed every two epochs by 0.94, gradient clipping
# at 2.0, batch 32 on each of 50 replicas (1,600), 100 epochs; §7: label smoothing ε = 0.1.
FULL = imagenet_config(
    QUICK,
    "inception_v3",
    image_size=299,
    batch_size=1600,
    epochs=100,
    data={"train_transform": "inception", "eval_transform": "inception"},
    optim={"name": "rmsprop", "lr": 0.045, "alpha": 0.9, "eps": 1.0, "momentum": 0.0, "weight_decay": 4e-5},
    schedule={"name": "step", "warmup_steps": 0, "step_size": 2 * 801, "gamma": 0.94},
    train={"grad_clip": 2.0},
    task={"label_smoothing": 0.1},
)

register_recipe(
    ImageRecipe(
        name="inception_v3_shapes",
        system="Inception v2/v3",
        paper=SZEGEDY_2016,
        model="inception_v3",
        metric="acc",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="Inception v3 trained with label smoothing (ε = 0.1) beats a linear classifier on pixels",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.788, "ILSVRC-2012 val top-1, single model, single crop (error 21.2%)", "Szegedy et al. 2016, Table 3"
        ),
    )
)
