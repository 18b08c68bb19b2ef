"""Model families, one sub-package per domain; importing this registers every variant."""

from . import classic, generative, recsys, video, vision  # noqa: F401
