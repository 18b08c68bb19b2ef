"""causal_shapes: exact enumeration of observational, interventional and conditional laws against Monte Carlo
from the generator and hand-computed values; the drawing of each attribute; the CelebA reader on fixture files
in the release's exact format and its errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from paperzoo.data.causal import (
    CAUSAL_SHAPES_NET,
    CELEBA_ATTRIBUTES,
    all_states,
    causal_shapes,
    celeba,
    draw_faces,
    label_tvd,
    read_celeba_attributes,
    state_index,
)
from paperzoo.data.errors import DataFormatError

NET = CAUSAL_SHAPES_NET
FIXTURE = Path(__file__).parents[1] / "fixtures" / "celeba"


def _marginal_over(probs: torch.Tensor, nodes: list[int]) -> torch.Tensor:
    """P over the states of ``nodes`` only (2^len(nodes),)."""
    idx = state_index(all_states(NET.num_nodes)[:, nodes])
    return torch.zeros(2 ** len(nodes), dtype=torch.float64).index_add_(0, idx, probs)


def test_joint_is_the_product_of_the_tables() -> None:
    probs = NET.joint()
    assert float(probs.sum()) == pytest.approx(1.0)
    # Male=1, Young=0, Smiling=1, Mouth_Open=1, Narrow_Eyes=0, Mustache=1: state 1 + 4 + 8 + 32 = 45
    assert float(probs[45]) == pytest.approx(0.5 * 0.4 * 0.2 * 0.8 * 0.3 * 0.55)


@pytest.mark.parametrize("do", [None, {"Smiling": 1}, {"Male": 0}, {"Mouth_Open": 1}])
def test_exact_interventional_law_matches_monte_carlo(do) -> None:
    samples = NET.sample(200_000, generator=torch.Generator().manual_seed(0), do=do)
    assert label_tvd(samples, NET.joint(do)) < 0.012  # 64 states: sampling error alone is about 0.006


def test_exact_conditional_law_matches_rejection_from_the_generator() -> None:
    samples = NET.sample(200_000, generator=torch.Generator().manual_seed(1))
    kept = samples[samples[:, 2] == 1]
    assert label_tvd(kept, NET.conditional({"Smiling": 1})) < 0.015
    # Bayes by hand: P(S=1|M=1) = 0.4·0.2 + 0.6·0.4 = 0.32, P(S=1|M=0) = 0.4·0.55 + 0.6·0.85 = 0.73
    assert NET.marginal(NET.conditional({"Smiling": 1}), "Male") == pytest.approx(0.32 / 1.05)
    assert NET.marginal(NET.joint({"Smiling": 1}), "Male") == pytest.approx(0.5)


@pytest.mark.parametrize("node", ["Smiling", "Male", "Mouth_Open"])
def test_do_leaves_non_descendants_exactly_unchanged_and_conditioning_does_not(node: str) -> None:
    i = NET.index(node)
    others = [j for j in range(NET.num_nodes) if j != i and j not in NET.descendants(node)]
    torch.testing.assert_close(_marginal_over(NET.joint({node: 1}), others), _marginal_over(NET.joint(), others))
    if node != "Male":  # conditioning on an effect moves its causes
        assert not torch.allclose(
            _marginal_over(NET.conditional({node: 1}), others), _marginal_over(NET.joint(), others)
        )


def test_label_tvd_hand_cases() -> None:
    p = torch.tensor([0.5, 0.0, 0.0, 0.5], dtype=torch.float64)  # 2 nodes: states 00 and 11
    assert label_tvd(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), p) == pytest.approx(0.0)
    assert label_tvd(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), p) == pytest.approx(1.0)
    assert label_tvd(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), p) == pytest.approx(0.5)


def test_each_attribute_is_drawn_where_expected() -> None:
    base = torch.zeros(1, 6)
    faces = {}
    for i in range(6):
        lab = base.clone()
        lab[0, i] = 1
        faces[NET.names[i]] = draw_faces(lab, noise=0.0, generator=torch.Generator().manual_seed(3))[0, 0]
    ref = draw_faces(base, noise=0.0, generator=torch.Generator().manual_seed(3))[0, 0]
    changed = {k: (v != ref).nonzero() for k, v in faces.items()}
    assert all(len(c) > 5 for c in changed.values())  # every attribute is visible
    assert changed["Mustache"][:, 0].min() >= 18 and changed["Mustache"][:, 0].max() <= 21  # a bar above the mouth
    assert changed["Narrow_Eyes"][:, 0].max() < 16  # the eyes are in the upper half
    assert changed["Smiling"][:, 0].min() >= 18  # the mouth is in the lower half
    assert faces["Young"][16, 10] > ref[16, 10] and faces["Young"][2, 16] < ref[2, 16]  # brighter face, darker hair


def test_causal_shapes_is_seeded_and_labels_follow_the_network() -> None:
    a, b = (
        causal_shapes(seed=2, train_size=3000, val_size=10, test_size=10),
        causal_shapes(seed=2, train_size=3000, val_size=10, test_size=10),
    )
    torch.testing.assert_close(a.train.tensors[0], b.train.tensors[0])
    images, labels = a.train.tensors
    assert images.shape == (3000, 1, 32, 32) and float(images.min()) >= -1 and float(images.max()) <= 1
    assert label_tvd(labels, NET.joint()) < 0.08
    assert a.names == list(NET.names) and a.net.graph()[2] == ["Smiling", ["Male", "Young"]]


def test_celeba_fixture_reads_in_the_release_format() -> None:
    names_file, names, labels = read_celeba_attributes(FIXTURE / "list_attr_celeba.txt")
    assert names == CELEBA_ATTRIBUTES and labels.shape == (6, 40) and names_file[0] == "000001.jpg"
    row = (FIXTURE / "list_attr_celeba.txt").read_text().splitlines()[2].split()[1:]
    assert labels[0].tolist() == [float(v == "1") for v in row]
    splits = celeba(path=str(FIXTURE), attributes=["Male", "Smiling"])
    assert (len(splits.train), len(splits.val), len(splits.test)) == (4, 1, 1)  # list_eval_partition.txt
    image, lab = splits.val[0]
    assert image.shape == (3, 64, 64) and float(image.min()) >= -1 and float(image.max()) <= 1
    col = CELEBA_ATTRIBUTES.index("Male")
    assert lab[0] == labels[4, col]
    splits.train.labels_only = True
    x, y = splits.train.get_batch([0, 1])
    assert x.shape == (2, 3, 64, 64) and y.shape == (2, 2) and float(x.abs().sum()) == 0.0


def _broken(tmp_path: Path, edit) -> Path:
    root = tmp_path / "celeba"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("make.py"))
    lines = (root / "list_attr_celeba.txt").read_text().splitlines()
    (root / "list_attr_celeba.txt").write_text("\n".join(edit(lines)) + "\n")
    return root


@pytest.mark.parametrize(
    "edit, line, reason",
    [
        (lambda ls: ["7", *ls[1:]], 1, "announces 7 images"),
        (lambda ls: [*ls[:3], ls[3].replace(" 1", " 2", 1), *ls[4:]], 4, "1 or -1"),
        (lambda ls: [*ls[:4], ls[4].rsplit(" ", 1)[0], *ls[5:]], 5, "40 values"),
        (lambda ls: ["six", *ls[1:]], 1, "number of images"),
        (lambda ls: [*ls[:7], ls[7].replace("000006", "000099")], 8, "does not exist"),
    ],
)
def test_celeba_errors_name_the_file_and_line(tmp_path: Path, edit, line: int, reason: str) -> None:
    root = _broken(tmp_path, edit)
    with pytest.raises(DataFormatError, match=reason) as err:
        celeba(path=str(root))
    assert err.value.line == line and err.value.path.name == "list_attr_celeba.txt"
