"""Optimizers and learning-rate schedules that the papers use, built from a config section.

Schedules are :class:`torch.optim.lr_scheduler.LambdaLR` multipliers of the base learning rate,
stepped once per optimizer step, so their state is one integer and resumes exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

__all__ = ["build_optimizer", "build_scheduler", "lr_multiplier", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "multistep", "cosine", "linear", "inverse_sqrt")


def build_optimizer(cfg: Mapping[str, Any], params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam, AdamW or RMSProp from ``cfg`` (keys: name, lr, weight_decay, ...)."""
    name = cfg["name"]
    lr = float(cfg["lr"])
    wd = float(cfg.get("weight_decay", 0.0))
    if lr <= 0:
        raise ValueError(f"optim.lr must be > 0 (got {lr})")
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=float(cfg.get("momentum", 0.0)), weight_decay=wd, nesterov=bool(cfg.get("nesterov"))
        )
    betas = tuple(cfg.get("betas", (0.9, 0.999)))
    eps = float(cfg.get("eps", 1e-8))
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=float(cfg.get("alpha", 0.9)),
            eps=eps,
            momentum=float(cfg.get("momentum", 0.0)),
            weight_decay=wd,
        )
    raise ValueError(f"optim.name must be one of {', '.join(OPTIMIZERS)} (got {name!r})")


def lr_multiplier(cfg: Mapping[str, Any], step: int, total_steps: int) -> float:
    """The schedule's factor on the base learning rate after ``step`` optimizer steps.

    ``warmup_steps`` (linear from 0) applies before every schedule; then:
    constant; step (×gamma every ``step_size``, as in AlexNet/ResNet); multistep (×gamma at each of
    ``milestones``); cosine (to ``min_lr_ratio``, as in SimCLR/ViT); linear decay to 0 (BERT);
    inverse_sqrt (Transformer).
    """
    name = cfg.get("name", "constant")
    warmup = int(cfg.get("warmup_steps", 0))
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    gamma = float(cfg.get("gamma", 0.1))
    if name == "constant":
        return 1.0
    if name == "step":
        size = int(cfg.get("step_size", 0))
        if size <= 0:
            raise ValueError(f"schedule.step_size must be > 0 for the step schedule (got {size})")
        return gamma ** (step // size)
    if name == "multistep":
        return gamma ** sum(step >= int(m) for m in cfg.get("milestones", []))
    span = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / span)
    if name == "cosine":
        floor = float(cfg.get("min_lr_ratio", 0.0))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    if name == "linear":
        return max(0.0, 1.0 - progress)
    if name == "inverse_sqrt":
        return math.sqrt(max(1, warmup)) / math.sqrt(max(step, max(1, warmup)))
    raise ValueError(f"schedule.name must be one of {', '.join(SCHEDULES)} (got {name!r})")


def build_scheduler(
    cfg: Mapping[str, Any], optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    # Validate now rather than mid-run: evaluate the schedule just after warm-up, where its own rule applies.
    lr_multiplier(cfg, int(cfg.get("warmup_steps", 0)), total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_multiplier(cfg, s, total_steps))
