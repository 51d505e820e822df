"""Names of the GhostNet modules that other code refers to, in a module free of MindSpore.

:mod:`.pretrained` records them as data, and the fast ONNX Runtime path of ``predict``
imports :mod:`.pretrained` without paying for MindSpore's import (seconds), so the names
cannot live only in :mod:`.ghostnet`, which builds cells. :mod:`.ghostnet` re-exports them.
"""
FIRST_CONV = "conv_stem"
"""The module that sees the input image (its weight depends on ``in_channels``)."""
CLASSIFIER = "classifier"
"""The module replaced for fine-tuning (its shape depends on ``num_classes``)."""
CLASSIFIER_PARAMS = (f"{CLASSIFIER}.weight", f"{CLASSIFIER}.bias")
