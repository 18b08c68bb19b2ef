"""SASRec: self-attentive sequential recommendation with causal (left-to-right) self-attention.

Paper: Wang-Cheng Kang, Julian McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018,
arXiv:1808.09781. Reference implementation: the authors' TensorFlow code, github.com/kang205/SASRec
(``model.py``, ``modules.py``, ``main.py``).

Implemented (§III-A to III-D), layer for layer as the official code::

    ids (B, L) ──▶ √d · M[s_i] + P[i] ──▶ Dropout ──▶ × timeline mask                        §III-B
           ──▶ b × block:  Q = LN(x)
                           x = Q + Dropout(softmax(Q W^Q (x W^K)ᵀ/√(d/h) + causal/padding mask)) x W^V
                           y = LN(x);  x = y + Dropout(W₂ Dropout(ReLU(W₁ y + b₁)) + b₂)          §III-B/C
                           x = x × timeline mask
           ──▶ LN ──▶ F_t;  r_{i,t} = F_t · M_i (shared item embedding)                           §III-D

* Embedding: the item table M has ``num_items + 1`` rows whose row 0 (padding) is held at zero
  (``zero_pad=True``), the looked-up vectors are scaled by √d (``scale=True``); the positional
  embedding P is learned and unscaled.
* Blocks: the official code normalises only the **queries** (keys and values are the un-normalised
  block input) and adds the residual to the normalised queries, ``x ← LN(x) + Attn(LN(x), x)``; the
  feed-forward network likewise adds its residual to its normalised input. The attention has Q, K, V
  projections with biases and no output projection; the point-wise FFN is two 1×1 convolutions
  (= Linear layers) of width d with ReLU. Causal and key-padding masks; padding rows (the timeline
  mask) are zeroed after every block. One final LayerNorm (eps 1e-8 throughout).
* Initialisation as TensorFlow's defaults in the official code: Glorot-uniform weights and embeddings,
  zero biases, LayerNorm (1, 0).

The registered ``sasrec`` is the paper's ML-1m configuration (§IV implementation details: d = 50, b = 2
blocks, one head, n = 200, dropout 0.2): 206,850 parameters, counted from ``model.py`` for 3,416 items.

Deviations: the official query masking (attention rows of padding queries set to 0) is replaced by
letting a padding query attend to itself; the difference only touches padding rows, which the timeline
mask zeroes. Positions are counted from the right end of the window as in the official code, which
always uses n positions with left padding; a shorter input uses the last positions. Training
(next-item targets, one negative per position, binary cross-entropy) is
:class:`paperzoo.recipes.recsys_tasks.SASRecTask`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._common import check_probability, check_sequences, fit_history

__all__ = ["SASRec", "SASRecBlock", "SASREC_2018"]

SASREC_2018 = Paper(
    title="Self-Attentive Sequential Recommendation",
    authors="Wang-Cheng Kang, Julian McAuley",
    year=2018,
    arxiv="1808.09781",
)

#: LayerNorm epsilon of the official ``modules.normalize``.
LN_EPS = 1e-8


class SASRecBlock(nn.Module):
    """One self-attention block of SASRec (§III-B/C) in the official code's arrangement.

    Args:
        dim: hidden size d.
        num_heads: attention heads (1 in the paper's experiments).
        dropout: dropout on the attention probabilities and after both FFN layers.

    Shapes:
        x: (B, L, d); attn_mask: boolean (B, 1, L, L), True where query i may attend to key j;
        keep: (B, L, 1) float timeline mask → (B, L, d).
    """

    def __init__(self, dim: int, num_heads: int = 1, *, dropout: float = 0.2) -> None:
        super().__init__()
        if num_heads <= 0 or dim % num_heads:
            raise ValueError(f"num_heads must be > 0 and divide dim={dim} (got {num_heads})")
        self.num_heads, self.dropout = num_heads, dropout
        self.attn_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.ffn_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.fc1 = nn.Linear(dim, dim)  # Conv1d(kernel 1) in the official code
        self.fc2 = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def attention(self, queries: Tensor, keys: Tensor, attn_mask: Tensor) -> Tensor:
        """softmax(Q Kᵀ / √(d/h) + mask) V per head, heads concatenated; no output projection."""
        q = rearrange(self.q(queries), "b l (h d) -> b h l d", h=self.num_heads)
        k = rearrange(self.k(keys), "b l (h d) -> b h l d", h=self.num_heads)
        v = rearrange(self.v(keys), "b l (h d) -> b h l d", h=self.num_heads)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return rearrange(out, "b h l d -> b l (h d)")

    def forward(self, x: Tensor, attn_mask: Tensor, keep: Tensor) -> Tensor:
        q = self.attn_norm(x)
        x = q + self.attention(q, x, attn_mask)  # residual onto the normalised queries (official code)
        y = self.ffn_norm(x)
        x = y + self.drop(self.fc2(self.drop(F.relu(self.fc1(y)))))  # point-wise FFN
        return x * keep


class SASRec(nn.Module):
    """SASRec (Kang & McAuley 2018): causal self-attention over the item sequence, shared item embedding.

    Args:
        num_items: number of items (ids 1..num_items; 0 is padding).
        max_len: n, the longest history (number of positions).
        hidden_size: d (50 in the paper).
        num_blocks: b self-attention blocks (2).
        num_heads: heads per block (1).
        dropout: dropout rate (0.2 on ML-1m, 0.5 on the sparse datasets).

    Shapes:
        forward(seq): (B, L) ids, L <= max_len → (B, L, num_items + 1) scores F_t · M_i (column 0 = 0).
        forward(seq, items): items (B, L, K) → (B, L, K) scores of those items at each position.
    """

    def __init__(
        self,
        num_items: int,
        max_len: int = 200,
        *,
        hidden_size: int = 50,
        num_blocks: int = 2,
        num_heads: int = 1,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        for name, v in (("num_items", num_items), ("max_len", max_len), ("hidden_size", hidden_size)):
            if v <= 0:
                raise ValueError(f"{name} must be > 0 (got {v})")
        if num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1 (got {num_blocks})")
        check_probability("dropout", dropout)
        self.num_items, self.max_len, self.hidden_size = num_items, max_len, hidden_size
        self.item_emb = nn.Embedding(num_items + 1, hidden_size)  # row 0 held at zero, see item_table()
        self.pos_emb = nn.Embedding(max_len, hidden_size)
        self.emb_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(SASRecBlock(hidden_size, num_heads, dropout=dropout) for _ in range(num_blocks))
        self.final_norm = nn.LayerNorm(hidden_size, eps=LN_EPS)
        for m in self.modules():  # TensorFlow defaults of the official code
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.xavier_uniform_(m.weight)
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)

    def item_table(self) -> Tensor:
        """The item embedding M (num_items + 1, d) with the padding row replaced by zeros (``zero_pad``)."""
        w = self.item_emb.weight
        return torch.cat([w.new_zeros(1, w.shape[1]), w[1:]])

    def encode(self, seq: Tensor) -> Tensor:
        """F: final hidden states (B, L, d) of left-padded histories (B, L); padding rows are 0 before the final LN."""
        check_sequences(seq, max_len=self.max_len, max_id=self.num_items)
        length = seq.shape[1]
        keep = (seq != 0).unsqueeze(-1).to(self.pos_emb.weight.dtype)  # timeline mask (B, L, 1)
        x = F.embedding(seq, self.item_table()) * self.hidden_size**0.5 + self.pos_emb.weight[self.max_len - length :]
        x = self.emb_drop(x) * keep
        # Query i attends to keys j <= i that are items; a padding query attends to itself only (its row is
        # zeroed by the timeline mask), so no softmax row is empty.
        causal = torch.ones(length, length, dtype=torch.bool, device=seq.device).tril()
        eye = torch.eye(length, dtype=torch.bool, device=seq.device)
        attn_mask = (causal & ((seq != 0)[:, None, :] | eye))[:, None]  # (B, 1, L, L)
        for block in self.blocks:
            x = block(x, attn_mask, keep)
        return self.final_norm(x)

    def score_items(self, h: Tensor, items: Tensor) -> Tensor:
        """r = F_t · M_i for chosen items (§III-D, shared item embedding): h (..., d), items (..., K) → (..., K)."""
        return (F.embedding(items, self.item_table()) * h.unsqueeze(-2)).sum(-1)

    def forward(self, seq: Tensor, items: Tensor | None = None) -> Tensor:
        """Scores of every item at every position, or of ``items`` (B, L, K) only (the training path)."""
        h = self.encode(seq)
        if items is not None:
            if items.dim() != 3 or items.shape[:2] != seq.shape:
                raise ValueError(
                    f"expected items of shape ({seq.shape[0]}, {seq.shape[1]}, K), got {tuple(items.shape)}"
                )
            return self.score_items(h, items)
        return h @ self.item_table().T

    @torch.no_grad()
    def full_sort_predict(self, users: Tensor, histories: Tensor) -> Tensor:
        """Scores (B, num_items + 1) of the next item from the last position; ``users`` is unused."""
        h = self.encode(fit_history(histories, self.max_len))[:, -1]
        return h @ self.item_table().T


def _example(num_items: int, max_len: int):
    return lambda b, device: torch.randint(1, num_items + 1, (b, max_len), device=device)


@register_model(
    paper=SASREC_2018,
    reference="kang205/SASRec (TensorFlow) model.py + modules.py, ML-1m: hidden_units=50, num_blocks=2, maxlen=200",
    # (3416 + 1) * 50 item + 200 * 50 position + 2 * (2 LN + Q, K, V + 2 FFN) + final LN = 206,850
    reference_params=206_850,
    input_size=(200,),
    example_input=_example(3416, 200),
)
def sasrec(**kwargs: Any) -> SASRec:
    """SASRec, the paper's ML-1m configuration (§IV: d = 50, 2 blocks, 1 head, n = 200, dropout 0.2)."""
    return SASRec(
        **{**dict(num_items=3416, max_len=200, hidden_size=50, num_blocks=2, num_heads=1, dropout=0.2), **kwargs}
    )


@register_model(
    paper=SASREC_2018, reference="kang205/SASRec (TensorFlow)", input_size=(8,), example_input=_example(20, 8)
)
def sasrec_tiny(**kwargs: Any) -> SASRec:
    """A small SASRec (20 items, n = 8, d = 16, 2 blocks, 2 heads)."""
    return SASRec(**{**dict(num_items=20, max_len=8, hidden_size=16, num_blocks=2, num_heads=2, dropout=0.2), **kwargs})
