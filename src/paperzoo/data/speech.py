"""Built-in speech-like audio with known content and speakers: ``synth_speech``.

The VQ-VAE's speech experiments (van den Oord et al. 2017, §4.3: VCTK, 109 speakers) need audio whose content
(phoneme-like units, with their boundaries) and speaker are known, so that speaker conversion and a phoneme
probe of the latents can be scored. Real VCTK cannot ship with the package; this module synthesises it.

Units (:data:`UNITS`, 12 by default): five vowels and two nasals (voiced: harmonics of the speaker's pitch weighted by a
formant envelope of three Gaussian resonances F1-F3), a voiced fricative, three unvoiced fricatives (noise
shaped by a high-frequency envelope) and silence. A speaker (:class:`Speaker`) has a pitch f0, a formant scaling
(vocal-tract length), a spectral tilt and a breathiness (noise mixed into voiced units); speakers differ in all four,
so their timbre differs even at the same pitch. Synthesis is additive and vectorised over samples (numpy): per
sample, the unit's envelope is evaluated at every harmonic h · f0(t) (phase = h · 2π ∫ f0), plus 32 random-phase
sinusoids for noise, amplitudes evaluated every 4 ms and cross-faded over 5 ms.

:func:`render_speech` renders any per-sample unit sequence for any speaker, so the same content can be rendered
for a second speaker (the target of a speaker conversion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from ..registry import register_dataset

__all__ = ["UNITS", "Speaker", "SPEAKERS", "SpeechSplits", "random_unit_sequence", "render_speech", "synth_speech"]

# name, (F1, F2, F3) in Hz at formant scale 1, voiced gain, noise gain. Values are in the range of adult vowels.
UNITS: tuple[tuple[str, tuple[float, float, float], float, float], ...] = (
    ("sil", (500.0, 1500.0, 2500.0), 0.0, 0.0),
    ("a", (750.0, 1200.0, 2500.0), 1.0, 0.0),
    ("i", (280.0, 2250.0, 2900.0), 1.0, 0.0),
    ("u", (320.0, 800.0, 2300.0), 1.0, 0.0),
    ("e", (480.0, 1900.0, 2600.0), 1.0, 0.0),
    ("o", (500.0, 850.0, 2400.0), 1.0, 0.0),
    ("m", (250.0, 1100.0, 2200.0), 0.45, 0.0),
    ("n", (250.0, 1600.0, 2600.0), 0.45, 0.0),
    ("z", (250.0, 2500.0, 3400.0), 0.35, 0.5),
    ("s", (2600.0, 3300.0, 3800.0), 0.0, 1.0),
    ("sh", (1800.0, 2400.0, 3000.0), 0.0, 1.0),
    ("f", (1000.0, 2200.0, 3500.0), 0.0, 0.6),
)
_BANDWIDTHS = np.array([90.0, 130.0, 200.0])  # formant bandwidths (Hz), scaled with the formants
_FORMANT_GAINS = np.array([1.0, 0.7, 0.4])


@dataclass(frozen=True)
class Speaker:
    """A synthetic voice: pitch f0 (Hz), formant scaling, spectral tilt (amplitude ∝ f^-tilt), breathiness."""

    f0: float
    formant_scale: float
    tilt: float
    breath: float


SPEAKERS: tuple[Speaker, ...] = (
    Speaker(f0=105.0, formant_scale=0.86, tilt=0.9, breath=0.02),
    Speaker(f0=215.0, formant_scale=1.18, tilt=0.4, breath=0.15),
    Speaker(f0=140.0, formant_scale=1.0, tilt=1.3, breath=0.05),
    Speaker(f0=170.0, formant_scale=1.08, tilt=0.6, breath=0.3),
    Speaker(f0=120.0, formant_scale=0.93, tilt=0.5, breath=0.1),
    Speaker(f0=240.0, formant_scale=1.25, tilt=1.0, breath=0.05),
    Speaker(f0=95.0, formant_scale=0.8, tilt=0.7, breath=0.2),
    Speaker(f0=190.0, formant_scale=1.12, tilt=1.5, breath=0.0),
)


def _envelope(freq: np.ndarray, formants: np.ndarray, scale: float) -> np.ndarray:
    """Σ_j g_j exp(-(f - s F_j)² / (2 (s B_j)²)): freq (..., H), formants (..., 3) → (..., H)."""
    f = formants[..., None, :] * scale  # (..., 1, 3)
    bw = _BANDWIDTHS * scale
    return (_FORMANT_GAINS * np.exp(-0.5 * ((freq[..., None] - f) / bw) ** 2)).sum(-1)


def random_unit_sequence(
    rng: np.random.Generator,
    length: int,
    *,
    sample_rate: int,
    num_units: int = len(UNITS),
    min_ms: float = 50.0,
    max_ms: float = 130.0,
) -> np.ndarray:
    """Per-sample unit labels (length,) int64: units drawn uniformly (no immediate repeat), each lasting
    ``min_ms``-``max_ms``."""
    lo, hi = int(sample_rate * min_ms / 1000), int(sample_rate * max_ms / 1000)
    count = length // lo + 2
    durations = rng.integers(lo, hi + 1, size=count)
    units = np.empty(count, dtype=np.int64)
    units[0] = rng.integers(num_units)
    steps = rng.integers(1, num_units, size=count - 1)  # a non-zero shift: never the same unit twice in a row
    units[1:] = (units[0] + np.cumsum(steps)) % num_units
    return np.repeat(units, durations)[:length]


def render_speech(
    labels: np.ndarray,
    speaker: Speaker,
    *,
    sample_rate: int = 8000,
    rng: np.random.Generator | None = None,
    crossfade_ms: float = 5.0,
    frame: int = 32,
) -> np.ndarray:
    """Render per-sample unit labels (T,) for ``speaker``: float32 audio (T,) in [-1, 1].

    The pitch follows a slow random contour (±8% declination and a 5 Hz vibrato of 2%, drawn from ``rng``).
    Harmonic and noise amplitudes are evaluated once per ``frame`` samples (the unit's label at the frame start)
    and smoothed with a ``crossfade_ms`` moving average, which also cross-fades unit boundaries.
    """
    from scipy.ndimage import uniform_filter1d

    rng = rng if rng is not None else np.random.default_rng(0)
    t_len = len(labels)
    t = np.arange(t_len) / sample_rate
    table = np.array([u[1] for u in UNITS])  # (U, 3)
    voiced = np.array([u[2] for u in UNITS])
    noisy = np.array([u[3] for u in UNITS])
    f0 = speaker.f0 * (1 + rng.uniform(-0.08, 0.08) * t / max(t[-1], 1e-9) + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate  # (T,)
    nyquist = sample_rate / 2
    harmonics = np.arange(1, int(nyquist / (0.9 * speaker.f0)) + 1)  # (H,)
    # Amplitudes at frame rate: (F, H) harmonics, (F, 32) noise sinusoids.
    lab_f, f0_f = labels[::frame], f0[::frame]
    formants = table[lab_f]  # (F, 3)
    freq = f0_f[:, None] * harmonics  # (F, H)
    amp = _envelope(freq, formants, speaker.formant_scale) * harmonics ** (-speaker.tilt) * (freq < 0.95 * nyquist)
    nf = np.sort(rng.uniform(100, nyquist * 0.95, size=32))
    namp = _envelope(np.broadcast_to(nf, (len(lab_f), 32)), formants, speaker.formant_scale)
    amp = amp * voiced[lab_f, None]
    namp = namp * (noisy[lab_f] + speaker.breath * voiced[lab_f])[:, None] * 0.5
    width = max(1, int(sample_rate * crossfade_ms / 1000))
    amp = uniform_filter1d(np.repeat(amp, frame, axis=0)[:t_len], width, axis=0)  # (T, H)
    namp = uniform_filter1d(np.repeat(namp, frame, axis=0)[:t_len], width, axis=0)  # (T, 32)
    # float32 for the (T, H) products: they are most of the synthesis time.
    offsets = rng.uniform(0, 2 * np.pi, len(harmonics)).astype(np.float32)
    arg = phase.astype(np.float32)[:, None] * harmonics.astype(np.float32) + offsets
    wave = np.einsum("th,th->t", amp.astype(np.float32), np.sin(arg))
    narg = (2 * np.pi * t.astype(np.float32))[:, None] * nf.astype(np.float32) + rng.uniform(0, 2 * np.pi, 32).astype(
        np.float32
    )
    wave += np.einsum("tk,tk->t", namp.astype(np.float32), np.sin(narg))
    return np.clip(0.3 * wave, -1.0, 1.0).astype(np.float32)


@dataclass
class SpeechSplits:
    """Train/validation/test ``TensorDataset`` s of ``(audio (T,) float32, speaker () int64, units (T,) int64)``.

    Attributes:
        speakers: the voices (index = speaker id). unit_names: one name per unit label.
        sample_rate: in Hz. source: a one-line description.
    """

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    speakers: tuple[Speaker, ...]
    unit_names: list[str]
    sample_rate: int
    source: str
    seed: int

    def render(self, labels: Tensor, speakers: Tensor, *, seed: int = 0) -> Tensor:
        """Render per-sample unit labels (B, T) for speaker ids (B,): audio (B, T) float32."""
        rng = np.random.default_rng(seed)
        out = [
            render_speech(lab.numpy(), self.speakers[int(s)], sample_rate=self.sample_rate, rng=rng)
            for lab, s in zip(labels, speakers)
        ]
        return torch.from_numpy(np.stack(out))


@register_dataset(
    description="synthetic speech: 12 formant/noise units with per-sample labels, several synthetic speakers, 8 kHz",
    builtin=True,
)
def synth_speech(
    *,
    seed: int = 0,
    num_speakers: int = 4,
    num_units: int = len(UNITS),
    length: int = 4096,
    sample_rate: int = 8000,
    num_train: int = 384,
    num_val: int = 64,
    num_test: int = 128,
) -> SpeechSplits:
    """Seeded utterances of ``length`` samples: random unit sequences (50-130 ms per unit) spoken by speakers
    cycling through ids ``0..num_speakers-1`` (balanced in every split)."""
    if not 1 <= num_speakers <= len(SPEAKERS):
        raise ValueError(f"num_speakers must be in [1, {len(SPEAKERS)}] (got {num_speakers})")
    if not 2 <= num_units <= len(UNITS):
        raise ValueError(f"num_units must be in [2, {len(UNITS)}] (got {num_units})")
    if sample_rate < 4000 or length < 256:
        raise ValueError(f"need sample_rate >= 4000 and length >= 256 (got {sample_rate}, {length})")
    for name, value in (("num_train", num_train), ("num_val", num_val), ("num_test", num_test)):
        if value <= 0:
            raise ValueError(f"{name} must be positive (got {value})")
    rng = np.random.default_rng(seed)
    splits = []
    for n in (num_train, num_val, num_test):
        speakers = np.arange(n) % num_speakers
        rng.shuffle(speakers)
        labels = np.stack(
            [random_unit_sequence(rng, length, sample_rate=sample_rate, num_units=num_units) for _ in range(n)]
        )
        audio = np.stack(
            [render_speech(lab, SPEAKERS[s], sample_rate=sample_rate, rng=rng) for lab, s in zip(labels, speakers)]
        )
        splits.append(
            TensorDataset(torch.from_numpy(audio), torch.from_numpy(speakers).long(), torch.from_numpy(labels))
        )
    return SpeechSplits(
        *splits,
        speakers=SPEAKERS[:num_speakers],
        unit_names=[u[0] for u in UNITS[:num_units]],
        sample_rate=sample_rate,
        source=f"synthetic speech, {num_speakers} speakers, {num_units} units, {sample_rate} Hz, seed={seed}",
        seed=seed,
    )
