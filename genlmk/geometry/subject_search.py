"""Finding a subject by how it looks: small colour reference images matched over a frame.

A landmark regressor has no notion of "nothing here": it answers on any window, and its answer
is template-like on a wall as on a face. What a landmarker was trained on does tell: the mean of
its training inputs at :data:`REFERENCE_SIZE` pixels square is the subject as the model expects
it framed, and a window whose normalised cross-correlation with that mean is high shows the
subject framed that way. One mean over all poses is blurred; a few means, each of a cluster of
similar inputs (k-means), stay sharper. The correlation is taken per colour channel and
averaged: skin against a backdrop differs in colour more than in brightness, and each channel's
correlation ignores that channel's gain and offset, so two capture sessions under another light
colour and exposure still match.

The search is weakest at small windows (a 32 px reference matched on barely shrunk background
finds face-like blobs), so callers give it a smallest side, a share of the frame.

All coordinates are frame pixels (x right, y down, corner origin, pixel centres at +0.5).
Squares are ``(cx, cy, side)``; boxes ``x, y, w, h``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

REFERENCE_SIZE = 32
REFERENCES = 4


def unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


def shrink(image: np.ndarray, size: int) -> np.ndarray:
    """An (H, W) or (H, W, 3) image resized to ``size`` pixels square by area averaging."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Appearance:
    """What a subject looks like, framed as a landmarker's input.

    Attributes:
        references: (K, S, S, 3) float32 RGB images, each the mean of a cluster of training
            inputs, each channel scaled to zero mean and unit deviation.
        mask: (S, S) float32, 1 where the references count, 0 where they do not (e.g. where the
            paint of marked frames was), or None when every pixel counts.
        floor: a window scoring below this (normalised cross-correlation with its best
            reference, in [-1, 1]) does not show the subject.
    """

    references: np.ndarray
    mask: np.ndarray | None
    floor: float

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for checkpoints and JSON."""
        mask = None if self.mask is None else self.mask.tolist()
        return {"references": self.references.tolist(), "mask": mask, "floor": float(self.floor)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Appearance:
        references = np.asarray(data["references"], dtype=np.float32)
        mask = None if data.get("mask") is None else np.asarray(data["mask"], dtype=np.float32)
        if references.ndim != 4 or references.shape[1] != references.shape[2] or references.shape[3] != 3:
            raise ValueError(f"appearance references must be (K, S, S, 3), got {references.shape}")
        if mask is not None and mask.shape != references.shape[1:3]:
            raise ValueError(f"appearance mask {mask.shape} differs from its references {references.shape}")
        return cls(references, mask, float(data["floor"]))

    @property
    def size(self) -> int:
        """The references' side S, pixels."""
        return int(self.references.shape[1])


def appearance_of(
    crops: np.ndarray,
    hidden: np.ndarray | None = None,
    references: int = REFERENCES,
    floor_share: float = 0.3,
    seed: int = 0,
) -> Appearance:
    """The appearance of a subject from (F, H, W, 3) uint8 crops framed as the landmarker sees it.

    Args:
        crops: the training inputs (or crops framed like them).
        hidden: optional (F, H, W) bool, pixels to leave out (paint on marked frames): each is
            filled with the mean of the frames where it is not hidden, and a reference pixel
            hidden in more than half the frames is masked.
        references: how many cluster means to keep (fewer when there are fewer crops).
        floor_share: the floor is this share of the 5th percentile of the crops' own scores: low
            enough that a tracked subject's dips (a weak colour channel is noisy) stay above it,
            high enough that windows of backdrop fall below.
        seed: of the k-means initialisation.
    """
    small = np.stack([shrink(frame, REFERENCE_SIZE) for frame in unit_float(crops)])
    mask = None
    if hidden is not None:
        seen = np.stack([shrink((~h).astype(np.float32), REFERENCE_SIZE) for h in hidden])[..., None]
        total = seen.sum(axis=0)
        mean = (small * seen).sum(axis=0) / np.maximum(total, 1e-6)
        small = small * seen + mean * (1.0 - seen)
        mask = (total[..., 0] / len(crops) > 0.5).astype(np.float32)
    count = max(1, min(references, len(crops) // 4))
    vectors = _standardised(small).reshape(len(small), -1)
    if count == 1:
        centres = vectors.mean(axis=0, keepdims=True)
    else:
        cv2.setRNGSeed(seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
        _, _, centres = cv2.kmeans(vectors, count, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    draft = Appearance(_standardised(centres.reshape(count, REFERENCE_SIZE, REFERENCE_SIZE, 3)), mask, -1.0)
    scores = match_scores(crops, draft)
    return Appearance(draft.references, mask, float(floor_share * np.quantile(scores, 0.05)))


def _standardised(images: np.ndarray) -> np.ndarray:
    """(K, S, S, C) images, each channel scaled to zero mean and unit deviation, float32."""
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    return (centred / np.maximum(centred.std(axis=(1, 2), keepdims=True), 1e-6)).astype(np.float32)


def _correlate(image: np.ndarray, appearance: Appearance) -> np.ndarray:
    """At each position of an (H, W, 3) float32 image, the best reference's normalised
    cross-correlation (cv2's, masked), averaged over the colour channels; a flat channel counts
    as -1."""
    extra = {} if appearance.mask is None else {"mask": appearance.mask}
    channels = [np.ascontiguousarray(image[..., c]) for c in range(3)]
    scores = []
    for reference in appearance.references:
        per_channel = [
            cv2.matchTemplate(channel, np.ascontiguousarray(reference[..., c]), cv2.TM_CCOEFF_NORMED, **extra)
            for c, channel in enumerate(channels)
        ]
        scores.append(np.nan_to_num(np.mean(per_channel, axis=0), nan=-1.0, posinf=-1.0, neginf=-1.0))
    return np.max(scores, axis=0)


def match_scores(crops: np.ndarray, appearance: Appearance) -> np.ndarray:
    """(B,) normalised cross-correlation in [-1, 1] of (B, H, W, 3) uint8 crops with their best
    reference (each crop resized to the references' size); a flat crop scores -1."""
    return np.array(
        [_correlate(shrink(frame, appearance.size), appearance)[0, 0] for frame in unit_float(crops)]
    )


def search_sides(
    frame_size: tuple[int, int], smallest: float, largest: float, ratio: float = 1.2
) -> np.ndarray:
    """Square sides from ``smallest`` to ``largest`` pixels (capped at the frame's short side)
    in geometric steps of ``ratio``."""
    largest = min(largest, float(min(frame_size)))
    smallest = min(max(smallest, float(REFERENCE_SIZE)), largest)
    count = int(np.floor(np.log(largest / smallest) / np.log(ratio))) + 1
    return smallest * ratio ** np.arange(count)


def find_square(
    frame: np.ndarray, appearance: Appearance, sides: Sequence[float], refine: int = 5
) -> tuple[np.ndarray, float]:
    """The square of ``frame`` that looks most like the references, over the window ``sides``.

    Each side is one scale: the frame is shrunk so that a window of that side becomes the
    references' size, and each reference is slid over it (every position of the shrunk frame, so
    the step in frame pixels is ``side / S``). The best square is then refined over ``refine``
    finer scales between its neighbours, searched in its surroundings only.

    Args:
        frame: (H, W, 3) uint8 RGB.
        appearance: the subject's :class:`Appearance`.
        sides: window sides to try, in frame pixels, in increasing order.
        refine: finer scales tried around the best (0: none).

    Returns:
        (3,) ``(cx, cy, side)`` of the best window and its score; score -1 when no side fits.
    """
    best, score = _best_square(unit_float(frame), appearance, sides, (0.0, 0.0))
    if refine and score > -1.0 and len(sides) > 1:
        step = float(np.exp(np.mean(np.diff(np.log(sides)))))
        finer = best[2] * step ** np.linspace(-0.5, 0.5, refine)
        # the surroundings: twice the largest finer side, centred on the best square
        near, near_score = find_square_near(frame, appearance, best, float(finer.max()), finer)
        if near_score > score:
            best, score = near, near_score
    return best, score


def find_square_near(
    frame: np.ndarray, appearance: Appearance, square: np.ndarray, half: float, sides: Sequence[float]
) -> tuple[np.ndarray, float]:
    """The square of ``frame`` most like the references within ``half`` pixels of the centre of a
    ``(cx, cy, side)`` square, over the window ``sides`` that fit that region (clipped to the frame).

    Args:
        frame: (H, W, 3) uint8 RGB.

    Returns:
        (3,) ``(cx, cy, side)`` in frame pixels and its score; score -1 when no side fits.
    """
    height, width = frame.shape[:2]
    x0, y0 = max(0, int(square[0] - half)), max(0, int(square[1] - half))
    x1, y1 = min(width, int(square[0] + half) + 1), min(height, int(square[1] + half) + 1)
    fitting = [side for side in sides if side <= min(x1 - x0, y1 - y0)]
    return _best_square(unit_float(frame[y0:y1, x0:x1]), appearance, fitting, (x0, y0))


def _best_square(
    image: np.ndarray, appearance: Appearance, sides: Sequence[float], origin: tuple[float, float]
) -> tuple[np.ndarray, float]:
    """The best-scoring square over ``sides`` in an (H, W, 3) float32 image whose top-left corner
    lies at ``origin`` in frame pixels."""
    height, width = image.shape[:2]
    size = appearance.size
    best, best_score = (
        np.array([origin[0] + width / 2, origin[1] + height / 2, float(min(width, height))]),
        -1.0,
    )
    for side in sides:
        scale = size / float(side)
        shrunk_size = (max(round(width * scale), size), max(round(height * scale), size))
        scores = _correlate(cv2.resize(image, shrunk_size, interpolation=cv2.INTER_AREA), appearance)
        row, column = np.unravel_index(int(np.argmax(scores)), scores.shape)
        if scores[row, column] > best_score:
            step_x, step_y = width / shrunk_size[0], height / shrunk_size[1]
            best_score = float(scores[row, column])
            best = np.array(
                [
                    origin[0] + (column + size / 2) * step_x,
                    origin[1] + (row + size / 2) * step_y,
                    size * step_x,
                ]
            )
    return best, best_score
