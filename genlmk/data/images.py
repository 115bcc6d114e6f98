"""Reading and writing still images, with every input brought to 8-bit RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from genlmk.errors import InputDataError, OutputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_path(path: Path) -> bool:
    """Whether ``path`` has an image file suffix (case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def to_rgb8(array: np.ndarray, source: str = "<array>") -> np.ndarray:
    """Bring a decoded image to (H, W, 3) uint8 RGB.

    Grayscale is replicated to three channels, an alpha channel is dropped, and 16-bit or
    float images are scaled to 0-255.

    Raises:
        InputDataError: the array is not a 2-D image with 1, 3 or 4 channels.
    """
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise InputDataError(f"{source}: not an image with 1, 3 or 4 channels (shape {array.shape})")
    if array.dtype == np.uint16:
        array = (array.astype(np.float32) / 257.0).round()
    elif array.dtype.kind == "f":
        array = np.clip(array, 0.0, 1.0) * 255.0 if array.max(initial=0) <= 1.0 else array
    elif array.dtype != np.uint8:
        array = array.astype(np.float64) * (255.0 / max(float(np.iinfo(array.dtype).max), 1.0))
    array = np.clip(array, 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB.

    Raises:
        InputDataError: the file is missing or not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: image file not found")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
                img = img.convert("RGB")
            array = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputDataError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    if mode.startswith("I;16") or mode == "I":
        array = (
            array.astype(np.uint16) if mode.startswith("I;16") else np.clip(array, 0, 65535).astype(np.uint16)
        )
    return to_rgb8(array, str(path))


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB image; the format follows the suffix."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(image)).save(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write image ({exc.strerror or exc})") from None


def resize_rgb(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to ``size = (width, height)`` pixels; (height, width, 3) uint8.

    The one resize rule of genlmk (training, inference, motion, evaluation): area averaging when
    either side shrinks, so no axis aliases; bilinear when both sides grow or stay. An image that
    already has the size is returned as it is (not copied).
    """
    import cv2

    width, height = size
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrink = image.shape[1] > width or image.shape[0] > height
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
