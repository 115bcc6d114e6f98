"""Tracked region of interest: find the subject once, then crop each frame around it.

All coordinates are frame pixels (x right, y down, corner origin, pixel centres at +0.5). A
``locate`` function runs the landmarker on crops: it takes (B, H, W, 3) uint8 frames and (B, 4)
whole-pixel ``x, y, w, h`` boxes and returns (B, N, 2) landmarks in frame pixels, as
:meth:`genlmk.inference.landmarker.Landmarker.predict` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from genlmk.errors import SubjectNotFoundError
from genlmk.geometry.boxes import landmark_spread, points_inside, square_box_around, square_to_box

Locate = Callable[[np.ndarray, np.ndarray], np.ndarray]


class BoxSmoother:
    """Filter on a square ``(cx, cy, side)`` so the crop adds no jitter of its own.

    The centre runs an alpha-beta (constant-velocity) filter and :meth:`step` returns its
    prediction for the next frame, so the crop for a subject moving steadily is placed where the
    subject will be rather than where it was; the side is smoothed exponentially.
    ``smoothing`` is the weight of the prediction against each new measurement. A move larger
    than ``snap`` times the side is followed at once rather than filtered.
    """

    def __init__(self, smoothing: float = 0.6, snap: float = 0.5) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.gain = 1.0 - smoothing
        # The velocity gain that makes a critically damped alpha-beta filter for this gain.
        self.velocity_gain = self.gain**2 / (2.0 - self.gain)
        self.snap = snap
        self.state: np.ndarray | None = None
        self.velocity = np.zeros(2)

    def reset(self) -> None:
        """Forget the past (after a gap the old box says nothing about the new one)."""
        self.state = None
        self.velocity = np.zeros(2)

    def step(self, square: np.ndarray) -> np.ndarray:
        """The square for the next frame, given this frame's (3,) ``(cx, cy, side)`` measurement."""
        square = np.asarray(square, dtype=np.float64)
        if self.state is None:
            self.state = square.copy()
            return self.state.copy()
        predicted = self.state[:2] + self.velocity
        residual = square[:2] - predicted
        if np.abs(residual).max() > self.snap * self.state[2]:
            self.reset()
            self.state = square.copy()
            return self.state.copy()
        centre = predicted + self.gain * residual
        self.velocity = self.velocity + self.velocity_gain * residual
        side = self.state[2] + self.gain * (square[2] - self.state[2])
        self.state = np.array([centre[0], centre[1], side])
        return np.array([centre[0] + self.velocity[0], centre[1] + self.velocity[1], side])


def shape_residual(points: np.ndarray, template: np.ndarray) -> float:
    """How unlike the template (N, 2) points are: similarity-aligned RMS residual over unit spread.

    0 is the template's shape exactly; non-finite or collapsed points score infinity.
    """
    spread = landmark_spread(points)
    if not np.isfinite(spread) or spread <= 1e-9:
        return float("inf")
    a = (points - points.mean(axis=0)) / spread
    b = (template - template.mean(axis=0)) / landmark_spread(template)
    u, _, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    return float(np.sqrt(((a @ rotation - b) ** 2).sum(axis=1).mean()))


def search_boxes(frame_size: tuple[int, int], levels: int = 3) -> np.ndarray:
    """Square windows for a coarse search over a ``(width, height)`` frame, whole-frame first.

    Level ``k`` uses windows of side ``min(width, height) / k`` overlapping by half.

    Returns:
        (M, 4) whole-pixel ``x, y, w, h`` boxes.
    """
    width, height = frame_size
    boxes = []
    for level in range(1, levels + 1):
        side = max(int(min(width, height) / level), 1)
        step = max(side // 2, 1)
        for y in range(0, max(height - side, 0) + 1, step):
            for x in range(0, max(width - side, 0) + 1, step):
                boxes.append((x, y, side, side))
    return np.array(boxes, dtype=np.int64)


class RoiTracker:
    """Follows one subject: landmarks in a square crop around the previous frame's landmarks.

    Args:
        locate: the landmarker on crops (see the module docstring).
        template: (N, 2) template landmarks in model-input pixels.
        model_size: ``(width, height)`` of the model input.
        margin: share of the landmarks' extent added on each side of the crop.
        smoothing: weight of the past in :class:`BoxSmoother`.
        min_spread: the subject counts as lost when the landmarks' spread falls below this share of
            what the template's spread would be in the crop.
        max_residual: largest :func:`shape_residual` a first detection may have.
        detect: finds the subject in a whole (H, W, 3) frame, returning (N, 2) frame-pixel
            landmarks or None; default: :meth:`coarse_search`.
    """

    def __init__(
        self,
        locate: Locate,
        template: np.ndarray,
        model_size: tuple[int, int],
        margin: float = 0.25,
        smoothing: float = 0.6,
        min_spread: float = 0.3,
        max_residual: float = 0.5,
        detect: Callable[[np.ndarray], np.ndarray | None] | None = None,
    ) -> None:
        self.locate = locate
        self.template = np.asarray(template, dtype=np.float64)
        self.template_share = landmark_spread(self.template) / float(model_size[0])
        self.margin = margin
        self.min_spread = min_spread
        self.max_residual = max_residual
        self.detect = detect if detect is not None else self.coarse_search
        self.smoother = BoxSmoother(smoothing)
        self.square: np.ndarray | None = None
        self.box = np.zeros(4, dtype=np.int64)
        self.ever_found = False

    def plausible(self, points: np.ndarray, box: np.ndarray) -> bool:
        """Whether (N, 2) frame-pixel landmarks found in ``box`` still look like the subject."""
        expected = self.template_share * float(box[2])
        return points_inside(points, box) and landmark_spread(points) >= self.min_spread * expected

    def coarse_search(self, frame: np.ndarray) -> np.ndarray | None:
        """The most template-like landmarks over :func:`search_boxes` windows, or None."""
        boxes = search_boxes((frame.shape[1], frame.shape[0]))
        found = self.locate(np.broadcast_to(frame, (len(boxes), *frame.shape)), boxes)
        best, best_score = None, self.max_residual
        for points, box in zip(found, boxes, strict=True):
            score = shape_residual(points, self.template)
            if score <= best_score and self.plausible(points, box):
                best, best_score = points, score
        return best

    def step(self, frame: np.ndarray) -> np.ndarray | None:
        """(N, 2) frame-pixel landmarks of one (H, W, 3) uint8 frame, or None where the subject is lost.

        ``box`` is then the crop they were found in and ``ever_found`` turns True.
        """
        if self.square is None:
            start = self.detect(frame)
            if start is None:
                return None
            self.smoother.reset()
            self.square = square_box_around(start, self.margin)
        # a crop larger than the frame shows nothing more, only black: cap it there
        self.square[2] = min(self.square[2], float(max(frame.shape[:2])))
        box = square_to_box(self.smoother.step(self.square))
        points = self.locate(frame[None], box[None])[0]
        # landmarks out of the crop or collapsed: the subject left it; find it afresh next frame
        if not self.plausible(points, box):
            self.square = None
            self.smoother.reset()
            return None
        self.square = square_box_around(points, self.margin)
        self.box, self.ever_found = box, True
        return points

    def track(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Track (B, H, W, 3) consecutive frames one by one (each crop follows the last answer).

        Returns:
            (B, N, 2) frame-pixel landmarks (NaN where the subject is lost) and (B, 4) the crop
            boxes used (all zeros where lost).
        """
        landmarks = np.full((len(frames), len(self.template), 2), np.nan)
        boxes = np.zeros((len(frames), 4), dtype=np.int64)
        for index, frame in enumerate(frames):
            points = self.step(frame)
            if points is not None:
                landmarks[index], boxes[index] = points, self.box
        return landmarks, boxes

    def require_found(self, source: str, frames: int) -> None:
        """Raise SubjectNotFoundError unless some frame so far showed the subject.

        Args:
            source: the footage, for the message; frames: how many frames were tracked.
        """
        if not self.ever_found:
            raise SubjectNotFoundError(f"{source}: no subject found in any of its {frames} frames")


def track_frames(
    frames: Iterable[np.ndarray], tracker: RoiTracker, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Track a subject through (H, W, 3) uint8 frames.

    Returns:
        (T, N, 2) frame-pixel landmarks (NaN where lost, never guessed) and (T,) bool ``found``.

    Raises:
        SubjectNotFoundError: the subject is in no frame of ``source``.
    """
    tracked = [tracker.track(frame[None]) for frame in frames]
    tracker.require_found(source, len(tracked))
    landmarks = np.concatenate([points for points, _ in tracked])
    found = np.concatenate([boxes[:, 2] > 0 for _, boxes in tracked])
    return landmarks, found
