"""Atomic weights-only checkpoints and exact RNG capture/restore."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from paperzoo.engine.checkpoint import (
    atomic_write,
    atomic_write_text,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)


def _state():
    g = torch.Generator().manual_seed(0)
    return {
        "model": {"layer.weight": torch.randn(3, 4, generator=g), "layer.bias": torch.arange(3.0)},
        "optimizer": {
            "state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.ones(2, 2)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "step": 42,
        "best_value": 0.875,
        "best_step": None,
        "history": [1, 2.5, None, "name", [torch.tensor([7, 8])]],
        "flag": True,
    }


def _assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def test_round_trip(tmp_path):
    state = _state()
    path = save_checkpoint(tmp_path / "sub" / "last.ckpt", state)
    assert path == tmp_path / "sub" / "last.ckpt" and path.is_file()
    _assert_same(load_checkpoint(path), state)


def test_file_loads_with_plain_weights_only_torch_load(tmp_path):
    state = _state()
    path = save_checkpoint(tmp_path / "last.ckpt", state)
    _assert_same(torch.load(path, weights_only=True), state)


def test_overwrite_replaces_previous(tmp_path):
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, {"step": 1})
    save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path) == {"step": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_atomic_write_failure_keeps_old_file_and_no_temp(tmp_path):
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})
    before = path.read_bytes()

    def half_write(p):
        p.write_bytes(b"PK\x03\x04 partial")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        atomic_write(path, half_write)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert load_checkpoint(path)["step"] == 1


def test_atomic_write_failure_with_no_previous_file_leaves_nothing(tmp_path):
    def fail(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.txt", fail)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text(tmp_path):
    path = atomic_write_text(tmp_path / "a" / "b.txt", "héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.txt"]


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty"])
def test_unreadable_file_raises_value_error_naming_path(tmp_path, kind):
    path = tmp_path / "last.ckpt"
    if kind == "truncated":
        save_checkpoint(path, {"w": torch.randn(100, 100)})
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"this is not a checkpoint\n" * 10)
    else:
        path.write_bytes(b"")
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert "not a readable paperzoo checkpoint" in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.ckpt"
    with pytest.raises(FileNotFoundError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def _draw():
    return (
        [random.random() for _ in range(3)],
        random.gauss(0.0, 1.0),
        np.random.rand(4).tolist(),
        np.random.randn(3).tolist(),  # leaves a cached gaussian in numpy's state
        torch.rand(5).tolist(),
    )


def test_capture_restore_reproduces_draws():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0.0, 1.0)  # a pending cached gaussian in Python's state too
    np.random.randn(1)
    state = capture_rng()
    first = _draw()
    second = _draw()
    assert first != second  # the generators did advance
    restore_rng(state)
    assert _draw() == first
    assert _draw() == second


def test_rng_state_survives_weights_only_save_load(tmp_path):
    random.seed(11)
    np.random.seed(12)
    torch.manual_seed(13)
    np.random.randn(3)
    path = save_checkpoint(tmp_path / "rng.ckpt", {"rng": capture_rng()})
    first = _draw()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    assert _draw() != first
    restore_rng(torch.load(path, weights_only=True)["rng"])
    assert _draw() == first
    restore_rng(load_checkpoint(path)["rng"])
    assert _draw() == first
