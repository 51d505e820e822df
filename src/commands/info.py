"""``ghostnet info M``: what a model is, what it costs, how to feed it, where it is cached."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

import numpy as np

from ..card_facts import CardFacts, card_facts
from ..errors import ModelSpecError
from .options import add_model_arguments

if TYPE_CHECKING:
    from mindspore import Parameter, nn

    from ..weights import ResolvedWeights

MACS_IMAGE_SIZE = 224

EPILOG = """\
examples:
  ghostnet info mindspore/ghostnet
  ghostnet info runs/flowers.ckpt --arch ghostnet

prints the card's fields (hub models), the variant, parameter count, MACs at 224x224, the
input preprocessing, and the checkpoint in the cache with its sha256 and whether it is the
published file.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser(
        "info",
        help="describe a model",
        description="Describe a model and its cache state.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser, onnx_files=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the model's description; 0 on success."""
    # pylint: disable=import-outside-toplevel  (MindSpore-heavy; keeps `--help` fast)
    from ..weights import CHECKPOINT_SUFFIX, ResolvedWeights, record_for_card, resolve_weights

    if args.model.lower().endswith(CHECKPOINT_SUFFIX):
        weights = resolve_weights(args.model, args.arch)
        _print(_network_lines(weights, weights.arch) + _checkpoint_lines(weights))
        return 0
    if args.arch is not None:
        raise ModelSpecError(f"--arch {args.arch}: only a checkpoint file needs it")
    from ..hub import info

    found = info(args.model)
    card = found.card
    lines = [
        ("card", str(found.card_path)),
        ("model-name", card.model_name),
        ("model-version", card.model_version),
        ("user-id", card.user_id),
        ("train-dataset", card.train_dataset or "-"),
        ("evaluation", card.evaluation or "-"),
        ("summary", card.summary),
    ]
    lines += [
        (f"asset ({asset.file_format})", f"{asset.link} sha256 {asset.sha256}")
        for asset in card.assets
    ]
    state = (
        "verified" if found.verified else ("cached, NOT verified" if found.cached else "not cached")
    )
    lines.append(("cache", f"{found.checkpoint} ({state})"))
    spec: Optional[ResolvedWeights] = None
    if found.sha256 is not None:
        spec = ResolvedWeights(
            args.model, found.checkpoint, found.sha256, record_for_card(card, found.sha256), card
        )
    _print(lines + _network_lines(spec, card.model_name.lower(), card_facts(card.body)))
    return 0


def _network_lines(
    spec: "Optional[ResolvedWeights]", arch: str, facts: Optional[CardFacts] = None
) -> List[Tuple[str, str]]:
    """Variant, classes, size and preprocessing: from the restored checkpoint when there is
    one, else from what the card's text records (``facts``), else from the architecture
    alone (1000 classes, as published)."""
    # pylint: disable=import-outside-toplevel
    from ..factory import create_network
    from ..predictor import load_network
    from ..registry import VARIANTS, base_record, variant_key

    arch = variant_key(arch)
    if spec is not None:
        net, record = load_network(spec)
        arch = record.arch  # a checkpoint named without --arch records its own
        classes = f"{net.num_classes} ({', '.join(record.labels()[:3])}, ...)"
    elif facts is not None and facts.num_classes is not None:
        net = create_network(arch, facts.num_classes)
        record = replace(base_record(arch, facts.num_classes), class_names=facts.class_names)
        if facts.crop is not None:
            record = replace(record, preprocessing=record.preprocessing.at_size(facts.crop))
        shown = f" ({', '.join(record.labels()[:3])}, ...)" if facts.class_names else ""
        classes = f"{net.num_classes}{shown} (from the card; checkpoint not cached)"
    else:
        net = create_network(arch)
        record = base_record(arch)
        classes = f"{net.num_classes} (checkpoint not cached: figures for the architecture)"
    prep = record.preprocessing
    trainable = _count(net.trainable_params())
    return [
        ("variant", f"{arch}: {VARIANTS[arch].description}"),
        ("classes", classes),
        (
            "parameters",
            f"{trainable:,} trainable ({_count(net.get_parameters()):,} values "
            "with the BatchNorm statistics)",
        ),
        (f"MACs at {MACS_IMAGE_SIZE}", f"{count_macs(net, MACS_IMAGE_SIZE):,}"),
        (
            "preprocessing",
            f"resize {prep.resize} ({prep.interpolation}), center-crop "
            f"{prep.crop}, mean {_triple(prep.mean)}, std {_triple(prep.std)} "
            "(0-255 scale), CHW",
        ),
    ]


def _checkpoint_lines(spec: "ResolvedWeights") -> List[Tuple[str, str]]:
    from ..registry import published_record  # pylint: disable=import-outside-toplevel

    record = published_record(spec.arch)
    published = record is not None and record.sha256 == spec.sha256
    return [
        ("checkpoint", str(spec.checkpoint)),
        ("sha256", spec.sha256),
        ("published weights", "yes (sha256 matches the record)" if published else "no"),
    ]


def _count(params: Iterable["Parameter"]) -> int:
    return int(sum(int(np.prod(param.shape)) for param in params))


def count_macs(net: "nn.Cell", image_size: int = 224, in_channels: int = 3) -> int:
    """Multiply-accumulates of one image through the convolutions
    (``out_h * out_w * out_channels * in_channels / groups * k_h * k_w``) and dense layers
    (``in * out``), where nearly all of them are; BatchNorm, activations, pooling and
    additions are left out, as is usual. Shapes are read from one real forward pass in
    PyNative mode, with forward hooks, so the count follows the network as built."""
    # pylint: disable=import-outside-toplevel
    import mindspore
    from mindspore import nn

    macs: List[int] = []

    def conv_hook(cell: nn.Conv2d, inputs: tuple, output: mindspore.Tensor) -> None:
        _, out_channels, out_h, out_w = output.shape
        k_h, k_w = cell.kernel_size
        macs.append(out_h * out_w * out_channels * (cell.in_channels // cell.group) * k_h * k_w)

    def dense_hook(cell: nn.Dense, inputs: tuple, output: mindspore.Tensor) -> None:
        macs.append(cell.in_channels * cell.out_channels)

    handles = []
    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.Conv2d):
            handles.append(cell.register_forward_hook(conv_hook))
        elif isinstance(cell, nn.Dense):
            handles.append(cell.register_forward_hook(dense_hook))
    try:
        net(mindspore.Tensor(np.zeros((1, in_channels, image_size, image_size), np.float32)))
    finally:
        for handle in handles:
            handle.remove()
    return int(sum(macs))


def _print(lines: List[Tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")


def _triple(values: Tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{value:.3f}" for value in values) + ")"
