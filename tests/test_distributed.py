"""Data-parallel fine-tuning: 2 CPU workers under msrun on loopback (scripts/finetune_dist.py)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from src.finetune import finetune
from src.finetune_config import FinetuneConfig
from tests.image_folders import write_image_folder

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ARCH = "ghostnet_050"
WORKERS = 2
BATCH = 8  # per worker: the global batch is 16
STEPS = 3  # 48 train images / global batch 16

# Step losses of the 2-worker run (the mean of the two ranks' losses, each over its half of
# the global batch) against one process over the same global batch of 16. They cannot be
# bitwise equal: in training mode BatchNorm normalises with the statistics of the batch it
# sees, and under data parallelism each rank sees 8 images, not 16 (BN is not synchronised).
# - Step 1 starts from identical weights (same seed) on the same images, so only those
#   statistics differ; measured here: 0.6997 vs 0.6905 (1.3 %). FIRST_STEP_RTOL = 5 %.
# - Later steps also carry the earlier steps' slightly different gradients (computed through
#   the per-rank normalisation, then averaged exactly), and this 2-class problem trained from
#   scratch at batch 16 has noisy losses; measured: 3.9 % and 7.6 % at steps 2 and 3.
#   LOSS_RTOL = 15 % holds that with margin, and still fails when a rank trains on the wrong
#   shard, when the loop runs a different number of steps, or when the ranks diverge (their
#   weights are compared bit for bit as well).
FIRST_STEP_RTOL = 0.05
LOSS_RTOL = 0.15


pytestmark = pytest.mark.slow  # two msrun workers train

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dp-data")
    write_image_folder(root / "train", classes=2, per_class=24)
    write_image_folder(root / "val", classes=2, per_class=2)
    return root


OPTIONS = ["--arch", ARCH, "--epochs", "1", "--lr", "0.01", "--image-size", "16",
           "--no-augment", "--drop-rate", "0", "--workers", "1", "--no-progress",
           "--warmup-epochs", "0", "--seed", "3"]


def test_two_workers_stay_identical_and_match_one_process(data: Path, tmp_path: Path) -> None:
    output = tmp_path / "dp"
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = ["msrun", "--worker_num", str(WORKERS), "--local_worker_num", str(WORKERS),
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
               "--join", "True", "--log_dir", str(tmp_path / "logs"),
               "scripts/finetune_dist.py", "--data", str(data), "--output", str(output),
               "--batch-size", str(BATCH), *OPTIONS]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, timeout=420,
                               capture_output=True, text=True)
    logs = "\n".join(path.read_text(errors="replace")[-3000:]
                     for path in sorted((tmp_path / "logs").glob("*.log")))
    assert completed.returncode == 0, logs

    reports = [json.loads((output / "ranks" / f"rank{rank}.json").read_text())
               for rank in range(WORKERS)]
    assert reports[0]["weights_sha256"] == reports[1]["weights_sha256"]
    assert all(len(report["step_losses"]) == STEPS for report in reports)
    # rank 0 alone wrote the run's files
    assert (output / "last.ckpt").is_file() and (output / "metrics.csv").is_file()

    single = finetune(FinetuneConfig(
        data=data, output=tmp_path / "single", arch=ARCH, epochs=1, batch_size=BATCH * WORKERS,
        lr=0.01, image_size=16, augment=False, drop_rate=0.0, workers=1, progress=False,
        warmup_epochs=0, seed=3))
    distributed = np.mean([report["step_losses"] for report in reports], axis=0)
    assert distributed[0] == pytest.approx(single.step_losses[0], rel=FIRST_STEP_RTOL)
    np.testing.assert_allclose(distributed, single.step_losses, rtol=LOSS_RTOL)
