"""The margin_digits recipe: its quick config beats the majority-class baseline with every surrogate loss."""

from __future__ import annotations

import json

import torch

from paperzoo.engine.run import run_recipe
from paperzoo.losses.margin import MARGIN_LOSSES
from paperzoo.recipes.margin_digits import MarginBankTask, build_losses


def test_quick_recipe_beats_majority_baseline_with_every_surrogate(tmp_path) -> None:
    summary = run_recipe("margin_digits", out=tmp_path / "run", quiet=True, overrides=["train.tensorboard=false"])
    assert summary["status"] == "finished"
    baseline = summary["baseline"]["value"]
    assert 0.45 < baseline < 0.55  # even vs odd digits is balanced
    accs = {n: summary["metrics"][f"acc/{n}"] for n in MARGIN_LOSSES}
    for name, acc in accs.items():
        if name != "ZeroOneLoss":
            assert acc > baseline + 0.25, f"{name} reached only {acc:.3f}"
    assert summary["beats_baseline"] and summary["value"] == min(v for n, v in accs.items() if n != "ZeroOneLoss")
    # The zero-one loss has a zero derivative: gradient descent leaves its column at initialisation.
    state = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["model"]
    assert state["linear.weight"].shape == (len(MARGIN_LOSSES), 64)
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["tables"]["test accuracy per margin loss"]["rows"][0][0] == "ZeroOneLoss"
    for name in (
        "config.yaml",
        "command.txt",
        "metrics.csv",
        "best.ckpt",
        "model.safetensors",
        "report.md",
        "report.html",
        "plots/losses.png",
        "plots/test_accuracy.png",
        "plots/loss.png",
    ):
        assert (tmp_path / "run" / name).is_file(), name


def test_columns_train_independently() -> None:
    """Training the bank equals training each loss alone (the sum of losses decouples)."""
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = torch.where(torch.randn(64) > 0, 1.0, -1.0)
    losses = build_losses(["L1HingeLoss", "ExpLoss", "LogitMarginLoss"], gamma=2.0, q=1.0)
    bank = torch.nn.Linear(5, 3)
    singles = [torch.nn.Linear(5, 1) for _ in losses]
    for k, single in enumerate(singles):
        single.weight.data.copy_(bank.weight.data[k : k + 1])
        single.bias.data.copy_(bank.bias.data[k : k + 1])
    task = MarginBankTask(losses)
    opt = torch.optim.Adam(bank.parameters(), lr=0.05)
    opts = [torch.optim.Adam(s.parameters(), lr=0.05) for s in singles]
    for _ in range(20):
        opt.zero_grad()
        task.training_step(bank, (x, y)).loss.backward()
        opt.step()
        for loss, single, o in zip(losses, singles, opts):
            o.zero_grad()
            loss(single(x).squeeze(-1), y).backward()
            o.step()
    for k, single in enumerate(singles):
        torch.testing.assert_close(bank.weight.data[k], single.weight.data[0])
