"""Image transforms against explicit slicing, closed forms, colorsys and Pillow."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

from paperzoo.data import transforms as T


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uint8(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, shape, generator=_gen(seed), dtype=torch.uint8)


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=_gen(seed))


# ---------------------------------------------------------------------------------------------- crops
def test_ten_crop_equals_explicit_slicing():
    x = _rand(3, 11, 14)
    out = T.TenCrop((6, 8))(x)
    # corners, then the centre at round((11 - 6) / 2) = 2 (2.5 rounds to even), round((14 - 8) / 2) = 3
    boxes = [(0, 0), (0, 6), (5, 0), (5, 6), (2, 3)]
    expected = [x[:, t : t + 6, l : l + 8] for t, l in boxes]
    expected += [c.flip(-1) for c in expected]
    assert out.shape == (10, 3, 6, 8)
    for k in range(10):
        assert torch.equal(out[k], expected[k]), k
    batch = torch.stack([x, 1 - x])
    out_b = T.TenCrop((6, 8))(batch)
    assert out_b.shape == (2, 10, 3, 6, 8)
    assert torch.equal(out_b[0], out) and torch.equal(out_b[1], T.TenCrop((6, 8))(1 - x))


@pytest.mark.parametrize(("h", "w", "size", "top", "left"), [(7, 9, 4, 2, 2), (10, 10, 4, 3, 3), (9, 12, (3, 5), 3, 4)])
def test_center_crop_offsets(h, w, size, top, left):
    x = _uint8(3, h, w)
    ch, cw = (size, size) if isinstance(size, int) else size
    out = T.CenterCrop(size)(x)
    assert out.dtype == torch.uint8
    assert torch.equal(out, x[:, top : top + ch, left : left + cw])


def test_center_crop_too_large():
    with pytest.raises(ValueError, match="expected an image of at least 8x8"):
        T.CenterCrop(8)(_rand(3, 7, 9))


def test_random_crop_equals_slicing_of_padded_image():
    x = _uint8(5, 3, 8, 8)
    t = T.RandomCrop(8, padding=2)
    out = t(x, generator=_gen(3))
    top, left = t.get_params(5, 12, 12, generator=_gen(3))
    padded = torch.zeros(5, 3, 12, 12, dtype=torch.uint8)
    padded[:, :, 2:10, 2:10] = x
    assert out.dtype == torch.uint8 and out.shape == x.shape
    for b in range(5):
        assert torch.equal(out[b], padded[b, :, top[b] : top[b] + 8, left[b] : left[b] + 8])
    assert len(set(zip(top.tolist(), left.tolist()))) > 1  # offsets are drawn per image


def test_random_crop_without_padding_single_image():
    x = _rand(3, 10, 12)
    t = T.RandomCrop((4, 5))
    out = t(x, generator=_gen(1))
    top, left = t.get_params(1, 10, 12, generator=_gen(1))
    assert torch.equal(out, x[:, top[0] : top[0] + 4, left[0] : left[0] + 5])


# ---------------------------------------------------------------------------------------------- flips
def test_flip_twice_is_identity_and_p_extremes():
    x = _rand(4, 3, 5, 6)
    always = T.RandomHorizontalFlip(p=1.0)
    assert torch.equal(always(x), x.flip(-1))
    assert torch.equal(always(always(x)), x)
    assert torch.equal(T.RandomHorizontalFlip(p=0.0)(x), x)


def test_flip_follows_per_image_draws():
    x = _rand(16, 3, 4, 5)
    out = T.RandomHorizontalFlip()(x, generator=_gen(7))
    flipped = torch.rand(16, generator=_gen(7)) < 0.5
    assert 0 < int(flipped.sum()) < 16
    for b in range(16):
        assert torch.equal(out[b], x[b].flip(-1) if flipped[b] else x[b])


# ---------------------------------------------------------------------------------------------- resize
def test_resize_shorter_side_rule():
    assert T.Resize(20)(_rand(3, 30, 45)).shape == (3, 20, 30)
    assert T.Resize(20)(_rand(3, 45, 31)).shape == (3, 29, 20)  # int(20 * 45 / 31) = 29, truncated
    assert T.Resize((7, 9))(_rand(2, 3, 30, 45)).shape == (2, 3, 7, 9)


def test_resize_uint8_matches_pillow_bilinear():
    """Antialiased bilinear downsampling agrees with Pillow's to one grey level."""
    x = _uint8(3, 40, 60, seed=4)
    ours = T.Resize(16)(x)
    assert ours.dtype == torch.uint8 and ours.shape == (3, 16, 24)
    pil = Image.fromarray(x.permute(1, 2, 0).numpy()).resize((24, 16), Image.BILINEAR)
    ref = torch.from_numpy(np.array(pil)).permute(2, 0, 1)
    assert (ours.int() - ref.int()).abs().max() <= 1


def test_random_resized_crop_full_square_is_a_resize():
    x = _rand(2, 3, 24, 24)
    t = T.RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    torch.testing.assert_close(t(x, generator=_gen(0)), T.Resize((10, 10))(x), rtol=0, atol=1e-6)


def test_random_resized_crop_boxes_respect_scale_and_ratio():
    t = T.RandomResizedCrop(8, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    top, left, h, w = t.get_params(2000, 90, 120, generator=_gen(1))
    assert ((h >= 1) & (w >= 1) & (top >= 0) & (left >= 0)).all()
    assert ((top + h <= 90) & (left + w <= 120)).all()
    area = (h * w).double() / (90 * 120)
    # Rounding each side to an integer moves the area and ratio slightly off the drawn values.
    assert area.min() > 0.2 * 0.95 and area.max() < 0.6 * 1.05
    ratio = w.double() / h.double()
    assert ratio.min() > 0.5 * 0.97 and ratio.max() < 2.0 * 1.03
    # Offsets are uniform over the valid positions: both ends are reached.
    assert int(top.min()) == 0 and int((top + h).max()) == 90


def test_random_resized_crop_fallback_is_central_and_ratio_clipped():
    # On a square image no crop of ratio 5-6 fits, so every image takes the central fallback:
    # w = width, h = round(width / 5), centred.
    t = T.RandomResizedCrop(4, scale=(0.9, 1.0), ratio=(5.0, 6.0))
    top, left, h, w = t.get_params(50, 20, 20, generator=_gen(2))
    assert (w == 20).all() and (h == 4).all() and (top == 8).all() and (left == 0).all()


def test_random_resized_crop_equals_crop_then_resize():
    x = _uint8(6, 3, 30, 40, seed=5)
    t = T.RandomResizedCrop((12, 10))
    out = t(x, generator=_gen(9))
    top, left, h, w = t.get_params(6, 30, 40, generator=_gen(9))
    assert out.shape == (6, 3, 12, 10) and out.dtype == torch.uint8
    for b in range(6):
        crop = x[b : b + 1, :, top[b] : top[b] + h[b], left[b] : left[b] + w[b]]
        assert torch.equal(out[b : b + 1], T.Resize((12, 10))(crop))


# ---------------------------------------------------------------------------------------------- colour
def test_to_float_and_normalize_closed_form():
    x = _uint8(2, 3, 4, 5)
    f = T.ToFloat()(x)
    assert f.dtype == torch.float32 and torch.equal(f, x.float() / 255)
    assert torch.equal(T.ToFloat()(_uint8(3, 1, 1).fill_(255)), torch.ones(3, 1, 1))
    out = T.Normalize()(f)
    for c in range(3):
        expected = (f[:, c] - T.IMAGENET_MEAN[c]) / T.IMAGENET_STD[c]
        torch.testing.assert_close(out[:, c], expected, rtol=0, atol=1e-6)


def test_normalize_rejects_wrong_input():
    with pytest.raises(ValueError, match="expected"):
        T.Normalize()(_rand(1, 4, 4))
    with pytest.raises(ValueError, match="ToFloat"):
        T.Normalize()(_uint8(3, 4, 4))
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize((0.5,), (0.0,))


def test_rgb_hsv_round_trip_and_colorsys():
    x = _rand(2, 3, 9, 7, seed=3)
    x[0, :, 0, 0] = 0.5  # grey: hue and saturation 0
    x[0, :, 0, 1] = 0.0  # black
    hsv = T.rgb_to_hsv(x)
    torch.testing.assert_close(T.hsv_to_rgb(hsv), x, rtol=0, atol=1e-6)
    for b, i, j in [(0, 0, 0), (0, 0, 1), (1, 4, 3), (0, 8, 6), (1, 2, 5), (0, 3, 3)]:
        rgb = x[b, :, i, j].double().tolist()
        torch.testing.assert_close(
            hsv[b, :, i, j].double(), torch.tensor(colorsys.rgb_to_hsv(*rgb), dtype=torch.float64), atol=1e-6, rtol=0
        )
        back = colorsys.hsv_to_rgb(*hsv[b, :, i, j].double().tolist())
        torch.testing.assert_close(
            T.hsv_to_rgb(hsv)[b, :, i, j].double(), torch.tensor(back, dtype=torch.float64), atol=1e-6, rtol=0
        )


def test_hue_shift_closed_form():
    red = torch.zeros(3, 2, 2)
    red[0] = 1.0
    green = T.adjust_hue(red, 1 / 3)
    torch.testing.assert_close(
        green, torch.stack([torch.zeros(2, 2), torch.ones(2, 2), torch.zeros(2, 2)]), atol=1e-6, rtol=0
    )
    x = _rand(3, 5, 5)
    torch.testing.assert_close(T.adjust_hue(T.adjust_hue(x, 0.2), -0.2), x, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("ours", "pil", "factor"),
    [
        (T.adjust_brightness, ImageEnhance.Brightness, 1.4),
        (T.adjust_contrast, ImageEnhance.Contrast, 0.6),
        (T.adjust_contrast, ImageEnhance.Contrast, 1.5),
        (T.adjust_saturation, ImageEnhance.Color, 0.3),
        (T.adjust_saturation, ImageEnhance.Color, 1.7),
    ],
)
def test_colour_adjustments_match_pillow(ours, pil, factor):
    """Pillow's ImageEnhance works in integers (rounded luma and mean); agreement within 2 grey levels."""
    x = _uint8(3, 12, 10, seed=11)
    got = (ours(x.float() / 255, factor) * 255).round()
    ref = np.array(pil(Image.fromarray(x.permute(1, 2, 0).numpy())).enhance(factor))
    assert (got - torch.from_numpy(ref).permute(2, 0, 1).float()).abs().max() <= 2


def test_color_jitter_zero_is_identity():
    x = _rand(4, 3, 6, 6)
    assert torch.equal(T.ColorJitter()(x), x)
    assert torch.equal(T.ColorJitter(0.0, 0.0, 0.0, 0.0)(x[0]), x[0])


def test_color_jitter_fixed_factors_closed_form():
    x = _rand(3, 3, 6, 6)
    torch.testing.assert_close(T.ColorJitter(brightness=(0.5, 0.5))(x), x * 0.5, atol=1e-6, rtol=0)
    grey = T.rgb_to_grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)
    torch.testing.assert_close(T.ColorJitter(contrast=(0.0, 0.0))(x), grey.expand_as(x), atol=1e-6, rtol=0)


def test_color_jitter_order_is_random_per_image():
    # Brightness x2 then contrast x0.5 differs from the reverse order (clamping); a batch of the
    # same image must show both orders, and nothing else.
    x = _rand(1, 3, 5, 5).expand(64, -1, -1, -1).contiguous()
    out = T.ColorJitter(brightness=(2.0, 2.0), contrast=(0.5, 0.5))(x, generator=_gen(0))
    a = T.adjust_contrast(T.adjust_brightness(x[:1], 2.0), 0.5)
    b = T.adjust_brightness(T.adjust_contrast(x[:1], 0.5), 2.0)
    assert not torch.allclose(a, b)
    is_a = (out - a).abs().amax(dim=(1, 2, 3)) < 1e-6
    is_b = (out - b).abs().amax(dim=(1, 2, 3)) < 1e-6
    assert (is_a | is_b).all() and is_a.any() and is_b.any()


def test_color_jitter_validates():
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(ValueError, match="brightness"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match="ToFloat"):
        T.ColorJitter(0.4)(_uint8(3, 4, 4))


def test_pca_lighting_closed_form():
    eigvec = torch.tensor(T.IMAGENET_PCA_EIGVEC, dtype=torch.float64)
    # The published eigenvectors are orthonormal columns (to their 4 printed digits).
    torch.testing.assert_close(eigvec.T @ eigvec, torch.eye(3, dtype=torch.float64), atol=2e-3, rtol=0)
    x = _rand(4, 3, 5, 5)
    out = T.PCALighting(0.1)(x, generator=_gen(5))
    alpha = torch.randn(4, 3, generator=_gen(5)) * 0.1
    for b in range(4):
        for c in range(3):
            shift = sum(T.IMAGENET_PCA_EIGVEC[c][j] * alpha[b, j].item() * T.IMAGENET_PCA_EIGVAL[j] for j in range(3))
            torch.testing.assert_close(out[b, c], x[b, c] + shift, atol=1e-6, rtol=0)
    assert torch.equal(T.PCALighting(0.0)(x), x)


# ---------------------------------------------------------------------------------------------- randomness
@pytest.mark.parametrize(
    "transform",
    [
        T.RandomResizedCrop(8),
        T.RandomCrop(8, padding=2),
        T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        T.PCALighting(0.1),
        T.imagenet_train_transform(8, color_jitter=0.4, lighting=0.1),
        T.cifar_train_transform(8, padding=2),
    ],
    ids=["rrc", "crop", "jitter", "lighting", "imagenet", "cifar"],
)
def test_random_transforms_are_reproducible(transform):
    x = (
        _uint8(4, 3, 12, 12)
        if isinstance(transform, (T.RandomResizedCrop, T.RandomCrop, T.Compose))
        else _rand(4, 3, 12, 12)
    )
    a, b = transform(x, generator=_gen(1)), transform(x, generator=_gen(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, transform(x, generator=_gen(2)))
    # Without a generator the global RNG is used, which the trainer's checkpoints capture.
    torch.manual_seed(123)
    c = transform(x)
    torch.manual_seed(123)
    assert torch.equal(c, transform(x))


# ---------------------------------------------------------------------------------------------- pipelines
def test_eval_pipelines_closed_form():
    x = _uint8(3, 40, 50, seed=8)
    out = T.imagenet_eval_transform(16, 20)(x)
    resized = T.Resize(20)(x)  # (3, 20, 25)
    crop = resized[:, 2:18, 4:20].float() / 255  # round(4 / 2) = 2, round(9 / 2) = 4 (4.5 rounds to even)
    mean = torch.tensor(T.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(T.IMAGENET_STD).view(3, 1, 1)
    torch.testing.assert_close(out, (crop - mean) / std, atol=1e-6, rtol=0)

    ten = T.ten_crop_eval_transform(16, 20)(x)
    assert ten.shape == (10, 3, 16, 16)
    torch.testing.assert_close(ten[4], T.Normalize()(T.ToFloat()(T.CenterCrop(16)(resized))), atol=1e-6, rtol=0)

    inc = T.inception_eval_transform(21, 0.875)
    assert inc.transforms[0].size == 24  # int(21 / 0.875)
    assert inc(x).shape == (3, 21, 21)
    assert T.inception_eval_transform().transforms[0].size == 341


def test_train_pipelines_output_shapes():
    x = _uint8(3, 3, 40, 50)
    assert T.imagenet_train_transform(16)(x).shape == (3, 3, 16, 16)
    out = T.cifar_train_transform()(_uint8(5, 3, 32, 32))
    assert out.shape == (5, 3, 32, 32) and out.dtype == torch.float32
    assert T.cifar_eval_transform(mean=None)(_uint8(3, 32, 32)).max() <= 1.0


def test_single_image_and_batch_shapes_are_checked():
    with pytest.raises(ValueError, match=r"expected an image \(C, H, W\)"):
        T.RandomHorizontalFlip()(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="expected"):
        T.CenterCrop(2)(torch.zeros(1, 1, 1, 4, 4))


def test_hsv_to_rgb_hue_sectors():
    """One colour per 60-degree sector, against colorsys."""
    hues = torch.tensor([k / 6 + 1 / 12 for k in range(6)])
    hsv = torch.stack([hues, torch.full((6,), 0.7), torch.full((6,), 0.9)]).view(3, 1, 6)
    rgb = T.hsv_to_rgb(hsv)
    for k in range(6):
        expected = colorsys.hsv_to_rgb(hues[k].item(), 0.7, 0.9)
        assert all(math.isclose(rgb[c, 0, k].item(), expected[c], abs_tol=1e-6) for c in range(3))
