"""A tiny landmarks checkpoint with random weights, and frames to run it on (no training needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, atomic_torch_save
from genlmk.networks.deformation import build_landmarker
from genlmk.template import Template, load_template

TINY_LANDMARKER = {"channels": [4, 8, 8, 8], "hidden": 16, "coords": True}
TINY_HEATMAP_LANDMARKER = {"channels": [4, 8, 8, 8], "hidden": 8, "head": "heatmap"}
TINY_ANTIALIASED_HEATMAP_LANDMARKER = {**TINY_HEATMAP_LANDMARKER, "antialias": True}


def tiny_landmarks_checkpoint(
    path: Path,
    template: Template | None = None,
    image_size: tuple[int, int] = (32, 32),
    seed: int = 0,
    landmarker: dict | None = None,
) -> Path:
    """Write a ``landmarks`` checkpoint as ``genlmk fit`` lays it out (the parts the landmarker
    reads), with a last layer large enough that the landmarks move with the image."""
    template = template or load_template("face")
    landmarker = landmarker or TINY_LANDMARKER
    torch.manual_seed(seed)
    points = torch.as_tensor(template.rescaled(image_size).points, dtype=torch.float32)
    network = build_landmarker(landmarker, points, image_size)
    last = network.heatmaps.logits if landmarker.get("head") == "heatmap" else network.regressor[-1]
    torch.nn.init.normal_(last.weight, std=5.0)
    if network.has_visibility:  # flags that vary with the image, some below 0.5
        torch.nn.init.normal_(network.visibility.weight, std=5.0)
        torch.nn.init.zeros_(network.visibility.bias)
    checkpoint = {
        KIND_KEY: "landmarks",
        TEMPLATE_KEY: template.to_dict(),
        "hyper_parameters": {"image_size": list(image_size), "landmarker": dict(landmarker)},
        "state_dict": {f"landmarker.{k}": v for k, v in network.state_dict().items()},
    }
    atomic_torch_save(checkpoint, path)
    return path


def random_frames(count: int, height: int = 48, width: int = 40, seed: int = 0) -> np.ndarray:
    """(count, height, width, 3) uint8 smooth random frames (blocky noise, so resizing keeps content)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (count, height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, 8, axis=1), 8, axis=2)[:, :height, :width].copy()
