"""Regions of interest in training footage: both sessions cropped around the painted body part.

Users film with phones: the part covers a fraction of a large frame, and the two sessions frame
it differently. Squashing whole frames to the model input would teach the landmarker one framing
in the marked session and meet another in the unmarked one. ``data.roi: auto`` instead crops
every frame so that the part sits where the template sits in the model input:

- marked frames: the paint shows the part. Its filmed colour is measured first (light changes it,
  :func:`genlmk.losses.estimate_paint_color`), then the spread of each frame's painted lines is
  mapped onto the spread of the template's lines: a first framing;
- the part's look: those crops, with their paint left out, give an
  :class:`~genlmk.geometry.subject_search.Appearance`;
- both sessions are then framed by that look: each marked frame's crop is the square that looks
  most like it near its paint (0.7 to 1.4 times the paint's square), each unmarked frame's the
  square that looks most like it anywhere, between half and twice the marked crops' size. The
  sessions share the search's framing, even where the paint alone would frame a turned part
  smaller (its far side's paint hidden) or a part with a backdrop stroke beside it larger.

Video crops are smoothed over time (a robust line through the neighbouring frames), so the crop
itself adds no jitter. Frames where nothing is found are left out of training, and counted. Each
source is decoded a frame at a time, once per pass (paint colour, paint, look, search, crops).

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
from genlmk.rendering.strokes import sample_segments
from genlmk.template import Template

SEARCH_SIDE = 640  # frames are searched shrunk to this long side: paint strokes stay a pixel wide
COLOR_SAMPLE = 64  # frames the paint's filmed colour is measured on
SMOOTHING_RADIUS = 3  # frames on each side of the running median
STROKE_WIDTH = 7  # search-frame pixels: paint-coloured areas at least this wide are not lines
PAINT_TOLERANCE = 0.1  # colour-direction distance: loose, as line shape, not colour alone, says paint
STROKE_LENGTH = 6  # search-frame pixels: shorter paint-coloured pieces are specks, not lines
STROKE_GAP = 0.04  # share of the search frame's long side: strokes this close are one part...
GAP_PER_STROKE = 0.3  # ...or this share of the longest stroke, when that is more
# the paint's spread is measured between these quantiles, not its extreme pixels: a backdrop rim
# joined to the face's strokes moves the extremes by its own length, the quantiles hardly at all
SPREAD_QUANTILES = (0.1, 0.9)
NEAR_PAINT = np.array([0.7, 1.4])  # marked frames: sides searched, relative to the paint's square


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


def spread(points: np.ndarray) -> np.ndarray:
    """``(x0, y0, x1, y1)``: the :data:`SPREAD_QUANTILES` of (P, 2) points' x and y."""
    low, high = np.quantile(points, SPREAD_QUANTILES, axis=0)
    return np.concatenate([low, high]).astype(np.float64)


def template_spread(template: Template) -> np.ndarray:
    """:func:`spread` of the template's lines, sampled every pixel along them as paint covers them."""
    sampling = sample_segments(template.points, template.edges, spacing=1.0)
    t = sampling.t.numpy()[:, None]
    along = (1 - t) * template.points[sampling.start.numpy()] + t * template.points[sampling.end.numpy()]
    return spread(along)


def paint_extent(frame: np.ndarray, color: torch.Tensor, min_pixels: int = 8) -> np.ndarray | None:
    """``(x0, y0, x1, y1)``: the :func:`spread` of the painted lines' pixel centres in an
    (H, W, 3) uint8 frame, or None when fewer than ``min_pixels`` paint pixels are found.

    Paint is drawn in lines, so only line-like pixels of the paint's colour count: not areas
    wider than :data:`STROKE_WIDTH` (a blue shirt, a wall), and not specks (a patch of paint's
    colour in a textured backdrop: a connected piece counts when it is at least
    :data:`STROKE_LENGTH` long and its length is at least twice its mean width). The lines that lie
    close together (within :data:`STROKE_GAP` of the frame's long side, or :data:`GAP_PER_STROKE`
    of the longest stroke) form one part; the part with most paint counts.
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
    # a part filling the frame has lines farther apart than the frame's share says: its longest
    # stroke tells its scale
    gap = (
        max(3, round(STROKE_GAP * max(frame.shape[:2])), round(GAP_PER_STROKE * length[line_like].max())) | 1
    )
    _, groups = cv2.connectedComponents(cv2.dilate(strokes, np.ones((gap, gap), np.uint8)))
    counts = np.bincount(groups[strokes > 0])
    counts[0] = 0
    rows, columns = np.nonzero((groups == int(np.argmax(counts))) & (strokes > 0))
    if len(rows) < min_pixels:
        return None
    return spread(np.stack([columns, rows], axis=1) + 0.5)


def square_framing(extent: np.ndarray, template_extent: np.ndarray, model_side: float) -> np.ndarray:
    """The square ``(cx, cy, side)`` that puts a part spanning ``extent = (x0, y0, x1, y1)`` where
    the template spans ``template_extent`` in a ``model_side`` pixels square input (both measured
    the same way, e.g. by :func:`spread`)."""
    size, template_size = extent[2:] - extent[:2], template_extent[2:] - template_extent[:2]
    scale = float(np.sqrt(np.prod(size) / np.prod(template_size)))
    offset = (template_extent[:2] + template_extent[2:]) / 2.0 - model_side / 2.0
    centre = (extent[:2] + extent[2:]) / 2.0 - scale * offset
    return np.array([centre[0], centre[1], scale * model_side])


def search_square(
    frame: np.ndarray,
    appearance: Appearance,
    smallest: float,
    largest: float,
    near: np.ndarray | None = None,
) -> np.ndarray:
    """``(cx, cy, side, score)``: the square of an (H, W, 3) uint8 frame that looks most like
    ``appearance``, its side between ``smallest`` and ``largest`` frame pixels (searched in the
    frame shrunk to :data:`SEARCH_SIDE`); the square is NaN when the score is below the floor.

    Args:
        near: optional ``(cx, cy, side)``: search only within ``side`` of that square's centre.
    """
    shrunk, scale = shrink_for_search(frame, cv2.INTER_AREA)
    origin = np.zeros(2)
    if near is not None:
        centre, reach = near[:2] * scale, near[2] * scale
        low = np.maximum(np.floor(centre - reach), 0).astype(int)
        high = np.minimum(np.ceil(centre + reach), [shrunk.shape[1], shrunk.shape[0]]).astype(int)
        shrunk, origin = shrunk[low[1] : high[1], low[0] : high[0]], low.astype(np.float64)
    sides = search_sides((shrunk.shape[1], shrunk.shape[0]), smallest * scale, largest * scale)
    square, score = find_square(shrunk, appearance, sides)
    if score < appearance.floor:
        return np.append(np.full(3, np.nan), score)
    return np.append((square + np.append(origin, 0.0)) / scale, score)


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
        template: the landmark template, in model-input pixels (its lines frame the paint; its
            marker colour is the paint's authored colour).
        model_size: ``(width, height)`` of the model input; must be square.
    """

    def __init__(self, template: Template, model_size: tuple[int, int]) -> None:
        if model_size[0] != model_size[1]:
            raise ConfigError(
                f"data.roi auto crops squares: the model input must be square, got {list(model_size)}"
            )
        self.template_extent = template_spread(template)
        self.model_size = model_size
        self.authored_color = torch.tensor(template.marker.color_unit, dtype=torch.float32)

    def _scan(
        self, path: str, selection: FrameSelection, measure: Callable[[int, np.ndarray], Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """A pass over a source: ``measure(position, frame)`` of every selected frame, and the
        frames' ``footage`` ids, ``indices`` (frame numbers), ``sizes`` (width, height) and
        ``videos`` (the footage ids that are videos)."""
        measured, footage, indices, sizes, videos = [], [], [], [], set()
        for position, (number, source, index, frame) in enumerate(selection.frames(path, progress=True)):
            measured.append(measure(position, frame))
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

    def _paint_color(self, path: str, selection: FrameSelection) -> torch.Tensor | None:
        """The paint's filmed colour, measured on up to :data:`COLOR_SAMPLE` frames spread evenly
        over the source (the stride doubles whenever the sample fills: memory stays bounded)."""
        sample, stride = [], 1
        for position, (_, _, _, frame) in enumerate(selection.frames(path)):
            if position % stride:
                continue
            sample.append(shrink_for_search(frame, cv2.INTER_NEAREST)[0])
            if len(sample) > COLOR_SAMPLE:
                sample, stride = sample[::2], 2 * stride
        if not sample:
            return None
        size = (sample[0].shape[1], sample[0].shape[0])
        frames = torch.stack([to_tensor(resize_rgb(frame, size)) for frame in sample])
        return estimate_paint_color(frames, self.authored_color, min_share=1e-5)

    def marked(
        self, path: str, selection: FrameSelection | None = None
    ) -> tuple[CroppedFrames, torch.Tensor]:
        """Marked frames cropped around their paint (see the module docstring), and the paint's
        filmed colour (3,) in [0, 1].

        Raises:
            InputDataError: no frame shows paint of the template's colour.
        """
        selection = selection or FrameSelection()
        color = self._paint_color(path, selection)
        if color is None:
            raise InputDataError(
                f"{path}: data.roi auto found no paint of the template's colour in any frame"
            )

        def paint_square(_: int, frame: np.ndarray) -> np.ndarray:
            # nearest-neighbour shrinking keeps paint pixels unmixed with the skin around them
            small, scale = shrink_for_search(frame, cv2.INTER_NEAREST)
            extent = paint_extent(small, color)
            if extent is None:
                return np.full(3, np.nan)
            return square_framing(extent / scale, self.template_extent, self.model_size[0])

        found, where = self._scan(path, selection, paint_square)
        squares = np.stack(found)
        if not np.isfinite(squares).any():
            raise InputDataError(f"{path}: data.roi auto found paint in no frame")
        # The paint frames each crop by the paint that shows, which shrinks when the part turns
        # its paint away and grows when a backdrop stroke joins it; the unmarked session is framed
        # by appearance. So the paint's crops only seed the appearance, and the marked frames are
        # framed by the same search as the unmarked ones, near their paint: both sessions then
        # share whatever framing the search prefers.
        seed = self.appearance(self._crop(path, selection, squares, where), color)
        near = smooth_squares(squares, where["footage"], where["videos"])

        def search_near_paint(position: int, frame: np.ndarray) -> np.ndarray:
            if not np.isfinite(near[position]).all():
                return np.full(4, np.nan)
            return search_square(frame, seed, *NEAR_PAINT * near[position][2], near=near[position])

        found, _ = self._scan(path, selection, search_near_paint)
        squares = np.stack(found)[:, :3]
        if not np.isfinite(squares).any():
            raise InputDataError(f"{path}: data.roi auto found the painted part in no marked frame")
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

        def square_and_score(_: int, frame: np.ndarray) -> np.ndarray:
            short = min(frame.shape[:2])
            return search_square(frame, appearance, 0.5 * marked_share * short, 2.0 * marked_share * short)

        measured, where = self._scan(path, selection, square_and_score)
        found = np.stack(measured)
        if not np.isfinite(found[:, :3]).any():
            raise InputDataError(f"{path}: data.roi auto found the painted part in no unmarked frame")
        return self._crop(path, selection, found[:, :3], where), found[:, 3]
