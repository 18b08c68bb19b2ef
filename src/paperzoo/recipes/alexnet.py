"""AlexNet (Krizhevsky, Sutskever & Hinton 2012): a deep CNN beats a linear classifier on pixels.

System: AlexNet (:mod:`paperzoo.models.vision.alexnet`). Claim checked on built-in data: the
paper's network (grouped convolutions, local response normalisation, overlapping pooling, dropout),
narrowed to ``alexnet_tiny``, learns the procedural ``shapes`` classes (shape × texture at random
pose, colour and polarity) that a linear classifier on pixels cannot. The full config is §5's
ImageNet protocol with the paper's two-tower network.
"""

from __future__ import annotations

from ..models.vision.alexnet import KRIZHEVSKY_2012
from ..registry import register_recipe
from ._image import ImageRecipe, imagenet_config, quick_config
from .base import PaperNumber

# The narrowed network keeps PyTorch's default initialisation: §5's N(0, 0.01) is scaled for the full widths
# (fan-in up to 9,216) and lets the signal vanish at 1/6 width; dropout 0.5 on 64-wide FC layers stalls
# training, so it is 0.1. AdamW replaces SGD for a one-minute run.
QUICK = quick_config(
    "alexnet_tiny",
    64,
    steps=500,
    model={"kwargs": {"init": "torch", "drop_rate": 0.1}},
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 5e-4},
)
# §5: SGD, batch 128, momentum 0.9, weight decay 5e-4, lr 0.01 divided by 10 when the validation error
# stopped improving (three times), about 90 epochs; §4.1: random 224 crops of the 256 image + flips +
# PCA lighting; test: the ten-patch average. The plateau schedule is replaced by fixed drops at epochs
# 30/60/80 (the paper gives no epochs for them).
FULL = imagenet_config(
    QUICK,
    "alexnet_paper",
    image_size=224,
    batch_size=128,
    epochs=90,
    data={"train_transform": "alexnet", "eval_transform": "ten_crop"},
    optim={"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [30 * 10009, 60 * 10009, 80 * 10009]},
)

register_recipe(
    ImageRecipe(
        name="alexnet_shapes",
        system="AlexNet",
        paper=KRIZHEVSKY_2012,
        model="alexnet_paper",
        metric="acc",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="the paper's CNN (narrowed) beats a linear classifier on pixels on shape-and-texture images",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.593, "ILSVRC-2012 val top-1, one CNN, ten-patch test", "Krizhevsky et al. 2012, Table 2"
        ),
    )
)
