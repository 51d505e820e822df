"""Fine-tune GhostNet on an image folder: one function, :func:`finetune`, that the
``ghostnet finetune`` command, the data-parallel script and the demo all call.

A run:

1. scans the data (:mod:`.data`); without ``val/`` it splits train and writes ``split.json``;
2. checks that the output folder is writable and has room for the checkpoints, before any
   training;
3. builds the network with a fresh head for the data's classes, restoring the backbone from
   ``model`` in the same call (a checkpoint file, or a hub name through the hub client);
4. trains with label-smoothed cross-entropy and Momentum on a warm-up + cosine schedule
   (:mod:`.optim`), one jit-compiled step per batch (:class:`.optim.TrainStep` in graph mode);
5. after each epoch evaluates top-1/top-5 on val, saves ``last.ckpt`` (and ``best.ckpt``
   when val top-1 improved) with the class names, the epoch, the momenta and the step, and
   rewrites ``metrics.csv`` and ``curves.png`` (:mod:`.run_log`).

The run's options are saved in ``config.json`` (:mod:`.run_config`). ``resume=True``
restores them and reloads ``last.ckpt``: weights, momenta, epoch and schedule position. Ctrl-C
(or SIGTERM) saves a resumable ``last.ckpt`` (at the step reached) before the
``KeyboardInterrupt`` propagates. Under data-parallel training every rank calls
:func:`finetune` with its ``rank`` and ``group_size``; each trains on its shard, and rank 0
alone writes files.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import mindspore as ms
import numpy as np
from mindspore import nn

from .atomic import atomic_path, copy_file, remove_stale_temps, write_text
from .checkpoint import read_checkpoint, restore
from .data import (
    ImageFolderData,
    eval_dataset,
    eval_transform,
    read_image_folder,
    steps_per_epoch,
    train_dataset,
    train_transforms,
)
from .errors import (
    CheckpointError,
    DatasetError,
    FinetuneOptionsError,
    OutputError,
    TrainingDivergedError,
)
from .factory import create_network
from .features import FrozenPart, frozen_part
from .finetune_config import FinetuneConfig
from .ghostnet import GhostNet
from .numerics import weights_problem
from .optim import LossAndLogits, TrainStep, freeze, momentum_optimizer, warmup_cosine
from .progress import progress_bar
from .registry import (
    BEST_TOP1_KEY,
    EPOCH_KEY,
    IMAGENET_PREPROCESSING,
    VARIANTS,
    Preprocessing,
    meta_entries,
    read_meta,
    scalar_entry,
    variant_key,
)
from .run_config import clear_run, prepare_run, write_run_config
from .run_log import CURVES_FILE, METRICS_FILE, Row, draw_curves, read_metrics, write_metrics
from .weights import WEIGHTS_FILE_SUFFIXES, resolve_weights

LAST_CHECKPOINT = "last.ckpt"
BEST_CHECKPOINT = "best.ckpt"
SPLIT_FILE = "split.json"
LEARNING_RATE_PARAM = "learning_rate"
"""The optimizer's per-step rate list: not restored on resume, it is recomputed."""
SPACE_MARGIN_BYTES = 16 * 2**20
"""Free space asked for beyond the checkpoints themselves (metrics, curves, split)."""
OUTPUT_STRIDE_STAGES = 5
"""Stride-2 stages of every GhostNet variant (output stride 32)."""
MIN_BATCHNORM_VALUES = 4
"""Fewest values per channel a BatchNorm layer may see in a step. With one, the variance is
zero; with two, the normalised output is +-1 whatever the input, and its gradient is scaled
by up to 1/(2 sqrt(eps)) ~ 158 per layer. Measured at 32 px, 2 classes, lr 0.01: batch 2 on
20 images diverged within 9 steps (BatchNorm variance 3.7e26); on 80 images for 2 epochs,
batch 4 trained unstably (variance 1.2e3) and batch 8 trained (variance 29)."""
RECOMMENDED_BATCHNORM_VALUES = 16
"""Below this many values per channel a run is warned about (:class:`SmallBatchWarning`)."""
EXPLODED_LOSS_FACTOR = 25.0
"""A step loss above this many times that of guessing uniformly (ln of the number of
classes) is taken as divergence."""


class SmallBatchWarning(UserWarning):
    """A batch small enough that BatchNorm statistics make training unstable."""


@dataclass
class FinetuneResult:
    """What a run produced: the output folder, its metrics rows, and this rank's losses."""

    output: Path
    classes: Tuple[str, ...]
    metrics: List[Row]
    network: GhostNet
    optimizer: nn.Momentum
    """The optimizer after the run: its momenta and ``global_step`` (the schedule position)."""
    step_losses: List[float] = field(default_factory=list)
    """The loss of every step this process ran, in order (its own shard's loss)."""


def finetune(
    config: FinetuneConfig,
    *,
    rank: int = 0,
    group_size: int = 1,
    preprocessing: Preprocessing = IMAGENET_PREPROCESSING,
) -> FinetuneResult:
    """Run the fine-tuning described by ``config`` (see the module docstring).

    Args:
        config: the run's options.
        rank, group_size: this worker's place in data-parallel training (the caller has
            initialised communication and set the parallel context); 0 and 1 alone.
        preprocessing: the eval transform record; train augmentation and eval crop follow
            ``config.image_size``.

    Raises:
        DatasetError: the data folder is unusable (no classes, one class, a bad image, ...).
        OptionError: a bad option, a folder holding a run without ``resume`` or
            ``overwrite``, or a resume option that contradicts the saved run (before any work).
        OutputError: the output folder is unwritable or lacks space; raised before training.
        CheckpointError: ``model`` or the ``last.ckpt`` to resume cannot be restored.
        FinetuneOptionsError: an option out of range, or a batch too small for BatchNorm
            statistics (see :data:`MIN_BATCHNORM_VALUES`); raised before training.
        TrainingDivergedError: a step's loss was not finite or exploded, or after an epoch
            the weights hold NaN or infinities or exploded BatchNorm statistics; the
            checkpoints already written are kept, the diverged state is not saved.
        KeyboardInterrupt: after saving a resumable ``last.ckpt``.
    Warns:
        SmallBatchWarning: a batch that makes BatchNorm statistics noisy (before training).
    """
    writer = rank == 0
    config = prepare_run(config, writer=writer)
    _check_config(config, preprocessing)
    data = read_image_folder(config.data, config.val_split, config.seed)
    output = Path(config.output)
    if writer:
        _prepare_output(output)
        if config.overwrite:
            clear_run(output)

    resume_params = _resume_params(output, data) if config.resume else None
    if writer:  # once a resume has its checkpoint: a failed one leaves the folder as it was
        write_run_config(config)
    arch = _resume_arch(resume_params, output) if resume_params is not None else config.arch
    ms.set_seed(config.seed)
    net, arch = build_network(
        config, len(data.classes), arch=arch, from_scratch=resume_params is not None
    )
    frozen = freeze(net, backbone=config.freeze_backbone, stages=config.freeze_stages)
    if frozen:
        print(f"frozen: {len(frozen)} parameter tensors; training {len(net.trainable_params())}")

    spe = steps_per_epoch(len(data.train), config.batch_size, group_size)
    if spe < 1:
        raise DatasetError(
            str(config.data),
            f"{len(data.train)} train images make no full "
            f"batch of {config.batch_size} x {group_size} "
            "worker(s); lower --batch-size",
        )
    total_steps = spe * config.epochs
    rates = warmup_cosine(config.lr, total_steps, int(round(config.warmup_epochs * spe)))
    optimizer = momentum_optimizer(
        net.trainable_params(), rates, momentum=config.momentum, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    # A frozen prefix runs outside the train step, on the inference path (issue 15).
    frozen_prefix = frozen_part(
        net,
        arch,
        backbone=config.freeze_backbone,
        stages=config.freeze_stages,
        output=output,
        batch_size=config.batch_size,
        augment=config.augment,
        transform=eval_transform(preprocessing, config.image_size),
    )
    trained = net if frozen_prefix is None else frozen_prefix.rest
    train_step = TrainStep(LossAndLogits(trained, loss_fn), optimizer)
    if writer:
        _check_space(output, train_step)
        if data.split is not None:
            write_text(output / SPLIT_FILE, json.dumps(data.split, indent=1) + "\n")

    start_epoch, best_top1 = 0, -1.0
    metrics: List[Row] = []  # a fresh run starts a fresh metrics.csv
    if resume_params is not None:
        metrics = read_metrics(output / METRICS_FILE) if writer else []
        start_epoch, best_top1 = _restore_training(train_step, resume_params, output)
        step = int(optimizer.global_step.asnumpy().reshape(-1)[0])
        print(f"resuming after epoch {start_epoch}, at step {step}")
        metrics = [row for row in metrics if row["epoch"] <= start_epoch]
    run = _Run(
        config,
        data,
        net,
        train_step,
        optimizer,
        rates,
        spe,
        rank,
        group_size,
        preprocessing,
        arch,
        writer,
        output,
        metrics,
        best_top1,
        frozen_prefix,
    )
    previous_mode = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        run.train(start_epoch)
    finally:
        ms.set_context(mode=previous_mode)
    net.set_train(False)
    return FinetuneResult(output, data.classes, run.metrics, net, optimizer, run.step_losses)


def _check_config(config: FinetuneConfig, preprocessing: Preprocessing) -> None:
    variant_key(config.arch)
    for name in ("epochs", "batch_size", "workers"):
        if getattr(config, name) < 1:
            raise FinetuneOptionsError(f"{name} must be >= 1, got {getattr(config, name)}")
    if config.image_size is not None and config.image_size < 8:
        raise FinetuneOptionsError(f"image_size must be >= 8, got {config.image_size}")
    if not config.lr > 0:
        raise FinetuneOptionsError(f"lr must be positive, got {config.lr}")
    _check_batchnorm_batch(config.batch_size, preprocessing.at_size(config.image_size).crop)


def batchnorm_values(batch_size: int, image_size: int) -> int:
    """Values each BatchNorm channel of the last stage sees per step on one worker: the batch
    times the pixels of GhostNet's smallest feature map (five stride-2 stages, each rounding
    up, so 32 px -> 1x1 and 224 px -> 7x7). Batch statistics are per worker."""
    side = image_size
    for _ in range(OUTPUT_STRIDE_STAGES):
        side = -(-side // 2)
    return batch_size * side * side


def _check_batchnorm_batch(batch_size: int, image_size: int) -> None:
    """Refuse a batch whose last-stage BatchNorm statistics are degenerate, warn about one
    whose statistics are too noisy to train reliably (see :data:`MIN_BATCHNORM_VALUES`)."""
    values = batchnorm_values(batch_size, image_size)
    advice = (
        f"at --image-size {image_size} raise --batch-size to at least "
        f"{-(-RECOMMENDED_BATCHNORM_VALUES * batch_size // values)}, or raise --image-size"
    )
    if values < MIN_BATCHNORM_VALUES:
        raise FinetuneOptionsError(
            f"--batch-size {batch_size}: the last stage's BatchNorm layers would see only "
            f"{values} value(s) per channel per step, too few for batch statistics (they "
            f"need {MIN_BATCHNORM_VALUES}); {advice}"
        )
    if values < RECOMMENDED_BATCHNORM_VALUES:
        warnings.warn(
            f"--batch-size {batch_size}: the last stage's BatchNorm layers see only "
            f"{values} values per channel per step; training may be unstable "
            f"({RECOMMENDED_BATCHNORM_VALUES} or more recommended); {advice}",
            SmallBatchWarning,
            stacklevel=3,
        )


def _prepare_output(output: Path) -> None:
    """Create ``output`` and prove it writable with a real file, before any training."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(output)  # e.g. a checkpoint being saved when a run was killed -9
        with atomic_path(output / ".write-test") as probe:
            probe.write_bytes(b"ok")
        (output / ".write-test").unlink()
    except OSError as error:
        raise OutputError(
            str(output), f"output folder is not writable ({error.strerror or error})"
        ) from error


def _check_space(output: Path, train_step: nn.Cell) -> None:
    """Fail now if ``output`` cannot hold last.ckpt, best.ckpt and one temporary copy."""
    checkpoint_bytes = sum(
        int(np.prod(p.shape)) * p.data.itemsize for p in train_step.get_parameters()
    )
    needed = 3 * checkpoint_bytes + SPACE_MARGIN_BYTES
    free = shutil.disk_usage(output).free
    if free < needed:
        raise OutputError(
            str(output),
            f"too little free disk space: {free / 2**20:.0f} MiB "
            f"free, {needed / 2**20:.0f} MiB needed for the "
            "checkpoints",
        )


def build_network(
    config: FinetuneConfig,
    num_classes: int,
    *,
    arch: Optional[str] = None,
    from_scratch: bool = False,
) -> Tuple[GhostNet, str]:
    """The network with a fresh ``num_classes`` head, with the backbone restored from
    ``config.model`` in the same call, and its variant name.

    ``model`` is a ``.ckpt`` file (built as ``arch``) or a hub name (uid, short uid, card URL
    or card path), fetched and verified by the hub client and built as its card's
    ``model-name`` (see :func:`.weights.resolve_weights`). Without a model, or
    ``from_scratch`` (a resume overwrites the weights anyway), the weights are random.

    Raises:
        CheckpointError: the checkpoint does not fit the network.
        ModelSpecError, HubNameError, CardError, DownloadError, IntegrityError,
        OfflineError: the model cannot be resolved.
    """
    arch = config.arch if arch is None else arch
    if from_scratch or config.model is None:
        return create_network(arch, num_classes, drop_rate=config.drop_rate), arch
    is_file = config.model.lower().endswith(WEIGHTS_FILE_SUFFIXES)
    weights = resolve_weights(config.model, arch if is_file else None, quiet=not config.progress)
    return create_network(
        weights.arch, num_classes, pretrained=weights, drop_rate=config.drop_rate
    ), weights.arch


def _resume_params(output: Path, data: ImageFolderData) -> Mapping[str, object]:
    last = output / LAST_CHECKPOINT
    params = read_checkpoint(last)
    names = read_meta(params, str(last)).class_names
    if names is not None and tuple(names) != data.classes:
        raise CheckpointError(
            f"{last}: trained on classes {names}, but the data has {list(data.classes)}"
        )
    return params


def _resume_arch(params: Mapping[str, object], output: Path) -> str:
    arch = read_meta(params, str(output / LAST_CHECKPOINT)).arch
    if arch is None or arch not in VARIANTS:
        raise CheckpointError(
            f"{output / LAST_CHECKPOINT}: records no valid architecture to resume from"
        )
    return arch


def _restore_training(
    train_step: nn.Cell, params: Mapping[str, object], output: Path
) -> Tuple[int, float]:
    """Load weights, momenta and ``global_step`` into ``train_step``; (epoch, best top-1).

    The learning-rate list is not loaded: it is recomputed from the options, and its
    position is ``global_step``.
    """
    last = output / LAST_CHECKPOINT
    restore(train_step, params, source=str(last), skip=(LEARNING_RATE_PARAM,))
    if EPOCH_KEY not in params:
        raise CheckpointError(f"{last}: cannot resume, no {EPOCH_KEY!r} entry")
    return int(scalar_entry(params[EPOCH_KEY])), scalar_entry(params.get(BEST_TOP1_KEY, -1.0))


class _Run:
    """The epoch loop of one run, with its checkpointing; built and driven by finetune."""

    def __init__(
        self,
        config: FinetuneConfig,
        data: ImageFolderData,
        net: GhostNet,
        train_step: nn.Cell,
        optimizer: nn.Momentum,
        rates: List[float],
        spe: int,
        rank: int,
        group_size: int,
        preprocessing: Preprocessing,
        arch: str,
        writer: bool,
        output: Path,
        metrics: List[Row],
        best_top1: float,
        frozen: Optional[FrozenPart] = None,
    ) -> None:
        self.config, self.data, self.net = config, data, net
        self.train_step, self.optimizer, self.rates = train_step, optimizer, rates
        self.spe, self.rank, self.group_size = spe, rank, group_size
        self.arch, self.writer, self.output = arch, writer, output
        self.metrics, self.best_top1 = metrics, best_top1
        self.frozen = frozen
        self.step_losses: List[float] = []
        self.signals = _StopSignals()
        self.completed = 0
        """Epochs finished and saved; what a checkpoint written on interruption records."""
        self.session = int(metrics[-1]["session"]) + 1 if metrics else 1
        """This session's number in the run (see :mod:`.run_log`): one more than the last
        row's when resuming."""
        self.eval_ops = eval_transform(preprocessing, config.image_size)
        self.train_ops = (
            train_transforms(preprocessing, config.image_size, config.min_crop_scale)
            if config.augment
            else self.eval_ops
        )
        self.loss_limit = EXPLODED_LOSS_FACTOR * math.log(max(len(data.classes), 2))

    def global_step(self) -> int:
        return int(self.optimizer.global_step.asnumpy().reshape(-1)[0])

    def train(self, start_epoch: int) -> None:
        self.completed = start_epoch
        try:
            with self.signals:
                if self.writer and start_epoch < self.config.epochs:
                    print(
                        "compiling the training step (graph mode: the first step takes "
                        "a while, about 20 s for GhostNet 1.0x on a CPU)",
                        flush=True,
                    )
                for epoch in range(start_epoch, self.config.epochs):
                    loss, top1, seconds = self._train_epoch(epoch)
                    problem = self._weights_problem()  # every rank: their weights are equal
                    if problem is not None:
                        raise TrainingDivergedError(self._stopped(epoch, problem))
                    if self.writer:
                        self._end_epoch(epoch, loss, top1, seconds)
                    self.completed = epoch + 1
        except KeyboardInterrupt:
            if self.writer and self._weights_problem() is not None:
                print("\ninterrupted: the weights have diverged, so nothing was saved", flush=True)
            elif self.writer:
                # the epoch count stays at the last finished epoch; global_step holds the
                # position inside the next one, so a resume skips the batches already trained
                self._save(self.output / LAST_CHECKPOINT, self.completed)
                print(
                    f"\ninterrupted: resumable checkpoint saved at step "
                    f"{self.global_step()} ({self.output / LAST_CHECKPOINT})",
                    flush=True,
                )
            raise

    def _train_epoch(self, epoch: int) -> Tuple[float, float, float]:
        """(mean loss, top-1 accuracy on the batches as trained, seconds) of one epoch."""
        config = self.config
        done = self.global_step() - epoch * self.spe
        images = config.batch_size * self.group_size
        self.train_step.set_train(True)
        losses: List[float] = []
        correct = seen = 0
        started = time.perf_counter()
        bar = progress_bar(
            total=self.spe,
            initial=done,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="step",
            enabled=config.progress and self.writer,
            leave=True,
        )
        with bar:
            batches = self._batches(epoch, done)
            self.signals.rearm()  # starting a pipeline installs minddata's own handler
            for image, label in batches:
                self.signals.rearm()
                tick = time.perf_counter()
                loss_tensor, logits = self.train_step(image, label)
                loss = float(loss_tensor.asnumpy())
                self.signals.rearm()
                correct += int((logits.asnumpy().argmax(axis=1) == label.asnumpy()).sum())
                seen += len(logits)
                self._check_loss(epoch, loss)
                losses.append(loss)
                self.step_losses.append(loss)
                bar.set_postfix(
                    loss=f"{loss:.4f}",
                    img_s=f"{images / max(time.perf_counter() - tick, 1e-9):.0f}",
                )
                bar.update(1)
        seconds = time.perf_counter() - started
        mean_loss = float(np.mean(losses)) if losses else math.nan
        return mean_loss, (correct / seen if seen else math.nan), seconds

    def _batches(self, epoch: int, done: int) -> Iterator[Tuple[ms.Tensor, ms.Tensor]]:
        """The epoch's (input, label) batches after the ``done`` first: images, or the frozen
        prefix's outputs (cached when the images are not augmented; see :mod:`.features`)."""
        config = self.config
        if self.frozen is not None and not config.augment:
            return self.frozen.train_batches(
                self.data.train,
                epoch=epoch,
                seed=config.seed,
                num_shards=self.group_size,
                shard_id=self.rank,
                skip_batches=done,
            )
        dataset = train_dataset(
            self.data.train,
            self.train_ops,
            config.batch_size,
            epoch=epoch,
            seed=config.seed,
            num_shards=self.group_size,
            shard_id=self.rank,
            skip_batches=done,
            workers=config.workers,
        )
        batches = dataset.create_tuple_iterator(num_epochs=1)
        return batches if self.frozen is None else self.frozen.map_images(batches)

    def _check_loss(self, epoch: int, loss: float) -> None:
        """Stop at a non-finite or exploded step loss. Under data parallelism a rank's loss
        is its own, so stopping one rank would leave the others waiting; there the weights
        check after the epoch (equal on every rank) decides."""
        if math.isfinite(loss) and loss <= self.loss_limit:
            return
        if self.group_size == 1:
            what = (
                "is not finite"
                if not math.isfinite(loss)
                else f"exceeds {self.loss_limit:.3g} ({EXPLODED_LOSS_FACTOR:g} x a uniform guess's)"
            )
            raise TrainingDivergedError(
                self._stopped(
                    epoch, f"the loss of step {self.global_step()} is {loss:.4g}, which {what}"
                )
            )

    def _weights_problem(self) -> Optional[str]:
        return weights_problem((p.name, p.asnumpy()) for p in self.net.get_parameters())

    def _stopped(self, epoch: int, problem: str) -> str:
        """The message of a run stopped by divergence: what, where, what is kept, what to do."""
        last = self.output / LAST_CHECKPOINT
        kept = (
            f"{last} (after epoch {self.completed}) is the last good checkpoint"
            if self.completed and last.is_file()
            else "no checkpoint was written"
        )
        return (
            f"fine-tuning diverged in epoch {epoch + 1}: {problem}. Stopped; {kept}. "
            "Lower --lr, or raise --batch-size or --image-size"
        )

    def _end_epoch(self, epoch: int, train_loss: float, train_top1: float, seconds: float) -> None:
        val_loss, top1, top5 = self.evaluate()
        step = self.global_step()
        row: Row = {
            "epoch": epoch + 1,
            "step": step,
            "lr": self.rates[max(step - 1, 0)],
            "train_loss": train_loss,
            "train_top1": train_top1,
            "val_loss": val_loss,
            "val_top1": top1,
            "val_top5": top5,
            "epoch_seconds": seconds,
            "images_per_second": self.spe * self.config.batch_size * self.group_size / seconds,
            "session": self.session,
        }
        self.metrics.append(row)
        improved = top1 > self.best_top1
        if improved:
            self.best_top1 = top1
        self._save(self.output / LAST_CHECKPOINT, epoch + 1)
        self.completed = epoch + 1
        if improved:
            copy_file(self.output / LAST_CHECKPOINT, self.output / BEST_CHECKPOINT)
        write_metrics(self.output / METRICS_FILE, self.metrics)
        title = (
            f"{self.arch} on {Path(self.config.data).name} at "
            f"{self.config.image_size or 'default'} px"
        )
        draw_curves(self.output / CURVES_FILE, self.metrics, title=title)
        print(
            f"epoch {epoch + 1}: train loss {train_loss:.4f}, top-1 {train_top1:.4f}; "
            f"val loss {val_loss:.4f}, "
            f"val top-1 {top1:.4f}, top-5 {top5:.4f}{' (best)' if improved else ''}",
            flush=True,
        )

    def evaluate(self) -> Tuple[float, float, float]:
        """(cross-entropy, top-1, top-5) of the network on val, in eval mode."""
        self.net.set_train(False)
        if self.frozen is not None:  # the frozen prefix's cached outputs (issue 15)
            labels_array = np.array([label for _, label in self.data.val], np.int32)
            return topk_metrics(self.frozen.logits(self.data.val), labels_array)
        dataset = eval_dataset(
            self.data.val, self.eval_ops, self.config.batch_size, workers=self.config.workers
        )
        logits, labels = [], []
        batches = dataset.create_tuple_iterator(num_epochs=1)
        self.signals.rearm()
        for image, label in batches:
            self.signals.rearm()
            logits.append(self.net(image).asnumpy())
            self.signals.rearm()
            labels.append(label.asnumpy())
        return topk_metrics(np.concatenate(logits), np.concatenate(labels))

    def _save(self, path: Path, epochs_done: int) -> None:
        extra: Dict[str, object] = dict(
            meta_entries(self.data.classes, self.config.image_size, arch=self.arch)
        )
        extra[EPOCH_KEY] = int(epochs_done)
        extra[BEST_TOP1_KEY] = float(self.best_top1)
        with atomic_path(path, suffix=".ckpt") as temporary:
            ms.save_checkpoint(self.train_step, str(temporary), append_dict=extra)


class _StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt while training, so the run saves a
    resumable checkpoint and exits; the previous handlers come back afterwards.

    MindSpore's graph runtime installs its own SIGINT handler on every graph run, and that
    handler ends the process with SIGTERM; nothing would be saved. So the handlers are armed
    again after each run (:meth:`rearm`), and SIGTERM is caught too: it is what MindSpore's
    handler sends when the signal lands in the middle of a step, and what a job scheduler
    sends before it kills a job.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._active = threading.current_thread() is threading.main_thread()
        self._previous: Dict[int, object] = {}

    def __enter__(self) -> "_StopSignals":
        if self._active:
            self._previous = {number: signal.getsignal(number) for number in self.SIGNALS}
            self.rearm()
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def rearm(self) -> None:
        """Install the handlers again (after a graph run replaced them)."""
        if self._active:
            for number in self.SIGNALS:
                signal.signal(number, _raise_interrupt)


def _raise_interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(number).name}")


def topk_metrics(logits: np.ndarray, labels: np.ndarray) -> Tuple[float, float, float]:
    """(mean cross-entropy, top-1 accuracy, top-5 accuracy) of ``logits`` against ``labels``;
    top-5 is top-``k`` with ``k = min(5, classes)``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(labels)), labels].mean())
    order = np.argsort(-logits, axis=1)
    k = min(5, logits.shape[1])
    top1 = float((order[:, 0] == labels).mean())
    top5 = float((order[:, :k] == labels[:, None]).any(axis=1).mean())
    return loss, top1, top5
