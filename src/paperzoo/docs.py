"""Generate ``docs/models.md`` and the README's system table from the registry (``make docs``).

``python -m paperzoo.docs`` rewrites both; ``python -m paperzoo.docs --check`` exits non-zero when
either is out of date (a test runs the check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .registry import count_params, get_model_entry, get_recipe, list_models, list_recipes

__all__ = ["SYSTEMS", "render_models_md", "render_system_table", "update_readme"]

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- systems:start -->", "<!-- systems:end -->"

#: Every system of DESIGN.md, in its order: (domain, system, recipe names, issue that builds it).
SYSTEMS: list[tuple[str, str, tuple[str, ...], int]] = [
    ("losses", "margin-based losses (11, as in LossFunctions.jl)", ("margin_digits",), 2),
    ("losses", "contrastive pair loss, NT-Xent/InfoNCE, max-margin ranking, BPR", (), 2),
    ("image", "AlexNet (paper's two-tower LRN net and torchvision's)", ("alexnet_shapes",), 3),
    ("image", "ZFNet", ("zfnet_shapes",), 3),
    ("image", "VGG-11/13/16/19 (±BN)", ("vgg_shapes",), 3),
    ("image", "GoogLeNet (auxiliary heads)", ("googlenet_shapes",), 3),
    ("image", "Inception v2/v3", ("inception_v3_shapes",), 3),
    ("image", "Inception-v4, Inception-ResNet-v2", ("inception_v4_shapes",), 3),
    ("image", "ResNet-18..152, CIFAR ResNets and plain twins (+ ResNeXt, DenseNet)", ("resnet_degradation",), 3),
    ("image", "ViT Ti/S/B/L", ("vit_shapes",), 3),
    ("recsys", "BERT4Rec (+ popularity, MF-BPR, SASRec, GRU4Rec)", ("bert4rec",), 4),
    ("video", "Two-stream ConvNets (+ Feichtenhofer's convolutional fusion)", ("two_stream",), 5),
    ("video", "TSN (segments, consensus, RGB / RGB-diff / flow)", ("tsn",), 5),
    ("video", "Hidden Two-Stream (MotionNet)", ("hidden_two_stream",), 5),
    ("video", "C3D", ("c3d_shapes",), 5),
    ("video", "R3D, MC3, R(2+1)D", ("r2plus1d_shapes",), 5),
    ("video", "T3D (Temporal Transition Layer, 2D→3D transfer)", ("t3d_shapes",), 5),
    ("video", "I3D (inflated Inception-v1, two-stream)", ("i3d_shapes",), 5),
    ("video", "S3D, S3D-G", ("s3d_shapes",), 5),
    ("video", "SlowFast R50 (4×16, 8×8)", ("slowfast_shapes",), 5),
    ("video", "X3D-XS/S/M/L and the progressive expansion", ("x3d_shapes", "x3d_expansion"), 5),
    ("video", "ViViT (models 1-4)", ("vivit_shapes",), 5),
    ("video", "VTN", ("vtn_shapes",), 5),
    ("video", "TimeSformer (divided space-time attention)", ("timesformer_shapes",), 5),
    ("video", "MViT-B (pooling attention)", ("mvit_shapes",), 5),
    (
        "generative",
        "VQ-VAE (compression, bits/dim vs a VAE, speech units)",
        ("vqvae_compression", "vqvae_bits_per_dim", "vqvae_speech"),
        6,
    ),
    (
        "generative",
        "VQ-VAE-2 (hierarchy; PixelCNN/PixelSNAIL priors, CAS, rejection sampling)",
        ("vqvae2_hierarchy", "vqvae2_class_prior"),
        6,
    ),
    (
        "generative",
        "DDPM (2-D mixture; digits, and CIFAR-10 with EMA; FID on our own classifier)",
        ("ddpm_toy2d", "ddpm_images"),
        7,
    ),
    ("generative", "WaveGrad (mel-conditioned diffusion vocoder, 6-iteration schedule search)", ("wavegrad",), 7),
    ("generative", "CausalGAN (causal controller, labeler/anti-labeler, interventions)", ("causalgan",), 7),
    ("video + language", "HowTo100M joint embedding, HERO", (), 0),
    ("graph", "GCN, graph Fourier transform, Cluster-GCN, HGT, metapath2vec, GIN", (), 0),
    ("recsys", "PCRec", (), 0),
    ("self-supervised", "SimCLR v1/v2", (), 0),
    ("kernels", "spectral mixture kernel (random Fourier features), Implicit Kernel Attention", (), 0),
    ("deployment", "single machine, torchrun DDP, Kubernetes (Kustomize, minikube overlay)", (), 2),
]

TESTED_WITHOUT_RECIPE = {
    "contrastive pair loss, NT-Xent/InfoNCE, max-margin ranking, BPR": "implemented; tested against naive loops "
    "(trained by the SimCLR, HowTo100M and recommendation recipes when they land)",
    "single machine, torchrun DDP, Kubernetes (Kustomize, minikube overlay)": "implemented; 2-process DDP test, "
    "`kubectl kustomize` render test",
}


def _status(system: str, recipes: tuple[str, ...], issue: int) -> tuple[str, str]:
    registered = set(list_recipes())
    if recipes and all(r in registered for r in recipes):
        cmds = "<br>".join(f"`paperzoo train {r}`" for r in recipes)
        return "implemented", cmds
    if system in TESTED_WITHOUT_RECIPE:
        return TESTED_WITHOUT_RECIPE[system], "`make test`"
    return (f"planned (issue {issue})" if issue else "planned"), "—"


def render_system_table() -> str:
    lines = ["| domain | system | status | reproduce |", "|---|---|---|---|"]
    for domain, system, recipes, issue in SYSTEMS:
        status, cmd = _status(system, recipes, issue)
        lines.append(f"| {domain} | {system} | {status} | {cmd} |")
    return "\n".join(lines) + "\n"


def render_models_md() -> str:
    """One section per model family: variants, parameters (ours = reference, checked on meta), paper, reference."""
    out = ["# Models", "", "Generated from the registry by `make docs`; do not edit by hand.", ""]
    families: dict[tuple[str, str], list[str]] = {}
    for name in list_models():
        entry = get_model_entry(name)
        families.setdefault((entry.domain, entry.family), []).append(name)
    for (domain, family), names in sorted(families.items()):
        first = get_model_entry(names[0])
        out += [
            f"## {domain} / {family}",
            "",
            f"Paper: {first.paper.cite()}",
            "",
            "| model | parameters | reference parameters | input | reference implementation |",
            "|---|---:|---:|---|---|",
        ]
        for name in names:
            entry = get_model_entry(name)
            params = count_params(name)
            ref = f"{entry.reference_params:,}" if entry.reference_params is not None else "—"
            size = "×".join(map(str, entry.input_size)) if entry.input_size else "—"
            out.append(f"| `{name}` | {params:,} | {ref} | {size} | {entry.reference} |")
        out.append("")
    out += [
        "# Recipes",
        "",
        "| recipe | system | metric | baseline | paper's number | claim |",
        "|---|---|---|---|---|---|",
    ]
    for name in list_recipes():
        r = get_recipe(name)
        paper = (
            "—"
            if r.paper_number is None or r.paper_number.value is None
            else (f"{r.paper_number.value} ({r.paper_number.protocol}, {r.paper_number.source})")
        )
        out.append(
            f"| `{name}` | {r.system} | {r.metric} ({'↑' if r.higher_is_better else '↓'}) | {r.baseline} "
            f"| {paper} | {r.claim} |"
        )
    return "\n".join(out) + "\n"


def update_readme(text: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"README.md lacks the {START} / {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render_system_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperzoo.docs")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/models.md or README.md is stale")
    args = parser.parse_args(argv)
    readme, models = ROOT / "README.md", ROOT / "docs" / "models.md"
    want = {readme: update_readme(readme.read_text(encoding="utf-8")), models: render_models_md()}
    stale = [p for p, text in want.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date; run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(want[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
