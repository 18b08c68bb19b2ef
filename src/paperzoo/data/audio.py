"""Audio features in torch: the mel filterbank and log-mel spectrograms (torchaudio/librosa are not used).

:func:`mel_filterbank` follows the algorithm of ``librosa.filters.mel`` (its defaults: the Slaney mel scale of
the Auditory Toolbox and Slaney's area normalisation); :class:`MelSpectrogram` is the feature front end of the
vocoders (WaveGrad, arXiv:2009.00713; HiFi-GAN-style log-mel: |STFT| → mel → log(max(·, clamp))).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "MelSpectrogram"]

# Slaney's mel scale (Auditory Toolbox): linear below 1 kHz at 3 mel per 200/3 Hz, logarithmic above it.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mel
_LOGSTEP = math.log(6.4) / 27.0  # 27 mel per factor 6.4 in frequency


def hz_to_mel(freq: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """Frequency (Hz) to mel: HTK 2595 log10(1 + f/700), or Slaney's (linear to 1 kHz = 15 mel, then log)."""
    f = np.asarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    linear = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """The inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    linear = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> Tensor:
    """Triangular mel filters over the rfft bins (the algorithm of ``librosa.filters.mel``).

    n_mels + 2 edge frequencies are spaced evenly on the mel scale from f_min to f_max; filter i rises
    linearly from edge i to 1 at edge i + 1 and falls to 0 at edge i + 2. With ``norm="slaney"`` each
    filter is divided by half its bandwidth in Hz (2 / (edge_{i+2} - edge_i)), so that every filter has
    roughly constant energy per Hz.

    Args:
        sample_rate: in Hz.
        n_fft: FFT size; the filters cover its 1 + n_fft // 2 bins.
        n_mels: number of filters.
        f_min, f_max: the lowest and highest edge (Hz); f_max defaults to sample_rate / 2.
        htk: the HTK mel scale instead of Slaney's.
        norm: ``"slaney"`` or None.

    Returns:
        (n_mels, 1 + n_fft // 2), float32.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    if sample_rate <= 0 or n_fft <= 0 or n_mels <= 0:
        raise ValueError(f"sample_rate, n_fft and n_mels must be > 0 (got {sample_rate}, {n_fft}, {n_mels})")
    if not 0 <= f_min < f_max:
        raise ValueError(f"need 0 <= f_min < f_max (got {f_min}, {f_max})")
    if norm not in ("slaney", None):
        raise ValueError(f"norm must be 'slaney' or None (got {norm!r})")
    fft_freqs = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)  # (K,)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min, htk=htk), hz_to_mel(f_max, htk=htk), n_mels + 2), htk=htk)
    widths = np.diff(edges)  # (n_mels + 1,)
    ramps = edges[:, None] - fft_freqs[None, :]  # (n_mels + 2, K)
    rising = -ramps[:-2] / widths[:-1, None]  # (n_mels, K)
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(weights).float()


class MelSpectrogram(nn.Module):
    """Log-mel spectrogram: |STFT| (Hann window, centred, reflect padding) → mel filterbank → log(max(·, clamp)).

    Args:
        sample_rate: in Hz (22050).
        n_fft: FFT size (1024).
        hop_length: samples between frames (256; WaveGrad: 300 at 24 kHz).
        win_length: Hann window length ≤ n_fft, zero-padded to n_fft in the centre (1024).
        n_mels: mel bands (80).
        f_min, f_max: the filterbank's range in Hz (0, 8000).
        log: take log(max(mel, clamp)); otherwise return the linear mel magnitude.
        clamp: the floor before the log (1e-5).
        htk, norm: see :func:`mel_filterbank`.

    Shapes:
        (B, T) or (T,) → (B, n_mels, 1 + T // hop_length) (or (n_mels, frames)).
    """

    def __init__(
        self,
        sample_rate: int = 22050,
        n_fft: int = 1024,
        *,
        hop_length: int = 256,
        win_length: int = 1024,
        n_mels: int = 80,
        f_min: float = 0.0,
        f_max: float | None = 8000.0,
        log: bool = True,
        clamp: float = 1e-5,
        htk: bool = False,
        norm: str | None = "slaney",
    ) -> None:
        super().__init__()
        if hop_length <= 0:
            raise ValueError(f"hop_length must be > 0 (got {hop_length})")
        if not 0 < win_length <= n_fft:
            raise ValueError(f"win_length must be in (0, n_fft={n_fft}] (got {win_length})")
        if clamp <= 0:
            raise ValueError(f"clamp must be > 0 (got {clamp})")
        self.sample_rate, self.n_fft, self.hop_length, self.win_length = sample_rate, n_fft, hop_length, win_length
        self.n_mels, self.log, self.clamp = n_mels, log, clamp
        fb = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, htk=htk, norm=norm)
        self.register_buffer("mel_basis", fb, persistent=False)  # (n_mels, n_fft // 2 + 1)

    def magnitude(self, audio: Tensor) -> Tensor:
        """|STFT| (B, n_fft // 2 + 1, 1 + T // hop) of (B, T)."""
        if audio.dim() != 2 or audio.shape[1] <= self.n_fft // 2:
            raise ValueError(f"expected audio of shape (B, T) with T > {self.n_fft // 2}, got {tuple(audio.shape)}")
        spec = torch.stft(
            audio,
            self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=torch.hann_window(self.win_length, dtype=audio.dtype, device=audio.device),  # periodic Hann
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        return spec.abs()

    def forward(self, audio: Tensor) -> Tensor:
        """(B, T) or (T,) audio → (B, n_mels, 1 + T // hop) (log-)mel features."""
        squeeze = audio.dim() == 1
        x = audio[None] if squeeze else audio
        mel = torch.matmul(self.mel_basis.to(x.dtype), self.magnitude(x))  # (B, n_mels, frames)
        if self.log:
            mel = mel.clamp(min=self.clamp).log()
        return mel[0] if squeeze else mel
