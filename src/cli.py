"""The ``ghostnet`` command line.

Each subcommand lives in its own module under :mod:`.commands` and registers itself here;
this module only builds the parser, runs the chosen command and turns the package's typed
errors into one line on stderr (a traceback only with ``--debug``).

Exit status: 0 when every input succeeded, 1 when any failed, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from typing import List, Optional

from . import __version__
from .commands import COMMANDS
from .errors import GhostnetHubError, ModelSpecError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser, with one subparser per registered command."""
    parser = argparse.ArgumentParser(
        prog="ghostnet",
        description="GhostNet for MindSpore: load from a hub, predict, fine-tune, publish.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback when a command fails")
    parser.add_argument("--version", action="version", version=f"ghostnet-hub {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``ghostnet`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("ghostnet: interrupted", file=sys.stderr)
        return 130
    except ModelSpecError as error:  # a --model/--arch combination that cannot work
        print(f"ghostnet {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GhostnetHubError as error:
        if args.debug:
            traceback.print_exc()
        print(f"ghostnet {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
