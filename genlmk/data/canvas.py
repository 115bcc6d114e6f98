"""Footage as phones film it, made from small synthetic frames: the subject moving over a large frame.

Each small frame is scaled to a square of ``side`` pixels and pasted on a textured background
(random colour blocks, smoothed) at a place that moves smoothly across the canvas, with sensor
noise on top. Ground truth follows with :func:`genlmk.geometry.boxes.crop_to_frame`.
Frame pixels: x right, y down, corner origin.
"""

from __future__ import annotations

import cv2
import numpy as np


def canvas_background(size: tuple[int, int], rng: np.random.Generator, block: int = 16) -> np.ndarray:
    """(H, W, 3) uint8 background of ``size = (width, height)``: random colours every ``block``
    pixels, bilinearly smoothed."""
    width, height = size
    coarse = rng.integers(0, 256, (height // block + 1, width // block + 1, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


def moving_boxes(
    count: int, size: tuple[int, int], side: int, phase: float = 0.0, sweeps: float = 1.0
) -> np.ndarray:
    """(count, 4) ``x, y, side, side`` squares inside a ``size = (width, height)`` canvas, going
    ``sweeps`` times across it and twice as often up and down (``phase`` in radians shifts the path)."""
    width, height = size
    if side > min(width, height):
        raise ValueError(f"a {side} px subject does not fit a {width}x{height} canvas")
    t = sweeps * np.arange(count) / max(count - 1, 1)
    xs = np.round((width - side) * (0.5 + 0.5 * np.sin(2 * np.pi * t + phase)))
    ys = np.round((height - side) * (0.5 + 0.5 * np.sin(4 * np.pi * t + 1.0 + phase)))
    return np.stack([xs, ys, np.full(count, side), np.full(count, side)], axis=1).astype(np.int64)


def place_on_canvas(
    frame: np.ndarray, background: np.ndarray, box: np.ndarray, rng: np.random.Generator, noise: int = 8
) -> np.ndarray:
    """``frame`` (h, w, 3) uint8 scaled into ``box`` (whole pixels, inside the canvas) of a copy of
    ``background``, plus uniform noise of +-``noise`` levels."""
    x, y, w, h = (int(v) for v in box)
    canvas = background.copy()
    canvas[y : y + h, x : x + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
    jitter = rng.integers(-noise, noise + 1, canvas.shape, dtype=np.int16)
    return np.clip(canvas.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
