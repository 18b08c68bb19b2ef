"""TimeSformer (Bertasius et al. 2021, "Is Space-Time Attention All You Need for Video Understanding?",
arXiv:2102.05095): ViT over frame patches with divided space-time attention.

System: TimeSformer (:mod:`paperzoo.models.video.timesformer`). Claims checked: (1) on built-in data, a
TimeSformer beats a 2D network that sees one frame of each clip, which stays near chance on the motion-only
``moving_shapes`` classes (trained from scratch on a few thousand clips: the margin is small); (2) measured on
the registry: divided space-time attention costs fewer multiply-adds than joint space-time attention at 16×448²
(TimeSformer-HR), the paper's Fig. 3 argument. At 8×224² it costs slightly MORE (the temporal attention's
extra projections outweigh the cheaper attention; docs/errata.md); both are reported.

Full config: TimeSformer (8×224², stride 32) on Kinetics-400 (§4), tested on 1 clip × 3 crops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models.video.timesformer import TIMESFORMER_2021
from ..registry import register_recipe
from ._video import VideoRecipe, gmacs_of, kinetics_config, quick_config
from .base import Experiment, Finish, PaperNumber

# From scratch, every temporal_fc starts random instead of at zero (the reference's zeros make a ViT block, which
# suits its ViT start: here the net sat at chance for ~1,200 steps before any temporal attention mattered). Even
# so the loss leaves chance anywhere between step ~350 and ~1,200 (seed and clip order): 3,000 steps (0.38 measured;
# 1,500 steps gave 0.16 on one run and 0.44 on another).
QUICK = quick_config(
    "timesformer_tiny",
    steps=3000,
    model={"kwargs": {"zero_temporal_fc": False}},
    optim={"name": "adamw", "lr": 1e-3, "weight_decay": 0.05},
)
# The authors' release (TimeSformer configs/Kinetics/TimeSformer_divST_8x32_224.yaml): 8 frames at stride 32, scale
# jitter [256, 320] with random 224 crops; SGD momentum 0.9, batch 8, lr 0.005 × 0.1 at epoch 11 and × 0.01 at 14,
# 15 epochs, weight decay 1e-4, dropout 0.5, from ViT-B ImageNet-21k weights (not loadable here: trained from
# scratch). Test: 1 clip × 3 crops of 224.
_EPOCH = 240_000 // 8
FULL = kinetics_config(
    QUICK,
    "timesformer_base",
    clip_frames=8,
    frame_stride=32,
    image_size=224,
    batch_size=8,
    epochs=15,
    test_clips=1,
    optim={"name": "sgd", "lr": 0.005, "momentum": 0.9, "weight_decay": 1e-4},
    schedule={"name": "multistep", "warmup_steps": 0, "milestones": [11 * _EPOCH, 14 * _EPOCH], "gamma": 0.1},
    # From scratch here too: random temporal_fc (zeros only suit a start from ViT weights, see QUICK).
    model={"name": "timesformer_base", "kwargs": {"zero_temporal_fc": False}},
)

COSTS = (
    ("divided 8×224²", "timesformer_base", {}),
    ("joint 8×224²", "timesformer_base", {"attention_type": "joint_space_time"}),
    ("divided 16×448² (HR)", "timesformer_hr", {}),
    ("joint 16×448² (HR)", "timesformer_hr", {"attention_type": "joint_space_time"}),
)


class TimeSformerRecipe(VideoRecipe):
    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        out = super().finish(exp, test_metrics, run_dir, config)
        t = out.tables["cost per clip (registry, meta device)"]
        # < 1 at 16×448² (Fig. 3: divided attention scales to large clips); slightly > 1 at 8×224² (errata).
        out.metrics["divided_over_joint_16x448"] = gmacs_of(t, COSTS[2][0]) / gmacs_of(t, COSTS[3][0])
        out.metrics["divided_over_joint_8x224"] = gmacs_of(t, COSTS[0][0]) / gmacs_of(t, COSTS[1][0])
        return out


register_recipe(
    TimeSformerRecipe(
        name="timesformer_shapes",
        system="TimeSformer",
        paper=TIMESFORMER_2021,
        model="timesformer_base",
        metric="acc",
        higher_is_better=True,
        baseline="2D CNN on one frame per clip (same data and budget)",
        claim="TimeSformer beats a single-frame 2D network, which stays near chance on motion-only classes; "
        "divided attention costs fewer multiply-adds than joint attention at 16×448² (not at 8×224²)",
        configs={"quick": QUICK, "full": FULL},
        geometry=("num_frames", "img_size"),
        costs=COSTS,
        paper_number=PaperNumber(
            0.779,
            "Kinetics-400 top-1 of TimeSformer (8×224², from ImageNet-21k ViT weights), 1 clip × 3 crops",
            "facebookresearch/TimeSformer README model zoo (retrained by the authors; the paper's table not checked)",
        ),
    )
)
