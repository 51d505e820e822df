"""Restore a network from a MindSpore checkpoint, strictly, with a report of what happened.

``mindspore.load_param_into_net`` silently skips parameters it cannot fill; many loaders
ignore what it reports back. Here every network parameter must be filled from the
checkpoint with the right shape, or the restore fails naming the parameters at fault.
Entries of the checkpoint that are not network parameters (optimizer state such as
``moments.*``, ``global_step``, ``learning_rate``) are ignored and counted.

For fine-tuning, the classifier may be left out on purpose (``drop_head``): its shape in the
checkpoint then need not match, and the network keeps its freshly initialised head.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Sequence, Tuple, Union

import mindspore
from mindspore import Parameter, nn

from .errors import CheckpointError, MissingParametersError, ShapeMismatchError

LOGGER = logging.getLogger(__name__)

ParamDict = Dict[str, Parameter]


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did: parameters loaded, checkpoint entries ignored, head parameters kept."""

    loaded: Tuple[str, ...]
    ignored: Tuple[str, ...]
    head_kept: Tuple[str, ...]


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


def classifier_mismatch(net: nn.Cell, params: Mapping[str, Parameter],
                        head: Sequence[str]) -> bool:
    """Whether the checkpoint's head parameters differ in shape from the network's (or are
    absent from either side): the sign that the checkpoint was trained for other classes."""
    own = {p.name: tuple(p.shape) for p in net.get_parameters()}
    for name in head:
        if name not in params or name not in own or tuple(params[name].shape) != own[name]:
            return True
    return False


def restore(net: nn.Cell, params: Mapping[str, Parameter], *, source: str,
            drop_head: Sequence[str] = ()) -> RestoreReport:
    """Fill every parameter of ``net`` from ``params``, except those named in ``drop_head``.

    Args:
        net: the network to fill in place.
        params: the checkpoint's contents, as returned by :func:`read_checkpoint`.
        source: the file or URL the parameters came from, for error messages.
        drop_head: network parameters to leave as they are (the classifier when fine-tuning).

    Raises:
        MissingParametersError: network parameters that the checkpoint lacks.
        ShapeMismatchError: parameters whose shapes differ, with both shapes.
    """
    keep = set(drop_head)
    wanted = {p.name: tuple(p.shape) for p in net.get_parameters() if p.name not in keep}
    missing = [name for name in wanted if name not in params]
    if missing:
        raise MissingParametersError(source, missing)
    mismatched = [(name, tuple(params[name].shape), shape)
                  for name, shape in wanted.items() if tuple(params[name].shape) != shape]
    if mismatched:
        raise ShapeMismatchError(source, mismatched)

    selected = {name: params[name] for name in wanted}
    not_loaded, _ = mindspore.load_param_into_net(net, selected, strict_load=True)
    not_loaded = [name for name in not_loaded if name not in keep]
    if not_loaded:
        raise MissingParametersError(source, not_loaded)
    ignored = tuple(name for name in params if name not in wanted and name not in keep)
    if keep:
        LOGGER.info("%s: classifier not restored (%s); it is freshly initialised",
                    source, ", ".join(sorted(keep)))
    return RestoreReport(loaded=tuple(wanted), ignored=ignored, head_kept=tuple(sorted(keep)))
