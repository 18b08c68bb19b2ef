"""Sequential and collaborative-filtering recommenders: BERT4Rec and its baselines (SASRec, GRU4Rec, BPR-MF).

Id conventions shared with :mod:`paperzoo.data.recsys` and :mod:`paperzoo.metrics.ranking`: items are
1..num_items, 0 is padding, ``num_items + 1`` is BERT4Rec's [MASK]; users are 0..num_users-1; histories
are left-padded ``(B, L)`` LongTensors with the most recent item last. Every model has
``full_sort_predict(users, histories) -> (B, num_items + 1)``.
"""

from .bert4rec import DATASET_CONFIGS, BERT4Rec, BERT4RecPreset
from .gru4rec import GRU4Rec
from .mf_bpr import MFBPR
from .sasrec import SASRec

__all__ = ["BERT4Rec", "BERT4RecPreset", "DATASET_CONFIGS", "GRU4Rec", "MFBPR", "SASRec"]
