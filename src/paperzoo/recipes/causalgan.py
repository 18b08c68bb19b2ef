"""CausalGAN on faces with a known causal graph: interventions and conditioning both come out right.

System: CausalGAN (:mod:`paperzoo.models.generative.causalgan`). Claim checked on built-in data
(``causal_shapes``, :mod:`paperzoo.data.causal`): after adversarial training on the labels, the Causal
Controller's interventional distributions P(labels | do(X = 1)) and conditional distributions
P(labels | X = 1) each match the true ones of the data's causal network within a small total variation
distance, and they differ where the graph says they must: do(Smiling = 1) leaves P(Male = 1) at 0.5 while
conditioning on Smiling = 1 lowers it to 0.305 (Smiling has parent Male).

Training follows the paper and the reference: first the controller alone (WGAN-GP with factorised critics,
``n_critic`` critic updates per controller update), then the image part with the controller frozen
(generator updates and one joint update of the discriminator, Labeler, Anti-Labeler and z-reconstructor in
the reference's ratio, ``g_steps_per_d``; k_t = exp(-t/τ) on the anti-labeler term). Every trainer step
updates one player: the others' parameters are frozen while its loss is built, so the single optimizer
(which skips parameters without gradients) moves only that player, and the schedule is a function of the
model's saved ``num_updates`` counter, so resumption is exact.

Metric ``tvd`` (lower is better): the mean, over every node X of the graph, of the TVD between the
controller's joint label distribution (``task.eval_samples`` samples, rounded, seeded) and the exact one,
under do(X = 1) and under X = 1 (rejection sampling); ``tvd_do``, ``tvd_cond`` and ``tvd_obs`` (no
intervention) are reported apart. Baseline: independent labels with the training set's marginals (the
product of marginals, scored exactly); it cannot tell an intervention from conditioning. ``finish`` also
trains a small classifier on real training images and reports how often it recovers, on generated images,
the labels they were generated with (``generated_label_acc``), a check on the image part.

On CelebA (``full``) there is no ground-truth causal model; ``tvd`` is then the observational TVD between
the controller's joint over the graph's labels and the validation labels' empirical joint (the quantity the
paper plots against training steps for Causal Graph 1, Figure "TVD vs. step"; the paper gives a plot, not a
number, hence ``paper_number`` is None).

Deviations: one Adam for every player (the trainer's); the learning rate follows the reference's two
phases (8e-5 for the controller, 2e-4 for the image part) through a ``multistep`` schedule whose one
milestone is the phase switch, but the betas are the image part's (0.5, 0.999) in both phases (the
reference's controller uses TF's default 0.9). CelebA's controller phase reads labels only
(``labels_only``) as the reference's label queue does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.causal import CausalBayesNet, CausalShapesSplits, all_states, label_tvd, state_index
from ..engine.config import ConfigError, extend_config
from ..engine.tasks import StepOutput, Task
from ..models.generative.causalgan import (
    KOCAOGLU_2018,
    CausalGAN,
    Labeler,
    anti_labeler_weight,
    critic_gradient_penalty,
    generator_label_terms,
    label_inputs,
    labeler_loss,
    wgan_critic_loss,
)
from ..registry import create_dataset, create_model, register_recipe
from .base import BASE_CONFIG, Experiment, Finish, Recipe

__all__ = ["CausalGANTask", "CausalGANRecipe", "frozen", "independent_baseline", "queries_for"]

QUICK = extend_config(
    BASE_CONFIG,
    {
        "model": {
            "name": "causalgan_tiny",
            "kwargs": {
                "image_size": 32,
                "z_dim": 32,
                "gen_width": 8,
                "disc_width": 8,
                "controller_noise_dim": 10,
                "controller_layers": 6,
                "controller_hidden": 10,
                "critic_layers": 6,
                "critic_hidden": 15,
                "minibatch_kernels": 16,
                "minibatch_kernel_dim": 8,
                "z_reconstruction": False,
            },
        },
        "data": {
            "name": "causal_shapes",
            "path": None,
            "kwargs": {"train_size": 6000, "val_size": 500, "test_size": 500},
        },
        "optim": {"name": "adam", "lr": 1e-3, "betas": [0.5, 0.9], "weight_decay": 0.0},
        "schedule": {"name": "multistep", "milestones": [1600], "gamma": 1.0, "warmup_steps": 0},
        "train": {
            "steps": 2100,
            "batch_size": 512,
            "eval_batch_size": 500,
            "eval_every": 0,  # evaluate once at the end: the metric is flat while the image part trains
            "ckpt_every": 500,
            "log_every": 50,
            "grad_clip": 0.0,
        },
        "task": {
            "controller_steps": 1600,
            "n_critic": 1,
            "gp_lambda": 0.1,
            "g_steps_per_d": 1,
            "anti_labeler_tau": 0.0,
            "label_loss": "paper",
            "z_loss_weight": 1.0,
            "eval_samples": 20000,
            "eval_seed": 1234,
            "classifier_steps": 150,
            "image_batch_size": 64,
        },
    },
)

# The paper's CelebA run with the reference's defaults: 10,000 controller updates with 25 critic updates each
# (lr 8e-5, λ_W = 0.1), then 100,000 reference iterations of the image part (each two G updates, a D update
# every third: 7 trainer steps per 3 iterations), lr 2e-4, batch 64.
_CC_STEPS = 10_000 * 26
FULL = extend_config(
    QUICK,
    {
        "model": {"name": "causalgan_celeba", "kwargs": {}},
        "data": {"name": "celeba", "kwargs": {"image_size": 64, "crop": 108, "hflip": True}},
        "optim": {"name": "adam", "lr": 8e-5, "betas": [0.5, 0.999], "weight_decay": 0.0},
        "schedule": {"name": "multistep", "milestones": [_CC_STEPS], "gamma": 2.5, "warmup_steps": 0},
        "train": {
            "steps": _CC_STEPS + 233_334,
            "batch_size": 64,
            "eval_batch_size": 256,
            "eval_every": 0,
            "ckpt_every": 10_000,
            "log_every": 100,
            "grad_clip": 0.0,
        },
        "task": {
            "controller_steps": _CC_STEPS,
            "n_critic": 25,
            "gp_lambda": 0.1,
            "g_steps_per_d": 6,
            "anti_labeler_tau": 6000.0,  # the reference's τ = 3000 iterations of two G updates each
            "label_loss": "paper",
            "z_loss_weight": 1.0,
            "eval_samples": 50_000,
            "classifier_steps": 0,
            "image_batch_size": 0,
        },
    },
)


@contextmanager
def frozen(*modules: nn.Module | None) -> Iterator[None]:
    """Build a graph in which the modules' parameters are constants (no gradient reaches them)."""
    params = [p for m in modules if m is not None for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def queries_for(names: Sequence[str]) -> list[tuple[str, str, int]]:
    """The evaluation queries: do(X = 1) and X = 1 for every node X."""
    return [(kind, name, 1) for name in names for kind in ("do", "cond")]


def _truth(net: CausalBayesNet, kind: str, node: str, value: int) -> Tensor:
    return net.joint({node: value}) if kind == "do" else net.conditional({node: value})


def independent_baseline(train_labels: Tensor, net: CausalBayesNet, queries: Sequence[tuple[str, str, int]]):
    """TVDs of the product-of-marginals label model: under it do(X = x) and X = x give the same distribution
    (the other labels keep their marginals). Returns ``(mean TVD over queries, per-query dict, P(Male=1|·))``."""
    p1 = train_labels.double().mean(0)
    states = all_states(net.num_nodes)
    out = {}
    for kind, node, value in queries:
        i = net.index(node)
        probs = torch.where(states == 1, p1, 1 - p1)
        probs[:, i] = (states[:, i] == value).double()
        q = probs.prod(1)
        out[f"{kind}:{node}={value}"] = 0.5 * float((q - _truth(net, kind, node, value)).abs().sum())
    return sum(out.values()) / len(out), out, p1


class CausalGANTask(Task):
    """CausalGAN's two-phase, one-player-per-step training, and the controller's TVD evaluation.

    Args:
        controller_steps: trainer steps of the controller phase (then the image phase).
        n_critic: critic updates per controller update (the reference's 25).
        gp_lambda: the gradient-penalty weight λ (the reference's ``lambda_W`` = 0.1).
        g_steps_per_d: generator updates per discriminator/labelers update.
        anti_labeler_tau: τ of k_t = exp(-t/τ), t = generator updates (0: k_t = 1).
        label_loss: ``"paper"`` or ``"reference"`` (:func:`generator_label_terms`).
        z_loss_weight: weight of the z-reconstruction term in G's loss (when the model has one).
        net: the true causal network (``causal_shapes``), or None (CelebA: observational TVD only).
        eval_samples, eval_seed: controller samples per query and the seed of the evaluation generator.
        train_set: the training split, whose ``labels_only`` flag is set during the controller phase.
        image_batch_size: images per image-phase step, the first ones of each batch (0: the whole batch), so
            that the controller can learn from large label batches while the image networks take small ones.
    """

    def __init__(
        self,
        *,
        controller_steps: int,
        n_critic: int = 5,
        gp_lambda: float = 0.1,
        g_steps_per_d: int = 1,
        anti_labeler_tau: float = 0.0,
        label_loss: str = "paper",
        z_loss_weight: float = 1.0,
        net: CausalBayesNet | None = None,
        eval_samples: int = 20000,
        eval_seed: int = 1234,
        train_set: Any = None,
        image_batch_size: int = 0,
    ) -> None:
        if controller_steps < 0 or n_critic < 0 or g_steps_per_d < 1:
            raise ValueError(
                "need controller_steps, n_critic >= 0 and g_steps_per_d >= 1 "
                f"(got {controller_steps}, {n_critic}, {g_steps_per_d})"
            )
        if label_loss not in ("paper", "reference"):
            raise ValueError(f"label_loss must be 'paper' or 'reference' (got {label_loss!r})")
        if eval_samples <= 0:
            raise ValueError(f"eval_samples must be > 0 (got {eval_samples})")
        self.controller_steps, self.n_critic, self.gp_lambda = controller_steps, n_critic, gp_lambda
        self.g_steps_per_d, self.tau, self.label_loss, self.z_weight = (
            g_steps_per_d,
            anti_labeler_tau,
            label_loss,
            z_loss_weight,
        )
        self.net, self.eval_samples, self.eval_seed, self.train_set = net, eval_samples, eval_seed, train_set
        self.image_batch_size = image_batch_size

    # ------------------------------------------------------------------ training
    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        net: CausalGAN = getattr(model, "module", model)
        images, labels = batch
        step = int(net.num_updates)
        net.num_updates += 1
        in_controller_phase = step < self.controller_steps
        if self.train_set is not None and hasattr(self.train_set, "labels_only"):
            # The next batch is drawn after this step: read images only once the image phase is near.
            self.train_set.labels_only = step + 1 < self.controller_steps
        if in_controller_phase:
            return self._controller_step(net, labels.float(), step)
        if self.image_batch_size > 0:
            images, labels = images[: self.image_batch_size], labels[: self.image_batch_size]
        return self._image_step(net, images, labels.float(), step - self.controller_steps)

    def _controller_step(self, net: CausalGAN, real: Tensor, step: int) -> StepOutput:
        ctrl, critic = net.controller, net.critic
        if step % (self.n_critic + 1) < self.n_critic:  # critic update (WGAN-GP)
            with torch.no_grad():
                fake = ctrl(ctrl.sample_noise(len(real))).labels
            score_real, score_fake = critic(real), critic(fake)
            penalty = critic_gradient_penalty(critic, real, fake)
            loss = wgan_critic_loss(score_real, score_fake, penalty, self.gp_lambda)
            w_dist = float((score_real.mean(0) - score_fake.mean(0)).sum().detach())
            return StepOutput(loss, {"critic_loss": loss.item(), "w_distance": w_dist, "gp": penalty.item()})
        with frozen(critic):  # controller update: -Σ_g E[D_g(fake)]
            fake = ctrl(ctrl.sample_noise(len(real))).labels
            loss = -critic(fake).mean(0).sum()
        return StepOutput(loss, {"controller_loss": loss.item()})

    def _fake_labels(self, net: CausalGAN, batch_size: int) -> Tensor:
        with torch.no_grad():  # the controller is frozen in the image phase; G gets its rounded labels
            return net.controller.sample_binary(batch_size)

    def _image_step(self, net: CausalGAN, images: Tensor, labels: Tensor, k: int) -> StepOutput:
        net.check_inputs(images, labels)
        cycle = self.g_steps_per_d + 1
        fake01 = self._fake_labels(net, len(images))
        z = net.sample_z(len(images))
        inputs = label_inputs(fake01, net.label_type)
        zrec = net.z_reconstructor
        if k % cycle == self.g_steps_per_d:  # discriminator, Labeler, Anti-Labeler (and z-reconstructor)
            with torch.no_grad():
                generated = net.generator(z, inputs)
            d_real, _ = net.discriminator(images)
            d_fake, h1_fake = net.discriminator(generated)
            d_loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            d_loss = d_loss + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            lab = labeler_loss(net.labeler(images), labels)
            anti_logits = net.anti_labeler(generated)
            if self.label_loss == "paper":
                anti = labeler_loss(anti_logits, fake01)
            else:  # the reference trains the anti-labeler on its own generator term
                anti = F.binary_cross_entropy_with_logits(inputs, torch.sigmoid(anti_logits))
            loss = d_loss + lab + anti
            logs = {"d_loss": d_loss.item(), "labeler_loss": lab.item(), "anti_labeler_loss": anti.item()}
            if zrec is not None:
                z_loss = F.mse_loss(zrec(h1_fake.detach()), z)
                loss = loss + z_loss
                logs["z_loss"] = z_loss.item()
            return StepOutput(loss, logs)
        g_updates = k - k // cycle
        k_t = anti_labeler_weight(g_updates, self.tau)
        with frozen(net.discriminator, net.labeler, net.anti_labeler, zrec):
            generated = net.generator(z, inputs)
            d_fake, h1_fake = net.discriminator(generated)
            gan = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))  # non-saturating
            lab, anti = generator_label_terms(
                net.labeler(generated), net.anti_labeler(generated), fake01, form=self.label_loss, label_logits=inputs
            )
            loss = gan + lab - k_t * anti
            logs = {"g_gan": gan.item(), "g_labeler": lab.item(), "g_anti_labeler": anti.item(), "k_t": k_t}
            if zrec is not None and self.z_weight > 0:
                z_loss = F.mse_loss(zrec(h1_fake), z)
                loss = loss + self.z_weight * z_loss
                logs["g_z_loss"] = z_loss.item()
        return StepOutput(loss, logs)

    # ------------------------------------------------------------------ evaluation
    def _generator(self, device: torch.device) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(self.eval_seed)

    @torch.no_grad()
    def controller_tvds(self, net: CausalGAN, data_labels: Tensor | None = None) -> dict[str, float]:
        """TVDs of the controller's label distributions: observational, and per query do(X=1) / X=1."""
        ctrl = net.controller
        gen = self._generator(ctrl.nodes.weight_in.device)
        obs = ctrl.sample_binary(self.eval_samples, generator=gen)
        out: dict[str, float] = {}
        if self.net is None:  # no ground truth: compare with the empirical joint of the data's labels
            if data_labels is None:
                return out
            counts = torch.bincount(state_index(data_labels.cpu()), minlength=2 ** data_labels.shape[1]).double()
            out["tvd_obs"] = label_tvd(obs, counts / counts.sum())
            out["tvd"] = out["tvd_obs"]
            return out
        out["tvd_obs"] = label_tvd(obs, self.net.joint())
        per_kind: dict[str, list[float]] = {"do": [], "cond": []}
        for kind, node, value in queries_for(self.net.names):
            if kind == "do":
                samples = ctrl.sample_binary(self.eval_samples, do={node: value}, generator=gen)
            else:
                try:
                    samples = ctrl.sample_conditional(self.eval_samples, {node: value}, generator=gen, max_rounds=50)
                except RuntimeError:  # the controller (almost) never produces X = 1: count it as the worst case
                    samples = None
            tvd = 1.0 if samples is None else label_tvd(samples, _truth(self.net, kind, node, value))
            out[f"tvd_{kind}_{node}"] = tvd
            per_kind[kind].append(tvd)
            if node == "Smiling" and "Male" in self.net.names and samples is not None:
                out[f"p_male_{kind}_smiling"] = float(samples[:, self.net.index("Male")].mean())
        out["tvd_do"] = sum(per_kind["do"]) / len(per_kind["do"])
        out["tvd_cond"] = sum(per_kind["cond"]) / len(per_kind["cond"])
        out["tvd"] = (out["tvd_do"] + out["tvd_cond"]) / 2
        return out

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        net: CausalGAN = getattr(model, "module", model)
        correct, total, all_labels = 0.0, 0, []
        for images, labels in batches:
            pred = (net.labeler(images) > 0).float()
            correct += float((pred == labels).float().sum())
            total += labels.numel()
            all_labels.append(labels.float())
        out = self.controller_tvds(net, torch.cat(all_labels) if all_labels else None)
        if total:
            out["labeler_acc_real"] = correct / total
        return out


class CausalGANRecipe(Recipe):
    """Causal Controller + CausalGAN on ``causal_shapes`` (quick) or CelebA (full), judged by label TVD."""

    def setup(self, config: dict[str, Any]) -> Experiment:
        data_cfg, task_cfg, model_cfg = config["data"], config["task"], config["model"]
        kwargs = dict(data_cfg.get("kwargs") or {})
        if data_cfg["name"] == "causal_shapes":
            splits = create_dataset("causal_shapes", seed=int(config["seed"]), **kwargs)
            assert isinstance(splits, CausalShapesSplits)
            graph, channels, truth = splits.net.graph(), 1, splits.net
        elif data_cfg["name"] == "celeba":
            if not data_cfg.get("path"):
                raise ConfigError("the celeba data needs --data PATH (a folder with list_attr_celeba.txt)")
            graph = self._graph_of(model_cfg)
            names = [g[0] for g in graph]
            splits = create_dataset(
                "celeba", path=data_cfg["path"], attributes=names, seed=int(config["seed"]), **kwargs
            )
            channels, truth = 3, None
        else:
            raise ConfigError(f"recipe {self.name!r} trains on 'causal_shapes' or 'celeba' (got {data_cfg['name']!r})")
        model = create_model(
            model_cfg["name"], **{"graph": graph, "channels": channels, **dict(model_cfg.get("kwargs") or {})}
        )
        task = CausalGANTask(
            controller_steps=int(task_cfg["controller_steps"]),
            n_critic=int(task_cfg["n_critic"]),
            gp_lambda=float(task_cfg["gp_lambda"]),
            g_steps_per_d=int(task_cfg["g_steps_per_d"]),
            anti_labeler_tau=float(task_cfg["anti_labeler_tau"]),
            label_loss=str(task_cfg["label_loss"]),
            z_loss_weight=float(task_cfg["z_loss_weight"]),
            net=truth,
            eval_samples=int(task_cfg["eval_samples"]),
            eval_seed=int(task_cfg["eval_seed"]),
            train_set=splits.train,
            image_batch_size=int(task_cfg["image_batch_size"]),
        )
        info = {"data": splits.source, "splits": splits}
        return Experiment(model, task, splits.train, splits.val, splits.test, info=info)

    @staticmethod
    def _graph_of(model_cfg: dict[str, Any]) -> list[list[Any]]:
        from ..models.generative.causalgan import CausalGraph
        from ..registry import get_model_entry

        spec = dict(model_cfg.get("kwargs") or {}).get("graph")
        if spec is None:
            with torch.device("meta"):
                spec = get_model_entry(model_cfg["name"]).fn().graph.as_pairs()
        return CausalGraph(spec).as_pairs()

    def _train_labels(self, exp: Experiment) -> Tensor:
        ds = exp.train_set
        return ds.tensors[1] if hasattr(ds, "tensors") else ds.labels

    def _baseline(self, exp: Experiment) -> dict[str, Any]:
        if "baseline" not in exp.info:
            task: CausalGANTask = exp.task
            labels = self._train_labels(exp)
            if task.net is not None:
                value, per_query, p1 = independent_baseline(labels, task.net, queries_for(task.net.names))
            else:  # observational TVD of the product of marginals against the test labels' empirical joint
                p1 = labels.double().mean(0)
                states = all_states(labels.shape[1])
                q = torch.where(states == 1, p1, 1 - p1).prod(1)
                test = exp.test_set.labels
                counts = torch.bincount(state_index(test), minlength=len(q)).double()
                value, per_query = 0.5 * float((q - counts / counts.sum()).abs().sum()), {}
            exp.info["baseline"] = {"value": value, "per_query": per_query, "p1": p1}
        return exp.info["baseline"]

    def baseline_value(self, exp: Experiment, config: dict[str, Any]) -> float:
        return float(self._baseline(exp)["value"])

    def finish(
        self, exp: Experiment, test_metrics: dict[str, float], run_dir: Path | None, config: dict[str, Any]
    ) -> Finish:
        task: CausalGANTask = exp.task
        net: CausalGAN = exp.model
        base = self._baseline(exp)
        metrics: dict[str, float] = {"baseline/tvd": float(base["value"])}
        tables: dict[str, dict[str, Any]] = {}
        if task.net is not None:
            truth = task.net
            rows = []
            for kind, node, value in queries_for(truth.names):
                key = f"{kind}:{node}={value}"
                ours = test_metrics.get(f"tvd_{kind}_{node}", float("nan"))
                rows.append(
                    [
                        ("do(" if kind == "do" else "cond(") + f"{node}={value})",
                        round(ours, 4),
                        round(base["per_query"][key], 4),
                    ]
                )
            tables["label TVD per query (CausalGAN controller vs independent labels)"] = {
                "columns": ["query", "controller TVD", "independent-labels TVD"],
                "rows": rows,
            }
            if "Smiling" in truth.names and "Male" in truth.names:
                do_true = truth.marginal(truth.joint({"Smiling": 1}), "Male")
                cond_true = truth.marginal(truth.conditional({"Smiling": 1}), "Male")
                metrics.update(true_p_male_do_smiling=do_true, true_p_male_cond_smiling=cond_true)
                tables["P(Male=1) under do(Smiling=1) vs Smiling=1"] = {
                    "columns": ["", "do(Smiling=1)", "Smiling=1"],
                    "rows": [
                        ["truth", round(do_true, 4), round(cond_true, 4)],
                        [
                            "controller",
                            round(test_metrics.get("p_male_do_smiling", float("nan")), 4),
                            round(test_metrics.get("p_male_cond_smiling", float("nan")), 4),
                        ],
                        ["independent labels", *[round(float(base["p1"][truth.index("Male")]), 4)] * 2],
                    ],
                }
        steps = int(config["task"].get("classifier_steps", 0))
        if steps > 0 and isinstance(exp.train_set, torch.utils.data.TensorDataset):
            metrics.update(self._generated_label_accuracy(exp, steps, int(config["seed"])))
        if run_dir is not None:
            _plot_do_vs_cond(net, task, run_dir)
        return Finish(metrics=metrics, tables=tables)

    @staticmethod
    def _generated_label_accuracy(exp: Experiment, steps: int, seed: int) -> dict[str, float]:
        """Train a fresh classifier on real training images; score it on real test images and on generated images
        against the labels they were generated from."""
        net: CausalGAN = exp.model
        images, labels = exp.train_set.tensors
        gen = torch.Generator().manual_seed(seed + 7)
        clf = Labeler(net.channels, labels.shape[1], image_size=net.image_size, width=8)
        opt = torch.optim.Adam(clf.parameters(), lr=2e-3)
        for _ in range(steps):
            idx = torch.randint(0, len(images), (128,), generator=gen)
            loss = labeler_loss(clf(images[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        clf.eval()
        net.eval()
        with torch.no_grad():
            test_images, test_labels = exp.test_set.tensors
            real_acc = float(((clf(test_images) > 0).float() == test_labels).float().mean())
            fake01 = net.controller.sample_binary(len(test_labels), generator=gen)
            fake_images = net.generate(fake01, generator=gen)
            fake_acc = float(((clf(fake_images) > 0).float() == fake01).float().mean())
            # The same classifier on images generated with shuffled labels: the chance-like reference.
            shuffled = fake01[torch.randperm(len(fake01), generator=gen)]
            chance = float(((clf(fake_images) > 0).float() == shuffled).float().mean())
        return {
            "classifier_acc_real": real_acc,
            "generated_label_acc": fake_acc,
            "generated_label_acc_shuffled": chance,
        }


def _plot_do_vs_cond(net: CausalGAN, task: CausalGANTask, run_dir: Path) -> None:
    """Generated images under do(Smiling=1) (top rows) and Smiling=1 (bottom rows), as the paper's figures."""
    if "Smiling" not in net.label_names:
        return
    from ..report.plots import _figure_cls

    gen = torch.Generator().manual_seed(task.eval_seed)
    net.eval()
    with torch.no_grad():
        do = net.controller.sample_binary(16, do={"Smiling": 1}, generator=gen)
        cond = net.controller.sample_conditional(16, {"Smiling": 1}, generator=gen)
        imgs = net.generate(torch.cat([do, cond]), generator=gen).cpu()
    fig = _figure_cls()(figsize=(8, 4.4))
    axes = fig.subplots(4, 8)
    for ax, img in zip(axes.flat, imgs):
        ax.imshow(((img + 1) / 2).clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle("top: do(Smiling=1); bottom: conditioned on Smiling=1")
    path = run_dir / "plots" / "do_vs_cond.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")


register_recipe(
    CausalGANRecipe(
        name="causalgan",
        system="CausalGAN",
        paper=KOCAOGLU_2018,
        model="causalgan_tiny",
        metric="tvd",
        higher_is_better=False,
        baseline="independent labels with the training marginals (product of marginals), scored exactly",
        claim=(
            "the trained Causal Controller matches the true interventional and conditional label distributions "
            "(low TVD), and do(Smiling=1) leaves P(Male) at 0.5 while conditioning on Smiling=1 lowers it"
        ),
        configs={"quick": QUICK, "full": FULL},
        paper_number=None,
    )
)
