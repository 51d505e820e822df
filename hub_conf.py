"""MindSpore Hub entry of the GhostNet module: ``create_network(name, *args, **kwargs)``.

The MindSpore Hub client puts this directory on ``sys.path`` and calls
``create_network(model_name.lower(), *args, **kwargs)``; ``mindspore_hub_conf.py`` re-exports
this under the file name the client imports. Model names and their descriptions::

    ghostnet        GhostNet 1.0x with SE (the published ImageNet model)
    ghostnet_nose   GhostNet 1.0x without squeeze-and-excitation
    ghostnet_050    GhostNet 0.5x with SE
    ghostnet_130    GhostNet 1.3x with SE
    ghostnet_600    GhostNet-600 of the model zoo (also ``ghostnet-600``, the hub card's name)

``list_models()`` returns the same, from the network's own variant table. ``pretrained``
takes the model zoo's, mindcv's and timm's checkpoints (see ``src/foreign.py``).
"""

import os
import sys

_MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
if _MODULE_DIR not in sys.path:  # executed by file path, from another working directory
    sys.path.insert(0, _MODULE_DIR)

from src.factory import MODEL_NAMES, create_network, list_models  # noqa: E402

__all__ = ["MODEL_NAMES", "create_network", "list_models"]
