"""Mel features: the filterbank against a naive per-filter loop written from the formulas and known scale
values; the STFT against a naive framing + numpy rfft; a sinusoid's peak bin."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paperzoo.data.audio import MelSpectrogram, hz_to_mel, mel_filterbank, mel_to_hz


def _naive_mel(f: float, htk: bool) -> float:
    if htk:
        return 2595.0 * math.log10(1.0 + f / 700.0)
    if f < 1000.0:
        return 3.0 * f / 200.0
    return 15.0 + 27.0 * math.log(f / 1000.0) / math.log(6.4)


def _naive_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: bool):
    """One filter and one bin at a time: triangle from edge i to edge i+2, peak 1 at edge i+1."""
    lo, hi = _naive_mel(fmin, htk), _naive_mel(fmax, htk)
    mels = [lo + (hi - lo) * k / (n_mels + 1) for k in range(n_mels + 2)]
    edges = [float(mel_to_hz(m, htk=htk)) for m in mels]
    out = np.zeros((n_mels, n_fft // 2 + 1))
    for i in range(n_mels):
        left, centre, right = edges[i], edges[i + 1], edges[i + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            if left < f <= centre:
                w = (f - left) / (centre - left)
            elif centre < f < right:
                w = (right - f) / (right - centre)
            else:
                w = 0.0
            out[i, k] = w * (2.0 / (right - left) if norm else 1.0)
    return out


def test_mel_scales_at_known_frequencies() -> None:
    assert float(hz_to_mel(1000.0, htk=True)) == pytest.approx(1000.0, abs=0.05)  # HTK: 1 kHz ≈ 1000 mel
    assert float(hz_to_mel(1000.0)) == pytest.approx(15.0)  # Slaney: 1 kHz = 15 mel, the linear part's end
    assert float(hz_to_mel(200.0 / 3)) == pytest.approx(1.0)
    assert float(hz_to_mel(6400.0)) == pytest.approx(15.0 + 27.0)  # 27 mel per factor 6.4 above 1 kHz
    for f in (0.0, 440.0, 999.0, 1000.0, 3000.0, 11025.0):
        for htk in (False, True):
            assert float(hz_to_mel(f, htk=htk)) == pytest.approx(_naive_mel(f, htk), rel=1e-12, abs=1e-12)
            assert float(mel_to_hz(hz_to_mel(f, htk=htk), htk=htk)) == pytest.approx(f, abs=1e-9)


@pytest.mark.parametrize(
    "sr, n_fft, n_mels, fmin, fmax, htk",
    [
        (22050, 1024, 80, 0.0, 8000.0, False),
        (16000, 512, 40, 80.0, 7600.0, True),
        (24000, 2048, 128, 0.0, 12000.0, False),
    ],
)
def test_filterbank_matches_naive_loop(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool) -> None:
    for norm in (True, False):
        fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm="slaney" if norm else None)
        ref = _naive_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
        assert fb.shape == (n_mels, n_fft // 2 + 1)
        np.testing.assert_allclose(fb.numpy(), ref, rtol=1e-5, atol=1e-7)


def test_filterbank_properties() -> None:
    sr, n_fft, n_mels = 22050, 4096, 40
    fb = mel_filterbank(sr, n_fft, n_mels, 0.0, 8000.0, norm=None).numpy()
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    assert (fb >= 0).all() and fb.max() <= 1.0 + 1e-6
    assert np.all(fb.max(1) > 0.9)  # every triangle nearly reaches its peak 1 on this fine grid
    centres = freqs[fb.argmax(1)]
    assert np.all(np.diff(centres) > 0)  # centres increase
    assert fb[:, freqs > 8000.0 + sr / n_fft].sum() == 0  # nothing above f_max
    # Slaney norm: each filter's area in Hz is ≈ 1 (a triangle of height 2/width over a base of that width)
    normed = mel_filterbank(sr, n_fft, n_mels, 0.0, 8000.0).numpy()
    np.testing.assert_allclose(normed.sum(1) * sr / n_fft, 1.0, rtol=0.05)
    with pytest.raises(ValueError, match="f_min"):
        mel_filterbank(sr, n_fft, n_mels, 9000.0, 8000.0)


def _naive_stft_mag(x: np.ndarray, n_fft: int, hop: int, win_length: int) -> np.ndarray:
    n = np.arange(win_length)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * n / win_length)  # periodic Hann
    left = (n_fft - win_length) // 2
    window = np.zeros(n_fft)
    window[left : left + win_length] = win
    padded = np.pad(x, n_fft // 2, mode="reflect")
    frames = 1 + (len(padded) - n_fft) // hop
    return np.stack([np.abs(np.fft.rfft(padded[i * hop : i * hop + n_fft] * window)) for i in range(frames)], axis=1)


@pytest.mark.parametrize("win_length", [1024, 800])
def test_mel_spectrogram_equals_naive_framing(win_length: int) -> None:
    g = torch.Generator().manual_seed(0)
    audio = torch.randn(2, 5000, generator=g, dtype=torch.float64)
    module = MelSpectrogram(22050, 1024, hop_length=256, win_length=win_length, n_mels=80, f_min=0.0, f_max=8000.0)
    out = module(audio)
    assert out.shape == (2, 80, 1 + 5000 // 256)
    fb = mel_filterbank(22050, 1024, 80, 0.0, 8000.0).double().numpy()
    for b in range(2):
        mag = _naive_stft_mag(audio[b].numpy(), 1024, 256, win_length)
        np.testing.assert_allclose(module.magnitude(audio[b : b + 1])[0].numpy(), mag, rtol=1e-6, atol=1e-8)
        ref = np.log(np.maximum(fb.astype(np.float32).astype(np.float64) @ mag, 1e-5))
        np.testing.assert_allclose(out[b].numpy(), ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(module(audio[0]), out[0])  # a 1-D input gives the unbatched features


@pytest.mark.parametrize("length, hop", [(2205, 256), (7200, 300), (513, 100)])
def test_frame_count(length: int, hop: int) -> None:
    out = MelSpectrogram(hop_length=hop)(torch.randn(1, length))
    assert out.shape == (1, 80, 1 + length // hop)


def test_sinusoid_peaks_at_its_bin() -> None:
    sr, n_fft = 22050, 1024
    module = MelSpectrogram(sr, n_fft, hop_length=256, win_length=n_fft, log=False)
    for k in (20, 93, 300):
        f = k * sr / n_fft  # exactly on bin k
        t = torch.arange(sr // 2, dtype=torch.float64) / sr
        mag = module.magnitude(torch.sin(2 * math.pi * f * t)[None])[0]  # (513, frames)
        interior = mag[:, 4:-4]
        assert (interior.argmax(0) == k).all()
        # a unit sinusoid under a periodic Hann window of length N has |X_k| = N/4
        np.testing.assert_allclose(interior[k].numpy(), n_fft / 4, rtol=1e-6)


def test_mel_spectrogram_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="expected audio"):
        MelSpectrogram()(torch.randn(1, 2, 3000))
    with pytest.raises(ValueError, match="win_length"):
        MelSpectrogram(n_fft=512, win_length=1024)
