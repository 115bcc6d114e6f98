"""Synthetic footage with ground truth, for tests, the demo and the benchmark.

A textured subject is built from a template: a skin-coloured region around the template, darker
creases drawn along every template line, closed lines filled (eyes, lips, nails...). Each frame
moves the subject by a known smooth deformation (rotation, scale, shift and a low-frequency
non-rigid field), changes the lighting, adds sensor noise; *marked* frames also carry paint strokes
of the template's marker colour along the deformed lines. The ground-truth landmarks are the
deformed template points, in pixels of the frame.

Everything is drawn at ``SUPERSAMPLE`` times the frame size and area-averaged down, so strokes
sit at sub-pixel accurate positions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np
from tqdm import tqdm

from genlmk.data.images import write_image
from genlmk.data.landmark_csv import write_landmark_csv
from genlmk.data.video import write_video
from genlmk.errors import ConfigError, InputDataError
from genlmk.template.template import Template

if TYPE_CHECKING:  # realistic_face is imported only when a photo-face folder is loaded
    from genlmk.data.realistic_face import PhotoFace, PhotoSynthConfig

SUPERSAMPLE = 4
_SHIFT_BITS = 4  # OpenCV fixed-point sub-pixel drawing
_WARP_TERMS = 3
_SETTINGS = "synth.json"  # the config write_synthetic_dataset used, beside its output


@dataclass(frozen=True)
class MotionRange:
    """How far a frame's deformation may stray from the template.

    Attributes:
        rotation_deg: rotation about the template centre, degrees (+-).
        scale: relative scale change (+-).
        shift: translation as a fraction of the frame size (+-, per axis).
        warp: amplitude of the smooth non-rigid field, fraction of the frame size.
    """

    rotation_deg: float = 12.0
    scale: float = 0.10
    shift: float = 0.07
    warp: float = 0.012


@dataclass(frozen=True)
class FootageCounts:
    """How much footage a synthetic subject writes, shared by every subject's config.

    Attributes:
        size: frame width and height in pixels (the template is rescaled to it).
        train_marked, train_unmarked, test: frame counts of the three image folders.
        train_video: frames of the unmarked training video (default: ``train_unmarked``). It is
            drawn last, so its length leaves the frames and the clips before it unchanged.
        clip_frames: length of the smooth-motion and static clips.
        fps: clip frame rate.
        noise: sensor noise standard deviation, fraction of the 0-255 range.
        seed: everything random derives from it.
    """

    size: int = 128
    train_marked: int = 500
    train_unmarked: int = 500
    test: int = 100
    train_video: int | None = None
    clip_frames: int = 120
    fps: float = 25.0
    noise: float = 0.02
    seed: int = 0

    #: what the one-line error calls the footage
    subject: ClassVar[str] = "synthetic dataset"

    def __post_init__(self) -> None:
        for name in ("train_marked", "train_unmarked", "test", "clip_frames", "train_video"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{self.subject}: {name} must be at least 1 frame, got {value}")


@dataclass(frozen=True)
class SynthConfig(FootageCounts):
    """What ``genlmk synth`` writes for the cartoon subject: :class:`FootageCounts` and

    Attributes:
        motion: deformation ranges.
    """

    motion: MotionRange = field(default_factory=MotionRange)


@dataclass(frozen=True)
class Pose:
    """One frame's deformation: ``angle`` (rad), ``scale``, ``shift`` (2,) pixels and
    ``warp`` (_WARP_TERMS, 2) pixel amplitudes of the non-rigid field."""

    angle: float
    scale: float
    shift: np.ndarray
    warp: np.ndarray


@dataclass(frozen=True)
class Lighting:
    """One frame's photometric change: ``gain`` (3,) per RGB channel, ``gamma``, and the
    (2,) ``direction`` (x, y) of a linear light ramp across the frame (+-8 % per unit length)."""

    gain: np.ndarray
    gamma: float
    direction: np.ndarray


class SyntheticSubject:
    """A person-specific synthetic subject for one template, at one frame size.

    The subject's look (skin colour and texture, crease and fill colours, background) is fixed
    by ``seed``; frames differ by pose, lighting and noise.
    """

    def __init__(self, template: Template, size: int, noise: float = 0.02, seed: int = 0) -> None:
        self.template = template.rescaled((size, size))
        self.size = size
        self.noise = noise
        rng = np.random.default_rng(seed)
        self.center = np.array([size / 2.0, size / 2.0])
        self.skin = rng.uniform([170, 120, 95], [230, 180, 150])
        self.crease_colors = [self.skin * rng.uniform(0.45, 0.7) for _ in self.template.lines]
        palette = np.array([[236, 232, 226], [168, 58, 70], [120, 78, 62], [210, 150, 140]], dtype=float)
        self.fill_colors = [palette[rng.integers(len(palette))] for _ in self.template.lines]
        big = size * SUPERSAMPLE
        self.skin_texture = _smooth_noise(rng, big, scale=big / 10, amplitude=0.12)
        background = _smooth_noise(rng, big, scale=big / 6, amplitude=0.35)[..., None]
        tint = rng.uniform(60, 140, size=3)
        self.background = np.clip(tint * (1.0 + background), 0, 255)
        self.warp_freq = rng.normal(size=(_WARP_TERMS, 2)) * (2 * np.pi / size)
        self.warp_phase = rng.uniform(0, 2 * np.pi, size=(_WARP_TERMS, 2))
        self.segments = [self._dense_line(line) for line in self.template.lines]

    # --------------------------------------------------------------- geometry
    def _dense_line(self, line: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(indices, weights) sampling a line about every half pixel, as rows of landmark blends."""
        rows = []
        for a, b in pairwise(line):
            length = np.linalg.norm(self.template.points[b] - self.template.points[a])
            for t in np.linspace(0.0, 1.0, max(2, int(np.ceil(length * 2))), endpoint=False):
                rows.append((a, b, t))
        rows.append((line[-1], line[-1], 0.0))
        rows = np.array(rows)
        return rows[:, :2].astype(int), rows[:, 2]

    def deform(self, points: np.ndarray, pose: Pose) -> np.ndarray:
        """Apply ``pose`` to (M, 2) canonical pixel points -> (M, 2) frame pixels."""
        c, s = np.cos(pose.angle), np.sin(pose.angle)
        rotation = np.array([[c, -s], [s, c]])
        moved = (points - self.center) @ rotation.T * pose.scale + self.center + pose.shift
        # low-frequency non-rigid field: each axis a sum of plane waves
        field = np.zeros_like(points)
        for k in range(_WARP_TERMS):
            phase = points @ self.warp_freq[k]
            field += pose.warp[k] * np.sin(phase[:, None] + self.warp_phase[k])
        return moved + field

    def random_pose(self, rng: np.random.Generator, motion: MotionRange) -> Pose:
        u = rng.uniform(-1.0, 1.0, size=4 + 2 * _WARP_TERMS)
        return self._pose_from_unit(u, motion)

    def _pose_from_unit(self, u: np.ndarray, motion: MotionRange) -> Pose:
        """A pose from parameters in [-1, 1]."""
        return Pose(
            angle=np.deg2rad(motion.rotation_deg) * u[0],
            scale=1.0 + motion.scale * u[1],
            shift=motion.shift * self.size * u[2:4],
            warp=motion.warp * self.size * u[4:].reshape(_WARP_TERMS, 2),
        )

    def clip_poses(
        self, rng: np.random.Generator, motion: MotionRange, frames: int, moving: bool
    ) -> list[Pose]:
        """Poses of a clip: smooth sinusoidal motion, or one fixed pose (``moving=False``)."""
        count = 4 + 2 * _WARP_TERMS
        if not moving:
            u = rng.uniform(-0.5, 0.5, size=count)
            return [self._pose_from_unit(u, motion)] * frames
        periods = rng.uniform(40, 120, size=count)
        phases = rng.uniform(0, 2 * np.pi, size=count)
        amplitude = rng.uniform(0.5, 0.9, size=count)
        t = np.arange(frames)[:, None]
        return [
            self._pose_from_unit(row, motion) for row in amplitude * np.sin(2 * np.pi * t / periods + phases)
        ]

    # --------------------------------------------------------------- drawing
    def render(
        self,
        pose: Pose,
        rng: np.random.Generator,
        marked: bool,
        lighting: Lighting | None = None,
        noise: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one frame.

        Args:
            pose: the deformation.
            rng: draws the paint's variation, the lighting (unless given) and the sensor noise.
            marked: whether paint strokes run along the lines.
            lighting: a fixed lighting (e.g. the same for every frame of a clip); default: a new
                random one (:meth:`random_lighting`) per frame, as in every dataset ``genlmk synth`` writes.
            noise: whether to add sensor noise.

        Returns:
            image: (size, size, 3) uint8 RGB.
            landmarks: (N, 2) ground-truth pixels.
        """
        ss = SUPERSAMPLE
        big = self.size * ss
        landmarks = self.deform(self.template.points, pose)
        lines = [self._line_points(landmarks, indices, weights) for indices, weights in self.segments]

        canvas = self.background.copy()
        # skin: the convex hull of the subject grown by a margin, textured in subject coordinates
        mask = np.zeros((big, big), np.uint8)
        hull = cv2.convexHull(_fixed(np.concatenate(lines) * ss))
        cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_AA, _SHIFT_BITS)
        margin = int(0.07 * big * pose.scale)
        cv2.polylines(mask, [hull], True, 255, 2 * margin, cv2.LINE_AA, _SHIFT_BITS)
        alpha = cv2.GaussianBlur(mask, (0, 0), ss * 0.6).astype(float)[..., None] / 255.0
        texture = self._texture_in_frame(pose)
        skin = np.clip(self.skin * (1.0 + texture[..., None]), 0, 255)
        canvas = canvas * (1 - alpha) + skin * alpha

        width = self.template.marker.width * ss
        for k, points in enumerate(lines):
            if self.template.is_closed(k):
                cv2.fillPoly(
                    canvas, [_fixed(points * ss)], self.fill_colors[k].tolist(), cv2.LINE_AA, _SHIFT_BITS
                )
            thickness = max(1, round(1.6 * width))
            cv2.polylines(
                canvas,
                [_fixed(points * ss)],
                False,
                self.crease_colors[k].tolist(),
                thickness,
                cv2.LINE_AA,
                _SHIFT_BITS,
            )
        if marked:
            paint = np.array(self.template.marker.color, dtype=float) * rng.uniform(0.92, 1.05)
            thickness = max(1, round(width * rng.uniform(0.9, 1.1)))
            for points in lines:
                cv2.polylines(
                    canvas, [_fixed(points * ss)], False, paint.tolist(), thickness, cv2.LINE_AA, _SHIFT_BITS
                )

        image = cv2.resize(canvas.astype(np.float32), (self.size, self.size), interpolation=cv2.INTER_AREA)
        return self._photometric(image, rng, lighting or self.random_lighting(rng), noise), landmarks

    def render_clip(
        self,
        poses: Iterable[Pose],
        rng: np.random.Generator,
        lighting: Lighting | None = None,
        noise: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unmarked frames of ``poses``, in order: (F, size, size, 3) uint8 RGB and (F, N, 2)
        ground-truth pixels. ``lighting`` and ``noise`` as in :meth:`render` (a new lighting per frame
        by default, as in the clips ``genlmk synth`` writes)."""
        drawn = [self.render(pose, rng, marked=False, lighting=lighting, noise=noise) for pose in poses]
        frames, truth = zip(*drawn, strict=True)
        return np.stack(frames), np.stack(truth)

    def _line_points(self, landmarks: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
        a, b = landmarks[indices[:, 0]], landmarks[indices[:, 1]]
        return a + weights[:, None] * (b - a)

    def _texture_in_frame(self, pose: Pose) -> np.ndarray:
        """The canonical skin texture carried along by the pose's similarity part."""
        ss = SUPERSAMPLE
        c, s = np.cos(pose.angle) * pose.scale, np.sin(pose.angle) * pose.scale
        center = self.center * ss
        linear = np.array([[c, -s], [s, c]])
        offset = center + pose.shift * ss - linear @ center
        matrix = np.hstack([linear, offset[:, None]])
        big = self.size * ss
        return cv2.warpAffine(self.skin_texture, matrix, (big, big), borderMode=cv2.BORDER_REFLECT)

    @staticmethod
    def random_lighting(rng: np.random.Generator) -> Lighting:
        """A lighting as ``render`` draws one per frame: overall gain 0.85-1.15 with +-5 % per channel,
        gamma 0.9-1.1, a light ramp in a random direction."""
        gain = rng.uniform(0.85, 1.15) * rng.uniform(0.95, 1.05, size=3)
        gamma = rng.uniform(0.9, 1.1)
        return Lighting(gain=gain, gamma=gamma, direction=rng.normal(size=2))

    def _photometric(
        self, image: np.ndarray, rng: np.random.Generator, lighting: Lighting, noise: bool
    ) -> np.ndarray:
        ramp = np.linspace(-1, 1, self.size)
        direction = lighting.direction
        light = 1.0 + 0.08 * (direction[0] * ramp[None, :] + direction[1] * ramp[:, None])
        image = 255.0 * (np.clip(image * lighting.gain * light[..., None], 0, 255) / 255.0) ** lighting.gamma
        if noise:
            image = image + rng.normal(0.0, self.noise * 255.0, size=image.shape)
        return np.clip(image, 0, 255).round().astype(np.uint8)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel points (corner origin) -> OpenCV fixed-point (centre origin), shape (M, 1, 2) int32."""
    return np.round((points - 0.5) * (1 << _SHIFT_BITS)).astype(np.int32).reshape(-1, 1, 2)


def _smooth_noise(rng: np.random.Generator, size: int, scale: float, amplitude: float) -> np.ndarray:
    """Band-limited noise field (size, size) with values about +-amplitude."""
    noise = cv2.GaussianBlur(rng.normal(size=(size, size)).astype(np.float32), (0, 0), scale / 3)
    return (amplitude * noise / (np.abs(noise).max() + 1e-8)).astype(np.float32)


def write_synthetic_dataset(template: Template, out: str | Path, config: SynthConfig | None = None) -> dict:
    """Write the synthetic benchmark to ``out``:

    - ``train_marked/``, ``train_unmarked/``: unpaired PNG frames (independent poses);
    - ``test/``: held-out unmarked PNG frames;
    - ``clip_smooth.mp4``, ``clip_static.mp4``: unmarked clips (smooth motion; a still subject
      with only lighting noise changing);
    - ``train_unmarked_video.mp4``: unmarked training footage as one smooth-motion video of
      ``train_video`` frames (consecutive frames, for the temporal flow loss);
    - ``<set>_gt.csv`` beside each (``frame,name,x,y``, pixels of its frames);
    - ``template.yaml`` (the template at frame size) and ``synth.json`` (this config).

    Returns:
        A summary: counts and paths.
    """
    config = config or SynthConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subject = SyntheticSubject(template, config.size, config.noise, config.seed)
    rng = np.random.default_rng(config.seed + 1)
    names = subject.template.names
    summary: dict = {}

    folders = (
        ("train_marked", config.train_marked, True),
        ("train_unmarked", config.train_unmarked, False),
        ("test", config.test, False),
    )
    for folder, count, marked in folders:
        (out / folder).mkdir(exist_ok=True)
        truth = []
        for i in tqdm(range(count), desc=f"synth {folder}", leave=False, disable=None):
            image, landmarks = subject.render(subject.random_pose(rng, config.motion), rng, marked)
            write_image(out / folder / f"{i:06d}.png", image)
            truth.append(landmarks)
        write_landmark_csv(out / f"{folder}_gt.csv", np.array(truth), names)
        summary[folder] = count

    clips = (
        ("clip_smooth", config.clip_frames, True),
        ("clip_static", config.clip_frames, False),
        ("train_unmarked_video", config.train_video or config.train_unmarked, True),  # None: default
    )
    for clip, count, moving in clips:
        poses = subject.clip_poses(rng, config.motion, count, moving)
        frames, truth = subject.render_clip(tqdm(poses, desc=f"synth {clip}", disable=None, leave=False), rng)
        write_video(out / f"{clip}.mp4", frames, fps=config.fps)
        write_landmark_csv(out / f"{clip}_gt.csv", truth, names)
        summary[clip] = len(frames)

    subject.template.save(out / "template.yaml")
    (out / _SETTINGS).write_text(json.dumps({"template": template.name, **asdict(config)}, indent=2))
    return summary


def load_synthetic_dataset(
    folder: str | Path,
) -> tuple[SyntheticSubject, SynthConfig] | tuple[PhotoFace, PhotoSynthConfig]:
    """The subject and settings a folder written by ``genlmk synth`` was made with, e.g. to draw
    more footage of the same subject: for the cartoon subject (``synth.json`` and ``template.yaml``)
    a :class:`SyntheticSubject` and :class:`SynthConfig`; for the photo-face subject
    (``synth_photo.json``) a :class:`genlmk.data.realistic_face.PhotoFace` and its
    :class:`~genlmk.data.realistic_face.PhotoSynthConfig`.

    Raises:
        InputDataError: neither settings file is there, or it is not the settings file ``synth`` writes.
        TemplateError: ``template.yaml`` is missing or malformed.
    """
    path = Path(folder) / _SETTINGS
    if not path.is_file():
        from genlmk.data.realistic_face import _SETTINGS as PHOTO_SETTINGS
        from genlmk.data.realistic_face import load_photo_face_dataset

        if (Path(folder) / PHOTO_SETTINGS).is_file():
            return load_photo_face_dataset(folder)
        raise InputDataError(f"{path}: not found; not a folder written by `genlmk synth`")
    try:
        settings = json.loads(path.read_text())
        settings.pop("template", None)
        config = SynthConfig(**{**settings, "motion": MotionRange(**settings["motion"])})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputDataError(f"{path}: not synthetic dataset settings ({exc})") from None
    subject = SyntheticSubject(
        Template.load(Path(folder) / "template.yaml"), config.size, config.noise, config.seed
    )
    return subject, config
