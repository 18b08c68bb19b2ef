"""An exponential moving average of a model's weights, as DDPM and most diffusion models evaluate.

Ho et al. (2020, Appendix B) sample from an EMA of the parameters with decay 0.9999; timm's ``ModelEmaV2``
and diffusers' ``EMAModel`` keep the same kind of shadow copy. After every optimizer step each floating
parameter moves towards the trained one, ``ema ← decay · ema + (1 − decay) · θ``, and buffers (batch-norm
statistics) are copied as they are.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["ModelEma"]


class ModelEma:
    """A frozen copy of ``module`` whose weights track an exponential moving average of the module's.

    Args:
        module: the model being trained (the un-wrapped module, not a DDP wrapper).
        decay: the EMA decay in [0, 1); 0.9999 in DDPM.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1) (got {decay})")
        self.decay = float(decay)
        self.module = copy.deepcopy(module).eval()
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """One EMA step towards ``module``'s current weights."""
        ema_params, params = [], []
        for (name, e), p in zip(self.module.named_parameters(), module.parameters(), strict=True):
            if e.shape != p.shape:
                raise ValueError(f"EMA parameter {name} has shape {tuple(e.shape)}, the model's {tuple(p.shape)}")
            ema_params.append(e)
            params.append(p.detach())
        if ema_params:
            torch._foreach_lerp_(ema_params, params, 1.0 - self.decay)
        for e, b in zip(self.module.buffers(), module.buffers(), strict=True):
            e.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
