"""Subcommands of the ``ghostnet`` CLI, one module each.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``run=<function(args) -> int>`` as the parser default.
"""
from . import export, finetune, hub_install, info, list_models, predict, publish, validate

COMMANDS = (predict, info, list_models, export, validate, finetune, publish, hub_install)
