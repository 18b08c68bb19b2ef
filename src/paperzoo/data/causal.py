"""Data for causal generative models: faces whose attributes follow a known causal graph, and CelebA.

``causal_shapes`` (built in) draws 1×32×32 cartoon faces whose six binary attributes come from a known
causal Bayesian network (:data:`CAUSAL_SHAPES_NET`)::

    Male ──► Smiling ◄── Young          P(Male=1) = 0.5, P(Young=1) = 0.6
    Male ──► Mustache                   Smiling ──► Mouth_Open,  Smiling ──► Narrow_Eyes

Each attribute is a visible feature drawn with vectorised torch masks: long hair for women, dark hair and a
bright face when young, grey hair and a darker face when old, a curved mouth when smiling, a thick mouth when
open, flat eyes when narrow, a dark bar above the mouth for a mustache; the face is jittered by up to a pixel
and Gaussian pixel noise is added. Because the conditional probability tables are known, every
observational, interventional P(· | do(X = x)) (the truncated factorisation) and conditional P(· | X = x)
distribution over the labels is computed exactly by enumerating the 2^N states
(:meth:`CausalBayesNet.joint`, :meth:`~CausalBayesNet.conditional`), and :func:`label_tvd` scores samples
against them.

``celeba`` reads the CelebA release: ``list_attr_celeba.txt`` (the image count, then the 40 attribute names,
then one ``filename ±1 ... ±1`` row per image), the ``img_align_celeba/`` JPEGs and, when present,
``list_eval_partition.txt`` (``filename 0|1|2`` for train/val/test; otherwise a seeded split). Images are
centre-cropped (or zero-padded) to 108×108 and resized to 64×64 as the CausalGAN reference does (after DCGAN),
scaled to [-1, 1]; labels are 0/1. Images are decoded lazily; setting ``labels_only`` on a split makes its
batches skip decoding (the controller's pretraining reads only labels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from ..registry import register_dataset
from .errors import DataFormatError, require_file

__all__ = [
    "CausalBayesNet",
    "CAUSAL_SHAPES_NET",
    "CausalShapesSplits",
    "all_states",
    "label_tvd",
    "state_index",
    "draw_faces",
    "causal_shapes",
    "CELEBA_ATTRIBUTES",
    "read_celeba_attributes",
    "read_celeba_partition",
    "CelebAImages",
    "CelebASplits",
    "celeba",
]


def all_states(num_nodes: int) -> Tensor:
    """Every binary state (2^N, N), float64; state ``s`` has node ``n`` = bit ``n`` of ``s``."""
    s = torch.arange(2**num_nodes)
    return ((s[:, None] >> torch.arange(num_nodes)) & 1).double()


def state_index(labels: Tensor) -> Tensor:
    """The state index Σ_n x_n 2^n of binary label rows (M, N) → (M,) long."""
    return (labels.round().long() << torch.arange(labels.shape[1], device=labels.device)).sum(1)


def label_tvd(samples: Tensor, probs: Tensor) -> float:
    """Total variation distance ½ Σ_s |p̂(s) - p(s)| between the empirical joint of binary label samples (M, N)
    and a distribution over the 2^N states (2^N,)."""
    if samples.dim() != 2 or probs.shape != (2 ** samples.shape[1],):
        raise ValueError(f"expected samples (M, N) and probs (2^N,) (got {tuple(samples.shape)}, {tuple(probs.shape)})")
    if len(samples) == 0:
        raise ValueError("label_tvd needs at least one sample (got 0)")
    counts = torch.bincount(state_index(samples.cpu()), minlength=len(probs)).double()
    return 0.5 * float((counts / len(samples) - probs.double().cpu()).abs().sum())


@dataclass
class CausalBayesNet:
    """A causal Bayesian network over binary variables with known conditional probability tables.

    Attributes:
        names: the nodes (column ``n`` of a label tensor is node ``n``).
        parents: each node's parents (indices); listed nodes may come in any order.
        cpts: P(node = 1 | parents) for each node, a sequence of 2^p probabilities indexed by
            Σ_j parent_j · 2^j (parent j in the order of ``parents``).
    """

    names: Sequence[str]
    parents: Sequence[Sequence[int]]
    cpts: Sequence[Sequence[float]]

    def __post_init__(self) -> None:
        n = len(self.names)
        if len(self.parents) != n or len(self.cpts) != n:
            raise ValueError(
                f"names, parents and cpts need one entry per node (got {n}, {len(self.parents)}, {len(self.cpts)})"
            )
        for i, (ps, cpt) in enumerate(zip(self.parents, self.cpts)):
            if len(cpt) != 2 ** len(ps) or any(not 0.0 <= p <= 1.0 for p in cpt) or i in ps:
                raise ValueError(f"node {self.names[i]!r}: a CPT of 2^{len(ps)} probabilities is needed (got {cpt})")
        self._cpts = [torch.tensor(c, dtype=torch.float64) for c in self.cpts]
        self.order = self._topological_order()

    def _topological_order(self) -> list[int]:
        order: list[int] = []
        while len(order) < len(self.names):
            ready = [i for i in range(len(self.names)) if i not in order and all(p in order for p in self.parents[i])]
            if not ready:
                raise ValueError("the network's graph has a cycle")
            order.extend(ready)
        return order

    @property
    def num_nodes(self) -> int:
        return len(self.names)

    def index(self, name: str | int) -> int:
        return name if isinstance(name, int) else list(self.names).index(name)

    def graph(self) -> list[list[Any]]:
        """The graph as ``[node, [parents]]`` pairs (what the CausalGAN model's ``graph`` argument takes)."""
        return [[name, [self.names[p] for p in ps]] for name, ps in zip(self.names, self.parents)]

    def descendants(self, name: str | int) -> set[int]:
        start, out, frontier = self.index(name), set(), [self.index(name)]
        while frontier:
            i = frontier.pop()
            for j, ps in enumerate(self.parents):
                if i in ps and j not in out:
                    out.add(j)
                    frontier.append(j)
        out.discard(start)
        return out

    def _p_one(self, node: int, values: Tensor) -> Tensor:
        """P(node = 1 | parents' values) for each row of ``values`` (M, N)."""
        idx = torch.zeros(len(values), dtype=torch.long)
        for j, p in enumerate(self.parents[node]):
            idx += values[:, p].round().long() << j
        return self._cpts[node][idx]

    def joint(self, do: Mapping[str | int, int] | None = None) -> Tensor:
        """P(x) over all 2^N states (2^N,), float64; with ``do`` the interventional distribution (the truncated
        factorisation: an intervened node's factor is replaced by the point mass at its set value)."""
        states = all_states(self.num_nodes)
        fixed = {self.index(k): float(v) for k, v in (do or {}).items()}
        probs = torch.ones(len(states), dtype=torch.float64)
        for i in range(self.num_nodes):
            x = states[:, i]
            if i in fixed:
                probs = probs * (x == fixed[i]).double()
            else:
                p1 = self._p_one(i, states)
                probs = probs * torch.where(x == 1, p1, 1 - p1)
        return probs

    def conditional(self, cond: Mapping[str | int, int], *, do: Mapping[str | int, int] | None = None) -> Tensor:
        """P(x | cond) (or P(x | cond, do(...))) over all 2^N states, by restricting the joint and renormalising."""
        probs, states = self.joint(do), all_states(self.num_nodes)
        keep = torch.ones(len(states), dtype=torch.bool)
        for k, v in cond.items():
            keep &= states[:, self.index(k)] == float(v)
        probs = probs * keep.double()
        total = probs.sum()
        if total <= 0:
            raise ValueError(f"the conditioning event {dict(cond)} has probability 0")
        return probs / total

    def marginal(self, probs: Tensor, name: str | int) -> float:
        """P(node = 1) under a distribution over the 2^N states."""
        return float((probs * all_states(self.num_nodes)[:, self.index(name)]).sum())

    def sample(
        self, num: int, *, generator: torch.Generator | None = None, do: Mapping[str | int, int] | None = None
    ) -> Tensor:
        """``num`` label vectors (num, N) float32 in {0, 1} by ancestral sampling (with ``do`` fixed)."""
        fixed = {self.index(k): float(v) for k, v in (do or {}).items()}
        values = torch.zeros(num, self.num_nodes, dtype=torch.float64)
        for i in self.order:
            if i in fixed:
                values[:, i] = fixed[i]
            else:
                values[:, i] = (
                    torch.rand(num, generator=generator, dtype=torch.float64) < self._p_one(i, values)
                ).double()
        return values.float()


#: The built-in network of ``causal_shapes``: Smiling has parents Male and Young and causes Mouth_Open and
#: Narrow_Eyes; Male causes Mustache. Conditioning on Smiling = 1 lowers P(Male = 1) from 0.5 to 0.305;
#: intervening on it leaves P(Male = 1) at 0.5.
CAUSAL_SHAPES_NET = CausalBayesNet(
    names=["Male", "Young", "Smiling", "Mouth_Open", "Narrow_Eyes", "Mustache"],
    parents=[[], [], [0, 1], [2], [2], [0]],
    cpts=[
        [0.5],
        [0.6],
        [0.55, 0.2, 0.85, 0.4],  # (Male, Young) = (0,0), (1,0), (0,1), (1,1)
        [0.1, 0.8],
        [0.15, 0.7],
        [0.03, 0.55],
    ],
)


def draw_faces(
    labels: Tensor, *, image_size: int = 32, noise: float = 0.03, generator: torch.Generator | None = None
) -> Tensor:
    """Cartoon faces (B, 1, S, S) in [0, 1] for label rows (B, 6) of :data:`CAUSAL_SHAPES_NET` (its node order).

    Geometry is laid out on a 32-unit canvas and scaled to ``image_size``; all faces are drawn at once with
    broadcast masks (no loop over images or pixels).
    """
    if labels.dim() != 2 or labels.shape[1] != 6:
        raise ValueError(f"expected labels of shape (B, 6) (got {tuple(labels.shape)})")
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16 (got {image_size})")
    b = labels.shape[0]
    male, young, smiling, mouth_open, narrow, mustache = (labels[:, i, None, None].float() for i in range(6))
    grid = (torch.arange(image_size, dtype=torch.float32) + 0.5) * (32.0 / image_size)
    yy, xx = grid[None, :, None], grid[None, None, :]
    jitter = torch.rand(b, 2, generator=generator) * 2 - 1
    dx = xx - (16 + jitter[:, 0, None, None])
    dy = yy - (16 + jitter[:, 1, None, None])
    img = torch.zeros(b, image_size, image_size)
    hair = 0.7 - 0.45 * young  # grey when old, dark when young
    cap = ((dx / 12) ** 2 + (dy / 14) ** 2 <= 1) & (dy < -7)
    long_hair = (male < 0.5) & (dx.abs() >= 8.5) & (dx.abs() <= 13.5) & (dy >= -9) & (dy <= 12)
    img = torch.where(cap | long_hair, hair, img)
    face = ((dx / 10) ** 2 + (dy / 12) ** 2 <= 1) & ~cap
    img = torch.where(face, 0.55 + 0.3 * young, img)
    eye_half_height = 1.8 - 1.1 * narrow
    eyes = ((dx.abs() - 4.5) / 2.2) ** 2 + ((dy + 3) / eye_half_height) ** 2 <= 1
    img = torch.where(eyes, 0.0, img)
    bar = (mustache > 0.5) & (dy >= 3.0) & (dy <= 4.6) & (dx.abs() <= 4.5)
    img = torch.where(bar, 0.1, img)
    centre = 7.5 + smiling * (1.5 - 0.14 * dx**2)  # a smile lifts the corners
    mouth = ((dy - centre).abs() <= 0.7 + 1.6 * mouth_open) & (dx.abs() <= 5)
    img = torch.where(mouth, 0.05, img)
    img = img + noise * torch.randn(img.shape, generator=generator)
    return img.clamp(0, 1)[:, None]


@dataclass
class CausalShapesSplits:
    """Train/validation/test ``TensorDataset`` s of (images (M, 1, S, S) in [-1, 1], labels (M, 6) in {0, 1}).

    Attributes:
        net: the causal network the labels were sampled from (exact distributions).
        names: the label names (the columns of the labels).
        source: a one-line description.
    """

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    net: CausalBayesNet
    names: list[str]
    source: str


@register_dataset(
    description="procedural 1x32x32 faces, 6 binary attributes from a known causal graph (exact do/cond laws)",
    builtin=True,
)
def causal_shapes(
    *,
    seed: int = 0,
    train_size: int = 8000,
    val_size: int = 1000,
    test_size: int = 1000,
    image_size: int = 32,
    noise: float = 0.03,
) -> CausalShapesSplits:
    """Faces with causally generated attributes; the three splits are independent seeded draws."""
    if min(train_size, val_size, test_size) <= 0:
        raise ValueError(f"split sizes must be > 0 (got {train_size}, {val_size}, {test_size})")
    if not 0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5) (got {noise})")
    gen = torch.Generator().manual_seed(seed)
    splits = []
    for size in (train_size, val_size, test_size):
        labels = CAUSAL_SHAPES_NET.sample(size, generator=gen)
        images = draw_faces(labels, image_size=image_size, noise=noise, generator=gen) * 2 - 1
        splits.append(TensorDataset(images, labels))
    source = f"causal_shapes: {train_size}/{val_size}/{test_size} faces {image_size}x{image_size}, seed {seed}"
    return CausalShapesSplits(*splits, CAUSAL_SHAPES_NET, list(CAUSAL_SHAPES_NET.names), source)


# ---------------------------------------------------------------------------------------------------------------
# CelebA
# ---------------------------------------------------------------------------------------------------------------

CELEBA_ATTRIBUTES = [
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
]


def read_celeba_attributes(path: str | Path) -> tuple[list[str], list[str], Tensor]:
    """Parse ``list_attr_celeba.txt``: ``(filenames, attribute names, labels (M, A) float32 in {0, 1})``.

    Raises:
        DataFormatError: naming the file and line of a bad count, header or row.
    """
    path = require_file(path, "CelebA attribute file")
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise DataFormatError(path, "expected a count line and an attribute-name line", line=len(lines) + 1)
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise DataFormatError(path, f"the first line must be the number of images (got {lines[0]!r})", line=1) from None
    names = lines[1].split()
    if not names or len(set(names)) != len(names):
        raise DataFormatError(path, "the second line must list distinct attribute names", line=2)
    rows = [(i, line.split()) for i, line in enumerate(lines[2:], start=3) if line.strip()]
    if len(rows) != count:
        raise DataFormatError(path, f"the header announces {count} images but {len(rows)} rows follow", line=1)
    filenames, values = [], []
    for lineno, parts in rows:
        if len(parts) != len(names) + 1:
            raise DataFormatError(
                path, f"expected a filename and {len(names)} values, got {len(parts)} fields", line=lineno
            )
        if any(v not in ("1", "-1") for v in parts[1:]):
            raise DataFormatError(path, f"attribute values must be 1 or -1 (got {parts[1:]})", line=lineno)
        filenames.append(parts[0])
        values.append([v == "1" for v in parts[1:]])
    if len(set(filenames)) != len(filenames):
        raise DataFormatError(path, "a filename appears twice")
    return filenames, names, torch.tensor(values, dtype=torch.float32).reshape(len(values), len(names))


def read_celeba_partition(path: str | Path) -> dict[str, int]:
    """Parse ``list_eval_partition.txt`` (``filename 0|1|2`` per line) into ``{filename: split}``."""
    path = require_file(path, "CelebA partition file")
    out: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DataFormatError(path, f"expected 'filename 0|1|2' (got {line!r})", line=lineno)
        out[parts[0]] = int(parts[1])
    return out


def _load_celeba_image(path: Path, image_size: int, crop: int) -> Tensor:
    """One JPEG → (3, S, S) in [-1, 1]: centre crop-or-pad to crop×crop (TF ``resize_image_with_crop_or_pad``),
    then a bilinear resize."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError) as err:
        raise DataFormatError(path, f"cannot decode the image ({err})") from None
    h, w = arr.shape[:2]
    canvas = np.zeros((crop, crop, 3), dtype=np.uint8)
    top, left = max((h - crop) // 2, 0), max((w - crop) // 2, 0)
    patch = arr[top : top + crop, left : left + crop]
    oy, ox = (crop - patch.shape[0]) // 2, (crop - patch.shape[1]) // 2
    canvas[oy : oy + patch.shape[0], ox : ox + patch.shape[1]] = patch
    small = np.asarray(Image.fromarray(canvas).resize((image_size, image_size), Image.BILINEAR), dtype=np.float32)
    return torch.from_numpy(small).permute(2, 0, 1) / 127.5 - 1


class CelebAImages(Dataset):
    """CelebA images decoded on demand with their 0/1 labels: items ``(image (3, S, S) in [-1, 1], labels (A,))``.

    Args:
        root: the folder holding the JPEGs (``img_align_celeba``).
        filenames: the images of this split; labels: their labels (M, A).
        image_size, crop: output size and centre crop (64, 108).
        hflip: flip each image left-right with probability ½ (the reference's augmentation; training split).
    """

    def __init__(
        self, root: Path, filenames: list[str], labels: Tensor, *, image_size: int, crop: int, hflip: bool
    ) -> None:
        self.root, self.filenames, self.labels = Path(root), filenames, labels
        self.image_size, self.crop, self.hflip = image_size, crop, hflip
        self.labels_only = False  # set by a training task that reads only the labels

    def __len__(self) -> int:
        return len(self.filenames)

    def _image(self, i: int) -> Tensor:
        img = _load_celeba_image(self.root / self.filenames[i], self.image_size, self.crop)
        if self.hflip and bool(torch.rand(()) < 0.5):
            img = img.flip(-1)
        return img

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self._image(i), self.labels[i]

    def get_batch(self, idx: Sequence[int]) -> tuple[Tensor, Tensor]:
        """A batch ``(images (B, 3, S, S), labels (B, A))``; images are zeros while ``labels_only`` is set."""
        labels = self.labels[torch.as_tensor(list(idx), dtype=torch.long)]
        if self.labels_only:
            return torch.zeros(len(idx), 3, self.image_size, self.image_size), labels
        return torch.stack([self._image(i) for i in idx]), labels


@dataclass
class CelebASplits:
    train: CelebAImages
    val: CelebAImages
    test: CelebAImages
    names: list[str]
    source: str


@register_dataset(
    description="CelebA aligned faces with their 40 binary attributes (list_attr_celeba.txt), 64x64 crops",
    builtin=False,
    file_format="ROOT/list_attr_celeba.txt + ROOT/img_align_celeba/*.jpg [+ ROOT/list_eval_partition.txt]",
)
def celeba(
    *,
    path: str,
    attributes: Sequence[str] | None = None,
    image_size: int = 64,
    crop: int = 108,
    hflip: bool = True,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> CelebASplits:
    """CelebA with the chosen attributes (all 40 by default) as 0/1 labels.

    Splits come from ``list_eval_partition.txt`` when it exists, else from a seeded shuffle with the given
    fractions. Every image named in the attribute file must exist.
    """
    root = Path(path)
    attr_file = root / "list_attr_celeba.txt"
    filenames, names, labels = read_celeba_attributes(attr_file)
    if attributes is not None:
        unknown = [a for a in attributes if a not in names]
        if unknown:
            raise ValueError(f"unknown CelebA attributes {unknown}; the file lists {', '.join(names)}")
        labels = labels[:, [names.index(a) for a in attributes]]
        names = list(attributes)
    image_dir = root / "img_align_celeba"
    if not image_dir.is_dir():
        raise DataFormatError(image_dir, "the image folder img_align_celeba/ is missing")
    for lineno, name in enumerate(filenames, start=3):
        if not (image_dir / name).is_file():
            raise DataFormatError(
                attr_file, f"image {name} is listed but {image_dir / name} does not exist", line=lineno
            )
    partition_file = root / "list_eval_partition.txt"
    if partition_file.is_file():
        partition = read_celeba_partition(partition_file)
        missing = [f for f in filenames if f not in partition]
        if missing:
            raise DataFormatError(partition_file, f"{len(missing)} images have no split, e.g. {missing[0]}")
        split = torch.tensor([partition[f] for f in filenames])
    else:
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise ValueError(f"val_fraction + test_fraction must be < 1 (got {val_fraction}, {test_fraction})")
        order = torch.randperm(len(filenames), generator=torch.Generator().manual_seed(seed))
        n_val, n_test = round(val_fraction * len(filenames)), round(test_fraction * len(filenames))
        split = torch.zeros(len(filenames), dtype=torch.long)
        split[order[:n_val]], split[order[n_val : n_val + n_test]] = 1, 2
    parts = []
    for k in range(3):
        keep = (split == k).nonzero().flatten().tolist()
        if not keep:
            raise DataFormatError(root, f"the {('train', 'val', 'test')[k]} split is empty")
        parts.append(
            CelebAImages(
                image_dir,
                [filenames[i] for i in keep],
                labels[keep],
                image_size=image_size,
                crop=crop,
                hflip=hflip and k == 0,
            )
        )
    source = f"CelebA at {root}: {len(filenames)} images, {len(names)} attributes"
    return CelebASplits(*parts, names, source)
