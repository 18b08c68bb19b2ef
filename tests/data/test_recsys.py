"""Recsys readers on fixtures in each published format, preprocessing, splits and the seq_groups generator."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from paperzoo.data import recsys
from paperzoo.data.errors import DataFormatError
from paperzoo.data.recsys import (
    InteractionData,
    build_interaction_data,
    generate_seq_groups,
    leave_one_out,
    pad_left,
    read_amazon_ratings_csv,
    read_amazon_reviews_json,
    read_movielens_1m,
    read_movielens_20m,
    read_movielens_100k,
    read_recbole_inter,
    read_steam_reviews,
)
from paperzoo.registry import create_dataset, get_dataset_entry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "recsys"

# Every fixture holds the same 15 interactions of 3 users (file order, t = time offset):
#   u1: i10@300 i20@100 i30@200 i40@200 i50@50 i60@400   (6, unsorted, a tie at 200)
#   u2: i20@100 i10@110 i30@120 i40@130                  (4: dropped by the 5-interaction filter)
#   u3: i30@50 i10@60 i40@70 i20@80 i50@90               (5)
# interleaved. Items number by first appearance among the kept rows: i10=1 i20=2 i30=3 i40=4 i50=5 i60=6.
# u1 sorted by time: i50 i20 i30 i40 (tie kept in file order) i10 i60.
EXPECTED_SEQUENCES = [[5, 2, 3, 4, 1, 6], [3, 1, 4, 2, 5]]

ML_USERS, ML_ITEMS = [7, 5], [1193, 661, 914, 3408, 2355, 1197]
AMAZON_USERS = ["A1YJEY40YUW4SE", "A3G6XNM240RMWA"]
AMAZON_ITEMS = ["0205616461", "0558925278", "0733001998", "0737104473", "0762451459", "1304139212"]

READERS = {
    "ml-1m": (read_movielens_1m, FIXTURES / "ml-1m", ML_USERS, ML_ITEMS),
    "ml-1m-file": (read_movielens_1m, FIXTURES / "ml-1m" / "ratings.dat", ML_USERS, ML_ITEMS),
    "ml-20m": (read_movielens_20m, FIXTURES / "ml-20m", ML_USERS, ML_ITEMS),
    "ml-100k": (read_movielens_100k, FIXTURES / "ml-100k" / "u.data", ML_USERS, ML_ITEMS),
    "amazon-csv": (read_amazon_ratings_csv, FIXTURES / "amazon", AMAZON_USERS, AMAZON_ITEMS),
    "amazon-json": (read_amazon_reviews_json, FIXTURES / "amazon", AMAZON_USERS, AMAZON_ITEMS),
    "amazon-dict": (
        read_amazon_reviews_json,
        FIXTURES / "amazon" / "reviews_dict_literal.json",
        AMAZON_USERS,
        AMAZON_ITEMS,
    ),
    "steam": (
        read_steam_reviews,
        FIXTURES / "steam",
        ["Chaos Syren", 'Don\'t "Panic"'],
        ["725280", "328100", "35140", "631920", "252490", "570"],
    ),
    "recbole": (
        read_recbole_inter,
        FIXTURES / "recbole",
        ["7", "5"],
        ["1193", "661", "914", "3408", "2355", "1197"],
    ),
}


def _seqs(data: InteractionData) -> list[list[int]]:
    return [s.tolist() for s in data.user_sequences]


@pytest.mark.parametrize("name", list(READERS))
def test_reader_gives_expected_sequences(name):
    reader, path, users, items = READERS[name]
    raw = reader(path)
    assert len(raw) == 15
    data = build_interaction_data(raw)
    assert _seqs(data) == EXPECTED_SEQUENCES
    assert data.user_ids.tolist() == users
    assert data.item_ids.tolist() == items
    assert (data.num_users, data.num_items, data.num_interactions) == (2, 6, 11)
    assert all(s.dtype == np.int64 for s in data.user_sequences)


def test_timestamps_ratings_and_steam_days():
    raw = read_movielens_20m(FIXTURES / "ml-20m")
    assert raw.timestamps[:3].tolist() == [978300300, 978300100, 978300100]
    assert raw.ratings[[2, 7, 12]].tolist() == [4.5, 3.5, 0.5]
    steam = read_steam_reviews(FIXTURES / "steam")
    assert steam.ratings is None
    # 2014-10-28 is day 16371 after 1970-01-01
    assert steam.timestamps[0] == 16371.0 and steam.timestamps[14] - steam.timestamps[3] == 40


def test_filters_and_rating_threshold():
    raw = read_movielens_1m(FIXTURES / "ml-1m")
    # items with < 2 interactions on the raw data: only i60 -> u1 keeps 5
    data = build_interaction_data(raw, min_item_interactions=2)
    assert _seqs(data) == [[5, 2, 3, 4, 1], [3, 1, 4, 2, 5]]
    assert data.item_ids.tolist() == ML_ITEMS[:5]
    # ratings >= 3: u1 keeps 5 (drops i30, rated 2), u3 keeps 3 -> dropped
    data = build_interaction_data(raw, min_rating=3)
    assert _seqs(data) == [[4, 2, 3, 1, 5]]
    assert data.item_ids.tolist() == [1193, 661, 3408, 2355, 1197]
    # users with >= 4: u2 comes back, numbered by first appearance (u1, u2, u3)
    data = build_interaction_data(raw, min_user_interactions=4)
    assert data.user_ids.tolist() == [7, 3, 5]
    assert _seqs(data)[1] == [2, 1, 3, 4]
    with pytest.raises(DataFormatError, match="has no ratings"):
        build_interaction_data(read_steam_reviews(FIXTURES / "steam"), min_rating=3)


def test_registered_readers_and_the_ml_1m_item_filter():
    for name, fmt in [("ml_1m", "::"), ("ml_20m", "userId"), ("ml_100k", "u.data"), ("amazon_beauty", "json")]:
        entry = get_dataset_entry(name)
        assert not entry.builtin and fmt in entry.file_format
    assert get_dataset_entry("seq_groups").builtin
    for name, path in [
        ("ml_20m", FIXTURES / "ml-20m"),
        ("ml_100k", FIXTURES / "ml-100k"),
        ("amazon_beauty", FIXTURES / "amazon"),
        ("amazon_beauty", FIXTURES / "amazon" / "reviews_Beauty_5.json"),
        ("steam", FIXTURES / "steam"),
        ("recbole_inter", FIXTURES / "recbole"),
    ]:
        assert _seqs(create_dataset(name, path=str(path))) == EXPECTED_SEQUENCES, name
    assert _seqs(create_dataset("ml_1m", path=str(FIXTURES / "ml-1m"), min_item_interactions=0)) == EXPECTED_SEQUENCES
    # ml_1m's default drops items with < 5 interactions (Table 1's 3,416 items); no fixture item has 5
    with pytest.raises(DataFormatError, match="no user has at least 5 interactions"):
        create_dataset("ml_1m", path=str(FIXTURES / "ml-1m"))


def test_gzip_crlf_and_blank_lines(tmp_path):
    for src, name in [("ml-1m/ratings.dat", "ratings.dat"), ("steam/steam_reviews.json", "steam_reviews.json")]:
        gz = tmp_path / f"{name}.gz"
        with open(FIXTURES / src, "rb") as fh, gzip.open(gz, "wb") as out:
            shutil.copyfileobj(fh, out)
        reader = read_movielens_1m if name == "ratings.dat" else read_steam_reviews
        assert _seqs(build_interaction_data(reader(gz))) == EXPECTED_SEQUENCES
    crlf = tmp_path / "ratings.csv"
    text = (FIXTURES / "ml-20m" / "ratings.csv").read_text().replace("\n", "\r\n")
    crlf.write_text(text + "\r\n\n", newline="")
    assert _seqs(build_interaction_data(read_movielens_20m(crlf))) == EXPECTED_SEQUENCES


def test_block_boundaries_do_not_change_the_parse(monkeypatch):
    whole = read_movielens_1m(FIXTURES / "ml-1m")
    monkeypatch.setattr(recsys, "_BLOCK_BYTES", 7)  # lines split across many blocks
    pieces = read_movielens_1m(FIXTURES / "ml-1m")
    for key in ("users", "items", "timestamps", "ratings"):
        np.testing.assert_array_equal(getattr(whole, key), getattr(pieces, key))


def _synthetic_ratings(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    u, i, r = rng.integers(1, 50, rows), rng.integers(1, 200, rows), rng.integers(1, 6, rows)
    t = rng.integers(956703932, 1046454590, rows)
    path.write_text("".join(f"{a}::{b}::{c}::{d}\n" for a, b, c, d in zip(u, i, r, t)))


def test_vectorised_path_equals_line_by_line_path(tmp_path):
    path = tmp_path / "ratings.dat"
    _synthetic_ratings(path, 3000)
    layout = recsys._Layout("::", 4, 0, 1, 3, 2, numeric_ids=True)
    block = path.read_bytes()
    fast = recsys._fast_block(block, layout)
    slow = recsys._slow_block(path, block, 1, layout)
    assert fast is not None
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key])
        assert fast[key].dtype == slow[key].dtype
    # string ids: the Amazon csv layout
    csv_layout = recsys._Layout(",", 4, 0, 1, 3, 2, numeric_ids=False)
    block = (FIXTURES / "amazon" / "ratings_Beauty.csv").read_bytes()
    fast, slow = recsys._fast_block(block, csv_layout), recsys._slow_block(path, block, 1, csv_layout)
    assert fast is not None
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key])


# ---------------------------------------------------------------- error paths name file, line and value


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _fixture_with(tmp_path: Path, fixture: str, line: int, replacement: str) -> Path:
    lines = (FIXTURES / fixture).read_text().splitlines(keepends=True)
    lines[line - 1] = replacement + "\n"
    return _write(tmp_path, Path(fixture).name, "".join(lines))


@pytest.mark.parametrize(
    "fixture, line, bad, reader, message",
    [
        ("ml-1m/ratings.dat", 9, "5::3408::4", read_movielens_1m, "expected 4 fields separated by '::', got 3"),
        ("ml-1m/ratings.dat", 4, "5::914::1::97830O050", read_movielens_1m, "timestamp '97830O050' is not a number"),
        ("ml-1m/ratings.dat", 2, "3::66x1::3::978300100", read_movielens_1m, "item id '66x1' is not an integer"),
        ("ml-1m/ratings.dat", 6, "5:1193::5::978300060", read_movielens_1m, "got 3"),
        ("ml-20m/ratings.csv", 5, "5,914,,978300050", read_movielens_20m, "rating '' is not a number"),
        ("ml-20m/ratings.csv", 3, "3,661,3.0,978300100,x", read_movielens_20m, "got 5"),
        ("ml-100k/u.data", 15, "5\t2355\t2\tnan", read_movielens_100k, "timestamp 'nan' is not finite"),
        ("ml-100k/u.data", 7, "3 1193\t4\t978300110", read_movielens_100k, "got 3"),
        ("amazon/ratings_Beauty.csv", 11, ",0762451459,5.0,1369699250", read_amazon_ratings_csv, "empty user id"),
        ("amazon/ratings_Beauty.csv", 8, "A1YJ,0737,3.0,May 28", read_amazon_ratings_csv, "'May 28' is not a number"),
        (
            "amazon/reviews_Beauty_5.json",
            3,
            '{"reviewerID": "A1YJEY40YUW4SE", "asin": "0558925278", "overall": 4.0, "unixRevi',
            read_amazon_reviews_json,
            "not a JSON object or Python dict literal",
        ),
        (
            "amazon/reviews_Beauty_5.json",
            12,
            '{"reviewerID": "A3G6XNM240RMWA", "overall": 3.0, "unixReviewTime": 1369699280}',
            read_amazon_reviews_json,
            "missing key 'asin'",
        ),
        (
            "amazon/reviews_dict_literal.json",
            5,
            "{'reviewerID': 'A1', 'asin': 'B2', 'unixReviewTime': 'yesterday'}",
            read_amazon_reviews_json,
            "unixReviewTime 'yesterday' is not a number",
        ),
        (
            "steam/steam_reviews.json",
            7,
            "{'username': 'hello', 'product_id': '725280', 'date': '21 April 2014'}",
            read_steam_reviews,
            "date '21 April 2014' is not YYYY-MM-DD",
        ),
        (
            "steam/steam_reviews.json",
            13,
            "{'username': 'hello', 'product_id': '631920', 'date': '2014-02-30'}",
            read_steam_reviews,
            "date '2014-02-30' is not a valid calendar date",
        ),
        (
            "steam/steam_reviews.json",
            10,
            "{'username': 'hello', 'hours': 1.1, 'product_id': '35140', 'date': '2014-05-01', 'text': 'Ok.'",
            read_steam_reviews,
            "not a JSON object or Python dict literal",
        ),
        (
            "steam/steam_reviews.json",
            1,
            "{'user_id': 'js41637', 'user_url': 'http://x', 'reviews': [{'item_id': '22200'}]}",
            read_steam_reviews,
            "australian_user_reviews.json",
        ),
        ("recbole/recbole.inter", 6, "914\t7\t2", read_recbole_inter, "expected 4 fields separated by '\\t', got 3"),
    ],
)
def test_malformed_line_names_file_line_and_value(tmp_path, fixture, line, bad, reader, message):
    path = _fixture_with(tmp_path, fixture, line, bad)
    with pytest.raises(DataFormatError) as err:
        reader(path)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)
    assert err.value.line == line and err.value.path == path


def test_error_in_a_later_block_has_the_right_line_number(tmp_path, monkeypatch):
    path = tmp_path / "ratings.dat"
    _synthetic_ratings(path, 2000)
    lines = path.read_text().splitlines(keepends=True)
    lines[1733] = "12::34::5::abc\n"
    path.write_text("".join(lines))
    monkeypatch.setattr(recsys, "_BLOCK_BYTES", 4096)
    with pytest.raises(DataFormatError, match=r"ratings.dat:1734: timestamp 'abc' is not a number"):
        read_movielens_1m(path)


def test_file_level_errors(tmp_path):
    with pytest.raises(DataFormatError, match="not found") as err:
        read_movielens_1m(tmp_path / "nowhere" / "ratings.dat")
    assert "nowhere/ratings.dat" in str(err.value)
    with pytest.raises(DataFormatError, match=r"no MovieLens-1M ratings.dat in this folder"):
        read_movielens_1m(tmp_path)
    header = _write(tmp_path, "ratings.csv", "user,movie,rating,time\n1,2,3.0,4\n")
    with pytest.raises(DataFormatError, match=r"ratings.csv:1: header 'user,movie,rating,time' is not"):
        read_movielens_20m(header)
    inter = _write(tmp_path, "x.inter", "user_id:token\titem_id:token\trating:float\n1\t2\t3\n")
    with pytest.raises(DataFormatError, match=r"x.inter:1: header has no 'timestamp' field"):
        read_recbole_inter(inter)
    inter = _write(tmp_path, "y.inter", "user_id\titem_id:token\ttimestamp:float\n")
    with pytest.raises(DataFormatError, match=r"y.inter:1: header field 'user_id' is not name:type"):
        read_recbole_inter(inter)
    latin = _write(tmp_path, "u.data", b"1\t2\t3\t4\n5\t6\t7\t8\n\xe9\t2\t3\t4\n")
    with pytest.raises(DataFormatError, match=r"u.data:3: not UTF-8"):
        read_movielens_100k(latin)
    empty = _write(tmp_path, "empty.dat", "\n\n")
    with pytest.raises(DataFormatError, match="no interactions found"):
        read_movielens_1m(empty)


# ---------------------------------------------------------------- splits and padding


def test_leave_one_out_and_item_counts():
    data = build_interaction_data(read_movielens_1m(FIXTURES / "ml-1m"))
    split = leave_one_out(data)
    assert [s.tolist() for s in split.train] == [[5, 2, 3, 4], [3, 1, 4]]
    assert split.val_history is split.train
    assert split.val_target.tolist() == [1, 2] and split.test_target.tolist() == [6, 5]
    assert [s.tolist() for s in split.test_history] == [[5, 2, 3, 4, 1], [3, 1, 4, 2]]
    # counts over the full sequences, as BERT4Rec's FreqVocab counts them; index 0 (padding) = 0
    assert split.item_counts.tolist() == [0, 2, 2, 2, 2, 2, 1]
    assert split.val_target.dtype == split.item_counts.dtype == torch.int64
    short = InteractionData([np.array([1, 2])], 2, np.array([0]), np.array([10, 20]), "x")
    with pytest.raises(ValueError, match="at least 3 interactions per user; user 0 has 2"):
        leave_one_out(short)


def test_pad_left_matches_a_loop():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 100, size=n) for n in [0, 1, 5, 7, 12, 3]]
    got = pad_left(seqs, 7)
    want = torch.zeros(len(seqs), 7, dtype=torch.long)
    for r, s in enumerate(seqs):
        tail = s[-7:]
        if len(tail):
            want[r, 7 - len(tail) :] = torch.from_numpy(tail)
    assert torch.equal(got, want)
    assert pad_left([np.zeros(0, dtype=np.int64)], 3).tolist() == [[0, 0, 0]]
    with pytest.raises(ValueError, match="max_len"):
        pad_left(seqs, 0)


# ---------------------------------------------------------------- the seq_groups generator


def test_seq_groups_structure():
    data = generate_seq_groups(num_users=300, seed=3)
    groups, successor, noise = data.info["groups"], data.info["successor"], data.info["noise_items"]
    group_of = np.full(data.num_items + 1, -1)
    for g, members in enumerate(groups):
        group_of[members] = g
    assert data.num_items == 400 and set(np.concatenate([groups.ravel(), noise])) == set(range(1, 401))
    # successor is one cycle through all groups
    g, seen = 0, set()
    for _ in range(len(successor)):
        seen.add(g)
        g = successor[g]
    assert g == 0 and len(seen) == len(successor)
    follows = jumps = 0
    for seq in data.user_sequences:
        assert 20 <= len(seq) <= 50 and len(set(seq.tolist())) == len(seq)  # no repeats
        structured = seq[group_of[seq] >= 0]
        blocks = [structured[i : i + 4] for i in range(0, len(structured), 4)]
        visited = [group_of[b[0]] for b in blocks]
        for b in blocks[:-1]:  # every complete block is exactly one group, in some order
            assert sorted(b.tolist()) == sorted(groups[group_of[b[0]]].tolist())
        assert set(group_of[blocks[-1]]) == {visited[-1]}  # the cut lands inside the last group
        for a, b in zip(visited, visited[1:]):
            follows += successor[a] == b
            jumps += successor[a] != b
    assert 0.75 < follows / (follows + jumps) < 0.9  # follow_prob 0.8 (+ random jumps that hit the successor)
    # noise: about 15% of the items, Zipf-skewed
    counts = np.bincount(np.concatenate(data.user_sequences), minlength=401)[noise]
    assert 0.1 < counts.sum() / data.num_interactions < 0.17
    assert counts.max() > 8 * np.median(counts)


def test_seq_groups_is_seeded_and_registered():
    a, b = generate_seq_groups(num_users=50, seed=1), generate_seq_groups(num_users=50, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a.user_sequences, b.user_sequences))
    c = create_dataset("seq_groups", num_users=50, seed=2)
    assert not all(np.array_equal(x, y) for x, y in zip(a.user_sequences, c.user_sequences))
    assert "seed=2" in c.source
    with pytest.raises(ValueError, match="follow_prob"):
        generate_seq_groups(follow_prob=1.5)
    with pytest.raises(ValueError, match="max_length"):
        generate_seq_groups(num_groups=5, max_length=50)
