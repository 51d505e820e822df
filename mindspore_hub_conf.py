"""The file the MindSpore Hub client imports by path: the same entry as ``hub_conf.py``."""

import os
import sys

_MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
if _MODULE_DIR not in sys.path:  # executed by file path, from another working directory
    sys.path.insert(0, _MODULE_DIR)

from hub_conf import MODEL_NAMES, create_network, list_models  # noqa: E402

__all__ = ["MODEL_NAMES", "create_network", "list_models"]
