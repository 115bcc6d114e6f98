"""Running a motion-transfer model: load any supported checkpoint, reconstruct and animate videos.

Frames in and out are (H, W, 3) uint8 RGB; inside, the networks see (B, 3, S, S) floats in [0, 1]
at the model's frame size S (256 for the released models), so inputs are resized to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genlmk.checkpoints import KIND_KEY, load_checkpoint, motion_frame_size
from genlmk.data.frames import to_tensor
from genlmk.data.images import resize_rgb
from genlmk.errors import CheckpointError, InputDataError
from genlmk.geometry.keypoints import Keypoints, normalized_shape, relative_keypoints
from genlmk.networks.fomm import (
    KPDetector,
    OcclusionAwareGenerator,
    build_generator,
    build_kp_detector,
    checkpoint_filter_fn,
    infer_model_params,
)

#: released checkpoints work on 256 px frames
RELEASED_FRAME_SIZE = (256, 256)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """A float frame in [0, 1] as uint8 (rounded, clipped)."""
    return (np.clip(frame, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _load_strict(module: torch.nn.Module, state: dict[str, Tensor], path: Path, part: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        details = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        reason = details[0][:200] if details else str(exc)[:200]
        raise CheckpointError(f"{path}: {part} weights do not fit the network: {reason}") from None


def _slice(kp: Keypoints, start: int, stop: int) -> Keypoints:
    return Keypoints(kp.value[start:stop], None if kp.jacobian is None else kp.jacobian[start:stop])


def _expand(kp: Keypoints, count: int) -> Keypoints:
    """A single keypoint set (batch 1) repeated ``count`` times (a view)."""
    jacobian = None if kp.jacobian is None else kp.jacobian.expand(count, -1, -1, -1)
    return Keypoints(kp.value.expand(count, -1, -1), jacobian)


def _cat(parts: Sequence[Keypoints]) -> Keypoints:
    jacobian = None if parts[0].jacobian is None else torch.cat([p.jacobian for p in parts])
    return Keypoints(torch.cat([p.value for p in parts]), jacobian)


@dataclass
class MotionTransfer:
    """A keypoint detector and a generator in eval mode, with the ``frame_size`` = (width, height)
    they work at (every frame is resized to it with :func:`genlmk.data.images.resize_rgb`).

    Build one with :meth:`from_checkpoint`. ``batch_size`` frames go through the networks at once.
    The networks are moved to ``device`` and to the channels-last memory layout (same results,
    faster convolutions on CPU).
    """

    kp_detector: KPDetector
    generator: OcclusionAwareGenerator
    frame_size: tuple[int, int] = RELEASED_FRAME_SIZE
    device: str = "cpu"
    batch_size: int = 4

    def __post_init__(self) -> None:
        for network in (self.kp_detector, self.generator):
            network.to(self.device, memory_format=torch.channels_last).eval()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", batch_size: int = 4) -> MotionTransfer:
        """Load a genlmk motion checkpoint (``genlmk fit``) or a released FOMM ``*.pth.tar``.

        The layout is detected: a genlmk checkpoint carries its configuration; a released one
        does not, so its sizes are read off the weights (:func:`infer_model_params`).

        Raises:
            CheckpointError: unreadable, of another kind, or weights that do not fit.
        """
        path = Path(path)
        checkpoint = load_checkpoint(path)
        kind = checkpoint.get(KIND_KEY)
        if kind not in (None, "motion"):
            raise CheckpointError(
                f"{path}: checkpoint holds a {kind!r} model, but this command needs a 'motion' model"
            )
        try:
            parts = checkpoint_filter_fn(checkpoint)
            if kind == "motion":
                params = checkpoint.get("hyper_parameters", {}).get("model_params")
                if not isinstance(params, dict):
                    raise CheckpointError("genlmk motion checkpoint without hyper_parameters.model_params")
                frame_size = motion_frame_size(checkpoint, RELEASED_FRAME_SIZE)
            else:
                params, frame_size = infer_model_params(parts), RELEASED_FRAME_SIZE
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        kp_detector, generator = build_kp_detector(params), build_generator(params)
        _load_strict(kp_detector, parts["kp_detector"], path, "kp_detector")
        _load_strict(generator, parts["generator"], path, "generator")
        return cls(kp_detector, generator, frame_size, device, batch_size)

    def _batch(self, frames: Sequence[np.ndarray]) -> Tensor:
        batch = torch.stack([to_tensor(resize_rgb(f, self.frame_size)) for f in frames])
        return batch.to(self.device, memory_format=torch.channels_last)

    def prepare(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Frames as the model sees them: resized to ``frame_size`` = (W, H), (N, H, W, 3) uint8."""
        return np.stack([resize_rgb(f, self.frame_size) for f in frames])

    @torch.inference_mode()
    def keypoints(self, frames: Sequence[np.ndarray]) -> Keypoints:
        """Detect keypoints in (H, W, 3) uint8 frames (``batch_size`` at a time).

        Returns:
            Keypoints (N, K, 2) normalized with Jacobians (N, K, 2, 2) or None; no heatmaps. For
            pixels of the frame size use :func:`genlmk.geometry.coordinates.normalized_to_pixels`
            with ``align_corners=True``.
        """
        if not len(frames):
            raise InputDataError("no frames to detect keypoints in")
        chunks = []
        for start in range(0, len(frames), self.batch_size):
            kp = self.kp_detector(self._batch(frames[start : start + self.batch_size]))
            chunks.append(Keypoints(kp.value, kp.jacobian))
        return _cat(chunks)

    @torch.inference_mode()
    def render(self, source: np.ndarray, kp_source: Keypoints, kp_driving: Keypoints) -> Iterator[np.ndarray]:
        """The source animated by each driving keypoint set, in order.

        Args:
            source: (H, W, 3) uint8, resized to the frame size.
            kp_source: keypoints of the source (batch 1); kp_driving: (N, K, 2) driving keypoints.

        Yields:
            N frames (S, S, 3) float32 RGB in [0, 1] (see :func:`to_uint8`).
        """
        source_t = self._batch([source])
        for start in range(0, len(kp_driving.value), self.batch_size):
            driving = _slice(kp_driving, start, start + self.batch_size)
            count = len(driving.value)
            out = self.generator(source_t.expand(count, -1, -1, -1), _expand(kp_source, count), driving)
            yield from out.prediction.permute(0, 2, 3, 1).float().cpu().numpy()

    def reconstruct(self, frames: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
        """Every frame redrawn from frame 0 with its own (absolute) keypoints; see :meth:`render`."""
        kp = self.keypoints(frames)
        return self.render(frames[0], _slice(kp, 0, 1), kp)

    def best_frame(self, kp_source: Keypoints, kp_driving: Keypoints) -> int:
        """Index of the driving frame whose keypoint *shape* is closest to the source's.

        Shapes are the keypoints centred and divided by the square root of their convex hull area
        (:func:`genlmk.geometry.keypoints.normalized_shape`), compared by summed squared distance.
        """
        source = normalized_shape(kp_source.value)
        driving = normalized_shape(kp_driving.value)
        return int((driving - source).pow(2).sum(dim=(1, 2)).argmin())

    def animate(
        self,
        source: np.ndarray,
        driving: Sequence[np.ndarray],
        relative: bool = False,
        adapt_scale: bool = False,
        best_frame: bool = False,
    ) -> tuple[Iterator[np.ndarray], int]:
        """Animate ``source`` with the motion of ``driving``.

        Args:
            source: (H, W, 3) uint8.
            driving: the driving frames.
            relative: transfer keypoint *displacements* relative to an initial driving frame
                (:func:`relative_keypoints`) instead of absolute keypoint positions.
            adapt_scale: scale the displacements by the ratio of keypoint hull sizes (relative mode).
            best_frame: in relative mode, take as initial frame the driving frame whose keypoints
                are closest in shape to the source's (:meth:`best_frame`) rather than frame 0.

        Returns:
            (frames, initial): an iterator over the output frames, one per driving frame, and the
            index of the initial driving frame used (0 unless ``best_frame``).
        """
        kp_source = self.keypoints([source])
        kp_driving = self.keypoints(driving)
        initial = self.best_frame(kp_source, kp_driving) if best_frame else 0
        if relative:
            first = _slice(kp_driving, initial, initial + 1)  # broadcasts against all driving frames
            kp_driving = relative_keypoints(kp_source, kp_driving, first, adapt_scale=adapt_scale)
        return self.render(source, kp_source, kp_driving), initial
