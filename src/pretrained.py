"""What is known about each model's published weights, kept as data beside the model.

Preprocessing, labels, head replacement and the hub client all read these records rather
than hard-coding numbers: the eval transform of ``ghostnet`` is the one its ImageNet
checkpoint was validated with in the model zoo.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

from .layer_names import CLASSIFIER, FIRST_CONV


@dataclass(frozen=True)
class Preprocessing:
    """The eval transform a checkpoint expects.

    Decode to RGB, resize the shorter side to ``resize`` (``interpolation``), center-crop
    ``crop``, subtract ``mean`` and divide by ``std`` (both on the 0-255 scale), HWC -> CHW.
    """

    resize: int = 256
    crop: int = 224
    interpolation: str = "bilinear"
    mean: Tuple[float, float, float] = (0.485 * 255, 0.456 * 255, 0.406 * 255)
    std: Tuple[float, float, float] = (0.229 * 255, 0.224 * 255, 0.225 * 255)

    def at_size(self, crop: Optional[int]) -> "Preprocessing":
        """The same transform for a network trained at ``crop`` (None: this one): the resize
        keeps its ratio to the crop (256/224), so 32 gives resize 37."""
        if crop is None:
            return self
        return replace(self, resize=int(round(crop * self.resize / self.crop)), crop=crop)


@dataclass(frozen=True)
class PretrainedRecord:
    """One published checkpoint: where its card lives, what it holds, how to feed it."""

    model_name: str
    uid: str
    """Hub uid of the card: ``user/version/card``."""
    asset_url: str
    sha256: str
    num_classes: int
    labels: str
    """Name of the label list in ``assets/`` (``<labels>.tsv``)."""
    top1: float
    top5: float
    first_conv: str = FIRST_CONV
    classifier: str = CLASSIFIER
    preprocessing: Preprocessing = Preprocessing()


PRETRAINED: Dict[str, PretrainedRecord] = {
    "ghostnet": PretrainedRecord(
        model_name="ghostnet",
        uid="mindspore/1.5/ghostnet_imagenet2012",
        asset_url=("https://download.mindspore.cn/models/r1.5/"
                   "ghostnet_ascend_v150_imagenet2012_research_cv_top1acc73.81_top5acc91.77.ckpt"),
        sha256="612f2fee612654057734283a50ff9eb9c967ee838c1b2f3b9b555e1689f53851",
        num_classes=1000,
        labels="imagenet1k",
        top1=73.81,
        top5=91.77,
    ),
}
"""Published weights by model name. Variants without an entry have no published weights."""

DEFAULT_PREPROCESSING = Preprocessing()
"""The transform for networks without a record (trained from scratch or fine-tuned here)."""


def pretrained_record(model_name: str) -> Optional[PretrainedRecord]:
    """The record of ``model_name``'s published weights, or None when there are none."""
    return PRETRAINED.get(model_name.lower())
