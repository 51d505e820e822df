"""``ghostnet validate CARD...``: check model cards against the hub's schema.

Every card is checked, even after one fails, so a single run reports all broken cards. Each
card gets one line on stdout; warnings (a sha256 that is only a prefix, an unknown field) go
to stderr, one line each, naming the card.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from ..card import ModelCard, load_card
from ..errors import CardError

EPILOG = """\
example:
  ghostnet validate ghostnet.md
  ghostnet.md: ok (model-name ghostnet, 1 asset)

exit status: 0 when every card is valid, 1 when any is not.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate", help="validate model cards",
        description="Check MindSpore Hub model cards (markdown with a YAML header) against\n"
                    "the hub's rules and this project's stricter ones.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cards", nargs="+", metavar="CARD", help="model card files to check")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate every card; 0 when all are valid, 1 when any is not."""
    failed = 0
    for path in args.cards:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                card = load_card(path)
        except CardError as error:
            failed += 1
            print(error, flush=True)
            continue
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        print(f"{path}: ok ({_summary(card)})", flush=True)
    return 1 if failed else 0


def _summary(card: ModelCard) -> str:
    count = len(card.assets)
    return f"model-name {card.model_name}, {count} asset{'' if count == 1 else 's'}"
