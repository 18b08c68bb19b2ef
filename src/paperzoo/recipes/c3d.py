"""C3D (Tran et al. 2015, "Learning Spatiotemporal Features with 3D Convolutional Networks", arXiv:1412.0767):
homogeneous 3×3×3 convolutions over 16-frame clips.

System: C3D (:mod:`paperzoo.models.video.c3d`). Claim checked on built-in data: a 3D ConvNet on 16-frame
clips beats a 2D network that sees one frame of each clip (§3.2's point that 2D convolution on frames
loses the motion), which stays near chance on the motion-only ``moving_shapes`` classes. The quick run
reports C3D §3.3's two numbers side by side: clip accuracy (every test clip alone) and video accuracy
(the softmax averaged over a video's clips).

Full config: C3D trained on UCF-101 split 1 with the common network settings of §3.1 (the Sports-1M
training of §3.3 has no reader here: the dataset is distributed as YouTube ids only).
"""

from __future__ import annotations

from ..models.video.c3d import TRAN_2015
from ..registry import register_recipe
from ._video import UCF101_TRAIN_VIDEOS, VideoRecipe, epochs_to_steps, quick_config, ucf101_config
from .base import PaperNumber

# C3D needs 16 frames (its five pools halve time four times): 16 consecutive frames of the 16 rendered.
# No BatchNorm in C3D: Adam at 1e-3 and no dropout (1,500 clips for 400 steps do not over-fit; dropout 0.5 on the
# 128-unit fc layers held the net at chance for 350 steps).
QUICK = quick_config(
    "c3d_tiny",
    steps=400,
    clip_frames=16,
    frame_stride=1,
    model={"kwargs": {"drop_rate": 0.0}},
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 0.05},
)
# §3.1 "Common network settings": frames resized to 128×171, random 3×16×112×112 crops (jittering), mini-batches
# of 30 clips, initial learning rate 0.003 divided by 10 after every 4 epochs, training stopped after 16 epochs.
# C3D §3.3 tests 10 clips per video ("video hit@1"); horizontal flips as §3.3's Sports-1M training.
_EPOCH = epochs_to_steps(1, 30, UCF101_TRAIN_VIDEOS)
FULL = ucf101_config(
    QUICK,
    "c3d",
    clip_frames=16,
    frame_stride=1,
    image_size=112,
    batch_size=30,
    epochs=16,
    test_clips=10,
    optim={"name": "sgd", "lr": 0.003, "momentum": 0.9, "weight_decay": 5e-4},
    schedule={"name": "step", "warmup_steps": 0, "step_size": 4 * _EPOCH, "gamma": 0.1},
)

register_recipe(
    VideoRecipe(
        name="c3d_shapes",
        system="C3D",
        paper=TRAN_2015,
        model="c3d",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="a 3D ConvNet on 16-frame clips beats a single-frame 2D network, which stays near chance on "
        "motion-only classes; clip and video accuracy reported side by side",
        configs={"quick": QUICK, "full": FULL},
        geometry=("clip_size",),
        paper_number=PaperNumber(
            0.852,
            "UCF-101 accuracy of C3D features (3 nets, fc6) with a linear SVM (Table 1; a different protocol from "
            "the full config, which trains C3D on UCF-101 alone and will score far lower)",
            "Tran et al. 2015, Table 1",
        ),
    )
)
