"""GhostNet for MindSpore, packaged as a MindSpore Hub module.

Importable as ``src`` from the repository root (the way the MindSpore Hub client finds it)
and as ``ghostnet_hub`` once installed. Every import inside the package is relative so both
names work.
"""

__version__ = "0.2.0"
"""The package's version; ``pyproject.toml`` reads it from here, so there is one place."""

from .settings import prefer_jit_convolutions  # noqa: E402  (before any MindSpore kernel)

prefer_jit_convolutions()
