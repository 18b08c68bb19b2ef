"""VCTK (CSTR VCTK Corpus 0.80, 109 English speakers): the published folder layout, read lazily.

The VQ-VAE's speech experiments (van den Oord et al. 2017, §4.3) train on VCTK with a speaker-conditioned decoder.
Layout of the release (https://datashare.ed.ac.uk/handle/10283/2651, "VCTK-Corpus")::

    ROOT/speaker-info.txt                    ID  AGE  GENDER  ACCENTS  REGION (header), one speaker per line
    ROOT/wav48/p225/p225_001.wav             48 kHz mono 16-bit PCM, one folder per speaker
    ROOT/txt/p225/p225_001.txt               the prompt read in that utterance

``speaker-info.txt`` lists ids without the ``p`` in release 0.80 (``225  23  F    English    Southern  England``)
and with it in 0.92 (``p225 ...``); both are read. A speaker folder absent from it gets no metadata (0.80 has
speakers whose row or text is missing, e.g. p315's transcripts), and a WAV without a transcript gets None: both
are documented gaps of the release, not format errors. Everything else that does not fit is a
:class:`~paperzoo.data.errors.DataFormatError` naming the file (and line): an unreadable or multi-channel WAV, a
file in a speaker folder that is not ``<speaker>_<utt>.wav``, a malformed speaker-info row, a non-UTF-8 or empty
transcript.

Items are ``(audio (T,) float32 in [-1, 1], speaker () int64, units (T,) int64)``: crops of ``segment_length``
samples resampled to ``sample_rate`` (polyphase, :func:`scipy.signal.resample_poly`); ``units`` is all -1 because
VCTK has transcripts but no time alignments (the recipe's phoneme probe is not measured on it). Random crops for
training (torch's global RNG, which runs checkpoint), centre crops for evaluation; short clips are zero-padded.
The split is per speaker (seeded): ``val_fraction`` and ``test_fraction`` of each speaker's utterances.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..registry import register_dataset
from .audio import _soundfile
from .errors import DataFormatError, require_file

__all__ = ["SpeakerInfo", "VCTKClips", "VCTKSplits", "read_speaker_info", "read_transcript", "vctk"]

_ROW = re.compile(r"^(?P<id>p?\d+|s\d+)\s+(?P<age>\d+)\s+(?P<gender>[MF])\s+(?P<accent>\S+)\s*(?P<region>.*)$")


@dataclass(frozen=True)
class SpeakerInfo:
    """One row of ``speaker-info.txt`` (id with the ``p`` prefix, as the folders)."""

    speaker: str
    age: int
    gender: str
    accent: str
    region: str


def read_speaker_info(path: str | Path) -> dict[str, SpeakerInfo]:
    """Parse ``speaker-info.txt``: a header line starting with ``ID``, then ``ID AGE GENDER ACCENTS [REGION...]``.

    Ids are returned with a ``p`` prefix (``225`` → ``p225``). Raises DataFormatError with the line for a
    missing header, a malformed row or a repeated id.
    """
    path = require_file(path, "VCTK speaker-info.txt")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not lines or not lines[0].split() or lines[0].split()[0].upper() != "ID":
        raise DataFormatError(path, "expected the header 'ID  AGE  GENDER  ACCENTS  REGION'", 1)
    out: dict[str, SpeakerInfo] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        m = _ROW.match(line.strip())
        if m is None:
            raise DataFormatError(path, f"expected 'ID AGE GENDER(M/F) ACCENT [REGION]' (got {line.strip()!r})", number)
        sid = m["id"] if m["id"][0] in "ps" else f"p{m['id']}"
        if sid in out:
            raise DataFormatError(path, f"speaker {sid} listed twice", number)
        out[sid] = SpeakerInfo(sid, int(m["age"]), m["gender"], m["accent"], m["region"].strip())
    if not out:
        raise DataFormatError(path, "no speaker rows")
    return out


def read_transcript(path: str | Path) -> str:
    """The prompt of one utterance (``txt/<speaker>/<utt>.txt``), stripped; empty or non-UTF-8 is an error."""
    path = require_file(path, "VCTK transcript")
    try:
        text = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as err:
        raise DataFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not text:
        raise DataFormatError(path, "empty transcript")
    return text


class VCTKClips(Dataset):
    """Fixed-length crops of VCTK WAVs, resampled to ``sample_rate`` when read.

    Args:
        clips: ``(path, frames, native rate, speaker index)`` per utterance.
        sample_rate: output rate. segment_length: output samples per item.
        random_crop: a uniform random start (training) or the centre crop (evaluation).

    Items:
        ``(audio (segment_length,) float32, speaker () int64, units (segment_length,) int64 all -1)``.
    """

    def __init__(
        self, clips: Sequence[tuple[Path, int, int, int]], *, sample_rate: int, segment_length: int, random_crop: bool
    ) -> None:
        if segment_length < 1 or sample_rate < 1:
            raise ValueError(f"need segment_length, sample_rate >= 1 (got {segment_length}, {sample_rate})")
        self.clips, self.sample_rate = list(clips), sample_rate
        self.segment_length, self.random_crop = segment_length, random_crop

    def __len__(self) -> int:
        return len(self.clips)

    def _read(self, i: int) -> np.ndarray:
        from scipy.signal import resample_poly

        path, frames, rate, _ = self.clips[i]
        g = math.gcd(self.sample_rate, rate)
        up, down = self.sample_rate // g, rate // g
        need = math.ceil(self.segment_length * down / up)  # native samples for one output segment
        slack = max(frames - need, 0)
        start = int(torch.randint(0, slack + 1, ()).item()) if self.random_crop else slack // 2
        data, _ = _soundfile().read(str(path), start=start, stop=min(start + need, frames), dtype="float32")
        x = resample_poly(data, up, down).astype(np.float32) if (up, down) != (1, 1) else data
        out = np.zeros(self.segment_length, dtype=np.float32)
        out[: min(len(x), self.segment_length)] = np.clip(x[: self.segment_length], -1.0, 1.0)
        return out

    def get_batch(self, idx: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        """``(audio (B, L), speaker (B,), units (B, L))`` for item indices ``idx``."""
        audio = torch.from_numpy(np.stack([self._read(int(i)) for i in idx]))
        speaker = torch.tensor([self.clips[int(i)][3] for i in idx], dtype=torch.long)
        return audio, speaker, torch.full(audio.shape, -1, dtype=torch.long)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        audio, speaker, units = self.get_batch([i])
        return audio[0], speaker[0], units[0]


@dataclass
class VCTKSplits:
    """Train/validation/test :class:`VCTKClips` and the corpus metadata.

    Attributes:
        speakers: speaker ids (folder names), index = speaker label. speaker_info: rows of speaker-info.txt.
        transcripts: utterance id → prompt (None where the release has no text).
        unit_names: empty (no per-sample labels). sample_rate: of the items. source: a description.
    """

    train: VCTKClips
    val: VCTKClips
    test: VCTKClips
    speakers: list[str]
    speaker_info: dict[str, SpeakerInfo]
    transcripts: dict[str, str | None]
    sample_rate: int
    source: str
    unit_names: list[str] = field(default_factory=list)


def _wav_root(root: Path) -> Path:
    for name in ("wav48", "wav48_silence_trimmed"):
        if (root / name).is_dir():
            return root / name
    raise DataFormatError(root, "no wav48/ folder (expected ROOT/wav48/<speaker>/<speaker>_<utt>.wav)")


@register_dataset(
    description="CSTR VCTK 0.80 (109 speakers): speaker-labelled speech crops, per-speaker seeded split",
    builtin=False,
    file_format="ROOT/wav48/<spk>/<spk>_<utt>.wav (mono PCM) + ROOT/txt/<spk>/<spk>_<utt>.txt + "
    "ROOT/speaker-info.txt (ID AGE GENDER ACCENTS REGION)",
)
def vctk(
    *,
    path: str,
    seed: int = 0,
    sample_rate: int = 16000,
    segment_length: int = 16384,
    val_fraction: float = 0.02,
    test_fraction: float = 0.05,
) -> VCTKSplits:
    """Read the VCTK corpus folder ``path`` (holding ``wav48/``, ``txt/`` and ``speaker-info.txt``).

    Every WAV is checked when the dataset is built (readable, mono); samples are read on demand.

    Args:
        path: the corpus root.
        seed: the per-speaker utterance shuffle of the split.
        sample_rate: the items' rate (16 kHz; the files are 48 kHz).
        segment_length: samples per item at ``sample_rate``.
        val_fraction, test_fraction: of each speaker's utterances (at least one test utterance per speaker
            with three or more; validation likewise when its fraction is > 0).
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1) (got {value})")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1 (got {val_fraction + test_fraction})")
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "VCTK folder not found (expected a directory)")
    info_path = root / "speaker-info.txt"
    info = read_speaker_info(info_path) if info_path.exists() else {}
    wav_root = _wav_root(root)
    speakers = sorted(p.name for p in wav_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not speakers:
        raise DataFormatError(wav_root, "no speaker folders")
    sf = _soundfile()
    rng = np.random.default_rng(seed)
    parts: list[list[tuple[Path, int, int, int]]] = [[], [], []]
    transcripts: dict[str, str | None] = {}
    for label, speaker in enumerate(speakers):
        utterances = []
        for wav in sorted((wav_root / speaker).iterdir()):
            if wav.name.startswith("."):
                continue
            if not wav.is_file() or wav.suffix.lower() != ".wav" or not wav.stem.startswith(f"{speaker}_"):
                raise DataFormatError(wav, f"expected only {speaker}_<utt>.wav files in the speaker folder")
            try:
                meta = sf.info(str(wav))
            except Exception as err:  # soundfile's LibsndfileError for unreadable files
                raise DataFormatError(wav, f"unreadable audio ({err})") from None
            if meta.channels != 1:
                raise DataFormatError(wav, f"{meta.channels} channels, expected mono")
            if meta.frames == 0:
                raise DataFormatError(wav, "no samples")
            txt = root / "txt" / speaker / f"{wav.stem}.txt"
            transcripts[wav.stem] = read_transcript(txt) if txt.exists() else None
            utterances.append((wav, int(meta.frames), int(meta.samplerate), label))
        if not utterances:
            raise DataFormatError(wav_root / speaker, "speaker folder has no WAV files")
        order = rng.permutation(len(utterances))
        n = len(utterances)
        n_test = max(1, round(n * test_fraction)) if n >= 3 and test_fraction > 0 else 0
        n_val = max(1, round(n * val_fraction)) if n >= 3 and val_fraction > 0 else 0
        for j, k in enumerate(order):
            split = 2 if j < n_test else 1 if j < n_test + n_val else 0
            parts[split].append(utterances[k])
    make = lambda clips, train: VCTKClips(  # noqa: E731
        clips, sample_rate=sample_rate, segment_length=segment_length, random_crop=train
    )
    source = (
        f"VCTK at {root}: {len(speakers)} speakers, {len(parts[0])} train / {len(parts[1])} val / {len(parts[2])} "
        f"test utterances, {segment_length}-sample crops at {sample_rate} Hz"
    )
    return VCTKSplits(
        make(parts[0], True),
        make(parts[1], False),
        make(parts[2], False),
        speakers=speakers,
        speaker_info=info,
        transcripts=transcripts,
        sample_rate=sample_rate,
        source=source,
    )
