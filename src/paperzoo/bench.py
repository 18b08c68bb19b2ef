"""Throughput of a registered model on random input at its paper's input size (``paperzoo bench``)."""

from __future__ import annotations

import time
from typing import Any

import torch

from .engine.tasks import tensors_in
from .registry import create_model, get_model_entry

__all__ = ["benchmark_model"]


def benchmark_model(
    name: str, *, batch_size: int = 8, steps: int = 10, device: str = "cpu", warmup: int = 2
) -> dict[str, Any]:
    """Median forward and forward+backward time per batch, and examples per second."""
    from .engine.run import resolve_device

    entry = get_model_entry(name)
    if entry.input_size is None and entry.example_input_fn is None:
        raise ValueError(f"model {name!r} declares no example input; benchmark it from benchmarks/")
    if batch_size <= 0 or steps <= 0:
        raise ValueError(f"--batch-size and --steps must be > 0 (got {batch_size}, {steps})")
    dev = resolve_device(device)
    model = create_model(name).to(dev)
    x = entry.example_input(batch_size, dev)

    def timed(fn) -> float:
        times = []
        for i in range(warmup + steps):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]

    model.eval()
    with torch.no_grad():
        fwd = timed(lambda: model(x))
    model.train()
    fwd_bwd = timed(lambda: sum(t.float().sum() for t in tensors_in(model(x))).backward())
    return {
        "model": name,
        "device": str(dev),
        "batch_size": batch_size,
        "input_size": list(entry.input_size) if entry.input_size else None,
        "forward_ms": fwd * 1e3,
        "forward_backward_ms": fwd_bwd * 1e3,
        "inference_per_s": batch_size / fwd,
        "training_per_s": batch_size / fwd_bwd,
        "params": sum(p.numel() for p in model.parameters()),
    }
