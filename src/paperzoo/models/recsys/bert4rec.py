"""BERT4Rec: a bidirectional Transformer trained with the Cloze objective for sequential recommendation.

Paper: Fei Sun, Jun Liu, Jian Wu, Changhua Pei, Xiao Lin, Wenwu Ou, Peng Jiang, "BERT4Rec: Sequential
Recommendation with Bidirectional Encoder Representations from Transformer", CIKM 2019, arXiv:1904.06690.
Reference implementation: the authors' TensorFlow code, github.com/FeiSun/BERT4Rec (``modeling.py``,
``run.py``, ``gen_data_fin.py``, ``bert_train/bert_config_*_64.json``, ``run_*.sh``).

Implemented (§3.2-3.5)::

    item ids (B, L) ──▶ E[v_i] + P[i] (+ token-type row) ──▶ LayerNorm ──▶ Dropout      h⁰, §3.4
                    ──▶ L × Trm:  A = LN(H + Dropout(MH(H)))                            §3.3
                                  H' = LN(A + Dropout(PFFN(A))),  PFFN = W₂ GELU(W₁ x + b₁) + b₂
                    ──▶ output:   P(v) = softmax(LN(GELU(h W^P + b^P)) Eᵀ + b^O)        eq. 7 (+ LN)

* Multi-head self-attention (:class:`paperzoo.nn.attention.Attention`, fused SDPA) is bidirectional;
  padding positions are removed from the keys with a boolean key-padding mask (the official code adds
  -10000 to their logits, the same function up to exp(-10000)).
* **Output layer.** Eq. 7 of the paper is ``softmax(GELU(h W^P + b^P) Eᵀ + b^O)``. The official code
  (``run.py: get_masked_lm_output``, BERT's ``cls/predictions/transform``) applies a LayerNorm after the
  GELU; ``output_norm=True`` (default) follows the code, ``output_norm=False`` is eq. 7 as printed. The
  output weights are the input item embedding E (shared) plus an output-only bias b^O over the whole
  vocabulary.
* **Vocabulary.** ids 0 = padding, 1..num_items = items, ``num_items + 1`` = [MASK]. The official
  vocabulary (``vocab.py: FreqVocab``) also holds two tokens that are never fed, ``[pad]`` and
  ``[NO_USE]`` (the sequences are padded with id 0), so its table has ``num_items + 4`` rows (3,420 for
  ML-1m's 3,416 items). ``num_extra_tokens=2`` reproduces these rows; they take part in the softmax of the
  Cloze loss exactly as in the official code (the loss normalises over the whole vocabulary).
* **Token-type embedding.** The official ``BertModel`` keeps BERT's segment embedding
  (``type_vocab_size=2`` in every config) and adds row 0 to every position; it is a learned bias on the
  embedding sum before the LayerNorm. ``type_vocab_size=2`` reproduces it, 0 drops it (the paper's §3.4).
* Initialisation as the official code: every weight ~ truncated normal (std 0.02, cut at 2 std), biases
  zero, LayerNorm (1, 0) with eps 1e-12.

The registered ``bert4rec`` is the official ML-1m configuration, layer for layer (339,612 parameters,
counted from ``modeling.py``/``run.py`` with ``bert_config_ml-1m_64.json``); the paper's literal version
is ``create_model("bert4rec", output_norm=False, type_vocab_size=0, num_extra_tokens=0)``.
:data:`DATASET_CONFIGS` holds the four datasets' settings from the run scripts.

Deviations: histories are left-padded (the official code right-pads), and positions are counted from the
right end of the window (the most recent item always has position ``max_len - 1``), so a left-padded
input of any length gives the same outputs at its items; [MASK] is appended at the last position at
inference (§3.6), always the same position. Cloze masking, the sliding windows and the loss live in
:mod:`paperzoo.recipes.recsys_tasks` (``ClozeTask``, ``SequenceWindows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ...nn.attention import Attention
from ...registry import Paper, register_model
from ._common import check_probability, check_sequences, fit_history

__all__ = ["BERT4Rec", "BERT4RecLayer", "BERT4RecPreset", "DATASET_CONFIGS", "BERT4REC_2019"]

BERT4REC_2019 = Paper(
    title="BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations from Transformer",
    authors="Fei Sun, Jun Liu, Jian Wu, Changhua Pei, Xiao Lin, Wenwu Ou, Peng Jiang",
    year=2019,
    arxiv="1904.06690",
)

#: LayerNorm epsilon of the official code (``tf.contrib.layers.layer_norm``'s default, as in BERT).
LN_EPS = 1e-12


def _trunc_normal_(t: Tensor, std: float) -> None:
    # tf.truncated_normal_initializer(stddev) redraws values beyond two standard deviations.
    nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)


class BERT4RecLayer(nn.Module):
    """One bidirectional Transformer layer of BERT4Rec (§3.3): post-norm, as BERT.

    ``A = LN(H + Dropout(MH(H)))``, ``H' = LN(A + Dropout(PFFN(A)))`` with ``PFFN(x) = GELU(x W₁ + b₁) W₂ + b₂``.

    Args:
        dim: hidden size d.
        num_heads: attention heads h (must divide d).
        intermediate_size: PFFN hidden width (4d in the paper, 256 for d = 64).
        dropout: dropout after the attention projection and after the PFFN (``hidden_dropout_prob``).
        attn_dropout: dropout on the attention probabilities (``attention_probs_dropout_prob``).

    Shapes:
        x: (B, L, d); attn_mask: boolean (B, 1, 1, L), True for keys that take part → (B, L, d).
    """

    def __init__(
        self, dim: int, num_heads: int, *, intermediate_size: int, dropout: float = 0.1, attn_dropout: float = 0.1
    ) -> None:
        super().__init__()
        if intermediate_size <= 0:
            raise ValueError(f"intermediate_size must be > 0 (got {intermediate_size})")
        self.attn = Attention(dim, num_heads, qkv_bias=True, attn_drop=attn_dropout, proj_drop=dropout)
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.fc1 = nn.Linear(dim, intermediate_size)
        self.act = nn.GELU()  # the official gelu is the exact erf form, as nn.GELU()
        self.fc2 = nn.Linear(intermediate_size, dim)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        a = self.norm1(x + self.attn(x, attn_mask=attn_mask))  # the Attention module applies the dropout
        return self.norm2(a + self.drop(self.fc2(self.act(self.fc1(a)))))  # H' = LN(A + Dropout(PFFN(A)))


class BERT4Rec(nn.Module):
    """BERT4Rec (Sun et al. 2019): bidirectional self-attention over a user's item sequence.

    Args:
        num_items: number of items; ids 1..num_items, 0 is padding and ``num_items + 1`` is [MASK].
        max_len: longest history N (the number of position embeddings).
        hidden_size: d (64 in the paper's main results).
        num_layers: L Transformer layers (2).
        num_heads: h attention heads (2; the paper uses 32 dimensions per head).
        intermediate_size: PFFN width (default 4d).
        dropout: ``hidden_dropout_prob`` of the official configs (embeddings, attention output, PFFN).
        attn_dropout: ``attention_probs_dropout_prob`` (default: ``dropout``).
        output_norm: LayerNorm after the output GELU, as the official code (False: eq. 7 as printed).
        type_vocab_size: rows of BERT's token-type embedding kept by the official code (2; 0 = none).
        num_extra_tokens: never-fed vocabulary rows after [MASK] (2 in the official vocabulary).
        init_std: std of the truncated-normal initialisation (0.02).

    Shapes:
        forward(seq): (B, L) ids in [0, num_items + 1], L <= max_len → logits (B, L, num_items + 1) over
        padding (column 0) and the items. forward(seq, masked): masked (B, L) bool → (N, vocab_size) logits
        at the N masked positions (row-major order) over the whole vocabulary, the Cloze loss's softmax.
    """

    def __init__(
        self,
        num_items: int,
        max_len: int = 200,
        *,
        hidden_size: int = 64,
        num_layers: int = 2,
        num_heads: int = 2,
        intermediate_size: int | None = None,
        dropout: float = 0.1,
        attn_dropout: float | None = None,
        output_norm: bool = True,
        type_vocab_size: int = 0,
        num_extra_tokens: int = 0,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        for name, v in (("num_items", num_items), ("max_len", max_len), ("hidden_size", hidden_size)):
            if v <= 0:
                raise ValueError(f"{name} must be > 0 (got {v})")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1 (got {num_layers})")
        if num_heads <= 0 or hidden_size % num_heads:
            raise ValueError(f"num_heads must be > 0 and divide hidden_size={hidden_size} (got {num_heads})")
        if type_vocab_size < 0 or num_extra_tokens < 0:
            raise ValueError(
                f"type_vocab_size and num_extra_tokens must be >= 0 (got {type_vocab_size}, {num_extra_tokens})"
            )
        if init_std <= 0:
            raise ValueError(f"init_std must be > 0 (got {init_std})")
        attn_dropout = dropout if attn_dropout is None else attn_dropout
        check_probability("dropout", dropout)
        check_probability("attn_dropout", attn_dropout)
        intermediate_size = 4 * hidden_size if intermediate_size is None else intermediate_size

        self.num_items, self.max_len, self.hidden_size = num_items, max_len, hidden_size
        self.mask_token = num_items + 1
        self.vocab_size = num_items + 2 + num_extra_tokens  # padding, items, [MASK], unused extra tokens

        # Embedding layer (§3.4): item + learned position (+ the official code's token-type row 0).
        self.item_emb = nn.Embedding(self.vocab_size, hidden_size)
        self.type_emb = nn.Embedding(type_vocab_size, hidden_size) if type_vocab_size else None
        self.pos_emb = nn.Embedding(max_len, hidden_size)
        self.emb_norm = nn.LayerNorm(hidden_size, eps=LN_EPS)
        self.emb_drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            BERT4RecLayer(
                hidden_size,
                num_heads,
                intermediate_size=intermediate_size,
                dropout=dropout,
                attn_dropout=attn_dropout,
            )
            for _ in range(num_layers)
        )
        # Output layer (§3.5, eq. 7): W^P, b^P, GELU, (LayerNorm), shared E, output bias b^O.
        self.out_proj = nn.Linear(hidden_size, hidden_size)
        self.out_act = nn.GELU()
        self.out_norm = nn.LayerNorm(hidden_size, eps=LN_EPS) if output_norm else nn.Identity()
        self.out_bias = nn.Parameter(torch.zeros(self.vocab_size))
        self._init_weights(init_std)

    def _init_weights(self, std: float) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                _trunc_normal_(m.weight, std)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

    def key_mask(self, seq: Tensor) -> Tensor:
        """Boolean attention mask (B, 1, 1, L): True for the keys a query may attend to (non-padding).

        A sequence of nothing but padding attends to every position instead (its outputs are meaningless
        but finite), since a softmax over no keys is undefined.
        """
        keep = seq != 0
        keep = keep | ~keep.any(dim=1, keepdim=True)
        return keep[:, None, None, :]

    def encode(self, seq: Tensor) -> Tensor:
        """Final hidden states h^L (B, L, d) of a left-padded id sequence (B, L), ids in [0, num_items + 1]."""
        check_sequences(seq, max_len=self.max_len, max_id=self.mask_token)
        length = seq.shape[1]
        # Positions are counted from the right end, so the most recent item is always at max_len - 1.
        pos = self.pos_emb.weight[self.max_len - length :]  # (L, d)
        x = self.item_emb(seq) + pos
        if self.type_emb is not None:
            x = x + self.type_emb.weight[0]  # every token has token type 0 in the official code
        x = self.emb_drop(self.emb_norm(x))  # (B, L, d)
        mask = self.key_mask(seq)
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def head(self, h: Tensor) -> Tensor:
        """Output layer (eq. 7): logits ``LN(GELU(h W^P + b^P)) Eᵀ + b^O`` over the whole vocabulary (..., V)."""
        z = self.out_norm(self.out_act(self.out_proj(h)))
        return z @ self.item_emb.weight.T + self.out_bias

    def forward(self, seq: Tensor, masked: Tensor | None = None) -> Tensor:
        """Item logits at every position, or whole-vocabulary logits at the masked positions only.

        Args:
            seq: (B, L) left-padded ids (items, 0 = padding, ``num_items + 1`` = [MASK]).
            masked: optional (B, L) bool; the Cloze training path (gathers before the output layer, so no
                (B, L, V) tensor is built).

        Returns:
            (B, L, num_items + 1) logits for ids 0..num_items, or (N, vocab_size) with ``masked``.
        """
        h = self.encode(seq)
        if masked is not None:
            if masked.shape != seq.shape or masked.dtype != torch.bool:
                raise ValueError(
                    f"expected a bool mask of shape {tuple(seq.shape)}, got {masked.dtype} {tuple(masked.shape)}"
                )
            return self.head(h[masked])  # (N, V)
        return self.head(h)[..., : self.num_items + 1]

    @torch.no_grad()
    def full_sort_predict(self, users: Tensor, histories: Tensor) -> Tensor:
        """Scores of every item id for the next interaction (§3.6): [MASK] appended after the history.

        Args:
            users: (B,) user ids (unused: BERT4Rec has no user embedding).
            histories: (B, L) left-padded histories; the last ``max_len - 1`` items are kept.

        Returns:
            (B, num_items + 1) logits; column 0 is padding.
        """
        hist = fit_history(histories, self.max_len - 1)
        mask_col = torch.full_like(hist[:, :1], self.mask_token)
        h = self.encode(torch.cat([hist, mask_col], dim=1))[:, -1]  # (B, d) at [MASK]
        return self.head(h)[:, : self.num_items + 1]


# --------------------------------------------------------------------------------------------------------------------
# Per-dataset settings of the authors' code
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BERT4RecPreset:
    """One dataset's BERT4Rec settings: Table 1 sizes, §4.3 and the official run scripts and configs.

    Model: ``bert_train/bert_config_<dataset>_64.json``; data generation (``gen_data_fin.py`` flags in
    ``run_<dataset>.sh``): ``mask_prob`` = masked_lm_prob ρ (§4.3: 0.2 ML-1m/ML-20m, 0.6 Beauty, 0.4
    Steam), ``max_predictions`` = max_predictions_per_seq, ``sliding_window`` = prop_sliding_window (the
    window step is ``int(sliding_window * max_len)``), dupe_factor 10 and one extra last-item-only
    instance per window. Training (``run.py``, ``optimization.py``): Adam with decoupled weight decay
    0.01 (not on LayerNorm and biases), eps 1e-6, lr 1e-4 with 100 warm-up steps and linear decay to 0,
    gradient clipping at global norm 5, batch 256.
    """

    num_users: int
    num_items: int
    max_len: int
    mask_prob: float
    max_predictions: int
    sliding_window: float
    dropout: float
    attn_dropout: float
    train_steps: int = 400_000
    hidden_size: int = 64
    num_heads: int = 2
    num_layers: int = 2
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 5.0

    @property
    def sliding_step(self) -> int:
        return int(self.sliding_window * self.max_len)

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the official model for this dataset (vocabulary = items + 4)."""
        return dict(
            num_items=self.num_items,
            max_len=self.max_len,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_size=4 * self.hidden_size,
            dropout=self.dropout,
            attn_dropout=self.attn_dropout,
            output_norm=True,
            type_vocab_size=2,
            num_extra_tokens=2,
        )


#: Steam: ``run_steam.sh`` points at the 256-dimensional config (8 heads, dropout 0.2, 800k steps), while
#: the paper's main results use d = 64 with 2 heads of 32 dimensions (§4.3); the 64-dimensional config
#: (``bert_config_steam_64.json``) is kept here.
DATASET_CONFIGS: dict[str, BERT4RecPreset] = {
    "ml-1m": BERT4RecPreset(6040, 3416, 200, 0.2, 40, 0.5, dropout=0.2, attn_dropout=0.2),
    "ml-20m": BERT4RecPreset(138493, 26744, 200, 0.2, 20, 0.5, dropout=0.1, attn_dropout=0.1),
    "beauty": BERT4RecPreset(40226, 54542, 50, 0.6, 30, 0.1, dropout=0.5, attn_dropout=0.2),
    "steam": BERT4RecPreset(281428, 13044, 50, 0.4, 20, 0.5, dropout=0.1, attn_dropout=0.1, train_steps=800_000),
}


def official_param_count(preset: BERT4RecPreset) -> int:
    """Trainable parameters of the official TF model for ``preset`` (``modeling.py`` + ``run.py``)."""
    d, n, inter, v = preset.hidden_size, preset.max_len, 4 * preset.hidden_size, preset.num_items + 4
    embeddings = v * d + 2 * d + n * d + 2 * d  # word, token type (2 rows), position, LayerNorm
    layer = 4 * (d * d + d) + 2 * d + (d * inter + inter) + (inter * d + d) + 2 * d
    output = (d * d + d) + 2 * d + v  # cls/predictions/transform dense + LayerNorm, output_bias
    return embeddings + preset.num_layers * layer + output


def _build(defaults: dict[str, Any], overrides: dict[str, Any]) -> BERT4Rec:
    return BERT4Rec(**{**defaults, **overrides})


def _example(num_items: int, max_len: int):
    return lambda b, device: torch.randint(1, num_items + 1, (b, max_len), device=device)


_REF = "FeiSun/BERT4Rec (TensorFlow) modeling.py + run.py, bert_config_{}_64.json"


@register_model(
    paper=BERT4REC_2019,
    reference=_REF.format("ml-1m"),
    reference_params=official_param_count(DATASET_CONFIGS["ml-1m"]),  # 339,612
    input_size=(200,),
    example_input=_example(3416, 200),
)
def bert4rec(**kwargs: Any) -> BERT4Rec:
    """BERT4Rec, official ML-1m configuration (3,416 items, N = 200, d = 64, L = 2, h = 2, dropout 0.2)."""
    return _build(DATASET_CONFIGS["ml-1m"].model_kwargs(), kwargs)


@register_model(
    paper=BERT4REC_2019,
    reference=_REF.format("ml-20m"),
    reference_params=official_param_count(DATASET_CONFIGS["ml-20m"]),
    input_size=(200,),
    example_input=_example(26744, 200),
)
def bert4rec_ml20m(**kwargs: Any) -> BERT4Rec:
    """BERT4Rec, official ML-20m configuration (26,744 items, N = 200, dropout 0.1)."""
    return _build(DATASET_CONFIGS["ml-20m"].model_kwargs(), kwargs)


@register_model(
    paper=BERT4REC_2019,
    reference=_REF.format("beauty"),
    reference_params=official_param_count(DATASET_CONFIGS["beauty"]),
    input_size=(50,),
    example_input=_example(54542, 50),
)
def bert4rec_beauty(**kwargs: Any) -> BERT4Rec:
    """BERT4Rec, official Amazon Beauty configuration (54,542 items, N = 50, dropout 0.5, attention 0.2)."""
    return _build(DATASET_CONFIGS["beauty"].model_kwargs(), kwargs)


@register_model(
    paper=BERT4REC_2019,
    reference=_REF.format("steam"),
    reference_params=official_param_count(DATASET_CONFIGS["steam"]),
    input_size=(50,),
    example_input=_example(13044, 50),
)
def bert4rec_steam(**kwargs: Any) -> BERT4Rec:
    """BERT4Rec, official Steam configuration with d = 64 (13,044 items, N = 50, dropout 0.1)."""
    return _build(DATASET_CONFIGS["steam"].model_kwargs(), kwargs)


@register_model(paper=BERT4REC_2019, reference=_REF.format("ml-1m"), input_size=(8,), example_input=_example(20, 8))
def bert4rec_tiny(**kwargs: Any) -> BERT4Rec:
    """A small BERT4Rec (20 items, N = 8, d = 16) with every component of the official model."""
    defaults = dict(
        num_items=20,
        max_len=8,
        hidden_size=16,
        num_layers=2,
        num_heads=2,
        dropout=0.1,
        type_vocab_size=2,
        num_extra_tokens=2,
    )
    return _build(defaults, kwargs)
