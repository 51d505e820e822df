"""Turn any GhostNet checkpoint this module reads into one in its own names, self-described.

The result is what ``ghostnet finetune`` writes and ``ghostnet predict`` / ``publish`` read:
the model zoo's parameter names, plus the entries ``arch`` (the variant), ``class_names``
and ``image_size`` (see :mod:`.registry`). So a mindcv or timm checkpoint, or the
model zoo's GhostNet-600, can be published as a card of this module once converted.

The parameters are written from a network restored strictly from the source (every
parameter filled, every shape checked), so a file that would not load is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import mindspore as ms

from .atomic import atomic_path
from .errors import CheckpointError, OutputError
from .factory import network_from_params
from .foreign import MODEL_ZOO, Conversion, as_params, convert_file
from .ghostnet import LAYOUTS
from .registry import VARIANTS, meta_entries, read_label_list, read_meta, short_name, variant_key

DEFAULT_IMAGE_SIZE = 224
IMAGENET_CLASSES = 1000
IMAGENET_LABELS = "imagenet1k"
"""Label list of a 1000-class checkpoint: mindcv, timm and the model zoo all order ImageNet's
classes by sorted WordNet id, as ``assets/imagenet1k_labels.tsv`` does."""


@dataclass(frozen=True)
class ConvertResult:
    """What was written, and from what."""

    destination: Path
    conversion: Conversion
    arch: str
    arch_inferred: bool
    num_classes: int
    class_names: Optional[List[str]]
    class_names_from: str
    """Where the names came from: ``--classes``, ``checkpoint``, ``imagenet1k`` or ``none``."""
    image_size: int


def convert_checkpoint(
    source: Union[str, Path],
    destination: Union[str, Path],
    *,
    arch: Optional[str] = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
    class_names: Optional[Sequence[str]] = None,
    force: bool = False,
) -> ConvertResult:
    """Read ``source`` (any family of :mod:`.foreign`), write ``destination`` in this module's
    names with its metadata.

    Args:
        arch: the variant (a name :func:`.factory.create_network` takes); None infers it from
            the tensor shapes.
        image_size: the crop the checkpoint was trained and evaluated at.
        class_names: one name per classifier output; None keeps the checkpoint's own, or
            takes ImageNet's for 1000 classes.
        force: replace an existing ``destination``.

    Raises:
        OutputError: ``destination`` exists (without ``force``) or is the source itself.
        UnknownModelError: ``arch`` is not a variant.
        CheckpointError: see :func:`.foreign.load_foreign_params` and :func:`.checkpoint.restore`;
            also an ``arch`` that cannot be inferred, or class names of the wrong count.
    """
    source, destination = Path(source), Path(destination)
    if destination.exists() and (not force or destination.resolve() == source.resolve()):
        raise OutputError(
            str(destination),
            "exists; pass --force to replace it"
            if not force
            else "is the source checkpoint itself",
        )
    conversion = convert_file(source)
    params = conversion.params
    inferred = arch is None
    arch = infer_arch(params, str(source)) if arch is None else variant_key(arch)
    net = network_from_params(arch, as_params(params), source=str(source))
    names, names_from = _class_names(class_names, params, net.num_classes, str(source))
    with atomic_path(destination, suffix=".ckpt") as temporary:
        ms.save_checkpoint(
            net, str(temporary), append_dict=dict(meta_entries(names, image_size, arch))
        )
    return ConvertResult(
        destination, conversion, arch, inferred, net.num_classes, names, names_from, image_size
    )


def infer_arch(params: Mapping[str, object], source: str) -> str:
    """The one variant whose stem width, block count and SE match the checkpoint.

    Raises:
        CheckpointError: no variant, or more than one, matches.
    """
    stem = params.get("conv_stem.weight")
    stem_width = int(_shape(stem)[0]) if stem is not None else -1
    has_se = any(".se." in name for name in params)
    matches = []
    for name, variant in VARIANTS.items():
        layout = LAYOUTS[variant.table](variant.width, variant.use_se)
        if (
            layout.stem == stem_width
            and any(block.se for block in layout.blocks) == has_se
            and f"blocks.{len(layout.blocks)}.conv.weight" in params
        ):
            matches.append(name)
    if len(matches) != 1:
        found = ", ".join(matches) or "none"
        raise CheckpointError(
            f"{source}: cannot tell the variant from the tensor shapes "
            f"(stem width {stem_width}, SE {'yes' if has_se else 'no'}; "
            f"matching: {found}); pass --arch"
        )
    return matches[0]


def _class_names(
    given: Optional[Sequence[str]], params: Mapping[str, object], num_classes: int, source: str
) -> Tuple[Optional[List[str]], str]:
    if given is not None:
        names, origin = list(given), "--classes"
    else:
        own = read_meta(params, source).class_names
        if own is not None:
            names, origin = own, "checkpoint"
        elif num_classes == IMAGENET_CLASSES:
            names = [short_name(name) for _, name in read_label_list(IMAGENET_LABELS)]
            origin = IMAGENET_LABELS
        else:
            return None, "none"
    if len(names) != num_classes:
        raise CheckpointError(
            f"{source}: {len(names)} class names ({origin}) for a "
            f"classifier of {num_classes} outputs"
        )
    return names, origin


def _shape(value: object) -> Tuple[int, ...]:
    return tuple(value.shape)  # type: ignore[attr-defined]


def describe(result: ConvertResult, show_names: bool = False) -> str:
    """The report ``ghostnet convert`` prints: what was renamed, dropped and ignored, and
    what the written checkpoint says about itself."""
    conversion = result.conversion
    if conversion.family == MODEL_ZOO:
        lines = [f"{conversion.source}: model-zoo names, kept as they are"]
    else:
        lines = [
            f"{conversion.source}: {conversion.family} checkpoint; "
            f"{len(conversion.mapped)} tensors renamed into the model zoo's names, "
            f"{len(conversion.dropped)} dropped (BatchNorm num_batches_tracked), "
            f"{len(conversion.ignored)} ignored (optimizer state)"
        ]
    how = "inferred from the tensor shapes" if result.arch_inferred else "as given"
    lines.append(
        f"arch {result.arch} ({how}), {result.num_classes} classes "
        f"(names: {result.class_names_from}), image size {result.image_size}"
    )
    lines.append(f"wrote {result.destination}")
    if show_names:
        lines += [f"  {origin} -> {zoo}" for origin, zoo in conversion.mapped]
        lines += [f"  {origin} (dropped)" for origin in conversion.dropped]
        lines += [f"  {origin} (ignored)" for origin in conversion.ignored]
    return "\n".join(lines)
