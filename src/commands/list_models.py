"""``ghostnet list``: the models the hub index offers (needs the hub client)."""
from __future__ import annotations

import argparse
import importlib
import importlib.util

from ..errors import HubUnavailableError

EPILOG = """\
example:
  ghostnet list
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``list`` subcommand."""
    parser = subparsers.add_parser(
        "list", help="list the hub's models", description="List the models the hub offers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one hub model per line; 0 on success.

    Raises:
        HubUnavailableError: this build has no hub client yet.
    """
    package = __package__.rsplit(".", 1)[0]
    if importlib.util.find_spec(f"{package}.hub") is None:
        raise HubUnavailableError("listing the hub's models needs the hub client, which is "
                                  "not part of this build yet")
    hub = importlib.import_module(f"{package}.hub")
    for name in hub.hub_list():
        print(name)
    return 0
