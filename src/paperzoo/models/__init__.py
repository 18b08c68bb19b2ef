"""Model families, one sub-package per domain; importing this registers every variant."""

from . import classic, recsys, vision  # noqa: F401
