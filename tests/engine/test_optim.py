"""Learning-rate schedules against closed forms, and optimizers built from config."""

from __future__ import annotations

import math

import pytest
import torch

from paperzoo.engine.optim import build_optimizer, build_scheduler, lr_multiplier


def _params():
    return [torch.nn.Parameter(torch.zeros(3))]


# ---------------------------------------------------------------- lr_multiplier


def test_constant():
    assert [lr_multiplier({"name": "constant"}, s, 10) for s in (0, 5, 50)] == [1.0, 1.0, 1.0]
    assert lr_multiplier({}, 3, 10) == 1.0  # constant is the default


def test_step_decay():
    cfg = {"name": "step", "step_size": 3, "gamma": 0.5}
    got = [lr_multiplier(cfg, s, 100) for s in range(10)]
    want = [0.5 ** (s // 3) for s in range(10)]
    assert got == pytest.approx(want)
    assert got[2] == 1.0 and got[3] == 0.5 and got[9] == 0.125


def test_step_default_gamma_is_a_tenth():
    assert lr_multiplier({"name": "step", "step_size": 2}, 5, 100) == pytest.approx(0.01)


@pytest.mark.parametrize("size", [0, -1])
def test_step_requires_positive_size(size):
    with pytest.raises(ValueError, match=rf"step_size must be > 0 .*got {size}"):
        lr_multiplier({"name": "step", "step_size": size}, 0, 10)


def test_multistep():
    cfg = {"name": "multistep", "milestones": [3, 7], "gamma": 0.1}
    got = [lr_multiplier(cfg, s, 100) for s in range(10)]
    want = [1.0] * 3 + [0.1] * 4 + [0.01] * 3
    assert got == pytest.approx(want)


def test_linear_warmup_then_cosine():
    warmup, total, floor = 4, 24, 0.1
    cfg = {"name": "cosine", "warmup_steps": warmup, "min_lr_ratio": floor}
    # warmup: (s + 1) / warmup, reaching 1 on the last warmup step
    assert [lr_multiplier(cfg, s, total) for s in range(warmup)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    # end of warmup: the cosine starts at its top
    assert lr_multiplier(cfg, warmup, total) == pytest.approx(1.0)
    # midpoint of the cosine span: 0.5 * (1 + floor)
    assert lr_multiplier(cfg, warmup + (total - warmup) // 2, total) == pytest.approx(0.5 * (1 + floor))
    # quarter: floor + (1 - floor) * 0.5 * (1 + cos(pi / 4))
    quarter = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi / 4))
    assert lr_multiplier(cfg, warmup + 5, total) == pytest.approx(quarter)
    # end and beyond: the floor
    assert lr_multiplier(cfg, total, total) == pytest.approx(floor)
    assert lr_multiplier(cfg, total + 10, total) == pytest.approx(floor)


def test_cosine_without_warmup_or_floor():
    cfg = {"name": "cosine"}
    total = 10
    got = [lr_multiplier(cfg, s, total) for s in range(total + 1)]
    want = [0.5 * (1 + math.cos(math.pi * s / total)) for s in range(total + 1)]
    assert got == pytest.approx(want)
    assert got[-1] == pytest.approx(0.0, abs=1e-12)


def test_linear_decay():
    cfg = {"name": "linear", "warmup_steps": 2}
    total = 10
    assert lr_multiplier(cfg, 0, total) == pytest.approx(0.5)
    assert lr_multiplier(cfg, 1, total) == pytest.approx(1.0)
    got = [lr_multiplier(cfg, s, total) for s in range(2, 13)]
    want = [max(0.0, 1 - (s - 2) / 8) for s in range(2, 13)]
    assert got == pytest.approx(want)
    assert lr_multiplier(cfg, 6, total) == pytest.approx(0.5)


def test_inverse_sqrt_with_warmup():
    cfg = {"name": "inverse_sqrt", "warmup_steps": 4}
    assert [lr_multiplier(cfg, s, 100) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    for s in (4, 9, 16, 100):
        assert lr_multiplier(cfg, s, 100) == pytest.approx(math.sqrt(4 / s))
    assert lr_multiplier(cfg, 16, 100) == pytest.approx(0.5)


def test_inverse_sqrt_without_warmup():
    cfg = {"name": "inverse_sqrt"}
    assert lr_multiplier(cfg, 0, 100) == pytest.approx(1.0)
    assert lr_multiplier(cfg, 1, 100) == pytest.approx(1.0)
    assert lr_multiplier(cfg, 4, 100) == pytest.approx(0.5)
    assert lr_multiplier(cfg, 25, 100) == pytest.approx(0.2)


def test_unknown_schedule_names_the_value():
    with pytest.raises(ValueError, match=r"schedule\.name must be one of .*got 'cosin'"):
        lr_multiplier({"name": "cosin"}, 0, 10)


# ---------------------------------------------------------------- build_optimizer


def test_sgd_with_nesterov_momentum_and_weight_decay():
    opt = build_optimizer(
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}, _params()
    )
    assert type(opt) is torch.optim.SGD
    group = opt.param_groups[0]
    assert group["lr"] == 0.1
    assert group["momentum"] == 0.9
    assert group["nesterov"] is True
    assert group["weight_decay"] == 5e-4


def test_sgd_defaults():
    group = build_optimizer({"name": "sgd", "lr": 1}, _params()).param_groups[0]
    assert group["lr"] == 1.0 and group["momentum"] == 0.0 and group["nesterov"] is False
    assert group["weight_decay"] == 0.0


@pytest.mark.parametrize(("name", "cls"), [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)])
def test_adam_family(name, cls):
    opt = build_optimizer(
        {"name": name, "lr": 3e-4, "betas": [0.5, 0.99], "eps": 1e-6, "weight_decay": 0.05}, _params()
    )
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert group["lr"] == 3e-4
    assert tuple(group["betas"]) == (0.5, 0.99)
    assert group["eps"] == 1e-6
    assert group["weight_decay"] == 0.05


def test_adam_defaults():
    group = build_optimizer({"name": "adam", "lr": 0.001}, _params()).param_groups[0]
    assert tuple(group["betas"]) == (0.9, 0.999)
    assert group["eps"] == 1e-8
    assert group["weight_decay"] == 0.0


def test_rmsprop():
    opt = build_optimizer(
        {"name": "rmsprop", "lr": 0.01, "alpha": 0.95, "momentum": 0.5, "weight_decay": 1e-4}, _params()
    )
    assert type(opt) is torch.optim.RMSprop
    group = opt.param_groups[0]
    assert group["lr"] == 0.01 and group["alpha"] == 0.95 and group["momentum"] == 0.5
    assert group["weight_decay"] == 1e-4
    assert build_optimizer({"name": "rmsprop", "lr": 0.01}, _params()).param_groups[0]["alpha"] == 0.9


def test_sgd_step_matches_hand_update():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = build_optimizer({"name": "sgd", "lr": 0.5, "weight_decay": 0.1}, [p])
    p.grad = torch.tensor([0.2, 0.4])
    opt.step()
    # p <- p - lr * (g + wd * p)
    want = torch.tensor([1.0 - 0.5 * (0.2 + 0.1), -2.0 - 0.5 * (0.4 - 0.2)])
    torch.testing.assert_close(p.detach(), want)


def test_unknown_optimizer_names_the_value():
    with pytest.raises(ValueError, match=r"optim\.name must be one of sgd, adam, adamw, rmsprop \(got 'lbfgs'\)"):
        build_optimizer({"name": "lbfgs", "lr": 0.1}, _params())


@pytest.mark.parametrize(("lr", "shown"), [(0, "0.0"), (-0.5, "-0.5")])
def test_non_positive_lr_names_the_value(lr, shown):
    with pytest.raises(ValueError, match=rf"optim\.lr must be > 0 \(got {shown}\)"):
        build_optimizer({"name": "sgd", "lr": lr}, _params())


# ---------------------------------------------------------------- build_scheduler


@pytest.mark.parametrize(
    "cfg",
    [
        {"name": "cosine", "warmup_steps": 3, "min_lr_ratio": 0.2},
        {"name": "step", "step_size": 4, "gamma": 0.5},
        {"name": "multistep", "milestones": [2, 9], "gamma": 0.3},
        {"name": "linear", "warmup_steps": 2},
        {"name": "inverse_sqrt", "warmup_steps": 5},
    ],
    ids=lambda c: c["name"],
)
def test_scheduler_drives_sgd_lr(cfg):
    base, total = 0.4, 15
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=base)
    sched = build_scheduler(cfg, opt, total)
    seen = []
    for _ in range(total + 3):
        seen.append(opt.param_groups[0]["lr"])
        p.grad = torch.ones(2)
        opt.step()
        sched.step()
    want = [base * lr_multiplier(cfg, s, total) for s in range(total + 3)]
    assert seen == pytest.approx(want)
    assert len(set(round(v, 12) for v in seen)) > 2  # the schedule does change the lr


def test_scheduler_cosine_closed_form_values():
    base, total = 1.0, 10
    p = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = build_scheduler({"name": "cosine"}, opt, total)
    lrs = []
    for _ in range(total + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[5] == pytest.approx(0.5)
    assert lrs[10] == pytest.approx(0.0, abs=1e-12)


def test_scheduler_state_resumes_exactly():
    cfg = {"name": "cosine", "warmup_steps": 2}
    opt = torch.optim.SGD(_params(), lr=1.0)
    sched = build_scheduler(cfg, opt, 20)
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = torch.optim.SGD(_params(), lr=1.0)
    sched2 = build_scheduler(cfg, opt2, 20)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr_multiplier(cfg, 7, 20))
    opt2.step()
    sched2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr_multiplier(cfg, 8, 20))


def test_build_scheduler_rejects_unknown_name_up_front():
    opt = torch.optim.SGD(_params(), lr=0.1)
    with pytest.raises(ValueError, match="got 'warmup_cosine'"):
        build_scheduler({"name": "warmup_cosine"}, opt, 10)


def test_build_scheduler_rejects_unknown_name_up_front_even_with_warmup():
    opt = torch.optim.SGD(_params(), lr=0.1)
    with pytest.raises(ValueError, match="got 'warmup_cosine'"):
        build_scheduler({"name": "warmup_cosine", "warmup_steps": 5}, opt, 10)
