"""BERT4Rec at ML-1m scale on CPU: training throughput and full-ranking evaluation time.

Run: ``python benchmarks/bench_bert4rec.py [--batch-size 64] [--steps 5]``. Scale of the paper's ML-1m
(Table 1): 6,040 users, 3,416 items, sequences of length 200, the official ``bert4rec`` configuration.

- Training: sequences/s of a Cloze training step (mask, forward at the masked positions, backward, Adam),
  next to SASRec's next-item step on the same batch, and next to a reference encoder of the same shape
  built from ``torch.nn.TransformerEncoder`` (a ratio > 1 means paperzoo's SDPA encoder is faster).
- Evaluation: seconds to rank every user's target against all 3,416 items (history items masked),
  vectorised (:func:`paperzoo.metrics.ranking.evaluate_ranking`), and the ratio to a naive per-user loop
  over the same scores measured on a subset and extrapolated.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from paperzoo import create_model
from paperzoo.metrics.ranking import evaluate_ranking
from paperzoo.recipes.recsys_tasks import ClozeTask, SASRecTask

USERS, ITEMS, LENGTH = 6040, 3416, 200


def median_seconds(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    seqs = torch.randint(1, ITEMS + 1, (args.batch_size, LENGTH))

    bert = create_model("bert4rec")
    opt = torch.optim.Adam(bert.parameters(), lr=1e-4)
    cloze = ClozeTask(0.2, ITEMS + 1, max_predictions=40)

    def bert_step() -> None:
        opt.zero_grad(set_to_none=True)
        cloze.training_step(bert, seqs).loss.backward()
        opt.step()

    sas = create_model("sasrec")
    sas_opt = torch.optim.Adam(sas.parameters(), lr=1e-3)
    negatives = torch.randint(1, ITEMS + 1, seqs.shape)
    sas_batch = (seqs[:, :-1], seqs[:, 1:], negatives[:, 1:])

    def sas_step() -> None:
        sas_opt.zero_grad(set_to_none=True)
        SASRecTask().training_step(sas, sas_batch).loss.backward()
        sas_opt.step()

    # Reference: the same encoder shape (2 layers, d 64, 2 heads, FFN 256, GELU, post-norm) from torch.nn.
    ref = nn.Sequential(
        nn.Embedding(ITEMS + 4, 64),
        nn.TransformerEncoder(
            nn.TransformerEncoderLayer(64, 2, 256, dropout=0.1, activation="gelu", batch_first=True), num_layers=2
        ),
    )
    ref_head = nn.Linear(64, ITEMS + 4)
    ref_opt = torch.optim.Adam([*ref.parameters(), *ref_head.parameters()], lr=1e-4)

    def ref_step() -> None:
        ref_opt.zero_grad(set_to_none=True)
        inputs, masked = cloze.mask(seqs)
        h = ref(inputs)[masked]
        nn.functional.cross_entropy(ref_head(h), seqs[masked]).backward()
        ref_opt.step()

    t_bert = median_seconds(bert_step, args.steps)
    t_sas = median_seconds(sas_step, args.steps)
    t_ref = median_seconds(ref_step, args.steps)
    b = args.batch_size
    print(f"CPU, {torch.get_num_threads()} threads; batch {b}, length {LENGTH}, {ITEMS} items")
    print(f"BERT4Rec Cloze step   {b / t_bert:8.1f} sequences/s")
    print(f"SASRec BCE step       {b / t_sas:8.1f} sequences/s")
    print(f"torch.nn reference    {b / t_ref:8.1f} sequences/s  (paperzoo / reference = {t_ref / t_bert:.2f})")

    histories = [rng.integers(1, ITEMS + 1, size=LENGTH - 1) for _ in range(USERS)]
    targets = torch.as_tensor(rng.integers(1, ITEMS + 1, size=USERS))
    bert.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        evaluate_ranking(bert.full_sort_predict, histories, targets, num_items=ITEMS, protocol="full")
        t_eval = time.perf_counter() - t0
        # Naive reference: score users one at a time and rank in Python, on a subset, extrapolated.
        subset = 200
        t0 = time.perf_counter()
        for u in range(subset):
            hist = torch.as_tensor(histories[u])[None]
            scores = bert.full_sort_predict(torch.tensor([u]), hist)[0]
            seen = set(histories[u].tolist()) - {int(targets[u])}
            target_score = scores[targets[u]].item()
            sum(1 for i in range(1, ITEMS + 1) if i not in seen and scores[i].item() > target_score)
        t_naive = (time.perf_counter() - t0) * USERS / subset
    print(
        f"full ranking, {USERS} users: {t_eval:.2f} s vectorised; per-user loop ≈ {t_naive:.1f} s "
        f"({t_naive / t_eval:.0f}x slower)"
    )


if __name__ == "__main__":
    main()
