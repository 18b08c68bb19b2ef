"""The EMA of the weights: the update rule, its trajectory inside the Trainer, evaluation with it, and resume."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import TensorDataset

from paperzoo.engine.ema import ModelEma
from paperzoo.engine.tasks import StepOutput, Task
from paperzoo.engine.trainer import Trainer
from paperzoo.recipes.base import BASE_CONFIG


class Regression(Task):
    def training_step(self, model, batch):
        x, y = batch
        return StepOutput(nn.functional.mse_loss(model(x), y))

    @torch.no_grad()
    def evaluate(self, model, batches):
        losses = [nn.functional.mse_loss(model(x), y, reduction="sum").item() for x, y in batches]
        return {"mse": sum(losses)}


def _data(n: int = 64) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=gen)
    return TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3)


def _trainer(decay: float, steps: int, model: nn.Module | None = None) -> Trainer:
    config = copy.deepcopy(BASE_CONFIG)
    config["optim"].update(name="sgd", lr=0.1, momentum=0.0, weight_decay=0.0)
    config["schedule"].update(name="constant", warmup_steps=0)
    config["train"].update(
        steps=steps, batch_size=16, ema_decay=decay, eval_every=0, ckpt_every=0, log_every=1, tensorboard=False
    )
    torch.manual_seed(1)
    return Trainer(
        model=model if model is not None else nn.Linear(3, 1),
        task=Regression(),
        train_set=_data(),
        val_set=_data(32),
        config=config,
        run_dir=None,
        device=torch.device("cpu"),
        metric="mse",
        higher_is_better=False,
        quiet=True,
    )


def test_update_is_the_moving_average_and_copies_buffers() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    ema = ModelEma(model, 0.9)
    old = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model.train()(torch.randn(8, 4))  # moves the batch-norm statistics
    ema.update(model)
    for e, o, p in zip(ema.module.parameters(), old, model.parameters(), strict=True):
        torch.testing.assert_close(e, 0.9 * o + 0.1 * p)
        assert not e.requires_grad
    for e, b in zip(ema.module.buffers(), model.buffers(), strict=True):
        torch.testing.assert_close(e, b)


def test_trainer_ema_follows_the_recursion_over_the_trained_weights() -> None:
    trainer = _trainer(0.7, steps=6)
    snapshots = []
    trainer.optimizer.register_step_post_hook(
        lambda opt, *_: snapshots.append([p.detach().clone() for p in trainer.module.parameters()])
    )
    expected = [p.detach().clone() for p in trainer.module.parameters()]
    trainer.fit()
    assert len(snapshots) == 6
    for snap in snapshots:
        expected = [0.7 * e + 0.3 * s for e, s in zip(expected, snap, strict=True)]
    for e, got in zip(expected, trainer.ema.module.parameters(), strict=True):
        torch.testing.assert_close(got, e)
    assert not torch.equal(snapshots[-1][0], expected[0])  # the average lags the trained weights


def test_evaluation_uses_the_ema_weights() -> None:
    trainer = _trainer(1.0 - 1e-9, steps=20)  # an EMA that barely moves: it stays at the initial weights
    initial = copy.deepcopy(trainer.module)
    trainer.fit()
    val = trainer.val_set
    x, y = val.tensors
    with torch.no_grad():
        initial_mse = nn.functional.mse_loss(initial(x), y, reduction="sum").item()
        trained_mse = nn.functional.mse_loss(trainer.module(x), y, reduction="sum").item()
    assert trainer.evaluate()["mse"] == torch.tensor(initial_mse).item()
    assert trained_mse < 0.5 * initial_mse


def test_resumed_run_has_the_same_average_as_an_uninterrupted_one() -> None:
    straight = _trainer(0.8, steps=8)
    straight.fit()
    first = _trainer(0.8, steps=4)
    first.fit()
    state = first.state_dict()
    assert "ema" in state
    second = _trainer(0.8, steps=8)
    second.load_state_dict(state)
    second.fit()
    for a, b in zip(straight.ema.module.parameters(), second.ema.module.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_an_empty_validation_split_means_no_selection() -> None:
    trainer = _trainer(0.0, steps=3)
    empty = TensorDataset(torch.zeros(0, 3), torch.zeros(0, 1))
    config = dict(trainer.cfg)
    t = Trainer(
        model=nn.Linear(3, 1),
        task=Regression(),
        train_set=_data(),
        val_set=empty,
        config=config,
        run_dir=None,
        device=torch.device("cpu"),
        metric="mse",
        higher_is_better=False,
        quiet=True,
    )
    assert t.val_set is None and t.evaluate() == {}
    result = t.fit()
    assert result.best_step is None  # nothing was selected on an empty split
