"""``ghostnet predict`` end to end: real image files, a real checkpoint, both backends."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from src import settings
from src.registry import meta_entries
from src.cli import main
from src.factory import create_network
from src.transforms import collect_images
from src.weights import resolve_weights as resolve_model
from src.predictor import Predictor
from src.registry import Preprocessing
from tests.cards import write_index_card

REPO_ROOT = Path(__file__).resolve().parent.parent
SMALL = Preprocessing(resize=36, crop=32)


def _photo(seed: int, size: tuple = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize(size, Image.Resampling.BILINEAR)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hub cache for the module's tests: an ONNX export (keyed by checkpoint, arch and
    batch size) is made once and reused by every test that needs the same one."""
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture()
def cache(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared hub cache, as MSHUB_CACHE_DIR would give."""
    root = shared_cache
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(root))
    settings.get_settings.cache_clear()
    return root


@pytest.fixture()
def images(tmp_path: Path) -> List[Path]:
    """Three real images: a PNG, a JPEG and a grayscale PNG."""
    folder = tmp_path / "images"
    folder.mkdir()
    paths = [folder / "a.png", folder / "b.jpg", folder / "c_gray.png"]
    _photo(1).save(paths[0])
    _photo(2).save(paths[1], quality=90)
    _photo(3).convert("L").save(paths[2])
    return paths


def _small_spec(checkpoint: Path):
    spec = resolve_model(str(checkpoint), "ghostnet")
    return dataclasses.replace(spec, record=dataclasses.replace(spec.record, preprocessing=SMALL))


@pytest.mark.parametrize("batch_size", [1, 2])
def test_onnxruntime_matches_mindspore(zoo_checkpoint: Path, images: List[Path], cache: Path,
                                       batch_size: int) -> None:
    # Batch 2 over three images leaves a partial last batch, padded on both backends.
    spec = _small_spec(zoo_checkpoint)
    inputs = collect_images([str(path) for path in images])
    results = {}
    for backend in ("mindspore", "onnxruntime"):
        predictor = Predictor(spec, backend=backend, batch_size=batch_size, cache_dir=cache)
        results[backend] = list(predictor.predict(inputs, topk=5))
    for ours, theirs in zip(results["mindspore"], results["onnxruntime"]):
        assert ours.error is None and theirs.error is None
        assert [i for i, _, _ in ours.top] == [i for i, _, _ in theirs.top]
        np.testing.assert_allclose([p for _, _, p in ours.top], [p for _, _, p in theirs.top],
                                   atol=1e-4)


def test_one_export_per_checkpoint_serves_every_batch_size(
        zoo_checkpoint: Path, cache: Path, capfd: pytest.CaptureFixture) -> None:
    import onnxruntime

    spec = _small_spec(zoo_checkpoint)
    one = Predictor(spec, backend="onnxruntime", batch_size=1, cache_dir=cache)
    capfd.readouterr()
    names = {path.name for path in (cache / "exports").iterdir()}
    stem = f"ghostnet-{spec.sha256[:16]}"
    assert {f"{stem}.json", f"{stem}.ort.onnx"} == names  # no temp left behind
    session = onnxruntime.InferenceSession(str(cache / "exports" / f"{stem}.ort.onnx"))
    assert session.get_inputs()[0].shape[0] == "batch"

    five = Predictor(spec, backend="onnxruntime", batch_size=5, cache_dir=cache)
    assert "exporting" not in capfd.readouterr().err  # the same export, no second one
    assert {path.name for path in (cache / "exports").iterdir()} == names
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(5, 3, SMALL.crop, SMALL.crop)).astype(np.float32)
    alone = np.concatenate([one.logits(batch[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(five.logits(batch), alone, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(five.logits(batch[:3]), alone[:3], rtol=1e-4, atol=1e-4)


def test_checkpoint_image_size_sets_the_transform_and_the_export(zoo_net, tmp_path: Path,
                                                                 cache: Path) -> None:
    import onnxruntime

    path = tmp_path / "trained_at_40.ckpt"
    ms.save_checkpoint(zoo_net, str(path), append_dict=meta_entries(image_size=40))
    spec = resolve_model(str(path), "ghostnet")
    for backend in ("mindspore", "onnxruntime", "onnxruntime"):  # the last from the sidecar
        prep = Predictor(spec, backend=backend, batch_size=1, cache_dir=cache).transform
        assert (prep.preprocessing.resize, prep.preprocessing.crop) == (46, 40)  # 256/224 kept
    (export,) = (cache / "exports").glob(f"ghostnet-{spec.sha256[:16]}.ort.onnx")
    session = onnxruntime.InferenceSession(str(export), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, 40, 40]


def _run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_and_exit_status_with_bad_inputs(
        zoo_checkpoint: Path, images: List[Path], cache: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    folder = images[0].parent
    jpeg = io.BytesIO()
    _photo(4, (200, 200)).save(jpeg, "JPEG")
    (folder / "d_cut.jpg").write_bytes(jpeg.getvalue()[:800])
    (folder / "e_text.jpg").write_text("not an image")
    (folder / "f_empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    code, out, err = _run_cli(capsys, "predict", "--model", str(zoo_checkpoint), "--arch",
                              "ghostnet", "--json", "--topk", "3", str(folder), str(empty_dir))
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["image"]).name for r in records] == [
        "a.png", "b.jpg", "c_gray.png", "d_cut.jpg", "e_text.jpg", "f_empty.png", "nothing"]
    for record in records[:3]:
        assert len(record["top"]) == 3
        probs = [entry["prob"] for entry in record["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
        for entry in record["top"]:  # 1000 classes, but not the ImageNet weights
            assert entry["label"] == f"class {entry['index']}"
    assert "truncated" in records[3]["error"]
    assert "not an image" in records[4]["error"]
    assert "empty file" in records[5]["error"]
    assert "no image files" in records[6]["error"]
    failures = [line for line in err.strip().splitlines()
                if not line.startswith("exporting to ONNX (once")]  # the first export's notice
    assert len(failures) == 4 and "Traceback" not in err
    assert "d_cut.jpg" in err and "nothing" in err


def test_text_output_all_good_exits_zero(zoo_checkpoint: Path, images: List[Path], cache: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run_cli(capsys, "predict", "--model", str(zoo_checkpoint), "--arch",
                            "ghostnet", "--topk", "2", *map(str, images))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"{images[0]}: ")
    assert lines[0].count("(") == 2


def test_checkpoint_class_names_are_used(zoo_checkpoint: Path, images: List[Path], cache: Path,
                                         tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    net = create_network("ghostnet", num_classes=3, pretrained=zoo_checkpoint)
    names = ["daisy", "rose", "tulip"]
    path = tmp_path / "flowers.ckpt"
    ms.save_checkpoint(net, str(path), append_dict=meta_entries(names))
    code, out, _ = _run_cli(capsys, "predict", "--model", str(path), "--arch", "ghostnet",
                            "--backend", "mindspore", "--json", str(images[0]))
    assert code == 0
    top = json.loads(out)["top"]
    assert sorted(entry["label"] for entry in top) == names


def test_usage_errors_exit_two(zoo_checkpoint: Path, images: List[Path],
                               capsys: pytest.CaptureFixture) -> None:
    code, _, err = _run_cli(capsys, "predict", "--model", str(zoo_checkpoint), str(images[0]))
    assert code == 2 and "--arch" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--topk", "0", str(images[0])])
    assert exit_info.value.code == 2


def test_hub_uid_model_is_fetched_verified_and_used(zoo_checkpoint: Path, images: List[Path],
                                                    cache: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    index = tmp_path / "index"
    uid = write_index_card(index, zoo_checkpoint, "zoo_imagenet")
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    settings.get_settings.cache_clear()
    args = ("predict", "--backend", "mindspore", "--topk", "2", "--json", str(images[0]))
    by_uid = _run_cli(capsys, *args[:-1], "--model", uid, args[-1])
    by_file = _run_cli(capsys, *args[:-1], "--model", str(zoo_checkpoint), "--arch", "ghostnet",
                       args[-1])
    assert by_uid[0] == 0, by_uid[2]
    assert json.loads(by_uid[1]) == json.loads(by_file[1])
    assert (cache / "testuser" / "1.0" / zoo_checkpoint.name).is_file()


def test_progress_bar_for_more_than_a_screenful(zoo_checkpoint: Path, cache: Path,
                                                tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(41):
        Image.new("RGB", (1, 1), (index * 6, 0, 0)).save(folder / f"{index:02d}.png")
    code, out, err = _run_cli(capsys, "predict", "--model", str(zoo_checkpoint), "--arch",
                              "ghostnet", "--topk", "1", "--batch-size", "3", str(folder))
    assert code == 0 and len(out.splitlines()) == 41
    assert err == ""  # stderr is not a terminal here: no bar, no \r updates


def test_debug_shows_the_traceback_of_a_failed_image(zoo_checkpoint: Path, images: List[Path],
                                                     tmp_path: Path) -> None:
    bad = tmp_path / "cut.jpg"
    jpeg = io.BytesIO()
    _photo(5, (200, 200)).save(jpeg, "JPEG")
    bad.write_bytes(jpeg.getvalue()[:800])
    argv = [sys.executable, "-m", "src.cli", "predict", "--backend", "mindspore", "--model",
            str(zoo_checkpoint), "--arch", "ghostnet", str(images[0]), str(bad)]
    env = dict(os.environ, MSHUB_CACHE_DIR=str(tmp_path / "cache"))
    plain = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    debug = subprocess.run([*argv, "--debug"], cwd=REPO_ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr and "cut.jpg" in plain.stderr
    assert "Traceback" in debug.stderr and "ImageError" in debug.stderr


def test_cached_onnx_path_never_imports_mindspore(zoo_checkpoint: Path, images: List[Path],
                                                  tmp_path: Path) -> None:
    env = dict(os.environ, MSHUB_CACHE_DIR=str(tmp_path / "cache"))
    argv = ["predict", "--backend", "onnxruntime", "--model", str(zoo_checkpoint), "--arch",
            "ghostnet", str(images[0])]
    script = ("import sys; from src.cli import main; code = main(%r); "
              "print('MINDSPORE' if 'mindspore' in sys.modules else 'NO-MINDSPORE'); "
              "sys.exit(code)") % (argv,)
    first = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "MINDSPORE"  # the export needed it once
    assert "exporting to ONNX (once" in first.stderr
    second = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "NO-MINDSPORE"
    assert "exporting" not in second.stderr
    assert second.stdout.splitlines()[0] == first.stdout.splitlines()[0]
