"""Fine-tuning end to end on tiny real image folders (src/finetune.py, ghostnet finetune)."""
from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from src.checkpoint import read_checkpoint
from src.registry import read_meta
from src.cli import main
from src.errors import OutputError, TrainingDivergedError
from src.factory import create_network
from src.finetune import build_network, finetune
from src.finetune_config import FinetuneConfig
from src.registry import CLASSIFIER_PARAMS
from src.download import sha256_file
from src.optim import warmup_cosine
from src.run_log import read_metrics
from tests.image_folders import write_image_folder

pytestmark = pytest.mark.slow  # real training runs

REPO_ROOT = Path(__file__).resolve().parent.parent
ARCH = "ghostnet_050"  # the variant does not matter here; the smallest is the fastest


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 colour classes of 10 16x16 PNGs, no val/ (so the run splits 2 per class off)."""
    return write_image_folder(tmp_path_factory.mktemp("colours"), classes=3, per_class=10)


@pytest.fixture(scope="module")
def trained(colours: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of a 3-epoch CLI run: 24 train images, batch 8, so 3 steps an epoch."""
    output = tmp_path_factory.mktemp("run")
    status = main(["finetune", "--data", str(colours), "--output", str(output),
                   "--arch", ARCH, "--epochs", "3", "--batch-size", "8", "--lr", "0.01",
                   "--image-size", "16", "--val-split", "0.2", "--no-augment",
                   "--no-progress", "--workers", "1", "--warmup-epochs", "0"])
    assert status == 0
    return output


def test_run_writes_every_output(trained: Path) -> None:
    names = sorted(path.name for path in trained.iterdir())
    assert names == ["best.ckpt", "config.json", "curves.png", "last.ckpt", "metrics.csv",
                     "split.json"]
    assert (trained / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = read_checkpoint(trained / "last.ckpt")
    assert read_meta(params, "last").class_names == ["class_0", "class_1", "class_2"]
    assert any(name.startswith("moments.") for name in params)
    assert int(params["global_step"].asnumpy()[0]) == 9


def test_training_lowers_the_loss(trained: Path) -> None:
    with open(trained / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    losses = [float(row["train_loss"]) for row in rows]
    assert losses[-1] < losses[0], losses
    # train top-1 of the batches as trained: 8 images a step, 3 steps, so a multiple of 1/24
    for row in rows:
        correct = float(row["train_top1"]) * 24  # written with 6 significant digits
        assert correct == pytest.approx(round(correct), abs=1e-3)
    assert float(rows[-1]["train_top1"]) > 1 / 3  # better than chance on 3 easy classes
    assert [row["session"] for row in rows] == ["1", "1", "1"]


def test_finetuned_checkpoint_loads_for_inference(trained: Path) -> None:
    net = create_network(ARCH, pretrained=trained / "best.ckpt")
    assert net.num_classes == 3


def test_resume_picks_up_momenta_and_schedule_position(trained: Path, colours: Path,
                                                       tmp_path: Path) -> None:
    saved = read_checkpoint(trained / "last.ckpt")
    result = finetune(FinetuneConfig(data=colours, output=trained, arch=ARCH, epochs=3,
                                     batch_size=8, lr=0.01, image_size=16, val_split=0.2,
                                     resume=True, progress=False, workers=1,
                                     warmup_epochs=0))
    # every epoch was done, so nothing trained: the state is exactly what was restored
    assert result.step_losses == []
    optimizer = result.optimizer
    assert int(optimizer.global_step.asnumpy()[0]) == 9
    for moment in optimizer.moments:
        np.testing.assert_array_equal(moment.asnumpy(), saved[moment.name].asnumpy())
    assert any(np.abs(moment.asnumpy()).sum() > 0 for moment in optimizer.moments)
    # the schedule is rebuilt from the options; global_step is its position
    np.testing.assert_allclose(optimizer.learning_rate.learning_rate.asnumpy(), warmup_cosine(0.01, 9, 0),
                               rtol=1e-6)


def test_resume_continues_the_schedule(trained: Path, colours: Path, tmp_path: Path) -> None:
    output = tmp_path / "more"
    output.mkdir()
    for name in ("last.ckpt", "metrics.csv"):
        (output / name).write_bytes((trained / name).read_bytes())
    result = finetune(FinetuneConfig(data=colours, output=output, arch=ARCH, epochs=4,
                                     batch_size=8, lr=0.01, image_size=16, val_split=0.2,
                                     resume=True, progress=False, workers=1,
                                     warmup_epochs=0))
    assert len(result.step_losses) == 3  # only epoch 4 ran
    assert int(result.optimizer.global_step.asnumpy()[0]) == 12
    assert [row["epoch"] for row in result.metrics] == [1, 2, 3, 4]
    assert [row["session"] for row in result.metrics] == [1, 1, 1, 2]  # marks the resume
    # epoch 4 ran on the 4-epoch schedule, from the position epoch 3 ended at
    assert result.metrics[-1]["lr"] == pytest.approx(warmup_cosine(0.01, 12, 0)[11], rel=1e-5)


def test_cli_resume_restores_the_options_and_overwrite_replaces_the_run(
        trained: Path, colours: Path, tmp_path: Path) -> None:
    output = tmp_path / "copy"
    shutil.copytree(trained, output)
    common = ["finetune", "--data", str(colours), "--output", str(output), "--no-progress",
              "--workers", "1"]
    assert main([*common, "--resume", "--epochs", "4"]) == 0  # no --image-size 16, --arch
    assert read_meta(read_checkpoint(output / "last.ckpt"), "last").image_size == 16
    assert [int(row["epoch"]) for row in read_metrics(output / "metrics.csv")] == [1, 2, 3, 4]
    assert main([*common, "--overwrite", "--epochs", "1", "--arch", ARCH,
                 "--image-size", "16", "--batch-size", "8"]) == 0
    assert [int(row["epoch"]) for row in read_metrics(output / "metrics.csv")] == [1]


def test_head_replacement_keeps_the_backbone_bit_identical(tmp_path: Path) -> None:
    source = create_network(ARCH, 7)
    ckpt = tmp_path / "source.ckpt"
    ms.save_checkpoint(source, str(ckpt))
    config = FinetuneConfig(data=tmp_path, output=tmp_path, model=str(ckpt), arch=ARCH)
    net, arch = build_network(config, 3)
    assert arch == ARCH
    saved = read_checkpoint(ckpt)
    for param in net.get_parameters():
        if param.name in CLASSIFIER_PARAMS:
            assert param.shape[0] == 3
        else:
            np.testing.assert_array_equal(param.asnumpy(), saved[param.name].asnumpy(),
                                          err_msg=param.name)


def test_unwritable_output_fails_before_training(colours: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="a-file/run: output folder is not writable"):
        finetune(FinetuneConfig(data=colours, output=blocker / "run", arch=ARCH,
                                progress=False))


def test_ctrl_c_saves_a_resumable_checkpoint(colours: Path, tmp_path: Path) -> None:
    output = tmp_path / "interrupted"
    command = [sys.executable, "-m", "src.cli", "finetune", "--data", str(colours),
               "--output", str(output), "--arch", ARCH, "--epochs", "1000", "--batch-size", "8",
               "--image-size", "16", "--val-split", "0.2", "--no-progress", "--workers", "1"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300  # compiling the step takes 20-60 s on 2 busy cores
        while not (output / "metrics.csv").is_file():  # an epoch is done: training is on
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        log, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, log[-3000:]
    assert "interrupted: resumable checkpoint saved" in log
    params = read_checkpoint(output / "last.ckpt")
    step = int(params["global_step"].asnumpy().reshape(-1)[0])
    epoch = int(params["epoch"].asnumpy().reshape(-1)[0])
    assert step >= 3 and epoch >= 1 and step >= 3 * epoch  # 3 steps an epoch
    result = finetune(FinetuneConfig(data=colours, output=output, arch=ARCH, epochs=epoch + 1,
                                     batch_size=8, image_size=16, val_split=0.2, resume=True,
                                     progress=False, workers=1))
    assert int(result.optimizer.global_step.asnumpy()[0]) == 3 * (epoch + 1)
    assert len(result.step_losses) == 3 * (epoch + 1) - step  # only the missing steps ran


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(
        trained: Path, colours: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    shutil.copytree(trained, output)
    (output / "config.json").unlink()  # no saved options: the resume may change the lr
    last = output / "last.ckpt"
    good = sha256_file(last)
    metrics = (output / "metrics.csv").read_text()
    with pytest.raises(TrainingDivergedError, match="diverged in epoch 4") as caught:
        finetune(FinetuneConfig(data=colours, output=output, arch=ARCH, epochs=5,
                                batch_size=8, lr=1e6, image_size=16, val_split=0.2,
                                resume=True, progress=False, workers=1, warmup_epochs=0))
    assert f"{last} (after epoch 3) is the last good checkpoint" in str(caught.value)
    assert sha256_file(last) == good and (output / "metrics.csv").read_text() == metrics
    assert sorted(path.name for path in output.iterdir()) == \
        ["best.ckpt", "config.json", "curves.png", "last.ckpt", "metrics.csv", "split.json"]
