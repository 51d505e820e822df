"""The registry: weights records, and the metadata a real checkpoint file carries."""
from __future__ import annotations

import json

import mindspore as ms
import pytest
from mindspore import nn

from src.checkpoint import read_checkpoint
from src.registry import (CLASS_NAMES_KEY, IMAGE_SIZE_KEY, CheckpointMeta, WeightsRecord,
                          base_record, meta_entries, read_label_list, read_meta)
from src.errors import CheckpointError


def test_round_trip_through_a_checkpoint(tmp_path):
    path = tmp_path / "head.ckpt"
    ms.save_checkpoint(nn.Dense(2, 3), str(path),
                       append_dict=meta_entries(["cat", "dög", "7"], image_size=32))
    assert read_meta(read_checkpoint(path), str(path)) == CheckpointMeta(class_names=["cat", "dög", "7"], image_size=32)


def test_checkpoint_without_metadata(tmp_path):
    path = tmp_path / "plain.ckpt"
    ms.save_checkpoint(nn.Dense(2, 3), str(path))
    assert read_meta(read_checkpoint(path), str(path)) == CheckpointMeta()


@pytest.mark.parametrize("entry", [{CLASS_NAMES_KEY: "not json"}, {CLASS_NAMES_KEY: '{"a": 1}'},
                                   {CLASS_NAMES_KEY: "[1, 2]"}, {IMAGE_SIZE_KEY: 0},
                                   {IMAGE_SIZE_KEY: "big"}])
def test_malformed_entry_names_the_checkpoint_and_entry(entry):
    with pytest.raises(CheckpointError, match=f"x.ckpt: entry '{next(iter(entry))}'"):
        read_meta(entry, "x.ckpt")


def test_label_precedence() -> None:
    record = base_record("ghostnet")
    named = record.with_checkpoint_meta(CheckpointMeta(class_names=["cat", "dog"]),
                                        num_classes=2)
    assert named.labels() == ["cat", "dog"]
    imagenet = record.labels()
    assert imagenet[0] == "tench" and imagenet[281] == "tabby"
    assert record.with_classes(3).labels() == ["class 0", "class 1", "class 2"]


def test_imagenet_labels_follow_sorted_synsets() -> None:
    rows = read_label_list("imagenet1k")
    synsets = [synset for synset, _ in rows]
    assert len(rows) == 1000 and synsets == sorted(synsets) and len(set(synsets)) == 1000
    assert synsets[0] == "n01440764" and synsets[-1] == "n15075141"


def test_record_round_trips_through_its_dict() -> None:
    record = base_record("ghostnet").with_checkpoint_meta(
        CheckpointMeta(class_names=["a", "b"], image_size=32), num_classes=2, sha256="ab" * 32)
    again = WeightsRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    assert (again.preprocessing.resize, again.preprocessing.crop) == (37, 32)


def test_other_weights_lose_the_published_identity() -> None:
    published = base_record("ghostnet")
    assert published.sha256 is None and published.url is None  # the base names no file
    from src.registry import published_record
    real = published_record("ghostnet")
    assert real is not None and real.metrics == {"top1": 73.81, "top5": 91.77}
    other = real.with_checkpoint_meta(CheckpointMeta(), num_classes=1000, sha256="0" * 64)
    assert other.url is None and other.metrics == {} and other.label_list is None  # not ImageNet's
    same = real.with_checkpoint_meta(CheckpointMeta(), num_classes=1000, sha256=real.sha256)
    assert same == real


def test_the_model_card_and_the_registry_agree() -> None:
    from src.card import load_card
    from src.registry import published_record
    from tests.conftest import REPO_ROOT

    card = load_card(REPO_ROOT / "ghostnet.md")
    record = published_record(card.model_name)
    assert record is not None and record.uid is not None
    (asset,) = card.assets
    assert (asset.link, asset.sha256) == (record.url, record.sha256)
    assert record.uid.lower() == f"{card.user_id}/{card.model_version}/{record.uid.split('/')[-1]}".lower()
