"""``create_network``: the one entry that builds every GhostNet variant, optionally restored.

This is what ``hub_conf.py`` and ``mindspore_hub_conf.py`` expose to the MindSpore Hub
client, which calls ``create_network(model_name.lower(), *args, **kwargs)`` and expects an
``nn.Cell``. Its keyword arguments are explicit, so a misspelt option is a ``TypeError``
rather than silently ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Union

from .checkpoint import ParamDict, classifier_mismatch, restore
from .errors import UnknownModelError
from .foreign import SAFETENSORS_SUFFIX, load_foreign_params
from .ghostnet import CLASSIFIER_PARAMS, VARIANTS, GhostNet, build_ghostnet, variant_name
from .pretrained import pretrained_record
from .weights import fetch

MODEL_NAMES = tuple(VARIANTS)
"""Every name ``create_network`` accepts (case-insensitive)."""

Weights = Union[bool, str, Path]


def list_models() -> Dict[str, str]:
    """Model names with a one-line description each."""
    return {name: variant.description for name, variant in VARIANTS.items()}


def create_network(name: str, num_classes: Optional[int] = None, *,
                   pretrained: Weights = False, features_only: bool = False,
                   out_indices: Sequence[int] = (0, 1, 2, 3, 4), in_channels: int = 3,
                   drop_rate: float = 0.2) -> GhostNet:
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
            :mod:`.foreign`); or a hub name (uid, short uid, card URL or card path).
        features_only: return a backbone giving feature maps at strides 2 to 32.
        out_indices: which feature maps ``features_only`` returns.
        in_channels: input channels (1 for grayscale).
        drop_rate: dropout before the classifier, active in training only.

    Raises:
        UnknownModelError: ``name`` is not a known variant (a ``ValueError``).
        ValueError: ``pretrained=True`` for a variant without published weights.
        HubNameError, CardError, OfflineError, DownloadError: fetching the weights failed.
        CheckpointError: the checkpoint is unreadable or does not fit the network.
        TypeError: an unknown keyword argument or an extra positional argument.
    """
    key = _variant_key(name)
    if pretrained is False:
        return build_ghostnet(key, num_classes=1000 if num_classes is None else num_classes,
                              in_channels=in_channels, drop_rate=drop_rate,
                              features_only=features_only, out_indices=out_indices)
    checkpoint = _checkpoint_path(key, pretrained)
    _, params = load_foreign_params(checkpoint)
    return network_from_params(key, params, source=str(checkpoint),
                               num_classes=num_classes, in_channels=in_channels,
                               drop_rate=drop_rate, features_only=features_only,
                               out_indices=out_indices)


def network_from_params(name: str, params: ParamDict, *, source: str,
                        num_classes: Optional[int] = None, in_channels: int = 3,
                        drop_rate: float = 0.2, features_only: bool = False,
                        out_indices: Sequence[int] = (0, 1, 2, 3, 4)) -> GhostNet:
    """The variant ``name`` restored, in eval mode, from a checkpoint already read.

    For callers that need other entries of the same checkpoint (class names, say), so the
    file is read once. Arguments as :func:`create_network`; ``source`` names the file.

    Raises:
        UnknownModelError: ``name`` is not a known variant (a ``ValueError``).
        CheckpointError: the parameters do not fit the network.
    """
    name = _variant_key(name)
    if num_classes is None:
        head = params.get(CLASSIFIER_PARAMS[0])
        num_classes = 1000 if head is None else int(head.shape[0])
    net = build_ghostnet(name, num_classes=num_classes, in_channels=in_channels,
                         drop_rate=drop_rate, features_only=features_only,
                         out_indices=out_indices, initialize=False)
    drop_head: Sequence[str] = ()
    if not features_only and classifier_mismatch(net, params, CLASSIFIER_PARAMS):
        net.reset_classifier(net.num_classes)
        drop_head = CLASSIFIER_PARAMS
    restore(net, params, source=source, drop_head=drop_head)
    net.set_train(False)
    return net


def _variant_key(name: str) -> str:
    """The variant ``name`` designates (lowercased, aliases resolved), once checked."""
    try:
        return variant_name(name)
    except KeyError:
        raise UnknownModelError(name, MODEL_NAMES) from None


def _checkpoint_path(name: str, pretrained: Weights) -> Path:
    """The local checkpoint file ``pretrained`` designates, fetched through the hub if need be."""
    if pretrained is True:
        record = pretrained_record(name)
        if record is None:
            with_weights = ", ".join(n for n in MODEL_NAMES if pretrained_record(n))
            raise ValueError(f"{name} has no published weights (models with weights: "
                             f"{with_weights}); pass a checkpoint path or a hub name")
        return fetch(record.uid).checkpoint
    if not isinstance(pretrained, (str, Path)) or isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be a bool, a checkpoint path or a hub name, "
                        f"got {pretrained!r}")
    path = Path(pretrained).expanduser()
    if path.suffix.lower() in (".ckpt", SAFETENSORS_SUFFIX):
        return path
    return fetch(str(pretrained)).checkpoint
