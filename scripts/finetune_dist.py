"""Data-parallel ``ghostnet finetune`` under MindSpore's launcher, msrun.

Run from the repository root, with the virtual environment active (msrun starts workers
with the ``python`` on PATH)::

    . .venv/bin/activate
    msrun --worker_num 2 --local_worker_num 2 --master_port 8118 --join True \\
        --log_dir runs/msrun-logs scripts/finetune_dist.py --data DIR --output DIR [options]

It takes the options of ``ghostnet finetune``. Each worker initialises communication, sets
data-parallel mode with averaged gradients, and calls the same :func:`finetune` with its
rank: it trains on its shard of every global batch (``--batch-size`` images per worker), and
rank 0 alone evaluates and writes checkpoints, metrics and curves. Every rank also writes
``<output>/ranks/rank<N>.json``: a sha256 over its trainable weights and its step losses, so
that identical replicas can be checked after a run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # msrun runs this file by path
    sys.path.insert(0, str(REPO_ROOT))

import mindspore as ms  # noqa: E402
from mindspore.communication import get_group_size, get_rank, init  # noqa: E402

from src.atomic import write_text  # noqa: E402
from src.commands.finetune import add_options, config_from_args  # noqa: E402
from src.finetune import FinetuneResult, finetune  # noqa: E402

RANKS_FOLDER = "ranks"


def weights_sha256(result: FinetuneResult) -> str:
    """sha256 over the trainable parameters' names and bytes, in order."""
    hasher = hashlib.sha256()
    for param in result.network.trainable_params():
        hasher.update(param.name.encode())
        hasher.update(param.asnumpy().tobytes())
    return hasher.hexdigest()


def main() -> int:
    """Join the group, fine-tune this rank's shard, and write the rank report."""
    parser = argparse.ArgumentParser(prog="scripts/finetune_dist.py",
                                     description="data-parallel ghostnet finetune (msrun)")
    add_options(parser)
    config = config_from_args(parser.parse_args())
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL,
                                 gradients_mean=True)
    rank, size = get_rank(), get_group_size()
    result = finetune(config, rank=rank, group_size=size)
    report = {"rank": rank, "group_size": size, "weights_sha256": weights_sha256(result),
              "step_losses": result.step_losses}
    folder = Path(config.output) / RANKS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / f"rank{rank}.json", json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
