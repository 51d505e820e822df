"""``ghostnet publish CKPT``: put a checkpoint and its card into a hub index.

See :mod:`..publish` for the layout and the rules.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
writes <index>/assets/<sha256[:16]>_<name>_<dataset>.ckpt (the network's weights only) and
<index>/<user>/<version>/<name>_<dataset>.md;
load it with hub.load("<user>/<version>/<name>_<dataset>").
The card passes the public hub's rules: --dataset must be a name the hub accepts (the nearest
are suggested), unless --local-dataset says the index is a project-local one.

examples:
  ghostnet publish runs/pets/best.ckpt --index hub-index --user me --version 1.0 \\
      --name ghostnet_050 --dataset "Oxford-IIIT Pet" --asset-base-url https://example.org/assets
  ghostnet publish runs/digits/best.ckpt --index hub-index --user me --version 1.0 \\
      --dataset digits --local-dataset --asset-base-url http://127.0.0.1:8000/assets
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``publish`` subcommand."""
    parser = subparsers.add_parser(
        "publish",
        help="publish a checkpoint to a hub index",
        description="Copy a checkpoint into a hub index under a hash-prefixed name and write\n"
        "its validated model card.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", type=Path, metavar="CKPT")
    parser.add_argument("--index", type=Path, required=True, help="the index folder")
    parser.add_argument("--user", required=True, help="hub user id (first uid part)")
    parser.add_argument("--version", required=True, help="version folder (second uid part)")
    parser.add_argument(
        "--name",
        default=None,
        help="model-name: the GhostNet variant (default: the checkpoint's arch)",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="training data set: one of the hub's accepted names (join several with '_')",
    )
    parser.add_argument(
        "--local-dataset",
        action="store_true",
        help="allow a data set name the public hub does not accept (for a project-local index)",
    )
    parser.add_argument(
        "--asset-base-url", required=True, help="URL where <index>/assets is served"
    )
    parser.add_argument(
        "--evaluation",
        default=None,
        help='e.g. "top1acc98.10 | top5acc100.00" (default: from metrics.csv)',
    )
    parser.add_argument(
        "--repo-link",
        default=None,
        help="repository (or repository folder) holding the "
        "mindspore_hub_conf.py the hub client imports (default: this "
        "project's repository)",
    )
    parser.add_argument(
        "--int8",
        type=Path,
        default=None,
        metavar="ONNX",
        help="also publish this int8 model (ghostnet quantize) as the card's second asset",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a different checkpoint already published under the card",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Publish; 0 on success, including when nothing had to change."""
    # pylint: disable=import-outside-toplevel  (MindSpore, only when the command runs)
    from ..publish import PublishRequest, describe, publish

    options = {"repo_link": args.repo_link} if args.repo_link is not None else {}
    result = publish(
        PublishRequest(
            checkpoint=args.checkpoint,
            index=args.index,
            user=args.user,
            version=args.version,
            dataset=args.dataset,
            asset_base_url=args.asset_base_url,
            name=args.name,
            evaluation=args.evaluation,
            force=args.force,
            local_dataset=args.local_dataset,
            int8=args.int8,
            **options,
        )
    )
    print(describe(result))
    return 0
