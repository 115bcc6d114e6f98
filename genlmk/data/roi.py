"""Regions of interest in training footage: both sessions cropped around the painted body part.

Users film with phones: the part covers a fraction of a large frame, and the two sessions frame
it differently. Squashing whole frames to the model input would teach the landmarker one framing
in the marked session and meet another in the unmarked one. ``data.roi: auto`` instead crops
every frame so that the part sits where the template sits in the model input:

- marked frames: the paint shows the part. Its filmed colour is measured first (light changes it,
  :func:`genlmk.losses.estimate_paint_color`), then each frame's crop maps the extent of its paint
  onto the extent of the template's landmarks;
- unmarked frames: no paint, but the same part. The marked crops, with their paint left out, give
  an :class:`~genlmk.geometry.subject_search.Appearance`; each unmarked frame's crop is the
  square that looks most like it, searched between half and twice the marked crops' size.

Video crops are smoothed over time (a running median), so the crop itself adds no jitter. Frames
where nothing is found are left out of training, and counted.

All coordinates are source-frame pixels (x right, y down, corner origin); squares are
``(cx, cy, side)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from genlmk.data.footage import FrameSelection
from genlmk.data.frames import to_tensor
from genlmk.data.images import resize_rgb
from genlmk.errors import ConfigError, InputDataError
from genlmk.geometry.boxes import crop_image, square_to_box
from genlmk.geometry.subject_search import Appearance, appearance_of, find_square, search_sides
from genlmk.losses.paint import estimate_paint_color, paint_weights

SEARCH_SIDE = 640  # frames are searched shrunk to this long side: paint strokes stay a pixel wide
SMOOTHING_RADIUS = 3  # frames on each side of the running median
STROKE_WIDTH = 7  # search-frame pixels: paint-coloured areas at least this wide are not lines
PAINT_TOLERANCE = 0.1  # colour-direction distance: loose, as line shape, not colour alone, says paint
STROKE_LENGTH = 6  # search-frame pixels: shorter paint-coloured pieces are specks, not lines
STROKE_GAP = 0.04  # share of the search frame's long side: strokes this close are one part


@dataclass(frozen=True)
class CroppedFrames:
    """Frames of one source cropped around the part.

    Attributes:
        frames: (F, h, w, 3) uint8 crops at the model input size.
        squares: (F, 3) the crops ``(cx, cy, side)`` in source pixels.
        sources: (F,) which of the scanned frames each crop comes from.
        footage: (F,) which footage each crop comes from.
        indices: (F,) each crop's frame number in its footage.
        sizes: (F, 2) ``(width, height)`` of each crop's source frame.
        scanned: how many source frames were looked at.
    """

    frames: np.ndarray
    squares: np.ndarray
    sources: np.ndarray
    footage: np.ndarray
    indices: np.ndarray
    sizes: np.ndarray
    scanned: int

    def share(self) -> float:
        """The crops' median side over their source frames' short side."""
        return float(np.median(self.squares[:, 2] / self.sizes.min(axis=1)))

    def boxes(self) -> np.ndarray:
        """(F, 4) whole-pixel crop boxes ``x, y, w, h`` in source pixels."""
        return (
            np.stack([square_to_box(square) for square in self.squares])
            if len(self.squares)
            else np.zeros((0, 4), np.int64)
        )


def shrink_for_search(frame: np.ndarray, interpolation: int) -> tuple[np.ndarray, float]:
    """The frame with its long side at most :data:`SEARCH_SIDE`, and the factor (<= 1) applied."""
    scale = min(1.0, SEARCH_SIDE / max(frame.shape[:2]))
    if scale == 1.0:
        return frame, 1.0
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=interpolation), scale


def paint_extent(frame: np.ndarray, color: torch.Tensor, min_pixels: int = 8) -> np.ndarray | None:
    """``(x0, y0, x1, y1)`` spanned by the painted lines of an (H, W, 3) uint8 frame, or None when
    fewer than ``min_pixels`` paint pixels are found.

    Paint is drawn in lines, so only line-like pixels of the paint's colour count: not areas
    wider than :data:`STROKE_WIDTH` (a blue shirt, a wall), and not specks (a patch of paint's
    colour in a textured backdrop: a connected piece counts when it is at least
    :data:`STROKE_LENGTH` long and its length is at least twice its mean width). The lines that lie
    close together (within :data:`STROKE_GAP` of the frame's long side) form one part; the part with
    most paint counts.
    """
    weights = paint_weights(to_tensor(frame)[None], color, tolerance=PAINT_TOLERANCE)[0].numpy()
    mask = (weights > 0.5).astype(np.uint8)
    wide = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((STROKE_WIDTH, STROKE_WIDTH), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask & (1 - wide), connectivity=8)
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # length / mean width >= 2, the mean width being the area over the length
    line_like = (length >= STROKE_LENGTH) & (length**2 >= 2 * stats[:, cv2.CC_STAT_AREA])
    line_like[0] = False  # the background label
    strokes = line_like[labels].astype(np.uint8)
    if strokes.sum() < min_pixels:
        return None
    gap = max(3, round(STROKE_GAP * max(frame.shape[:2]))) | 1
    _, groups = cv2.connectedComponents(cv2.dilate(strokes, np.ones((gap, gap), np.uint8)))
    counts = np.bincount(groups[strokes > 0])
    counts[0] = 0
    rows, columns = np.nonzero((groups == int(np.argmax(counts))) & (strokes > 0))
    if len(rows) < min_pixels:
        return None
    return np.array([columns.min(), rows.min(), columns.max() + 1.0, rows.max() + 1.0], dtype=np.float64)


def square_framing(extent: np.ndarray, template_extent: np.ndarray, model_side: float) -> np.ndarray:
    """The square ``(cx, cy, side)`` that puts a part spanning ``extent = (x0, y0, x1, y1)`` where
    the template's landmarks span ``template_extent`` in a ``model_side`` pixels square input."""
    size, template_size = extent[2:] - extent[:2], template_extent[2:] - template_extent[:2]
    scale = float(np.sqrt(np.prod(size) / np.prod(template_size)))
    offset = (template_extent[:2] + template_extent[2:]) / 2.0 - model_side / 2.0
    centre = (extent[:2] + extent[2:]) / 2.0 - scale * offset
    return np.array([centre[0], centre[1], scale * model_side])


def robust_line_value(times: np.ndarray, values: np.ndarray, at: float) -> np.ndarray:
    """The value at ``at`` of a Theil-Sen line through (T,) ``times`` and (T, D) ``values``: the
    median of pairwise slopes, then the median intercept; a steady motion passes unchanged and one
    wrong value among several does not move it."""
    if len(times) < 2:
        return values[0].copy()
    first, second = np.triu_indices(len(times), k=1)
    slopes = np.median((values[second] - values[first]) / (times[second] - times[first])[:, None], axis=0)
    return np.median(values - slopes * (times - at)[:, None], axis=0)


def smooth_squares(
    squares: np.ndarray, footage: np.ndarray, videos: set[int], radius: int = SMOOTHING_RADIUS
) -> np.ndarray:
    """(F, 3) squares smoothed over ``radius`` frames on each side within each video footage
    (:func:`robust_line_value`, so the crop neither jitters nor lags a moving part); stills of a
    frame folder are independent and kept as they are. NaN rows are missing and skipped."""
    smoothed = squares.copy()
    found = np.isfinite(squares).all(axis=1)
    for index in np.flatnonzero(found):
        if footage[index] not in videos:
            continue
        low, high = max(0, index - radius), min(len(squares), index + radius + 1)
        near = np.arange(low, high)
        near = near[found[near] & (footage[near] == footage[index])]
        smoothed[index] = robust_line_value(near.astype(np.float64), squares[near], float(index))
    return smoothed


class PartCropper:
    """Crops marked and unmarked training footage around the part (see the module docstring).

    Args:
        template_points: (N, 2) template landmarks in model-input pixels.
        model_size: ``(width, height)`` of the model input; must be square.
        paint_color: (3,) RGB in [0, 1], the template's authored paint colour.
    """

    def __init__(
        self,
        template_points: np.ndarray,
        model_size: tuple[int, int],
        paint_color: tuple[float, float, float],
    ) -> None:
        if model_size[0] != model_size[1]:
            raise ConfigError(
                f"data.roi auto crops squares: the model input must be square, got {list(model_size)}"
            )
        points = np.asarray(template_points, dtype=np.float64)
        self.template_points = points
        self.template_extent = np.concatenate([points.min(axis=0), points.max(axis=0)])
        self.model_size = model_size
        self.authored_color = torch.tensor(paint_color, dtype=torch.float32)

    def _scan(
        self, path: str, selection: FrameSelection, measure: Callable[[np.ndarray], Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """First pass over a source: ``measure(frame)`` of every selected frame, and the frames'
        ``footage`` ids, ``indices`` (frame numbers), ``sizes`` (width, height) and ``videos`` (the
        footage ids that are videos)."""
        measured, footage, indices, sizes, videos = [], [], [], [], set()
        for number, source, index, frame in selection.frames(path, progress=True):
            measured.append(measure(frame))
            footage.append(number)
            indices.append(index)
            sizes.append((frame.shape[1], frame.shape[0]))
            if source.is_video:
                videos.add(number)
        where = {"footage": np.array(footage), "indices": np.array(indices), "sizes": np.array(sizes)}
        return measured, {**where, "videos": videos}

    def _crop(
        self, path: str, selection: FrameSelection, squares: np.ndarray, where: dict[str, Any]
    ) -> CroppedFrames:
        """Second pass over the source: crop the frames that have a square, after smoothing."""
        squares = smooth_squares(squares, where["footage"], where["videos"])
        keep = np.flatnonzero(np.isfinite(squares).all(axis=1))
        wanted = set(keep.tolist())
        crops = [
            resize_rgb(crop_image(frame, square_to_box(squares[position])), self.model_size)
            for position, (_, _, _, frame) in enumerate(selection.frames(path))
            if position in wanted
        ]
        empty = np.zeros((0, self.model_size[1], self.model_size[0], 3), np.uint8)
        return CroppedFrames(
            np.stack(crops) if crops else empty,
            squares[keep],
            keep,
            where["footage"][keep],
            where["indices"][keep],
            where["sizes"][keep],
            len(squares),
        )

    def marked(
        self, path: str, selection: FrameSelection | None = None
    ) -> tuple[CroppedFrames, torch.Tensor]:
        """Marked frames cropped by their paint, and the paint's filmed colour (3,) in [0, 1].

        Raises:
            InputDataError: no frame shows paint of the template's colour.
        """
        selection = selection or FrameSelection()
        # nearest-neighbour shrinking keeps paint pixels unmixed with the skin around them
        small, where = self._scan(path, selection, lambda frame: shrink_for_search(frame, cv2.INTER_NEAREST))
        first = small[0][0]
        sample = [
            to_tensor(resize_rgb(frame, (first.shape[1], first.shape[0])))
            for frame, _ in small[:: max(1, len(small) // 64)]
        ]
        color = estimate_paint_color(torch.stack(sample), self.authored_color, min_share=1e-5)
        if color is None:
            raise InputDataError(
                f"{path}: data.roi auto found no paint of the template's colour in any frame"
            )
        squares = np.full((len(small), 3), np.nan)
        for position, (frame, scale) in enumerate(small):
            extent = paint_extent(frame, color)
            if extent is not None:
                squares[position] = square_framing(extent / scale, self.template_extent, self.model_size[0])
        if not np.isfinite(squares).any():
            raise InputDataError(f"{path}: data.roi auto found paint in no frame")
        return self._crop(path, selection, squares, where), color

    def appearance(self, marked: CroppedFrames, color: torch.Tensor) -> Appearance:
        """The part's look in the marked crops with the paint (and a pixel around it) left out."""
        weights = paint_weights(
            torch.stack([to_tensor(frame) for frame in marked.frames]), color, tolerance=0.05
        )
        hidden = np.stack(
            [cv2.dilate((w > 0.3).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0 for w in weights.numpy()]
        )
        return appearance_of(marked.frames, hidden)

    def unmarked(
        self, path: str, appearance: Appearance, marked_share: float, selection: FrameSelection | None = None
    ) -> tuple[CroppedFrames, np.ndarray]:
        """Unmarked frames cropped where they look most like the marked crops.

        Args:
            appearance: from :meth:`appearance`.
            marked_share: the marked crops' median side over their frames' short side; the
                search spans half to twice that.

        Returns:
            The crops and (F,) the match score of every scanned frame.

        Raises:
            InputDataError: the part is found in no frame.
        """
        selection = selection or FrameSelection()

        def square_and_score(frame: np.ndarray) -> np.ndarray:
            shrunk, scale = shrink_for_search(frame, cv2.INTER_AREA)
            short = min(shrunk.shape[:2])
            low, high = 0.5 * marked_share * short, 2.0 * marked_share * short
            square, score = find_square(
                shrunk, appearance, search_sides((shrunk.shape[1], shrunk.shape[0]), low, high)
            )
            return np.append(square / scale if score >= appearance.floor else np.full(3, np.nan), score)

        measured, where = self._scan(path, selection, square_and_score)
        found = np.stack(measured)
        if not np.isfinite(found[:, :3]).any():
            raise InputDataError(f"{path}: data.roi auto found the painted part in no unmarked frame")
        return self._crop(path, selection, found[:, :3], where), found[:, 3]
