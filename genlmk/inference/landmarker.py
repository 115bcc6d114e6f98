"""Running a trained landmarker: a checkpoint in, landmarks in pixels of your frames out.

Only the landmark deformation network and the template are read from the checkpoint (no
Lightning, no generator or discriminators), so prediction is light and exportable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genlmk.checkpoints import TEMPLATE_KEY, load_checkpoint
from genlmk.data.images import resize_rgb
from genlmk.errors import CheckpointError, InputDataError
from genlmk.networks.deformation import LandmarkDeformationNet, build_landmarker
from genlmk.template import Template

_PREFIX = "landmarker."


class Landmarker:
    """A trained landmark detector.

    Attributes:
        network: the deformation network (input: model-size images).
        template: the template as authored (names, lines, marker).
        image_size: model input ``(width, height)``.
        device: where the network runs.

    Example:
        >>> landmarker = Landmarker.from_checkpoint("runs/landmarks/last.ckpt")
        >>> landmarks = landmarker.predict(frames)   # (B, H, W, 3) uint8 -> (B, N, 2) pixels
    """

    def __init__(
        self, network: LandmarkDeformationNet, template: Template, device: str | torch.device = "cpu"
    ):
        self.network = network.eval().to(device)
        self.template = template
        self.image_size = network.image_size
        self.device = torch.device(device)

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
        except (KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{path}: landmarks checkpoint lacks {exc}") from None
        points = torch.as_tensor(template.rescaled(image_size).points, dtype=torch.float32)
        network = build_landmarker(hparams.get("landmarker") or {}, points, image_size)
        try:
            network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{path}: landmark network does not load ({str(exc).splitlines()[0]})"
            ) from None
        return cls(network, template, device)

    def prepare(self, frames: np.ndarray) -> tuple[Tensor, np.ndarray]:
        """Frames (B, H, W, 3) uint8 -> model input (B, 3, h, w) in [0, 1], and the per-frame
        (B, 2) factors that take model pixels back to frame pixels."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise InputDataError(f"frames must be (B, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        width, height = self.image_size
        resized = np.stack([resize_rgb(frame, (width, height)) for frame in frames])
        batch = torch.from_numpy(resized).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        scale = np.array([frames.shape[2] / width, frames.shape[1] / height])
        return batch, np.broadcast_to(scale, (len(frames), 2))

    @torch.inference_mode()
    def predict(self, frames: np.ndarray) -> np.ndarray:
        """Landmarks (B, N, 2) in pixels of the given frames (B, H, W, 3) uint8 RGB."""
        batch, scale = self.prepare(frames)
        landmarks = self.network.landmarks(batch).cpu().numpy().astype(np.float64)
        return landmarks * scale[:, None, :]
