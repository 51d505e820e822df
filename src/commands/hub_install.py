"""``ghostnet hub-install``: make the real ``mindspore_hub.load`` build this module.

The work is in :mod:`..hub_install`; this module owns the options, the help and the
output. Each card is handled on its own: one that fails is reported on stderr and the others
go on (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

from ..errors import GhostnetHubError

EPILOG = """\
examples:
  ghostnet hub-install                 # every public GhostNet card this module builds
  ghostnet hub-install mindspore/1.5/ghostnet_imagenet2012 --copy
  ghostnet hub-install --check         # would the real client find conf, card, checkpoint?
  ghostnet hub-install --remove        # undo it, for every card installed

then, in the same Python:
  import mindspore_hub
  net = mindspore_hub.load("mindspore/1.5/ghostnet_imagenet2012")

For each card, the card goes to <hub-dir>/<user>/[<device>/]<version>/<card>.md unless one
is there (from the index, or from this module's ghostnet.md for the 1.5 card, so that one
installs offline), and mindspore_hub_conf.py, hub_conf.py and src/ (a symlink to this
package, or a copy with --copy) to <that folder>/<basename of the card's repo-link>/, where
the real client looks before it clones anything. A folder that this command did not make
is left alone unless --force (it is moved aside, and --remove puts it back).

exit status: 0 when every card succeeded (for --check: every card ready), 1 otherwise.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``hub-install`` subcommand."""
    parser = subparsers.add_parser(
        "hub-install",
        help="install this module where the real mindspore_hub client looks",
        description="Place this module in the real MindSpore Hub client's cache, so that\n"
        "mindspore_hub.load(uid) builds this network for the public GhostNet "
        "cards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "uids",
        nargs="*",
        metavar="UID",
        help="card uids, user/version/card or user/device/version/card "
        "(default: the public GhostNet cards; with --check and "
        "--remove: the cards installed)",
    )
    parser.add_argument(
        "--hub-dir",
        type=Path,
        help="the client's hub dir (default: MSHUB_CACHE_DIR, ~/.mscache, as mindspore_hub)",
    )
    parser.add_argument(
        "--index",
        help="where to read cards that are not cached (default: MSHUB_INDEX, the public hub)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="never touch the network (default: MSHUB_OFFLINE)",
    )
    parser.add_argument(
        "--copy",
        action="store_true",
        help="copy the package instead of linking to it: works without this package installed",
    )
    parser.add_argument(
        "--force", action="store_true", help="move aside a folder this command did not make"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be done")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--remove", action="store_true", help="undo what hub-install did")
    action.add_argument(
        "--check",
        action="store_true",
        help="report whether the real client would find the conf, the card "
        "and a verified checkpoint",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Install, remove or check each card; 0 when all succeeded."""
    # pylint: disable=import-outside-toplevel
    from .. import hub_install
    from ..cache import get_hub_dir
    from ..settings import get_settings

    hub_dir = Path(args.hub_dir if args.hub_dir is not None else get_hub_dir()).expanduser()
    if args.check:
        return _check(args.uids or hub_install.installed(hub_dir), hub_dir)
    if args.remove:
        uids: List[str] = args.uids or hub_install.installed(hub_dir)
    else:
        uids = args.uids or hub_install.default_uids()
    settings = get_settings()
    failed = 0
    for uid in uids:
        try:
            if args.remove:
                lines = hub_install.remove_card(uid, hub_dir=hub_dir, dry_run=args.dry_run)
            else:
                lines = hub_install.install_card(
                    uid,
                    hub_dir=hub_dir,
                    index=args.index or settings.index,
                    offline=settings.offline if args.offline is None else args.offline,
                    copy=args.copy,
                    force=args.force,
                    dry_run=args.dry_run,
                )
        except GhostnetHubError as error:
            print(f"ghostnet hub-install: {uid}: error: {error}", file=sys.stderr)
            failed += 1
            continue
        for line in lines:
            print(f"{uid}: {line}")
    if not uids:
        print(f"nothing installed in {hub_dir}")
    return 1 if failed else 0


CLIENT_WARNING = """\
!: mindspore_hub's own card check (mindspore_hub/_utils/check.py, run on every load) refuses
   these cards whatever is installed, in the client version read for this command (check.py
   at 7a1d6d64); it also opens every link on each load, so the client needs the network."""


def _check(uids: List[str], hub_dir: Path) -> int:
    from ..hub_install import check_card  # pylint: disable=import-outside-toplevel

    if not uids:
        print(f"nothing installed in {hub_dir}")
        return 1
    ready = True
    notes = False
    for uid in uids:
        try:
            result = check_card(uid, hub_dir=hub_dir)
        except GhostnetHubError as error:
            print(f"ghostnet hub-install: {uid}: error: {error}", file=sys.stderr)
            ready = False
            continue
        ready = ready and result.ready
        notes = notes or bool(result.client_notes)
        print(f"{uid}: {'ready' if result.ready else 'NOT READY'}")
        for what, finding in (
            ("conf", result.conf),
            ("card", result.card),
            ("checkpoint", result.checkpoint),
        ):
            print(f"  {what:<10}  {'ok' if finding.ok else 'no':<3} {finding.detail}")
        for note in result.client_notes:
            print(f"  {'client':<10}  !   {note}")
    if notes:
        print(CLIENT_WARNING)
    return 0 if ready else 1
