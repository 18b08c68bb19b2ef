"""Video data: the moving-shapes set (single frames at chance, motion decodable from flow), clip transforms against
per-frame slicing, frame-sampling schemes against their closed forms, and the four readers on real video fixtures
(tests/fixtures/video/make.py) whose grey level encodes the frame index, so decoded clips prove which frames were read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from paperzoo.data import DataFormatError
from paperzoo.data.flow import horn_schunck_flow
from paperzoo.data.transforms import RandomCrop, TenCrop, ToFloat
from paperzoo.data.video import (
    MOTION_CLASSES,
    DenseSampler,
    RandomShortSideScale,
    SegmentSampler,
    ThreeCrop,
    VideoCenterCrop,
    VideoHorizontalFlip,
    VideoNormalize,
    VideoRandomCrop,
    VideoRandomResizedCrop,
    VideoTenCrop,
    dense_clip_indices,
    hmdb51,
    kinetics400,
    moving_shapes,
    read_video,
    render_moving_shapes,
    slowfast_frame_indices,
    something_something_v2,
    tsn_segment_indices,
    ucf101,
    uniform_clip_indices,
    video_eval_transform,
    x3d_clip_indices,
)
from paperzoo.models.video.slowfast import pack_pathways

FIXTURES = Path(__file__).parents[1] / "fixtures" / "video"


# ---------------------------------------------------------------------------------------------- moving shapes
def _ridge_probe(x_train, y_train, x_test, y_test, lam: float) -> tuple[float, float]:
    """A linear probe: ridge regression onto one-hot targets (dual form), accuracy on (train, test)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    onehot = torch.nn.functional.one_hot(y_train, len(MOTION_CLASSES)).double()
    coef = torch.linalg.solve(a @ a.T + lam * torch.eye(len(a), dtype=a.dtype), onehot - onehot.mean(0))
    w = a.T @ coef
    return (
        ((a @ w).argmax(1) == y_train).double().mean().item(),
        ((b @ w).argmax(1) == y_test).double().mean().item(),
    )


def test_moving_shapes_splits_are_balanced_seeded_and_uint8() -> None:
    a = moving_shapes(train_size=40, val_size=20, test_size=20, num_frames=4)
    b = moving_shapes(train_size=40, val_size=20, test_size=20, num_frames=4)
    assert a.train.videos.shape == (40, 3, 4, 32, 32) and a.train.videos.dtype == torch.uint8
    assert torch.equal(a.train.videos, b.train.videos) and torch.equal(a.test.labels, b.test.labels)
    assert torch.bincount(a.train.labels, minlength=10).tolist() == [4] * 10
    assert a.num_classes == 10 and a.class_names == list(MOTION_CLASSES) and a.num_frames == 4
    c = moving_shapes(seed=1, train_size=40, val_size=20, test_size=20, num_frames=4)
    assert not torch.equal(a.train.videos, c.train.videos)
    x, y = a.train.get_batch([0, 3])
    assert x.dtype == torch.float32 and x.shape == (2, 3, 4, 32, 32) and torch.equal(y, a.train.labels[[0, 3]])
    torch.testing.assert_close(x, a.train.videos[[0, 3]].float() / 255)


def test_moving_shapes_motion_follows_the_label() -> None:
    """The per-frame states (from which the pixels are drawn) move as the class says."""
    labels = torch.arange(10)
    _, st = render_moving_shapes(labels, num_frames=8, generator=torch.Generator().manual_seed(0), return_states=True)
    step = lambda v: torch.remainder(v[:, 1] - v[:, 0] + 16, 32) - 16  # noqa: E731  (torus difference)
    dx, dy, dang, dr = (
        step(st["x"]),
        step(st["y"]),
        st["angle"][:, 1] - st["angle"][:, 0],
        st["radius"][:, 1] / st["radius"][:, 0],
    )
    k = {c: i for i, c in enumerate(MOTION_CLASSES)}
    assert dx[k["move_left"]] < -0.5 and dx[k["move_right"]] > 0.5
    assert dy[k["move_up"]] < -0.5 and dy[k["move_down"]] > 0.5
    assert dang[k["rotate_clockwise"]] > 0.1 and dang[k["rotate_anticlockwise"]] < -0.1
    assert dr[k["grow"]] > 1.02 and dr[k["shrink"]] < 0.98
    still = k["stay_still"]
    assert max(float(st[key][still].std()) for key in ("x", "y", "angle", "radius")) < 1e-5
    assert st["y"][k["bounce"]].std() > 1.0 and st["x"][k["bounce"]].std() < 1e-5


def test_single_frames_are_at_chance_but_flow_tells_the_motion() -> None:
    g = torch.Generator().manual_seed(0)
    n, n_train = 900, 600
    labels = (torch.arange(n) % 10)[torch.randperm(n, generator=g)]
    clips = render_moving_shapes(labels, num_frames=4, generator=g)
    # A linear probe on the 3,072 pixels of one frame: it fits the training set, and is at chance on the test set.
    frame = clips[:, :, 2].reshape(n, -1).double() / 255
    fit, acc = _ridge_probe(frame[:n_train], labels[:n_train], frame[n_train:], labels[n_train:], lam=100.0)
    print(f"single-frame probe: fit {fit:.3f}, test {acc:.3f}")
    assert fit > 0.5 and acc < 0.17, (fit, acc)
    # Motion features (mean flow, curl, divergence of Horn–Schunck flow over 2 frame pairs) decode it.
    a, b = torch.cat([clips[:, :, 0], clips[:, :, 2]]), torch.cat([clips[:, :, 1], clips[:, :, 3]])
    f = horn_schunck_flow(a, b, warps=1, iterations=30)  # (2n, 2, 32, 32)
    u, v = f[:, 0], f[:, 1]
    curl = torch.gradient(v, dim=2)[0] - torch.gradient(u, dim=1)[0]
    div = torch.gradient(u, dim=2)[0] + torch.gradient(v, dim=1)[0]
    feats = torch.stack(
        [u.mean((1, 2)), v.mean((1, 2)), curl.mean((1, 2)), div.mean((1, 2)), f.norm(dim=1).mean((1, 2))], 1
    )
    feats = torch.cat([feats[:n], feats[n:]], dim=1).double()  # (n, 10)
    _, motion_acc = _ridge_probe(feats[:n_train], labels[:n_train], feats[n_train:], labels[n_train:], lam=1.0)
    print(f"flow-moment probe: test {motion_acc:.3f}")
    assert motion_acc > 0.4, motion_acc


# ---------------------------------------------------------------------------------------------- transforms
def _clips(b: int = 3, t: int = 4, h: int = 12, w: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (b, 3, t, h, w), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def test_random_crop_uses_one_window_per_clip() -> None:
    x = _clips()
    out = VideoRandomCrop(8)(x, generator=torch.Generator().manual_seed(5))
    top, left = RandomCrop(8).get_params(3, 12, 16, torch.Generator().manual_seed(5))
    for i in range(3):
        for t in range(4):  # every frame cut at the clip's window
            assert torch.equal(out[i, :, t], x[i, :, t, top[i] : top[i] + 8, left[i] : left[i] + 8])
    assert VideoRandomCrop(8)(x[0], generator=torch.Generator().manual_seed(5)).shape == (3, 4, 8, 8)


def test_flip_and_resized_crop_are_consistent_across_frames() -> None:
    # Clips whose frames are identical stay identical after any per-clip transform.
    x = _clips(b=8, t=1).expand(-1, -1, 5, -1, -1).contiguous()
    g = torch.Generator().manual_seed(0)
    for tf in (VideoHorizontalFlip(), VideoRandomResizedCrop(8, scale=(0.2, 1.0))):
        out = tf(x, generator=g)
        assert (out == out[:, :, :1]).all()
    flipped = VideoHorizontalFlip()(x, generator=torch.Generator().manual_seed(3))
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    same = (flipped == x).flatten(1).all(1)
    assert (mirrored | same).all() and mirrored.any() and same.any()


def test_three_crop_and_ten_crop_match_slicing() -> None:
    x = _clips(b=2, t=3, h=8, w=14)
    three = ThreeCrop(8)(x)
    assert three.shape == (2, 3, 3, 3, 8, 8)
    for v, left in enumerate((0, 3, 6)):
        assert torch.equal(three[:, v], x[..., :, left : left + 8])
    portrait = ThreeCrop(8)(x.transpose(-1, -2))
    assert torch.equal(portrait[:, 2], x.transpose(-1, -2)[..., 6:14, :])
    ten = VideoTenCrop(6)(x)
    assert ten.shape == (2, 10, 3, 3, 6, 6)
    for t in range(3):
        assert torch.equal(ten[:, :, :, t], TenCrop(6)(x[:, :, t]))
    with pytest.raises(ValueError, match="shorter side"):
        ThreeCrop(6)(x)


def test_short_side_scale_jitter_and_normalize() -> None:
    x = _clips(b=4, h=16, w=24)
    out = RandomShortSideScale(16, 16, crop_size=12)(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 3, 4, 12, 12)
    for i in range(4):  # no resize at a short side of 16: each output is some window of its clip
        windows = [x[i, ..., t : t + 12, l : l + 12] for t in range(5) for l in range(13)]
        assert any(torch.equal(out[i], w) for w in windows)
    big = RandomShortSideScale(20, 40, crop_size=None)(x[:1].float())
    assert min(big.shape[-2:]) in range(20, 41) and big.shape[-1] / big.shape[-2] == pytest.approx(1.5, abs=0.06)
    f = x.float() / 255
    norm = VideoNormalize((0.1, 0.2, 0.3), (0.5, 0.25, 2.0))(f)
    for c, (m, s) in enumerate(((0.1, 0.5), (0.2, 0.25), (0.3, 2.0))):
        torch.testing.assert_close(norm[:, c], (f[:, c] - m) / s)
    pipeline = video_eval_transform(8, crops=3)
    assert pipeline(x).shape == (4, 3, 3, 4, 8, 8)
    assert VideoCenterCrop(8)(x).shape == (4, 3, 4, 8, 8)


# ---------------------------------------------------------------------------------------------- sampling
def test_dense_clip_indices() -> None:
    assert dense_clip_indices(100, 8, 8, start=10).tolist() == list(range(10, 74, 8))
    g = torch.Generator().manual_seed(0)
    starts = {int(dense_clip_indices(20, 4, 3, generator=g)[0]) for _ in range(400)}
    assert starts == set(range(0, 11))  # span 10: starts 0..10, all reachable
    assert dense_clip_indices(5, 4, 2, start=0).tolist() == [0, 2, 4, 4]  # short videos repeat the last frame


def test_uniform_clip_indices() -> None:
    idx = uniform_clip_indices(100, 16, 2, num_clips=10)
    span = 15 * 2 + 1
    assert idx.shape == (10, 16) and idx[0, 0] == 0 and idx[-1, -1] == 99
    expected = [round(k * (100 - span) / 9) for k in range(10)]
    assert idx[:, 0].tolist() == expected and (idx.diff(dim=1) == 2).all()
    assert uniform_clip_indices(100, 4, 1, num_clips=1).tolist() == [[48, 49, 50, 51]]


def test_tsn_segment_indices() -> None:
    n, k, snippet = 50, 3, 5
    avail = n - snippet + 1
    test = tsn_segment_indices(n, k, snippet, train=False)
    assert test[:, 0].tolist() == [int(avail / k * (i + 0.5)) for i in range(k)]
    assert (test.diff(dim=1) == 1).all()
    g = torch.Generator().manual_seed(0)
    seen = [set() for _ in range(k)]
    for _ in range(500):
        for i, s in enumerate(tsn_segment_indices(n, k, snippet, train=True, generator=g)[:, 0].tolist()):
            seen[i].add(s)
    for i in range(k):  # every start of segment i, and only those
        lo, hi = int(avail / k * i), int(avail / k * (i + 1))
        assert seen[i] == set(range(lo, hi)) or seen[i] == set(range(lo, min(hi + 1, avail)))
    assert tsn_segment_indices(2, 3, 1, train=False).max() <= 1


def test_slowfast_and_x3d_sampling() -> None:
    slow, fast = slowfast_frame_indices(200, frames=32, stride=2, alpha=4, start=10)
    assert fast.tolist() == list(range(10, 74, 2))
    clip = fast.float().view(1, 1, -1, 1, 1)
    assert slow.tolist() == pack_pathways(clip, 4)[0].flatten().long().tolist()
    assert len(slow) == 8 and slow[0] == 10 and slow[-1] == 72
    assert x3d_clip_indices("x3d_m", 300, train=False).shape == (10, 16)
    xs = x3d_clip_indices("x3d_xs", 300, train=True, generator=torch.Generator().manual_seed(0))
    assert len(xs) == 4 and (xs.diff() == 12).all()
    with pytest.raises(ValueError, match="unknown X3D"):
        x3d_clip_indices("x3d_q", 10, train=True)


# ---------------------------------------------------------------------------------------------- readers
def _frame_ids(clip: torch.Tensor) -> list[int]:
    """Frame indices of a decoded fixture clip (C, T, H, W) from the grey level 16 + 20 t of its top rows."""
    return [round((float(clip[:, t, :10].float().mean()) * 255 - 16) / 20) for t in range(clip.shape[1])]


def test_read_video_decodes_every_frame() -> None:
    v = read_video(FIXTURES / "ucf101" / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi")
    assert v.shape == (12, 3, 32, 32) and v.dtype == torch.uint8
    assert _frame_ids(v.transpose(0, 1).float() / 255) == list(range(12))


def test_read_video_rejects_a_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF" + bytes(200))
    with pytest.raises(DataFormatError, match="bad.avi"):
        read_video(bad)


def test_ucf101_reads_the_official_lists() -> None:
    s = ucf101(
        path=str(FIXTURES / "ucf101"),
        clip_len=4,
        stride=2,
        num_test_clips=2,
        image_size=32,
        eval_transform=VideoCenterCrop(32),
    )
    assert s.class_names == ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
    assert len(s.train) == 6 and len(s.test) == 3 and len(s.val) == 0
    assert s.train.labels.tolist() == [0, 0, 1, 1, 2, 2] and s.test.labels.tolist() == [0, 1, 2]
    clips, label = s.test[2]  # YoYo g01: 12 frames, two clips of 4 at stride 2: starts 0 and 5
    assert clips.shape == (2, 3, 4, 32, 32) and label == 2
    assert (
        [_frame_ids(c) for c in clips]
        == uniform_clip_indices(12, 4, 2, num_clips=2).tolist()
        == [[0, 2, 4, 6], [5, 7, 9, 11]]
    )
    x, _ = s.train[0]
    assert x.shape == (3, 4, 32, 32)  # default training transform: scale jitter + crop + flip + normalise
    # Validation carved by whole groups: g08 or g09 of every class.
    v = ucf101(path=str(FIXTURES / "ucf101"), val_fraction=0.5)
    groups = {p.stem.split("_")[-2] for p, _ in v.val.samples}
    assert len(v.val) == 3 and len(groups) == 1 and not groups & {p.stem.split("_")[-2] for p, _ in v.train.samples}


def _copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_ucf101_errors_name_the_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path, "ucf101")
    lists = root / "ucfTrainTestlist"
    _edit(lists / "trainlist01.txt", "g09_c01.avi 1", "g09_c01.avi 2")
    with pytest.raises(DataFormatError, match=r"trainlist01.txt:2: label 2 does not match class ApplyEyeMakeup"):
        ucf101(path=str(root))
    _edit(lists / "trainlist01.txt", "g09_c01.avi 2", "g09_c01.avi 1")
    _edit(lists / "testlist01.txt", "YoYo/", "Yoyo/")
    with pytest.raises(DataFormatError, match=r"testlist01.txt:3: unknown class 'Yoyo'"):
        ucf101(path=str(root))
    _edit(lists / "testlist01.txt", "Yoyo/", "YoYo/")
    (root / "UCF-101" / "YoYo" / "v_YoYo_g08_c01.avi").unlink()
    with pytest.raises(DataFormatError, match=r"trainlist01.txt:5: video .*v_YoYo_g08_c01.avi not found"):
        ucf101(path=str(root))


def test_hmdb51_reads_the_split_flags(tmp_path: Path) -> None:
    s = hmdb51(
        path=str(FIXTURES / "hmdb51"),
        clip_len=8,
        eval_sampler=SegmentSampler(3, 2, train=False),
        eval_transform=ToFloat(),
    )
    assert s.class_names == ["brush_hair", "cartwheel"]
    assert len(s.train) == 2 and len(s.test) == 2  # flag 0 rows belong to neither split
    assert [p.name for p, _ in s.train.samples] == [
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
        "Cartwheel_cartwheel_f_cm_np1_le_med_0.avi",
    ]
    clips, label = s.test[1]
    assert clips.shape == (3, 3, 2, 32, 32) and label == 1
    assert [_frame_ids(c) for c in clips] == tsn_segment_indices(8, 3, 2, train=False).tolist()
    # TSN training: the segments of a video go through the transform as one clip (one crop, one flip).
    calls = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return x[..., 4:20, 4:20]

    t = hmdb51(path=str(FIXTURES / "hmdb51"), train_sampler=SegmentSampler(3, 1)).train.with_transform(spy)
    segments, _ = t[0]
    assert calls == [(3, 3, 32, 32)] and segments.shape == (3, 3, 1, 16, 16)
    ids = [i for c in segments for i in _frame_ids(c)]
    assert all(lo <= i < hi for i, (lo, hi) in zip(ids, ((0, 3), (2, 6), (5, 8))))  # one frame per third
    root = _copy(tmp_path, "hmdb51")
    _edit(root / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt", "le_med_0.avi 1", "le_med_0.avi 3")
    with pytest.raises(DataFormatError, match=r"cartwheel_test_split1.txt:1: expected 'VIDEO.avi FLAG'"):
        hmdb51(path=str(root))


def test_kinetics400_reads_csv_and_clip_folders(tmp_path: Path) -> None:
    s = kinetics400(
        path=str(FIXTURES / "kinetics"),
        clip_len=4,
        stride=2,
        eval_sampler=DenseSampler(4, 2, train=False),
        eval_transform=ToFloat(),
    )
    assert s.class_names == ["abseiling", "air drumming"]
    assert len(s.train) == 2 and len(s.test) == 2
    clip, label = s.test[1]
    assert clip.shape == (3, 4, 32, 32) and label == 1
    assert _frame_ids(clip) == uniform_clip_indices(8, 4, 2, num_clips=1)[0].tolist()
    root = _copy(tmp_path, "kinetics")
    csv = root / "kinetics400" / "validate.csv"
    _edit(csv, "air drumming,-VtLx", "air guitar,-VtLx")
    with pytest.raises(DataFormatError, match=r"validate.csv:3: unknown class 'air guitar'"):
        kinetics400(path=str(root))
    _edit(csv, "air guitar,-VtLx", "air drumming,-VtLx")
    _edit(csv, ",14,24,", ",15,24,")
    with pytest.raises(DataFormatError, match=r"validate.csv:2: video .*3E7Jib8Yq5M_000015_000024.mp4 not found"):
        kinetics400(path=str(root))
    _edit(csv, "label,youtube_id", "name,youtube_id")
    with pytest.raises(DataFormatError, match=r"validate.csv:1: expected the header"):
        kinetics400(path=str(root))


def test_something_something_v2_maps_templates_to_labels(tmp_path: Path) -> None:
    s = something_something_v2(
        path=str(FIXTURES / "ssv2"), clip_len=8, stride=1, num_test_clips=1, eval_transform=ToFloat()
    )
    assert s.class_names == ["Pushing something from left to right", "Pushing something from right to left"]
    assert [(p.name, y) for p, y in s.train.samples] == [("78687.webm", 0), ("42326.webm", 1)]
    clips, label = s.test[0]
    assert clips.shape == (1, 3, 8, 32, 32) and label == 0 and _frame_ids(clips[0]) == list(range(8))
    assert not any(isinstance(t, VideoHorizontalFlip) for t in s.train.transform.transforms)  # left/right labels
    root = _copy(tmp_path, "ssv2")
    _edit(root / "validation.json", "[something] from right to left", "[something] from top to bottom")
    with pytest.raises(
        DataFormatError, match=r"validation.json:\d+: unknown class 'Pushing something from top to bottom'"
    ):
        something_something_v2(path=str(root))
    _edit(root / "validation.json", '"id"', '"id" "')
    with pytest.raises(DataFormatError, match=r"validation.json:3: malformed JSON"):
        something_something_v2(path=str(root))
