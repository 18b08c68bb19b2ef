"""T3D (Diba et al. 2017, "Temporal 3D ConvNets: New Architecture and Transfer Learning for Video
Classification", arXiv:1711.08200): a 3D DenseNet with Temporal Transition Layers.

System: T3D (:mod:`paperzoo.models.video.t3d`). Claim checked on built-in data: T3D on 32-frame clips beats a
2D network that sees one frame of each clip, which stays near chance on the motion-only ``moving_shapes``
classes (the 2D-to-3D supervision transfer of §4 is not part of this recipe).

Full config: T3D-DenseNet121 on Kinetics-400 with 32-frame clips of 224².
"""

from __future__ import annotations

from ..models.video.t3d import DIBA_2017
from ..registry import register_recipe
from ._video import VideoRecipe, kinetics_config, quick_config
from .base import PaperNumber

# T3D's temporal transition layers need 32 frames: 32 consecutive frames rendered per clip.
QUICK = quick_config(
    "t3d_tiny",
    steps=400,
    clip_frames=32,
    frame_stride=1,
    train_size=800,
    data={"kwargs": {"train_size": 800, "val_size": 200, "test_size": 400, "num_frames": 32}, "test_clips": 1},
)
# §5 as we read it (not verified here): 32-frame clips of 224², SGD, lr 0.1 divided by 10 twice, batch 64.
FULL = kinetics_config(
    QUICK,
    "t3d_densenet121",
    clip_frames=32,
    frame_stride=1,
    image_size=224,
    batch_size=64,
    epochs=40,
    train_transform="resize_crop",
    eval_transform="centre",
    test_size=256,
    optim={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [60_000, 120_000], "gamma": 0.1},
)

register_recipe(
    VideoRecipe(
        name="t3d_shapes",
        system="T3D",
        paper=DIBA_2017,
        model="t3d_densenet121",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="T3D beats a single-frame 2D network, which stays near chance on motion-only classes",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            None, "Kinetics-400 top-1 of T3D-DenseNet121: value not verified here", "Diba et al. 2017, Table 4"
        ),
    )
)
