"""VGG (Simonyan & Zisserman 2014): stacks of 3×3 convolutions.

System: VGG (:mod:`paperzoo.models.vision.vgg`). Claims checked: (1) on built-in data, a VGG
network (configuration A, narrowed, with batch norm) beats a linear classifier on pixels; (2) §2.3's
argument, measured rather than asserted: a stack of n 3×3 convolutions sees a (2n+1)×(2n+1) field
(from the gradient of one output pixel, :func:`~paperzoo.models.vision.vgg.stacked_conv_receptive_field`)
with n·9C² weights against (2n+1)²C² for one large kernel (28% fewer for two layers, 45% for three).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.vision.vgg import SIMONYAN_2014, conv_stack_params, stacked_conv_receptive_field
from ..registry import register_recipe
from ._image import ImageRecipe, imagenet_config, quick_config, registry_params_table
from .base import Experiment, Finish, PaperNumber

QUICK = quick_config("vgg_tiny", 32, steps=800, optim={"name": "adamw", "lr": 2e-3, "weight_decay": 5e-4})
# §3.1: batch 256, momentum 0.9, weight decay 5e-4, dropout 0.5 in the first two FC layers, lr 0.01
# divided by 10 three times when the validation accuracy stopped improving, 370K iterations (74
# epochs). Scale jittering S ∈ [256, 512] is approximated by random-resized crops; the drops at
# epochs 30/50/65 stand in for the plateau rule.
FULL = imagenet_config(
    QUICK,
    "vgg16",
    image_size=224,
    batch_size=256,
    epochs=74,
    optim={"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [30 * 5005, 50 * 5005, 65 * 5005]},
)


class VGGRecipe(ImageRecipe):
    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        c = 64
        rows = []
        for n in (1, 2, 3):
            field = stacked_conv_receptive_field(n, 3)
            stacked, single = conv_stack_params(n, 3, c), conv_stack_params(1, field, c)
            rows.append([n, f"{field}×{field}", stacked, single, round(1 - stacked / single, 3)])
        field_table = {
            "columns": ["3×3 layers", "receptive field", f"weights (C={c})", "one conv of that size", "saved"],
            "rows": rows,
        }
        metrics = {
            "weights_saved_2x3x3": 1 - rows[1][2] / rows[1][3],
            "weights_saved_3x3x3": 1 - rows[2][2] / rows[2][3],
        }
        params = registry_params_table(["vgg11", "vgg13", "vgg16", "vgg19"], "vgg11")
        return Finish(metrics=metrics, tables={"stacked 3×3 convolutions (§2.3)": field_table, "VGG sizes": params})


register_recipe(
    VGGRecipe(
        name="vgg_shapes",
        system="VGG",
        paper=SIMONYAN_2014,
        model="vgg16",
        metric="acc",
        higher_is_better=True,
        baseline="linear classifier on pixels",
        claim="a VGG net beats a linear classifier on pixels; two stacked 3×3 convs see 5×5 with 28% fewer weights",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            0.730, "ILSVRC-2012 val top-1, VGG-16 (D), S=256, single scale Q=256", "Simonyan & Zisserman 2014, Table 3"
        ),
    )
)
