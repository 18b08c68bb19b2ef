"""GRU4Rec against the paper's GRU equations (§2.2) unrolled by hand, and the reference code's parameter count."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.recsys.gru4rec import GRU4Rec, gru4rec, gru4rec_tiny
from paperzoo.registry import get_model_entry

NUM_ITEMS, MAX_LEN = 20, 8


def naive_gru4rec(m: GRU4Rec, seq: torch.Tensor) -> torch.Tensor:
    """The GRU equations of §2.2 for one sequence at a time, one step at a time, one-hot input for the first layer."""
    out = torch.zeros(seq.shape[0], seq.shape[1], m.hidden_size)
    for b in range(seq.shape[0]):
        items = [int(i) for i in seq[b] if i != 0]
        start = seq.shape[1] - len(items)
        xs = [F.one_hot(torch.tensor(i - 1), m.num_items).float() for i in items]
        for layer in m.layers:
            H = layer.hidden_size
            W_c, W_r, W_z = layer.Wx[:, :H], layer.Wx[:, H : 2 * H], layer.Wx[:, 2 * H :]
            b_c, b_r, b_z = layer.Bh[:H], layer.Bh[H : 2 * H], layer.Bh[2 * H :]
            U_r, U_z, U = layer.Wrz[:, :H], layer.Wrz[:, H:], layer.Wh
            h = torch.zeros(H)
            ys = []
            for x in xs:
                z = torch.sigmoid(x @ W_z + b_z + h @ U_z)  # update gate
                r = torch.sigmoid(x @ W_r + b_r + h @ U_r)  # reset gate
                cand = torch.tanh(x @ W_c + b_c + (r * h) @ U)  # candidate
                h = (1 - z) * h + z * cand  # interpolation
                ys.append(h)
            xs = ys
        for t, h in enumerate(xs):
            out[b, start + t] = h
    return out


@pytest.mark.parametrize("num_layers", [1, 2])
def test_recurrence_equals_the_paper_equations(num_layers: int) -> None:
    torch.manual_seed(0)
    m = gru4rec_tiny(num_layers=num_layers).eval()
    seq = torch.tensor([[0, 0, 0, 4, 9, 1, 17, 3], [5, 6, 7, 8, 9, 10, 11, 12], [0, 0, 0, 0, 0, 0, 0, 20]])
    torch.testing.assert_close(m.encode(seq), naive_gru4rec(m, seq), atol=1e-5, rtol=1e-5)


def test_scores_padding_and_candidate_paths() -> None:
    torch.manual_seed(0)
    m = gru4rec_tiny().eval()
    seq = torch.tensor([[0, 0, 3, 1, 4], [2, 7, 1, 8, 2]])
    h = m.encode(seq)
    assert torch.equal(h[0, :2], torch.zeros(2, m.hidden_size))  # the state starts at the first item
    torch.testing.assert_close(m.encode(F.pad(seq, (3, 0)))[:, 3:], h)
    scores = m(seq)
    torch.testing.assert_close(scores[..., 1:], h @ m.Wy.T + m.By)  # ŷ = W_y h + b_y
    assert torch.equal(scores[..., 0], torch.zeros(2, 5))
    per_pos = torch.randint(1, NUM_ITEMS + 1, (2, 5, 3))
    torch.testing.assert_close(m(seq, per_pos), scores.gather(-1, per_pos))
    shared = torch.randint(1, NUM_ITEMS + 1, (5, 4))  # (L, K): the same candidates for every sequence
    torch.testing.assert_close(m(seq, shared), scores.gather(-1, shared.unsqueeze(0).expand(2, 5, 4)))
    torch.testing.assert_close(m.full_sort_predict(torch.tensor([0, 1]), seq), scores[:, -1])


def test_reference_parameter_count_by_hand() -> None:
    with torch.device("meta"):
        m = gru4rec()
    items, H = 37483, 100
    # Theano shapes: Wx (items, 3H), Wh (H, H), Wrz (H, 2H), Bh (3H,), Wy (items, H), By (items,)
    expected = items * 3 * H + H * H + H * 2 * H + 3 * H + items * H + items
    assert expected == 15_060_983 == get_model_entry("gru4rec").reference_params
    assert sum(p.numel() for p in m.parameters()) == expected


def test_input_validation() -> None:
    m = gru4rec_tiny()
    with pytest.raises(ValueError, match="expected"):
        m(torch.ones(2, MAX_LEN + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="item id 21"):
        m(torch.tensor([[1, 21]]))
    with pytest.raises(ValueError, match="expected items"):
        m(torch.ones(2, 4, dtype=torch.long), torch.ones(3, 4, dtype=torch.long))
