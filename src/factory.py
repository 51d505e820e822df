"""``create_network``: the one entry that builds every GhostNet variant, optionally restored.

This is what ``hub_conf.py`` and ``mindspore_hub_conf.py`` expose to the MindSpore Hub
client, which calls ``create_network(model_name.lower(), *args, **kwargs)`` and expects an
``nn.Cell``. Its keyword arguments are explicit, so a misspelt option is a ``TypeError``
rather than silently ignored. The network it returns carries the record of its weights as
``net.pretrained_cfg`` (class names, preprocessing; see :mod:`.registry`), so a user's own
training loop or export needs nothing else from this package.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Optional, Sequence

from .checkpoint import ParamDict, adapt_first_conv, classifier_mismatch, restore
from .errors import ModelSpecError
from .foreign import load_foreign_params
from .ghostnet import GhostNet, build_ghostnet
from .onnx_model import ONNX_SUFFIX
from .registry import (
    CLASSIFIER_PARAMS,
    MODEL_NAMES,
    VARIANTS,
    WeightsRecord,
    base_record,
    read_meta,
    variant_key,
)
from .weights import Weights, resolve_weights

LOGGER = logging.getLogger(__name__)

__all__ = ["MODEL_NAMES", "create_network", "list_models", "network_from_params"]


def list_models() -> Dict[str, str]:
    """Model names with a one-line description each."""
    return {name: variant.description for name, variant in VARIANTS.items()}


def create_network(
    name: str,
    num_classes: Optional[int] = None,
    *,
    pretrained: Weights = False,
    features_only: bool = False,
    out_indices: Sequence[int] = (0, 1, 2, 3, 4),
    in_channels: int = 3,
    drop_rate: float = 0.2,
) -> GhostNet:
    """Build the GhostNet variant ``name``, restored from ``pretrained`` when given.

    Args:
        name: one of :data:`MODEL_NAMES`, in any case (the hub client lowercases it).
        num_classes: classifier outputs (the hub client passes it as the first positional
            argument). Defaults to the checkpoint's when restoring, else 1000. When it
            differs from the checkpoint's, the classifier is left freshly initialised and
            everything else is restored: fine-tuning from a pretrained backbone.
        pretrained: False for random weights; True for the model's published weights
            (through the hub client: fetched, verified, cached); a checkpoint path (a
            ``.ckpt`` in the model zoo's or mindcv's names, or timm's ``.safetensors``; see
            :mod:`.foreign`); a hub name (uid, short uid, card URL or card path); or
            resolved weights.
        features_only: return a backbone giving feature maps at strides 2 to 32.
        out_indices: which feature maps ``features_only`` returns.
        in_channels: input channels (1 for grayscale). A checkpoint's RGB first conv is
            adapted to it (see :func:`.checkpoint.adapt_first_conv`).
        drop_rate: dropout before the classifier, active in training only.

    Raises:
        UnknownModelError: ``name`` is not a known variant (a ``ValueError``).
        ModelSpecError: ``pretrained=True`` for a variant without published weights, a card
            or checkpoint of another variant, or an ONNX model file (a ``ValueError``).
        HubNameError, CardError, OfflineError, DownloadError: fetching the weights failed.
        CheckpointError: the checkpoint is unreadable or does not fit the network.
        TypeError: an unknown keyword argument or an extra positional argument.
    """
    key = variant_key(name)
    if pretrained is False:
        return build_ghostnet(
            key,
            num_classes=1000 if num_classes is None else num_classes,
            in_channels=in_channels,
            drop_rate=drop_rate,
            features_only=features_only,
            out_indices=out_indices,
        )
    if isinstance(pretrained, (str, Path)) and str(pretrained).lower().endswith(ONNX_SUFFIX):
        raise ModelSpecError(
            f"{pretrained}: an ONNX model runs on ONNX Runtime (ghostnet predict or serve "
            "--model); create_network restores MindSpore weights: a .ckpt, .safetensors or "
            "hub name"
        )
    weights = resolve_weights(pretrained, key)
    _, params = load_foreign_params(weights.checkpoint)
    return network_from_params(
        key,
        params,
        source=str(weights.checkpoint),
        record=weights.record,
        sha256=weights.sha256,
        num_classes=num_classes,
        in_channels=in_channels,
        drop_rate=drop_rate,
        features_only=features_only,
        out_indices=out_indices,
    )


def network_from_params(
    name: str,
    params: ParamDict,
    *,
    source: str,
    record: Optional[WeightsRecord] = None,
    sha256: Optional[str] = None,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    drop_rate: float = 0.2,
    features_only: bool = False,
    out_indices: Sequence[int] = (0, 1, 2, 3, 4),
) -> GhostNet:
    """The variant ``name`` restored, in eval mode, from a checkpoint already read.

    For callers that need other entries of the same checkpoint, so the file is read once.
    Arguments as :func:`create_network`; ``source`` names the file, ``record`` is what was
    known of the weights before reading them (default: the variant's base record) and
    ``sha256`` their digest. The network's ``pretrained_cfg`` is that record refined by the
    checkpoint's own metadata (class names, image size).

    Raises:
        UnknownModelError: ``name`` is not a known variant (a ``ValueError``).
        ModelSpecError: the checkpoint records another architecture than ``name``.
        CheckpointError: the parameters do not fit the network.
    """
    name = variant_key(name)
    meta = read_meta(params, source)
    if meta.arch is not None and meta.arch != name:
        raise ModelSpecError(f"{source}: this checkpoint is {meta.arch}, not {name}")
    record = base_record(name) if record is None else record
    head = params.get(CLASSIFIER_PARAMS[0])
    trained_classes = record.num_classes if head is None else int(head.shape[0])
    if num_classes is None:
        num_classes = trained_classes
    net = build_ghostnet(
        name,
        num_classes=num_classes,
        in_channels=in_channels,
        drop_rate=drop_rate,
        features_only=features_only,
        out_indices=out_indices,
        initialize=False,
    )
    params = adapt_first_conv(params, f"{record.first_conv}.weight", in_channels)
    skip: Sequence[str] = ()
    if not features_only and classifier_mismatch(net, params, CLASSIFIER_PARAMS):
        net.reset_classifier(net.num_classes)
        skip = CLASSIFIER_PARAMS
        LOGGER.info(
            "%s: classifier not restored (%d classes in the checkpoint, %d wanted); "
            "it is freshly initialised",
            source,
            trained_classes,
            net.num_classes,
        )
    restore(net, params, source=source, skip=skip)
    net.set_train(False)
    trained = record.with_checkpoint_meta(meta, num_classes=trained_classes, sha256=sha256)
    net.pretrained_cfg = trained.with_classes(net.num_classes)
    return net
