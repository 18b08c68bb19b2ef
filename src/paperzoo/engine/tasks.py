"""Tasks: a model plus the objective that trains it and the metrics that judge it.

The trainer knows nothing about what a batch means. A task turns a batch into a loss
(:meth:`Task.training_step`) and a split into metrics (:meth:`Task.evaluate`). Paper-specific
training quirks (two augmented views, Cloze masking, GAN alternation, diffusion timesteps) live in
a task subclass, never in the trainer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["StepOutput", "Task", "ClassificationTask", "move_to_device", "tensors_in"]


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device) for v in batch)
    return batch


def tensors_in(obj: Any) -> list[Tensor]:
    """Every tensor in a (nested) model output: a tensor, a dataclass, a mapping or a sequence."""
    if isinstance(obj, Tensor):
        return [obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in tensors_in(v)]
    return []


@dataclass
class StepOutput:
    """What one training step returns: the loss to back-propagate and scalars worth logging."""

    loss: Tensor
    logs: dict[str, float] = field(default_factory=dict)


class Task:
    """Base class. Subclasses implement :meth:`training_step` and :meth:`evaluate`."""

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        raise NotImplementedError


def _main(out: Any) -> Tensor:
    """The main logits of a model output (a model left in training mode may also return auxiliary ones)."""
    return getattr(out, "logits", out)


class ClassificationTask(Task):
    """Cross-entropy (optionally label-smoothed) on ``(inputs, targets)`` batches; top-1/top-k accuracy.

    A model that returns auxiliary logits in training (an object with ``logits``, ``aux_logits`` and
    ``aux_weights``, e.g. GoogLeNet's two auxiliary classifiers at weight 0.3) is trained on the main
    loss plus the weighted auxiliary losses; the logged accuracy is the main head's.

    Multi-view evaluation: with ``sample_ndim`` set (4 for images ``(B, C, H, W)``, 5 for clips
    ``(B, C, T, H, W)``), an evaluation input with one more dimension, ``(B, V, ...)``, holds V views of each
    example (AlexNet's ten crops; a video's spatial crops × temporal clips), and the softmax is averaged over
    them. For multi-pathway inputs (a list of tensors) every tensor carries the views dimension.
    """

    def __init__(
        self,
        *,
        label_smoothing: float = 0.0,
        topk: tuple[int, ...] = (1,),
        loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
        sample_ndim: int | None = None,
    ) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1) (got {label_smoothing})")
        if sample_ndim is not None and sample_ndim < 2:
            raise ValueError(f"sample_ndim must be >= 2 or None (got {sample_ndim})")
        self.label_smoothing = label_smoothing
        self.topk = topk
        self.loss_fn = loss_fn
        self.sample_ndim = sample_ndim

    def _num_views(self, x: Any) -> int | None:
        """V when ``x`` is a multi-view batch ``(B, V, ...)`` (see the class docstring), else None."""
        first = x[0] if isinstance(x, (list, tuple)) else x
        if self.sample_ndim is None or not isinstance(first, Tensor) or first.dim() != self.sample_ndim + 1:
            return None
        return first.shape[1]

    def _eval_logits(self, model: nn.Module, x: Any) -> Tensor:
        views = self._num_views(x)
        if views is None:
            return _main(model(x))
        flat = [t.flatten(0, 1) for t in x] if isinstance(x, (list, tuple)) else x.flatten(0, 1)
        probs = _main(model(flat)).softmax(-1)
        return probs.view(-1, views, probs.shape[-1]).mean(1).log()

    def _loss(self, logits: Tensor, y: Tensor) -> Tensor:
        if self.loss_fn is not None:
            return self.loss_fn(logits, y)
        return F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        x, y = batch
        out = model(x)
        logits = _main(out)
        loss = self._loss(logits, y)
        logs = {"acc": (logits.detach().argmax(-1) == y).float().mean().item()}
        for i, (aux, weight) in enumerate(zip(getattr(out, "aux_logits", ()), getattr(out, "aux_weights", ()))):
            aux_loss = self._loss(aux, y)
            loss = loss + weight * aux_loss
            logs[f"aux{i + 1}_loss"] = aux_loss.item()
        return StepOutput(loss, logs)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        total, loss_sum = 0, 0.0
        correct = dict.fromkeys(self.topk, 0)
        for x, y in batches:
            logits = self._eval_logits(model, x)
            loss_sum += self._loss(logits, y).item() * y.numel()
            top = logits.topk(max(self.topk), dim=-1).indices
            for k in self.topk:
                correct[k] += (top[:, :k] == y[:, None]).any(-1).sum().item()
            total += y.numel()
        out = {"loss": loss_sum / max(total, 1)}
        for k in self.topk:
            out["acc" if k == 1 else f"acc@{k}"] = correct[k] / max(total, 1)
        return out
