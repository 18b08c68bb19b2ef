"""VQ-VAE on speech (van den Oord et al. 2017, §4.3): speaker conversion and a phoneme probe of the codes.

Paper: van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning", NeurIPS 2017,
arXiv:1711.00937, §4.3. Model: :class:`~paperzoo.models.generative.vqvae.AudioVQVAE` (six stride-2 window-4
convolutions, 64× fewer latents than samples, a WaveNet decoder conditioned on the latents and a speaker
embedding), trained on -log p(x | z_q, speaker) (256-way μ-law cross-entropy) + the quantiser's loss (Eq. 3).

Two measurements of what the codes hold, both made by :class:`AudioVQTask` at every evaluation:

- **Phoneme probe** (§4.3: "we mapped every of the 128 possible latent values to one of the 41 possible phoneme
  values (by taking the conditionally most likely phoneme). The accuracy of this 41-way classification was 49.3%,
  while a random latent space would result in an accuracy of 7.2% (prior most likely phoneme)"; their model ran at
  25 Hz, 640× downsampling). Every latent gets the ground-truth unit that covers most of its 64-sample window;
  every code is mapped to its most frequent unit on the training latents (:func:`majority_code_mapping`) and the
  test accuracy of that mapping is ``phoneme_accuracy``, the headline metric. Baseline: the most frequent
  training unit (the paper's 7.2%). Also reported: a linear probe (softmax regression) on the one-hot codes of the
  latent and its ±``task.probe_context`` neighbours (``linear_probe_accuracy``; the paper's footnote notes that
  n-grams of codes carry more), and ``real_unit_accuracy``, a classifier of the real audio's log-mel frames (what
  the audio itself allows).
- **Speaker conversion** (§4.3: "the latents are extracted from one speaker and then reconstructed through the
  decoder using a separate speaker id"). Test clips of speaker A are encoded and decoded by ancestral sampling
  (:func:`wavenet_generate`, an incremental WaveNet with per-layer histories, equal to the decoder's teacher-forced
  forward; every sample is drawn from the decoder's own past output, never from the real audio, at
  ``task.temperature``: 1 in the full config, 0.5 in the quick one, whose undertrained decoder's sampling noise at
  temperature 1 drowns the voice) with the embedding of a speaker B ≠ A (B = A + 1 + i mod (S - 1), every pair
  direction covered).
  A speaker classifier trained on the real training audio only (:class:`LinearClassifier` on the mean and standard
  deviation of each log-mel band; 92% on the quick config's real 0.25 s test clips) judges the result:
  ``target_speaker_accuracy`` is the fraction classified as B. Baselines in the same run: the same clips decoded
  with A's own embedding and classified as B (``own_speaker_as_target``, near 0 for a working model) and chance
  1 / S. Content: a frame-level unit classifier trained on real training audio (log-mel frames with ±2 frames of
  context) scores the converted audio against the source's unit labels (``conversion/unit_accuracy``, against the
  same classifier on the real clips and the majority unit); on synthetic speech the conversion is also compared by
  log-mel distance with the same unit sequence rendered for B and for A (``conversion/closer_to_target``: the
  fraction nearer B's rendering).

Quick config: ``synth_speech`` (8 synthetic speakers, 12 units, 8 kHz, 2,048-sample clips) and
``vqvae_audio_tiny`` with K = 32 and a WaveNet of dilations 1-64 (receptive field 128 samples, longer than every
speaker's pitch period of 33-84 samples, so the voice can carry through the pitch and not only the spectral
envelope; the tiny default's 16 samples cannot), EMA codebook with dead-code restarts (``task.restart_threshold``;
not in the paper, which used the codebook loss), trained for 1,000 steps on random 384-sample crops (6 latents).

Measured quick run (seed 0, 1,000 steps, one thread, about 60 s of CPU): ``phoneme_accuracy`` 0.38 against 0.074 for
the most frequent unit (the paper: 0.493 against 0.072 with 41 phonemes), linear probe on codes ±1 0.40, code
perplexity 23.7 of 32. Speaker conversion: converted clips are classified as the target speaker 0.33 of the time
against 0.10 for the same codes decoded with the source's own embedding and 0.125 chance (own-speaker decoding is
classified as the source 0.35 of the time; real clips 0.92); seed 1: 0.31 against 0.08, probe 0.39. The converted
audio is still far from clean: its unit accuracy (0.21) is well below real audio's (0.82) and it is not nearer in
log-mel distance to B's rendering of the same units than to A's (``closer_to_target`` 0.48), so the embedding moves
the voice statistics the speaker classifier reads (pitch, tilt, breath) more than it yields B's clean speech. What
made conversion measurable (the 300-step, 512-crop, temperature-1 run gave chance, 0.10, for both): more steps on
shorter crops (the decoder's NLL 6.1 → 5.3-5.5 bits per sample) and sampling at temperature 0.5 (at temperature 1
runs on 128-256-sample crops gave 0.13-0.31). Crops of 256 samples (4 latents) collapse the codebook for seed 1
(perplexity 1: the decoder predicts from its past alone), while conversion still works (0.21-0.27, the voice being
in the embedding); 384 keeps the codes (seed 1 perplexity 25). Shorter runs collapse the codebook (150 steps at 512:
perplexity 2, probe 0.18), and a restart threshold of 1.0 collapses it completely.

Full config: VCTK (``--data PATH`` of the published ``wav48/`` + ``txt/`` layout, :mod:`paperzoo.data.vctk`), 109
speakers, ``vqvae_audio`` (64×, K = 512). The paper gives no optimiser, batch size, step count or sample rate for its
audio models: 16 kHz, Adam 2e-4 (§4.1's image setting), batch 32 of 16,384-sample crops and 250k steps are ours,
unverified. VCTK has transcripts but no phoneme alignments, so the probe needs per-sample labels it does not have:
on VCTK ``phoneme_accuracy`` and its baseline are NaN (reported as not measured) and the conversion numbers are the
result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import vctk as _vctk  # noqa: F401  (registers the ``vctk`` dataset)
from ..data.audio import MelSpectrogram, write_wav
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import StepOutput, Task
from ..models.generative.vqvae import (
    VAN_DEN_OORD_2017,
    AudioVQVAE,
    WaveNetDecoder,
    mu_law_decode,
    mu_law_encode,
    perplexity,
)
from ..registry import create_dataset, create_model, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, PaperNumber, Recipe

__all__ = [
    "latent_labels",
    "majority_code_mapping",
    "code_context_features",
    "LinearClassifier",
    "fit_linear_classifier",
    "speaker_features",
    "frame_features",
    "conversion_targets",
    "wavenet_generate",
    "AudioVQTask",
    "VQVAEAudio",
]

QUICK = extend_config(
    BASE_CONFIG,
    {
        "model": {
            "name": "vqvae_audio_tiny",
            "kwargs": {
                "num_speakers": 8,
                "hidden_channels": 32,
                "embedding_dim": 16,
                "num_embeddings": 32,
                "residual_channels": 16,
                "skip_channels": 32,
                "dilations": [1, 2, 4, 8, 16, 32, 64],
                "ema": True,
            },
        },
        "data": {
            "name": "synth_speech",
            "path": None,
            "kwargs": {"num_speakers": 8, "length": 2048, "num_train": 256, "num_val": 16, "num_test": 48},
        },
        "optim": {"name": "adam", "lr": 3e-3, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 0, "min_lr_ratio": 0.0},
        "train": {
            "steps": 1000,
            "batch_size": 16,
            "eval_batch_size": 64,
            "eval_every": 1000,
            "ckpt_every": 1000,
            "log_every": 25,
            "grad_clip": 1.0,
        },
        "task": {
            "crop": 384,  # training crop in samples (a multiple of the 64× compression)
            "restart_threshold": 0.05,  # EMA dead-code restarts (0: off); not in the paper
            "probe_context": 1,
            "probe_samples": 4096,  # training clips encoded for the probes
            "classifier_clips": 4096,  # training clips for the speaker and unit classifiers
            "mel": {"n_fft": 512, "hop_length": 64, "n_mels": 64},
            "conversion_clips": 48,
            "temperature": 0.5,
            "eval_seed": 1234,
            "wav_files": 2,
        },
    },
)

# §4.3 VCTK: 109 speakers, 6 stride-2 window-4 convolutions (64×), K = 512. Optimiser, batch, steps, rate: ours.
FULL = extend_config(
    QUICK,
    {
        "model": {"name": "vqvae_audio", "kwargs": {}},
        "data": {"name": "vctk", "path": None, "kwargs": {"sample_rate": 16000, "segment_length": 16384}},
        "optim": {"name": "adam", "lr": 2e-4, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 0, "min_lr_ratio": 0.0},
        "train": {
            "steps": 250_000,
            "batch_size": 32,
            "eval_batch_size": 16,
            "eval_every": 25_000,
            "ckpt_every": 5_000,
            "log_every": 100,
            "grad_clip": 1.0,
        },
        "task": {
            "crop": 16384,
            "restart_threshold": 0.0,
            "classifier_clips": 20_000,
            "mel": {"n_fft": 1024, "hop_length": 256, "n_mels": 80},
            "conversion_clips": 32,
            "temperature": 1.0,  # plain ancestral sampling (the quick config's 0.5 is for its undertrained decoder)
            "wav_files": 4,
        },
    },
)


# ---------------------------------------------------------------------------------------------------------------
# Probes and classifiers
# ---------------------------------------------------------------------------------------------------------------


def latent_labels(units: Tensor, compression: int) -> Tensor:
    """The unit covering most of each latent's window: (B, T) per-sample labels → (B, T / compression).

    Windows whose samples are unlabelled (-1) get -1 (ties go to the smallest label, as :func:`torch.mode`).
    """
    if units.dim() != 2 or units.shape[1] % compression:
        raise ValueError(f"expected units (B, T) with T divisible by {compression}, got {tuple(units.shape)}")
    return torch.mode(units.reshape(units.shape[0], -1, compression), dim=-1).values


def majority_code_mapping(codes: Tensor, labels: Tensor, num_codes: int, num_labels: int) -> Tensor:
    """Each code's most frequent label (§4.3's "conditionally most likely phoneme"): (K,) long.

    Codes never seen map to the overall most frequent label. codes, labels: (N,) with labels in [0, num_labels).
    """
    table = torch.zeros(num_codes, num_labels, dtype=torch.long)
    table.index_put_((codes.long(), labels.long()), torch.ones_like(codes, dtype=torch.long), accumulate=True)
    overall = table.sum(0).argmax()
    return torch.where(table.sum(1) > 0, table.argmax(1), overall)


def code_context_features(codes: Tensor, num_codes: int, context: int) -> Tensor:
    """One-hot codes of each latent and its ±context neighbours (zeros past the ends): (B, L) → (B, L, (2c+1)·K)."""
    onehot = F.one_hot(codes.long(), num_codes).float()  # (B, L, K)
    padded = F.pad(onehot, (0, 0, context, context))
    length = codes.shape[1]
    return torch.cat([padded[:, i : i + length] for i in range(2 * context + 1)], dim=-1)


class LinearClassifier:
    """Softmax regression on standardised features (weights W (D + 1, C), the last row the bias)."""

    def __init__(self, mean: Tensor, std: Tensor, weight: Tensor) -> None:
        self.mean, self.std, self.weight = mean, std, weight

    def logits(self, x: Tensor) -> Tensor:
        z = (x.double() - self.mean) / self.std
        return z @ self.weight[:-1] + self.weight[-1]

    def predict(self, x: Tensor) -> Tensor:
        return self.logits(x).argmax(-1)


def fit_linear_classifier(
    x: Tensor, y: Tensor, num_classes: int, *, l2: float = 1e-4, max_iter: int = 200
) -> LinearClassifier:
    """Multinomial logistic regression (mean cross-entropy + l2 ‖W‖², bias free) by full-batch L-BFGS, float64.

    x: (N, D) features, y: (N,) labels in [0, num_classes).
    """
    if x.dim() != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise ValueError(f"expected x (N, D) and y (N,) with N > 0, got {tuple(x.shape)} and {tuple(y.shape)}")
    x = x.double()
    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    z = (x - mean) / std
    weight = torch.zeros(x.shape[1] + 1, num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z @ weight[:-1] + weight[-1], y.long()) + l2 * weight[:-1].pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return LinearClassifier(mean, std, weight.detach())


def speaker_features(mel: MelSpectrogram, audio: Tensor) -> Tensor:
    """Mean and standard deviation over time of every log-mel band: (B, T) → (B, 2 · n_mels)."""
    m = mel(audio.float())  # (B, n_mels, F)
    return torch.cat([m.mean(-1), m.std(-1)], dim=-1)


def frame_features(mel: MelSpectrogram, audio: Tensor, *, context: int = 2) -> Tensor:
    """Log-mel frames with ±context neighbours (edge-padded): (B, T) → (B, F, (2c+1) · n_mels), F = 1 + T // hop.

    Frame f is centred on sample f · hop (a centred STFT).
    """
    m = mel(audio.float()).transpose(1, 2)  # (B, F, n_mels)
    padded = F.pad(m.transpose(1, 2), (context, context), mode="replicate").transpose(1, 2)
    frames = m.shape[1]
    return torch.cat([padded[:, i : i + frames] for i in range(2 * context + 1)], dim=-1)


def frame_labels(units: Tensor, hop: int) -> Tensor:
    """The unit at each frame's centre sample: (B, T) → (B, 1 + T // hop) (the last frame takes the last sample)."""
    idx = (torch.arange(1 + units.shape[1] // hop) * hop).clamp(max=units.shape[1] - 1)
    return units[:, idx]


def conversion_targets(speakers: Tensor, num_speakers: int) -> Tensor:
    """A target speaker B ≠ A for each clip: B = A + 1 + (i mod (S - 1)) mod S, so every offset is used."""
    if num_speakers < 2:
        raise ValueError(f"speaker conversion needs at least 2 speakers (got {num_speakers})")
    offsets = 1 + torch.arange(len(speakers)) % (num_speakers - 1)
    return (speakers.long() + offsets) % num_speakers


# ---------------------------------------------------------------------------------------------------------------
# Fast ancestral sampling from the WaveNet decoder
# ---------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def wavenet_generate(
    decoder: WaveNetDecoder,
    latents: Tensor,
    speaker: Tensor,
    *,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    return_logits: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Sample audio from :class:`WaveNetDecoder` one step at a time, keeping every layer's past inputs.

    The same computation as ``decoder(audio, latents, speaker)`` evaluated causally: at step t each dilated
    convolution reads its layer's stored inputs at t - (k-1-j)·d (zeros before the start), the local and global
    conditioning of all steps is computed once, and x_t is drawn from softmax(logits_t / temperature) by inverting
    the CDF with a uniform from ``generator`` (CPU), so it runs on any device.

    Args:
        latents: (B, D, L) quantised latents. speaker: (B,) ids.

    Returns:
        audio (B, L · upsample) in [-1, 1]; with ``return_logits`` also the logits (B, 256, T) used at every step.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (got {temperature})")
    dec, k = decoder, decoder.kernel_size
    b, length = latents.shape[0], latents.shape[-1] * dec.upsample
    dtype, device = latents.dtype, latents.device
    cond = latents.repeat_interleave(dec.upsample, dim=-1)  # (B, D, T)
    spk = dec.speaker(speaker)  # (B, S)
    # Per layer: local + global conditioning for all steps (B, T, 2R) and the flattened filter (R·k, 2R).
    extra = [(loc(cond) + glob(spk)[..., None]).transpose(1, 2) for loc, glob in zip(dec.local, dec.glob)]
    filters = [f.weight.reshape(f.weight.shape[0], -1).t() for f in dec.filters]
    r = dec.input.out_channels
    pads = [(k - 1) * d for d in dec.dilations]
    hist = [torch.zeros(b, p + length, r, dtype=dtype, device=device) for p in pads]  # layer inputs, time-major
    past = torch.zeros(b, k - 1 + length + 1, dtype=dtype, device=device)  # x_{t-1} inputs, left-padded
    w_in = dec.input.weight[:, 0].t()  # (k, R)
    audio = torch.zeros(b, length, dtype=dtype, device=device)
    logits_all = (
        torch.zeros(b, dec.quantization_channels, length, dtype=dtype, device=device) if return_logits else None
    )
    uniforms = torch.rand(length, b, generator=generator, dtype=torch.float64).to(device)
    taps = [torch.arange(k, device=device) * d for d in dec.dilations]  # offsets within the padded history
    for t in range(length):
        # Input conv over x = audio shifted right by one: positions t-(k-1)..t of x = past[t .. t+k-1].
        x = past[:, t : t + k] @ w_in + dec.input.bias  # (B, R)
        skip = 0
        for i, filt in enumerate(dec.filters):
            hist[i][:, pads[i] + t] = x
            window = hist[i][:, t + taps[i]]  # (B, k, R): inputs at t - (k-1-j)·d, j = 0..k-1
            flat = window.permute(0, 2, 1).reshape(b, -1)  # (B, R·k) in the weight's (channel, tap) order
            h = flat @ filters[i] + filt.bias + extra[i][:, t]  # (B, 2R)
            f, g = h.chunk(2, dim=1)
            y = torch.tanh(f) * torch.sigmoid(g)
            skip = skip + F.linear(y, dec.skips[i].weight[..., 0], dec.skips[i].bias)
            if i < len(dec.residuals):
                x = x + F.linear(y, dec.residuals[i].weight[..., 0], dec.residuals[i].bias)
        hidden = F.relu(F.linear(F.relu(skip), dec.out1.weight[..., 0], dec.out1.bias))
        logits = F.linear(hidden, dec.out2.weight[..., 0], dec.out2.bias)  # (B, 256)
        if logits_all is not None:
            logits_all[:, :, t] = logits
        cdf = torch.softmax(logits.double() / temperature, dim=-1).cumsum(-1)
        code = (cdf < uniforms[t][:, None]).sum(-1).clamp(max=dec.quantization_channels - 1)
        sample = mu_law_decode(code, dec.quantization_channels).to(dtype)
        audio[:, t] = sample
        past[:, k - 1 + t + 1] = sample
    return (audio, logits_all) if return_logits else audio


# ---------------------------------------------------------------------------------------------------------------
# Task
# ---------------------------------------------------------------------------------------------------------------


class AudioVQTask(Task):
    """Trains :class:`AudioVQVAE` on random crops; evaluates the likelihood, the probes and speaker conversion.

    Batches are ``(audio (B, T), speaker (B,), units (B, T))`` with units -1 where unlabelled.

    Args:
        probe_set: training clips ``(audio, speaker, units)`` (tensors) for the code → unit mapping and linear probe.
        speaker_clf, unit_clf: classifiers fitted on real training audio (:func:`speaker_features`,
            :func:`frame_features`); unit_clf may be None (no labels).
        mel: the features of both classifiers.
        num_speakers, num_units: label ranges (num_units 0: no unit labels).
        crop: training crop (samples). renderer: ``render(units, speakers)`` of synthetic data, else None.
    """

    def __init__(
        self,
        probe_set: tuple[Tensor, Tensor, Tensor],
        *,
        speaker_clf: LinearClassifier,
        unit_clf: LinearClassifier | None,
        mel: MelSpectrogram,
        num_speakers: int,
        num_units: int,
        crop: int,
        probe_context: int = 1,
        conversion_clips: int = 32,
        temperature: float = 1.0,
        eval_seed: int = 1234,
        renderer: Any = None,
    ) -> None:
        if crop < 1 or probe_context < 0 or conversion_clips < 0:
            raise ValueError(
                f"need crop >= 1, probe_context >= 0, conversion_clips >= 0 "
                f"(got {crop}, {probe_context}, {conversion_clips})"
            )
        self.probe_set, self.speaker_clf, self.unit_clf, self.mel = probe_set, speaker_clf, unit_clf, mel
        self.num_speakers, self.num_units, self.crop = num_speakers, num_units, crop
        self.probe_context, self.conversion_clips = probe_context, conversion_clips
        self.temperature, self.eval_seed, self.renderer = temperature, eval_seed, renderer
        self.last: dict[str, Any] = {}

    def _crop(self, audio: Tensor, units: Tensor, multiple: int) -> tuple[Tensor, Tensor]:
        length = min(self.crop, audio.shape[1]) // multiple * multiple
        slack = audio.shape[1] - length
        start = int(torch.randint(0, slack // multiple + 1, ()).item()) * multiple if slack else 0
        return audio[:, start : start + length], units[:, start : start + length]

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        audio, speaker, units = batch
        audio, _ = self._crop(audio, units, model.compression)
        out = model(audio, speaker)
        nll = F.cross_entropy(out.logits, _mu_law_targets(model, audio))
        return StepOutput(nll + out.vq_loss, {"nll": nll.item(), "perplexity": float(out.perplexity)})

    # -------------------------------------------------------------- evaluation pieces
    @torch.no_grad()
    def _encode(self, model: AudioVQVAE, audio: Tensor, batch: int = 64) -> Tensor:
        device = next(model.parameters()).device
        return torch.cat([model.encode(a.to(device)).cpu() for a in audio.split(batch)])

    @torch.no_grad()
    def probes(self, model: AudioVQVAE, test_codes: Tensor, test_units: Tensor) -> dict[str, float]:
        """The majority mapping and the linear probe, fitted on the training clips, scored on the test latents."""
        k, c = model.quantizer.num_embeddings, model.compression
        audio, _, units = self.probe_set
        train_codes = self._encode(model, audio)
        train_lab, test_lab = latent_labels(units, c), latent_labels(test_units, c)
        keep_tr, keep_te = train_lab >= 0, test_lab >= 0
        if self.num_units == 0 or not keep_tr.any() or not keep_te.any():
            nan = float("nan")
            return {"phoneme_accuracy": nan, "majority_accuracy": nan, "linear_probe_accuracy": nan}
        mapping = majority_code_mapping(train_codes[keep_tr], train_lab[keep_tr], k, self.num_units)
        acc = float((mapping[test_codes[keep_te]] == test_lab[keep_te]).double().mean())
        majority = torch.bincount(train_lab[keep_tr], minlength=self.num_units).argmax()
        maj_acc = float((test_lab[keep_te] == majority).double().mean())
        ctx = self.probe_context
        clf = fit_linear_classifier(
            code_context_features(train_codes, k, ctx)[keep_tr], train_lab[keep_tr], self.num_units, l2=1e-3
        )
        pred = clf.predict(code_context_features(test_codes, k, ctx)[keep_te])
        lin = float((pred == test_lab[keep_te]).double().mean())
        return {"phoneme_accuracy": acc, "majority_accuracy": maj_acc, "linear_probe_accuracy": lin}

    def _unit_accuracy(self, audio: Tensor, units: Tensor) -> float:
        if self.unit_clf is None:
            return float("nan")
        feats, labels = frame_features(self.mel, audio), frame_labels(units, self.mel.hop_length)
        keep = labels >= 0
        if not keep.any():
            return float("nan")
        return float((self.unit_clf.predict(feats[keep]) == labels[keep]).double().mean())

    @torch.no_grad()
    def conversion(self, model: AudioVQVAE, audio: Tensor, speaker: Tensor, units: Tensor) -> dict[str, float]:
        """Decode clips with another speaker's embedding (and with their own) and classify the results."""
        n = min(self.conversion_clips, len(audio))
        if n == 0 or self.num_speakers < 2:
            return {}
        audio, speaker, units = audio[:n], speaker[:n].long(), units[:n]
        target = conversion_targets(speaker, self.num_speakers)
        device = next(model.parameters()).device
        latents = model.quantize(audio.to(device)).quantized
        g = torch.Generator().manual_seed(self.eval_seed)
        both = wavenet_generate(
            model.decoder,
            torch.cat([latents, latents]),
            torch.cat([target, speaker]).to(device),
            generator=g,
            temperature=self.temperature,
        ).cpu()
        converted, own = both[:n], both[n:]
        pred_conv = self.speaker_clf.predict(speaker_features(self.mel, converted))
        pred_own = self.speaker_clf.predict(speaker_features(self.mel, own))
        pred_real = self.speaker_clf.predict(speaker_features(self.mel, audio))
        out = {
            "target_speaker_accuracy": float((pred_conv == target).double().mean()),
            "own_speaker_as_target": float((pred_own == target).double().mean()),
            "own_speaker_accuracy": float((pred_own == speaker).double().mean()),
            "converted_as_source": float((pred_conv == speaker).double().mean()),
            "real_speaker_accuracy": float((pred_real == speaker).double().mean()),
            "chance_speaker_accuracy": 1.0 / self.num_speakers,
            "conversion/unit_accuracy": self._unit_accuracy(converted, units),
            "conversion/own_unit_accuracy": self._unit_accuracy(own, units),
            "real_unit_accuracy": self._unit_accuracy(audio, units),
        }
        if self.renderer is not None and (units >= 0).all():
            as_target, as_source = self.renderer(units, target), self.renderer(units, speaker)
            m_conv, m_t, m_s = (self.mel(x.float()) for x in (converted, as_target, as_source))
            d_t = (m_conv - m_t).pow(2).mean((1, 2))
            d_s = (m_conv - m_s).pow(2).mean((1, 2))
            out["conversion/mel_distance_to_target"] = float(d_t.mean())
            out["conversion/mel_distance_to_source"] = float(d_s.mean())
            out["conversion/closer_to_target"] = float((d_t < d_s).double().mean())
        self.last = {"audio": audio, "converted": converted, "own": own, "speaker": speaker, "target": target}
        return out

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        audios, speakers, units, nll, count = [], [], [], 0.0, 0
        codes = []
        for audio, speaker, unit in batches:
            out = model(audio, speaker)
            nll += float(F.cross_entropy(out.logits, _mu_law_targets(model, audio), reduction="sum"))
            count += audio.numel()
            codes.append(out.indices.cpu())
            audios.append(audio.cpu())
            speakers.append(speaker.cpu())
            units.append(unit.cpu())
        audio, speaker, unit, code = torch.cat(audios), torch.cat(speakers), torch.cat(units), torch.cat(codes)
        counts = torch.bincount(code.flatten(), minlength=model.quantizer.num_embeddings)
        metrics = {
            "nll_bits_per_sample": nll / max(count, 1) / math.log(2),
            "perplexity": float(perplexity(counts)),
            "usage": float((counts > 0).double().mean()),
        }
        metrics.update(self.probes(model, code, unit))
        metrics.update(self.conversion(model, audio, speaker, unit))
        return metrics


def _mu_law_targets(model: AudioVQVAE, audio: Tensor) -> Tensor:
    return mu_law_encode(audio, model.decoder.quantization_channels)


# ---------------------------------------------------------------------------------------------------------------
# Recipe
# ---------------------------------------------------------------------------------------------------------------


def _tensors(dataset: Any, limit: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(audio (N, T), speaker (N,), units (N, T)) of the first ``limit`` items of a speech dataset."""
    from ..engine.trainer import eval_batches

    n = len(dataset) if limit is None else min(limit, len(dataset))
    if hasattr(dataset, "tensors"):
        return tuple(t[:n] for t in dataset.tensors)  # type: ignore[return-value]
    parts = list(eval_batches(torch.utils.data.Subset(dataset, range(n)), 64))
    return tuple(torch.cat([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]


class VQVAEAudio(Recipe):
    """The speech VQ-VAE: phoneme probe of the codes and speaker conversion, judged by classifiers of real audio."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        data_cfg, task_cfg = config["data"], config["task"]
        kwargs = dict(data_cfg.get("kwargs") or {})
        if data_cfg.get("path") is not None:
            kwargs["path"] = data_cfg["path"]
        splits = create_dataset(data_cfg["name"], seed=int(config["seed"]), **kwargs)
        if not all(hasattr(splits, a) for a in ("train", "test", "speakers", "sample_rate")):
            raise ConfigError(f"recipe {self.name!r} needs a speech dataset (got data.name={data_cfg['name']!r})")
        num_speakers = len(splits.speakers)
        model = create_model(config["model"]["name"], **dict(config["model"]["kwargs"]))
        if not isinstance(model, AudioVQVAE):
            raise ConfigError(f"model.name must be an audio VQ-VAE (got {config['model']['name']!r})")
        if model.num_speakers < num_speakers:  # more embeddings than speakers is harmless (a VCTK subset)
            raise ConfigError(
                f"model.kwargs.num_speakers={model.num_speakers} but data {data_cfg['name']!r} has {num_speakers} "
                f"speakers; set model.kwargs.num_speakers={num_speakers}"
            )
        threshold = float(task_cfg["restart_threshold"])
        if threshold > 0:  # AudioVQVAE does not expose it; its EMA quantiser reads the attribute at every update
            if not hasattr(model.quantizer, "restart_threshold"):
                raise ConfigError("task.restart_threshold needs an EMA quantiser (model.kwargs.ema=true)")
            model.quantizer.restart_threshold = threshold
        crop = int(task_cfg["crop"])
        if crop % model.compression:
            raise ConfigError(f"task.crop must be a multiple of {model.compression} (got {crop})")
        mel_cfg = dict(task_cfg["mel"])
        mel = MelSpectrogram(
            splits.sample_rate,
            int(mel_cfg["n_fft"]),
            hop_length=int(mel_cfg["hop_length"]),
            win_length=int(mel_cfg["n_fft"]),
            n_mels=int(mel_cfg["n_mels"]),
            f_max=splits.sample_rate / 2,
        )
        # Classifiers of real audio (they never see the model): speaker from band statistics, unit from frames.
        audio, speaker, units = _tensors(splits.train, int(task_cfg["classifier_clips"]))
        speaker_clf = fit_linear_classifier(speaker_features(mel, audio), speaker, num_speakers, l2=1e-3)
        num_units = len(getattr(splits, "unit_names", []) or [])
        unit_clf = None
        if num_units and (units >= 0).any():
            feats, labels = frame_features(mel, audio), frame_labels(units, mel.hop_length)
            keep = labels >= 0
            unit_clf = fit_linear_classifier(feats[keep], labels[keep], num_units, l2=1e-3, max_iter=100)
        task = AudioVQTask(
            _tensors(splits.train, int(task_cfg["probe_samples"])),
            speaker_clf=speaker_clf,
            unit_clf=unit_clf,
            mel=mel,
            num_speakers=num_speakers,
            num_units=num_units,
            crop=crop,
            probe_context=int(task_cfg["probe_context"]),
            conversion_clips=int(task_cfg["conversion_clips"]),
            temperature=float(task_cfg["temperature"]),
            eval_seed=int(task_cfg["eval_seed"]),
            renderer=getattr(splits, "render", None),
        )
        info = {"data": splits.source, "splits": splits, "sample_rate": splits.sample_rate}
        return Experiment(model, task, splits.train, splits.val, splits.test, info=info)

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        # The paper's "prior most likely phoneme": the most frequent training unit, scored on the test latents.
        task: AudioVQTask = exp.task  # type: ignore[assignment]
        compression = exp.model.compression
        train = latent_labels(task.probe_set[2], compression)
        test = latent_labels(_tensors(exp.test_set)[2], compression)
        train, test = train[train >= 0], test[test >= 0]
        if task.num_units == 0 or not len(train) or not len(test):
            return float("nan")  # no unit labels (VCTK): the probe is not measured
        return float((test == torch.bincount(train, minlength=task.num_units).argmax()).double().mean())

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        m = test_metrics
        pct = lambda v: None if v is None or not math.isfinite(v) else round(100 * v, 1)  # noqa: E731
        probe = {
            "columns": ["unit classifier", "test accuracy (%)"],
            "rows": [
                ["code → most frequent unit (the paper's protocol)", pct(m.get("phoneme_accuracy"))],
                [
                    f"linear probe on one-hot codes ±{config['task']['probe_context']}",
                    pct(m.get("linear_probe_accuracy")),
                ],
                ["most frequent unit (baseline)", pct(m.get("majority_accuracy"))],
                ["log-mel frames of the real audio (reference)", pct(m.get("real_unit_accuracy"))],
                ["paper (VCTK, 128 codes at 25 Hz → 41 phonemes; majority)", "49.3 (7.2)"],
            ],
        }
        conv = {
            "columns": ["decoded with", "classified as target B (%)", "as source A (%)", "unit accuracy (%)"],
            "rows": [
                [
                    "target speaker B (conversion)",
                    pct(m.get("target_speaker_accuracy")),
                    pct(m.get("converted_as_source")),
                    pct(m.get("conversion/unit_accuracy")),
                ],
                [
                    "own speaker A (baseline)",
                    pct(m.get("own_speaker_as_target")),
                    pct(m.get("own_speaker_accuracy")),
                    pct(m.get("conversion/own_unit_accuracy")),
                ],
                ["real audio of A", 0.0, pct(m.get("real_speaker_accuracy")), pct(m.get("real_unit_accuracy"))],
                ["chance", pct(m.get("chance_speaker_accuracy")), pct(m.get("chance_speaker_accuracy")), None],
            ],
        }
        last = exp.task.last if isinstance(exp.task, AudioVQTask) else {}
        if run_dir is not None and last:
            rate = int(exp.info["sample_rate"])
            for i in range(min(int(config["task"]["wav_files"]), len(last["audio"]))):
                a, b = int(last["speaker"][i]), int(last["target"][i])
                write_wav(run_dir / "audio" / f"clip{i}_speaker{a}.wav", last["audio"][i], rate)
                write_wav(run_dir / "audio" / f"clip{i}_speaker{a}_as{b}.wav", last["converted"][i], rate)
                write_wav(run_dir / "audio" / f"clip{i}_speaker{a}_decoded.wav", last["own"][i], rate)
        metrics = {}
        if math.isfinite(m.get("phoneme_accuracy", float("nan"))) and m.get("majority_accuracy"):
            metrics["probe_gain_over_majority"] = m["phoneme_accuracy"] / m["majority_accuracy"]
        return Finish(metrics=metrics, tables={"phoneme probe (test latents)": probe, "speaker conversion": conv})


register_recipe(
    VQVAEAudio(
        name="vqvae_speech",
        system="VQ-VAE",
        paper=VAN_DEN_OORD_2017,
        model="vqvae_audio",
        metric="phoneme_accuracy",
        higher_is_better=True,
        baseline="the most frequent training unit for every latent (the paper's 'prior most likely phoneme')",
        claim="codes mapped to their most frequent unit recognise the test units far above the majority unit, and "
        "decoding with another speaker's embedding makes a classifier of real voices hear that speaker",
        configs={"quick": QUICK, "full": FULL},
        paper_number=PaperNumber(
            value=0.493,
            protocol="VCTK, 128 codes at 25 Hz (640× downsampling) mapped to their most likely of 41 phonemes; "
            "the most likely phoneme alone: 7.2%",
            source="van den Oord et al. 2017, §4.3",
        ),
    )
)
