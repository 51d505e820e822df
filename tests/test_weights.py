"""What a user names as a model: self-describing checkpoints, model names, foreign files."""
from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from mindspore import nn

from src import hub, settings
from src.card import load_card
from src.checkpoint import read_checkpoint
from src.cli import main
from src.download import sha256_file
from src.errors import ModelSpecError
from src.factory import create_network
from src.registry import (PUBLISHED, CheckpointMeta, meta_entries, read_label_list,
                          short_name)
from src.weights import record_for_card, resolve_weights
from tests.cards import card_text, write_index_card

NAMES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-class ghostnet_050 checkpoint that records its architecture, classes and size."""
    net = create_network("ghostnet_050", num_classes=3)
    path = tmp_path_factory.mktemp("described") / "pets.ckpt"
    ms.save_checkpoint(net, str(path),
                       append_dict=meta_entries(NAMES, image_size=32, arch="ghostnet_050"))
    return path


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(path)
    return path


def test_predict_reads_the_architecture_from_the_checkpoint(
        described: Path, image: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["predict", "--model", str(described), "--backend", "mindspore", "--topk", "3",
                 str(image)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert sorted(part.split(" (")[0] for part in out.split(": ", 1)[1].split(", ")) == NAMES


def test_a_contradicting_arch_names_both(described: Path, image: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    code = main(["predict", "--model", str(described), "--arch", "ghostnet",
                 "--backend", "mindspore", str(image)])
    err = capsys.readouterr().err
    assert code == 2 and "this checkpoint is ghostnet_050, not ghostnet" in err
    assert len(err.strip().splitlines()) == 1
    code = main(["export", str(described), "--arch", "ghostnet", "--format", "onnx",
                 "-o", str(tmp_path / "x.onnx")])
    assert code == 2 and "this checkpoint is ghostnet_050, not ghostnet" in capsys.readouterr().err


def test_export_reads_the_architecture_and_size_from_the_checkpoint(
        described: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "pets.mindir"
    assert main(["export", str(described), "--format", "mindir", "-o", str(out)]) == 0
    assert "(1, 3, 32, 32)" in capsys.readouterr().out and out.is_file()


def test_info_reads_the_architecture_from_the_checkpoint(
        described: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["info", str(described)]) == 0
    out = capsys.readouterr().out
    assert "variant" in out and "ghostnet_050:" in out and "3 (cat, dog, fox" in out


@pytest.mark.parametrize("name", ["weights.bin", "model.pth", "folder"])
def test_foreign_files_and_folders_say_what_was_expected(
        name: str, tmp_path: Path, image: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / name
    if name == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\0" * 16)
    code = main(["predict", "--model", str(path), str(image)])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "expected a MindSpore .ckpt file" in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_named_ckpt_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "run.ckpt").mkdir()
    with pytest.raises(ModelSpecError, match="is a folder"):
        resolve_weights(str(tmp_path / "run.ckpt"))


def test_a_model_name_stands_for_its_published_weights(
        described: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uid = PUBLISHED["ghostnet"].uid
    assert uid is not None
    user, version, card = uid.split("/")
    text = card_text(described.as_uri(), sha256_file(described), "ghostnet")
    text = text.replace("user-id: testuser", f"user-id: {user}")
    text = text.replace("model-version: 1.0", f"model-version: {version}")
    path = tmp_path / "index" / user / version / f"{card}.md"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    monkeypatch.setenv("MSHUB_INDEX", str(tmp_path / "index"))
    settings.get_settings.cache_clear()
    resolved = resolve_weights("GhostNet")
    assert resolved.source == uid and resolved.arch == "ghostnet"
    assert resolved.sha256 == sha256_file(described)


def test_a_model_name_without_weights_suggests_the_uids() -> None:
    with pytest.raises(ModelSpecError, match="ghostnet_050.*mindspore/1.5/ghostnet_imagenet2012"):
        resolve_weights("ghostnet_050")


def test_imagenet_names_only_for_imagenet_weights(tmp_path: Path) -> None:
    imagenet = [short_name(name) for _, name in read_label_list("imagenet1k")]
    published = PUBLISHED["ghostnet"]
    assert published.sha256 is not None
    same = published.with_checkpoint_meta(CheckpointMeta(), num_classes=1000,
                                          sha256=published.sha256)
    assert same.labels() == imagenet
    other = published.with_checkpoint_meta(CheckpointMeta(), num_classes=1000, sha256="ab" * 32)
    assert other.labels()[530] == "class 530"
    card = tmp_path / "card.md"
    for dataset, expected in (("digits", "class 530"), ("ImageNet-1k", imagenet[530])):
        card.write_text(card_text("https://example.org/w.ckpt", "cd" * 32, "ghostnet")
                        .replace("train-dataset: digits", f"train-dataset: {dataset}"))
        record = record_for_card(load_card(card), "cd" * 32)
        meta = record.with_checkpoint_meta(CheckpointMeta(), num_classes=1000, sha256="cd" * 32)
        assert meta.labels()[530] == expected, dataset


def test_load_weights_returns_the_network_parameters_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = create_network("ghostnet_050", num_classes=3)
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.CrossEntropyLoss()), optimizer)
    path = tmp_path / "last.ckpt"
    ms.save_checkpoint(step, str(path),
                       append_dict=meta_entries(NAMES, image_size=32, arch="ghostnet_050"))
    assert any(name.startswith("moments.") for name in read_checkpoint(path))
    uid = write_index_card(tmp_path / "index", path, "pets", "ghostnet_050")
    monkeypatch.setenv("MSHUB_INDEX", str(tmp_path / "index"))
    settings.get_settings.cache_clear()
    params = hub.load_weights(uid)
    assert sorted(params) == sorted(p.name for p in net.get_parameters())
