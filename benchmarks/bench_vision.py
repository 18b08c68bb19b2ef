"""Image classifiers: forward+backward throughput as achieved GFLOP/s against this machine's matmul peak.

Run: ``python benchmarks/bench_vision.py [--models resnet50 vit_b16] [--batch-size 8]``. For each model
the FLOPs of one forward pass are counted with ``torch.utils.flop_counter`` (a multiply-add is 2
FLOPs; backward is counted too by running the counter over forward+backward), the median
forward+backward time is measured, and the achieved rate is reported as a fraction of the peak of a
large single-precision matrix multiply on the same device. torchvision and timm do not install here,
so the matmul peak is the reference: a ratio near 1 means the model runs at the speed of the machine's
fastest kernel.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from paperzoo import create_model
from paperzoo.engine.tasks import tensors_in


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up (allocations, kernel selection)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def matmul_peak_gflops(device: torch.device, n: int = 2048, repeat: int = 10) -> float:
    """GFLOP/s of an n×n×n float32 matrix multiply (2n³ FLOPs)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)

    def run() -> None:
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()

    return 2 * n**3 / median_seconds(run, repeat) / 1e9


def model_row(name: str, batch_size: int, device: torch.device, repeat: int) -> dict[str, float]:
    model = create_model(name).to(device).train()
    x = torch.randn(batch_size, 3, 224, 224, device=device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        sum(t.float().sum() for t in tensors_in(model(x))).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    flops = counter.get_total_flops()
    seconds = median_seconds(step, repeat)
    return {
        "gflop": flops / 1e9,
        "seconds": seconds,
        "images_per_s": batch_size / seconds,
        "gflops": flops / seconds / 1e9,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet50", "vit_b16"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    peak = matmul_peak_gflops(device)
    print(f"device {device}, {torch.get_num_threads()} threads; float32 matmul peak {peak:.1f} GFLOP/s")
    print(f"{'model':<12} {'GFLOP/step':>10} {'s/step':>8} {'img/s':>8} {'GFLOP/s':>8} {'of peak':>8}")
    for name in args.models:
        r = model_row(name, args.batch_size, device, args.repeat)
        print(
            f"{name:<12} {r['gflop']:>10.1f} {r['seconds']:>8.3f} {r['images_per_s']:>8.1f} "
            f"{r['gflops']:>8.1f} {r['gflops'] / peak:>8.2f}"
        )


if __name__ == "__main__":
    main()
