"""BPR-MF: matrix factorisation trained with Bayesian Personalized Ranking.

Paper: Steffen Rendle, Christoph Freudenthaler, Zeno Gantner, Lars Schmidt-Thieme, "BPR: Bayesian
Personalized Ranking from Implicit Feedback", UAI 2009, arXiv:1205.2618. Reference: the paper's
equations (the authors' implementation is MyMediaLite's ``BPRMF``, C#).

Implemented (§5.1, matrix factorisation): ``X̂ = W Hᵀ``, i.e. the score of item i for user u is
``x̂_ui = <w_u, h_i> = Σ_f w_uf · h_if`` with user factors W (|U| × k) and item factors H (|I| × k); BPR-MF
has no bias terms. Item id i (1..num_items) uses row i - 1 of H, so no parameter belongs to the padding
id 0, whose score is 0. Factors start at N(0, 0.1²) (MyMediaLite's ``InitStdDev``; the paper gives no
initialisation). The BPR-Opt criterion with its regularisation and the bootstrap sampling of (u, i, j)
triples are :class:`paperzoo.recipes.recsys_tasks.BPRTask` and ``InteractionTriples``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._common import check_ids

__all__ = ["MFBPR", "BPR_2009"]

BPR_2009 = Paper(
    title="BPR: Bayesian Personalized Ranking from Implicit Feedback",
    authors="Steffen Rendle, Christoph Freudenthaler, Zeno Gantner, Lars Schmidt-Thieme",
    year=2009,
    arxiv="1205.2618",
)


class MFBPR(nn.Module):
    """Matrix factorisation x̂_ui = <w_u, h_i> (Rendle et al. 2009, §5.1).

    Args:
        num_users: |U| (ids 0..num_users-1).
        num_items: |I| (ids 1..num_items; 0 is padding).
        num_factors: k.
        init_std: standard deviation of the Gaussian initial factors.

    Shapes:
        forward(users): (B,) or (B, 1) user ids → (B, num_items + 1) scores (column 0 = 0).
        forward(users, items): items (B, K) → (B, K) scores x̂_ui.
    """

    def __init__(self, num_users: int, num_items: int, *, num_factors: int = 64, init_std: float = 0.1) -> None:
        super().__init__()
        for name, v in (("num_users", num_users), ("num_items", num_items), ("num_factors", num_factors)):
            if v <= 0:
                raise ValueError(f"{name} must be > 0 (got {v})")
        if init_std <= 0:
            raise ValueError(f"init_std must be > 0 (got {init_std})")
        self.num_users, self.num_items, self.num_factors = num_users, num_items, num_factors
        self.user_factors = nn.Embedding(num_users, num_factors)  # W
        self.item_factors = nn.Embedding(num_items, num_factors)  # H, row i - 1 for item i
        nn.init.normal_(self.user_factors.weight, std=init_std)
        nn.init.normal_(self.item_factors.weight, std=init_std)

    def _users(self, users: Tensor) -> Tensor:
        if not isinstance(users, Tensor) or not (users.dim() == 1 or (users.dim() == 2 and users.shape[1] == 1)):
            shape = tuple(users.shape) if isinstance(users, Tensor) else type(users).__name__
            raise ValueError(f"expected user ids of shape (B,) or (B, 1), got {shape}")
        if users.dtype.is_floating_point or users.dtype == torch.bool:
            raise ValueError(f"expected integer user ids, got dtype {users.dtype}")
        check_ids(users, self.num_users - 1, "user id")
        return users.reshape(-1)

    def user_vectors(self, users: Tensor) -> Tensor:
        """w_u: (B,) or (B, 1) user ids → (B, k)."""
        return self.user_factors(self._users(users))

    def item_vectors(self, items: Tensor) -> Tensor:
        """h_i for item ids 1..num_items (any shape) → (..., k)."""
        check_ids(items, self.num_items, "item id")
        if items.numel() and items.device.type != "meta" and int(items.min()) < 1:
            raise ValueError(f"item id {int(items.min())} is out of range [1, {self.num_items}] (0 is padding)")
        return self.item_factors(items - 1)

    def forward(self, users: Tensor, items: Tensor | None = None) -> Tensor:
        """x̂_ui for every item id (B, num_items + 1), or for ``items`` (B, K) only."""
        w = self.user_vectors(users)  # (B, k)
        if items is None:
            return F.pad(w @ self.item_factors.weight.T, (1, 0))  # W Hᵀ, padding column 0
        if items.dim() != 2 or items.shape[0] != w.shape[0]:
            raise ValueError(f"expected items of shape ({w.shape[0]}, K), got {tuple(items.shape)}")
        return (w.unsqueeze(1) * self.item_vectors(items)).sum(-1)

    @torch.no_grad()
    def full_sort_predict(self, users: Tensor, histories: Tensor | None = None) -> Tensor:
        """Scores (B, num_items + 1) of every item for each user; the histories are not used."""
        return self.forward(users)


def _example(num_users: int):
    # (B, 1): a column of user ids, so that the registry's grown input (B + 1, 2) is a wrong shape.
    return lambda b, device: torch.randint(0, num_users, (b, 1), device=device)


@register_model(
    paper=BPR_2009,
    reference="Rendle et al. 2009 §5.1 (X̂ = W Hᵀ, no bias): (6040 + 3416) × 64",
    reference_params=(6040 + 3416) * 64,  # 605,184
    input_size=(1,),
    example_input=_example(6040),
)
def mf_bpr(**kwargs: Any) -> MFBPR:
    """BPR-MF on ML-1m's 6,040 users and 3,416 items with k = 64 factors."""
    return MFBPR(**{**dict(num_users=6040, num_items=3416, num_factors=64), **kwargs})


@register_model(paper=BPR_2009, reference="Rendle et al. 2009 §5.1", input_size=(1,), example_input=_example(10))
def mf_bpr_tiny(**kwargs: Any) -> MFBPR:
    """A small BPR-MF (10 users, 20 items, k = 8)."""
    return MFBPR(**{**dict(num_users=10, num_items=20, num_factors=8), **kwargs})
