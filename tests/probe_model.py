"""A GhostNet that really classifies real images, made in seconds: a linear probe.

Training a network from scratch is too slow for a test. Instead, the handwritten digits that
ship with scikit-learn (1,797 real 8x8 scans) are written as PNG class folders, GhostNet with
its seeded initial weights is run once (compiled) over part of the train split, and its
classifier is set to the ridge-regression solution on the pre-logit features.
The checkpoint, with class names and image size, scores far above chance (10 %) on the
held-out split: what an accuracy gate needs to be tested on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import mindspore as ms
import numpy as np

from src.demo import write_digits
from src.factory import create_network
from src.registry import IMAGENET_PREPROCESSING, meta_entries
from src.transforms import EvalTransform

ARCH = "ghostnet"
IMAGE_SIZE = 32
PER_CLASS = 30
"""Train images per class the probe is fitted on."""
RIDGE = 0.1
"""Ridge penalty, relative to the mean feature variance."""
CLASSES = [str(digit) for digit in range(10)]
BATCH = 100


def write_probe_model(root: Path, image_size: int = IMAGE_SIZE) -> Tuple[Path, Path, Path]:
    """The checkpoint (for ``image_size`` inputs), the train folder and the held-out test
    folder, under ``root``."""
    train_dir, _ = write_digits(root / "digits")
    transform = EvalTransform(IMAGENET_PREPROCESSING.at_size(image_size))
    paths = [path for digit in CLASSES
             for path in sorted((train_dir / digit).glob("*.png"))[:PER_CLASS]]
    images = np.stack([transform(path) for path in paths])
    targets = np.array([CLASSES.index(path.parent.name) for path in paths])
    ms.set_seed(0)
    net = create_network(ARCH, num_classes=len(CLASSES))
    net.set_train(False)

    def embed(x: ms.Tensor) -> ms.Tensor:
        return net.forward_head(net.forward_features(x), pre_logits=True)

    pre_logits = ms.jit(embed)
    features = np.concatenate([pre_logits(ms.Tensor(images[i:i + BATCH])).asnumpy()
                               for i in range(0, len(images), BATCH)]).astype(np.float64)
    # Plain (not standardised) features: a dead feature would otherwise get a huge weight
    # that is harmless in float but takes the whole int8 range of its classifier row.
    mean = features.mean(axis=0)
    centred = features - mean
    onehot = np.eye(len(CLASSES))[targets] - 1.0 / len(CLASSES)
    gram = centred.T @ centred
    gram += RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    weight = np.linalg.solve(gram, centred.T @ onehot).T
    net.classifier.weight.set_data(ms.Tensor(weight.astype(np.float32)))
    net.classifier.bias.set_data(ms.Tensor((-weight @ mean).astype(np.float32)))
    checkpoint = root / "digits_probe.ckpt"
    ms.save_checkpoint(net, str(checkpoint),
                       append_dict=meta_entries(CLASSES, image_size=image_size))
    return checkpoint, train_dir, root / "digits" / "test"
