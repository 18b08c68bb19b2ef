"""BERT4Rec against a from-the-weights reference with a naive attention loop, the paper's output formula and
the official code's parameter count."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.recsys.bert4rec import DATASET_CONFIGS, BERT4Rec, bert4rec, bert4rec_tiny
from paperzoo.registry import get_model_entry

NUM_ITEMS, MAX_LEN = 20, 8


def _model(**kw) -> BERT4Rec:
    torch.manual_seed(0)
    m = bert4rec_tiny(**kw)
    return m.eval()


def _seq() -> torch.Tensor:
    # Left-padded histories of different lengths, one with a [MASK] at the end.
    return torch.tensor(
        [
            [0, 0, 0, 4, 9, 1, 17, 3],
            [5, 6, 7, 8, 9, 10, 11, NUM_ITEMS + 1],
            [0, 0, 0, 0, 0, 0, 2, 20],
        ]
    )


def naive_encode(m: BERT4Rec, seq: torch.Tensor) -> torch.Tensor:
    """BERT4Rec's encoder from its weights, with attention as an explicit softmax over the non-padding keys."""
    b, length = seq.shape
    d = m.hidden_size
    x = m.item_emb.weight[seq] + m.pos_emb.weight[m.max_len - length :] + m.type_emb.weight[0]
    x = F.layer_norm(x, (d,), m.emb_norm.weight, m.emb_norm.bias, eps=1e-12)
    for layer in m.layers:
        heads = layer.attn.num_heads
        hd = d // heads
        qkv = x @ layer.attn.qkv.weight.T + layer.attn.qkv.bias
        q, k, v = qkv[..., :d], qkv[..., d : 2 * d], qkv[..., 2 * d :]
        ctx = torch.zeros_like(x)
        for bi in range(b):
            keys = [j for j in range(length) if seq[bi, j] != 0]
            for h in range(heads):
                sl = slice(h * hd, (h + 1) * hd)
                for i in range(length):
                    logits = torch.stack([q[bi, i, sl] @ k[bi, j, sl] for j in keys]) / math.sqrt(hd)
                    w = torch.exp(logits - logits.max())
                    w = w / w.sum()
                    ctx[bi, i, sl] = sum(w[n] * v[bi, j, sl] for n, j in enumerate(keys))
        a = ctx @ layer.attn.proj.weight.T + layer.attn.proj.bias
        x = F.layer_norm(x + a, (d,), layer.norm1.weight, layer.norm1.bias, eps=1e-12)  # A = LN(H + MH(H))
        ffn = F.gelu(x @ layer.fc1.weight.T + layer.fc1.bias) @ layer.fc2.weight.T + layer.fc2.bias
        x = F.layer_norm(x + ffn, (d,), layer.norm2.weight, layer.norm2.bias, eps=1e-12)
    return x


def test_encoder_equals_naive_masked_attention_loop() -> None:
    m = _model()
    seq = _seq()
    torch.testing.assert_close(m.encode(seq), naive_encode(m, seq), atol=2e-5, rtol=1e-5)


def test_padding_never_changes_outputs_at_items() -> None:
    m = _model()
    seq = torch.tensor([[3, 1, 4, 1, 5]])
    h_short = m.encode(seq)
    for pad in (1, 3):
        h_padded = m.encode(F.pad(seq, (pad, 0)))
        torch.testing.assert_close(h_padded[:, pad:], h_short, atol=1e-5, rtol=1e-5)
    # The padding embedding itself is never attended to.
    with torch.no_grad():
        m.item_emb.weight[0].normal_(0, 10.0)
    torch.testing.assert_close(m.encode(F.pad(seq, (3, 0)))[:, 3:], h_short, atol=1e-5, rtol=1e-5)


def test_bidirectional_a_later_item_changes_earlier_outputs() -> None:
    m = _model()
    seq = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    changed = seq.clone()
    changed[0, -1] = 7
    h, h2 = m.encode(seq), m.encode(changed)
    assert (h[0, 0] - h2[0, 0]).abs().max() > 1e-4  # position 0 sees the last item


def test_output_layer_is_eq7_with_the_official_layer_norm() -> None:
    m = _model()
    h = torch.randn(5, m.hidden_size)
    z = F.gelu(h @ m.out_proj.weight.T + m.out_proj.bias)
    z = F.layer_norm(z, (m.hidden_size,), m.out_norm.weight, m.out_norm.bias, eps=1e-12)
    torch.testing.assert_close(m.head(h), z @ m.item_emb.weight.T + m.out_bias)

    paper = _model(output_norm=False, type_vocab_size=0, num_extra_tokens=0)
    with torch.no_grad():
        paper.out_bias.normal_()
    # P(v) = softmax(GELU(h W^P + b^P) E^T + b^O), eq. 7 as printed
    expected = torch.softmax(
        F.gelu(h @ paper.out_proj.weight.T + paper.out_proj.bias) @ paper.item_emb.weight.T + paper.out_bias, -1
    )
    torch.testing.assert_close(torch.softmax(paper.head(h), -1), expected)
    assert paper.head(h).shape == (5, NUM_ITEMS + 2)  # padding, items, [MASK]


def test_forward_paths_agree() -> None:
    m = _model()
    seq = _seq()
    full = m.head(m.encode(seq))  # (B, L, V)
    assert m.vocab_size == NUM_ITEMS + 4
    torch.testing.assert_close(m(seq), full[..., : NUM_ITEMS + 1])
    masked = seq == NUM_ITEMS + 1
    masked[0, 4] = True
    torch.testing.assert_close(m(seq, masked), full[masked])


def test_full_sort_predict_appends_mask() -> None:
    m = _model()
    hist = torch.tensor([[0, 0, 0, 4, 9, 1, 17, 3, 12, 2], [0, 0, 0, 0, 0, 0, 0, 0, 5, 6]])
    scores = m.full_sort_predict(torch.tensor([0, 1]), hist)
    inputs = torch.cat([hist[:, -(MAX_LEN - 1) :], torch.full((2, 1), NUM_ITEMS + 1)], dim=1)
    torch.testing.assert_close(scores, m.head(m.encode(inputs)[:, -1])[:, : NUM_ITEMS + 1])
    # A short history is left-padded: the same scores as the history alone.
    torch.testing.assert_close(m.full_sort_predict(torch.tensor([1]), torch.tensor([[5, 6]])), scores[1:])


def test_official_ml1m_parameter_count_by_hand() -> None:
    with torch.device("meta"):
        m = bert4rec()
    d, inter, vocab = 64, 256, 3416 + 4  # items + padding 0 + [pad], [MASK], [NO_USE] (vocab.py)
    layer = 4 * (d * d + d) + 2 * d + (d * inter + inter) + (inter * d + d) + 2 * d
    assert layer == 49_984
    expected = {
        "item_emb": vocab * d,  # bert/embeddings/word_embeddings
        "type_emb": 2 * d,  # bert/embeddings/token_type_embeddings (type_vocab_size = 2)
        "pos_emb": 200 * d,  # bert/embeddings/position_embeddings
        "emb_norm": 2 * d,
        "layers": 2 * layer,
        "out_proj": d * d + d,  # cls/predictions/transform/dense
        "out_norm": 2 * d,  # cls/predictions/transform/LayerNorm
        "out_bias": vocab,  # cls/predictions/output_bias
    }
    counts: dict[str, int] = {}
    for name, p in m.named_parameters():
        counts[name.split(".")[0]] = counts.get(name.split(".")[0], 0) + p.numel()
    assert counts == expected
    assert sum(expected.values()) == 339_612 == get_model_entry("bert4rec").reference_params
    with torch.device("meta"):
        paper = bert4rec(output_norm=False, type_vocab_size=0, num_extra_tokens=0)
    assert sum(p.numel() for p in paper.parameters()) == 339_612 - 2 * d - 2 * d - 2 * d - 2


def test_dataset_presets_follow_the_run_scripts() -> None:
    assert {k: (c.num_items, c.max_len, c.mask_prob) for k, c in DATASET_CONFIGS.items()} == {
        "ml-1m": (3416, 200, 0.2),
        "ml-20m": (26744, 200, 0.2),
        "beauty": (54542, 50, 0.6),
        "steam": (13044, 50, 0.4),
    }
    # vocab_size in bert_config_<dataset>_64.json is items + 4
    for name, vocab in (("ml-1m", 3420), ("ml-20m", 26748), ("beauty", 54546), ("steam", 13048)):
        with torch.device("meta"):
            m = BERT4Rec(**DATASET_CONFIGS[name].model_kwargs())
        assert m.vocab_size == vocab
    assert DATASET_CONFIGS["ml-1m"].sliding_step == 100


def test_input_validation() -> None:
    m = _model()
    with pytest.raises(ValueError, match="expected"):
        m(torch.ones(2, MAX_LEN + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="expected"):
        m(torch.ones(MAX_LEN, dtype=torch.long))
    with pytest.raises(ValueError, match="expected integer"):
        m(torch.ones(2, MAX_LEN))
    with pytest.raises(ValueError, match="item id 23 is out of range"):
        m(torch.tensor([[1, 2, 23]]))
    with pytest.raises(ValueError, match="item id -1"):
        m(torch.tensor([[1, -1]]))
    with pytest.raises(ValueError, match="num_heads"):
        BERT4Rec(10, hidden_size=10, num_heads=3)
    with pytest.raises(ValueError, match="dropout"):
        BERT4Rec(10, dropout=1.0)
