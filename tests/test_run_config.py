"""A run's options: checked before any work, saved in the run folder, restored on resume."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from src.cli import main
from src.errors import OptionError
from src.finetune_config import FinetuneConfig
from src.run_config import CONFIG_FILE, prepare_run, read_run_config, write_run_config


def _finetune(capsys: pytest.CaptureFixture, *argv: str) -> tuple:
    code = main(["finetune", *argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("options, named", [
    (["--freeze-stages", "9", "--model", "x.ckpt"], "--freeze-stages 9: must be in 0..5"),
    (["--freeze-backbone"], "--freeze-backbone without --model"),
    (["--epochs", "0"], "--epochs 0: must be at least 1"),
    (["--val-split", "1.5"], "--val-split 1.5: must be in [0, 1)"),
    (["--min-crop-scale", "0"], "--min-crop-scale 0.0: must be in (0, 1]"),
    (["--arch", "resnet"], "--arch resnet: must be one of ghostnet"),
    (["--resume", "--overwrite"], "--resume and --overwrite"),
])
def test_bad_options_fail_before_any_work(options: list, named: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "no-such-data"  # scanning it would fail with another error
    code, err = _finetune(capsys, "--data", str(missing), "--output", str(tmp_path / "run"),
                          *options)
    assert code == 2, err
    assert named in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_folder_holding_a_run_is_refused_without_resume_or_overwrite(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.ckpt").write_bytes(b"an earlier run")
    code, err = _finetune(capsys, "--data", str(tmp_path), "--output", str(run))
    assert code == 2 and "holds a run (last.ckpt)" in err and "--overwrite" in err
    assert (run / "last.ckpt").read_bytes() == b"an earlier run"


def test_resume_restores_the_saved_options_and_refuses_a_contradiction(tmp_path: Path) -> None:
    first = FinetuneConfig(data=tmp_path, output=tmp_path / "run", arch="ghostnet_050",
                           image_size=32, lr=0.05, epochs=3, augment=False)
    (tmp_path / "run").mkdir()
    write_run_config(first)
    assert read_run_config(tmp_path / "run")["image_size"] == 32
    again = FinetuneConfig(data=tmp_path, output=tmp_path / "run", resume=True)
    restored = prepare_run(again)
    assert (restored.arch, restored.image_size, restored.lr, restored.epochs,
            restored.augment) == ("ghostnet_050", 32, 0.05, 3, False)
    assert prepare_run(replace(again, epochs=6)).epochs == 6  # train longer
    with pytest.raises(OptionError, match=r"--image-size 224 contradicts .*--image-size 32"):
        prepare_run(replace(again, image_size=224))
    with pytest.raises(OptionError, match="--data"):
        prepare_run(replace(again, data=tmp_path / "other"))
    assert (tmp_path / "run" / CONFIG_FILE).is_file()


def test_a_run_saved_before_min_crop_scale_resumes_with_the_crop_it_trained_with(
        tmp_path: Path) -> None:
    import json

    run = tmp_path / "run"
    run.mkdir()
    write_run_config(FinetuneConfig(data=tmp_path, output=run, image_size=32))
    saved = json.loads((run / CONFIG_FILE).read_text())
    assert saved.pop("min_crop_scale") is None  # a new run: suited to the image size
    (run / CONFIG_FILE).write_text(json.dumps(saved))  # as an earlier version wrote it
    again = FinetuneConfig(data=tmp_path, output=run, resume=True)
    assert prepare_run(again).min_crop_scale == 0.08
