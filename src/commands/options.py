"""Argument pieces several commands share: the model they act on, and argparse types.

Every command that takes a model resolves it with :func:`..weights.resolve_weights`, so
they accept the same forms and say so in the same words.
"""

from __future__ import annotations

import argparse

ARCH_HELP = "GhostNet variant of a .ckpt model that records none (e.g. ghostnet)"


def model_help(*, onnx_files: bool) -> str:
    """What a model argument accepts (``onnx_files``: also ``ghostnet quantize``'s files)."""
    onnx = ", or an .onnx model file of ghostnet quantize" if onnx_files else ""
    return (
        "hub uid, card path or URL, a model name with published weights (ghostnet), "
        f"a .ckpt file (--arch if it records none){onnx}"
    )


def add_model_arguments(parser: argparse.ArgumentParser, *, onnx_files: bool) -> None:
    """The positional ``MODEL`` and ``--arch``."""
    parser.add_argument("model", metavar="MODEL", help=model_help(onnx_files=onnx_files))
    parser.add_argument("--arch", help=ARCH_HELP)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
