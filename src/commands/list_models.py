"""``ghostnet list``: the models the hub index offers."""

from __future__ import annotations

import argparse
import sys
import warnings

EPILOG = """\
examples:
  ghostnet list
  MSHUB_INDEX=http://127.0.0.1:8000/index ghostnet list
  ghostnet list --offline          # the cards already in the cache

prints one card per line: its uid and its model-name, read from the card's header line
(no card is downloaded or validated); an empty listing says on stderr what was looked at.
The index is MSHUB_INDEX (a folder, or an http(s) base URL serving index.json);
--source gitee|github picks the public hub.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``list`` subcommand."""
    parser = subparsers.add_parser(
        "list",
        help="list the hub's models",
        description="List the models the hub offers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--index", help="index folder or URL (default: MSHUB_INDEX)")
    parser.add_argument(
        "--source", choices=("gitee", "github"), help="use the public hub's index on this host"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="list the cards in the cache, without the network",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one card per line; 0 on success. Malformed ``index.json`` entries the listing
    skipped are reported on stderr, one ``warning:`` line each; an empty listing says what
    was looked at."""
    # pylint: disable=import-outside-toplevel
    from ..cache import get_hub_dir
    from ..index import SkippedEntryWarning, index_for
    from ..settings import get_settings
    from ..weights import list_cards

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedEntryWarning)
        entries = list_cards(source=args.source, index=args.index, offline=args.offline)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if not entries:  # say what was looked at, rather than print nothing
        settings = get_settings()
        offline = settings.offline if args.offline is None else args.offline
        if offline:
            print(
                f"ghostnet list: no cards in the cache {get_hub_dir()} (offline mode lists "
                "the cached cards only; a card is cached when a model is first loaded)",
                file=sys.stderr,
            )
        else:
            where = index_for(args.source, settings.index if args.index is None else args.index)
            print(
                f"ghostnet list: the index {where} holds no cards (user/version/card.md)",
                file=sys.stderr,
            )
    width = max((len(entry.uid) for entry in entries), default=0)
    for entry in entries:
        print(f"{entry.uid:<{width}}  {entry.model_name}")
    return 0
