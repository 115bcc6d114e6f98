"""Realistic face footage from a real photo: a 3D head turned, talking, painted, shaded and filmed.

The subject is scikit-image's astronaut photo, annotated once with dlib's 68 landmarks
(``genlmk/data/subjects/astronaut.yaml``, made by ``scripts/annotate_subject.py``). The photo is
lifted to a height field: an ellipsoidal head whose silhouette runs along the jaw contour, a ridge
along the nose, a flat backdrop around it. The field is a grid mesh textured with the photo (and,
in the marked session, with the template's lines painted onto the texture, so the paint follows
the surface and is hidden where the surface is), turned by yaw, pitch and roll, projected
orthographically and rasterized with PyTorch3D. Talking moves the vertices below the mouth down
and darkens the opening. Frames get Lambert shading from a light fixed in the world (so shading
changes with the pose), a session's light colour and exposure, sensor noise and JPEG.

Coordinates: frame pixels, x right, y down, the top-left image corner at (0, 0), pixel centres at
+0.5 (as in :mod:`genlmk.data.synthetic`). 3D head coordinates are photo pixels relative to the
head centre, with z towards the camera.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import torch
import yaml

from genlmk.data.images import write_image
from genlmk.data.landmark_csv import write_landmark_csv
from genlmk.data.synthetic import FootageCounts
from genlmk.data.video import write_video
from genlmk.errors import InputDataError
from genlmk.template import load_template
from genlmk.template.template import Template

SUBJECT_FILE = Path(__file__).with_name("subjects") / "astronaut.yaml"
_GRID = 81  # mesh vertices per side; PyTorch3D's CPU rasterizer costs faces x pixels
_SUPERSAMPLE = 1  # render at this multiple of the frame size (1: the CPU rasterizer is slow)
_NEAR_CELLS = (
    1  # a landmark is visible where its pixel shows the surface within this many grid cells (+ a pixel)
)
_SETTINGS = "synth_photo.json"
_MOUTH_DARK = np.array([0.16, 0.07, 0.07])  # mouth interior, RGB in [0, 1]


@dataclass(frozen=True)
class Session:
    """How one capture session films the subject (the marked and unmarked clips differ in all of it).

    Attributes:
        light_color: (3,) RGB gain of the light.
        exposure: overall gain.
        scale: framing zoom about the face (1: the face box fills ``1 / 1.9`` of the frame),
            +- ``scale_jitter``.
        shift: (2,) framing offset, fraction of the frame, +- ``shift_jitter`` per axis.
        light_direction: (3,) direction towards the light in view space (x right, y down, z to camera).
        ambient: share of light that does not depend on the surface normal.
    """

    light_color: tuple[float, float, float]
    exposure: float
    scale: float
    scale_jitter: float
    shift: tuple[float, float]
    shift_jitter: float
    light_direction: tuple[float, float, float]
    ambient: float = 0.45


MARKED_SESSION = Session((1.08, 1.0, 0.86), 1.05, 1.05, 0.06, (0.02, -0.02), 0.04, (-0.5, -0.4, 1.0))
UNMARKED_SESSION = Session((0.88, 0.98, 1.12), 0.88, 0.92, 0.08, (-0.03, 0.03), 0.05, (0.6, -0.2, 1.0))


@dataclass(frozen=True)
class HeadPose:
    """One frame's head pose and expression: angles in degrees, ``mouth`` opening in [0, 1],
    framing ``scale`` and ``shift`` (2,) as a fraction of the frame."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    mouth: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class PoseRange:
    """Largest head turn (degrees, +-) and mouth opening drawn for random frames."""

    yaw: float = 25.0
    pitch: float = 12.0
    roll: float = 10.0
    mouth: float = 1.0


@dataclass(frozen=True)
class Frame:
    """A rendered frame: ``image`` (S, S, 3) uint8 RGB, ``landmarks`` (N, 2) pixels, ``visible`` (N,) bool."""

    image: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray


def load_subject_points(path: Path = SUBJECT_FILE) -> np.ndarray:
    """The stored 68-point annotation, (68, 2) photo pixels in the order of ``templates/face.yaml``.

    Raises:
        InputDataError: the file is missing or its names differ from the face template's.
    """
    try:
        data = yaml.safe_load(path.read_text())
        names = [row["name"] for row in data["landmarks"]]
        points = np.array([[row["x"], row["y"]] for row in data["landmarks"]], dtype=np.float64)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise InputDataError(f"{path}: not a subject annotation ({exc})") from None
    if tuple(names) != load_template("face").names:
        raise InputDataError(f"{path}: landmark names differ from templates/face.yaml")
    return points


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation of head coordinates (x right, y down, z to camera), angles in degrees:
    yaw about y (positive turns the face towards image right), pitch about x, roll about z."""
    a, b, c = np.deg2rad([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


class PhotoFace:
    """The astronaut's head as a textured height-field mesh, rendered at ``size`` pixels.

    Args:
        size: frame width and height in pixels.
        noise: sensor noise standard deviation, fraction of 255.
        jpeg: JPEG quality range ``(low, high)`` per frame; ``None`` skips JPEG.
    """

    def __init__(
        self, size: int = 128, noise: float = 0.015, jpeg: tuple[int, int] | None = (70, 95)
    ) -> None:
        from skimage import data

        self.size = size
        self.noise = noise
        self.jpeg = jpeg
        self.points = load_subject_points()
        photo = data.astronaut().astype(np.float32) / 255.0
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        self.face_box = float(max(hi - lo))
        self.view_center = 0.5 * (lo + hi)
        self.view_side = 1.9 * self.face_box  # photo pixels the frame shows at framing scale 1
        # the mesh covers more than the frame, so zoom, shift and turns do not reach its edge
        side = 2.0 * self.view_side
        self.mesh_origin = self.view_center - side / 2
        self.mesh_side = side
        self.texture = self._crop(photo, round(side))
        self._fit_depth()
        self._build_grid()
        self.template = self._frame_template()

    # ------------------------------------------------------------------ the subject
    def _crop(self, photo: np.ndarray, pixels: int) -> np.ndarray:
        """The photo's square around the face, (pixels, pixels, 3), edge-replicated outside the photo."""
        scale = pixels / self.mesh_side
        matrix = np.array(
            [[scale, 0, -self.mesh_origin[0] * scale], [0, scale, -self.mesh_origin[1] * scale]]
        )
        # warpAffine maps pixel centres; with a pure scale+shift in corner coordinates this is exact
        matrix[:, 2] += 0.5 * scale - 0.5
        return cv2.warpAffine(
            photo, matrix, (pixels, pixels), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    def _fit_depth(self) -> None:
        """Ellipsoid and nose ridge from the annotation (photo pixels)."""
        p = self.points
        self.head_center = np.array([(p[0, 0] + p[16, 0]) / 2, (p[0, 1] + p[16, 1]) / 2])
        self.half_width = 1.0 * (p[16, 0] - p[0, 0]) / 2
        self.half_below = 1.0 * (p[8, 1] - self.head_center[1])
        self.half_above = 1.7 * self.half_below
        self.head_depth = 1.1 * self.half_width
        self.nose_top, self.nose_tip = p[27], p[30]
        self.nose_height = 0.35 * self.half_width
        self.nose_sigma = 0.11 * self.half_width
        self.mouth_y = float(0.5 * (p[62, 1] + p[66, 1]))
        self.mouth_x = (float(p[48, 0]), float(p[54, 0]))
        self.chin_y = float(p[8, 1])
        self.max_drop = 0.10 * self.half_below

    def depth(self, xy: np.ndarray) -> np.ndarray:
        """Height above the backdrop of (M, 2) photo points -> (M,) photo pixels."""
        d = (xy - self.head_center) / np.array([self.half_width, 1.0])
        half = np.where(d[:, 1] < 0, self.half_above, self.half_below)
        r2 = d[:, 0] ** 2 + (d[:, 1] / half) ** 2
        head = self.head_depth * np.sqrt(np.clip(1.0 - r2, 0.0, None))
        axis = self.nose_tip - self.nose_top
        t = np.clip((xy - self.nose_top) @ axis / (axis @ axis), 0.0, 1.0)
        across = np.linalg.norm(xy - (self.nose_top + t[:, None] * axis), axis=1)
        beyond = np.linalg.norm(xy - self.nose_tip, axis=1) * ((xy - self.nose_tip) @ axis > 0)
        ridge = (
            self.nose_height * (0.25 + 0.75 * t) * np.exp(-0.5 * ((across + beyond) / self.nose_sigma) ** 2)
        )
        return head + ridge

    def mouth_drop(self, xy: np.ndarray, mouth: float) -> tuple[np.ndarray, np.ndarray]:
        """How far the jaw moves (M, 2) photo points down, and how much of each is mouth interior (M,).

        Points below the lips' meeting line move down with the jaw (fading beside the mouth and
        below the chin); a band on the line stretches open and is coloured as the inside of the mouth.
        """
        x, y = xy[:, 0], xy[:, 1]
        band = 0.04 * self.half_below
        below = np.clip((y - self.mouth_y + band) / (2 * band), 0.0, 1.0)
        fade = np.clip(1.0 - (y - self.chin_y) / (0.6 * self.half_below), 0.0, 1.0)
        across = np.clip(1.0 - ((x - self.head_center[0]) / self.half_width) ** 2, 0.0, 1.0)
        drop = mouth * self.max_drop * below * fade * across
        left, right = self.mouth_x
        inside = np.clip(1.0 - np.abs((x - (left + right) / 2) / ((right - left) / 2)) ** 4, 0.0, 1.0)
        interior = inside * np.exp(-0.5 * ((y - self.mouth_y) / band) ** 2) * min(1.0, 2.0 * mouth)
        return drop, interior

    def _build_grid(self) -> None:
        t = (np.arange(_GRID) + 0.5) / _GRID  # vertex positions as fractions of the mesh side
        gx, gy = np.meshgrid(t, t)
        self.grid_uv = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self.grid_xy = self.mesh_origin + self.grid_uv * self.mesh_side
        i = np.arange(_GRID - 1)
        a = (i[:, None] * _GRID + i[None, :]).ravel()
        quads = np.stack([a, a + 1, a + _GRID, a + _GRID + 1], axis=1)
        self.faces = np.concatenate([quads[:, [0, 2, 1]], quads[:, [1, 2, 3]]])

    def surface(self, xy: np.ndarray, mouth: float) -> tuple[np.ndarray, np.ndarray]:
        """(M, 3) head-coordinate points of (M, 2) photo points with the jaw opened, and (M,) interior."""
        drop, interior = self.mouth_drop(xy, mouth)
        z = self.depth(xy)
        moved = np.stack([xy[:, 0] - self.head_center[0], xy[:, 1] + drop - self.head_center[1], z], axis=1)
        return moved, interior

    # ------------------------------------------------------------------ the camera
    def frame_scale(self, pose: HeadPose) -> float:
        """Frame pixels per photo pixel."""
        return self.size / self.view_side * pose.scale

    def project(self, points: np.ndarray, pose: HeadPose) -> tuple[np.ndarray, np.ndarray]:
        """(M, 3) head points -> (M, 2) frame pixels and (M,) depth towards the camera (photo pixels)."""
        turned = points @ rotation_matrix(pose.yaw, pose.pitch, pose.roll).T
        k = self.frame_scale(pose)
        offset = self.head_center - self.view_center
        xy = (turned[:, :2] + offset) * k + self.size / 2 + np.asarray(pose.shift) * self.size
        return xy, turned[:, 2]

    def neutral_landmarks(self, pose: HeadPose = HeadPose()) -> np.ndarray:
        """The stored annotation placed in the frame by ``pose``'s framing alone, (68, 2) pixels."""
        k = self.frame_scale(pose)
        return (self.points - self.view_center) * k + self.size / 2 + np.asarray(pose.shift) * self.size

    def _frame_template(self) -> Template:
        face = load_template("face")
        marker = replace(face.marker, width=face.marker.width * self.size / face.width)
        return replace(face, size=(self.size, self.size), points=self.neutral_landmarks(), marker=marker)

    # ------------------------------------------------------------------ drawing
    @cached_property
    def painted_texture(self) -> np.ndarray:
        """The texture with the template's lines painted on it, (T, T, 3) float32 in [0, 1]; painted
        once, since every marked frame shares it."""
        texture = self.texture.copy()
        per_photo_pixel = texture.shape[0] / self.mesh_side
        uv = (self.points - self.mesh_origin) * per_photo_pixel
        color = np.array(self.template.marker.color, dtype=np.float32) / 255.0
        # the stroke is as wide on the skin as the template's stroke in a frontal frame at scale 1
        width = self.template.marker.width / self.frame_scale(HeadPose()) * per_photo_pixel
        shift = 4
        for line in self.template.lines:
            pts = np.round((uv[list(line)] - 0.5) * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(texture, [pts], False, color.tolist(), max(1, round(width)), cv2.LINE_AA, shift)
        return texture

    def render(
        self,
        pose: HeadPose,
        session: Session,
        marked: bool,
        rng: np.random.Generator,
        photometric: bool = True,
    ) -> Frame:
        """Draw one frame of ``pose`` as ``session`` films it (``photometric=False``: no shading,
        light colour, noise or JPEG, i.e. the plain textured surface)."""
        from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
        from pytorch3d.structures import Meshes

        big = self.size * _SUPERSAMPLE
        vertices, interior = self.surface(self.grid_xy, pose.mouth)
        xy, z = self.project(vertices, pose)
        # a tiny blur radius closes the cracks along shared edges through pixel centres
        # PyTorch3D's NDC: +x left, +y up, pixel centres at 1 - (2i + 1) / size; smaller z is nearer
        ndc = np.stack(
            [1 - 2 * xy[:, 0] / self.size, 1 - 2 * xy[:, 1] / self.size, 10 - z / self.mesh_side], 1
        )
        # the CPU rasterizer has no binning and tests every face at every pixel, and the mesh
        # reaches well beyond the frame: only faces whose box meets the frame go to it (in their
        # order, so depth ties resolve as with the whole mesh)
        kept = self._faces_in_frame(ndc[:, :2])
        device = "cuda" if torch.cuda.is_available() else "cpu"
        mesh = Meshes([torch.tensor(ndc, dtype=torch.float32)], [torch.tensor(self.faces[kept])]).to(device)
        pix_to_face, _, bary, _ = rasterize_meshes(mesh, big, blur_radius=1e-6, faces_per_pixel=1, bin_size=0)
        pix_to_face, bary = pix_to_face.cpu(), bary.cpu()
        local = pix_to_face[0, ..., 0].numpy()
        face = np.where(local >= 0, kept[np.maximum(local, 0)], -1)
        covered = face >= 0
        corners = self.faces[np.where(covered, face, 0)]  # (H, W, 3) vertex ids
        weights = bary[0, :, :, 0].numpy()[..., None]

        def interpolate(values: np.ndarray) -> np.ndarray:
            return (values[corners] * weights).sum(axis=2)

        uv = interpolate(self.grid_uv)
        texture = self.painted_texture if marked else self.texture
        image = cv2.remap(
            texture,
            (uv[..., 0] * texture.shape[1] - 0.5).astype(np.float32),
            (uv[..., 1] * texture.shape[0] - 0.5).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        mouth = interpolate(interior[:, None])
        image = image * (1 - mouth) + _MOUTH_DARK * mouth
        if photometric:
            normals = self._normals(vertices) @ rotation_matrix(pose.yaw, pose.pitch, pose.roll).T
            light = np.asarray(session.light_direction) / np.linalg.norm(session.light_direction)
            shade = session.ambient + (1 - session.ambient) * np.clip(normals @ light, 0.0, None)
            image = image * interpolate(shade[:, None])
        image = np.where(covered[..., None], image, image.mean(axis=(0, 1)))
        image = cv2.resize(image.astype(np.float32), (self.size, self.size), interpolation=cv2.INTER_AREA)

        landmarks, visible = self._landmarks(pose, face)
        if photometric:
            image = self._capture(image, session, rng)
        else:
            image = np.clip(image * 255.0, 0, 255).round().astype(np.uint8)
        return Frame(image, landmarks, visible)

    def _faces_in_frame(self, ndc_xy: np.ndarray) -> np.ndarray:
        """Indices (K,) of the faces whose bounding box meets the frame, ascending.

        Args:
            ndc_xy: (V, 2) vertex positions in PyTorch3D's NDC (the frame spans [-1, 1] on both axes).
        """
        corners = ndc_xy[self.faces]  # (F, 3, 2)
        margin = 2.0 / (self.size * _SUPERSAMPLE)  # a pixel, beyond the blur radius
        inside = (corners.min(axis=1) <= 1 + margin).all(axis=1) & (corners.max(axis=1) >= -1 - margin).all(
            axis=1
        )
        return np.flatnonzero(inside)

    def _normals(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 3) unit normals of the grid surface, facing the camera in the neutral pose."""
        grid = vertices.reshape(_GRID, _GRID, 3)
        du = np.gradient(grid, axis=1)
        dv = np.gradient(grid, axis=0)
        n = np.cross(dv, du).reshape(-1, 3)
        return n / np.linalg.norm(n, axis=1, keepdims=True)

    def _landmarks(self, pose: HeadPose, pix_to_face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Projected landmarks (68, 2) and whether each shows: the surface seen at its pixel (or a
        neighbouring one) is the landmark's own stretch of the grid, not a nearer part in front of it
        nor nothing (the surface turned away)."""
        points, _ = self.surface(self.points, pose.mouth)
        xy, _ = self.project(points, pose)
        cell = np.floor((self.points - self.mesh_origin) / self.mesh_side * _GRID - 0.5).astype(int)
        # a pixel spans this many grid cells: surface that far along the grid is still the landmark's own
        reach = _NEAR_CELLS + int(np.ceil(_GRID / (self.mesh_side * self.frame_scale(pose) * _SUPERSAMPLE)))
        big = pix_to_face.shape[0]
        col = np.clip(np.floor(xy[:, 0] * _SUPERSAMPLE).astype(int), 0, big - 1)
        row = np.clip(np.floor(xy[:, 1] * _SUPERSAMPLE).astype(int), 0, big - 1)
        seen = pix_to_face[row, col]
        quad = seen % (_GRID - 1) ** 2
        near = (np.abs(quad // (_GRID - 1) - cell[:, 1]) <= reach) & (
            np.abs(quad % (_GRID - 1) - cell[:, 0]) <= reach
        )
        visible = (seen >= 0) & near
        return xy, visible

    def _capture(self, image: np.ndarray, session: Session, rng: np.random.Generator) -> np.ndarray:
        """Light colour, exposure, sensor noise and JPEG: (S, S, 3) float in [0, 1] -> uint8."""
        gain = np.asarray(session.light_color) * session.exposure * rng.uniform(0.95, 1.05)
        image = image * gain * 255.0 + rng.normal(0.0, self.noise * 255.0, size=image.shape)
        image = np.clip(image, 0, 255).round().astype(np.uint8)
        if self.jpeg is None:
            return image
        quality = int(rng.integers(self.jpeg[0], self.jpeg[1] + 1))
        _, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].copy()

    # ------------------------------------------------------------------ poses
    def random_pose(self, rng: np.random.Generator, session: Session, motion: PoseRange) -> HeadPose:
        """An independent pose: uniform turns, mouth open in half the frames, the session's framing."""
        u = rng.uniform(-1.0, 1.0, size=6)
        return HeadPose(
            yaw=motion.yaw * u[0],
            pitch=motion.pitch * u[1],
            roll=motion.roll * u[2],
            mouth=motion.mouth * max(0.0, u[3]),
            scale=session.scale * (1 + session.scale_jitter * rng.uniform(-1, 1)),
            shift=tuple(np.asarray(session.shift) + session.shift_jitter * u[4:6]),
        )

    def clip_poses(
        self, rng: np.random.Generator, session: Session, motion: PoseRange, frames: int, moving: bool
    ) -> list[HeadPose]:
        """A clip's poses: a head turning through the full yaw range while talking, or one still pose."""
        if not moving:
            return [HeadPose(scale=session.scale, shift=session.shift)] * frames
        t = np.arange(frames) / 25.0
        phase = rng.uniform(0, 2 * np.pi, size=4)
        return [
            HeadPose(
                yaw=motion.yaw * np.sin(2 * np.pi * 0.25 * s + phase[0]),
                pitch=0.6 * motion.pitch * np.sin(2 * np.pi * 0.17 * s + phase[1]),
                roll=0.6 * motion.roll * np.sin(2 * np.pi * 0.11 * s + phase[2]),
                mouth=motion.mouth * max(0.0, np.sin(2 * np.pi * 1.5 * s + phase[3])),
                scale=session.scale,
                shift=session.shift,
            )
            for s in t
        ]


@dataclass(frozen=True)
class PhotoSynthConfig(FootageCounts):
    """What ``genlmk synth --subject photo-face`` writes: :class:`FootageCounts` and

    Attributes:
        motion: head-turn and mouth ranges.
    """

    noise: float = 0.015
    motion: PoseRange = field(default_factory=PoseRange)

    subject: ClassVar[str] = "photo-face dataset"


def write_visibility_csv(path: Path, visible: np.ndarray, names: tuple[str, ...]) -> None:
    """(F, N) bool flags as long-format CSV ``frame,name,visible`` (1 visible, 0 hidden)."""
    rows = ["frame,name,visible"]
    rows += [
        f"{f},{names[n]},{int(visible[f, n])}"
        for f in range(visible.shape[0])
        for n in range(visible.shape[1])
    ]
    path.write_text("\n".join(rows) + "\n")


def visibility_path(gt_path: str | Path) -> Path:
    """The visibility CSV written beside a ground-truth CSV: ``<set>_gt.csv`` -> ``<set>_visible.csv``."""
    gt_path = Path(gt_path)
    return gt_path.with_name(gt_path.name.removesuffix("_gt.csv") + "_visible.csv")


def read_visibility_csv(path: str | Path, names: list[str], frames: list[int]) -> np.ndarray:
    """Read ``frame,name,visible`` flags as (F, N) bool, rows in ``frames`` order, columns in ``names``.

    Raises:
        InputDataError: the file is unreadable, lacks the columns, or misses a frame or landmark.
    """
    path = Path(path)
    column = {name: n for n, name in enumerate(names)}
    row = {frame: f for f, frame in enumerate(frames)}
    visible = np.zeros((len(frames), len(names)), dtype=bool)
    seen = np.zeros_like(visible)
    try:
        lines = path.read_text().splitlines()
        if not lines or lines[0].strip() != "frame,name,visible":
            raise ValueError("expected the header frame,name,visible")
        for line in lines[1:]:
            frame, name, flag = line.split(",")
            if int(frame) in row and name in column:
                visible[row[int(frame)], column[name]] = flag.strip() == "1"
                seen[row[int(frame)], column[name]] = True
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: not a visibility CSV ({exc})") from None
    if not seen.all():
        f, n = np.argwhere(~seen)[0]
        raise InputDataError(f"{path}: no flag for landmark {names[n]!r} of frame {frames[f]}")
    return visible


def load_photo_face_dataset(folder: str | Path) -> tuple[PhotoFace, PhotoSynthConfig]:
    """The subject and settings of a folder :func:`write_photo_face_dataset` wrote (its
    ``synth_photo.json``); :func:`genlmk.data.synthetic.load_synthetic_dataset` hands such folders here.

    Raises:
        InputDataError: ``synth_photo.json`` is missing or not the settings file this module writes.
    """
    path = Path(folder) / _SETTINGS
    if not path.is_file():
        raise InputDataError(
            f"{path}: not found; not a folder written by `genlmk synth --subject photo-face`"
        )
    try:
        settings = json.loads(path.read_text())
        settings.pop("subject", None)
        config = PhotoSynthConfig(**{**settings, "motion": PoseRange(**settings["motion"])})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputDataError(f"{path}: not photo-face dataset settings ({exc})") from None
    return PhotoFace(config.size, config.noise), config


def write_photo_face_dataset(out: str | Path, config: PhotoSynthConfig | None = None) -> dict:
    """Write the realistic face benchmark to ``out`` in the layout of
    :func:`genlmk.data.synthetic.write_synthetic_dataset` (``train_marked/`` from the marked session;
    ``train_unmarked/``, ``test/`` and the clips from the unmarked one; ``<set>_gt.csv``;
    ``template.yaml`` at frame size), plus ``<set>_visible.csv`` and ``synth_photo.json``.
    ``clip_smooth`` is the head-turn + talking clip.

    Returns:
        A summary: frame counts per set.
    """
    config = config or PhotoSynthConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subject = PhotoFace(config.size, config.noise)
    rng = np.random.default_rng(config.seed + 1)
    names = subject.template.names
    summary: dict = {}

    def save_truth(name: str, frames: list[Frame]) -> None:
        write_landmark_csv(out / f"{name}_gt.csv", np.stack([f.landmarks for f in frames]), names)
        write_visibility_csv(out / f"{name}_visible.csv", np.stack([f.visible for f in frames]), names)
        summary[name] = len(frames)

    folders = (
        ("train_marked", config.train_marked, MARKED_SESSION, True),
        ("train_unmarked", config.train_unmarked, UNMARKED_SESSION, False),
        ("test", config.test, UNMARKED_SESSION, False),
    )
    for folder, count, session, marked in folders:
        (out / folder).mkdir(exist_ok=True)
        frames = [
            subject.render(subject.random_pose(rng, session, config.motion), session, marked, rng)
            for _ in range(count)
        ]
        for i, frame in enumerate(frames):
            write_image(out / folder / f"{i:06d}.png", frame.image)
        save_truth(folder, frames)

    clips = (
        ("clip_smooth", config.clip_frames, True),
        ("clip_static", config.clip_frames, False),
        ("train_unmarked_video", config.train_video or config.train_unmarked, True),
    )
    for clip, count, moving in clips:
        poses = subject.clip_poses(rng, UNMARKED_SESSION, config.motion, count, moving)
        frames = [subject.render(pose, UNMARKED_SESSION, False, rng) for pose in poses]
        write_video(out / f"{clip}.mp4", [f.image for f in frames], fps=config.fps)
        save_truth(clip, frames)

    subject.template.save(out / "template.yaml")
    (out / _SETTINGS).write_text(json.dumps({"subject": "photo-face", **asdict(config)}, indent=2))
    return summary
