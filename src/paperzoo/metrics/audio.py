"""Objective vocoder metrics: log-mel spectrogram MSE, multi-resolution STFT distance and the real-time factor.

- :func:`log_mel_mse`, the "LS-MSE" WaveGrad reports next to MOS (Chen et al. 2020, arXiv:2009.00713, §5):
  the mean squared difference of the log-mel spectrograms of generated and reference audio. It is also what
  the schedule grid search of WaveGrad (and of ``lmnt-com/wavegrad``'s ``noise_schedule.py``) minimises.
- :func:`multi_resolution_stft`, the distance of Parallel WaveGAN (Yamamoto, Song & Kim 2020,
  arXiv:1910.11480, §2.2, Eqs. 4-6; ``kan-bayashi/ParallelWaveGAN`` ``stft_loss.py``): at each resolution
  (FFT size, hop, Hann window length) the spectral convergence ‖|S| - |Ŝ|‖_F / ‖|S|‖_F plus the mean absolute
  difference of log magnitudes, averaged over the resolutions (1024/120/600, 2048/240/1200, 512/50/240 at
  24 kHz by default). Magnitudes are floored as in the reference (√max(|S|², 1e-7)). Deviation: the norms are
  taken per clip and then averaged over clips; the reference takes them over the whole batch (the same for one
  clip).
- :func:`real_time_factor`: seconds of computation per second of generated audio (below 1: faster than real
  time), as WaveGrad and ``ivanvovk/WaveGrad`` report it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..data.audio import MelSpectrogram

__all__ = [
    "PWG_RESOLUTIONS",
    "log_mel_mse",
    "stft_magnitude",
    "spectral_convergence",
    "log_stft_magnitude_distance",
    "multi_resolution_stft",
    "real_time_factor",
]

#: Parallel WaveGAN's (n_fft, hop_length, win_length) triples.
PWG_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def _check_pair(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if pred.shape != target.shape or pred.dim() not in (1, 2):
        raise ValueError(f"expected pred and target of the same shape (B, T) or (T,), got {pred.shape}, {target.shape}")
    return (pred[None], target[None]) if pred.dim() == 1 else (pred, target)


def log_mel_mse(pred: Tensor, target: Tensor, mel: MelSpectrogram) -> Tensor:
    """LS-MSE: mean over mel bands and frames of (log-mel(pred) - log-mel(target))², per clip.

    Args:
        pred, target: audio (B, T) or (T,).
        mel: a log-mel front end (``log=True``: log(max(mel, clamp))).

    Returns:
        (B,) in float32 (a 0-d tensor for 1-D inputs).
    """
    if not mel.log:
        raise ValueError("log_mel_mse needs a MelSpectrogram with log=True")
    squeeze = pred.dim() == 1
    pred, target = _check_pair(pred, target)
    diff = mel(pred.float()) - mel(target.float())  # (B, n_mels, frames)
    out = diff.pow(2).mean(dim=(1, 2))
    return out[0] if squeeze else out


def stft_magnitude(audio: Tensor, n_fft: int, hop_length: int, win_length: int, *, floor: float = 1e-7) -> Tensor:
    """|STFT| of (B, T) audio with a periodic Hann window of ``win_length`` (centred, reflect padding), floored.

    The magnitude is √max(re² + im², floor), as Parallel WaveGAN's ``stft``.

    Returns:
        (B, frames, n_fft // 2 + 1).
    """
    if not 0 < win_length <= n_fft or hop_length <= 0:
        raise ValueError(f"need 0 < win_length <= n_fft and hop_length > 0 (got {n_fft}, {hop_length}, {win_length})")
    if audio.shape[-1] <= n_fft // 2:
        raise ValueError(f"expected audio longer than n_fft/2 = {n_fft // 2} samples, got {tuple(audio.shape)}")
    window = torch.hann_window(win_length, dtype=audio.dtype, device=audio.device)
    spec = torch.stft(
        audio, n_fft, hop_length=hop_length, win_length=win_length, window=window, center=True, return_complex=True
    )
    power = spec.real.pow(2) + spec.imag.pow(2)
    return power.clamp(min=floor).sqrt().transpose(-1, -2)


def spectral_convergence(pred_mag: Tensor, target_mag: Tensor) -> Tensor:
    """‖|S| - |Ŝ|‖_F / ‖|S|‖_F per clip (Parallel WaveGAN Eq. 5): (B, frames, bins) magnitudes → (B,)."""
    return (target_mag - pred_mag).flatten(1).norm(dim=1) / target_mag.flatten(1).norm(dim=1)


def log_stft_magnitude_distance(pred_mag: Tensor, target_mag: Tensor) -> Tensor:
    """Mean |log|S| - log|Ŝ|| per clip (Parallel WaveGAN Eq. 6): (B, frames, bins) magnitudes → (B,)."""
    return (target_mag.log() - pred_mag.log()).abs().flatten(1).mean(dim=1)


def multi_resolution_stft(
    pred: Tensor, target: Tensor, resolutions: Sequence[Sequence[int]] = PWG_RESOLUTIONS
) -> dict[str, Tensor]:
    """Parallel WaveGAN's multi-resolution STFT distance between generated and reference audio, per clip.

    Args:
        pred, target: audio (B, T) or (T,).
        resolutions: ``(n_fft, hop_length, win_length)`` triples; T must exceed every n_fft / 2.

    Returns:
        ``{"sc": mean spectral convergence, "mag": mean log-magnitude distance, "total": sc + mag}`` each (B,)
        (0-d for 1-D inputs), averaged over the resolutions (Eq. 4: L_mr = (1/M) Σ_m (L_sc,m + L_mag,m)).
    """
    if not resolutions:
        raise ValueError("expected at least one (n_fft, hop_length, win_length) resolution")
    squeeze = pred.dim() == 1
    pred, target = _check_pair(pred.float(), target.float())
    sc = pred.new_zeros(pred.shape[0])
    mag = pred.new_zeros(pred.shape[0])
    for n_fft, hop, win in resolutions:
        p, t = stft_magnitude(pred, n_fft, hop, win), stft_magnitude(target, n_fft, hop, win)
        sc = sc + spectral_convergence(p, t)
        mag = mag + log_stft_magnitude_distance(p, t)
    out = {"sc": sc / len(resolutions), "mag": mag / len(resolutions)}
    out["total"] = out["sc"] + out["mag"]
    return {k: v[0] for k, v in out.items()} if squeeze else out


def real_time_factor(seconds: float, num_samples: int, sample_rate: int) -> float:
    """Seconds of computation per second of audio: ``seconds / (num_samples / sample_rate)``.

    Args:
        seconds: wall-clock time spent generating.
        num_samples: samples generated (summed over clips).
        sample_rate: in Hz.
    """
    if num_samples <= 0 or sample_rate <= 0 or seconds < 0:
        got = f"{num_samples}, {sample_rate}, {seconds}"
        raise ValueError(f"need num_samples > 0, sample_rate > 0 and seconds >= 0 (got {got})")
    return float(seconds) * sample_rate / num_samples
