"""Video models: achieved GFLOP/s against the matmul peak; divided attention and (2+1)D convs against naive references.

Run: ``python benchmarks/bench_video.py [--quick] [--device cuda] [--threads 1] [--parts models attention conv]``.
Every number is a ratio to a reference measured in the same process (a loaded machine makes the absolute
times indicative only):

- ``models``: forward+backward of r2plus1d_18, x3d_xs, slowfast_r50 and timesformer_base at small clip sizes.
  FLOPs are counted with ``torch.utils.flop_counter`` over one forward+backward (a multiply-add is 2 FLOPs;
  the CPU flash-attention kernels, which the counter does not know, are counted with its SDPA formulas), and
  the achieved rate is reported as a fraction of a large float32 matmul's rate on the same device. (The
  counter's formula for the backward of grouped convolutions ignores the groups; it is replaced here, which
  matters for X3D's depthwise convolutions.)
- ``attention``: :class:`paperzoo.models.video.timesformer.DividedSpaceTimeBlock` (one batched SDPA call per
  axis) against the same block written as a Python loop over patch locations (temporal attention) and over
  frames (spatial attention) with an explicit softmax(QKᵀ/√d)V, sharing its weights: time of forward+backward
  and memory. Memory is the bytes autograd saves for backward (a device-independent estimate, parameters
  excluded) and, on CUDA only, the peak of ``torch.cuda.max_memory_allocated`` above the inputs; CPU peak
  memory is not measured.
- ``conv``: :class:`paperzoo.models.video.resnet3d.Conv2Plus1D` (1×3×3 → BN → ReLU → 3×1×1, with the §3.5 mid
  width M_i) against the full 3×3×3 ``nn.Conv3d`` it replaces, at the four stage shapes of R(2+1)D-18:
  parameter, FLOP and forward+backward time ratios.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from einops import rearrange
from torch import Tensor, nn
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from paperzoo import create_model
from paperzoo.engine.tasks import tensors_in
from paperzoo.models.video.resnet3d import Conv2Plus1D
from paperzoo.models.video.slowfast import pack_pathways
from paperzoo.models.video.timesformer import DividedSpaceTimeBlock
from paperzoo.nn import Attention

aten = torch.ops.aten


def _conv_backward_flops(grad_out_shape, x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """grad_input and grad_weight each cost the forward convolution's multiply-adds, groups included.

    torch's own formula ignores ``groups`` for grad_weight and overcounts a depthwise convolution's backward
    by its channel count (X3D's 3×3×3 depthwise convs: tens of times the whole model's real FLOPs).
    """
    transposed, output_mask = args[4], args[7]
    forward = flop_counter.conv_flop_count(x_shape, w_shape, grad_out_shape, transposed=transposed)
    return forward * (int(output_mask[0]) + int(output_mask[1]))


# FLOP formulas torch's counter lacks or gets wrong: the CPU flash-attention kernels (counted with its SDPA
# formulas) and the backward of grouped convolutions.
FLOP_FIXES = {
    aten._scaled_dot_product_flash_attention_for_cpu: (
        lambda q, k, v, *args, out_shape=None, **kwargs: flop_counter.sdpa_flop_count(q, k, v)
    ),
    aten._scaled_dot_product_flash_attention_for_cpu_backward: (
        lambda g, q, k, v, *args, out_shape=None, **kwargs: flop_counter.sdpa_backward_flop_count(g, q, k, v)
    ),
    aten.convolution_backward: _conv_backward_flops,
}


# ---------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    """Median wall time of ``fn()`` after one warm-up call, the device synchronised around each call."""
    fn()
    times = []
    for _ in range(repeat):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def matmul_peak_gflops(device: torch.device, n: int = 2048, repeat: int = 10) -> float:
    """GFLOP/s of an n×n×n float32 matrix multiply (2n³ FLOPs), the machine's fastest kernel."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 / median_seconds(lambda: a @ b, device, repeat) / 1e9


def count_flops(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False, custom_mapping=FLOP_FIXES)
    with counter:
        fn()
    return counter.get_total_flops()


def saved_for_backward_mib(forward: Callable[[], Tensor], params: list[Tensor]) -> float:
    """MiB of distinct tensor storage autograd keeps for backward while ``forward()`` runs, parameters excluded."""
    skip = {p.untyped_storage().data_ptr() for p in params}
    sizes: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip:
            sizes[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward().float().sum()
    loss.backward()
    return sum(sizes.values()) / 2**20


def cuda_peak_mib(fn: Callable[[], object], device: torch.device) -> float | None:
    """Peak CUDA memory allocated while ``fn()`` runs, above what was allocated before (None off CUDA)."""
    if device.type != "cuda":
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def backward_of(forward: Callable[[], Tensor], module: nn.Module) -> Callable[[], Tensor]:
    """A forward+backward step: gradients cleared, ``forward()``'s sum back-propagated; returns the loss."""

    def step() -> Tensor:
        module.zero_grad(set_to_none=True)
        loss = forward().float().sum()
        loss.backward()
        return loss

    return step


# ---------------------------------------------------------------------------------------------------------------
# (a) whole models
# ---------------------------------------------------------------------------------------------------------------

# name → (registry overrides, clip (T, H, W)) for the full run and for --quick.
MODELS: dict[str, dict[str, tuple[dict, tuple[int, int, int]]]] = {
    "full": {
        "r2plus1d_18": ({}, (16, 112, 112)),
        "x3d_xs": ({}, (4, 160, 160)),
        "slowfast_r50": ({}, (32, 112, 112)),
        "timesformer_base": ({"img_size": 112, "num_frames": 8}, (8, 112, 112)),
    },
    "quick": {
        "r2plus1d_18": ({}, (8, 56, 56)),
        "x3d_xs": ({}, (4, 112, 112)),
        "slowfast_r50": ({}, (16, 64, 64)),
        "timesformer_base": ({"img_size": 64, "num_frames": 4}, (4, 64, 64)),
    },
}


def model_rows(quick: bool, batch_size: int, device: torch.device, repeat: int, peak: float) -> None:
    print(f"\n(a) forward+backward, batch {batch_size}; float32 matmul peak {peak:.1f} GFLOP/s")
    print(
        f"{'model':<18} {'clip T×H×W':>12} {'GFLOP/step':>10} {'s/step':>8} {'clips/s':>8} {'GFLOP/s':>8} "
        f"{'of peak':>8}"
    )
    for name, (overrides, (t, h, w)) in MODELS["quick" if quick else "full"].items():
        model = create_model(name, **overrides).to(device).train()
        clip = torch.randn(batch_size, 3, t, h, w, device=device)
        x = pack_pathways(clip, model.alpha) if name.startswith("slowfast") else clip

        def step(model: nn.Module = model, x: Tensor | list[Tensor] = x) -> None:
            model.zero_grad(set_to_none=True)
            sum(o.float().sum() for o in tensors_in(model(x))).backward()

        flops = count_flops(step)
        seconds = median_seconds(step, device, repeat)
        gflops = flops / seconds / 1e9
        print(
            f"{name:<18} {f'{t}×{h}×{w}':>12} {flops / 1e9:>10.1f} {seconds:>8.3f} {batch_size / seconds:>8.2f} "
            f"{gflops:>8.1f} {gflops / peak:>8.2f}"
        )
        del model


# ---------------------------------------------------------------------------------------------------------------
# (b) divided space-time attention against a naive per-axis loop
# ---------------------------------------------------------------------------------------------------------------


def explicit_attention(attn: Attention, x: Tensor) -> Tensor:
    """softmax(QKᵀ/√d)V of one batch of sequences (B, L, D) with ``attn``'s weights, the softmax written out."""
    q, k, v = rearrange(attn.qkv(x), "b l (three h e) -> three b h l e", three=3, h=attn.num_heads)
    weights = torch.softmax(q @ k.transpose(-1, -2) * attn.head_dim**-0.5, dim=-1)
    return attn.proj(rearrange(weights @ v, "b h l e -> b l (h e)"))


def naive_divided_block(block: DividedSpaceTimeBlock, x: Tensor, num_patches: int) -> Tensor:
    """The divided block (Bertasius et al. 2021, §3) one axis position at a time.

    Temporal attention runs once per patch location n over its T tokens (time-major layout: token t·N + n),
    spatial attention once per frame over [class token; its N patches], and the class token's T spatial
    updates are averaged, as :class:`DividedSpaceTimeBlock` does in single batched calls.
    """
    n, t = num_patches, block.num_frames
    cls, xp = x[:, :1], x[:, 1:]
    per_location = [explicit_attention(block.temporal_attn, block.temporal_norm1(xp[:, i::n])) for i in range(n)]
    xp = xp + block.temporal_fc(torch.stack(per_location, dim=2).flatten(1, 2))  # (B, T, N, D) → (B, T·N, D)
    cls_updates, patch_updates = [], []
    for f in range(t):
        out = explicit_attention(block.attn, block.norm1(torch.cat([cls, xp[:, f * n : (f + 1) * n]], dim=1)))
        cls_updates.append(out[:, :1])
        patch_updates.append(out[:, 1:])
    update = torch.cat([torch.stack(cls_updates).mean(0), *patch_updates], dim=1)
    x = torch.cat([cls, xp], dim=1) + update
    return x + block.mlp(block.norm2(x))


def attention_rows(quick: bool, batch_size: int, device: torch.device, repeat: int) -> None:
    dim, heads = 768, 12  # ViT-B, TimeSformer's width
    # (frames T, patches per frame N): 112² and 224² frames cut into 16² patches.
    sizes = [(4, 49), (8, 49)] if quick else [(8, 196), (16, 196), (32, 196)]
    print(f"\n(b) DividedSpaceTimeBlock (D {dim}, {heads} heads) vs a per-location/per-frame loop, forward+backward")
    print("    saved = MiB autograd keeps for backward; CUDA peak = max_memory_allocated (not measured on CPU)")
    print(
        f"{'T×N':>7} {'ours ms':>9} {'loop ms':>9} {'ours/loop':>9} {'saved ours':>10} {'saved loop':>10} "
        f"{'ratio':>6} {'peak ours':>9} {'peak loop':>9} {'ratio':>6} {'max |diff|':>10}"
    )
    for t, n in sizes:
        torch.manual_seed(0)
        block = DividedSpaceTimeBlock(dim, heads, num_frames=t).to(device).train()
        x = torch.randn(batch_size, 1 + t * n, dim, device=device, requires_grad=True)
        params = list(block.parameters())

        def ours(block: DividedSpaceTimeBlock = block, x: Tensor = x) -> Tensor:
            return block(x)

        def loop(block: DividedSpaceTimeBlock = block, x: Tensor = x, n: int = n) -> Tensor:
            return naive_divided_block(block, x, n)

        with torch.no_grad():
            diff = (ours() - loop()).abs().max().item()
        step_ours, step_loop = backward_of(ours, block), backward_of(loop, block)
        ms_ours = median_seconds(step_ours, device, repeat) * 1e3
        ms_loop = median_seconds(step_loop, device, repeat) * 1e3
        saved_ours, saved_loop = saved_for_backward_mib(ours, params), saved_for_backward_mib(loop, params)
        peak_ours, peak_loop = cuda_peak_mib(step_ours, device), cuda_peak_mib(step_loop, device)
        peak = (
            f"{peak_ours:>9.1f} {peak_loop:>9.1f} {peak_ours / peak_loop:>6.2f}"
            if peak_ours is not None and peak_loop is not None
            else f"{'-':>9} {'-':>9} {'-':>6}"
        )
        print(
            f"{f'{t}×{n}':>7} {ms_ours:>9.1f} {ms_loop:>9.1f} {ms_ours / ms_loop:>9.2f} {saved_ours:>10.1f} "
            f"{saved_loop:>10.1f} {saved_ours / saved_loop:>6.2f} {peak} {diff:>10.1e}"
        )


# ---------------------------------------------------------------------------------------------------------------
# (c) (2+1)D convolution against the full 3D convolution
# ---------------------------------------------------------------------------------------------------------------


def conv_rows(quick: bool, batch_size: int, device: torch.device, repeat: int) -> None:
    # R(2+1)D-18's stage shapes (Table 1): channels and the (T, H, W) of a 16×112×112 clip after each stage's
    # first block; --quick halves T and every side.
    stages = [(64, (16, 56, 56)), (128, (8, 28, 28)), (256, (4, 14, 14)), (512, (2, 7, 7))]
    if quick:
        stages = [(c, (max(t // 2, 1), (h + 1) // 2, (w + 1) // 2)) for c, (t, h, w) in stages]
    print(f"\n(c) Conv2Plus1D (1×3×3 → BN → ReLU → 3×1×1) vs nn.Conv3d 3×3×3, batch {batch_size}, forward+backward")
    print("    params and FLOPs: the convolutions' (BN not counted)")
    print(f"{'C→C':>9} {'T×H×W':>9} {'M_i':>5} {'params':>7} {'FLOPs':>7} {'ms (2+1)D':>9} {'ms 3D':>8} {'time':>6}")
    print(f"{'':>9} {'':>9} {'':>5} {'ratio':>7} {'ratio':>7} {'':>9} {'':>8} {'ratio':>6}")
    for channels, (t, h, w) in stages:
        torch.manual_seed(0)
        factored = Conv2Plus1D(channels, channels).to(device).train()
        full = nn.Conv3d(channels, channels, 3, padding=1, bias=False).to(device).train()
        x = torch.randn(batch_size, channels, t, h, w, device=device, requires_grad=True)

        def run(conv: nn.Module, x: Tensor = x) -> Tensor:
            return conv(x)

        steps = [backward_of(lambda conv=conv: run(conv), conv) for conv in (factored, full)]
        flops = [count_flops(step) for step in steps]
        ms = [median_seconds(step, device, repeat) * 1e3 for step in steps]
        params = [sum(p.numel() for p in conv.parameters() if p.dim() > 1) for conv in (factored, full)]  # conv weights
        print(
            f"{f'{channels}→{channels}':>9} {f'{t}×{h}×{w}':>9} {factored.mid_chs:>5} {params[0] / params[1]:>7.3f} "
            f"{flops[0] / flops[1]:>7.3f} {ms[0]:>9.1f} {ms[1]:>8.1f} {ms[0] / ms[1]:>6.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller clips and sizes (about a minute on 1 CPU thread)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: the machine is shared)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 1 (quick) or 2")
    parser.add_argument("--repeat", type=int, default=None, help="timed repetitions (median); default 3 (quick) or 5")
    parser.add_argument(
        "--parts", nargs="+", default=["models", "attention", "conv"], choices=["models", "attention", "conv"]
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batch_size = args.batch_size or (1 if args.quick else 2)
    repeat = args.repeat or (3 if args.quick else 5)
    print(f"device {device}, {torch.get_num_threads()} CPU threads, float32{' (quick)' if args.quick else ''}")
    if "models" in args.parts:
        model_rows(args.quick, batch_size, device, repeat, matmul_peak_gflops(device))
    if "attention" in args.parts:
        attention_rows(args.quick, batch_size, device, repeat)
    if "conv" in args.parts:
        conv_rows(args.quick, batch_size, device, repeat)


if __name__ == "__main__":
    main()
