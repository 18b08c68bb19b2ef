"""One readable training loop for every recipe.

The loop counts optimizer steps, not epochs: the papers state budgets both ways, and a step count
makes resumption exact. Each step draws ``accumulate`` batches from a resumable sampler, calls the
task for the loss, and takes one optimizer step. Every ``eval_every`` steps the task evaluates the
validation split and the best value of the recipe's metric is kept in ``best.ckpt``; every
``ckpt_every`` steps (and at the end) the full state, RNGs included, goes to ``last.ckpt``.

A run restarted from ``last.ckpt`` continues with the same weights, optimizer moments, schedule,
sampler position and random-number streams, so it ends with the same weights as a run that was
never interrupted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from .checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from .distributed import DistInfo, barrier
from .ema import ModelEma
from .logging import MetricLogger, progress, truncate_metrics
from .optim import build_optimizer, build_scheduler
from .tasks import Task, move_to_device

__all__ = ["Trainer", "TrainResult", "TrainingDiverged", "ResumableBatchSampler", "iterate_batches", "evaluate_dataset"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left untouched."""


@dataclass
class TrainResult:
    steps: int
    seconds: float
    best_value: float | None
    best_step: int | None
    last_eval: dict[str, float]


class ResumableBatchSampler(Sampler[list[int]]):
    """Shuffled mini-batches whose order depends only on ``(seed, epoch)``.

    The global batch of ``batch_size`` indices is cut into ``world_size`` equal contiguous shards and
    rank ``r`` yields shard ``r``. ``start`` skips batches already consumed in the current epoch, so a
    resumed run sees exactly the batches the interrupted one would have seen next.
    """

    def __init__(
        self, num_items: int, batch_size: int, *, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        if batch_size <= 0 or batch_size % world_size:
            raise ValueError(
                f"train.batch_size must be a positive multiple of the {world_size} processes (got {batch_size})"
            )
        if num_items < batch_size:
            raise ValueError(f"the training set has {num_items} items, fewer than train.batch_size={batch_size}")
        self.num_items, self.batch_size, self.seed, self.shuffle = num_items, batch_size, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return self.num_items // self.batch_size  # the incomplete last batch is dropped

    def set_position(self, batches_consumed: int) -> None:
        self.epoch, self.start = divmod(batches_consumed, self.batches_per_epoch)

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.num_items, generator=g)
        else:
            order = torch.arange(self.num_items)
        shard = self.batch_size // self.world_size
        for b in range(self.start, self.batches_per_epoch):
            lo = b * self.batch_size + self.rank * shard
            yield order[lo : lo + shard].tolist()


def iterate_batches(
    dataset: Dataset, batch_sampler: Any, *, num_workers: int = 0, collate_fn: Any = None
) -> Iterator[Any]:
    """Batches for the index lists of ``batch_sampler``; tensor datasets are sliced without a loader."""
    if isinstance(dataset, TensorDataset) and collate_fn is None:
        for idx in batch_sampler:
            yield dataset[torch.as_tensor(idx)]
        return
    if hasattr(dataset, "get_batch") and collate_fn is None:
        for idx in batch_sampler:
            yield dataset.get_batch(idx)
        return
    loader = DataLoader(dataset, batch_sampler=batch_sampler, num_workers=num_workers, collate_fn=collate_fn)
    yield from loader


def eval_batches(dataset: Dataset, batch_size: int, *, num_workers: int = 0, collate_fn: Any = None):
    n = len(dataset)
    chunks = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    return iterate_batches(dataset, chunks, num_workers=num_workers, collate_fn=collate_fn)


def evaluate_dataset(
    task: Task, model: nn.Module, dataset: Dataset, *, batch_size: int, device: torch.device, collate_fn: Any = None
) -> dict[str, float]:
    """The task's metrics of ``model`` on ``dataset``, in order, without gradients (the caller sets eval mode)."""
    batches = (move_to_device(b, device) for b in eval_batches(dataset, batch_size, collate_fn=collate_fn))
    with torch.no_grad():
        return {k: float(v) for k, v in task.evaluate(model, batches).items()}


class Trainer:
    """Trains ``model`` with ``task`` on ``train_set``, evaluating on ``val_set``.

    Args:
        model: the network (already built; moved to ``device`` here).
        task: objective and metrics.
        train_set, val_set: datasets (``val_set`` None or empty: no evaluation and no ``best.ckpt``, so the
            run's last weights are the ones tested).
        config: the resolved run config; uses the ``optim``, ``schedule``, ``train`` and ``seed`` sections.
        run_dir: where checkpoints and metrics go (rank 0 only); None trains without writing anything.
        device: where to train.
        metric: the validation metric that selects ``best.ckpt``; higher_is_better: its direction.
        dist: rank information from :func:`~paperzoo.engine.distributed.init_distributed`.
    """

    def __init__(
        self,
        *,
        model: nn.Module,
        task: Task,
        train_set: Dataset,
        val_set: Dataset | None,
        config: Mapping[str, Any],
        run_dir: Path | None,
        device: torch.device,
        metric: str,
        higher_is_better: bool,
        dist: DistInfo | None = None,
        quiet: bool = False,
        collate_fn: Any = None,
    ) -> None:
        self.cfg = config
        self.train_cfg = config["train"]
        self.task = task
        # An empty validation split (e.g. val_fraction 0) means no model selection: the last weights are tested.
        self.train_set, self.val_set = train_set, (val_set if val_set is not None and len(val_set) > 0 else None)
        self.device = device
        self.metric, self.higher_is_better = metric, higher_is_better
        self.dist = dist or DistInfo()
        self.quiet = quiet
        self.collate_fn = collate_fn
        self.run_dir = run_dir if self.dist.is_main else None
        self.total_steps = int(self.train_cfg["steps"])
        self.accumulate = int(self.train_cfg.get("accumulate", 1))
        if self.total_steps <= 0:
            raise ValueError(f"train.steps must be > 0 (got {self.total_steps})")
        if self.accumulate <= 0:
            raise ValueError(f"train.accumulate must be > 0 (got {self.accumulate})")

        self.model = model.to(device)
        self.module = self.model  # the un-wrapped model, for state dicts and evaluation
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        # train.ema_decay > 0 keeps an EMA of the weights (engine/ema.py); evaluation then uses the EMA weights.
        ema_decay = float(self.train_cfg.get("ema_decay", 0.0))
        self.ema = ModelEma(self.module, ema_decay) if ema_decay > 0 else None
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(config["optim"], trainable)
        self.scheduler = build_scheduler(config["schedule"], self.optimizer, self.total_steps)
        amp = bool(self.train_cfg.get("amp", False)) and device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
        self.autocast = (lambda: torch.autocast("cuda", dtype=self.amp_dtype)) if amp else nullcontext
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp and self.amp_dtype == torch.float16)
        self.sampler = ResumableBatchSampler(
            len(train_set),
            int(self.train_cfg["batch_size"]),
            seed=int(config.get("seed", 0)),
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.step = 0
        self.batches_consumed = 0
        self.best_value: float | None = None
        self.best_step: int | None = None
        self.last_eval: dict[str, float] = {}
        self.seconds_before = 0.0  # training time spent before a resume
        self._t0 = time.perf_counter()
        self.logger = MetricLogger(self.run_dir, tensorboard=bool(self.train_cfg.get("tensorboard", True)))

    # ------------------------------------------------------------------ state
    @property
    def eval_module(self) -> nn.Module:
        """The weights that are evaluated and exported: the EMA copy when ``train.ema_decay > 0``."""
        return self.ema.module if self.ema is not None else self.module

    def state_dict(self) -> dict[str, Any]:
        extra = {} if self.ema is None else {"ema": self.ema.state_dict()}
        return {
            **extra,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "batches_consumed": self.batches_consumed,
            "best_value": self.best_value,
            "best_step": self.best_step,
            "last_eval": dict(self.last_eval),
            "seconds": self.seconds,
            "rng": capture_rng(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.module.load_state_dict(state["model"])
        if self.ema is not None:
            # A run that switches EMA on at resume starts its average from the trained weights.
            self.ema.load_state_dict(state["ema"] if "ema" in state else state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.batches_consumed = int(state["batches_consumed"])
        self.best_value, self.best_step = state["best_value"], state["best_step"]
        self.last_eval = dict(state["last_eval"])
        self.seconds_before = float(state.get("seconds", 0.0))
        restore_rng(state["rng"])

    def resume(self, checkpoint: Path) -> None:
        """Continue from ``checkpoint`` (every rank loads it; metrics logged after it are dropped)."""
        self.load_state_dict(load_checkpoint(checkpoint, map_location=self.device))
        if self.run_dir is not None:
            truncate_metrics(self.run_dir / "metrics.csv", self.step)

    @property
    def seconds(self) -> float:
        """Training time of the whole run, interrupted parts included."""
        return self.seconds_before + time.perf_counter() - self._t0

    def _save(self, name: str) -> None:
        if self.run_dir is not None:
            save_checkpoint(self.run_dir / name, self.state_dict())

    # ------------------------------------------------------------------ loop
    def _batches(self) -> Iterator[Any]:
        """An endless stream of training batches, resuming at ``batches_consumed``."""
        num_workers = int(self.train_cfg.get("num_workers", 0))
        while True:
            self.sampler.set_position(self.batches_consumed)
            yield from iterate_batches(
                self.train_set, self.sampler, num_workers=num_workers, collate_fn=self.collate_fn
            )

    def evaluate(self, dataset: Dataset | None = None) -> dict[str, float]:
        """Metrics of the task on ``dataset`` (the validation set by default), computed on rank 0."""
        dataset = self.val_set if dataset is None else dataset
        if dataset is None:
            return {}
        module = self.eval_module
        module.eval()
        bs = int(self.train_cfg.get("eval_batch_size", self.train_cfg["batch_size"]))
        with self.autocast():
            metrics = evaluate_dataset(
                self.task, module, dataset, batch_size=bs, device=self.device, collate_fn=self.collate_fn
            )
        self.module.train()
        if self.ema is not None:
            self.ema.module.eval()
        return metrics

    def _is_better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value > self.best_value if self.higher_is_better else value < self.best_value

    def _eval_and_checkpoint(self, final: bool) -> None:
        every_eval = int(self.train_cfg.get("eval_every", 0))
        every_ckpt = int(self.train_cfg.get("ckpt_every", 0))
        do_eval = self.val_set is not None and (final or (every_eval > 0 and self.step % every_eval == 0))
        if do_eval:
            if self.dist.is_main:
                self.last_eval = self.evaluate()
                self.logger.log(self.step, "val", self.last_eval)
                if self.metric not in self.last_eval:
                    raise KeyError(
                        f"the task's evaluation has no metric {self.metric!r} "
                        f"(it has {', '.join(sorted(self.last_eval))})"
                    )
                value = self.last_eval[self.metric]
                if math.isfinite(value) and self._is_better(value):
                    self.best_value, self.best_step = value, self.step
                    self._save("best.ckpt")
            barrier()
        if final or (every_ckpt > 0 and self.step % every_ckpt == 0):
            self._save("last.ckpt")
            barrier()

    def fit(self) -> TrainResult:
        """Train until ``train.steps`` optimizer steps have been taken; returns the run's outcome."""
        self._t0 = time.perf_counter()
        clip = float(self.train_cfg.get("grad_clip", 0.0))
        log_every = max(1, int(self.train_cfg.get("log_every", 10)))
        stream = self._batches()
        self.model.train()
        bar = progress(
            total=self.total_steps, initial=self.step, desc="train", quiet=self.quiet or not self.dist.is_main
        )
        try:
            while self.step < self.total_steps:
                self.optimizer.zero_grad(set_to_none=True)
                logs: dict[str, float] = {}
                loss_value = 0.0
                for micro in range(self.accumulate):
                    batch = move_to_device(next(stream), self.device)
                    self.batches_consumed += 1
                    # DDP all-reduces gradients only on the last micro-batch of an accumulated step.
                    sync = micro == self.accumulate - 1 or not self.dist.enabled
                    ctx = nullcontext() if sync else self.model.no_sync()
                    with ctx, self.autocast():
                        out = self.task.training_step(self.model, batch)
                    if not torch.isfinite(out.loss.detach()).all():
                        raise TrainingDiverged(
                            f"loss is {out.loss.item()} at step {self.step + 1}; stopped. The last good checkpoint "
                            f"is {self.run_dir / 'last.ckpt' if self.run_dir else '(none: no run folder)'}"
                        )
                    with ctx:
                        self.scaler.scale(out.loss / self.accumulate).backward()
                    loss_value += out.loss.item() / self.accumulate
                    for k, v in out.logs.items():
                        logs[k] = logs.get(k, 0.0) + float(v) / self.accumulate
                if clip > 0:
                    self.scaler.unscale_(self.optimizer)
                    logs["grad_norm"] = float(nn.utils.clip_grad_norm_(self.module.parameters(), clip))
                lr = self.optimizer.param_groups[0]["lr"]
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if self.ema is not None:
                    self.ema.update(self.module)
                self.scheduler.step()
                self.step += 1
                bar.update(1)
                if self.step % log_every == 0 or self.step == self.total_steps:
                    self.logger.log(self.step, "train", {"loss": loss_value, "lr": lr, **logs})
                    bar.set_postfix(loss=f"{loss_value:.4g}")
                self._eval_and_checkpoint(final=self.step == self.total_steps)
        finally:
            bar.close()
            self.logger.close()
        return TrainResult(self.step, self.seconds, self.best_value, self.best_step, self.last_eval)
