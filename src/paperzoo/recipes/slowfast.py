"""SlowFast (Feichtenhofer et al. 2019, "SlowFast Networks for Video Recognition", arXiv:1812.03982): a Slow
pathway at a low frame rate and a light Fast pathway at α× the frame rate, fused by lateral connections.

System: SlowFast (:mod:`paperzoo.models.video.slowfast`). Claim checked on built-in data: SlowFast beats a 2D
network that sees one frame of each clip, which stays near chance on the motion-only ``moving_shapes``
classes. The clip is packed into ``[slow, fast]`` by :func:`~paperzoo.models.video.slowfast.pack_pathways`
(the Slow pathway keeps T/α of the frames, α from the model); test views keep their view axis in both.
Measured quick run (1,500 steps, one CPU thread, about 2.2 minutes for SlowFast plus the baseline's training):
video accuracy 0.59 vs 0.12 for the single-frame baseline.

Full config: SlowFast 8×8 R50 on Kinetics-400 (§A.2), 32 frames at stride 2 (Fast) / 8 frames (Slow), 224²
crops, tested on 10 clips × 3 crops.
"""

from __future__ import annotations

from ..models.video.slowfast import SLOWFAST_2019
from ..registry import register_recipe
from ._video import VideoRecipe, kinetics_config, quick_config
from .base import PaperNumber

QUICK = quick_config("slowfast_tiny", steps=1500, clip_frames=8, frame_stride=2)
# The authors' release of the paper's model (PySlowFast configs/Kinetics/SLOWFAST_8x8_R50.yaml; §A.2 describes the
# same recipe at batch 1024 and lr 1.6): 32 frames at stride 2 (α = 4: 8 Slow frames), scale jitter [256, 320] with
# random 224 crops and flips; SGD momentum 0.9, batch 64, base lr 0.1, half-period cosine, 34 warm-up epochs,
# 196 epochs, weight decay 1e-4, dropout 0.5. Test: 10 clips × 3 crops of 256 along the longer side (30 views).
FULL = kinetics_config(
    QUICK,
    "slowfast_r50",
    clip_frames=32,
    frame_stride=2,
    image_size=224,
    test_size=256,
    batch_size=64,
    epochs=196,
    optim={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4},
    schedule={"name": "cosine", "warmup_steps": 34 * 3750},
)

register_recipe(
    VideoRecipe(
        name="slowfast_shapes",
        system="SlowFast",
        paper=SLOWFAST_2019,
        model="slowfast_r50",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="SlowFast beats a single-frame 2D network, which stays near chance on motion-only classes",
        configs={"quick": QUICK, "full": FULL},
        pathways=True,
        costs=(
            ("SlowFast 4×16 R50", "slowfast_r50_4x16", {}),
            ("SlowFast 8×8 R50", "slowfast_r50", {}),
            ("SlowFast 8×8 R101", "slowfast_r101", {}),
        ),  # fmt: skip
        paper_number=PaperNumber(
            0.770,
            "Kinetics-400 val top-1 of SlowFast 8×8 R50 from scratch, 3 crops × 10 clips",
            "PySlowFast MODEL_ZOO.md (the authors' release of the paper's model)",
        ),
    )
)
