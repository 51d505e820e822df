"""``ghostnet finetune``: train GhostNet on an image folder (see :mod:`..finetune`).

The options map one to one onto :class:`~..finetune_config.FinetuneConfig`; MindSpore is
imported only when the command runs; the data-parallel
script ``scripts/finetune_dist.py`` parses the same options with :func:`add_options`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..finetune_config import FinetuneConfig

EPILOG = """\
outputs (in --output): config.json (the run's options), last.ckpt, best.ckpt (by val
top-1; both hold the class names), metrics.csv, curves.png, and split.json when --data has
no val/ folder. A folder that holds a run needs --resume or --overwrite.

examples:
  ghostnet finetune --data flowers --output runs/flowers --model ghostnet.ckpt --epochs 10
  ghostnet finetune --data digits --output runs/digits --arch ghostnet_050 --image-size 32
  ghostnet finetune --data digits --output runs/digits --resume
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``finetune`` subcommand."""
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune on an image folder",
        description="Fine-tune GhostNet on an image folder (train/ and val/ of class folders).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(parser)
    parser.set_defaults(run=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of a fine-tuning run."""
    defaults = FinetuneConfig(data=Path("."), output=Path("."))
    parser.add_argument("--data", type=Path, required=True, help="image folder")
    parser.add_argument("--output", type=Path, required=True, help="folder for the run's files")
    parser.add_argument(
        "--model", help="backbone to start from: a .ckpt file, or a hub uid, card or card URL"
    )
    parser.add_argument(
        "--arch",
        default=defaults.arch,
        help="variant to build: ghostnet, ghostnet_nose, ghostnet_050 or "
        "ghostnet_130 (default %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="images per step on each worker (default %(default)s)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=defaults.lr,
        help="peak learning rate after warm-up (default %(default)s)",
    )
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="train and eval crop (default 224); resize is size*256/224",
    )
    freezing = parser.add_mutually_exclusive_group()
    freezing.add_argument(
        "--freeze-backbone", action="store_true", help="train the classifier only"
    )
    freezing.add_argument(
        "--freeze-stages",
        type=int,
        default=0,
        metavar="N",
        help="freeze the stem and the first N of 5 stages",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in OUTPUT: its options (config.json; give "
        "only --epochs to train longer), weights, momenta, epoch, lr",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in OUTPUT (refused otherwise)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--val-split",
        type=float,
        default=defaults.val_split,
        help="fraction held out per class when DATA has no val/",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="data pipeline workers (default %(default)s)",
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=defaults.drop_rate,
        help="dropout before the classifier (default %(default)s)",
    )
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="train on the eval transform (no random crop, flip or jitter)",
    )
    parser.add_argument(
        "--min-crop-scale",
        type=float,
        default=defaults.min_crop_scale,
        help="smallest area fraction of the random resized crop (default: suited to the image "
        "size, 0.08 at 224 px to 0.5 at 32 px)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    """The run's configuration from parsed options."""
    return FinetuneConfig(
        data=args.data,
        output=args.output,
        model=args.model,
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        image_size=args.image_size,
        freeze_backbone=args.freeze_backbone,
        freeze_stages=args.freeze_stages,
        resume=args.resume,
        overwrite=args.overwrite,
        seed=args.seed,
        val_split=args.val_split,
        workers=args.workers,
        augment=not args.no_augment,
        min_crop_scale=args.min_crop_scale,
        drop_rate=args.drop_rate,
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    """Fine-tune; 0 on success (errors are raised to the CLI, which prints them)."""
    from ..finetune import finetune  # pylint: disable=import-outside-toplevel  (MindSpore)

    result = finetune(config_from_args(args))
    best = max((row["val_top1"] for row in result.metrics), default=float("nan"))
    print(f"done: best val top-1 {best:.4f}; files in {result.output}")
    return 0
