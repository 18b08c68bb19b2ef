"""CausalGAN: a causal implicit generative model of labels (the Causal Controller) and of images given labels.

Paper: Kocaoglu, Snyder, Dimakis & Vishwanath, "CausalGAN: Learning Causal Implicit Generative Models with
Adversarial Training", ICLR 2018, arXiv:1709.02023. Reference implementation: the authors' TensorFlow code,
``github.com/mkocaoglu/CausalGAN`` (``causal_controller/CausalController.py``, ``causal_controller/models.py``,
``causal_dcgan/models.py``, ``causal_dcgan/ops.py``, ``causal_dcgan/CausalGAN.py``, ``causal_graph.py``).

Implemented:

- :class:`CausalController` (§4): one small MLP per node of a given causal DAG. Node ``n`` maps its own
  exogenous noise ``z_n ~ U[-1, 1]^10`` concatenated with its parents' labels through ``num_layers`` fully
  connected layers (five of width 10 with leaky ReLU 0.2, then one to a logit) and a sigmoid, as the
  reference's ``CausalNode``. Labels are *soft* (sigmoid outputs in (0, 1)) and flow into the children
  un-rounded, as in the reference's final code (its earlier ``pt_round_node_labels`` rounding, whose gradient
  is zero, is available as ``round_parents=True``); no Gumbel or straight-through estimator is used. A binary
  label is the rounded output (``> 0.5``). ``forward(noise, do=...)`` evaluates all nodes together, once per
  level of the DAG (the longest path plus one passes, not one pass per node), so a node's value is its MLP of
  its parents' final values; ``do={X: x}`` fixes X and thereby changes only X's descendants (the mutilated
  graph of an intervention); :meth:`CausalController.sample_conditional` conditions by rejection.
- :class:`LabelCritic`: the WGAN-GP critic that trains the controller on the labels alone (§5 "pretraining";
  the reference's ``DiscriminatorW``: six fully connected layers of width 15 with leaky ReLU). Factorised as in
  the reference's default (``pt_factorized=True``): one critic per node sees (the node's parents, the node);
  :func:`critic_gradient_penalty` is Gulrajani et al.'s penalty λ·E[(‖∇D(x̂)‖ - 1)²] on each node's inputs.
- The image part of the CausalGAN architecture (§5, the reference's DCGAN): :class:`Generator` G(z, l) (z ~
  U[-1, 1]^100 concatenated with the label inputs, projected to 4×4×512, four 5×5 stride-2 transposed
  convolutions with batch norm and ReLU, tanh), :class:`Discriminator` (four 5×5 stride-2 convolutions with
  leaky ReLU and batch norm, minibatch discrimination features (Salimans et al. 2016; 300 kernels of 50
  dimensions) concatenated after the second), :class:`Labeler` (the same convolutional stack predicting the
  labels, trained on real images) and an identical Anti-Labeler (trained on generated images), plus the
  reference's :class:`ZReconstructor` (``discriminator_on_z``: estimates G's noise z from the discriminator's
  second-layer features; its squared error is added to G's loss, ``reconstr_loss=True``).
- The losses as functions: :func:`wgan_critic_loss`, :func:`labeler_loss` and the generator's label terms
  :func:`generator_label_terms`. The generator is rewarded when the Labeler recovers the labels it was given
  and penalised when the Anti-Labeler does (§5; Theorem 2: at the optimum G samples the class-conditional
  image distributions, and the anti-labeler term rules out label-specific image collapse):
  ``L_G = L_GAN + BCE(D_LR(G(z, l)), l) - k_t · BCE(D_LG(G(z, l)), l) [+ ‖z - ẑ‖²]``.
  ``label_loss="reference"`` instead uses the reference's ``loss_function=1`` form, the cross entropy of the
  (noisy) label logit against the Labeler's probability. ``k_t = exp(-t / τ)`` is the reference's decaying
  anti-labeler weight (``tau = 3000`` counter steps); τ = 0 keeps k_t = 1.
- Label inputs to G as in the reference: controller labels rounded to {0, 1} (``round_fake_labels``), then
  ``label_type="continuous"`` (default) maps them to 0.3 / 0.7 plus the reference's truncated-exponential noise
  (:func:`continuous_label_noise`, values in [0.5, 1] for a 1 and [0, 0.5] for a 0) and feeds their logits;
  ``"discrete"`` feeds logit(0.3) / logit(0.7).

Convolutions use TensorFlow's "SAME" padding (one pixel before and two after for a 5×5 stride-2 layer on an
even size) and flatten in TF's NHWC order, so that reference weights could be loaded layer for layer.

Parameter count: ``causalgan_celeba`` (CelebA 64×64, Causal Graph 1 = the reference's ``big_causal_graph``
with 9 labels) has 40,466,247 parameters: controller 5,189, factorised label critics 9,264, generator
5,209,091, discriminator 21,918,873 (15,375,000 of them in the minibatch-feature linear map), Labeler and
Anti-Labeler 4,382,089 each, z-reconstructor 4,559,652. This is the number of trainable variables of the
reference's graph counted layer by layer from its source (TF batch norm with ``scale=True`` has a scale and
an offset per channel; the controller critics exist during pretraining); the reference publishes no count, so
the tests check each module against a count written out from the layer shapes.

Left out: CausalBEGAN (the paper's second architecture, with its margin-based labeler losses), the
reference's image summaries and the pretraining early stop on TVD (``min_tvd``). Training (controller first,
then the image part; the reference's update schedule) lives in :mod:`paperzoo.recipes.causalgan`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ...registry import Paper, register_model

__all__ = [
    "KOCAOGLU_2018",
    "CAUSAL_GRAPHS",
    "CausalGraph",
    "NodeMLPs",
    "CausalController",
    "LabelCritic",
    "critic_gradient_penalty",
    "wgan_critic_loss",
    "Generator",
    "Discriminator",
    "Labeler",
    "ZReconstructor",
    "CausalGAN",
    "CausalGANOutput",
    "continuous_label_noise",
    "label_inputs",
    "labeler_loss",
    "generator_label_terms",
    "anti_labeler_weight",
]

KOCAOGLU_2018 = Paper(
    title="CausalGAN: Learning Causal Implicit Generative Models with Adversarial Training",
    authors="Murat Kocaoglu, Christopher Snyder, Alexandros G. Dimakis, Sriram Vishwanath",
    year=2018,
    arxiv="1709.02023",
)
_REF = "github.com/mkocaoglu/CausalGAN"

#: Causal graphs over CelebA attributes, as ``(node, parents)`` pairs, from the reference's ``causal_graph.py``.
#: ``big_causal_graph`` is the paper's "Causal Graph 1" used for its CelebA experiments.
CAUSAL_GRAPHS: dict[str, list[tuple[str, list[str]]]] = {
    "big_causal_graph": [
        ("Young", []),
        ("Male", []),
        ("Eyeglasses", ["Young"]),
        ("Bald", ["Male", "Young"]),
        ("Mustache", ["Male", "Young"]),
        ("Smiling", ["Male", "Young"]),
        ("Wearing_Lipstick", ["Male", "Young"]),
        ("Mouth_Slightly_Open", ["Young", "Smiling"]),
        ("Narrow_Eyes", ["Male", "Young", "Smiling"]),
    ],
    "complete_big_causal_graph": [
        ("Young", []),
        ("Male", ["Young"]),
        ("Eyeglasses", ["Male", "Young"]),
        ("Bald", ["Male", "Young", "Eyeglasses"]),
        ("Mustache", ["Male", "Young", "Eyeglasses", "Bald"]),
        ("Smiling", ["Male", "Young", "Eyeglasses", "Bald", "Mustache"]),
        ("Wearing_Lipstick", ["Male", "Young", "Eyeglasses", "Bald", "Mustache", "Smiling"]),
        ("Mouth_Slightly_Open", ["Male", "Young", "Eyeglasses", "Bald", "Mustache", "Smiling", "Wearing_Lipstick"]),
        (
            "Narrow_Eyes",
            ["Male", "Young", "Eyeglasses", "Bald", "Mustache", "Smiling", "Wearing_Lipstick", "Mouth_Slightly_Open"],
        ),
    ],
    "male_causes_mustache": [("Male", []), ("Mustache", ["Male"])],
}

GraphSpec = str | Sequence[tuple[str, Sequence[str]]] | Sequence[Sequence[Any]]


# ---------------------------------------------------------------------------------------------------------------
# The causal graph and the per-node networks
# ---------------------------------------------------------------------------------------------------------------


class CausalGraph:
    """A DAG over named binary variables, given as ``(node, parents)`` pairs in any order.

    Attributes:
        names: node names in the given order (node ``i`` is column ``i`` of every label tensor).
        parents: for each node, its parents' indices in increasing order.
        depth: for each node, the length of the longest directed path that ends at it (roots: 0).
    """

    def __init__(self, spec: GraphSpec) -> None:
        if isinstance(spec, str):
            if spec not in CAUSAL_GRAPHS:
                raise ValueError(f"unknown causal graph {spec!r}; known: {', '.join(CAUSAL_GRAPHS)} (got {spec!r})")
            spec = CAUSAL_GRAPHS[spec]
        pairs = [(str(p[0]), [str(q) for q in p[1]]) for p in spec]
        if not pairs:
            raise ValueError("a causal graph needs at least one node (got an empty graph)")
        self.names = [n for n, _ in pairs]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"node names must be unique (got {self.names})")
        index = {n: i for i, n in enumerate(self.names)}
        self.parents: list[list[int]] = []
        for node, rents in pairs:
            unknown = [p for p in rents if p not in index]
            if unknown or node in rents:
                raise ValueError(f"node {node!r} has unknown or self parents (got {rents})")
            self.parents.append(sorted({index[p] for p in rents}))
        depth: list[int | None] = [None] * len(pairs)

        def visit(i: int, stack: tuple[int, ...]) -> int:
            if i in stack:
                raise ValueError(f"the causal graph has a cycle through {self.names[i]!r}")
            if depth[i] is None:
                depth[i] = max((visit(p, (*stack, i)) + 1 for p in self.parents[i]), default=0)
            return depth[i]

        self.depth = [visit(i, ()) for i in range(len(pairs))]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str | int) -> int:
        if isinstance(name, int):
            if not 0 <= name < len(self):
                raise ValueError(f"node index out of range (got {name})")
            return name
        if name not in self.names:
            raise ValueError(f"unknown node {name!r}; nodes: {', '.join(self.names)}")
        return self.names.index(name)

    def descendants(self, name: str | int) -> set[int]:
        """Indices of the strict descendants of a node."""
        start = self.index(name)
        children = [[j for j in range(len(self)) if i in self.parents[j]] for i in range(len(self))]
        out: set[int] = set()
        frontier = list(children[start])
        while frontier:
            j = frontier.pop()
            if j not in out:
                out.add(j)
                frontier.extend(children[j])
        return out

    def order(self) -> list[int]:
        """A topological order (by depth, then index)."""
        return sorted(range(len(self)), key=lambda i: (self.depth[i], i))

    def as_pairs(self) -> list[list[Any]]:
        return [[n, [self.names[p] for p in ps]] for n, ps in zip(self.names, self.parents)]


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)  # the reference's lrelu (leak 0.2)


class NodeMLPs(nn.Module):
    """G independent MLPs evaluated together: MLP ``g`` reads the input columns ``columns[g]`` of row ``g``.

    Each MLP has ``num_layers`` fully connected layers: ``len(columns[g]) → hidden``, ``num_layers - 2`` times
    ``hidden → hidden`` (leaky ReLU 0.2 after each), then ``hidden → 1``. The first layers' weights are stored
    packed (one row per used input column, exactly the reference's per-node parameter count) and scattered
    into a dense (G, in_width, hidden) matrix with zeros for the columns an MLP does not read, so one batched
    contraction evaluates all G networks.

    Args:
        columns: for each group, the input columns it reads, in the order of its reference layer's inputs.
        in_width: D, the width of the shared input rows.
        hidden: the hidden width.
        num_layers: the number of fully connected layers (>= 2).
    """

    def __init__(self, columns: Sequence[Sequence[int]], in_width: int, *, hidden: int, num_layers: int) -> None:
        super().__init__()
        if num_layers < 2 or hidden <= 0:
            raise ValueError(f"num_layers must be >= 2 and hidden > 0 (got {num_layers}, {hidden})")
        if not columns or any(not cols or min(cols) < 0 or max(cols) >= in_width for cols in columns):
            raise ValueError(f"every group needs columns within [0, {in_width}) (got {columns})")
        self.columns = [list(c) for c in columns]
        self.in_width, self.hidden, self.num_layers = in_width, hidden, num_layers
        groups = len(columns)
        self.register_buffer(
            "_group", torch.tensor([g for g, c in enumerate(columns) for _ in c], dtype=torch.long), persistent=False
        )
        self.register_buffer("_col", torch.tensor([i for c in columns for i in c], dtype=torch.long), persistent=False)
        self.weight_in = nn.Parameter(torch.empty(len(self._col), hidden))
        self.bias_in = nn.Parameter(torch.zeros(groups, hidden))
        self.weight_hidden = nn.Parameter(torch.empty(groups, num_layers - 2, hidden, hidden))
        self.bias_hidden = nn.Parameter(torch.zeros(groups, num_layers - 2, hidden))
        self.weight_out = nn.Parameter(torch.empty(groups, hidden))
        self.bias_out = nn.Parameter(torch.zeros(groups))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases, as TF-slim's ``fully_connected``."""
        if self.weight_in.is_meta:
            return
        start = 0
        for cols in self.columns:
            bound = math.sqrt(6.0 / (len(cols) + self.hidden))
            self.weight_in[start : start + len(cols)].uniform_(-bound, bound)
            start += len(cols)
        self.weight_hidden.uniform_(-math.sqrt(3.0 / self.hidden), math.sqrt(3.0 / self.hidden))
        self.weight_out.uniform_(-math.sqrt(6.0 / (self.hidden + 1)), math.sqrt(6.0 / (self.hidden + 1)))
        for b in (self.bias_in, self.bias_hidden, self.bias_out):
            b.zero_()

    def dense_weight_in(self) -> Tensor:
        """The first layers as one (G, in_width, hidden) matrix, zero where a group does not read a column."""
        dense = self.weight_in.new_zeros(len(self.columns), self.in_width, self.hidden)
        return dense.index_put((self._group, self._col), self.weight_in)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, G, in_width) → one output per group (B, G)."""
        h = _lrelu(torch.einsum("bgi,gih->bgh", x, self.dense_weight_in()) + self.bias_in)
        for layer in range(self.num_layers - 2):
            h = _lrelu(torch.einsum("bgh,ghk->bgk", h, self.weight_hidden[:, layer]) + self.bias_hidden[:, layer])
        return torch.einsum("bgh,gh->bg", h, self.weight_out) + self.bias_out

    def layers_of(self, group: int) -> list[tuple[Tensor, Tensor]]:
        """Group ``group``'s layers as plain ``(W (in, out), b)`` pairs, W's rows in ``columns[group]`` order."""
        start = sum(len(c) for c in self.columns[:group])
        out = [(self.weight_in[start : start + len(self.columns[group])], self.bias_in[group])]
        out += [(self.weight_hidden[group, i], self.bias_hidden[group, i]) for i in range(self.num_layers - 2)]
        return [*out, (self.weight_out[group, :, None], self.bias_out[group, None])]


@dataclass
class ControllerOutput:
    """Labels from the Causal Controller: ``labels`` sigmoid outputs (B, N) in (0, 1), ``logits`` (B, N)."""

    labels: Tensor
    logits: Tensor


class CausalController(nn.Module):
    """The Causal Controller (§4): labels sampled along a causal DAG, one MLP per node.

    Node ``n``'s label is ``sigmoid(MLP_n([z_n, labels of parents(n)]))`` with ``z_n ~ U[-1, 1]^noise_dim``.

    Args:
        graph: a name in :data:`CAUSAL_GRAPHS` or ``(node, parents)`` pairs.
        noise_dim: the exogenous noise per node (the reference ties it to the width: 10).
        num_layers: fully connected layers per node (reference ``cc_n_layers`` = 6).
        hidden: their width (reference ``cc_n_hidden`` = 10).
        round_parents: round parents' labels before a child reads them (the reference's older
            ``pt_round_node_labels``); off by default, as in its final code.
    """

    def __init__(
        self,
        graph: GraphSpec,
        *,
        noise_dim: int = 10,
        num_layers: int = 6,
        hidden: int = 10,
        round_parents: bool = False,
    ) -> None:
        super().__init__()
        if noise_dim <= 0:
            raise ValueError(f"noise_dim must be > 0 (got {noise_dim})")
        self.graph = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
        self.noise_dim, self.round_parents = noise_dim, round_parents
        n = len(self.graph)
        # Row n of the input is [z_n (noise_dim), all N labels]; node n reads z_n then its parents' labels.
        columns = [list(range(noise_dim)) + [noise_dim + p for p in ps] for ps in self.graph.parents]
        self.nodes = NodeMLPs(columns, noise_dim + n, hidden=hidden, num_layers=num_layers)
        self.num_passes = max(self.graph.depth) + 1

    @property
    def num_nodes(self) -> int:
        return len(self.graph)

    def sample_noise(self, batch_size: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Exogenous noise (B, N, noise_dim), uniform on [-1, 1] as the reference's ``tf.random_uniform``."""
        device = self.nodes.weight_in.device
        u = torch.rand(batch_size, self.num_nodes, self.noise_dim, generator=generator, device=device)
        return 2 * u - 1

    def _do_mask(self, do: Mapping[str | int, float] | None, like: Tensor) -> tuple[Tensor, Tensor]:
        fixed, values = torch.zeros_like(like, dtype=torch.bool), torch.zeros_like(like)
        for name, value in (do or {}).items():
            i = self.graph.index(name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"an intervention sets a label in [0, 1] (got do({name})={value})")
            fixed[:, i], values[:, i] = True, float(value)
        return fixed, values

    def forward(self, noise: Tensor, do: Mapping[str | int, float] | None = None) -> ControllerOutput:
        """Labels for the exogenous noise (B, N, noise_dim), with the nodes in ``do`` fixed (an intervention).

        All nodes are evaluated together once per level of the DAG: after pass ``k`` every node of depth < k
        holds its final value, so ``num_passes = max depth + 1`` passes give each node its MLP of its parents'
        final labels. An intervened node keeps its value, so only its descendants change.
        """
        b, n = noise.shape[0], self.num_nodes
        if noise.dim() != 3 or noise.shape[1:] != (n, self.noise_dim):
            raise ValueError(f"expected noise of shape (B, {n}, {self.noise_dim}) (got {tuple(noise.shape)})")
        labels = noise.new_zeros(b, n)
        fixed, values = self._do_mask(do, labels)
        labels = torch.where(fixed, values, labels)
        logits = labels
        for _ in range(self.num_passes):
            parents = labels.round() if self.round_parents else labels
            rows = torch.cat([noise, parents[:, None, :].expand(b, n, n)], dim=-1)  # (B, N, noise_dim + N)
            logits = self.nodes(rows)
            labels = torch.where(fixed, values, torch.sigmoid(logits))
        return ControllerOutput(labels, logits)

    @torch.no_grad()
    def sample_binary(
        self, num: int, *, do: Mapping[str | int, float] | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """``num`` rounded label vectors (num, N) in {0, 1} from P(labels) or P(labels | do(...))."""
        return (self(self.sample_noise(num, generator=generator), do).labels > 0.5).float()

    @torch.no_grad()
    def sample_conditional(
        self,
        num: int,
        cond: Mapping[str | int, int],
        *,
        do: Mapping[str | int, float] | None = None,
        generator: torch.Generator | None = None,
        max_rounds: int = 1000,
    ) -> Tensor:
        """``num`` rounded label vectors from P(labels | cond) (or P(labels | cond, do(...))) by rejection.

        Batches of ``num`` are drawn until ``num`` of them satisfy every ``label == value`` in ``cond``, as the
        reference's ``sample_label``.
        """
        idx = {self.graph.index(k): float(v) for k, v in cond.items()}
        if any(v not in (0.0, 1.0) for v in idx.values()):
            raise ValueError(f"conditioning values must be 0 or 1 (got {dict(cond)})")
        kept, have = [], 0
        for _ in range(max_rounds):
            labels = self.sample_binary(num, do=do, generator=generator)
            ok = torch.ones(num, dtype=torch.bool, device=labels.device)
            for i, v in idx.items():
                ok &= labels[:, i] == v
            kept.append(labels[ok])
            have += int(ok.sum())
            if have >= num:
                return torch.cat(kept)[:num]
        raise RuntimeError(f"conditioning on {dict(cond)} accepted {have} of {num * max_rounds} samples")


class LabelCritic(nn.Module):
    """WGAN-GP critic(s) over label vectors (the reference's ``DiscriminatorW``).

    Factorised (the reference's default): critic ``n`` scores (labels of parents(n), label n), in that
    column order; otherwise one critic scores the whole vector.

    Args:
        graph: the controller's graph.
        factorized: one critic per node (True) or one joint critic.
        num_layers: fully connected layers per critic (reference ``critic_layers`` = 6).
        hidden: their width (reference ``critic_hidden_size`` = 15).
    """

    def __init__(self, graph: GraphSpec, *, factorized: bool = True, num_layers: int = 6, hidden: int = 15) -> None:
        super().__init__()
        self.graph = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
        n = len(self.graph)
        self.factorized = factorized
        columns = [[*ps, i] for i, ps in enumerate(self.graph.parents)] if factorized else [list(range(n))]
        self.critics = NodeMLPs(columns, n, hidden=hidden, num_layers=num_layers)

    @property
    def num_critics(self) -> int:
        return len(self.critics.columns)

    def score_rows(self, rows: Tensor) -> Tensor:
        """Scores (B, G) of one label row per critic (B, G, N)."""
        return self.critics(rows)

    def forward(self, labels: Tensor) -> Tensor:
        """labels (B, N) → each critic's score (B, G)."""
        if labels.dim() != 2 or labels.shape[1] != len(self.graph):
            raise ValueError(f"expected labels of shape (B, {len(self.graph)}) (got {tuple(labels.shape)})")
        return self.critics(labels[:, None, :].expand(-1, self.num_critics, -1))


def critic_gradient_penalty(
    critic: LabelCritic, real: Tensor, fake: Tensor, *, generator: torch.Generator | None = None
) -> Tensor:
    """Σ_critics E[(‖∇ D_g(x̂)‖₂ - 1)²] at x̂ = αx + (1 - α)x̃, α ~ U[0, 1] per example and critic.

    The gradient of critic g is taken with respect to its own inputs (its row of the interpolated labels; the
    columns it does not read get zero gradient), as each factorised critic's ``Grad_Penalty`` in the reference.
    """
    b, g = real.shape[0], critic.num_critics
    alpha = torch.rand(b, g, 1, generator=generator, device=real.device, dtype=real.dtype)
    rows = (alpha * real[:, None, :] + (1 - alpha) * fake[:, None, :]).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic.score_rows(rows).sum(), rows, create_graph=True)
    return ((grad.norm(dim=-1) - 1) ** 2).mean(0).sum()


def wgan_critic_loss(score_real: Tensor, score_fake: Tensor, penalty: Tensor, gp_lambda: float) -> Tensor:
    """The critics' loss Σ_g E[D_g(fake)] - E[D_g(real)] + λ·GP (the reference sums the node critics' losses)."""
    return (score_fake.mean(0) - score_real.mean(0)).sum() + gp_lambda * penalty


# ---------------------------------------------------------------------------------------------------------------
# The image networks (the reference's causal_dcgan)
# ---------------------------------------------------------------------------------------------------------------


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding (before, after) of one spatial dimension."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A 5×5 stride-2 convolution with TensorFlow's "SAME" padding (pads 1 before / 2 after on even sizes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 5, stride=2)
        if not self.weight.is_meta:  # reference conv2d: truncated normal σ = 0.02, zero bias
            nn.init.trunc_normal_(self.weight, std=0.02, a=-0.04, b=0.04)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        top, bottom = _same_pad(x.shape[-2], 5, 2)
        left, right = _same_pad(x.shape[-1], 5, 2)
        return super().forward(F.pad(x, (left, right, top, bottom)))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """A 5×5 stride-2 transposed convolution doubling H and W with TF's "SAME" alignment (the crop starts at 1)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 5, stride=2)
        if not self.weight.is_meta:  # reference deconv2d: normal σ = 0.02, zero bias
            nn.init.normal_(self.weight, std=0.02)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        full = super().forward(x)  # (B, C, 2h + 3, 2w + 3)
        top, left = _same_pad(2 * h, 5, 2)[0], _same_pad(2 * w, 5, 2)[0]
        return full[..., top : top + 2 * h, left : left + 2 * w]


def _linear(in_features: int, out_features: int) -> nn.Linear:
    layer = nn.Linear(in_features, out_features)
    if not layer.weight.is_meta:  # reference linear: normal σ = 0.02, zero bias
        nn.init.normal_(layer.weight, std=0.02)
        nn.init.zeros_(layer.bias)
    return layer


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)  # TF decay 0.9, with scale and offset


def _check_image_size(image_size: int) -> None:
    if image_size < 16 or image_size % 16:
        raise ValueError(f"image_size must be a multiple of 16, at least 16 (got {image_size})")


class Generator(nn.Module):
    """The reference's DCGAN generator G(z, l) (``GeneratorCNN``).

    ``[z, label inputs]`` → linear to (S/16)²·8w → batch norm, ReLU → four 5×5 stride-2 transposed
    convolutions to 4w, 2w, w and C channels (batch norm and ReLU between) → tanh, images in [-1, 1].

    Args:
        z_dim: the noise width (100).
        num_labels: the label inputs' width.
        image_size: S (a multiple of 16).
        channels: C.
        width: w (the reference's ``gf_dim`` = 64).
    """

    def __init__(self, z_dim: int, num_labels: int, *, image_size: int = 64, channels: int = 3, width: int = 64):
        super().__init__()
        _check_image_size(image_size)
        if min(z_dim, num_labels, channels, width) <= 0:
            raise ValueError(
                f"z_dim, num_labels, channels, width must be > 0 (got {z_dim, num_labels, channels, width})"
            )
        self.z_dim, self.num_labels, self.image_size, self.channels = z_dim, num_labels, image_size, channels
        self.s16 = image_size // 16
        self.project = _linear(z_dim + num_labels, width * 8 * self.s16**2)
        self.bn0 = _bn(width * 8)
        chans = [width * 8, width * 4, width * 2, width]
        self.deconvs = nn.ModuleList(SameConvTranspose2d(a, b) for a, b in zip(chans, [*chans[1:], channels]))
        self.bns = nn.ModuleList(_bn(c) for c in chans[1:])

    def forward(self, z: Tensor, label_inputs: Tensor) -> Tensor:
        """z (B, z_dim), label_inputs (B, num_labels) → images (B, C, S, S) in [-1, 1]."""
        if z.dim() != 2 or z.shape[1] != self.z_dim or label_inputs.shape != (z.shape[0], self.num_labels):
            raise ValueError(
                f"expected z (B, {self.z_dim}) and labels (B, {self.num_labels}) "
                f"(got {tuple(z.shape)}, {tuple(label_inputs.shape)})"
            )
        h = self.project(torch.cat([z, label_inputs], dim=1))
        h = rearrange(h, "b (h w c) -> b c h w", h=self.s16, w=self.s16)  # TF reshapes to NHWC
        h = F.relu(self.bn0(h))
        for deconv, bn in zip(self.deconvs[:-1], self.bns):
            h = F.relu(bn(deconv(h)))
        return torch.tanh(self.deconvs[-1](h))


def _conv_stack(channels: int, width: int) -> nn.ModuleDict:
    """Four 5×5 stride-2 convolutions to w, 2w, 4w, 8w channels, batch norm after the last three."""
    chans = [channels, width, width * 2, width * 4, width * 8]
    return nn.ModuleDict(
        {
            "convs": nn.ModuleList(SameConv2d(a, b) for a, b in zip(chans[:-1], chans[1:])),
            "bns": nn.ModuleList(_bn(c) for c in chans[2:]),
        }
    )


def _flatten_nhwc(x: Tensor) -> Tensor:
    return rearrange(x, "b c h w -> b (h w c)")  # TF flattens NHWC


class Labeler(nn.Module):
    """The Labeler / Anti-Labeler (the reference's ``discriminator_labeler`` / ``discriminator_gen_labeler``).

    Four 5×5 stride-2 convolutions (w, 2w, 4w, 8w; leaky ReLU, batch norm after the first) and a linear layer
    to one logit per label.
    """

    def __init__(self, channels: int, num_labels: int, *, image_size: int = 64, width: int = 64) -> None:
        super().__init__()
        _check_image_size(image_size)
        self.channels, self.image_size, self.num_labels = channels, image_size, num_labels
        self.stack = _conv_stack(channels, width)
        self.head = _linear(width * 8 * (image_size // 16) ** 2, num_labels)

    def forward(self, images: Tensor) -> Tensor:
        """images (B, C, S, S) → label logits (B, num_labels)."""
        convs, bns = self.stack["convs"], self.stack["bns"]
        h = _lrelu(convs[0](images))
        for conv, bn in zip(convs[1:], bns):
            h = _lrelu(bn(conv(h)))
        return self.head(_flatten_nhwc(h))


class Discriminator(nn.Module):
    """The reference's image discriminator (``DiscriminatorCNN`` with ``add_minibatch_features``).

    conv(w) → lrelu → conv(2w) → bn → lrelu =: h1 → [h1, minibatch features] → conv(4w) → bn → lrelu → conv(8w)
    → bn → lrelu → linear → logit. Minibatch discrimination (Salimans et al. 2016, as the reference's final
    ``ops.py``): two more convolutions of width w on h1, a linear map to K kernels of dimension d, and for
    example i and kernel k the feature (Σ_j exp(-‖a_ik - a_jk‖₁) - 1) / B, broadcast over h1's positions.

    Args:
        channels, image_size, width: as :class:`Generator` (``df_dim`` = 64).
        minibatch_kernels: K (300; 0 turns the features off); minibatch_kernel_dim: d (50).
    """

    def __init__(
        self,
        channels: int,
        *,
        image_size: int = 64,
        width: int = 64,
        minibatch_kernels: int = 300,
        minibatch_kernel_dim: int = 50,
    ) -> None:
        super().__init__()
        _check_image_size(image_size)
        if minibatch_kernels < 0 or minibatch_kernel_dim <= 0:
            raise ValueError(f"minibatch kernels must be >= 0 and their dimension > 0 (got {minibatch_kernels})")
        self.channels, self.image_size = channels, image_size
        self.kernels, self.kernel_dim = minibatch_kernels, minibatch_kernel_dim
        self.conv0, self.conv1, self.bn1 = SameConv2d(channels, width), SameConv2d(width, width * 2), _bn(width * 2)
        if minibatch_kernels:
            self.mb_conv0, self.mb_conv1 = SameConv2d(width * 2, width), SameConv2d(width, width)
            self.mb_linear = _linear(width * (image_size // 16) ** 2, minibatch_kernels * minibatch_kernel_dim)
        self.conv2, self.bn2 = SameConv2d(width * 2 + minibatch_kernels, width * 4), _bn(width * 4)
        self.conv3, self.bn3 = SameConv2d(width * 4, width * 8), _bn(width * 8)
        self.head = _linear(width * 8 * (image_size // 16) ** 2, 1)

    def minibatch_features(self, h1: Tensor) -> Tensor:
        """(B, K): for each example and kernel, the mean over the batch of exp(-L1 distance), minus itself."""
        a = self.mb_linear(_flatten_nhwc(self.mb_conv1(_lrelu(self.mb_conv0(h1)))))
        a = rearrange(a, "b (k d) -> k b d", k=self.kernels)
        dist = torch.cdist(a, a, p=1.0)  # (K, B, B)
        return rearrange((torch.exp(-dist).sum(-1) - 1) / h1.shape[0], "k b -> b k")

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """images (B, C, S, S) → (logits (B,), h1 features (B, 2w, S/4, S/4) for the z-reconstructor)."""
        h1 = _lrelu(self.bn1(self.conv1(_lrelu(self.conv0(images)))))
        h = h1
        if self.kernels:
            feats = self.minibatch_features(h1)[:, :, None, None].expand(-1, -1, *h1.shape[-2:])
            h = torch.cat([h1, feats], dim=1)
        h = _lrelu(self.bn3(self.conv3(_lrelu(self.bn2(self.conv2(h))))))
        return self.head(_flatten_nhwc(h)).squeeze(-1), h1


class ZReconstructor(nn.Module):
    """The reference's ``discriminator_on_z``: estimates G's noise z (tanh) from the discriminator's h1 features."""

    def __init__(self, in_channels: int, z_dim: int, *, feature_size: int, width: int = 64) -> None:
        super().__init__()
        self.stack = _conv_stack(in_channels, width)
        size = feature_size
        for _ in range(4):  # SAME stride-2 output sizes: ceil(size / 2)
            size = math.ceil(size / 2)
        self.head = _linear(width * 8 * size * size, z_dim)

    def forward(self, features: Tensor) -> Tensor:
        convs, bns = self.stack["convs"], self.stack["bns"]
        h = _lrelu(convs[0](features))
        for conv, bn in zip(convs[1:], bns):
            h = _lrelu(bn(conv(h)))
        return torch.tanh(self.head(_flatten_nhwc(h)))


# ---------------------------------------------------------------------------------------------------------------
# Labels into the generator, and the losses of §5
# ---------------------------------------------------------------------------------------------------------------


def _truncated_exponential(shape: tuple[int, ...], rate: float, right: float, like: Tensor, generator) -> Tensor:
    """Exp(rate) truncated to [0, right] by inverting the CDF (the reference's ``tf_truncexpon``)."""
    u = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    low = math.exp(-rate * right)
    return -torch.log(low + (1 - low) * u) / rate


def continuous_label_noise(labels01: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """The reference's ``add_texp_noise``: {0, 1} → 0.3 / 0.7, pulled toward 0.5 by s ∈ [0, 0.2] and pushed away
    by s' ∈ [0, 0.3] (truncated exponentials of rates 5 and 15), so a 1 lands in [0.5, 1] and a 0 in [0, 0.5]."""
    l = 0.3 + 0.4 * labels01
    s = _truncated_exponential((l.shape[0], 1), 0.2 / (1 / 25), 0.2, l, generator)
    s_tail = _truncated_exponential((l.shape[0], 1), 0.3 / (1 / 50), 0.3, l, generator)
    return l + (0.5 - l) / 0.2 * s + (l - 0.5) / 0.2 * s_tail


def label_inputs(
    labels01: Tensor, label_type: str = "continuous", *, generator: torch.Generator | None = None
) -> Tensor:
    """What G receives for binary labels: the logits of the noisy (continuous) or 0.3/0.7 (discrete) labels."""
    if label_type == "continuous":
        p = continuous_label_noise(labels01, generator=generator)
    elif label_type == "discrete":
        p = 0.3 + 0.4 * labels01
    else:
        raise ValueError(f"label_type must be 'continuous' or 'discrete' (got {label_type!r})")
    tiny = 1e-6  # the reference's TINY
    return -torch.log(1 / (p + tiny) - 1)


def labeler_loss(logits: Tensor, labels01: Tensor) -> Tensor:
    """The Labeler's (on real images) or Anti-Labeler's (on generated images) loss: mean binary cross-entropy."""
    return F.binary_cross_entropy_with_logits(logits, labels01)


def generator_label_terms(
    labeler_logits: Tensor,
    anti_labeler_logits: Tensor,
    labels01: Tensor,
    *,
    form: str = "paper",
    label_logits: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The generator's two label terms ``(labeler term, anti-labeler term)``; G minimises
    ``labeler term - k_t · anti-labeler term``.

    ``form="paper"`` (§5): the cross-entropies of the Labeler's and the Anti-Labeler's predictions on G(z, l)
    against the labels l that G was given. ``form="reference"`` (the reference's ``loss_function=1``): the
    cross-entropy of the label logits G was given (``label_logits``) against the labelers' probabilities.
    """
    if form == "paper":
        return labeler_loss(labeler_logits, labels01), labeler_loss(anti_labeler_logits, labels01)
    if form == "reference":
        if label_logits is None:
            raise ValueError("form='reference' needs the label_logits fed to the generator (got None)")
        terms = [
            F.binary_cross_entropy_with_logits(label_logits, torch.sigmoid(x))
            for x in (labeler_logits, anti_labeler_logits)
        ]
        return terms[0], terms[1]
    raise ValueError(f"form must be 'paper' or 'reference' (got {form!r})")


def anti_labeler_weight(step: int, tau: float) -> float:
    """k_t = exp(-t/τ), the reference's decaying weight of the anti-labeler term (τ <= 0: always 1)."""
    return math.exp(-step / tau) if tau > 0 else 1.0


# ---------------------------------------------------------------------------------------------------------------
# The whole model
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class CausalGANOutput:
    """One forward pass of every network, as the registry sweep and the training task read it.

    Attributes:
        fake_labels: controller labels (B, N) in (0, 1).
        critic_real, critic_fake: the label critics' scores of the real and controller labels (B, G).
        images: G(z, rounded controller labels) (B, C, S, S).
        d_real, d_fake: discriminator logits (B,).
        labeler_real, labeler_fake: Labeler logits on real and generated images (B, N).
        anti_labeler_fake: Anti-Labeler logits on generated images (B, N).
        z, z_reconstructed: G's noise (B, z_dim) and the z-reconstructor's estimate (None without it).
    """

    fake_labels: Tensor
    critic_real: Tensor
    critic_fake: Tensor
    images: Tensor
    d_real: Tensor
    d_fake: Tensor
    labeler_real: Tensor
    labeler_fake: Tensor
    anti_labeler_fake: Tensor
    z: Tensor
    z_reconstructed: Tensor | None


class CausalGAN(nn.Module):
    """CausalGAN (§5): Causal Controller + label critic + G + D + Labeler + Anti-Labeler (+ z-reconstructor).

    ::

        z_n ~ U[-1,1] ──► Causal Controller (DAG of node MLPs) ──► labels l ──► round ──► noisy logits ─┐
                                  ▲ WGAN-GP (label critics vs data labels)                             │
        z ~ U[-1,1]^100 ────────────────────────────────────────────────────────────────► G(z, l) ◄─────┘
                                                                                            │
                          D (real vs fake) ◄── Labeler (trained on real) ◄── Anti-Labeler (trained on G) ◄┘

    ``forward((images, labels))`` runs every network once on a real batch and returns
    :class:`CausalGANOutput`; the training schedule is the recipe's.

    Args:
        graph: the causal graph over the labels (name or pairs); Causal Graph 1 by default.
        image_size, channels: the images' S and C.
        z_dim: G's noise width (100).
        gen_width, disc_width: ``gf_dim`` and ``df_dim`` (64).
        controller_noise_dim, controller_layers, controller_hidden: see :class:`CausalController`.
        critic_layers, critic_hidden, factorized_critic: see :class:`LabelCritic`.
        minibatch_kernels, minibatch_kernel_dim: see :class:`Discriminator`.
        z_reconstruction: build the reference's z-reconstructor.
        label_type: ``"continuous"`` or ``"discrete"`` label inputs to G (:func:`label_inputs`).
    """

    def __init__(
        self,
        graph: GraphSpec = "big_causal_graph",
        *,
        image_size: int = 64,
        channels: int = 3,
        z_dim: int = 100,
        gen_width: int = 64,
        disc_width: int = 64,
        controller_noise_dim: int = 10,
        controller_layers: int = 6,
        controller_hidden: int = 10,
        critic_layers: int = 6,
        critic_hidden: int = 15,
        factorized_critic: bool = True,
        minibatch_kernels: int = 300,
        minibatch_kernel_dim: int = 50,
        z_reconstruction: bool = True,
        label_type: str = "continuous",
    ) -> None:
        super().__init__()
        if label_type not in ("continuous", "discrete"):
            raise ValueError(f"label_type must be 'continuous' or 'discrete' (got {label_type!r})")
        self.graph = CausalGraph(graph)
        n = len(self.graph)
        self.image_size, self.channels, self.z_dim, self.label_type = image_size, channels, z_dim, label_type
        self.controller = CausalController(
            self.graph, noise_dim=controller_noise_dim, num_layers=controller_layers, hidden=controller_hidden
        )
        self.critic = LabelCritic(
            self.graph, factorized=factorized_critic, num_layers=critic_layers, hidden=critic_hidden
        )
        self.generator = Generator(z_dim, n, image_size=image_size, channels=channels, width=gen_width)
        self.discriminator = Discriminator(
            channels,
            image_size=image_size,
            width=disc_width,
            minibatch_kernels=minibatch_kernels,
            minibatch_kernel_dim=minibatch_kernel_dim,
        )
        self.labeler = Labeler(channels, n, image_size=image_size, width=disc_width)
        self.anti_labeler = Labeler(channels, n, image_size=image_size, width=disc_width)
        self.z_reconstructor = (
            ZReconstructor(disc_width * 2, z_dim, feature_size=image_size // 4, width=disc_width)
            if z_reconstruction
            else None
        )
        # Training updates taken so far (the recipe's phase and k_t schedules read it; saved with the weights).
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @property
    def label_names(self) -> list[str]:
        return list(self.graph.names)

    def sample_z(self, batch_size: int, *, generator: torch.Generator | None = None) -> Tensor:
        device = self.generator.project.weight.device
        return 2 * torch.rand(batch_size, self.z_dim, generator=generator, device=device) - 1

    def generate(
        self, labels01: Tensor, z: Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Images (B, C, S, S) for binary labels (B, N): G(z, label inputs), z ~ U[-1, 1]^z_dim unless given."""
        z = self.sample_z(labels01.shape[0], generator=generator) if z is None else z
        return self.generator(z, label_inputs(labels01, self.label_type, generator=generator))

    def check_inputs(self, images: Tensor, labels: Tensor) -> None:
        c, s, n = self.channels, self.image_size, len(self.graph)
        if images.dim() != 4 or images.shape[1:] != (c, s, s) or labels.shape != (images.shape[0], n):
            raise ValueError(
                f"expected images (B, {c}, {s}, {s}) and labels (B, {n}) "
                f"(got {tuple(images.shape)}, {tuple(labels.shape)})"
            )

    def forward(self, batch: tuple[Tensor, Tensor]) -> CausalGANOutput:
        """batch = (real images (B, C, S, S) in [-1, 1], real labels (B, N) in {0, 1}) → every network's outputs."""
        images, labels = batch
        self.check_inputs(images, labels)
        b = images.shape[0]
        fake = self.controller(self.controller.sample_noise(b)).labels
        z = self.sample_z(b)
        generated = self.generate(fake.detach().round(), z)  # the reference rounds the controller's labels
        d_real, _ = self.discriminator(images)
        d_fake, h1_fake = self.discriminator(generated)
        z_rec = self.z_reconstructor(h1_fake) if self.z_reconstructor is not None else None
        return CausalGANOutput(
            fake_labels=fake,
            critic_real=self.critic(labels),
            critic_fake=self.critic(fake),
            images=generated,
            d_real=d_real,
            d_fake=d_fake,
            labeler_real=self.labeler(images),
            labeler_fake=self.labeler(generated),
            anti_labeler_fake=self.anti_labeler(generated),
            z=z,
            z_reconstructed=z_rec,
        )


# ---------------------------------------------------------------------------------------------------------------
# Registered variants
# ---------------------------------------------------------------------------------------------------------------


def _example(n_labels: int, channels: int, size: int):
    def make(batch: int, device: Any) -> tuple[Tensor, Tensor]:
        images = torch.rand(batch, channels, size, size, device=device) * 2 - 1
        return images, torch.randint(0, 2, (batch, n_labels), device=device).float()

    return make


@register_model(
    paper=KOCAOGLU_2018,
    reference=f"{_REF} (causal_controller + causal_dcgan, --causal_model big_causal_graph)",
    reference_params=40_466_247,
    input_size=(3, 64, 64),
    example_input=_example(9, 3, 64),
)
def causalgan_celeba(**kwargs: Any) -> CausalGAN:
    """The paper's CelebA 64×64 CausalGAN on Causal Graph 1 (9 labels), the reference's default widths."""
    return CausalGAN(**{"graph": "big_causal_graph", **kwargs})


_TINY_GRAPH = [("Male", []), ("Young", []), ("Smiling", ["Male", "Young"]), ("Mouth_Open", ["Smiling"])]


@register_model(
    paper=KOCAOGLU_2018,
    reference=_REF,
    input_size=(1, 16, 16),
    example_input=_example(len(_TINY_GRAPH), 1, 16),
)
def causalgan_tiny(**kwargs: Any) -> CausalGAN:
    """A 16×16 grayscale CausalGAN on a 4-node graph with narrow networks, for tests."""
    defaults = dict(
        graph=_TINY_GRAPH,
        image_size=16,
        channels=1,
        z_dim=8,
        gen_width=4,
        disc_width=4,
        controller_noise_dim=4,
        controller_layers=3,
        controller_hidden=6,
        critic_layers=3,
        critic_hidden=6,
        minibatch_kernels=5,
        minibatch_kernel_dim=3,
    )
    return CausalGAN(**{**defaults, **kwargs})
