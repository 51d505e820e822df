"""Listing a 3,000-card index, and resolving a short uid in it (target: under 1 s each).

Builds a synthetic tree shaped like the public hub's ``mshub_res/assets`` (users, versions,
some 4-part ``<user>/<device>/<version>`` folders, a Chinese twin beside every tenth card,
cards of about 2 KB with the hub's header and body), then measures, cold in this process:

- ``list_cards(index=<folder>)``, what ``ghostnet list`` prints;
- ``fetch``-free short-uid resolution (``resolve_card("mindspore/ghostnet")``), which lists
  the index and validates only the one card it picks;
- for scale, parsing and validating every card with :func:`src.card.load_card`, which is
  what a listing that read whole cards would cost.

Median of ``--repeats`` runs; the OS page cache is warm after the first (as for a user who
lists twice). MindSpore is not imported.

Run: ``.venv/bin/python benchmarks/bench_list.py [--cards 3000] [--repeats 5]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from src.cache import set_hub_dir  # noqa: E402
from src.card import load_card  # noqa: E402
from src.weights import list_cards, resolve_card  # noqa: E402

SEED = (Path(__file__).resolve().parent.parent / "ghostnet.md").read_text(encoding="utf-8")
USERS = ("mindspore", "noah-cvlab", "user-a", "user-b", "user-c")
VERSIONS = ("0.7", "1.0", "1.3", "1.5", "1.8", "1.9", "1.10", "2.0", "2.3")


def build_tree(root: Path, cards: int) -> List[Path]:
    """``cards`` cards under ``root``; every 7th in a 4-part folder. Returns their paths."""
    paths = []
    for number in range(cards):
        user = USERS[number % len(USERS)]
        version = VERSIONS[number % len(VERSIONS)]
        folder = root / user / ("gpu" if number % 7 == 0 else "") / version
        name = f"model{number}_imagenet2012"
        text = SEED.replace("model-name: ghostnet", f"model-name: model{number % 400}")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
        if number % 10 == 0:
            (folder / f"{name}_cn.md").write_text("# 中文\n\n---\n\n模型名称：x\n\n---\n",
                                                   encoding="utf-8")
        paths.append(folder / f"{name}.md")
    return paths


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cards", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "index"
        paths = build_tree(root, args.cards)
        cache = Path(scratch) / "cache"
        set_hub_dir(cache)
        listed = len(list_cards(index=str(root), offline=False))
        listing = median_seconds(lambda: list_cards(index=str(root), offline=False),
                                 args.repeats)
        short = median_seconds(lambda: resolve_card("mindspore/model0", index=str(root),
                                                    offline=False), args.repeats)

        def parse_all() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for path in paths:
                    load_card(path)
        parsing = median_seconds(parse_all, max(1, args.repeats // 2))
    print(f"{listed} cards listed ({args.cards} cards + Chinese twins), median of "
          f"{args.repeats}:")
    print(f"  list_cards (ghostnet list)        {listing:7.3f} s   target < 1 s: "
          f"{'met' if listing < 1 else 'MISSED'}")
    print(f"  short uid resolve (list + 1 card) {short:7.3f} s   target < 1 s: "
          f"{'met' if short < 1 else 'MISSED'}")
    print(f"  parsing every card (for scale)    {parsing:7.3f} s   "
          f"{parsing / listing:5.1f}x the listing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
