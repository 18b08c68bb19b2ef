from __future__ import annotations

from pathlib import Path

__all__ = ["DataFormatError", "require_file"]


class DataFormatError(ValueError):
    """A data file that is missing or not in the expected format.

    The message reads ``FILE:LINE: reason`` (or ``FILE: reason`` when no line applies).
    """

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = Path(path), line, reason


def require_file(path: str | Path, what: str = "data file") -> Path:
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, f"{what} not found")
    if not path.is_file():
        raise DataFormatError(path, f"{what} is not a file")
    return path
