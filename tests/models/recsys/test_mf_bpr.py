"""BPR-MF: scores are the inner products of the factors (Rendle et al. 2009 §5.1), exact parameter count."""

from __future__ import annotations

import pytest
import torch

from paperzoo.models.recsys.mf_bpr import MFBPR, mf_bpr, mf_bpr_tiny
from paperzoo.registry import get_model_entry


def test_scores_are_inner_products_of_factors() -> None:
    torch.manual_seed(0)
    m = mf_bpr_tiny()
    users = torch.tensor([3, 0, 9])
    W, H = m.user_factors.weight, m.item_factors.weight
    scores = m(users)
    assert scores.shape == (3, 21)
    for b, u in enumerate(users.tolist()):
        for i in range(1, 21):
            torch.testing.assert_close(scores[b, i], (W[u] * H[i - 1]).sum())  # x̂_ui = Σ_f w_uf h_if
    assert torch.equal(scores[:, 0], torch.zeros(3))
    torch.testing.assert_close(m(users[:, None]), scores)  # (B, 1) user columns are accepted
    items = torch.tensor([[1, 20], [5, 5], [7, 2]])
    torch.testing.assert_close(m(users, items), scores.gather(1, items))
    torch.testing.assert_close(m.full_sort_predict(users, torch.zeros(3, 4, dtype=torch.long)), scores)


def test_parameter_count() -> None:
    with torch.device("meta"):
        m = mf_bpr()
    assert sum(p.numel() for p in m.parameters()) == (6040 + 3416) * 64 == get_model_entry("mf_bpr").reference_params


def test_input_validation() -> None:
    m = mf_bpr_tiny()
    with pytest.raises(ValueError, match="expected"):
        m(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="user id 10 is out of range"):
        m(torch.tensor([10]))
    with pytest.raises(ValueError, match="item id 0"):
        m(torch.tensor([1]), torch.tensor([[0]]))
    with pytest.raises(ValueError, match="num_factors"):
        MFBPR(3, 4, num_factors=0)
