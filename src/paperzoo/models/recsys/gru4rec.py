"""GRU4Rec: session-based recommendation with a GRU over one-hot encoded items.

Paper: Balázs Hidasi, Alexandros Karatzoglou, Linas Baltrunas, Domonkos Tikk, "Session-based
Recommendations with Recurrent Neural Networks", ICLR 2016, arXiv:1511.06939. Reference implementation:
the authors' Theano code, github.com/hidasib/GRU4Rec (``gru4rec.py``: parameters ``Wx``, ``Wh``, ``Wrz``,
``Bh``, ``Wy``, ``By``).

Implemented (§3.1): the input is the 1-of-N encoding of the current item (the paper found it better
than an embedding layer), so the first layer's input weights are looked up by item id. A GRU layer (§2.2,
Cho et al. 2014)::

    z_t = σ(W_z x_t + U_z h_{t-1})                 update gate
    r_t = σ(W_r x_t + U_r h_{t-1})                 reset gate
    ĥ_t = tanh(W x_t + U (r_t ⊙ h_{t-1}))          candidate
    h_t = (1 - z_t) h_{t-1} + z_t ĥ_t

with one bias vector on the input side (``Bh``), dropout on the hidden state as the reference code
applies it (the dropped state is also carried to the next step), further GRU layers fed by the previous
layer's output, and a linear output layer ``ŷ_t = W_y h_t + b_y`` giving a score to every item (final
activation ``linear``, the reference code's default for the ranking losses). The state starts at zero at
the first item of the (left-padded) history and stays zero over padding.

Parameter layout as the reference: ``Wx`` (items × 3H, columns [candidate | reset | update]), ``Wh``
(H × H), ``Wrz`` (H × 2H, [reset | update]), ``Bh`` (3H), ``Wy`` (items × H), ``By`` (items); item id i
uses row i - 1, so no parameter belongs to the padding id. Initialisation as the reference: each block
uniform in ±√(6 / (fan_in + fan_out)), biases zero.

The registered ``gru4rec`` is the paper's RSC15 configuration with the TOP1 loss (Table 1: 37,483 items;
Table 3: one layer of 100 units; Table 2: dropout 0.5): 15,060,983 parameters, counted from the reference
code's shapes for ``layers=[100]``, ``embedding=0``. Left out: session-parallel mini-batches (see
:class:`paperzoo.recipes.recsys_tasks.GRU4RecTask` for the training objective on padded histories), the
additional popularity-sampled negatives and BPR-max/TOP1-max of the later versions.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import Paper, register_model
from ._common import check_probability, check_sequences, fit_history

__all__ = ["GRU4Rec", "GRU4RecLayer", "GRU4REC_2015"]

GRU4REC_2015 = Paper(
    title="Session-based Recommendations with Recurrent Neural Networks",
    authors="Balázs Hidasi, Alexandros Karatzoglou, Linas Baltrunas, Domonkos Tikk",
    year=2015,
    arxiv="1511.06939",
)


def _glorot_blocks_(w: Tensor, fan_in: int, block: int) -> None:
    """Uniform ±√(6 / (fan_in + block)) for each ``block``-wide column group (the reference's ``init_matrix``)."""
    nn.init.uniform_(w, -math.sqrt(6.0 / (fan_in + block)), math.sqrt(6.0 / (fan_in + block)))


class GRU4RecLayer(nn.Module):
    """One GRU layer with the paper's gating (§2.2) and the reference code's parameter layout.

    Args:
        input_size: input width; for the first layer the number of items (one-hot input, looked up).
        hidden_size: H.
        one_hot: the input is item ids (rows of ``Wx`` are looked up) instead of vectors.

    Shapes:
        x: (B, L) ids in [1, input_size] (one-hot) or (B, L, input_size); valid: (B, L) bool → (B, L, H).
    """

    def __init__(self, input_size: int, hidden_size: int, *, one_hot: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden_size, self.one_hot, self.dropout = hidden_size, one_hot, dropout
        self.Wx = nn.Parameter(torch.empty(input_size, 3 * hidden_size))
        self.Wh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.Wrz = nn.Parameter(torch.empty(hidden_size, 2 * hidden_size))
        self.Bh = nn.Parameter(torch.zeros(3 * hidden_size))
        _glorot_blocks_(self.Wx, input_size, hidden_size)
        _glorot_blocks_(self.Wh, hidden_size, hidden_size)
        _glorot_blocks_(self.Wrz, hidden_size, hidden_size)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        H = self.hidden_size
        # Input side of every gate for all steps at once: W x_t (+ Bh); one-hot input = a row look-up.
        gx = (F.embedding(x - 1, self.Wx) if self.one_hot else x @ self.Wx) + self.Bh  # (B, L, 3H)
        gx = gx * valid.unsqueeze(-1)
        b, length = valid.shape
        h = gx.new_zeros(b, H)
        outputs = [gx.new_zeros(b, H)] * length
        start = 0
        if valid.device.type != "meta":  # skip the leading columns that are padding in every sequence
            active = valid.any(0).nonzero()
            start = int(active[0]) if active.numel() else length
        # unbind once: indexing gx[:, t] in the loop would make every step's backward write a full-size gradient.
        steps, keep = gx.unbind(1), valid.unsqueeze(-1).to(gx.dtype).unbind(1)
        for t in range(start, length):
            rz = torch.sigmoid(steps[t][:, H:] + h @ self.Wrz)  # reset and update gates [r | z]
            r, z = rz[:, :H], rz[:, H:]
            cand = torch.tanh((r * h) @ self.Wh + steps[t][:, :H])  # candidate tanh(W x + U (r ⊙ h))
            h = (1.0 - z) * h + z * cand  # interpolation
            h = F.dropout(h, self.dropout, self.training) * keep[t]  # zero state over padding
            outputs[t] = h
        return torch.stack(outputs, dim=1)


class GRU4Rec(nn.Module):
    """GRU4Rec (Hidasi et al. 2015): a GRU over one-hot items with a linear score for every item.

    Args:
        num_items: number of items (ids 1..num_items; 0 is padding).
        max_len: longest accepted history.
        hidden_size: GRU units per layer (100 or 1000 in the paper).
        num_layers: stacked GRU layers (one was best, §4.3).
        dropout: dropout on the hidden state (0.5 for TOP1 on RSC15, Table 2).

    Shapes:
        forward(seq): (B, L) → (B, L, num_items + 1) scores ŷ_t (column 0, padding, is 0).
        forward(seq, items): items (B, L, K) per position, or (L, K) shared by every sequence at a time step
        (the session-parallel candidates) → (B, L, K).
    """

    def __init__(
        self, num_items: int, max_len: int = 200, *, hidden_size: int = 100, num_layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        for name, v in (("num_items", num_items), ("max_len", max_len), ("hidden_size", hidden_size)):
            if v <= 0:
                raise ValueError(f"{name} must be > 0 (got {v})")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1 (got {num_layers})")
        check_probability("dropout", dropout)
        self.num_items, self.max_len, self.hidden_size = num_items, max_len, hidden_size
        self.layers = nn.ModuleList(
            GRU4RecLayer(num_items if i == 0 else hidden_size, hidden_size, one_hot=i == 0, dropout=dropout)
            for i in range(num_layers)
        )
        self.Wy = nn.Parameter(torch.empty(num_items, hidden_size))
        self.By = nn.Parameter(torch.zeros(num_items))
        _glorot_blocks_(self.Wy, num_items, hidden_size)

    def encode(self, seq: Tensor) -> Tensor:
        """Hidden states h_t of the last layer (B, L, H) for left-padded histories (B, L); 0 over padding."""
        check_sequences(seq, max_len=self.max_len, max_id=self.num_items)
        valid = seq != 0
        x: Tensor = seq.clamp_min(1)  # padding ids are masked inside the layer
        for layer in self.layers:
            x = layer(x, valid)
        return x

    def item_vectors(self, items: Tensor) -> tuple[Tensor, Tensor]:
        """Output weights and biases of ``items`` (any shape): (…, H) and (…); id 0 (padding) gets zeros."""
        w = F.embedding(items.clamp_min(1) - 1, self.Wy)
        b = self.By[items.clamp_min(1) - 1]
        pad = (items == 0).unsqueeze(-1)
        return w.masked_fill(pad, 0.0), b.masked_fill(pad.squeeze(-1), 0.0)

    def scores(self, h: Tensor) -> Tensor:
        """ŷ = W_y h + b_y over every id: (..., H) → (..., num_items + 1), column 0 (padding) = 0."""
        return F.pad(h @ self.Wy.T + self.By, (1, 0))

    def forward(self, seq: Tensor, items: Tensor | None = None) -> Tensor:
        h = self.encode(seq)
        if items is None:
            return self.scores(h)
        b, length = seq.shape
        w, bias = self.item_vectors(items)
        if items.dim() == 2 and items.shape[0] == length:  # (L, K): the same candidates for every sequence
            return torch.einsum("blh,lkh->blk", h, w) + bias
        if items.dim() == 3 and items.shape[:2] == (b, length):
            return (h.unsqueeze(-2) * w).sum(-1) + bias
        raise ValueError(f"expected items of shape ({b}, {length}, K) or ({length}, K), got {tuple(items.shape)}")

    @torch.no_grad()
    def full_sort_predict(self, users: Tensor, histories: Tensor) -> Tensor:
        """Scores (B, num_items + 1) of the next item after each history; ``users`` is unused."""
        return self.scores(self.encode(fit_history(histories, self.max_len))[:, -1])


def _example(num_items: int, max_len: int):
    return lambda b, device: torch.randint(1, num_items + 1, (b, max_len), device=device)


@register_model(
    paper=GRU4REC_2015,
    reference="hidasib/GRU4Rec (Theano) gru4rec.py, layers=[100], embedding=0: Wx, Wh, Wrz, Bh, Wy, By",
    # 37483 * 300 (Wx) + 100 * 100 (Wh) + 100 * 200 (Wrz) + 300 (Bh) + 37483 * 100 (Wy) + 37483 (By)
    reference_params=15_060_983,
    input_size=(200,),
    example_input=_example(37483, 200),
)
def gru4rec(**kwargs: Any) -> GRU4Rec:
    """GRU4Rec, the paper's RSC15 TOP1 configuration: 37,483 items, one GRU layer of 100 units, dropout 0.5."""
    return GRU4Rec(**{**dict(num_items=37483, max_len=200, hidden_size=100, num_layers=1, dropout=0.5), **kwargs})


@register_model(
    paper=GRU4REC_2015, reference="hidasib/GRU4Rec (Theano)", input_size=(8,), example_input=_example(20, 8)
)
def gru4rec_tiny(**kwargs: Any) -> GRU4Rec:
    """A small GRU4Rec (20 items, histories of up to 8, 16 units)."""
    return GRU4Rec(**{**dict(num_items=20, max_len=8, hidden_size=16, num_layers=1, dropout=0.0), **kwargs})
