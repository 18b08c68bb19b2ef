"""MViT (Fan et al. 2021, "Multiscale Vision Transformers", arXiv:2104.11227): pooling attention and multiscale
stages (resolution down, channels up).

System: MViT (:mod:`paperzoo.models.video.mvit`). Claim checked on built-in data: MViT trained from scratch beats
a 2D network that sees one frame of each clip, which stays near chance on the motion-only ``moving_shapes``
classes. The cost table gives MViT-B 16×4 and 32×3 at their clip sizes.

Full config: MViT-B 16×4 on Kinetics-400 from scratch, 16 frames at stride 4, 224² crops, 5 clips × 1 crop.
"""

from __future__ import annotations

from ..models.video.mvit import MVIT_2021
from ..registry import register_recipe
from ._video import VideoRecipe, kinetics_config, quick_config
from .base import PaperNumber

# AdamW at 3e-4: at 1e-3 or 3e-3 the loss stayed at chance for 1,500 steps; at 3e-4 it leaves it by step ~400.
QUICK = quick_config("mvit_tiny", steps=1000, optim={"name": "adamw", "lr": 3e-4, "weight_decay": 0.05})
# The authors' release (PySlowFast configs/Kinetics/MVIT_B_16x4_CONV.yaml): 16 frames at stride 4, 224 crops; AdamW,
# batch 16, base lr 1e-4, half-period cosine after 30 warm-up epochs, 200 epochs, weight decay 0.05, gradient clipping
# at 1.0, drop path 0.2, label smoothing 0.1 (mixup/cutmix, RandAugment, random erasing and repeated augmentation are
# left out). Test: 5 clips × 1 centre crop.
FULL = kinetics_config(
    QUICK,
    "mvit_base_16x4",
    clip_frames=16,
    frame_stride=4,
    image_size=224,
    batch_size=16,
    epochs=200,
    eval_transform="centre",
    test_clips=5,
    optim={"name": "adamw", "lr": 1e-4, "weight_decay": 0.05},
    schedule={"name": "cosine", "warmup_steps": 30 * 15_000},
    train={"grad_clip": 1.0},
    task={"label_smoothing": 0.1},
)

register_recipe(
    VideoRecipe(
        name="mvit_shapes",
        system="MViT",
        paper=MVIT_2021,
        model="mvit_base_16x4",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="MViT beats a single-frame 2D network, which stays near chance on motion-only classes",
        configs={"quick": QUICK, "full": FULL},
        geometry=("num_frames", "img_size"),
        costs=(("MViT-B 16×4", "mvit_base_16x4", {}), ("MViT-B 32×3", "mvit_base_32x3", {})),
        paper_number=PaperNumber(
            0.784,
            "Kinetics-400 val top-1 of MViT-B 16×4 from scratch, 5 clips × 1 crop",
            "PySlowFast MODEL_ZOO.md (the authors' release of the paper's model)",
        ),
    )
)
