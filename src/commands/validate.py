"""``ghostnet validate CARD...``: check model cards as the hub's gate and ``hub.load`` do.

Each card is checked three ways, so that a card that validates also loads:
1. the card schema, as every load reads it (:mod:`..card`);
2. the public hub's gate for new cards (:mod:`..hub_rules`): accepted data set names, a
   repo-link the hub's client can clone, no heading ending in ``:``;
3. what ``hub.load`` checks before downloading (:func:`..hub.check_loadable`): a safe file
   name for the checkpoint asset. What a plain ``hub.load(uid)`` cannot do (a model that is
   not a GhostNet variant, a card without a checkpoint) is printed as a note; with
   ``--ghostnet-only`` it is a failure.

A Chinese twin (``<name>_cn.md``) is checked through its English card, as the hub does.
Every card is checked, even after one fails, so one run reports all broken cards. Each card
gets one line on stdout; warnings (a sha256 that is only a prefix, an unknown field) go to
stderr, one line each, naming the card.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Tuple

from ..card import ModelCard, load_card
from ..errors import CardError, UnsafeAssetNameError
from ..hub_rules import english_twin, hub_problems

EPILOG = """\
example:
  ghostnet validate ghostnet.md
  ghostnet.md: ok (model-name ghostnet, 1 asset)

exit status: 0 when every card is valid, 1 when any is not.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="validate model cards",
        description="Check MindSpore Hub model cards (markdown with a YAML header) against\n"
        "the hub's rules for new cards and what hub.load checks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cards", nargs="+", metavar="CARD", help="model card files to check")
    parser.add_argument(
        "--ghostnet-only",
        action="store_true",
        help="fail a card that plain hub.load(uid) cannot load (another network, or no checkpoint)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate every card; 0 when all are valid, 1 when any is not."""
    from ..hub import check_loadable  # pylint: disable=import-outside-toplevel  (MindSpore)

    failed = 0
    for path in args.cards:
        checked, twin_note = _checked_path(Path(path))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                card = load_card(checked)
            problems = hub_problems(card)
            if problems:
                field, reason = problems[0]
                raise CardError(str(checked), reason, field)
            try:
                notes = check_loadable(card)
            except UnsafeAssetNameError as error:
                raise CardError(
                    str(checked), f"{error.url}: {error.reason}", "asset-link"
                ) from error
            if args.ghostnet_only and notes:
                raise CardError(str(checked), f"--ghostnet-only: {notes[0]}")
        except CardError as error:
            failed += 1
            print(f"{error}{twin_note}", flush=True)
            continue
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        shown = "; ".join([_summary(card), *notes])
        print(f"{path}: ok ({shown}){twin_note}", flush=True)
    return 1 if failed else 0


def _checked_path(path: Path) -> Tuple[Path, str]:
    """The card the hub checks for ``path`` (its English twin for ``<name>_cn.md``), and a
    note saying so."""
    twin = english_twin(path.stem)
    if twin is None:
        return path, ""
    english = path.with_name(f"{twin}{path.suffix}")
    return english, f" [a Chinese twin, checked as its English card {english}]"


def _summary(card: ModelCard) -> str:
    count = len(card.assets)
    return f"model-name {card.model_name}, {count} asset{'' if count == 1 else 's'}"
