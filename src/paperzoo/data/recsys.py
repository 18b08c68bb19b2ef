"""Sequential-recommendation data: the BERT4Rec papers' datasets, leave-one-out splits and a built-in generator.

Papers: Sun, Liu, Wu, Pei, Lin, Ou & Jiang, "BERT4Rec: Sequential Recommendation with Bidirectional
Encoder Representations from Transformer", CIKM 2019, arXiv:1904.06690 (reference implementation
github.com/FeiSun/BERT4Rec); Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018,
arXiv:1808.09781 (github.com/kang205/SASRec, whose ``data/DataProcessing.py`` produced the files
BERT4Rec's repository ships).

Preprocessing, as BERT4Rec §4.1 describes it:

1. Implicit feedback: every rating or review counts as one interaction (no rating threshold in the
   paper; ``min_rating`` offers one, off by default). Repeated user-item pairs are kept, as in the
   SASRec/BERT4Rec files.
2. Drop items with fewer than ``min_item_interactions`` interactions, then users with fewer than
   ``min_user_interactions`` (5, "we keep users with at least five feedbacks"). Each filter is applied
   once, not iterated to a k-core fixpoint; item counts are taken on the raw data, as SASRec's script
   does. The paper's text filters users only. Its Table 1 is not consistent about items: ML-1m has
   3,416 items (of 3,706 rated), which is SASRec's one-pass ``>= 5`` item filter, while ML-20m keeps all
   26,744 rated movies. The readers default to what reproduces Table 1 where the data settle it:
   ``ml_1m`` filters items with fewer than 5 interactions (6,040 users, 3,416 items, 999,611
   interactions), every other reader keeps all items. Table 1's "avg. length 163.5" for ML-1m is the
   mean length of the training part (sequence minus the last two items); the full mean is 165.5.
3. Sort each user's interactions by timestamp (stable: ties keep file order).
4. Remap ids: users to ``0..U-1`` and items to ``1..V`` in order of first appearance in the file
   (after filtering), as SASRec's script numbers them; 0 is padding and ``V + 1`` is BERT4Rec's
   [MASK]. (BERT4Rec's code renumbers items by frequency; the numbering does not change any result.)

Readers, one per published format, each selected with ``--data PATH`` (a file or its dataset folder):
MovieLens-1M ``ratings.dat``, MovieLens-20M ``ratings.csv``, MovieLens-100K ``u.data``, Amazon
``ratings_Beauty.csv`` and ``reviews_Beauty_5.json`` (strict JSON or Python-dict lines, plain or
``.gz``), Steam ``steam_reviews.json`` (the SASRec crawl, version 2 of McAuley's Steam data, which
BERT4Rec uses: one Python dict literal per line with ``username``, ``product_id`` and ``date``), and
RecBole atomic ``.inter`` files. Every malformed line raises :class:`DataFormatError` with the file,
the 1-based line and the offending value; nothing is skipped except blank lines.

Large delimited files are parsed in 32 MB blocks: a vectorised pass checks that each line has the
right number of separators and no stray whitespace, then ``np.fromstring`` converts the whole block;
any block that fails a check is re-read line by line, which finds and reports the bad line.

Left out: the official code's sliding-window training instances and its Cloze masking live in the
model/recipe, not here; the Beauty and Steam counts in Table 1 (40,226 x 54,542 and 281,428 x
13,044) come from preprocessing the paper does not describe, so ours differ.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..registry import register_dataset
from .errors import DataFormatError, require_file

__all__ = [
    "InteractionData",
    "LeaveOneOut",
    "RawInteractions",
    "build_interaction_data",
    "leave_one_out",
    "pad_left",
    "read_movielens_1m",
    "read_movielens_20m",
    "read_movielens_100k",
    "read_amazon_ratings_csv",
    "read_amazon_reviews_json",
    "read_steam_reviews",
    "read_recbole_inter",
    "generate_seq_groups",
    "seq_groups",
]

_BLOCK_BYTES = 32 << 20


# ---------------------------------------------------------------------------------------- containers


@dataclass
class InteractionData:
    """Time-ordered item sequences, one per user, with remapped ids.

    Attributes:
        user_sequences: one int64 array per user (user ``u`` is index ``u``), items in ``1..num_items``,
            oldest first.
        num_items: V; item ids run 1..V (0 = padding, V + 1 = [MASK]).
        user_ids: original id of each user, shape (U,).
        item_ids: original id of each item, shape (V,): ``item_ids[i]`` is item ``i + 1``.
        source: where the data came from (a path, or the generator and its arguments).
        info: extra facts, e.g. the generator's ground-truth groups.
    """

    user_sequences: list[np.ndarray]
    num_items: int
    user_ids: np.ndarray
    item_ids: np.ndarray
    source: str
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.user_ids) != len(self.user_sequences):
            raise ValueError(f"{len(self.user_ids)} user ids for {len(self.user_sequences)} sequences")
        if len(self.item_ids) != self.num_items:
            raise ValueError(f"{len(self.item_ids)} item ids for num_items={self.num_items}")

    @property
    def num_users(self) -> int:
        return len(self.user_sequences)

    @property
    def num_interactions(self) -> int:
        return int(sum(len(s) for s in self.user_sequences))

    def stats(self) -> dict[str, float]:
        """Users, items, interactions, mean sequence length and density (BERT4Rec Table 1's columns)."""
        n = self.num_interactions
        return {
            "users": self.num_users,
            "items": self.num_items,
            "interactions": n,
            "avg_length": n / max(self.num_users, 1),
            "density": n / max(self.num_users * self.num_items, 1),
        }


@dataclass
class LeaveOneOut:
    """Leave-one-out split (BERT4Rec §4.1): last item tests, second-to-last validates, the rest trains.

    BERT4Rec's code has no validation step: it trains on ``seq[:-1]`` (validation item included,
    i.e. ``test_history``) and reports the test item only. SASRec trains on ``seq[:-2]``.

    Attributes:
        train: ``seq[:-2]`` per user.
        val_history, val_target: ``seq[:-2]`` and ``seq[-2]`` (LongTensor (U,)).
        test_history, test_target: ``seq[:-1]`` and ``seq[-1]`` (LongTensor (U,)).
        num_items: V.
        item_counts: LongTensor (V + 1,), how often each item occurs in the full sequences (index 0 is
            0). This is what BERT4Rec's code samples popularity negatives from: its ``FreqVocab`` counts
            every user's train + validation + test items.
    """

    train: list[np.ndarray]
    val_history: list[np.ndarray]
    val_target: Tensor
    test_history: list[np.ndarray]
    test_target: Tensor
    num_items: int
    item_counts: Tensor

    @property
    def num_users(self) -> int:
        return len(self.train)


def leave_one_out(data: InteractionData) -> LeaveOneOut:
    """Split every sequence into train / validation / test by its last two items.

    Raises:
        ValueError: a user has fewer than 3 interactions (nothing would be left to train on).
    """
    seqs = data.user_sequences
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    short = np.flatnonzero(lengths < 3)
    if len(short):
        raise ValueError(
            f"leave-one-out needs at least 3 interactions per user; user {int(short[0])} has {int(lengths[short[0]])}"
        )
    flat = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
    counts = np.bincount(flat, minlength=data.num_items + 1)
    counts[0] = 0
    train = [s[:-2] for s in seqs]
    return LeaveOneOut(
        train=train,
        val_history=train,
        val_target=torch.from_numpy(np.array([s[-2] for s in seqs], dtype=np.int64)),
        test_history=[s[:-1] for s in seqs],
        test_target=torch.from_numpy(np.array([s[-1] for s in seqs], dtype=np.int64)),
        num_items=data.num_items,
        item_counts=torch.from_numpy(counts.astype(np.int64)),
    )


def pad_left(seqs: list[np.ndarray], max_len: int) -> Tensor:
    """Left-pad (with 0) and left-truncate sequences to ``max_len``: the newest item is in the last column.

    Returns:
        LongTensor (U, max_len).
    """
    if max_len <= 0:
        raise ValueError(f"max_len must be > 0 (got {max_len})")
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    out = np.zeros((len(seqs), max_len), dtype=np.int64)
    if lengths.sum() == 0:
        return torch.from_numpy(out)
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])
    kept = np.minimum(lengths, max_len)  # items each row keeps
    ends = np.cumsum(lengths)
    rows = np.repeat(np.arange(len(seqs)), kept)
    # j-th kept item of row r: source index ends[r] - kept[r] + j, column max_len - kept[r] + j
    j = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
    out[rows, np.repeat(max_len - kept, kept) + j] = flat[np.repeat(ends - kept, kept) + j]
    return torch.from_numpy(out)


# ---------------------------------------------------------------------------------------- raw table


@dataclass
class RawInteractions:
    """One row per interaction, in file order, ids factorised.

    ``users``/``items`` are int64 codes into ``user_ids``/``item_ids``, the file's own ids (int64 for
    MovieLens, str otherwise); ``timestamps`` float64 (seconds, or days for Steam's dates); ``ratings``
    float64 (NaN where a record has none) or None where the format has none.
    """

    users: np.ndarray
    items: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray
    ratings: np.ndarray | None
    path: Path

    def __len__(self) -> int:
        return len(self.users)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 codes and the distinct values; byte strings (the fast path's) come back as str."""
    uniq, inverse = np.unique(values, return_inverse=True)
    if uniq.dtype.kind == "S":
        uniq = np.array([u.decode("utf-8") for u in uniq.tolist()], dtype=str)
    return inverse.reshape(-1).astype(np.int64), uniq


def _renumber_by_first_appearance(codes: np.ndarray, num: int) -> tuple[np.ndarray, np.ndarray]:
    """New codes 0..K-1 in order of first appearance in ``codes``, and the old code of each new one."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    present, first = sorted_codes[starts], order[starts]
    old_of_new = present[np.argsort(first, kind="stable")]
    new_of_old = np.full(num, -1, dtype=np.int64)
    new_of_old[old_of_new] = np.arange(len(old_of_new))
    return new_of_old[codes], old_of_new


def build_interaction_data(
    raw: RawInteractions,
    *,
    min_user_interactions: int = 5,
    min_item_interactions: int = 0,
    min_rating: float | None = None,
) -> InteractionData:
    """Implicit feedback → filter → per-user timestamp sort → remapped sequences (module docstring, steps 1-4).

    Raises:
        DataFormatError: nothing is left after filtering, or ``min_rating`` on a format without ratings.
    """
    if min_user_interactions < 1:
        raise ValueError(f"min_user_interactions must be >= 1 (got {min_user_interactions})")
    if min_item_interactions < 0:
        raise ValueError(f"min_item_interactions must be >= 0 (got {min_item_interactions})")
    keep = np.ones(len(raw), dtype=bool)
    if min_rating is not None:
        if raw.ratings is None:
            raise DataFormatError(raw.path, f"min_rating={min_rating} given but this format has no ratings")
        keep &= raw.ratings >= min_rating
    # Items first, on counts over the (rating-filtered) raw data, then users on what is left.
    if min_item_interactions > 1:
        counts = np.bincount(raw.items[keep], minlength=len(raw.item_ids))
        keep &= counts[raw.items] >= min_item_interactions
    counts = np.bincount(raw.users[keep], minlength=len(raw.user_ids))
    keep &= counts[raw.users] >= min_user_interactions
    if not keep.any():
        raise DataFormatError(
            raw.path,
            f"no user has at least {min_user_interactions} interactions after filtering "
            f"(min_item_interactions={min_item_interactions}, min_rating={min_rating})",
        )
    user_code, user_old = _renumber_by_first_appearance(raw.users[keep], len(raw.user_ids))
    item_code, item_old = _renumber_by_first_appearance(raw.items[keep], len(raw.item_ids))
    # Stable sort by (user, time): ties in time keep file order.
    order = np.lexsort((raw.timestamps[keep], user_code))
    items_sorted = item_code[order] + 1
    counts = np.bincount(user_code, minlength=len(user_old))
    sequences = np.split(items_sorted, np.cumsum(counts)[:-1])
    user_ids, item_ids = raw.user_ids[user_old], raw.item_ids[item_old]
    return InteractionData(
        user_sequences=sequences,
        num_items=len(item_ids),
        user_ids=user_ids,
        item_ids=item_ids,
        source=str(raw.path),
    )


# ---------------------------------------------------------------------------------------- file access


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def _resolve(path: str | Path, candidates: tuple[str, ...], what: str) -> Path:
    """``path`` itself if it is a file, else the first of ``candidates`` inside the folder ``path``."""
    path = Path(path)
    if path.is_dir():
        for name in candidates:
            if (path / name).is_file():
                return path / name
        raise DataFormatError(path, f"no {what} in this folder (looked for {', '.join(candidates)})")
    return require_file(path, what)


def _line_blocks(fh: io.BufferedIOBase, first_line: int) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines (each ends with a newline) and the 1-based number of each block's first line."""
    rest, lineno = b"", first_line
    while True:
        data = fh.read(_BLOCK_BYTES)
        if not data:
            if rest:
                yield lineno, rest + b"\n"
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        block, rest = data[:cut], data[cut:]
        yield lineno, block
        lineno += block.count(b"\n")


def _decode(path: Path, raw: bytes, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start})", lineno) from None


# ---------------------------------------------------------------------------------------- delimited files


@dataclass(frozen=True)
class _Layout:
    """Where the user, item, timestamp and rating fields are in a delimited line."""

    sep: str
    ncols: int
    user: int
    item: int
    time: int
    rating: int | None
    numeric_ids: bool  # MovieLens: integer ids; otherwise ids are strings


def _fast_block(block: bytes, layout: _Layout) -> dict[str, np.ndarray] | None:
    """Vectorised parse of a block of lines, or None if any line might be malformed (the caller re-reads it)."""
    # 1. No whitespace inside a line except a tab separator; then every separator becomes one space, so
    #    a space marks a field boundary and a newline a line end. '\r' is allowed only before '\n'.
    inner = [b" ", b"\x0b", b"\x0c"] + ([] if layout.sep == "\t" else [b"\t"])
    if any(ch in block for ch in inner):
        return None
    if not layout.numeric_ids and not block.isascii():
        return None  # non-ASCII ids: decode line by line
    if b"\r" in block:
        if block.count(b"\r") != block.count(b"\r\n"):
            return None
        block = block.replace(b"\r\n", b"\n")
    text = block.replace(layout.sep.encode(), b" ")
    # 2. Exactly ncols - 1 separators on every non-blank line: walk the delimiters in file order.
    arr = np.frombuffer(text, dtype=np.uint8)
    delims = np.flatnonzero((arr == 32) | (arr == 10))
    ends = np.flatnonzero(arr[delims] == 10)  # index in `delims` of each line end
    per_line = np.diff(ends, prepend=-1) - 1  # separators on each line
    blank = per_line == 0
    if blank.any():
        newline = delims[ends[blank]]
        # a line with no separator must be empty (its newline follows the previous one or starts the block)
        prev = np.where(newline > 0, arr[np.maximum(newline - 1, 0)], 10)
        if (prev != 10).any():
            return None
    if (per_line[~blank] != layout.ncols - 1).any():
        return None
    rows = int((~blank).sum())
    if layout.numeric_ids:
        table = None
        with warnings.catch_warnings():
            # fromstring warns (a future ValueError) where a token is not a number: treat as "re-read".
            warnings.simplefilter("error")
            for dtype in (np.int64, np.float64):
                try:
                    values = np.fromstring(text, dtype=dtype, sep=" ")
                except (DeprecationWarning, ValueError):
                    continue
                if len(values) == rows * layout.ncols:
                    table = values.reshape(rows, layout.ncols)
                    break
        if table is None:
            return None
        if table.dtype == np.float64:
            ids = table[:, [layout.user, layout.item]]
            if not np.isfinite(table).all() or (ids != np.floor(ids)).any():
                return None
        users, items = table[:, layout.user].astype(np.int64), table[:, layout.item].astype(np.int64)
        times = table[:, layout.time].astype(np.float64)
        ratings = table[:, layout.rating].astype(np.float64) if layout.rating is not None else None
    else:
        tokens = text.split()
        if len(tokens) != rows * layout.ncols:
            return None
        users = np.array(tokens[layout.user :: layout.ncols])  # bytes ('S'); decoded once per distinct id
        items = np.array(tokens[layout.item :: layout.ncols])
        try:
            times = np.array(tokens[layout.time :: layout.ncols]).astype(np.float64)
            ratings = None
            if layout.rating is not None:
                ratings = np.array(tokens[layout.rating :: layout.ncols]).astype(np.float64)
        except ValueError:
            return None
        if not np.isfinite(times).all() or (ratings is not None and not np.isfinite(ratings).all()):
            return None
    return {"users": users, "items": items, "timestamps": times, "ratings": ratings}


def _number(path: Path, text: str, what: str, lineno: int, *, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise DataFormatError(path, f"{what} {text!r} is not {kind}", lineno) from None
    if not integer and not np.isfinite(value):
        raise DataFormatError(path, f"{what} {text!r} is not finite", lineno)
    return value


def _slow_block(path: Path, block: bytes, first_line: int, layout: _Layout) -> dict[str, np.ndarray]:
    """Line-by-line parse of a block; raises DataFormatError at the first malformed line."""
    users: list[Any] = []
    items: list[Any] = []
    times: list[float] = []
    ratings: list[float] = []
    for offset, raw in enumerate(block.split(b"\n")[:-1]):
        lineno = first_line + offset
        line = _decode(path, raw, lineno).rstrip("\r")
        if not line.strip():
            continue
        fields = line.split(layout.sep)
        if len(fields) != layout.ncols:
            raise DataFormatError(
                path, f"expected {layout.ncols} fields separated by {layout.sep!r}, got {len(fields)}: {line!r}", lineno
            )
        for name, col, out in (("user id", layout.user, users), ("item id", layout.item, items)):
            if layout.numeric_ids:
                out.append(_number(path, fields[col], name, lineno, integer=True))
            elif not fields[col]:
                raise DataFormatError(path, f"empty {name}: {line!r}", lineno)
            else:
                out.append(fields[col].encode("utf-8"))  # bytes, like the fast path's
        times.append(_number(path, fields[layout.time], "timestamp", lineno))
        if layout.rating is not None:
            ratings.append(_number(path, fields[layout.rating], "rating", lineno))
    id_type = np.int64 if layout.numeric_ids else bytes
    return {
        "users": np.array(users, dtype=id_type),
        "items": np.array(items, dtype=id_type),
        "timestamps": np.array(times, dtype=np.float64),
        "ratings": np.array(ratings, dtype=np.float64) if layout.rating is not None else None,
    }


def _read_delimited(path: Path, layout: _Layout, *, header_lines: int = 0) -> RawInteractions:
    parts = []
    with _open_binary(path) as fh:
        for _ in range(header_lines):
            fh.readline()
        for first_line, block in _line_blocks(fh, header_lines + 1):
            part = _fast_block(block, layout)
            parts.append(part if part is not None else _slow_block(path, block, first_line, layout))
    if sum(len(p["users"]) for p in parts) == 0:
        raise DataFormatError(path, "no interactions found")
    users, user_ids = _factorize(np.concatenate([p["users"] for p in parts]))
    items, item_ids = _factorize(np.concatenate([p["items"] for p in parts]))
    ratings = None if layout.rating is None else np.concatenate([p["ratings"] for p in parts])
    times = np.concatenate([p["timestamps"] for p in parts])
    return RawInteractions(users, items, user_ids, item_ids, times, ratings, path)


def _read_header(path: Path, what: str) -> str:
    with _open_binary(path) as fh:
        first = fh.readline()
    if not first.strip():
        raise DataFormatError(path, f"empty file or empty header line (expected {what})", 1)
    return _decode(path, first, 1).rstrip("\r\n")


# ---------------------------------------------------------------------------------------- readers


def read_movielens_1m(path: str | Path) -> RawInteractions:
    """MovieLens-1M ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp`` per line, no header."""
    path = _resolve(path, ("ratings.dat",), "MovieLens-1M ratings.dat")
    return _read_delimited(path, _Layout("::", 4, 0, 1, 3, 2, numeric_ids=True))


_ML20M_HEADER = "userId,movieId,rating,timestamp"


def read_movielens_20m(path: str | Path) -> RawInteractions:
    """MovieLens-20M (and 25M/latest) ``ratings.csv``: header ``userId,movieId,rating,timestamp``."""
    path = _resolve(path, ("ratings.csv",), "MovieLens ratings.csv")
    header = _read_header(path, _ML20M_HEADER)
    if header.replace(" ", "") != _ML20M_HEADER:
        raise DataFormatError(path, f"header {header!r} is not {_ML20M_HEADER!r}", 1)
    return _read_delimited(path, _Layout(",", 4, 0, 1, 3, 2, numeric_ids=True), header_lines=1)


def read_movielens_100k(path: str | Path) -> RawInteractions:
    """MovieLens-100K ``u.data``: ``user item rating timestamp``, tab-separated, no header."""
    path = _resolve(path, ("u.data",), "MovieLens-100K u.data")
    return _read_delimited(path, _Layout("\t", 4, 0, 1, 3, 2, numeric_ids=True))


def read_amazon_ratings_csv(path: str | Path) -> RawInteractions:
    """McAuley's Amazon "ratings only" csv (``ratings_Beauty.csv``): ``user,item,rating,timestamp``, no header."""
    path = _resolve(path, ("ratings_Beauty.csv",), "Amazon ratings csv")
    return _read_delimited(path, _Layout(",", 4, 0, 1, 3, 2, numeric_ids=False))


def _parse_record(path: Path, line: str, lineno: int) -> dict[str, Any]:
    """One JSON object, or (McAuley's older files) one Python dict literal; never ``eval``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        try:
            record = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            snippet = line if len(line) <= 80 else line[:77] + "..."
            raise DataFormatError(path, f"not a JSON object or Python dict literal: {snippet!r}", lineno) from None
    if not isinstance(record, dict):
        raise DataFormatError(path, f"expected an object, got {type(record).__name__}", lineno)
    return record


def _field(path: Path, record: dict[str, Any], key: str, lineno: int) -> Any:
    if key not in record:
        raise DataFormatError(path, f"missing key {key!r} (keys: {sorted(record)})", lineno)
    return record[key]


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank decoded lines with their 1-based numbers."""
    with _open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = _decode(path, raw, lineno).strip()
            if line:
                yield lineno, line


def read_amazon_reviews_json(path: str | Path) -> RawInteractions:
    """McAuley's Amazon review files (``reviews_Beauty_5.json``, ``reviews_Beauty.json.gz``): one record per line.

    Uses ``reviewerID`` (user), ``asin`` (item), ``unixReviewTime`` (seconds) and ``overall`` (rating,
    optional). Lines may be strict JSON or the older Python-dict-literal form.
    """
    path = _resolve(
        path,
        ("reviews_Beauty_5.json", "reviews_Beauty_5.json.gz", "reviews_Beauty.json", "reviews_Beauty.json.gz"),
        "Amazon review json",
    )
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    user_codes, item_codes, times, ratings = [], [], [], []
    for lineno, line in _text_lines(path):
        rec = _parse_record(path, line, lineno)
        user, item = _field(path, rec, "reviewerID", lineno), _field(path, rec, "asin", lineno)
        for name, value in (("reviewerID", user), ("asin", item)):
            if not isinstance(value, str) or not value:
                raise DataFormatError(path, f"{name} {value!r} is not a non-empty string", lineno)
        stamp = _field(path, rec, "unixReviewTime", lineno)
        if isinstance(stamp, bool) or not isinstance(stamp, int | float | str):
            raise DataFormatError(path, f"unixReviewTime {stamp!r} is not a number", lineno)
        times.append(_number(path, str(stamp), "unixReviewTime", lineno))
        ratings.append(_number(path, str(rec["overall"]), "overall", lineno) if "overall" in rec else np.nan)
        user_codes.append(users.setdefault(user, len(users)))
        item_codes.append(items.setdefault(item, len(items)))
    if not user_codes:
        raise DataFormatError(path, "no reviews found")
    return RawInteractions(
        np.array(user_codes, dtype=np.int64),
        np.array(item_codes, dtype=np.int64),
        np.array(list(users), dtype=str),
        np.array(list(items), dtype=str),
        np.array(times, dtype=np.float64),
        np.array(ratings, dtype=np.float64),
        path,
    )


# The Steam crawl writes every record with the same leading keys; a line in that layout is read with
# one regex (2-3 µs against ~90 µs for ast.literal_eval, which matters for 7.8M lines), any other line
# with ast.literal_eval.
_PYSTR = r"""('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_STEAM_LINE = re.compile(
    r"\{'username': " + _PYSTR + r", 'hours': [^,]*, 'products': [^,]*, 'product_id': " + _PYSTR + r", "
    r"'page_order': [^,]*, 'date': '(\d{4}-\d{2}-\d{2})'[,}]"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _py_string(literal: str) -> str:
    return ast.literal_eval(literal) if "\\" in literal else literal[1:-1]


def read_steam_reviews(path: str | Path) -> RawInteractions:
    """Steam reviews ``steam_reviews.json`` (Kang & McAuley's crawl; SASRec and BERT4Rec's Steam data).

    One Python dict literal per line, e.g. ``{'username': 'Chaos Syren', 'hours': 0.1, 'products': 41,
    'product_id': '725280', 'page_order': 0, 'date': '2017-12-17', 'text': '...', ...}``. User =
    ``username`` (every record has one; the numeric ``user_id`` appears only on some), item =
    ``product_id``, time = ``date`` as days since 1970-01-01 (same-day reviews keep file order).
    The older ``australian_user_reviews.json`` (one user with a list of reviews per line) is a
    different data set and is rejected with a message saying so.
    """
    path = _resolve(path, ("steam_reviews.json", "steam_reviews.json.gz"), "Steam steam_reviews.json")
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    user_codes, item_codes, dates, lines = [], [], [], []
    for lineno, line in _text_lines(path):
        m = _STEAM_LINE.match(line)
        if m is not None and line.endswith("}"):
            user, item, date = _py_string(m.group(1)), _py_string(m.group(2)), m.group(3)
        else:
            rec = _parse_record(path, line, lineno)
            if "reviews" in rec and "user_id" in rec and "username" not in rec:
                raise DataFormatError(
                    path,
                    "this is australian_user_reviews.json (Steam v1: one user, many reviews per line); "
                    "BERT4Rec uses steam_reviews.json (v2: one review per line)",
                    lineno,
                )
            user, item, date = (_field(path, rec, k, lineno) for k in ("username", "product_id", "date"))
            for name, value in (("username", user), ("product_id", item)):
                if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
                    raise DataFormatError(path, f"{name} {value!r} is not a non-empty string", lineno)
            user, item = str(user), str(item)
            if not isinstance(date, str) or not _DATE.fullmatch(date):
                raise DataFormatError(path, f"date {date!r} is not YYYY-MM-DD", lineno)
        user_codes.append(users.setdefault(user, len(users)))
        item_codes.append(items.setdefault(item, len(items)))
        dates.append(date)
        lines.append(lineno)
    if not user_codes:
        raise DataFormatError(path, "no reviews found")
    try:
        days = np.array(dates, dtype="datetime64[D]")
    except ValueError:
        for lineno, date in zip(lines, dates):
            try:
                np.datetime64(date, "D")
            except ValueError:
                raise DataFormatError(path, f"date {date!r} is not a valid calendar date", lineno) from None
        raise
    return RawInteractions(
        np.array(user_codes, dtype=np.int64),
        np.array(item_codes, dtype=np.int64),
        np.array(list(users), dtype=str),
        np.array(list(items), dtype=str),
        days.astype(np.int64).astype(np.float64),
        None,
        path,
    )


def read_recbole_inter(
    path: str | Path, *, user_field: str = "user_id", item_field: str = "item_id", time_field: str = "timestamp"
) -> RawInteractions:
    """RecBole atomic ``.inter`` file: tab-separated, a header of ``name:type`` fields, e.g.
    ``user_id:token	item_id:token	rating:float	timestamp:float``. Columns are found by name; a
    ``rating`` field, if present, is read as the rating.
    """
    path = Path(path)
    if path.is_dir():
        inters = sorted(path.glob("*.inter"))
        preferred = path / f"{path.name}.inter"
        if preferred.is_file():
            path = preferred
        elif len(inters) == 1:
            path = inters[0]
        else:
            raise DataFormatError(path, f"expected one .inter file in this folder, found {len(inters)}")
    else:
        require_file(path, "RecBole .inter file")
    header = _read_header(path, f"{user_field}:token\t{item_field}:token\t{time_field}:float")
    names = []
    for entry in header.split("\t"):
        name, sep, kind = entry.partition(":")
        if not sep or not name or kind not in ("token", "token_seq", "float", "float_seq"):
            raise DataFormatError(path, f"header field {entry!r} is not name:type (type token/float/...)", 1)
        names.append(name)
    cols = {}
    for want in (user_field, item_field, time_field):
        if want not in names:
            raise DataFormatError(path, f"header has no {want!r} field (fields: {names})", 1)
        cols[want] = names.index(want)
    rating = names.index("rating") if "rating" in names else None
    layout = _Layout("\t", len(names), cols[user_field], cols[item_field], cols[time_field], rating, numeric_ids=False)
    return _read_delimited(path, layout, header_lines=1)


# ---------------------------------------------------------------------------------------- registered datasets

_FILTER_DOC = "implicit feedback, users with >= 5 interactions, time-sorted, ids remapped"


@register_dataset(
    description=f"MovieLens-1M ratings ({_FILTER_DOC}; items with >= 5 interactions, as BERT4Rec Table 1)",
    builtin=False,
    file_format="ratings.dat: UserID::MovieID::Rating::Timestamp",
)
def ml_1m(
    *, path: str, min_user_interactions: int = 5, min_item_interactions: int = 5, min_rating: float | None = None
) -> InteractionData:
    return build_interaction_data(
        read_movielens_1m(path),
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
        min_rating=min_rating,
    )


@register_dataset(
    description=f"MovieLens-20M ratings ({_FILTER_DOC})",
    builtin=False,
    file_format="ratings.csv: header userId,movieId,rating,timestamp",
)
def ml_20m(
    *, path: str, min_user_interactions: int = 5, min_item_interactions: int = 0, min_rating: float | None = None
) -> InteractionData:
    return build_interaction_data(
        read_movielens_20m(path),
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
        min_rating=min_rating,
    )


@register_dataset(
    description=f"MovieLens-100K ratings ({_FILTER_DOC})",
    builtin=False,
    file_format="u.data: user<TAB>item<TAB>rating<TAB>timestamp",
)
def ml_100k(
    *, path: str, min_user_interactions: int = 5, min_item_interactions: int = 0, min_rating: float | None = None
) -> InteractionData:
    return build_interaction_data(
        read_movielens_100k(path),
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
        min_rating=min_rating,
    )


@register_dataset(
    description=f"Amazon Beauty (or any category) reviews/ratings ({_FILTER_DOC})",
    builtin=False,
    file_format="ratings_Beauty.csv (user,item,rating,time) or reviews_Beauty_5.json[.gz] (one record per line)",
)
def amazon_beauty(
    *, path: str, min_user_interactions: int = 5, min_item_interactions: int = 0, min_rating: float | None = None
) -> InteractionData:
    p = Path(path)
    if p.is_dir():
        p = _resolve(
            p,
            ("ratings_Beauty.csv", "reviews_Beauty_5.json", "reviews_Beauty_5.json.gz", "reviews_Beauty.json.gz"),
            "Amazon Beauty file",
        )
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    raw = read_amazon_ratings_csv(p) if name.endswith(".csv") else read_amazon_reviews_json(p)
    return build_interaction_data(
        raw,
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
        min_rating=min_rating,
    )


@register_dataset(
    description=f"Steam reviews, Kang & McAuley's crawl ({_FILTER_DOC})",
    builtin=False,
    file_format="steam_reviews.json[.gz]: one Python dict per line with username, product_id, date",
)
def steam(*, path: str, min_user_interactions: int = 5, min_item_interactions: int = 0) -> InteractionData:
    return build_interaction_data(
        read_steam_reviews(path),
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
    )


@register_dataset(
    description=f"a RecBole atomic .inter file ({_FILTER_DOC})",
    builtin=False,
    file_format=".inter: tab-separated, header user_id:token item_id:token timestamp:float ...",
)
def recbole_inter(
    *, path: str, min_user_interactions: int = 5, min_item_interactions: int = 0, min_rating: float | None = None
) -> InteractionData:
    return build_interaction_data(
        read_recbole_inter(path),
        min_user_interactions=min_user_interactions,
        min_item_interactions=min_item_interactions,
        min_rating=min_rating,
    )


# ---------------------------------------------------------------------------------------- built-in generator


def _zipf(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def generate_seq_groups(
    *,
    num_users: int = 1500,
    num_groups: int = 80,
    group_size: int = 4,
    num_noise_items: int = 80,
    min_length: int = 20,
    max_length: int = 50,
    follow_prob: float = 0.8,
    noise_prob: float = 0.15,
    zipf_exponent: float = 1.1,
    seed: int = 0,
) -> InteractionData:
    """User sequences with unordered item groups, group-to-group transitions and popular noise items.

    The notes' toner-and-cotton-pad example made into data. Items ``1..num_groups*group_size`` form
    ``num_groups`` groups (disjoint, ``group_size`` items each); the remaining ``num_noise_items`` are
    noise items with Zipf(``zipf_exponent``) popularity. A user:

    1. starts at a group drawn by group popularity (Zipf(0.8) over groups);
    2. emits all items of the current group in a uniformly random order — order inside a group carries
       no information, so which item is missing is told by the group mates on both sides;
    3. moves, with probability ``follow_prob``, to the group's fixed successor (a random cycle over the
       groups: the left-to-right transition), otherwise to a popularity-drawn group; groups are not
       revisited (a visited successor also triggers a random jump);
    4. before every group item, with probability ``noise_prob``, inserts a popularity-drawn noise item
       (no item occurs twice in a user's sequence);
    5. stops after a length drawn uniformly from ``[min_length, max_length]``, usually mid-group.

    The test target (last item) is thus mostly the next member of a partly seen group (one of the
    unseen mates, a left-context question) or the first item of the successor group; about 12% of
    targets are noise. A left-to-right model learns "x predicts mate y" only from visits where x came
    first; a Cloze model learns it from every visit in which y is masked, whichever side x is on,
    which is where BERT4Rec's edge has to come from at test time, when only the left context exists.
    Popularity sees only the noise items' skew and the group popularity. With the defaults, an
    oracle that knows the groups reaches NDCG@10 0.71 (full ranking) against popularity's 0.055.
    Caveat, measured with 2-layer d=64 stand-ins (not the registered models): a causal model
    trained with SASRec's loss picks the structure up within a few hundred steps (the last item alone
    names its group: a bigram shortcut through the residual stream), while a Cloze model, which must
    learn to attend from [MASK] to the mates, plateaus near popularity before it climbs, so short
    budgets favour SASRec (as Petrov & Macdonald 2022 found for BERT4Rec in general).

    ``info`` holds the ground truth: ``groups`` (num_groups, group_size) item ids, ``successor``
    (num_groups,), ``noise_items``.
    """
    for name, value in (("num_users", num_users), ("num_groups", num_groups), ("group_size", group_size)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1 (got {value})")
    if num_groups < 2:
        raise ValueError(f"num_groups must be >= 2 (got {num_groups})")
    if num_noise_items < 0:
        raise ValueError(f"num_noise_items must be >= 0 (got {num_noise_items})")
    if not 3 <= min_length <= max_length:
        raise ValueError(f"need 3 <= min_length <= max_length (got {min_length}, {max_length})")
    if max_length > num_groups * group_size:
        raise ValueError(
            f"max_length ({max_length}) exceeds the group items ({num_groups * group_size}); groups are not revisited"
        )
    for name, p in (("follow_prob", follow_prob), ("noise_prob", noise_prob)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1] (got {p})")
    if noise_prob > 0 and num_noise_items == 0:
        raise ValueError(f"noise_prob={noise_prob} needs num_noise_items > 0")
    rng = np.random.default_rng(seed)
    num_items = num_groups * group_size + num_noise_items
    # Random item ids, so that neither a group nor popularity rank is a block of consecutive ids.
    perm = rng.permutation(num_items) + 1
    groups = perm[: num_groups * group_size].reshape(num_groups, group_size)
    noise_items = perm[num_groups * group_size :]
    cycle = rng.permutation(num_groups)
    successor = np.empty(num_groups, dtype=np.int64)
    successor[cycle] = np.roll(cycle, -1)  # one cycle through all groups
    group_pop = _zipf(num_groups, 0.8)[np.argsort(rng.permutation(num_groups))]
    noise_pop = _zipf(num_noise_items, zipf_exponent) if num_noise_items else np.zeros(0)

    sequences = []
    for length in rng.integers(min_length, max_length + 1, size=num_users):
        visited = np.zeros(num_groups, dtype=bool)
        g = rng.choice(num_groups, p=group_pop)
        structured: list[np.ndarray] = []
        total = 0
        while total < length:
            visited[g] = True
            structured.append(rng.permutation(groups[g]))
            total += group_size
            nxt = successor[g]
            if visited[nxt] or rng.random() >= follow_prob:
                p = np.where(visited, 0.0, group_pop)
                nxt = rng.choice(num_groups, p=p / p.sum())
            g = nxt
        items = np.concatenate(structured)
        noisy = rng.random(len(items)) < noise_prob
        n_noise = min(int(noisy.sum()), num_noise_items)
        noise = rng.choice(noise_items, size=n_noise, replace=False, p=noise_pop) if n_noise else noise_items[:0]
        # Each noise item goes right before one of the flagged group items.
        slot = np.flatnonzero(noisy)[:n_noise]
        out = np.insert(items, slot, noise)
        sequences.append(out[:length].astype(np.int64))

    return InteractionData(
        user_sequences=sequences,
        num_items=num_items,
        user_ids=np.arange(num_users),
        item_ids=np.arange(1, num_items + 1),
        source=(
            f"seq_groups(num_users={num_users}, num_groups={num_groups}, group_size={group_size}, "
            f"num_noise_items={num_noise_items}, length={min_length}-{max_length}, follow_prob={follow_prob}, "
            f"noise_prob={noise_prob}, seed={seed})"
        ),
        info={"groups": groups, "successor": successor, "noise_items": noise_items},
    )


seq_groups = register_dataset(
    description="built-in: seeded user sequences of unordered item groups + group transitions + Zipf noise items",
    builtin=True,
    name="seq_groups",
)(generate_seq_groups)
