"""Datasets: built-in ones generated or read offline, and readers for the papers' file formats.

Every reader raises :class:`DataFormatError` naming the file, the line and what was wrong; nothing
is skipped silently.
"""

from . import audio, causal, ffhq, images, recsys, speech, tabular, toy2d, vctk, video  # noqa: F401  (registers datasets)
from .errors import DataFormatError

__all__ = ["DataFormatError"]
