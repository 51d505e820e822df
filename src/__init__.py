"""GhostNet for MindSpore, packaged as a MindSpore Hub module.

Importable as ``src`` from the repository root (the way the MindSpore Hub client finds it)
and as ``ghostnet_hub`` once installed. Every import inside the package is relative so both
names work.
"""
