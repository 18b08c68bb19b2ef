"""Patch and tubelet embeddings: cut an image (video) into non-overlapping patches (tubelets) and project each.

ViT (Dosovitskiy et al. 2020, arXiv:2010.11929, §3.1, Eq. 1) reshapes an image ``(C, H, W)`` into
``N = HW / P²`` flattened patches of ``P²·C`` values and maps each with one learned matrix ``E`` to D
dimensions. A Conv2d with kernel = stride = P computes exactly that product (each output position sees
one patch, ``E`` is the kernel), which is how the reference JAX code and timm implement it.

ViViT (Arnab et al. 2021, arXiv:2103.15691, §3.2, "tubelet embedding") extends it to video: non-
overlapping ``t × P × P`` spatio-temporal tubes, each linearly projected, i.e. a Conv3d with kernel =
stride = ``(t, P, P)``.
"""

from __future__ import annotations

from collections.abc import Callable

from einops import rearrange
from torch import Tensor, nn

__all__ = ["PatchEmbed", "TubeletEmbed"]


def _pair(x: int | tuple[int, int], name: str) -> tuple[int, int]:
    out = (x, x) if isinstance(x, int) else tuple(x)
    if len(out) != 2 or any(int(v) != v or v <= 0 for v in out):
        raise ValueError(f"{name} must be a positive int or a pair of them (got {x})")
    return int(out[0]), int(out[1])


class PatchEmbed(nn.Module):
    """Image to patch tokens (ViT, Dosovitskiy et al. 2020, Eq. 1: ``x_p^i E``).

    Args:
        img_size: input resolution (int or (H, W)) the model is built for; the input must have exactly
            this size. ``None`` accepts any size divisible by the patch (models without learned
            position embeddings).
        patch_size: patch side P (int or (Ph, Pw)).
        in_chans: image channels C.
        embed_dim: token width D.
        bias: learn a bias in the projection (the reference does).
        flatten: return tokens (B, N, D); False keeps the grid (B, D, H/P, W/P).
        norm_layer: optional normalisation class applied to flattened tokens (``None`` in ViT).

    Shapes:
        x: (B, C, H, W) → (B, N, D) with N = (H/Ph)·(W/Pw), patches in row-major (raster) order.
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] | None = 224,
        patch_size: int | tuple[int, int] = 16,
        *,
        in_chans: int = 3,
        embed_dim: int = 768,
        bias: bool = True,
        flatten: bool = True,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if embed_dim <= 0:
            raise ValueError(f"embed_dim must be > 0 (got {embed_dim})")
        self.patch_size = _pair(patch_size, "patch_size")
        self.in_chans, self.embed_dim, self.flatten = in_chans, embed_dim, flatten
        self.set_input_size(img_size)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=self.patch_size, stride=self.patch_size, bias=bias)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else nn.Identity()

    def set_input_size(self, img_size: int | tuple[int, int] | None) -> None:
        """Change the accepted resolution (``grid_size`` and ``num_patches`` follow)."""
        if img_size is None:
            self.img_size = self.grid_size = None
            self.num_patches = None
            return
        self.img_size = _pair(img_size, "img_size")
        if any(s % p for s, p in zip(self.img_size, self.patch_size)):
            raise ValueError(f"img_size must be divisible by patch_size={self.patch_size} (got {img_size})")
        self.grid_size = (self.img_size[0] // self.patch_size[0], self.img_size[1] // self.patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` (message contains "expected") unless ``x`` fits this embedding."""
        if x.dim() != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected images of shape (B, {self.in_chans}, H, W), got {tuple(x.shape)}")
        size = tuple(x.shape[-2:])
        if self.img_size is not None and size != self.img_size:
            raise ValueError(f"expected images of size {self.img_size[0]}x{self.img_size[1]}, got {size[0]}x{size[1]}")
        if any(s % p for s, p in zip(size, self.patch_size)):
            raise ValueError(f"expected H and W divisible by the patch size {self.patch_size}, got {size}")

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        x = self.proj(x)  # (B, D, H/P, W/P): one output position per patch
        if self.flatten:
            x = rearrange(x, "b d h w -> b (h w) d")  # raster order, as Eq. 1's sequence x_p^1 ... x_p^N
        return self.norm(x) if self.flatten else x


class TubeletEmbed(nn.Module):
    """Video to tubelet tokens (ViViT, Arnab et al. 2021, §3.2 "tubelet embedding").

    Args:
        img_size: frame resolution (int or (H, W)), or ``None`` for any size divisible by the patch.
        patch_size: spatial patch side P (int or (Ph, Pw)).
        num_frames: number of input frames T, or ``None`` for any T divisible by ``tubelet_size``.
        tubelet_size: temporal extent t of a tubelet.
        in_chans: channels C.
        embed_dim: token width D.
        bias: learn a bias in the projection.
        flatten: return tokens (B, N, D); False keeps the grid (B, D, T/t, H/P, W/P).

    Shapes:
        x: (B, C, T, H, W) → (B, N, D) with N = (T/t)·(H/Ph)·(W/Pw), ordered time-major then raster.
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] | None = 224,
        patch_size: int | tuple[int, int] = 16,
        *,
        num_frames: int | None = None,
        tubelet_size: int = 2,
        in_chans: int = 3,
        embed_dim: int = 768,
        bias: bool = True,
        flatten: bool = True,
    ) -> None:
        super().__init__()
        if in_chans <= 0:
            raise ValueError(f"in_chans must be > 0 (got {in_chans})")
        if embed_dim <= 0:
            raise ValueError(f"embed_dim must be > 0 (got {embed_dim})")
        if tubelet_size <= 0:
            raise ValueError(f"tubelet_size must be > 0 (got {tubelet_size})")
        if num_frames is not None and (num_frames <= 0 or num_frames % tubelet_size):
            raise ValueError(
                f"num_frames must be a positive multiple of tubelet_size={tubelet_size} (got {num_frames})"
            )
        self.patch_size = _pair(patch_size, "patch_size")
        self.img_size = None if img_size is None else _pair(img_size, "img_size")
        if self.img_size is not None and any(s % p for s, p in zip(self.img_size, self.patch_size)):
            raise ValueError(f"img_size must be divisible by patch_size={self.patch_size} (got {img_size})")
        self.num_frames, self.tubelet_size = num_frames, tubelet_size
        self.in_chans, self.embed_dim, self.flatten = in_chans, embed_dim, flatten
        self.kernel_size = (tubelet_size, *self.patch_size)
        self.grid_size = (
            None
            if self.img_size is None or num_frames is None
            else (
                num_frames // tubelet_size,
                self.img_size[0] // self.patch_size[0],
                self.img_size[1] // self.patch_size[1],
            )
        )
        self.num_patches = None if self.grid_size is None else self.grid_size[0] * self.grid_size[1] * self.grid_size[2]
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=self.kernel_size, stride=self.kernel_size, bias=bias)

    def check_input(self, x: Tensor) -> None:
        """Raise ``ValueError`` (message contains "expected") unless ``x`` fits this embedding."""
        if x.dim() != 5 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected video of shape (B, {self.in_chans}, T, H, W), got {tuple(x.shape)}")
        t, h, w = x.shape[-3:]
        if self.num_frames is not None and t != self.num_frames:
            raise ValueError(f"expected {self.num_frames} frames, got {t}")
        if self.img_size is not None and (h, w) != self.img_size:
            raise ValueError(f"expected frames of size {self.img_size[0]}x{self.img_size[1]}, got {h}x{w}")
        if any(s % k for s, k in zip((t, h, w), self.kernel_size)):
            raise ValueError(f"expected T, H, W divisible by the tubelet {self.kernel_size}, got {(t, h, w)}")

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        x = self.proj(x)  # (B, D, T/t, H/P, W/P): one output position per tubelet
        return rearrange(x, "b d t h w -> b (t h w) d") if self.flatten else x
