"""The ``ghostnet`` command line.

Each subcommand lives in its own module under :mod:`.commands` and registers itself here;
this module only builds the parser, runs the chosen command and turns the package's typed
errors into one line on stderr (a traceback only with ``--debug``).

Exit status: 0 when every input succeeded, 1 when any failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import Iterator, List, Optional

from . import __version__
from .commands import COMMANDS
from .errors import FinetuneOptionsError, GhostnetHubError, ModelSpecError, OptionError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser, with one subparser per registered command."""
    parser = argparse.ArgumentParser(
        prog="ghostnet",
        description="GhostNet for MindSpore: load from a hub, predict, fine-tune, publish.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    parser.add_argument("--version", action="version", version=f"ghostnet-hub {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    for subparser in _subparsers(parser):  # options go before or after the (sub)command
        subparser.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the full traceback when a command fails",
        )
        subparser.set_defaults(command_parser=subparser)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below ``parser``: the commands, and actions such as ``cache list``."""
    for action in parser._actions:  # argparse keeps no public list of its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield subparser
                yield from _subparsers(subparser)


def _parse(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported with its subcommand's usage."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        args.command_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``ghostnet`` command and return its exit status."""
    parser = build_parser()
    args = _parse(parser, argv)
    if args.debug:  # the package's debug logs too, such as each failed input's traceback
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        status = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except BrokenPipeError:  # `ghostnet info X | head -3`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush fails quietly too
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("ghostnet: interrupted", file=sys.stderr)
        return 130
    except (ModelSpecError, OptionError, FinetuneOptionsError) as error:  # bad options
        if args.debug:
            traceback.print_exc()
        print(f"ghostnet {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GhostnetHubError as error:
        if args.debug:
            traceback.print_exc()
        print(f"ghostnet {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
