"""``ghostnet cache list`` and ``ghostnet cache clean``: see and trim the hub cache.

The cache is ``MSHUB_CACHE_DIR`` (default ``~/.mscache``); see :mod:`..cache_admin`.
"""

from __future__ import annotations

import argparse
import time
from typing import List

EPILOG = """\
examples:
  ghostnet cache list
  ghostnet cache clean me/1.0/ghostnet_050_digits --dry-run
  ghostnet cache clean --older-than 30      # unused for 30 days
  ghostnet cache clean --exports            # predict's ONNX exports
  ghostnet cache clean --all

a file being downloaded by another process is never removed (it is skipped, and said so).
exit status: 0 on success, 1 when something was skipped or failed, 2 on usage errors.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``cache`` subcommand, with ``list`` and ``clean``."""
    parser = subparsers.add_parser(
        "cache",
        help="list or clean the hub cache",
        description="List the hub cache's entries, or remove some of them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each entry: uid, files, size, verified, last used")
    listing.set_defaults(run=run_list)
    clean = actions.add_parser("clean", help="remove entries")
    clean.add_argument("uids", nargs="*", metavar="UID", help="entries to remove, by name")
    clean.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="remove entries unused for more than DAYS days",
    )
    clean.add_argument("--exports", action="store_true", help="remove predict's ONNX exports")
    clean.add_argument("--all", action="store_true", help="remove every entry")
    clean.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    clean.set_defaults(run=run_clean)


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.1f} KiB"


def run_list(args: argparse.Namespace) -> int:
    """Print one line per entry, and the total; 0."""
    # pylint: disable=import-outside-toplevel
    from ..cache import get_hub_dir
    from ..cache_admin import scan_cache

    root = get_hub_dir()
    entries = scan_cache(root)
    if not entries:
        print(f"the cache {root} is empty")
        return 0
    width = max(len(entry.name) for entry in entries)
    print(f"{'UID':<{width}}  FILES       SIZE  VERIFIED  LAST USED")
    for entry in entries:
        verified = "-" if entry.verified is None else ("yes" if entry.verified else "NO")
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
        print(
            f"{entry.name:<{width}}  {len(entry.files):>5}  {_size(entry.size):>9}  "
            f"{verified:<8}  {used}"
        )
    total = sum(entry.size for entry in entries)
    print(f"{len(entries)} entries, {_size(total)} in {root}")
    return 0


def run_clean(args: argparse.Namespace) -> int:
    """Remove (or with --dry-run, list) the chosen entries; 0, or 1 when any was skipped."""
    # pylint: disable=import-outside-toplevel
    from ..cache import get_hub_dir
    from ..cache_admin import remove, scan_cache, select
    from ..errors import OptionError

    if not (args.uids or args.older_than is not None or args.exports or args.all):
        raise OptionError(
            "cache clean: name entries (UID), or give --older-than, --exports or --all"
        )
    root = get_hub_dir()
    chosen = select(
        scan_cache(root),
        names=args.uids,
        older_than_days=args.older_than,
        exports=args.exports,
        everything=args.all,
    )
    skipped: List[str] = []
    freed = 0
    for entry in chosen:
        if args.dry_run:
            print(f"would remove {entry.name}: {len(entry.files)} files, {_size(entry.size)}")
            continue
        gained, busy = remove(entry)
        freed += gained
        skipped += [str(path) for path in busy]
        state = f"; skipped {len(busy)} file(s) being downloaded" if busy else ""
        print(f"removed {entry.name}: {_size(gained)}{state}")
    if not chosen:
        print(f"nothing to remove in {root}")
    elif not args.dry_run:
        print(f"freed {_size(freed)}")
    return 1 if skipped else 0
