"""Synthetic talking-head-like videos for training and testing motion transfer without real footage.

Each video shows one textured "head" (an ellipse with eyes and a mouth) over a static smooth
background. The head translates along a smooth random path, turns, breathes in scale, and its mouth
opens and closes; the colours, texture and motion differ per video (seeded). Rendering is analytic
with one-pixel soft edges, so frames are anti-aliased and the motion is sub-pixel smooth.

``write_synthetic_motion_dataset`` writes the First Order Motion Model layout: ``root/train`` and
``root/test``, each holding one frame folder (PNG) or one mp4 per video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genlmk.data.images import write_image
from genlmk.data.video import write_video
from genlmk.errors import ConfigError


def _soft_inside(distance: np.ndarray, edge: float) -> np.ndarray:
    """Coverage in [0, 1] from a signed distance in pixels (negative inside), ``edge`` pixels wide."""
    return np.clip(0.5 - distance / edge, 0.0, 1.0)[..., None]


def _ellipse_distance(u: np.ndarray, v: np.ndarray, cu: float, cv: float, ru: float, rv: float) -> np.ndarray:
    """Approximate signed distance to an ellipse, in the units of (u, v)."""
    return (np.hypot((u - cu) / ru, (v - cv) / rv) - 1.0) * min(ru, rv)


def synthetic_motion_video(num_frames: int = 32, size: int = 64, seed: int = 0) -> np.ndarray:
    """Render one synthetic video.

    Args:
        num_frames: frames T.
        size: frames are ``size x size``.
        seed: everything random (looks and motion) derives from it.

    Returns:
        (T, size, size, 3) uint8 RGB.
    """
    rng = np.random.default_rng(seed)
    centres = np.arange(size) + 0.5
    xs, ys = np.meshgrid(centres / size, centres / size)  # in [0, 1], y down
    # muted backgrounds (a grey level with a tint), skin-like faces: roughly the colours of talking heads
    greys = rng.uniform(0.25, 0.75, size=(3, 1))
    colours = np.clip(greys + rng.uniform(-0.12, 0.12, size=(3, 3)), 0.0, 1.0)
    blob = rng.uniform(0.0, 1.0, size=2)
    background = (
        colours[0] * (1 - ys[..., None])
        + colours[1] * ys[..., None]
        + 0.25 * np.exp(-((xs - blob[0]) ** 2 + (ys - blob[1]) ** 2)[..., None] / 0.05) * (colours[2] - 0.5)
    )
    tone = rng.uniform(0.45, 0.95)
    skin = np.clip(tone * np.array([1.0, 0.78, 0.62]) + rng.uniform(-0.06, 0.06, size=3), 0.0, 1.0)
    stripes = rng.uniform(4.0, 9.0, size=2) * rng.choice([-1, 1], size=2)
    phase = rng.uniform(0, 2 * np.pi, size=5)
    speed = rng.uniform(0.5, 1.5, size=5) * 2 * np.pi / max(num_frames, 1)
    radius = rng.uniform(0.2, 0.26)
    edge = 1.0 / size

    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t in range(num_frames):
        cx = 0.5 + 0.15 * np.sin(speed[0] * t + phase[0])
        cy = 0.5 + 0.1 * np.sin(speed[1] * t + phase[1])
        angle = 0.45 * np.sin(speed[2] * t + phase[2])
        scale = radius * (1.0 + 0.12 * np.sin(speed[3] * t + phase[3]))
        mouth_open = 0.5 + 0.5 * np.sin(2.0 * speed[4] * t + phase[4])
        # canonical head coordinates (unit: head radius), rotating with the head
        dx, dy = xs - cx, ys - cy
        u = (np.cos(angle) * dx + np.sin(angle) * dy) / scale
        v = (-np.sin(angle) * dx + np.cos(angle) * dy) / scale
        unit = edge / scale
        head = _soft_inside(_ellipse_distance(u, v, 0, 0, 0.85, 1.05), unit)
        texture = 0.12 * np.sin(stripes[0] * u + stripes[1] * v)[..., None]
        face = np.clip(skin + texture, 0, 1)
        eyes = np.maximum(
            _soft_inside(_ellipse_distance(u, v, -0.35, -0.25, 0.16, 0.12), unit),
            _soft_inside(_ellipse_distance(u, v, 0.35, -0.25, 0.16, 0.12), unit),
        )
        face = face * (1 - eyes) + 0.15 * eyes
        mouth = _soft_inside(_ellipse_distance(u, v, 0, 0.45, 0.38, 0.06 + 0.16 * mouth_open), unit)
        face = face * (1 - mouth) + np.array([0.55, 0.08, 0.1]) * mouth
        image = background * (1 - head) + face * head
        frames[t] = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return frames


def write_synthetic_motion_dataset(
    root: str | Path,
    num_train: int = 24,
    num_test: int = 4,
    num_frames: int = 32,
    size: int = 64,
    seed: int = 0,
    video_format: str = "png",
) -> Path:
    """Write synthetic videos in the FOMM layout ``root/{train,test}/<name>``.

    Args:
        root: output folder (created).
        num_train, num_test: videos per split; test videos use seeds no training video uses.
        num_frames, size: per video.
        video_format: ``"png"`` (a folder of frames per video) or ``"mp4"``.

    Returns:
        ``root`` as a Path.
    """
    if video_format not in ("png", "mp4"):
        raise ConfigError(f"video_format must be 'png' or 'mp4', got {video_format!r}")
    root = Path(root)
    for split, count, offset in (("train", num_train, 0), ("test", num_test, 100_000)):
        for index in range(count):
            frames = synthetic_motion_video(num_frames, size, seed=seed * 1_000_003 + offset + index)
            name = f"{split}{index:04d}"
            if video_format == "mp4":
                write_video(root / split / f"{name}.mp4", frames, fps=25.0)
            else:
                for t, frame in enumerate(frames):
                    write_image(root / split / name / f"{t:04d}.png", frame)
    return root
