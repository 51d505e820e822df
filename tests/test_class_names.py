"""Class names stored in a real checkpoint file survive save and load."""
from __future__ import annotations

import mindspore as ms
import pytest
from mindspore import nn

from src.checkpoint import read_checkpoint
from src.class_names import CLASS_NAMES_KEY, class_names_entry, class_names_from_checkpoint
from src.errors import CheckpointError


def test_round_trip_through_a_checkpoint(tmp_path):
    path = tmp_path / "head.ckpt"
    ms.save_checkpoint(nn.Dense(2, 3), str(path), append_dict=class_names_entry(["cat", "dög", "7"]))
    assert class_names_from_checkpoint(read_checkpoint(path), str(path)) == ["cat", "dög", "7"]


def test_checkpoint_without_names(tmp_path):
    path = tmp_path / "plain.ckpt"
    ms.save_checkpoint(nn.Dense(2, 3), str(path))
    assert class_names_from_checkpoint(read_checkpoint(path), str(path)) is None


@pytest.mark.parametrize("raw", ["not json", '{"a": 1}', "[1, 2]"])
def test_malformed_entry_names_the_checkpoint(raw):
    with pytest.raises(CheckpointError, match="x.ckpt"):
        class_names_from_checkpoint({CLASS_NAMES_KEY: raw}, "x.ckpt")
