"""Audio features in torch (the mel filterbank, log-mel spectrograms) and the vocoder datasets.

:func:`mel_filterbank` follows the algorithm of ``librosa.filters.mel`` (its defaults: the Slaney mel scale of
the Auditory Toolbox and Slaney's area normalisation); :class:`MelSpectrogram` is the feature front end of the
vocoders (WaveGrad, arXiv:2009.00713; HiFi-GAN-style log-mel: |STFT| → mel → log(max(·, clamp))).
torchaudio/librosa are not used.

Datasets of (log-mel, waveform) segment pairs, the input and target of a mel-conditioned vocoder:

- ``synth_audio`` (built in): seeded harmonic tones, chirps, tones under amplitude envelopes and mixtures of
  them (:func:`synth_waveforms`), at 8 kHz by default, optionally with speech from the ``espeak-ng`` program
  (``kinds`` containing ``"speech"``; it fails with a clear message where the program is not installed).
- ``ljspeech`` (``--data PATH``): the LJ Speech Dataset 1.1 layout, ``metadata.csv`` (``id|transcription|
  normalized transcription``, no header, UTF-8) and ``wavs/<id>.wav`` (22,050 Hz mono 16-bit PCM), read with
  ``soundfile`` (the ``audio`` extra). Training items are random crops of ``segment_length`` samples
  (WaveGrad: 7,200 = 24 frames of 300), evaluation items fixed centre crops; shorter clips are zero-padded.

The mel frames of a segment of T = F · hop samples are the first F of the 1 + T // hop centred frames, so that
a frame and the hop of samples the vocoder generates for it line up (as ``lmnt-com/wavegrad``).
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from ..registry import register_dataset
from .errors import DataFormatError, require_file

__all__ = [
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "MelSpectrogram",
    "conditioning_mel",
    "AudioSplits",
    "WaveformSegments",
    "synth_waveforms",
    "synth_audio",
    "espeak_available",
    "espeak_speech",
    "read_ljspeech_metadata",
    "ljspeech",
    "read_wav",
    "write_wav",
]

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


# ---------------------------------------------------------------------------------------------------------------
# (log-mel, waveform) pairs
# ---------------------------------------------------------------------------------------------------------------


def conditioning_mel(mel: MelSpectrogram, audio: Tensor) -> Tensor:
    """A vocoder's conditioning features of (B, T) audio with T = F · hop: the first F of the 1 + T // hop frames.

    Returns:
        (B, n_mels, F).
    """
    if audio.dim() != 2 or audio.shape[1] % mel.hop_length:
        raise ValueError(
            f"expected audio of shape (B, T) with T a multiple of hop_length={mel.hop_length}, got {tuple(audio.shape)}"
        )
    return mel(audio)[..., : audio.shape[1] // mel.hop_length]


@dataclass
class AudioSplits:
    """Train/validation/test datasets of ``(mel (n_mels, F), audio (F · hop,))`` items, and their features.

    Attributes:
        mel: the :class:`MelSpectrogram` that made the conditioning (apply it with :func:`conditioning_mel`).
        sample_rate: in Hz.
        source: a one-line description of the data.
    """

    train: Dataset
    val: Dataset
    test: Dataset
    mel: MelSpectrogram
    sample_rate: int
    source: str

    @property
    def hop_length(self) -> int:
        return self.mel.hop_length


class WaveformSegments(Dataset):
    """(log-mel, waveform) segments cut from whole clips: random crops for training, centre crops for evaluation.

    A clip shorter than ``segment_length`` is zero-padded at its end. :meth:`get_batch` (which the trainer uses)
    reads the crops and computes their mel features in one batched call.

    Args:
        clips: each a 1-D float array in memory, or a ``(path, num_samples)`` pair of a mono WAV read on demand.
        mel: the conditioning features.
        segment_length: samples per item, a multiple of ``mel.hop_length``.
        random_crop: draw each crop's start uniformly with torch's global RNG (training; the run seeds it and
            checkpoints its state), or take the centre crop (evaluation, deterministic).

    Items:
        ``(mel (n_mels, segment_length // hop), audio (segment_length,))``, float32.
    """

    def __init__(
        self,
        clips: Sequence[np.ndarray | tuple[Path, int]],
        mel: MelSpectrogram,
        *,
        segment_length: int,
        random_crop: bool,
    ) -> None:
        if segment_length <= mel.n_fft // 2 or segment_length % mel.hop_length:
            raise ValueError(
                f"segment_length must be a multiple of hop_length={mel.hop_length} above n_fft/2={mel.n_fft // 2} "
                f"(got {segment_length})"
            )
        if not clips:
            raise ValueError("expected at least one clip")
        self.clips, self.mel = list(clips), mel
        self.segment_length, self.random_crop = segment_length, random_crop

    def __len__(self) -> int:
        return len(self.clips)

    def _length(self, i: int) -> int:
        clip = self.clips[i]
        return int(clip[1]) if isinstance(clip, tuple) else len(clip)

    def _read(self, i: int, start: int, stop: int) -> np.ndarray:
        clip = self.clips[i]
        if isinstance(clip, tuple):
            sf = _soundfile()
            data, _ = sf.read(str(clip[0]), start=start, stop=stop, dtype="float32", always_2d=False)
            return np.asarray(data, dtype=np.float32)
        return np.asarray(clip[start:stop], dtype=np.float32)

    def _crop(self, i: int) -> np.ndarray:
        n, seg = self._length(i), self.segment_length
        slack = max(n - seg, 0)
        start = int(torch.randint(0, slack + 1, ()).item()) if self.random_crop else slack // 2
        out = np.zeros(seg, dtype=np.float32)
        part = self._read(i, start, min(start + seg, n))
        out[: len(part)] = part
        return out

    def get_batch(self, idx: Sequence[int]) -> tuple[Tensor, Tensor]:
        """``(mel (B, n_mels, F), audio (B, T))`` for the item indices ``idx``."""
        audio = torch.from_numpy(np.stack([self._crop(int(i)) for i in idx]))
        with torch.no_grad():
            mel = conditioning_mel(self.mel, audio)
        return mel, audio

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        mel, audio = self.get_batch([i])
        return mel[0], audio[0]


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:
        msg = "reading WAV files needs the 'audio' extra (soundfile): pip install 'paperzoo[audio]'"
        raise ValueError(msg) from None
    return soundfile


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A WAV (or FLAC) file as float32 samples in [-1, 1] (T,) or (T, C), and its sample rate (soundfile)."""
    sf = _soundfile()
    data, rate = sf.read(str(require_file(path, "audio file")), dtype="float32", always_2d=False)
    return np.asarray(data, dtype=np.float32), int(rate)


def write_wav(path: str | Path, audio: np.ndarray | Tensor, sample_rate: int) -> Path:
    """Write mono audio in [-1, 1] (T,) as a 16-bit PCM WAV with the standard library's ``wave`` (clipped; NaN → 0)."""
    samples = audio.detach().cpu().numpy() if isinstance(audio, Tensor) else np.asarray(audio)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio of shape (T,), got {samples.shape}")
    # an untrained vocoder can diverge: write its non-finite samples as full scale (±inf) or silence (NaN)
    finite = np.nan_to_num(samples.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    pcm = np.round(np.clip(finite, -1.0, 1.0) * 32767.0).astype("<i2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return path


# ---------------------------------------------------------------------------------------------------------------
# synth_audio: seeded tones, chirps, envelopes, mixtures (+ espeak-ng speech)
# ---------------------------------------------------------------------------------------------------------------

SYNTH_KINDS = ("tone", "chirp", "envelope", "mixture")
_HARMONICS = 8


def _harmonic_source(rng: np.random.Generator, t: np.ndarray, sweep: np.ndarray, sample_rate: int) -> np.ndarray:
    """Harmonic sources (N, L): f0 log-uniform in 110-880 Hz, exponential sweeps to 110-1760 Hz where ``sweep``.

    Up to 8 harmonics with amplitudes k^-γ (γ ~ U(0.5, 2)) and random phases; harmonics at or above 0.45 ×
    the sample rate are dropped, so nothing aliases.
    """
    num, dur = len(sweep), len(t) / sample_rate
    f0 = np.exp(rng.uniform(np.log(110.0), np.log(880.0), num))
    f1 = np.where(sweep, np.exp(rng.uniform(np.log(110.0), np.log(1760.0), num)), f0)
    log_ratio = np.log(f1 / f0)
    curved = np.abs(log_ratio) > 1e-9
    # cycles elapsed at time t for f(t) = f0 · (f1/f0)^(t/dur): f0 · dur · ((f1/f0)^(t/dur) - 1) / ln(f1/f0)
    safe = np.where(curved, log_ratio, 1.0)[:, None]
    cycles = np.where(
        curved[:, None], f0[:, None] * dur * np.expm1(safe * t[None] / dur) / safe, f0[:, None] * t[None]
    )  # (N, L)
    k = np.arange(1, _HARMONICS + 1)
    gamma = rng.uniform(0.5, 2.0, num)
    amp = k[None].astype(np.float64) ** -gamma[:, None] * (k[None] * np.maximum(f0, f1)[:, None] < 0.45 * sample_rate)
    phase = rng.uniform(0.0, 2 * np.pi, (num, _HARMONICS))
    waves = np.einsum("nk,nkl->nl", amp, np.sin(2 * np.pi * k[None, :, None] * cycles[:, None] + phase[..., None]))
    return waves / amp.sum(1, keepdims=True)


def _envelopes(rng: np.random.Generator, num: int, t: np.ndarray) -> np.ndarray:
    """Amplitude envelopes (N, L): half percussive (onset, linear attack, exponential decay), half tremolo."""
    dur = len(t) * (t[1] - t[0])
    onset = rng.uniform(0.0, 0.5 * dur, num)[:, None]
    attack = rng.uniform(0.002, 0.03, num)[:, None]
    decay = rng.uniform(0.05, 0.5, num)[:, None]
    since = t[None] - onset
    percussive = np.where(since < 0, 0.0, np.minimum(since / attack, 1.0) * np.exp(-np.maximum(since, 0.0) / decay))
    depth = rng.uniform(0.3, 0.9, num)[:, None]
    rate = rng.uniform(2.0, 12.0, num)[:, None]
    phase = rng.uniform(0.0, 2 * np.pi, num)[:, None]
    tremolo = 1.0 - depth * 0.5 * (1.0 + np.sin(2 * np.pi * rate * t[None] + phase))
    return np.where(rng.uniform(size=(num, 1)) < 0.5, percussive, tremolo)


def synth_waveforms(
    num: int,
    length: int,
    *,
    sample_rate: int = 8000,
    kinds: Sequence[str] = SYNTH_KINDS,
    seed: int | Sequence[int] = 0,
    noise_floor_db: float | None = -60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded synthetic audio clips and the kind of each.

    Kinds: ``"tone"`` (a steady harmonic tone), ``"chirp"`` (a harmonic exponential sweep), ``"envelope"`` (a
    tone under a percussive attack-decay or a tremolo envelope) and ``"mixture"`` (an enveloped tone or sweep
    plus an enveloped sweep at a random relative level); ``"speech"`` adds :func:`espeak_speech` segments.
    Every clip is scaled to a peak drawn from U(0.2, 0.5), about the level of speech recordings, and gets white
    noise of ``noise_floor_db`` dB re full scale (a recording's noise floor; None: none), so that the log-mel of
    a quiet frame measures the floor rather than the log's clamp.

    Args:
        num: clips. length: samples per clip.
        sample_rate: in Hz (harmonics stay below 0.45 × sample_rate).
        kinds: which kinds to draw, equally often.
        seed: seed (or seed sequence) of the numpy generator.
        noise_floor_db: the white noise floor's level (std) in dB re 1.0, or None.

    Returns:
        ``(audio (num, length) float32, kind (num,) int64 indices into kinds)``.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(SYNTH_KINDS) - {"speech"}
    if not kinds or unknown:
        raise ValueError(f"kinds must be a non-empty subset of {SYNTH_KINDS + ('speech',)} (got {kinds})")
    if num <= 0 or length <= 1 or sample_rate <= 0:
        raise ValueError(f"need num > 0, length > 1 and sample_rate > 0 (got {num}, {length}, {sample_rate})")
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, len(kinds), size=num)
    names = np.asarray(kinds)[kind]
    t = np.arange(length) / sample_rate
    is_mix = names == "mixture"
    sweep_a = (names == "chirp") | (is_mix & (rng.uniform(size=num) < 0.5))
    a = _harmonic_source(rng, t, sweep_a, sample_rate)
    b = _harmonic_source(rng, t, np.ones(num, dtype=bool), sample_rate)
    env_a, env_b = _envelopes(rng, num, t), _envelopes(rng, num, t)
    level_b = rng.uniform(0.3, 1.0, num)[:, None]
    audio = np.where((names == "envelope")[:, None], a * env_a, a)
    audio = np.where(is_mix[:, None], a * env_a + level_b * b * env_b, audio)
    speech = names == "speech"
    if speech.any():
        audio[speech] = _espeak_segments(int(speech.sum()), length, sample_rate, rng)
    peak = np.abs(audio).max(1, keepdims=True)
    audio = audio / np.maximum(peak, 1e-12) * rng.uniform(0.2, 0.5, (num, 1))
    if noise_floor_db is not None:  # a recording's background noise, so that no frame is digital silence
        audio = audio + 10.0 ** (noise_floor_db / 20.0) * rng.standard_normal(audio.shape)
    return audio.astype(np.float32), kind.astype(np.int64)


# Sentences for espeak-ng (the Harvard sentences, lists 1-2: phonetically balanced and public domain).
_PHRASES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
)


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def _pcm_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM samples and rate of a WAV byte string, trusting no chunk size after ``data`` (a stream)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("espeak-ng did not write a WAV file")
    pos, rate = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            _fmt, channels, rate, _bps, _align, bits = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            if channels != 1 or bits != 16:
                raise ValueError(f"expected mono 16-bit speech from espeak-ng (got {channels} ch, {bits} bit)")
        elif chunk == b"data":
            if rate is None:
                raise ValueError("espeak-ng's WAV has no fmt chunk before its data")
            body = data[pos + 8 :]  # a stream's data size field is unreliable: take everything that follows
            return np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0, int(rate)
        pos += 8 + size + (size & 1)
    raise ValueError("espeak-ng's WAV has no data chunk")


def espeak_speech(
    text: str, *, sample_rate: int, voice: str = "en-us", words_per_minute: int = 160, pitch: int = 50
) -> np.ndarray:
    """Speech for ``text`` from the ``espeak-ng`` program (run as a subprocess), resampled to ``sample_rate``.

    Returns:
        float32 samples (T,) in [-1, 1].

    Raises:
        ValueError: when ``espeak-ng`` is not installed (e.g. ``apt-get install espeak-ng``).
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ValueError(
            "speech in synth_audio needs the espeak-ng program, which is not installed here "
            "(apt-get install espeak-ng, brew install espeak-ng); leave 'speech' out of kinds to do without it"
        )
    cmd = [exe, "-v", voice, "-s", str(int(words_per_minute)), "-p", str(int(pitch)), "--stdout", text]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    audio, rate = _pcm_wav_bytes(out)
    if rate != sample_rate:
        from scipy.signal import resample_poly

        g = math.gcd(int(sample_rate), rate)
        audio = resample_poly(audio.astype(np.float64), int(sample_rate) // g, rate // g)
    return np.asarray(audio, dtype=np.float32)


def _espeak_segments(num: int, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """``num`` voiced segments (num, length) cut from espeak-ng sentences at random pitch and speed."""
    segments: list[np.ndarray] = []
    for _attempt in range(100 + 10 * num):
        if len(segments) >= num:
            break
        text = _PHRASES[int(rng.integers(len(_PHRASES)))]
        wpm, pitch = int(rng.integers(130, 200)), int(rng.integers(25, 75))
        speech = espeak_speech(text, sample_rate=sample_rate, words_per_minute=wpm, pitch=pitch)
        cut = speech[: len(speech) // length * length].reshape(-1, length)
        rms = np.sqrt((cut.astype(np.float64) ** 2).mean(1))
        if len(cut) and rms.max() > 0:
            segments.extend(cut[rms > 0.1 * rms.max()])  # skip the silent lead-in and tail
    if len(segments) < num:
        raise ValueError(f"espeak-ng produced too little audible speech for {num} segments of {length} samples")
    return np.stack(segments[:num])


def _mel(sample_rate: int, n_fft: int, win_length: int, hop_length: int, n_mels: int, f_min: float, f_max: Any):
    return MelSpectrogram(
        sample_rate, n_fft, hop_length=hop_length, win_length=win_length, n_mels=n_mels, f_min=f_min, f_max=f_max
    )


@register_dataset(
    description="seeded synthetic audio, 8 kHz: harmonic tones, chirps, envelopes, mixtures (+ espeak-ng speech); "
    "(log-mel, waveform) segment pairs",
    builtin=True,
)
def synth_audio(
    *,
    seed: int = 0,
    sample_rate: int = 8000,
    segment_length: int = 1024,
    num_train: int = 2048,
    num_val: int = 16,
    num_test: int = 16,
    kinds: Sequence[str] = SYNTH_KINDS,
    n_fft: int = 256,
    win_length: int = 256,
    hop_length: int = 16,
    n_mels: int = 16,
    f_min: float = 0.0,
    f_max: float | None = None,
    noise_floor_db: float | None = -60.0,
) -> AudioSplits:
    """Three independent seeded draws of :func:`synth_waveforms` with their conditioning log-mel features.

    Args:
        seed: the three splits use the seed sequences (seed, 0), (seed, 1) and (seed, 2).
        sample_rate, segment_length: clips of ``segment_length`` samples (a multiple of ``hop_length``).
        num_train, num_val, num_test: clips per split.
        kinds: see :func:`synth_waveforms` (``"speech"`` needs espeak-ng).
        noise_floor_db: see :func:`synth_waveforms`.
        n_fft, win_length, hop_length, n_mels, f_min, f_max: the :class:`MelSpectrogram` (f_max None: Nyquist).

    Returns:
        :class:`AudioSplits` of ``TensorDataset(mel (N, n_mels, F), audio (N, segment_length))``.
    """
    for name, n in (("num_train", num_train), ("num_val", num_val), ("num_test", num_test)):
        if n <= 0:
            raise ValueError(f"{name} must be > 0 (got {n})")
    if segment_length % hop_length or segment_length <= n_fft // 2:
        raise ValueError(
            f"segment_length must be a multiple of hop_length={hop_length} above n_fft/2 (got {segment_length})"
        )
    mel = _mel(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max)

    def draw(n: int, split: int) -> TensorDataset:
        audio = torch.from_numpy(
            synth_waveforms(
                n,
                segment_length,
                sample_rate=sample_rate,
                kinds=kinds,
                seed=(seed, split),
                noise_floor_db=noise_floor_db,
            )[0]
        )
        with torch.no_grad():
            feats = torch.cat([conditioning_mel(mel, chunk) for chunk in audio.split(512)])
        return TensorDataset(feats, audio)

    source = (
        f"synth_audio: {', '.join(kinds)} at {sample_rate} Hz, {segment_length}-sample clips, "
        f"{n_mels}-band log-mel (hop {hop_length}), seed {seed}"
    )
    return AudioSplits(draw(num_train, 0), draw(num_val, 1), draw(num_test, 2), mel, sample_rate, source)


# ---------------------------------------------------------------------------------------------------------------
# LJ Speech
# ---------------------------------------------------------------------------------------------------------------


def read_ljspeech_metadata(path: str | Path) -> list[tuple[str, str, str, int]]:
    """The rows of an LJSpeech ``metadata.csv``: ``(id, transcription, normalized transcription, line)``.

    The file has no header and no quoting: every non-blank line is three ``|``-separated fields (quotes are
    part of the text). Raises :class:`DataFormatError` with the line for a row with another number of fields,
    an empty or path-like id, or a repeated id.
    """
    path = require_file(path, "LJSpeech metadata.csv")
    rows: list[tuple[str, str, str, int]] = []
    seen: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 3:
            raise DataFormatError(
                path, f"expected 3 '|'-separated fields (id|transcription|normalized), got {len(fields)}", number
            )
        clip_id = fields[0]
        if not clip_id or clip_id != clip_id.strip() or "/" in clip_id or "\\" in clip_id or clip_id in (".", ".."):
            raise DataFormatError(path, f"bad clip id {clip_id!r}", number)
        if clip_id in seen:
            raise DataFormatError(path, f"clip id {clip_id!r} repeats line {seen[clip_id]}", number)
        seen[clip_id] = number
        rows.append((clip_id, fields[1], fields[2], number))
    if not rows:
        raise DataFormatError(path, "no rows")
    return rows


@register_dataset(
    description="LJ Speech 1.1 (13,100 clips, one speaker): (log-mel, waveform) segments, tail clips held out",
    builtin=False,
    file_format="ROOT/metadata.csv (id|transcription|normalized transcription, no header) + "
    "ROOT/wavs/<id>.wav (22,050 Hz mono 16-bit PCM)",
)
def ljspeech(
    *,
    path: str,
    seed: int = 0,
    segment_length: int = 7200,
    eval_segment_length: int | None = None,
    num_val: int = 50,
    num_test: int = 100,
    sample_rate: int = 22050,
    n_fft: int = 1024,
    win_length: int = 1024,
    hop_length: int = 300,
    n_mels: int = 80,
    f_min: float = 80.0,
    f_max: float | None = 8000.0,
) -> AudioSplits:
    """Read LJSpeech from ``path`` (the dataset folder or its ``metadata.csv``).

    Every WAV listed is checked when the dataset is built (it exists, is readable, is mono, has
    ``sample_rate``); the samples are read on demand. LJSpeech has no official split: the last ``num_test``
    rows are the test set, the ``num_val`` before them the validation set (file order), the rest training.
    The mel defaults are those of ``ivanvovk/WaveGrad`` (``configs/default.json``) that ``wavegrad_base`` takes.

    Args:
        path: the folder holding ``metadata.csv`` and ``wavs/``, or the ``metadata.csv`` file.
        seed: unused (the split is by file order); kept for the dataset interface.
        segment_length: training crop length (7,200 = 24 frames of hop 300, WaveGrad §5).
        eval_segment_length: centre-crop length of validation/test items (default ``segment_length``).
        num_val, num_test: held-out clips.
        sample_rate: the rate every WAV must have (22,050 Hz).
        n_fft, win_length, hop_length, n_mels, f_min, f_max: the :class:`MelSpectrogram`.
    """
    del seed
    root = Path(path)
    meta = root / "metadata.csv" if root.is_dir() else root
    rows = read_ljspeech_metadata(meta)
    if num_val < 0 or num_test < 0 or len(rows) <= num_val + num_test:
        raise ValueError(
            f"need 0 <= num_val, num_test and more than num_val + num_test = {num_val + num_test} clips "
            f"(got {num_val}, {num_test} and {len(rows)} clips in {meta})"
        )
    sf = _soundfile()
    clips: list[tuple[Path, int]] = []
    for clip_id, _text, _normalized, number in rows:
        wav = meta.parent / "wavs" / f"{clip_id}.wav"
        if not wav.is_file():
            raise DataFormatError(meta, f"wavs/{clip_id}.wav not found", number)
        try:
            info = sf.info(str(wav))
        except Exception as err:  # soundfile raises its own LibsndfileError (a RuntimeError) for unreadable files
            raise DataFormatError(wav, f"unreadable audio ({err}); listed on {meta.name} line {number}") from None
        if info.samplerate != sample_rate:
            raise DataFormatError(
                wav, f"sample rate {info.samplerate} Hz, expected {sample_rate} Hz; listed on {meta.name} line {number}"
            )
        if info.channels != 1:
            raise DataFormatError(wav, f"{info.channels} channels, expected mono; listed on {meta.name} line {number}")
        clips.append((wav, int(info.frames)))
    mel = _mel(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max)
    n_train = len(clips) - num_val - num_test
    eval_len = segment_length if eval_segment_length is None else eval_segment_length

    def segments(part: list[tuple[Path, int]], length: int, train: bool) -> WaveformSegments | TensorDataset:
        if not part:  # an empty held-out split (num_val or num_test 0) stays a valid, empty dataset
            return TensorDataset(torch.zeros(0, n_mels, length // hop_length), torch.zeros(0, length))
        return WaveformSegments(part, mel, segment_length=length, random_crop=train)

    train = segments(clips[:n_train], segment_length, True)
    val = segments(clips[n_train : n_train + num_val], eval_len, False)
    test = segments(clips[n_train + num_val :], eval_len, False)
    source = f"LJSpeech at {meta.parent}: {n_train} train / {num_val} val / {num_test} test clips, {sample_rate} Hz"
    return AudioSplits(train, val, test, mel, sample_rate, source)
