"""Eval preprocessing: an image file in, the normalized CHW float32 array the network expects.

The steps and their numbers come from a :class:`~.registry.Preprocessing` record, the data
kept beside each model, never from constants here: decode to RGB, resize the shorter side to
``resize``, center-crop ``crop``, subtract ``mean`` and divide by ``std`` (0-255 scale),
HWC -> CHW.

Decoding accepts what cameras and editors write: grayscale, palette, alpha (composited on
white, since a transparent background is not black to a viewer), CMYK and 16-bit images all
become 8-bit RGB, and EXIF orientation is applied so the network sees the picture upright.
Every failure is an :class:`~.errors.ImageError` naming the file, so a caller processing many
images can report the one and go on. Images over a pixel cap are refused from their header,
before any pixel is decoded (a decompression bomb is a small file that claims a huge size).

This is the one eval transform of the package: ``predict``, the exports, ``serve`` and the
validation of fine-tuning all feed the network with it, so an accuracy measured during
fine-tuning is measured on the pixels ``predict`` produces.

Also here: which files count as images (:data:`IMAGE_SUFFIXES`), and the expansion of a
command line's paths into image inputs (:func:`collect_images`).

Deliberately free of MindSpore: the ONNX Runtime path of ``predict`` must start fast.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, ImageTooLargeError
from .registry import IMAGENET_PREPROCESSING, Preprocessing

MAX_PIXELS = 100_000_000
"""Default pixel cap (width x height): 100 megapixels, above common camera output."""

PathLike = Union[str, "os.PathLike[str]"]

_INTERPOLATIONS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
"""File suffixes taken as images when a folder is walked (predict inputs, training data)."""
_WHITE = (255, 255, 255)
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def load_rgb(path: PathLike, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``path`` into an upright 8-bit RGB image.

    Raises:
        ImageTooLargeError: the image has more than ``max_pixels`` pixels.
        ImageError: the file is missing, empty, not an image, truncated or corrupt.
    """
    source = os.fspath(path)
    try:
        with warnings.catch_warnings():
            # The cap below replaces Pillow's global one; its warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise _over_cap(source, width * height, max_pixels)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _to_rgb(upright if upright is not None else image)
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own check fires in open(), before the size is ours to read, for images
        # over twice its MAX_IMAGE_PIXELS; it says the pixel count, so say it the same way.
        found = re.search(r"\((\d+) pixels\)", str(error))
        pixels = int(found.group(1)) if found else 0
        cap = max_pixels if pixels > max_pixels else 2 * int(Image.MAX_IMAGE_PIXELS or 0)
        raise _over_cap(source, pixels, cap) from error
    except UnidentifiedImageError as error:
        reason = "empty file" if _is_empty(source) else "not an image Pillow can read"
        raise ImageError(source, reason) from error
    except FileNotFoundError as error:
        raise ImageError(source, "no such file") from error
    except IsADirectoryError as error:
        raise ImageError(source, "is a directory") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Pillow reports truncated and corrupt data as OSError, SyntaxError or ValueError.
        raise ImageError(source, f"corrupt or truncated image ({error})") from error


def _over_cap(source: str, pixels: int, cap: int) -> ImageTooLargeError:
    """The one message for an image over the pixel cap, whichever check found it."""
    return ImageTooLargeError(
        source, f"{pixels} pixels, over the cap of {cap} (a decompression-bomb guard)"
    )


def _is_empty(path: str) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any Pillow mode: alpha on white, 16-bit scaled down, not clipped."""
    if image.mode == "RGB":
        return image
    if image.mode in _SIXTEEN_BIT_MODES:
        # convert("L") would clip 16-bit values at 255 and make most photos white.
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 / 65535.0 if values.max(initial=0) > 255 else 1.0
        gray = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "F":
        gray = np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class EvalTransform:
    """The eval pipeline of one :class:`Preprocessing` record, applied to image files.

    Args:
        preprocessing: the record of the model whose input this makes.
        max_pixels: refuse images with more pixels than this (before decoding them), and
            images so elongated that the resized copy would exceed it.
    """

    preprocessing: Preprocessing
    max_pixels: int = MAX_PIXELS

    def __post_init__(self) -> None:
        prep = self.preprocessing
        if prep.interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"interpolation {prep.interpolation!r} is not one of {', '.join(_INTERPOLATIONS)}"
            )
        if not 0 < prep.crop <= prep.resize:
            raise ValueError(f"need 0 < crop <= resize, got crop {prep.crop}, resize {prep.resize}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """``(3, crop, crop)``: the shape of one transformed image."""
        return (3, self.preprocessing.crop, self.preprocessing.crop)

    def __call__(self, path: PathLike) -> np.ndarray:
        """The file at ``path`` as a ``(3, crop, crop)`` float32 array.

        Raises:
            ImageTooLargeError: over the pixel cap, or too elongated to resize safely.
            ImageError: the file cannot be decoded.
        """
        return self.apply(load_rgb(path, max_pixels=self.max_pixels), os.fspath(path))

    def apply(self, image: Image.Image, source: str = "<image>") -> np.ndarray:
        """Resize, crop and normalize an RGB image that is already decoded."""
        prep = self.preprocessing
        width, height = image.size
        short = min(width, height)
        # Shorter side to `resize`; the longer keeps the aspect ratio (truncated, as
        # torchvision's Resize(int) does).
        new_w = prep.resize if width == short else int(prep.resize * width / short)
        new_h = prep.resize if height == short else int(prep.resize * height / short)
        if new_w * new_h > self.max_pixels:
            raise ImageTooLargeError(
                source,
                f"{width}x{height} is too elongated: resized to "
                f"{new_w}x{new_h} it would pass the pixel cap",
            )
        resized = image.resize((new_w, new_h), _INTERPOLATIONS[prep.interpolation])
        left = (new_w - prep.crop) // 2
        top = (new_h - prep.crop) // 2
        cropped = resized.crop((left, top, left + prep.crop, top + prep.crop))
        pixels = np.asarray(cropped, dtype=np.float32)
        mean = np.asarray(prep.mean, dtype=np.float32)
        std = np.asarray(prep.std, dtype=np.float32)
        return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1))


def resolve_data_config(net: object) -> Preprocessing:
    """The eval preprocessing of a network built by this package (its ``pretrained_cfg``),
    in the spirit of timm's ``resolve_data_config``; the ImageNet default for any other."""
    record = getattr(net, "pretrained_cfg", None)
    preprocessing = getattr(record, "preprocessing", None)
    return preprocessing if isinstance(preprocessing, Preprocessing) else IMAGENET_PREPROCESSING


def create_transform(config: Preprocessing, *, max_pixels: int = MAX_PIXELS) -> EvalTransform:
    """The eval transform of ``config``: image file in, ``(3, crop, crop)`` float32 out."""
    return EvalTransform(config, max_pixels=max_pixels)


@dataclass(frozen=True)
class Input:
    """One input of a command line: an image path, or a path that yielded an error."""

    path: str
    error: Optional[str] = None


def image_files(folder: Path) -> List[Path]:
    """The image files under ``folder``, recursively, in sorted order."""
    return sorted(
        child
        for child in folder.rglob("*")
        if child.suffix.lower() in IMAGE_SUFFIXES and child.is_file()
    )


def collect_images(paths: Iterable[str]) -> List[Input]:
    """Expand ``paths`` into image inputs, in command-line order: files as given (whatever
    their suffix: the decoder then decides), directories walked for image files. A missing
    path, or a directory without a single image, is an input error of its own."""
    inputs: List[Input] = []
    for path in paths:
        if os.path.isdir(path):
            found = image_files(Path(path))
            if not found:
                inputs.append(
                    Input(
                        path,
                        f"directory holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
                    )
                )
            inputs.extend(Input(str(image)) for image in found)
        elif os.path.exists(path):
            inputs.append(Input(path))
        else:
            inputs.append(Input(path, "no such file or directory"))
    return inputs
