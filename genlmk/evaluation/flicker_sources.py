"""Where a landmarker's flicker comes from, on synthetic clips drawn under controlled conditions.

The same poses of a :class:`~genlmk.data.synthetic.SyntheticSubject` are drawn four ways, from
footage like the benchmark's clips down to motion alone; each step takes one source of
frame-to-frame change away, so comparing neighbouring conditions shows what each source adds:

- ``encoded``: a new lighting and sensor noise every frame, then the H.264 round trip that
  ``genlmk synth`` clips go through (the encoder's threads can round a few pixels differently
  from run to run, so this figure may vary in its third digit; the others repeat exactly);
- ``lighting+noise``: the same frames, not encoded;
- ``noise``: one lighting for the whole clip, sensor noise every frame;
- ``motion``: one lighting, no noise: only the subject's motion changes the frames (on a static
  clip nothing changes, so every deterministic landmarker has zero flicker there).

Flicker is :func:`genlmk.metrics.landmarks.flicker` against the rendered ground truth, in percent
of the ground-truth box diagonal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from genlmk.data.synthetic import Pose, SyntheticSubject
from genlmk.data.video import h264_round_trip
from genlmk.metrics.landmarks import box_diagonal, flicker

CONDITIONS = ("encoded", "lighting+noise", "noise", "motion")


class FramePredictor(Protocol):
    def predict(self, frames: np.ndarray) -> np.ndarray:
        """(F, H, W, 3) uint8 RGB -> (F, N, 2) pixels of the frames."""


def flicker_by_source(
    predictors: Mapping[str, FramePredictor],
    subject: SyntheticSubject,
    poses: Sequence[Pose],
    seed: int = 0,
    fps: float = 25.0,
) -> dict[str, dict[str, float]]:
    """Flicker of each predictor on ``poses`` drawn under each of :data:`CONDITIONS`.

    Args:
        predictors: name -> anything with ``predict`` (e.g. :class:`genlmk.inference.Landmarker`).
        subject: the synthetic subject (the one the landmarkers were trained on, for a fair test).
        poses: the clip, e.g. ``subject.clip_poses(rng, MotionRange(), 120, moving)``.
        seed: seeds the lighting and noise draws, so every call with it sees the same frames.
        fps: frame rate of the encoded clip.

    Returns:
        ``{condition: {name: flicker percent}}``.
    """
    rng = np.random.default_rng(seed)
    varying, truth = subject.render_clip(poses, rng)
    steady = subject.random_lighting(rng)
    clips = {
        "encoded": h264_round_trip(varying, fps=fps),
        "lighting+noise": varying,
        "noise": subject.render_clip(poses, rng, lighting=steady)[0],
        "motion": subject.render_clip(poses, rng, lighting=steady, noise=False)[0],
    }
    size = box_diagonal(truth)
    return {
        condition: {name: flicker(p.predict(frames), truth, size) for name, p in predictors.items()}
        for condition, frames in clips.items()
    }
