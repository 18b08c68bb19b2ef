"""Speed of paperzoo's losses relative to plain torch expressions of the same maths (ratios, not timings).

Run: ``python benchmarks/bench_losses.py`` (or ``make bench``). A ratio near 1 means the custom autograd
functions that reproduce LossFunctions.jl's derivatives at the kinks cost little over torch's own ops.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from paperzoo.losses import L1HingeLoss, LogitMarginLoss, nt_xent_loss


def timeit(fn, repeat: int = 30) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def fwd_bwd(loss_fn, *tensors):
    def run():
        xs = [t.detach().requires_grad_(True) for t in tensors]
        loss_fn(*xs).backward()

    return run


def main() -> None:
    torch.manual_seed(0)
    n = 1_000_000
    out, y = torch.randn(n), torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
    rows = []
    hinge = L1HingeLoss()
    rows.append(
        (
            "L1HingeLoss",
            timeit(fwd_bwd(lambda o: hinge(o, y), out)),
            timeit(fwd_bwd(lambda o: F.relu(1 - y * o).mean(), out)),
        )
    )
    logit = LogitMarginLoss()
    rows.append(
        (
            "LogitMarginLoss",
            timeit(fwd_bwd(lambda o: logit(o, y), out)),
            timeit(fwd_bwd(lambda o: F.softplus(-y * o).mean(), out)),
        )
    )
    z1, z2 = torch.randn(512, 128), torch.randn(512, 128)

    def plain_nt_xent(a, b, t=0.5):
        z = F.normalize(torch.cat([a, b]), dim=1)
        sim = z @ z.T / t
        sim.fill_diagonal_(float("-inf"))
        target = torch.cat([torch.arange(512, 1024), torch.arange(512)])
        return F.cross_entropy(sim, target)

    rows.append(
        ("nt_xent_loss (N=512, D=128)", timeit(fwd_bwd(nt_xent_loss, z1, z2)), timeit(fwd_bwd(plain_nt_xent, z1, z2)))
    )
    print(f"{'loss':<30} {'ours ms':>9} {'ref ms':>9} {'ours/ref':>9}")
    for name, ours, ref in rows:
        print(f"{name:<30} {ours * 1e3:9.2f} {ref * 1e3:9.2f} {ours / ref:9.2f}")


if __name__ == "__main__":
    main()
