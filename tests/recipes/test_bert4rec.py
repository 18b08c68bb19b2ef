"""The bert4rec recipe: its ranking evaluation is evaluate_ranking's, and the quick run shows its claim."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from paperzoo.data.recsys import leave_one_out
from paperzoo.engine.trainer import evaluate_dataset
from paperzoo.metrics.ranking import PROTOCOLS, evaluate_ranking
from paperzoo.recipes.bert4rec import RankingSplit, RankingTask, popularity_scores
from paperzoo.registry import get_recipe


class _Fixed(nn.Module):
    """A scorer with fixed per-item scores plus a per-user shift, so every user ranks differently."""

    def __init__(self, num_items: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.scores = nn.Parameter(torch.randn(num_items + 1, generator=g))

    def full_sort_predict(self, users: Tensor, histories: Tensor) -> Tensor:
        return self.scores[None, :] + 0.5 * torch.sin(users[:, None].float() * torch.arange(len(self.scores)))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_task_evaluation_equals_evaluate_ranking(protocol: str) -> None:
    rng = np.random.default_rng(0)
    num_items = 130  # > 100 negatives + history
    histories = [rng.choice(np.arange(1, num_items + 1), size=rng.integers(2, 12), replace=False) for _ in range(7)]
    targets = torch.tensor([int(np.setdiff1d(np.arange(1, num_items + 1), h)[u]) for u, h in enumerate(histories)])
    counts = torch.from_numpy(rng.integers(1, 50, size=num_items + 1))
    counts[0] = 0
    model = _Fixed(num_items)
    task = RankingTask(None, num_items=num_items, item_counts=counts, protocol=protocol, seed=5, max_len=16)
    split = RankingSplit(histories, targets)
    # Through the trainer's evaluation path (eval_batches + move_to_device + task.evaluate).
    got = evaluate_dataset(task, model, split, batch_size=3, device=torch.device("cpu"))
    want = evaluate_ranking(
        model.full_sort_predict,
        histories,
        targets,
        num_items=num_items,
        protocol=protocol,
        item_counts=counts,
        seed=5,
        max_len=16,
    )
    assert set(got) == {"HR@1", "HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR"}
    for k, v in got.items():
        assert v == pytest.approx(float(want[k]), abs=1e-12)
    assert 0.0 < got["MRR"] < 1.0


def test_popularity_scorer_counts_training_items() -> None:
    score = popularity_scores([np.array([1, 2, 2]), np.array([2, 3])], num_items=4)
    assert score(torch.arange(2), torch.zeros(2, 5, dtype=torch.long)).tolist() == [[0, 1, 3, 1, 0]] * 2


def test_setup_builds_the_leave_one_out_experiment() -> None:
    recipe = get_recipe("bert4rec")
    config = {**recipe.configs["quick"], "data": {"name": "seq_groups", "path": None, "kwargs": {"num_users": 60}}}
    exp = recipe.setup(config)
    split = leave_one_out(_data(config))
    assert torch.equal(exp.test_set.targets, split.test_target)
    assert torch.equal(exp.val_set.targets, split.val_target)
    assert exp.model.num_items == split.num_items and exp.model.max_len == 50
    assert recipe.example_input(exp).shape == (2, 50)


def _data(config):
    from paperzoo.registry import create_dataset

    return create_dataset("seq_groups", seed=int(config["seed"]), **config["data"]["kwargs"])


def test_quick_recipe_bert4rec_beats_sasrec_beats_popularity(tmp_path) -> None:
    from paperzoo.engine.run import run_recipe

    s = run_recipe(
        "bert4rec",
        out=tmp_path / "run",
        runs_root=tmp_path,
        quiet=True,
        report=False,
        overrides=["train.tensorboard=false"],
    )
    table = s["tables"]["leave-one-out ranking (test), three protocols"]
    assert {row[1] for row in table["rows"]} == set(PROTOCOLS)
    assert {row[0] for row in table["rows"]} == {"BERT4Rec", "SASRec", "popularity"}
    m = s["metrics"]
    bert, sas, pop = (m[f"{name}/popularity/NDCG@10"] for name in ("BERT4Rec", "SASRec", "popularity"))
    assert bert == pytest.approx(s["value"])
    assert sas == pytest.approx(s["baseline"]["value"])
    assert bert > sas + 0.02, (bert, sas)  # measured 0.765 vs 0.727
    assert sas > pop + 0.3, (sas, pop)  # measured 0.727 vs 0.075
    assert s["beats_baseline"]
    # the validation curve was recorded and rises
    assert m["val_NDCG@10/last"] > m["val_NDCG@10/first"] + 0.2
    assert (tmp_path / "run" / "plots" / "bert4rec_val_ndcg.png").is_file()
