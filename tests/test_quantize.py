"""``ghostnet quantize`` on real images: the accuracy gate, the report, the int8 file.

The model is a linear probe on GhostNet (see :mod:`tests.probe_model`) that scores about 75 %
on the held-out handwritten digits; random features are more sensitive to int8 than trained
ones, so the passing run allows a 10-point drop, and the gate is made to refuse by
calibrating on blank images, whose activation ranges clip every real digit.
"""
from __future__ import annotations

import io
import json
import os
import re
from contextlib import redirect_stdout
from pathlib import Path
from typing import Tuple

import pytest
from PIL import Image

from src import hub
from src.card import load_card
from src.cli import main
from src.download import sha256_file
from src.errors import QuantizeError
from src.onnx_model import ort_session
from src.settings import get_settings
from src.weights import resolve_weights
from tests.probe_model import ARCH, CLASSES, write_probe_model
from tests.test_serve import _get, _post_images, start_server, stop_server

CALIBRATION_IMAGES = "64"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path, Path]:
    """The probe checkpoint, its train folder (calibration) and the held-out test folder."""
    return write_probe_model(tmp_path_factory.mktemp("probe"))


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibration folder of white images only."""
    folder = tmp_path_factory.mktemp("blank")
    for index in range(4):
        Image.new("L", (8, 8), 255).save(folder / f"white_{index}.png")
    return folder


def _run(*argv: str) -> Tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_int8_model_is_written_reported_predicts_and_publishes(
        probe: Tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint, train, test = probe
    output = tmp_path / "digits-int8.onnx"
    code, report = _run("quantize", str(checkpoint), "--arch", ARCH, "--calibration",
                        str(train), "--eval", str(test), "-o", str(output), "--max-drop", "10",
                        "--calibration-images", CALIBRATION_IMAGES)
    assert code == 0, report
    assert f"wrote {output}" in report
    assert "calibrated on 64 images; evaluated on 359 held-out images" in report
    assert "batch 1 " in report and "batch 16" in report and "speed-up" in report
    match = re.search(r"top-1 +fp32 +([\d.]+) % +int8 +([\d.]+) %", report)
    assert match, report
    fp32, int8 = float(match.group(1)), float(match.group(2))
    assert fp32 > 50 and fp32 - int8 <= 10
    assert sorted(path.name for path in tmp_path.iterdir()) == [output.name]
    # The file describes itself: predict takes it as --model, with the checkpoint's classes.
    spec = resolve_weights(str(output))
    assert spec.arch == ARCH
    session = ort_session(output)
    assert session.get_inputs()[0].shape[0] == "batch"
    code, lines = _run("predict", "--model", str(output), "--json", "--topk", "1",
                       "--batch-size", "32", str(test))
    assert code == 0
    answers = [json.loads(line) for line in lines.splitlines()]
    assert len(answers) == 359 and {a["top"][0]["label"] for a in answers} <= set(CLASSES)
    correct = sum(a["top"][0]["label"] == Path(a["image"]).parent.name for a in answers)
    assert abs(correct / 359 * 100 - int8) < 0.01  # the reported top-1 is predict's
    # serve takes it: one runner with a free batch axis, no padding.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSHUB_")}
    server = start_server(str(output), dict(env, MSHUB_CACHE_DIR=str(tmp_path / "cache")),
                          tmp_path / "serve.log")
    try:
        digit = next((test / "7").iterdir())
        status, answer = _post_images(server, [(digit.name, digit.read_bytes())], "?top_k=1")
        model = json.loads(_get(server, "/model")[1])
    finally:
        assert stop_server(server) == 0
    assert status == 200 and answer["predictions"][0]["top"][0]["label"] in CLASSES
    assert model["batch_sizes"] == [4] and model["classes"] == CLASSES
    # export takes it too: as ONNX it is already an export, so it is copied.
    code, _ = _run("export", str(output), "--format", "onnx", "-o", str(tmp_path / "copy.onnx"))
    assert code == 0 and sha256_file(tmp_path / "copy.onnx") == spec.sha256
    assert _run("export", str(output), "--format", "mindir", "-o",
                str(tmp_path / "x.mindir"))[0] == 2
    # A card carries it as a second asset; the hub client still restores from the ckpt.
    index = tmp_path / "index"
    code, _ = _run("publish", str(checkpoint), "--index", str(index), "--user", "me",
                   "--version", "1.0", "--name", ARCH, "--dataset", "digits",
                   "--local-dataset", "--asset-base-url", (index / "assets").as_uri(),
                   "--int8", str(output))
    assert code == 0
    card = load_card(index / "me" / "1.0" / f"{ARCH}_digits.md")
    assert [asset.file_format for asset in card.assets] == ["ckpt", "onnx"]
    assert card.assets[1].sha256 == sha256_file(output) == spec.sha256
    assert sha256_file(index / "assets" / card.assets[1].link.rsplit("/", 1)[1]) == spec.sha256
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    get_settings.cache_clear()
    fetched = resolve_weights(f"me/1.0/{ARCH}_digits")
    assert fetched.checkpoint.suffix == ".ckpt" and fetched.sha256 == card.assets[0].sha256


def test_gate_refuses_a_model_that_loses_accuracy(probe: Tuple[Path, Path, Path], blank: Path,
                                                   tmp_path: Path) -> None:
    checkpoint, _, test = probe
    output = tmp_path / "out" / "int8.onnx"
    with pytest.raises(QuantizeError, match=r"drops [\d.]+ points \((\d+\.\d+)% -> "):
        hub.transform(str(checkpoint), "int8", dataset=str(blank), eval_dataset=str(test),
                      output=output, arch=ARCH, max_drop=1.0)
    assert not output.exists() and list(output.parent.iterdir()) == []  # no temp left over
    with pytest.raises(QuantizeError, match="only 'int8'"):
        hub.transform(str(checkpoint), "fp16", dataset=str(blank), arch=ARCH)


def test_force_writes_it_anyway_and_bad_folders_are_named(probe: Tuple[Path, Path, Path],
                                                          blank: Path, tmp_path: Path) -> None:
    checkpoint, _, test = probe
    output = tmp_path / "a folder" / "forced model.onnx"  # MindSpore's export refuses spaces
    argv = ["quantize", str(checkpoint), "--arch", ARCH, "--eval", str(test), "-o",
            str(output)]
    code, report = _run(*argv, "--calibration", str(blank), "--force")
    assert code == 0 and output.is_file() and "drop" in report
    code, _ = _run(*argv[:-1], str(tmp_path / "x.onnx"), "--calibration", str(tmp_path / "no"))
    assert code == 1 and not (tmp_path / "x.onnx").exists()
    code, _ = _run(*argv[:-1], str(tmp_path / "x.bin"), "--calibration", str(blank))
    assert code == 2
