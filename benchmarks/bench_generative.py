"""Generative models: vector quantiser, autoregressive sampling caches, mel features and DDPM against references.

Run: ``python benchmarks/bench_generative.py [--quick] [--device cuda] [--threads 1] [--parts vq sampling mel ddpm]``.
Every number is a ratio to a reference measured in the same process (a loaded machine makes the absolute
times indicative only); each reference is written out below and its output compared with ours:

- ``vq``: :class:`paperzoo.models.generative.vqvae.VectorQuantizer`'s forward (nearest code by one matmul,
  ‖z‖² - 2z·e + ‖e‖², then the losses and perplexity) against a Python loop taking argmin_k ‖z_i - e_k‖² one
  vector at a time; "agree" is the fraction of identical code indices.
- ``sampling``: :meth:`GatedPixelCNN.sample` (vertical stack once per row, horizontal stack on one row per
  position) and :meth:`PixelSNAIL.sample` (rows ≤ r only) against a loop that reruns the whole model on the
  whole map at every position, both drawing with the same seeded generator; "agree" is the fraction of
  identical codes (1.0 unless float rounding flips a draw).
- ``mel``: :class:`paperzoo.data.audio.MelSpectrogram` (one batched ``torch.stft``) against numpy, frame by
  frame (reflect padding, periodic Hann window, ``np.fft.rfft``, the same mel filterbank, log).
- ``ddpm``: ancestral sampling (Algorithm 2) with ``ddpm_tiny``: images/s, and its overhead over T bare U-Net
  forwards; the U-Net forward's achieved GFLOP/s (``torch.utils.flop_counter``) as a fraction of a large
  float32 matmul's rate, for ``ddpm_tiny`` and the paper's ``ddpm_cifar10``. ``--quick`` samples with a
  100-step schedule and also reports the rate scaled to the paper's T = 1000.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from paperzoo import create_model
from paperzoo.data.audio import MelSpectrogram
from paperzoo.models.generative.ddpm import NoiseSchedule
from paperzoo.models.generative.vqvae import VectorQuantizer

aten = torch.ops.aten

# The CPU flash-attention kernel has no entry in torch's FLOP registry: count it with its SDPA formula.
FLOP_FIXES = {
    aten._scaled_dot_product_flash_attention_for_cpu: (
        lambda q, k, v, *args, out_shape=None, **kwargs: flop_counter.sdpa_flop_count(q, k, v)
    ),
}


# ---------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], object], device: torch.device, repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` after ``warmup`` calls, the device synchronised around each call."""
    for _ in range(warmup):
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


# ---------------------------------------------------------------------------------------------------------------
# (a) vector quantiser
# ---------------------------------------------------------------------------------------------------------------


def loop_nearest(codebook: Tensor, flat: Tensor) -> tuple[Tensor, Tensor]:
    """argmin_k ‖z_i - e_k‖² and e_k, one vector z_i at a time: (N,) indices and (N, D) codes."""
    indices = torch.stack([(codebook - z).pow(2).sum(1).argmin() for z in flat])
    return indices, codebook[indices]


@torch.no_grad()
def vq_rows(quick: bool, device: torch.device, repeat: int) -> None:
    # (vectors N, codebook K, dim D): VQ-VAE's ImageNet quantiser (K 512, D 64) on 32×32 latent maps of
    # batches of 1, 8 (and 32); and a larger codebook.
    sizes = [(1024, 512, 64), (8192, 512, 64)]
    if not quick:
        sizes += [(32768, 512, 64), (8192, 8192, 64)]
    print("\n(a) VectorQuantizer forward (no grad) vs a per-vector argmin loop")
    print(f"{'N×K×D':>16} {'ours ms':>9} {'loop ms':>9} {'ours/loop':>9} {'agree':>7}")
    for n, k, d in sizes:
        torch.manual_seed(0)
        vq = VectorQuantizer(k, d).to(device)
        z = torch.randn(n, d, device=device) * 0.3
        ours, loop = vq(z).indices, loop_nearest(vq.embedding, z)[0]
        agree = (ours == loop).float().mean().item()
        ms_ours = median_seconds(lambda vq=vq, z=z: vq(z), device, 5 * repeat) * 1e3  # cheap: more repeats
        ms_loop = median_seconds(lambda vq=vq, z=z: loop_nearest(vq.embedding, z), device, max(repeat // 2, 1)) * 1e3
        print(f"{f'{n}×{k}×{d}':>16} {ms_ours:>9.2f} {ms_loop:>9.1f} {ms_ours / ms_loop:>9.4f} {agree:>7.4f}")


# ---------------------------------------------------------------------------------------------------------------
# (b) autoregressive sampling: the models' caches against rerunning the whole model at every position
# ---------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def naive_sample(
    model: nn.Module, shape: tuple[int, int, int], labels: Tensor | None, generator: torch.Generator
) -> Tensor:
    """Raster-order sampling that runs the full model on the full (B, H, W) map for every position."""
    batch, height, width = shape
    codes = torch.zeros(shape, dtype=torch.long, device=generator.device)
    was_training = model.training
    model.eval()
    for r in range(height):
        for c in range(width):
            probs = torch.softmax(model(codes, labels)[:, :, r, c].float(), dim=1)
            codes[:, r, c] = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    model.train(was_training)
    return codes


def sampling_rows(quick: bool, device: torch.device, repeat: int) -> None:
    side, batch = (8, 2) if quick else (16, 4)
    width = 64 if quick else 128
    # Small priors over side×side maps of K = 512 codes, class-conditional on 1000 classes (the registered
    # models' K and classes at reduced width and depth).
    priors = {
        "gated_pixelcnn": dict(shape=(side, side), channels=width, num_layers=6 if quick else 12),
        "pixelsnail_top": dict(
            shape=(side, side), channels=width, res_channels=width, num_blocks=2, res_blocks=2, num_classes=1000
        ),
    }
    print(f"\n(b) sampling {batch} maps of {side}×{side} codes (K 512, width {width}): model's cache vs full reruns")
    print(f"{'model':<16} {'params':>8} {'ours s':>8} {'naive s':>8} {'ours/naive':>10} {'agree':>7}")
    for name, overrides in priors.items():
        torch.manual_seed(0)
        model = create_model(name, **overrides).to(device).eval()
        labels = torch.randint(0, 1000, (batch,), device=device)
        shape = (batch, side, side)

        def ours(model: nn.Module = model, labels: Tensor = labels, shape: tuple[int, int, int] = shape) -> Tensor:
            return model.sample(shape, labels, generator=torch.Generator(device).manual_seed(1))

        def naive(model: nn.Module = model, labels: Tensor = labels, shape: tuple[int, int, int] = shape) -> Tensor:
            return naive_sample(model, shape, labels, torch.Generator(device).manual_seed(1))

        agree = (ours() == naive()).float().mean().item()
        s_ours = median_seconds(ours, device, repeat, warmup=0)
        s_naive = median_seconds(naive, device, max(repeat // 2, 1), warmup=0)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:<16} {params:>8,} {s_ours:>8.2f} {s_naive:>8.2f} {s_ours / s_naive:>10.3f} {agree:>7.3f}")


# ---------------------------------------------------------------------------------------------------------------
# (c) log-mel spectrogram
# ---------------------------------------------------------------------------------------------------------------


def numpy_log_mel(mel: MelSpectrogram, audio: np.ndarray) -> np.ndarray:
    """(B, T) audio → (B, n_mels, 1 + T // hop), one frame at a time in numpy, with ``mel``'s settings."""
    n_fft, hop, win = mel.n_fft, mel.hop_length, mel.win_length
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    window = np.zeros(n_fft)
    window[(n_fft - win) // 2 : (n_fft - win) // 2 + win] = hann  # centred in the FFT frame
    basis = mel.mel_basis.cpu().numpy().astype(np.float64)
    frames = 1 + audio.shape[1] // hop
    out = np.empty((audio.shape[0], basis.shape[0], frames))
    for b, signal in enumerate(audio):
        padded = np.pad(signal.astype(np.float64), n_fft // 2, mode="reflect")  # centre=True
        for f in range(frames):
            magnitude = np.abs(np.fft.rfft(padded[f * hop : f * hop + n_fft] * window))
            out[b, :, f] = np.log(np.maximum(basis @ magnitude, mel.clamp))
    return out


@torch.no_grad()
def mel_rows(quick: bool, device: torch.device, repeat: int) -> None:
    batch, seconds = (2, 1.0) if quick else (8, 4.0)
    configs = {
        # Tacotron 2 / HiFi-GAN features (the class defaults) and WaveGrad's (24 kHz, 50 ms window, 12.5 ms hop).
        "22.05 kHz, 1024/256": MelSpectrogram(),
        "24 kHz, 2048/300": MelSpectrogram(
            24000, 2048, hop_length=300, win_length=1200, n_mels=80, f_min=20.0, f_max=12000.0
        ),
    }
    print(f"\n(c) MelSpectrogram vs a numpy per-frame loop, {batch} clips of {seconds:g} s")
    print(f"{'features':<20} {'frames':>7} {'ours ms':>9} {'numpy ms':>9} {'ours/numpy':>10} {'max |diff|':>10}")
    for name, mel in configs.items():
        mel = mel.to(device)
        audio = torch.from_numpy(np.random.default_rng(0).uniform(-0.5, 0.5, (batch, int(seconds * mel.sample_rate))))
        audio = audio.float().to(device)
        audio_np = audio.cpu().numpy()
        diff = np.abs(mel(audio).cpu().numpy() - numpy_log_mel(mel, audio_np)).max()
        ms_ours = median_seconds(lambda mel=mel, audio=audio: mel(audio), device, 5 * repeat) * 1e3  # cheap
        ms_numpy = median_seconds(lambda mel=mel, a=audio_np: numpy_log_mel(mel, a), device, repeat) * 1e3
        frames = 1 + audio.shape[1] // mel.hop_length
        print(f"{name:<20} {frames:>7} {ms_ours:>9.2f} {ms_numpy:>9.1f} {ms_ours / ms_numpy:>10.3f} {diff:>10.1e}")


# ---------------------------------------------------------------------------------------------------------------
# (d) DDPM
# ---------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def ddpm_rows(quick: bool, device: torch.device, repeat: int, peak: float) -> None:
    steps, batch = (100, 8) if quick else (1000, 16)
    model = create_model("ddpm_tiny").to(device).eval()
    schedule = NoiseSchedule(steps)
    shape = (batch, *model_input_shape(model))
    t = torch.full((batch,), steps - 1, dtype=torch.long, device=device)
    x = torch.randn(shape, device=device)
    s_forward = median_seconds(lambda: model(x, t), device, 5)
    s_sample = median_seconds(
        lambda: schedule.sample(model, shape, torch.Generator(device).manual_seed(0), device=device), device, 1, 0
    )
    print(f"\n(d) DDPM ancestral sampling (Algorithm 2), ddpm_tiny 16×16, batch {batch}, T = {steps}")
    print(f"{'s/run':>9} {'img/s':>8} {'img/s at T=1000':>15} {'sampling / (T × forward)':>25}")
    per_image_1000 = batch / (s_sample * 1000 / steps)
    print(f"{s_sample:>9.2f} {batch / s_sample:>8.2f} {per_image_1000:>15.2f} {s_sample / (steps * s_forward):>25.2f}")

    print(f"\n    U-Net forward (no grad), float32 matmul peak {peak:.1f} GFLOP/s")
    print(f"{'model':<14} {'batch':>6} {'GFLOP':>8} {'ms':>8} {'GFLOP/s':>8} {'of peak':>8}")
    for name, b in (("ddpm_tiny", batch), ("ddpm_cifar10", 2 if quick else 8)):
        unet = create_model(name).to(device).eval()
        x = torch.randn(b, *model_input_shape(unet), device=device)
        t = torch.randint(0, 1000, (b,), device=device)
        counter = FlopCounterMode(display=False, custom_mapping=FLOP_FIXES)
        with counter:
            unet(x, t)
        flops = counter.get_total_flops()
        seconds = median_seconds(lambda unet=unet, x=x, t=t: unet(x, t), device, repeat)
        gflops = flops / seconds / 1e9
        print(f"{name:<14} {b:>6} {flops / 1e9:>8.2f} {seconds * 1e3:>8.1f} {gflops:>8.1f} {gflops / peak:>8.2f}")


def model_input_shape(unet: nn.Module) -> tuple[int, int, int]:
    return (unet.in_channels, unet.image_size, unet.image_size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute on 1 CPU thread)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: the machine is shared)")
    parser.add_argument("--repeat", type=int, default=None, help="timed repetitions (median); default 3 (quick) or 5")
    parts = ["vq", "sampling", "mel", "ddpm"]
    parser.add_argument("--parts", nargs="+", default=parts, choices=parts)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    repeat = args.repeat or (3 if args.quick else 5)
    print(f"device {device}, {torch.get_num_threads()} CPU threads, float32{' (quick)' if args.quick else ''}")
    if "vq" in args.parts:
        vq_rows(args.quick, device, repeat)
    if "sampling" in args.parts:
        sampling_rows(args.quick, device, repeat)
    if "mel" in args.parts:
        mel_rows(args.quick, device, repeat)
    if "ddpm" in args.parts:
        ddpm_rows(args.quick, device, repeat, matmul_peak_gflops(device))


if __name__ == "__main__":
    main()
