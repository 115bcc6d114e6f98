"""Temporal smoothing of landmark tracks at inference: the one-euro filter.

The one-euro filter (Casiez, Roussel and Vogel, CHI 2012) is a first-order low-pass filter whose
cutoff frequency rises with the speed of the signal: slow or still landmarks are smoothed hard
(little jitter), fast ones lightly (little lag). Per frame, with ``dt`` the time since the
previous frame:

- ``alpha(fc) = r / (1 + r)`` with ``r = 2 pi fc dt`` (exponential smoothing with cutoff ``fc``);
- the speed ``(x - x_prev_smoothed) / dt`` is smoothed with cutoff ``d_cutoff`` to ``v``;
- the cutoff is ``min_cutoff + beta * |v|``, where ``|v|`` is the landmark's speed (the length
  of its 2-D velocity, so both coordinates of a landmark share one cutoff and the filter does
  not depend on the direction of motion);
- ``x_smoothed = x_prev_smoothed + alpha(cutoff) * (x - x_prev_smoothed)``.

It is causal (each output depends only on the frames so far), so it runs on a stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroSettings:
    """Parameters of :class:`OneEuroFilter`.

    Attributes:
        min_cutoff: cutoff frequency for a still landmark, Hz (lower: less jitter, more lag).
        beta: how fast the cutoff rises with speed, Hz per (pixel / second); speeds are in
            pixels of the frames, so scale ``beta`` inversely with the resolution.
        d_cutoff: cutoff frequency for the speed estimate, Hz.
    """

    min_cutoff: float = 1.0
    beta: float = 0.05
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0):
            raise ValueError(f"one-euro filter needs min_cutoff > 0, d_cutoff > 0, beta >= 0; got {self}")


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Weight of the new sample in exponential smoothing with cutoff ``cutoff`` Hz after ``dt`` s."""
    r = 2.0 * math.pi * np.asarray(cutoff) * dt
    return r / (1.0 + r)


class OneEuroFilter:
    """A one-euro filter over a stream of landmark sets (see the module docstring).

    Args:
        settings: the filter parameters.
        fps: frames per second of the stream; timestamps are ``frame / fps``.

    Example:
        >>> smooth = OneEuroFilter(OneEuroSettings(min_cutoff=1.0, beta=0.05), fps=25.0)
        >>> smoothed = smooth(landmarks, frames)   # (B, N, 2), (B,) -> (B, N, 2); state kept
    """

    def __init__(self, settings: OneEuroSettings | None = None, fps: float = 25.0) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.settings = settings or OneEuroSettings()
        self.fps = float(fps)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next frame is taken as it is."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._frame = 0

    def step(self, points: np.ndarray, frame: int) -> np.ndarray:
        """Filter one landmark set.

        Args:
            points: (N, 2) ``(x, y)`` pixels of frame ``frame``; a non-finite set is a missing
                frame: it stays missing and the filter starts afresh after it.
            frame: the frame number; must be larger than the previous one.

        Returns:
            (N, 2) float64 smoothed pixels.
        """
        points = np.asarray(points, dtype=np.float64)
        if not np.isfinite(points).all():
            self.reset()
            return np.full_like(points, np.nan)
        if self._value is None:
            self._value, self._speed, self._frame = points.copy(), np.zeros_like(points), frame
            return points.copy()
        if frame <= self._frame:
            raise ValueError(f"frames must increase: frame {frame} after frame {self._frame}")
        dt = (frame - self._frame) / self.fps
        s = self.settings
        speed = (points - self._value) / dt
        self._speed = self._speed + smoothing_factor(s.d_cutoff, dt) * (speed - self._speed)
        cutoff = s.min_cutoff + s.beta * np.linalg.norm(self._speed, axis=-1, keepdims=True)
        self._value = self._value + smoothing_factor(cutoff, dt) * (points - self._value)
        self._frame = frame
        return self._value.copy()

    def __call__(self, landmarks: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Filter consecutive landmark sets (B, N, 2) of frames (B,), in order; returns (B, N, 2)."""
        return np.stack([self.step(points, int(f)) for points, f in zip(landmarks, frames)])
