"""Classical models that the papers' experiments use as probes and baselines."""

from . import linear  # noqa: F401
