"""SASRec against a from-the-weights reference of the official TF graph (naive causal attention loop), its
causality, padding invariance and the official code's parameter count."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.recsys.bert4rec import bert4rec_tiny
from paperzoo.models.recsys.sasrec import SASRec, sasrec, sasrec_tiny
from paperzoo.registry import get_model_entry

NUM_ITEMS, MAX_LEN = 20, 8


def _model(**kw) -> SASRec:
    torch.manual_seed(0)
    return sasrec_tiny(**kw).eval()


def naive_sasrec(m: SASRec, seq: torch.Tensor) -> torch.Tensor:
    """``model.py`` of kang205/SASRec step by step, attention as a loop over allowed keys (query masking: 0)."""
    b, length = seq.shape
    d = m.hidden_size
    table = m.item_emb.weight.clone()
    table[0] = 0.0  # zero_pad=True
    keep = (seq != 0).float().unsqueeze(-1)
    x = (table[seq] * math.sqrt(d) + m.pos_emb.weight[m.max_len - length :]) * keep
    for blk in m.blocks:
        q_in = F.layer_norm(x, (d,), blk.attn_norm.weight, blk.attn_norm.bias, eps=1e-8)
        q = q_in @ blk.q.weight.T + blk.q.bias
        k = x @ blk.k.weight.T + blk.k.bias
        v = x @ blk.v.weight.T + blk.v.bias
        heads, hd = blk.num_heads, d // blk.num_heads
        out = torch.zeros_like(x)
        for bi in range(b):
            for h in range(heads):
                sl = slice(h * hd, (h + 1) * hd)
                for i in range(length):
                    keys = [j for j in range(i + 1) if seq[bi, j] != 0]  # causal + key masking
                    if seq[bi, i] == 0 or not keys:
                        continue  # query masking: padding rows get no attention output
                    logits = torch.stack([q[bi, i, sl] @ k[bi, j, sl] for j in keys]) / math.sqrt(hd)
                    w = torch.softmax(logits, 0)
                    out[bi, i, sl] = sum(w[n] * v[bi, j, sl] for n, j in enumerate(keys))
        x = q_in + out  # outputs += queries
        y = F.layer_norm(x, (d,), blk.ffn_norm.weight, blk.ffn_norm.bias, eps=1e-8)
        x = y + (F.relu(y @ blk.fc1.weight.T + blk.fc1.bias) @ blk.fc2.weight.T + blk.fc2.bias)
        x = x * keep
    return F.layer_norm(x, (d,), m.final_norm.weight, m.final_norm.bias, eps=1e-8)


def test_encoder_equals_the_official_graph_with_a_naive_attention_loop() -> None:
    m = _model()
    seq = torch.tensor([[0, 0, 0, 4, 9, 1, 17, 3], [5, 6, 7, 8, 9, 10, 11, 12], [0, 0, 0, 0, 0, 0, 0, 20]])
    torch.testing.assert_close(m.encode(seq), naive_sasrec(m, seq), atol=2e-5, rtol=1e-5)


def test_causal_later_items_never_change_earlier_outputs_but_do_in_bert4rec() -> None:
    seq = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    changed = seq.clone()
    changed[0, 5] = 7
    m = _model()
    h, h2 = m.encode(seq), m.encode(changed)
    assert torch.equal(h[:, :5], h2[:, :5])
    assert (h[0, 5:] - h2[0, 5:]).abs().max() > 1e-4
    torch.manual_seed(0)
    bert = bert4rec_tiny().eval()
    hb, hb2 = bert.encode(seq), bert.encode(changed)
    assert (hb[0, :5] - hb2[0, :5]).abs().max() > 1e-4


def test_padding_never_changes_outputs_at_items() -> None:
    m = _model()
    seq = torch.tensor([[3, 1, 4, 1, 5]])
    h = m.encode(seq)
    torch.testing.assert_close(m.encode(F.pad(seq, (3, 0)))[:, 3:], h, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        m.item_emb.weight[0].normal_(0, 10.0)  # the padding row is replaced by zeros
    torch.testing.assert_close(m.encode(F.pad(seq, (3, 0)))[:, 3:], h, atol=1e-5, rtol=1e-5)


def test_prediction_is_dot_product_with_shared_item_embedding() -> None:
    m = _model()
    seq = torch.tensor([[0, 0, 4, 9, 1, 17, 3, 2]])
    h = m.encode(seq)
    scores = m(seq)
    assert scores.shape == (1, MAX_LEN, NUM_ITEMS + 1)
    torch.testing.assert_close(scores[..., 1:], h @ m.item_emb.weight[1:].T)  # r_{i,t} = F_t · M_i (§III-D)
    assert torch.equal(scores[..., 0], torch.zeros(1, MAX_LEN))
    items = torch.randint(1, NUM_ITEMS + 1, (1, MAX_LEN, 3))
    torch.testing.assert_close(m(seq, items), scores.gather(-1, items))
    hist = torch.tensor([[4, 9, 1, 17, 3, 2]])
    torch.testing.assert_close(m.full_sort_predict(torch.tensor([0]), hist), scores[:, -1])


def test_official_ml1m_parameter_count_by_hand() -> None:
    with torch.device("meta"):
        m = sasrec()
    d = 50
    block = 2 * d + 3 * (d * d + d) + 2 * d + 2 * (d * d + d)  # LN(Q), Q/K/V dense, LN, two 1x1 convolutions
    expected = (3416 + 1) * d + 200 * d + 2 * block + 2 * d  # item table incl. padding row, positions, final LN
    assert expected == 206_850 == get_model_entry("sasrec").reference_params
    assert sum(p.numel() for p in m.parameters()) == expected


def test_input_validation() -> None:
    m = _model()
    with pytest.raises(ValueError, match="expected"):
        m(torch.ones(2, MAX_LEN + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="expected"):
        m(torch.ones(2, 3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="item id 21 is out of range"):
        m(torch.tensor([[1, 21]]))  # [MASK]-like ids are not items for SASRec
    with pytest.raises(ValueError, match="expected items"):
        m(torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4, dtype=torch.long))
