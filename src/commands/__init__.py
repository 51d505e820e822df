"""Subcommands of the ``ghostnet`` CLI, one module each.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``run=<function(args) -> int>`` as the parser default.
"""

from . import (
    cache,
    convert,
    export,
    finetune,
    hub_install,
    info,
    list_models,
    predict,
    publish,
    quantize,
    serve,
    validate,
)

COMMANDS = (
    predict,
    info,
    list_models,
    export,
    validate,
    finetune,
    publish,
    hub_install,
    serve,
    quantize,
    convert,
    cache,
)
