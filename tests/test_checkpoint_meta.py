"""Metadata stored in a real checkpoint file survives save and load."""
from __future__ import annotations

import mindspore as ms
import pytest
from mindspore import nn

from src.checkpoint import read_checkpoint
from src.checkpoint_meta import (CLASS_NAMES_KEY, IMAGE_SIZE_KEY, CheckpointMeta, meta_entries,
                                 read_meta)
from src.errors import CheckpointError


def test_round_trip_through_a_checkpoint(tmp_path):
    path = tmp_path / "head.ckpt"
    ms.save_checkpoint(nn.Dense(2, 3), str(path),
                       append_dict=meta_entries(["cat", "dög", "7"], image_size=32))
    assert read_meta(read_checkpoint(path), str(path)) == CheckpointMeta(["cat", "dög", "7"], 32)


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
