"""The optimisation recipe of fine-tuning: which parameters train, decay, and at what rate.

- Freezing: ``--freeze-backbone`` trains the classifier only; ``--freeze-stages N`` freezes
  the stem and the first ``N`` resolution stages of blocks (see :func:`stage_prefixes`).
  Frozen parameters stop requiring gradients, so the optimizer never sees them.
- Weight decay applies to conv and dense weights only: BatchNorm's gamma and beta and every
  bias are left undecayed, as is usual for small-batch fine-tuning.
- The learning rate is a per-step list: linear warm-up from near zero to the base rate, then
  a cosine decay to zero. ``Momentum`` indexes it with its ``global_step``, so the
  schedule's position is part of the optimizer state and survives a resume.
- One train step (:class:`TrainStep`) returns the batch's logits beside its loss, so the
  train accuracy costs no second forward pass.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

from mindspore import Parameter, Tensor, nn, ops

from .ghostnet import GhostNet
from .registry import CLASSIFIER, FIRST_CONV

STEM_PREFIXES = (f"{FIRST_CONV}.", "bn1.")
NO_DECAY_SUFFIXES = (".gamma", ".beta", ".bias")


def stage_prefixes(net: GhostNet) -> List[Tuple[str, ...]]:
    """Parameter-name prefixes of each resolution stage: the blocks from one feature tap
    (a stride change) to the next, as listed in ``net.feature_info``. Stage ``i`` ends with
    the block that produces feature map ``i`` (stride 2, 4, 8, 16, 32)."""
    stages: List[Tuple[str, ...]] = []
    first = 0
    for info in net.feature_info:
        last = int(info.module.split(".")[1])
        stages.append(tuple(f"blocks.{index}." for index in range(first, last + 1)))
        first = last + 1
    return stages


def freeze(net: GhostNet, *, backbone: bool = False, stages: int = 0) -> List[str]:
    """Stop gradients for the backbone (all but the classifier) or for the stem and the
    first ``stages`` stages; returns the names of the frozen parameters.

    Raises:
        ValueError: ``stages`` is outside 0..number of stages, or both options are given.
    """
    available = stage_prefixes(net)
    if backbone and stages:
        raise ValueError("give either freeze-backbone or freeze-stages, not both")
    if not 0 <= stages <= len(available):
        raise ValueError(f"freeze-stages must be in 0..{len(available)}, got {stages}")
    if backbone:
        frozen = [p for p in net.trainable_params() if not p.name.startswith(f"{CLASSIFIER}.")]
    elif stages:
        prefixes = STEM_PREFIXES + tuple(prefix for stage in available[:stages] for prefix in stage)
        frozen = [p for p in net.trainable_params() if p.name.startswith(prefixes)]
    else:
        frozen = []
    for param in frozen:
        param.requires_grad = False
    return [param.name for param in frozen]


def param_groups(params: Sequence[Parameter], weight_decay: float) -> List[Dict[str, object]]:
    """Optimizer groups: weights with ``weight_decay``; BN gamma/beta and biases without."""
    decay = [p for p in params if not p.name.endswith(NO_DECAY_SUFFIXES)]
    no_decay = [p for p in params if p.name.endswith(NO_DECAY_SUFFIXES)]
    groups: List[Dict[str, object]] = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def warmup_cosine(base_lr: float, total_steps: int, warmup_steps: int) -> List[float]:
    """Per-step learning rates: linear warm-up over ``warmup_steps`` (step ``i`` gets
    ``base_lr * (i + 1) / warmup_steps``), then cosine from ``base_lr`` down to zero."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    warmup_steps = max(0, min(warmup_steps, total_steps - 1))
    rates = [base_lr * (step + 1) / warmup_steps for step in range(warmup_steps)]
    decay_steps = total_steps - warmup_steps
    rates += [
        0.5 * base_lr * (1.0 + math.cos(math.pi * step / decay_steps))
        for step in range(decay_steps)
    ]
    return rates


def momentum_optimizer(
    params: Sequence[Parameter], rates: Sequence[float], *, momentum: float, weight_decay: float
) -> nn.Momentum:
    """SGD with momentum over ``params``, with :func:`param_groups` and the per-step rates."""
    return nn.Momentum(
        param_groups(params, weight_decay), learning_rate=list(rates), momentum=momentum
    )


class LossAndLogits(nn.Cell):
    """``(loss, logits)`` of ``net`` on a batch: the network a :class:`TrainStep` trains."""

    def __init__(self, net: nn.Cell, loss_fn: nn.Cell) -> None:
        super().__init__(auto_prefix=False)
        self.net = net
        self.loss_fn = loss_fn

    def construct(self, images: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
        logits = self.net(images)
        return self.loss_fn(logits, labels), logits


class TrainStep(nn.TrainOneStepCell):
    """``nn.TrainOneStepCell`` (gradient, data-parallel reduction, optimizer update) over a
    :class:`LossAndLogits`, returning ``(loss, logits)``: the logits get a zero gradient, so
    the update is that of the loss alone. Parameter names, and so checkpoints, are those of
    the plain cell."""

    def construct(self, images: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
        loss, logits = self.network(images, labels)
        sens = (ops.ones_like(loss), ops.zeros_like(logits))
        grads = self.grad(self.network, self.weights)(images, labels, sens)
        grads = self.grad_reducer(grads)
        return ops.depend(loss, self.optimizer(grads)), logits
