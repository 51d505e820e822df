"""``ghostnet validate CARD...``: check model cards against the hub's schema."""
from __future__ import annotations

import argparse


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser("validate", help="validate model cards")
    parser.add_argument("cards", nargs="+", metavar="CARD")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder until card.py lands (see the card work)."""
    raise NotImplementedError
