"""Subcommands of the ``ghostnet`` CLI, one module each.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``run=<function(args) -> int>`` as the parser default.
"""
from . import finetune, publish, validate

COMMANDS = (validate, finetune, publish)
