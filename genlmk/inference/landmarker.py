"""Running a trained landmarker: a checkpoint in, landmarks in pixels of your frames out.

Only the landmark deformation network and the template are read from the checkpoint (no
Lightning, no generator or discriminators), so prediction is light and exportable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genlmk.checkpoints import APPEARANCE_KEY, TEMPLATE_KEY, TRAINING_ROI_KEY, load_checkpoint
from genlmk.data.images import resize_rgb
from genlmk.errors import CheckpointError, ConfigError, InputDataError
from genlmk.geometry.boxes import crop_image, crop_to_frame, whole_frame_boxes
from genlmk.geometry.subject_search import Appearance
from genlmk.networks.deformation import LandmarkDeformationNet, build_landmarker
from genlmk.template import Template

_PREFIX = "landmarker."

Frames = np.ndarray | Sequence[np.ndarray]


def frame_size(frames: Frames) -> tuple[int, int]:
    """``(width, height)`` of (B, H, W, 3) uint8 frames, or of a sequence of (H, W, 3) uint8 frames.

    Raises:
        InputDataError: not uint8 RGB, or frames of different sizes in one sequence.
    """
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise InputDataError(f"frames must be (B, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        return int(frames.shape[2]), int(frames.shape[1])
    kinds = {(frame.shape, str(frame.dtype)) for frame in frames}
    if not kinds:
        return 0, 0
    shape, dtype = next(iter(kinds))
    if len(kinds) > 1 or len(shape) != 3 or shape[-1] != 3 or dtype != "uint8":
        raise InputDataError(f"frames must be (H, W, 3) uint8 of one size, got {sorted(kinds)}")
    return int(shape[1]), int(shape[0])


class Landmarker:
    """A trained landmark detector.

    Attributes:
        network: the deformation network (input: model-size images).
        template: the template as authored (names, lines, marker).
        image_size: model input ``(width, height)``.
        device: where the network runs.
        appearance: what the subject looks like in the training inputs
            (:class:`~genlmk.geometry.subject_search.Appearance`), or None for checkpoints
            written before genlmk kept it.
        training_roi: how its training frames were framed (``data.roi``: ``auto`` = crops
            around the part, ``none`` = whole frames), or None when the checkpoint does not say.

    Example:
        >>> landmarker = Landmarker.from_checkpoint("runs/landmarks/last.ckpt")
        >>> landmarks = landmarker.predict(frames)   # (B, H, W, 3) uint8 -> (B, N, 2) pixels
        >>> landmarks, visible = landmarker.predict_with_visibility(frames)  # visible (B, N) or None
        >>> in_box = landmarker.predict(frames, boxes)  # crops (B, 4) x,y,w,h; frame pixels out
        >>> seconds = landmarker.compile(batch_size=64)  # optional: torch.compile, faster after
    """

    def __init__(
        self,
        network: LandmarkDeformationNet,
        template: Template,
        device: str | torch.device = "cpu",
        appearance: Appearance | None = None,
        training_roi: str | None = None,
    ):
        self.network = network.eval().to(device)
        self.template = template
        self.image_size = network.image_size
        self.device = torch.device(device)
        self.appearance = appearance
        self.training_roi = training_roi
        self._outputs: Callable[[Tensor], tuple[Tensor, Tensor | None]] = network.landmarks_and_visibility
        self._batch_size: int | None = None  # set by compile: every batch is padded to it

    def compile(self, batch_size: int, backend: str | Callable = "inductor") -> float:
        """Compile the network (``torch.compile``) for batches of ``batch_size``; returns the seconds taken.

        Compiling happens here (on a batch of zeros), not in the first :meth:`predict`, so a
        failure shows before any output is written. Afterwards every batch is cut into pieces of
        ``batch_size`` and the last piece padded with copies of its last image, so a single
        compiled graph serves any number of frames. On a 2-core CPU the inductor backend compiles
        for tens of seconds and then runs the heatmap preset about twice as fast (docs/benchmarks.md): worth
        it for long footage, not for a few frames.

        Raises:
            ConfigError: the backend failed (e.g. inductor finds no C++ compiler).
        """
        from torch._dynamo.exc import BackendCompilerFailed

        if batch_size < 1:
            raise ConfigError(f"compile: batch_size must be at least 1, got {batch_size}")
        compiled = torch.compile(self.network.landmarks_and_visibility, backend=backend, dynamic=False)
        width, height = self.image_size
        start = time.perf_counter()
        try:
            with torch.inference_mode():
                compiled(torch.zeros(batch_size, 3, height, width, device=self.device))
        except BackendCompilerFailed as exc:
            cause = getattr(exc, "inner_exception", None) or exc
            reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            name = getattr(backend, "__name__", backend)
            raise ConfigError(f"torch.compile ({name}) failed: {reason}; run without compiling") from None
        self._outputs = compiled
        self._batch_size = batch_size
        return time.perf_counter() - start

    @property
    def has_visibility(self) -> bool:
        """Whether the network predicts each landmark's visibility."""
        return self.network.has_visibility

    def run_network(self, images: Tensor) -> Tensor:
        """(B, N, 2) landmarks in model-input pixels for model-size images (B, 3, h, w) in [0, 1].

        Runs the compiled network after :meth:`compile` (batches cut and padded to its size).
        """
        return self.run_network_with_visibility(images)[0]

    def run_network_with_visibility(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """:meth:`run_network`'s landmarks and the visibility (B, N) in [0, 1], or None for a
        network without visibility."""
        if self._batch_size is None or len(images) == 0:
            return self._outputs(images)
        pieces = []
        for piece in images.split(self._batch_size):
            missing = self._batch_size - len(piece)
            padded = torch.cat((piece, piece[-1:].expand(missing, -1, -1, -1))) if missing else piece
            landmarks, visible = self._outputs(padded)
            pieces.append((landmarks[: len(piece)], None if visible is None else visible[: len(piece)]))
        landmarks = torch.cat([landmarks for landmarks, _ in pieces])
        visible = None if pieces[0][1] is None else torch.cat([visible for _, visible in pieces])
        return landmarks, visible

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> Landmarker:
        """Load a ``landmarks`` checkpoint written by ``genlmk fit``.

        Raises:
            CheckpointError: missing or unreadable file, another kind of model, or missing parts.
        """
        checkpoint = load_checkpoint(path, kind="landmarks")
        try:
            hparams = checkpoint["hyper_parameters"]
            template = Template.from_dict(checkpoint[TEMPLATE_KEY], source=f"{path} (template)")
            image_size = (int(hparams["image_size"][0]), int(hparams["image_size"][1]))
            state = {
                k[len(_PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(_PREFIX)
            }
            stored = checkpoint.get(APPEARANCE_KEY)
            appearance = None if stored is None else Appearance.from_dict(stored)
        except (KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{path}: landmarks checkpoint lacks {exc}") from None
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        points = torch.as_tensor(template.rescaled(image_size).points, dtype=torch.float32)
        network = build_landmarker(hparams.get("landmarker") or {}, points, image_size)
        try:
            network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{path}: landmark network does not load ({str(exc).splitlines()[0]})"
            ) from None
        return cls(network, template, device, appearance, checkpoint.get(TRAINING_ROI_KEY))

    def prepare(self, frames: Frames, boxes: np.ndarray | None = None) -> Tensor:
        """The model input for frames, or for crops of them.

        Args:
            frames: (B, H, W, 3) uint8 RGB, or a sequence of B (H, W, 3) uint8 RGB frames of one
                size (no stacked copy needed: for large frames that copy costs more than the
                network).
            boxes: optional (B, 4) whole-pixel crop boxes ``x, y, w, h`` in frame pixels
                (:mod:`genlmk.geometry.boxes`); default: whole frames.

        Returns:
            (B, 3, h, w) float32 RGB in [0, 1] at the model input size (each frame or crop
            resized with :func:`genlmk.data.images.resize_rgb`, as in training).
        """
        frame_size(frames)
        if boxes is not None and np.shape(boxes) != (len(frames), 4):
            raise InputDataError(f"boxes must be ({len(frames)}, 4), got {np.shape(boxes)}")
        width, height = self.image_size
        resized = np.empty((len(frames), height, width, 3), dtype=np.uint8)
        for index, frame in enumerate(frames):
            region = frame if boxes is None else crop_image(frame, boxes[index])
            resized[index] = resize_rgb(region, (width, height))
        # channels first while still uint8: the one copy is a quarter of a float one
        batch = torch.from_numpy(resized).to(self.device).permute(0, 3, 1, 2).contiguous()
        return batch.float().div_(255.0)

    def predict(self, frames: Frames, boxes: np.ndarray | None = None) -> np.ndarray:
        """Landmarks of frames (B, H, W, 3) uint8 RGB, optionally found in crops of them.

        Args:
            frames: (B, H, W, 3) uint8 RGB, or a sequence of B such frames of one size.
            boxes: optional (B, 4) crop boxes ``x, y, w, h`` in frame pixels; each crop is
                resized to the model input, and the landmarks are mapped back.

        Returns:
            (B, N, 2) float64 ``(x, y)`` in pixels of the given frames (corner origin).
        """
        return self.predict_with_visibility(frames, boxes)[0]

    @torch.inference_mode()
    def predict_with_visibility(
        self, frames: Frames, boxes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`predict`'s landmarks and their visibility: (B, N) float64 in [0, 1], the
        probability that each landmark's paint shows (hidden landmarks are still placed, where
        they lie under the surface), or None for a landmarker without visibility."""
        if boxes is None:
            boxes = whole_frame_boxes(len(frames), frame_size(frames))
        landmarks, visible = self.run_network_with_visibility(self.prepare(frames, boxes))
        points = crop_to_frame(landmarks.cpu().numpy(), boxes, self.image_size)
        return points, None if visible is None else visible.cpu().numpy().astype(np.float64)
