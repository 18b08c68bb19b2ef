"""Model families, one sub-package per domain; importing this registers every variant."""

from . import classic  # noqa: F401
