"""Step 1-2 of extraction: the paint's colour and where the paint is (CIELAB colour distances)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from skimage.color import deltaE_ciede2000, lab2rgb, rgb2lab

from genlmk.errors import InputDataError

# CIEDE2000 lightness weight kL: 2 counts lightness half (the "acceptability" weighting),
# since shading changes the paint's lightness far more than its hue and chroma
LIGHTNESS_WEIGHT = 2.0


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB of uint8 RGB (any leading shape, last axis 3)."""
    return rgb2lab(np.asarray(rgb, dtype=np.uint8).reshape(-1, 1, 3)).reshape(np.shape(rgb))


def _rgb8(lab: np.ndarray) -> tuple[int, int, int]:
    rgb = lab2rgb(np.asarray(lab, dtype=np.float64).reshape(1, 1, 3)).reshape(3)
    return tuple(int(c) for c in np.clip(np.round(rgb * 255), 0, 255))  # type: ignore[return-value]


def _local_background(image: np.ndarray, window: int) -> np.ndarray:
    """The photo without thin strokes: a median filter of odd size ``window`` (uint8 RGB)."""
    return cv2.medianBlur(np.ascontiguousarray(image), max(3, int(window) | 1))


def estimate_paint_color(
    image: np.ndarray,
    min_chroma: float = 15.0,
    background_window: int = 31,
    source: str = "<image>",
) -> tuple[int, int, int]:
    """The paint colour: the centre of the dominant cluster of saturated pixels that stand out.

    A pixel is a candidate when its CIELAB chroma exceeds ``min_chroma`` and its colour (a*b*)
    differs by more than 15 from its local background's (a median filter that thin strokes do
    not survive): coloured paint, not skin, shading or a large coloured area. Candidates vote
    in a histogram of the a*b* plane, each by that colour difference; the peak is refined to
    the median colour (L*a*b*) of the candidates within Delta E 20 of it.

    Args:
        image: (H, W, 3) uint8 RGB.
        min_chroma: chroma (CIELAB, 0 to about 130) below which a pixel cannot be paint.
        background_window: odd size of the median filter, pixels.
        source: named in the error message.

    Returns:
        RGB 0-255.

    Raises:
        InputDataError: no pixel qualifies as paint.
    """
    lab = _lab(image).reshape(-1, 3)
    lab_bg = _lab(_local_background(image, background_window)).reshape(-1, 3)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue_change = np.linalg.norm(lab[:, 1:] - lab_bg[:, 1:], axis=1)
    candidate = (chroma > min_chroma) & (hue_change > 15.0)
    if candidate.sum() < 10:
        raise InputDataError(
            f"{source}: no saturated paint found (chroma > {min_chroma:g}); give its colour (--color R,G,B)"
        )
    lab, weight = lab[candidate], hue_change[candidate]
    bins = np.arange(-128.0, 129.0, 4.0)
    histogram, _, _ = np.histogram2d(lab[:, 1], lab[:, 2], bins=(bins, bins), weights=weight)
    peak = np.unravel_index(np.argmax(ndimage.gaussian_filter(histogram, 1.5)), histogram.shape)
    centre_ab = bins[list(peak)] + 2.0
    near = np.linalg.norm(lab[:, 1:] - centre_ab, axis=1) < 12.0
    centre = np.median(lab[near] if near.any() else lab, axis=0)
    for _ in range(3):
        near = np.linalg.norm(lab - centre, axis=1) < 20.0
        if near.any():
            centre = np.median(lab[near], axis=0)
    return _rgb8(centre)


@dataclass(frozen=True)
class PaintSegmentation:
    """Where the paint is.

    Attributes:
        mask: (H, W) bool, True on paint (small specks and holes cleaned).
        coverage: (H, W) float64 in [0, 1], each pixel's share of paint (0 off the strokes).
        color: the paint colour segmented, RGB 0-255.
    """

    mask: np.ndarray
    coverage: np.ndarray
    color: tuple[int, int, int]


def _fill_small(mask: np.ndarray, max_area: int) -> np.ndarray:
    """Remove connected specks and fill holes of at most ``max_area`` pixels."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    area = np.bincount(labels.ravel(), minlength=count + 1)
    keep = area > max_area
    keep[0] = False
    mask = keep[labels]
    holes, count = ndimage.label(~mask)
    area = np.bincount(holes.ravel(), minlength=count + 1)
    small = area <= max_area
    small[0] = False
    return mask | small[holes]


def segment_paint(
    image: np.ndarray,
    color: tuple[int, int, int],
    tolerance: float = 25.0,
    background_window: int = 31,
    min_area: int = 6,
) -> PaintSegmentation:
    """Segment paint of a known colour by colour distance in CIELAB.

    Args:
        image: (H, W, 3) uint8 RGB.
        color: the paint colour, RGB 0-255.
        tolerance: largest colour difference (CIEDE2000, lightness weight ``LIGHTNESS_WEIGHT``)
            from the paint colour a paint pixel may have.
        background_window: odd size of the median filter that estimates the local background
            (wider than about three stroke widths).
        min_area: specks and holes of at most this many pixels are dropped and filled.

    Returns:
        The mask, the soft coverage and the colour.
    """
    background = _local_background(image, background_window)
    lab, lab_bg, lab_paint = _lab(image), _lab(background), _lab(np.asarray(color))
    to_paint = deltaE_ciede2000(lab, np.broadcast_to(lab_paint, lab.shape), kL=LIGHTNESS_WEIGHT)
    to_background = deltaE_ciede2000(lab, lab_bg, kL=LIGHTNESS_WEIGHT)
    mask = (to_paint < to_background) & (to_paint < tolerance)
    # coverage: the pixel as a linear mix of background and paint (sRGB, like the renderer)
    rgb = image.astype(np.float64)
    contrast = np.asarray(color, dtype=np.float64) - background
    alpha = ((rgb - background) * contrast).sum(-1) / np.maximum((contrast**2).sum(-1), 30.0**2)
    mask = _fill_small(mask, min_area)
    coverage = np.where(ndimage.binary_dilation(mask, iterations=2), np.clip(alpha, 0.0, 1.0), 0.0)
    return PaintSegmentation(mask=mask, coverage=coverage, color=tuple(int(c) for c in color))
