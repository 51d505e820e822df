"""GhostNet checkpoints written by other code bases, renamed into this module's names.

A checkpoint's naming family is detected from its tensor names, never guessed:

- ``model-zoo``: this module's own names, those of the MindSpore model zoo's
  ``research/cv/ghostnet`` (GhostNet 1.0x and GhostNet-600). Passed through unchanged.
- ``mindcv``: mindspore-lab/mindcv's ``ghostnet_050`` / ``ghostnet_100`` / ``ghostnet_130``
  (``mindspore.save_checkpoint``; MindSpore BatchNorm names). Its older ``ghostnet_1x`` names
  its last 1x1 conv ``blocks.9.0.conv``/``bn1`` instead of ``blocks.9.features.0``/``1``; both load.
- ``timm``: huggingface/pytorch-image-models' ``ghostnet_050`` / ``ghostnet_100`` /
  ``ghostnet_130`` ``state_dict()``, as ``.safetensors`` (PyTorch BatchNorm names).

mindcv and timm nest the sixteen bottlenecks in nine stages (``blocks.<stage>.<i>``, the last
1x1 conv is stage 9); this module numbers them flat (``blocks.0`` ... ``blocks.16``). Their
modules are ``nn.Sequential``s where the model zoo's are named (``primary_conv.0`` is
``primary_conv.conv``, ``shortcut.2`` is ``shortcut.1.conv``, ``conv_dw``/``bn_dw`` are
``dw.conv``/``dw.bn``).

Why a renaming is enough, checked against each origin's code:
- Layouts: PyTorch and MindSpore convolutions are both ``out, in/groups, kh, kw``, and dense
  weights ``out, in``; nothing is transposed.
- BatchNorm: all three use eps 1e-5, and eval uses the running statistics, which are copied
  (``running_mean``/``running_var`` are ``moving_mean``/``moving_variance``). PyTorch's
  momentum 0.1 and MindSpore's 0.9 are the same update written from either side; it only
  matters when training. ``num_batches_tracked`` (a training counter) is the only tensor
  dropped.
- SE: all reduce to ``make_divisible(mid / 4)`` with the authors' rounding, which this
  network uses for every width (see :func:`.ghostnet.make_divisible`). Their gate is
  ``relu6(x + 3) / 6`` (timm's ``hard_sigmoid``, mindcv's ``HardSigmoid``), as here.
- Ghost modules: mindcv and timm slice the concatenation to the module's width; every width
  here is a multiple of 4, so the slice keeps everything.
- Widths: all three round with the authors' rule, so a 1.3x file fits ``ghostnet_130``.

Restoring stays strict: a tensor that matches no name of its family, or a BatchNorm or SE
whose tensors are incomplete, is an error naming the tensors; network parameters the file
lacks and shapes that do not fit are caught by :func:`.checkpoint.restore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple, Union

import mindspore as ms
import numpy as np

from .checkpoint import ParamDict, read_checkpoint
from .errors import (
    CheckpointError,
    ForeignTensorsMissingError,
    UnknownCheckpointFamilyError,
    UnmappedTensorsError,
)
from .ghostnet import BOTTLENECKS
from .weights import SAFETENSORS_SUFFIX

MODEL_ZOO = "model-zoo"
MINDCV = "mindcv"
TIMM = "timm"
FAMILIES = (MODEL_ZOO, MINDCV, TIMM)
"""Every naming family :func:`load_foreign_params` recognises."""

STAGE_SIZES = (1, 1, 1, 1, 1, 1, 5, 1, 4)
"""How mindcv and timm group the bottlenecks of :data:`.ghostnet.BOTTLENECKS` into stages."""
FINAL_STAGE = len(STAGE_SIZES)
"""The stage index mindcv and timm give the 1x1 conv after the last bottleneck."""

MINDSPORE_BN = {name: name for name in ("gamma", "beta", "moving_mean", "moving_variance")}
PYTORCH_BN = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}
PYTORCH_BN_DROPPED = "num_batches_tracked"
"""PyTorch's BatchNorm training counter: no MindSpore counterpart, unused in eval."""

OPTIMIZER_STATE_PREFIXES = ("moments.", "adam_m.", "adam_v.", "accum.")
OPTIMIZER_STATE_NAMES = (
    "global_step",
    "learning_rate",
    "beta1_power",
    "beta2_power",
    "epoch_num",
    "step_num",
)
"""Entries of MindSpore training checkpoints that are not weights: ignored and reported."""

# (origin module, model-zoo module, kind) inside one bottleneck; kind is "conv" (a bias-free
# conv's weight), "bn" (a BatchNorm's four tensors) or "conv_bias" (weight and bias).
_BOTTLENECK_PARTS: Tuple[Tuple[str, str, str], ...] = (
    ("ghost1.primary_conv.0", "ghost1.primary_conv.conv", "conv"),
    ("ghost1.primary_conv.1", "ghost1.primary_conv.bn", "bn"),
    ("ghost1.cheap_operation.0", "ghost1.cheap_operation.conv", "conv"),
    ("ghost1.cheap_operation.1", "ghost1.cheap_operation.bn", "bn"),
    ("conv_dw", "dw.conv", "conv"),
    ("bn_dw", "dw.bn", "bn"),
    ("se.conv_reduce", "se.conv_reduce", "conv_bias"),
    ("se.conv_expand", "se.conv_expand", "conv_bias"),
    ("ghost2.primary_conv.0", "ghost2.primary_conv.conv", "conv"),
    ("ghost2.primary_conv.1", "ghost2.primary_conv.bn", "bn"),
    ("ghost2.cheap_operation.0", "ghost2.cheap_operation.conv", "conv"),
    ("ghost2.cheap_operation.1", "ghost2.cheap_operation.bn", "bn"),
    ("shortcut.0", "shortcut.0.conv", "conv"),
    ("shortcut.1", "shortcut.0.bn", "bn"),
    ("shortcut.2", "shortcut.1.conv", "conv"),
    ("shortcut.3", "shortcut.1.bn", "bn"),
)
_FINAL = f"blocks.{len(BOTTLENECKS)}"
_TOP_PARTS: Tuple[Tuple[str, str, str], ...] = (
    ("conv_stem", "conv_stem", "conv"),
    ("bn1", "bn1", "bn"),
    ("conv_head", "conv_head", "conv_bias"),
    ("classifier", "classifier", "conv_bias"),
)
_FINAL_PARTS: Dict[str, Tuple[Tuple[str, str, str], ...]] = {
    TIMM: (
        (f"blocks.{FINAL_STAGE}.0.conv", f"{_FINAL}.conv", "conv"),
        (f"blocks.{FINAL_STAGE}.0.bn1", f"{_FINAL}.bn", "bn"),
    ),
    MINDCV: (
        (f"blocks.{FINAL_STAGE}.features.0", f"{_FINAL}.conv", "conv"),
        (f"blocks.{FINAL_STAGE}.features.1", f"{_FINAL}.bn", "bn"),
        # mindcv's older ghostnet_1x
        (f"blocks.{FINAL_STAGE}.0.conv", f"{_FINAL}.conv", "conv"),
        (f"blocks.{FINAL_STAGE}.0.bn1", f"{_FINAL}.bn", "bn"),
    ),
}

Tensors = Dict[str, np.ndarray]


@dataclass(frozen=True)
class Conversion:
    """A checkpoint read and renamed into this module's names, with what was done to it."""

    family: str
    source: str
    params: Dict[str, object]
    """Model-zoo name -> array (a ``Parameter`` for ``model-zoo`` files, read as they are);
    non-tensor entries of a model-zoo file (class names, arch) are kept too."""
    mapped: Tuple[Tuple[str, str], ...]
    """(origin name, model-zoo name) for every tensor renamed; empty for ``model-zoo``."""
    dropped: Tuple[str, ...]
    """Origin tensors with no counterpart, left out on purpose (``num_batches_tracked``)."""
    ignored: Tuple[str, ...]
    """Optimizer state and step counters of a training checkpoint, left out."""


def load_foreign_params(path: Union[str, Path]) -> Tuple[str, ParamDict]:
    """Read any GhostNet checkpoint this module knows and return its family and its
    parameters under this module's names, ready for :func:`.checkpoint.restore`.

    Raises:
        CheckpointError: the file is unreadable.
        UnknownCheckpointFamilyError: the tensor names are of no known family.
        UnmappedTensorsError: tensors that match no name of the detected family.
        ForeignTensorsMissingError: a BatchNorm or SE of which only some tensors are present.
    """
    conversion = convert_file(path)
    return conversion.family, as_params(conversion.params)


def as_params(entries: Mapping[str, object]) -> ParamDict:
    """``entries`` with numpy arrays made MindSpore Parameters; other entries (a model-zoo
    file's Parameters and metadata strings) kept as they are."""
    params: ParamDict = {}
    for name, value in entries.items():
        params[name] = (
            ms.Parameter(ms.Tensor(value), name=name) if isinstance(value, np.ndarray) else value
        )
    return params


def convert_file(path: Union[str, Path]) -> Conversion:
    """Read ``path`` (``.safetensors`` or a MindSpore ``.ckpt``) and rename its tensors.

    Raises:
        See :func:`load_foreign_params`.
    """
    path = Path(path)
    source = str(path)
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        entries: Mapping[str, object] = read_safetensors(path)
    else:
        entries = read_checkpoint(path)
    family = detect_family(list(entries), source)
    if family == MODEL_ZOO:
        return Conversion(family, source, dict(entries), (), (), ())
    return _rename(entries, family, source)


def read_safetensors(path: Path) -> Tensors:
    """Every tensor of a ``.safetensors`` file as a numpy array (no PyTorch needed).

    Raises:
        CheckpointError: the file is missing, not a safetensors file, or holds a dtype numpy
            cannot represent (bfloat16).
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    # pylint: disable=import-outside-toplevel  (only safetensors files need it)
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error


def detect_family(names: Sequence[str], source: str) -> str:
    """The naming family of a checkpoint whose entries are ``names``.

    Raises:
        UnknownCheckpointFamilyError: no family's signature is present (also for GhostNetV2,
            whose ghost modules carry an attention branch this network lacks).
    """
    present = set(names)
    if any(".short_conv." in name for name in present):
        raise UnknownCheckpointFamilyError(
            source,
            names,
            "a GhostNetV2 checkpoint (ghost modules with short_conv); this "
            "module builds GhostNet v1 only",
        )
    nested = any(name.endswith(".primary_conv.0.weight") for name in present)
    flat = any(name.endswith(".primary_conv.conv.weight") for name in present)
    if flat and not nested and "bn1.gamma" in present:
        return MODEL_ZOO
    if nested and not flat and "bn1.gamma" in present:
        return MINDCV
    if nested and not flat and "bn1.running_mean" in present:
        return TIMM
    raise UnknownCheckpointFamilyError(
        source, names, f"no known naming family ({', '.join(FAMILIES)}) fits its tensor names"
    )


def name_map(family: str) -> Dict[str, str]:
    """Origin tensor name -> model-zoo name, for every tensor a ``family`` checkpoint of the
    paper's GhostNet (any width, with or without SE) can hold."""
    bn_names = PYTORCH_BN if family == TIMM else MINDSPORE_BN
    parts: List[Tuple[str, str, str]] = list(_TOP_PARTS) + list(_FINAL_PARTS[family])
    flat = 0
    for stage, size in enumerate(STAGE_SIZES):
        for position in range(size):
            parts += [
                (f"blocks.{stage}.{position}.{origin}", f"blocks.{flat}.{zoo}", kind)
                for origin, zoo, kind in _BOTTLENECK_PARTS
            ]
            flat += 1
    names: Dict[str, str] = {}
    for origin, zoo, kind in parts:
        for origin_leaf, zoo_leaf in _leaves(kind, bn_names):
            names[f"{origin}.{origin_leaf}"] = f"{zoo}.{zoo_leaf}"
    return names


def _leaves(kind: str, bn_names: Mapping[str, str]) -> List[Tuple[str, str]]:
    if kind == "bn":
        return list(bn_names.items())
    if kind == "conv_bias":
        return [("weight", "weight"), ("bias", "bias")]
    return [("weight", "weight")]


def _rename(entries: Mapping[str, object], family: str, source: str) -> Conversion:
    """Rename every tensor of a ``family`` checkpoint, strictly (see the module docstring)."""
    names = name_map(family)
    params: Dict[str, object] = {}
    mapped: List[Tuple[str, str]] = []
    dropped: List[str] = []
    ignored: List[str] = []
    unmapped: List[str] = []
    for origin, value in entries.items():
        if origin in names:
            params[names[origin]] = _as_float32(value, origin, source)
            mapped.append((origin, names[origin]))
        elif family == TIMM and origin.endswith(f".{PYTORCH_BN_DROPPED}"):
            dropped.append(origin)
        elif family != TIMM and (
            origin.startswith(OPTIMIZER_STATE_PREFIXES) or origin in OPTIMIZER_STATE_NAMES
        ):
            ignored.append(origin)
        else:
            unmapped.append(origin)
    if unmapped:
        raise UnmappedTensorsError(source, family, unmapped)
    missing = _incomplete_groups(set(entries), family)
    if missing:
        raise ForeignTensorsMissingError(source, family, missing)
    return Conversion(family, source, params, tuple(mapped), tuple(dropped), tuple(ignored))


def _incomplete_groups(present: set, family: str) -> List[str]:
    """Origin tensors absent from a BatchNorm or SE (weight and bias) of which others are
    present: a half-written module is never restored."""
    bn_leaves = tuple(PYTORCH_BN if family == TIMM else MINDSPORE_BN)
    groups: Dict[str, List[str]] = {}
    for origin in name_map(family):
        module, leaf = origin.rsplit(".", 1)
        if leaf in bn_leaves or (leaf in ("weight", "bias") and ".se." in origin):
            groups.setdefault(module, []).append(origin)
    missing: List[str] = []
    for members in groups.values():
        here = [name for name in members if name in present]
        if here and len(here) != len(members):
            missing += [name for name in members if name not in present]
    return missing


def _as_float32(value: object, origin: str, source: str) -> np.ndarray:
    """A tensor's values as float32: float16 and bfloat16 files widen (numpy reads bfloat16
    through the dtype MindSpore registers); float32 is kept as it is."""
    array = value.asnumpy() if hasattr(value, "asnumpy") else value
    if not isinstance(array, np.ndarray) or (
        array.dtype.kind != "f" and array.dtype.name != "bfloat16"
    ):
        raise CheckpointError(f"{source}: tensor {origin!r} is not a floating-point tensor")
    return array.astype(np.float32, copy=False)
