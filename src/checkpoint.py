"""Restore a network from a MindSpore checkpoint, strictly, with a report of what happened.

``mindspore.load_param_into_net`` silently skips parameters it cannot fill; many loaders
ignore what it reports back. Here every network parameter must be filled from the
checkpoint with the right shape, or the restore fails naming the parameters at fault.
Entries of the checkpoint that are not network parameters (optimizer state such as
``moments.*``, ``global_step``, ``learning_rate``) are ignored and counted.

Parameters may be left out on purpose (``skip``): the classifier when fine-tuning (its
shape in the checkpoint then need not match, and the network keeps its fresh head), the
learning-rate list when resuming a run (it is recomputed from the options). A first
convolution trained on RGB can be adapted to another number of input channels
(:func:`adapt_first_conv`), as timm and mindcv do.

What a checkpoint says about itself besides its weights (architecture, class names, image
size) is read by :func:`.registry.read_meta`, where its keys are defined.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Sequence, Tuple, Union

import mindspore
import numpy as np
from mindspore import Parameter, nn

from .errors import (
    CheckpointError,
    MissingParametersError,
    ShapeMismatchError,
    UnstableWeightsError,
)
from .numerics import named_arrays, weights_problem
from .registry import META_KEYS

LOGGER = logging.getLogger(__name__)

ParamDict = Dict[str, Parameter]

OPTIMIZER_STATE_PREFIXES = ("moments.", "accum.", "moment1.", "moment2.")
"""Per-parameter optimizer state (Momentum's, Adagrad's, Adam's) saved with a training run."""
OPTIMIZER_STATE_NAMES = frozenset(
    {"global_step", "learning_rate", "momentum", "beta1_power", "beta2_power", "scale_sense"}
)
"""Scalar optimizer and loss-scale state saved with a training run."""


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did: parameters loaded, checkpoint entries ignored, parameters skipped."""

    loaded: Tuple[str, ...]
    ignored: Tuple[str, ...]
    skipped: Tuple[str, ...]


def read_checkpoint(path: Union[str, Path]) -> ParamDict:
    """Read a ``.ckpt`` file into a name -> Parameter dict.

    Raises:
        CheckpointError: the file is missing or is not a readable MindSpore checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        return mindspore.load_checkpoint(str(path))
    except (ValueError, RuntimeError, OSError, TypeError) as error:
        raise CheckpointError(f"{path}: not a readable MindSpore checkpoint ({error})") from error


def classifier_mismatch(net: nn.Cell, params: Mapping[str, Parameter], head: Sequence[str]) -> bool:
    """Whether the checkpoint's head parameters differ in shape from the network's (or are
    absent from either side): the sign that the checkpoint was trained for other classes."""
    own = {p.name: tuple(p.shape) for p in net.get_parameters()}
    for name in head:
        if name not in params or name not in own or tuple(params[name].shape) != own[name]:
            return True
    return False


def adapt_first_conv(
    params: Mapping[str, Parameter], weight_name: str, in_channels: int
) -> Dict[str, Parameter]:
    """``params`` with the first conv's weight ``(out, c, kh, kw)`` adapted to ``in_channels``
    inputs: summed over the input channels for 1 (a grayscale image seen as R = G = B gives
    the same output), else the channels repeated cyclically and scaled by ``c / in_channels``
    so the output keeps its magnitude. Unchanged when the channel count already fits.

    Raises:
        MissingParametersError: the checkpoint has no such weight.
    """
    if weight_name not in params:
        raise MissingParametersError(weight_name, [weight_name])
    weight = params[weight_name].asnumpy()
    trained = weight.shape[1]
    if trained == in_channels:
        return dict(params)
    if in_channels == 1:
        adapted = weight.sum(axis=1, keepdims=True)
    else:
        repeats = -(-in_channels // trained)
        adapted = np.tile(weight, (1, repeats, 1, 1))[:, :in_channels] * (trained / in_channels)
    LOGGER.info("%s: adapted from %d to %d input channels", weight_name, trained, in_channels)
    return {
        **params,
        weight_name: Parameter(mindspore.Tensor(adapted.astype(weight.dtype)), name=weight_name),
    }


def model_params(params: Mapping[str, object]) -> ParamDict:
    """The network's parameters among a checkpoint's entries: no optimizer state (momenta,
    step, learning rate) and no metadata (architecture, class names, image size, epoch)."""
    return {
        name: value
        for name, value in params.items()
        if isinstance(value, Parameter)
        and name not in OPTIMIZER_STATE_NAMES
        and name not in META_KEYS
        and not name.startswith(OPTIMIZER_STATE_PREFIXES)
    }


def restore(
    net: nn.Cell, params: Mapping[str, Parameter], *, source: str, skip: Sequence[str] = ()
) -> RestoreReport:
    """Fill every parameter of ``net`` from ``params``, except those named in ``skip``.

    This is the one strict restore: ``create_network`` and a resumed fine-tuning run (whose
    ``net`` is the whole train step, optimizer state included) both use it.

    Args:
        net: the network (or train step) to fill in place.
        params: the checkpoint's contents, as returned by :func:`read_checkpoint`.
        source: the file or URL the parameters came from, for error messages.
        skip: parameters to leave as they are.

    Raises:
        MissingParametersError: network parameters that the checkpoint lacks.
        ShapeMismatchError: parameters whose shapes differ, with both shapes.
        UnstableWeightsError: a restored parameter holds NaN or infinities, or a BatchNorm
            statistic exploded (see :mod:`.numerics`): the network would answer nonsense.
    """
    keep = set(skip)
    wanted = {p.name: tuple(p.shape) for p in net.get_parameters() if p.name not in keep}
    missing = [name for name in wanted if name not in params]
    if missing:
        raise MissingParametersError(source, missing)
    mismatched = [
        (name, tuple(params[name].shape), shape)
        for name, shape in wanted.items()
        if tuple(params[name].shape) != shape
    ]
    if mismatched:
        raise ShapeMismatchError(source, mismatched)

    selected = {name: params[name] for name in wanted}
    problem = weights_problem(named_arrays(selected))
    if problem is not None:
        raise UnstableWeightsError(f"{source}: {problem}; refusing to load it")
    # the skipped parameters are given their own values, so that MindSpore does not warn
    # about them: what was skipped is reported here, in the RestoreReport
    selected.update({p.name: p for p in net.get_parameters() if p.name in keep})
    not_loaded, _ = mindspore.load_param_into_net(net, selected, strict_load=True)
    if not_loaded:
        raise MissingParametersError(source, not_loaded)
    ignored = tuple(name for name in params if name not in wanted and name not in keep)
    return RestoreReport(loaded=tuple(wanted), ignored=ignored, skipped=tuple(sorted(keep)))
