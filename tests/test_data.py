"""Image-folder scanning, the train/val split, and the input pipelines (src/data.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.data import (epoch_order, eval_dataset, eval_transform,
                      read_image_folder, train_dataset, train_transforms)
from src.errors import DatasetError
from src.registry import IMAGENET_PREPROCESSING as DEFAULT_PREPROCESSING
from src.transforms import EvalTransform
from tests.image_folders import COLOURS, write_class_folder, write_image_folder


def test_no_classes_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    with pytest.raises(DatasetError, match="no class folders"):
        read_image_folder(tmp_path)


def test_one_class_is_a_clear_error(tmp_path: Path) -> None:
    write_class_folder(tmp_path, "cats", 3, COLOURS[0])
    with pytest.raises(DatasetError, match="only one class .'cats'."):
        read_image_folder(tmp_path)


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    write_image_folder(tmp_path, classes=2, per_class=2)
    broken = tmp_path / "class_1" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DatasetError, match="broken.png: unreadable image"):
        read_image_folder(tmp_path)


def test_images_in_nested_folders_of_a_class_are_used(tmp_path: Path) -> None:
    write_image_folder(tmp_path, classes=2, per_class=2)
    write_class_folder(tmp_path / "class_0", "more", 2, COLOURS[0])  # class_0/more/*.png
    write_class_folder(tmp_path / "class_0", ".hidden", 1, COLOURS[0])
    data = read_image_folder(tmp_path, val_split=0.25)
    assert data.classes == ("class_0", "class_1")
    assert len(data.train) + len(data.val) == 6
    nested = [path for path, label in data.train + data.val if path.parent.name == "more"]
    assert len(nested) == 2 and all(label == 0 for path, label in data.train + data.val
                                    if path in nested)


def test_mismatched_train_and_val_classes(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "train", classes=3, per_class=2)
    write_image_folder(tmp_path / "val", classes=2, per_class=2)
    with pytest.raises(DatasetError, match=r"only in train: \['class_2'\]"):
        read_image_folder(tmp_path)


def test_split_is_per_class_deterministic_and_recorded(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "train", classes=3, per_class=10)
    first = read_image_folder(tmp_path, val_split=0.2, seed=3)
    again = read_image_folder(tmp_path, val_split=0.2, seed=3)
    assert first == again
    assert first.classes == ("class_0", "class_1", "class_2")
    assert len(first.val) == 6 and len(first.train) == 24
    assert sorted(label for _, label in first.val) == [0, 0, 1, 1, 2, 2]
    assert first.split is not None and len(first.split["val"]) == 6
    assert set(first.split["val"]).isdisjoint(first.split["train"])


def test_given_val_folder_is_used_as_is(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "train", classes=2, per_class=3)
    write_image_folder(tmp_path / "val", classes=2, per_class=2)
    data = read_image_folder(tmp_path)
    assert data.split is None and len(data.train) == 6 and len(data.val) == 4


def test_small_image_size_scales_resize_like_the_record() -> None:
    assert DEFAULT_PREPROCESSING.at_size(None) == DEFAULT_PREPROCESSING
    sized = DEFAULT_PREPROCESSING.at_size(32)
    assert (sized.resize, sized.crop) == (37, 32)  # round(32 * 256 / 224)


def test_eval_loader_keeps_order_and_last_partial_batch(tmp_path: Path) -> None:
    data = read_image_folder(write_image_folder(tmp_path, classes=2, per_class=5),
                             val_split=0.4)
    samples = data.train + data.val  # 10 images
    batches = list(eval_dataset(samples, eval_transform(DEFAULT_PREPROCESSING, 16), 4)
                   .create_tuple_iterator(output_numpy=True))
    assert [len(labels) for _, labels in batches] == [4, 4, 2]
    assert batches[0][0].shape == (4, 3, 16, 16) and batches[0][0].dtype == np.float32
    labels = np.concatenate([labels for _, labels in batches]).tolist()
    assert labels == [label for _, label in samples]


def test_validation_sees_the_pixels_predict_sees(tmp_path: Path) -> None:
    # predict's transform applied to each file, against what the val loader feeds the network
    data = read_image_folder(write_image_folder(tmp_path, classes=2, per_class=3), 0.4)
    predict_transform = EvalTransform(DEFAULT_PREPROCESSING.at_size(20))
    (images, _), = eval_dataset(data.val, eval_transform(DEFAULT_PREPROCESSING, 20), 8) \
        .create_tuple_iterator(output_numpy=True)
    expected = np.stack([predict_transform(path) for path, _ in data.val])
    np.testing.assert_array_equal(images, expected)
    assert predict_transform.input_shape == (3, 20, 20)


def test_shards_are_disjoint_and_make_the_global_batch() -> None:
    whole = epoch_order(21, epoch=1, seed=5, batch_size=4, num_shards=1)
    shards = [epoch_order(21, epoch=1, seed=5, batch_size=2, num_shards=2, shard_id=rank)
              for rank in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 10
    assert set(shards[0]).isdisjoint(shards[1])
    # step k of the two ranks together is step k of one process with twice the batch
    for step in range(len(whole) // 4):
        together = set(shards[0][2 * step:2 * step + 2]) | set(shards[1][2 * step:2 * step + 2])
        assert together == set(whole[4 * step:4 * step + 4])


def test_train_loader_augments_to_the_crop_and_drops_the_remainder(tmp_path: Path) -> None:
    data = read_image_folder(write_image_folder(tmp_path, classes=2, per_class=5), 0.2)
    dataset = train_dataset(data.train, train_transforms(DEFAULT_PREPROCESSING, 16), 3,
                            epoch=0, seed=0)
    shapes = [images.shape for images, _ in dataset.create_tuple_iterator(output_numpy=True)]
    assert shapes == [(3, 3, 16, 16)] * 2  # 8 train images: two full batches of 3


def test_the_random_crop_keeps_more_of_small_images() -> None:
    from src.data import min_crop_scale

    assert min_crop_scale(224) == min_crop_scale(320) == 0.08  # the model zoo's ImageNet recipe
    assert min_crop_scale(32) == min_crop_scale(16) == 0.5
    between = [min_crop_scale(size) for size in (48, 64, 96, 128, 192)]
    assert between == sorted(between, reverse=True) and 0.08 < between[-1] < between[0] < 0.5
    assert min_crop_scale(64) == pytest.approx(0.26, abs=0.01)

    def crop_op(*args: object) -> object:
        return next(op for op in train_transforms(DEFAULT_PREPROCESSING, *args)
                    if type(op).__name__ == "RandomResizedCrop")

    assert crop_op(32).scale == (0.5, 1.0) and crop_op(None).scale == (0.08, 1.0)
    assert crop_op(32, 0.2).scale == (0.2, 1.0)  # --min-crop-scale
