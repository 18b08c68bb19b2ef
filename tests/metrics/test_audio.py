"""Vocoder metrics against naive numpy computations: a per-frame loop STFT (reflect padding, periodic Hann window
centred in the FFT frame, one rfft per frame), the mel filterbank applied per frame, Frobenius norms and mean
absolute log differences written out; the real-time factor against its closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paperzoo.data.audio import MelSpectrogram, mel_filterbank
from paperzoo.metrics.audio import (
    PWG_RESOLUTIONS,
    log_mel_mse,
    multi_resolution_stft,
    real_time_factor,
    stft_magnitude,
)


def _naive_stft_mag(x: np.ndarray, n_fft: int, hop: int, win: int) -> np.ndarray:
    """(frames, bins) |STFT| of a 1-D signal, one frame at a time."""
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = np.zeros(n_fft)
    left = (n_fft - win) // 2
    window[left : left + win] = [0.5 - 0.5 * math.cos(2 * math.pi * n / win) for n in range(win)]  # periodic Hann
    frames = 1 + len(x) // hop
    out = np.zeros((frames, n_fft // 2 + 1))
    for f in range(frames):
        out[f] = np.abs(np.fft.rfft(padded[f * hop : f * hop + n_fft] * window))
    return out


def _signals(seed: int, b: int = 2, t: int = 1500) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    time = torch.arange(t, dtype=torch.float64) / 8000
    ref = 0.3 * torch.sin(2 * math.pi * 440 * time) + 0.01 * torch.randn(b, t, generator=g, dtype=torch.float64)
    pred = ref + 0.05 * torch.randn(b, t, generator=g, dtype=torch.float64)
    return pred, ref


def test_stft_magnitude_matches_a_per_frame_loop() -> None:
    pred, _ = _signals(0)
    for n_fft, hop, win in ((256, 40, 200), (128, 16, 128)):
        ours = stft_magnitude(pred, n_fft, hop, win, floor=0.0).numpy()
        for i in range(len(pred)):
            np.testing.assert_allclose(ours[i], _naive_stft_mag(pred[i].numpy(), n_fft, hop, win), atol=1e-9)


def test_multi_resolution_stft_matches_the_written_out_formulas() -> None:
    pred, ref = _signals(1)
    resolutions = ((256, 40, 200), (512, 80, 400), (128, 16, 80))
    out = multi_resolution_stft(pred, ref, resolutions)
    for i in range(len(pred)):
        sc_sum = mag_sum = 0.0
        for n_fft, hop, win in resolutions:
            p = np.sqrt(np.maximum(_naive_stft_mag(pred[i].numpy(), n_fft, hop, win) ** 2, 1e-7))
            r = np.sqrt(np.maximum(_naive_stft_mag(ref[i].numpy(), n_fft, hop, win) ** 2, 1e-7))
            sc_sum += math.sqrt(((r - p) ** 2).sum()) / math.sqrt((r**2).sum())
            mag_sum += np.abs(np.log(r) - np.log(p)).mean()
        assert float(out["sc"][i]) == pytest.approx(sc_sum / 3, rel=1e-5)
        assert float(out["mag"][i]) == pytest.approx(mag_sum / 3, rel=1e-5)
        assert float(out["total"][i]) == pytest.approx((sc_sum + mag_sum) / 3, rel=1e-5)


def test_log_mel_mse_matches_a_loop_over_frames_and_bands() -> None:
    pred, ref = _signals(2)
    mel = MelSpectrogram(8000, 256, hop_length=32, win_length=256, n_mels=16, f_max=None, clamp=1e-5)
    fb = mel_filterbank(8000, 256, 16).double().numpy()
    ours = log_mel_mse(pred.float(), ref.float(), mel)
    for i in range(len(pred)):
        lp = np.log(np.maximum(fb @ _naive_stft_mag(pred[i].numpy(), 256, 32, 256).T, 1e-5))
        lr = np.log(np.maximum(fb @ _naive_stft_mag(ref[i].numpy(), 256, 32, 256).T, 1e-5))
        total = sum((lp[m, f] - lr[m, f]) ** 2 for m in range(lp.shape[0]) for f in range(lp.shape[1]))
        assert float(ours[i]) == pytest.approx(total / lp.size, rel=1e-4)
    assert log_mel_mse(pred[0].float(), ref[0].float(), mel).dim() == 0


def test_identical_audio_scores_zero_and_more_noise_scores_worse() -> None:
    pred, ref = _signals(3)
    mel = MelSpectrogram(8000, 256, hop_length=32, win_length=256, n_mels=16, f_max=None)
    assert float(log_mel_mse(ref.float(), ref.float(), mel).max()) == 0.0
    same = multi_resolution_stft(ref, ref, ((256, 40, 200),))
    assert float(same["total"].abs().max()) == 0.0
    worse = ref + 4 * (pred - ref)
    assert (log_mel_mse(worse.float(), ref.float(), mel) > log_mel_mse(pred.float(), ref.float(), mel)).all()
    assert (
        multi_resolution_stft(worse, ref, ((256, 40, 200),))["total"]
        > multi_resolution_stft(pred, ref, ((256, 40, 200),))["total"]
    ).all()


def test_parallel_wavegan_resolutions_and_short_audio() -> None:
    assert PWG_RESOLUTIONS == ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
    with pytest.raises(ValueError, match="longer than"):
        multi_resolution_stft(torch.zeros(1, 1000), torch.zeros(1, 1000))  # 2048-point FFT needs > 1024 samples
    with pytest.raises(ValueError, match="same shape"):
        multi_resolution_stft(torch.zeros(1, 3000), torch.zeros(1, 3001))


def test_real_time_factor_is_compute_seconds_per_audio_second() -> None:
    assert real_time_factor(2.0, 44100, 22050) == pytest.approx(1.0)  # 2 s for 2 s of audio: real time
    assert real_time_factor(0.5, 4 * 24000, 24000) == pytest.approx(0.125)  # 0.5 s for 4 s of audio
    with pytest.raises(ValueError, match="num_samples"):
        real_time_factor(1.0, 0, 22050)
