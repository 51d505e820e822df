"""Eval preprocessing on real image files written by Pillow in each test."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from src.errors import ImageError, ImageTooLargeError
from src.registry import IMAGENET_PREPROCESSING as DEFAULT_PREPROCESSING, Preprocessing
from src.transforms import EvalTransform, load_rgb

SMALL = Preprocessing(resize=36, crop=32)
"""Small sizes: what is tested here does not depend on 224."""


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _gradient(width: int = 48, height: int = 40) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    rgb = np.stack([x, y, 255 - x], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def test_default_pipeline_shape_and_normalization(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (300, 260), (124, 116, 104)), tmp_path / "flat.png")
    array = EvalTransform(DEFAULT_PREPROCESSING)(path)
    assert array.shape == (3, 224, 224) and array.dtype == np.float32
    # The ImageNet mean colour normalizes to about zero in every channel.
    assert np.abs(array).max() < 0.02


def test_shorter_side_resized_then_center_cropped(tmp_path: Path) -> None:
    # A wide image: left third red, middle green, right third blue. The center crop of a
    # shorter-side resize keeps the green middle only.
    pixels = np.zeros((36, 108, 3), np.uint8)
    pixels[:, :36, 0] = pixels[:, 36:72, 1] = pixels[:, 72:, 2] = 255
    path = _save(Image.fromarray(pixels), tmp_path / "bands.png")
    prep = Preprocessing(resize=36, crop=32, mean=(0, 0, 0), std=(1, 1, 1))
    array = EvalTransform(prep)(path)
    assert array.shape == (3, 32, 32)
    assert array[1].min() == 255 and array[0].max() == 0 and array[2].max() == 0


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "LA"])
def test_modes_decode_to_rgb(tmp_path: Path, mode: str) -> None:
    image = _gradient().convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    path = _save(image, tmp_path / f"image_{mode}{suffix}")
    assert load_rgb(path).mode == "RGB"
    assert EvalTransform(SMALL)(path).shape == (3, 32, 32)


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # fully transparent black
    path = _save(rgba, tmp_path / "clear.png")
    assert np.asarray(load_rgb(path)).min() == 255


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0] * 256)
    path = _save(palette, tmp_path / "clear_palette.png", transparency=0)
    assert np.asarray(load_rgb(path)).min() == 255


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.full((24, 24), 32768, np.uint16)  # half of the 16-bit range
    path = _save(Image.fromarray(values), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    rgb = np.asarray(load_rgb(path))
    assert np.all(np.abs(rgb.astype(int) - 128) <= 1)


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    # Stored 60 wide x 30 high, red on the left half; orientation 6 means "rotate 90 degrees
    # clockwise to view", so the upright picture is 30 wide x 60 high with red on top.
    pixels = np.zeros((30, 60, 3), np.uint8)
    pixels[:, :30, 0] = 255
    pixels[:, 30:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.fromarray(pixels), tmp_path / "rotated.jpg", exif=exif, quality=95)
    upright = load_rgb(path)
    assert upright.size == (30, 60)
    top, bottom = np.asarray(upright)[5, 15], np.asarray(upright)[55, 15]
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_one_pixel_image_is_processed(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (1, 1), (10, 20, 30)), tmp_path / "dot.png")
    assert EvalTransform(SMALL)(path).shape == (3, 32, 32)


def test_truncated_jpeg_is_an_image_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _gradient(200, 200).save(buffer, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="cut.jpg: corrupt or truncated"):
        load_rgb(path)


def test_text_named_jpg_is_an_image_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    with pytest.raises(ImageError, match="notes.jpg: not an image"):
        load_rgb(path)


def test_zero_byte_file_is_an_image_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png: empty file"):
        load_rgb(path)


def test_missing_file_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_rgb(tmp_path / "absent.png")


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width`` x ``height`` pixels, with next to no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width, height", [(12_000, 9_000), (20_000, 10_000)])
def test_one_pixel_cap_message_below_and_above_pillows_own_limit(tmp_path: Path, width: int,
                                                                 height: int) -> None:
    # 108 MP passes Pillow's check (179 MP) and meets ours; 200 MP trips Pillow's in open()
    path = _png_header(tmp_path / "bomb.png", width, height)
    with pytest.raises(ImageTooLargeError) as caught:
        load_rgb(path)
    assert str(caught.value) == (f"{path}: {width * height} pixels, over the cap of "
                                 "100000000 (a decompression-bomb guard)")


def test_image_over_the_pixel_cap_is_refused(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (100, 100)), tmp_path / "big.png")
    with pytest.raises(ImageTooLargeError, match="big.png: 10000 pixels, over the cap of 9999 "):
        EvalTransform(SMALL, max_pixels=9_999)(path)
    assert EvalTransform(SMALL, max_pixels=10_000)(path).shape == (3, 32, 32)


def test_too_elongated_image_is_refused(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (1, 400)), tmp_path / "thread.png")
    with pytest.raises(ImageTooLargeError, match="too elongated"):
        EvalTransform(SMALL, max_pixels=10_000)(path)


def test_crop_larger_than_resize_is_rejected() -> None:
    with pytest.raises(ValueError, match="crop"):
        EvalTransform(Preprocessing(resize=32, crop=36))
