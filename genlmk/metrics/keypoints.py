"""Keypoint agreement between real and generated frames: AKD and MKR.

Both compare the keypoints a detector finds in a real frame with those it finds in the generated
frame paired with it (same video, same frame index), as in the motion-transfer evaluation protocol
(Siarohin et al., "First Order Motion Model", and the pose-evaluation scripts that came with it):

- **AKD** (average keypoint distance): per frame, the mean absolute difference per coordinate
  (``|dx|`` and ``|dy|`` averaged, not the Euclidean distance) over the keypoints found in both
  frames; averaged over frames. A frame with no keypoint found in both is skipped (and counted).
  For a face detector that finds all 68 landmarks or nothing, that is the protocol's face AKD
  exactly: frames whose generated face is not found are skipped. Units: pixels of the frames
  given, which the protocol fixes at 256 x 256.
- **MKR** (missing keypoint rate): per frame, the share of the keypoints found in the real frame
  that are missing in the generated one; averaged over frames whose real frame has any keypoint.

Keypoints are (x, y) pixels, x right, y down, the image's top-left corner at (0, 0). ``found`` masks
say which keypoints the detector found; coordinates of keypoints not found are ignored (they may be
NaN).
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlmk.metrics.frame_average import FrameAverage, masked_frame_mean


def _found_masks(
    real: Tensor, fake: Tensor, real_found: Tensor | None, fake_found: Tensor | None
) -> tuple[Tensor, Tensor]:
    if real.ndim != 3 or real.shape[-1] != 2 or real.shape != fake.shape:
        raise ValueError(
            f"real and fake keypoints must both be (B, K, 2); got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    masks = []
    for name, found in (("real_found", real_found), ("fake_found", fake_found)):
        if found is None:
            found = torch.ones(real.shape[:2], dtype=torch.bool, device=real.device)
        elif found.shape != real.shape[:2] or found.dtype != torch.bool:
            raise ValueError(
                f"{name} must be a (B, K) = {tuple(real.shape[:2])} bool tensor; "
                f"got {tuple(found.shape)} {found.dtype}"
            )
        masks.append(found)
    return masks[0], masks[1]


def keypoint_distances(
    real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Per-frame AKD.

    Args:
        real: (B, K, 2) keypoints of the real frames, pixels.
        fake: (B, K, 2) keypoints of the generated frames, pixels.
        real_found: (B, K) bool, keypoints found in the real frames (default: all).
        fake_found: (B, K) bool, keypoints found in the generated frames (default: all).

    Returns:
        distances: (B,) float, mean ``|real - fake|`` over both coordinates of the keypoints found in
            both frames, pixels (0 for frames not scored).
        scored: (B,) bool, frames with at least one keypoint found in both.
    """
    real_found, fake_found = _found_masks(real, fake, real_found, fake_found)
    both = real_found & fake_found
    per_keypoint = (real.float() - fake.float()).abs().mean(dim=-1)  # (B, K)
    per_keypoint = torch.where(both, per_keypoint, torch.zeros_like(per_keypoint))
    count = both.sum(dim=-1)
    return per_keypoint.sum(dim=-1) / count.clamp(min=1), count > 0


def average_keypoint_distance(
    real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
) -> Tensor:
    """AKD over a batch of frame pairs (see :func:`keypoint_distances`); NaN if no frame is scored.

    Example:
        >>> real = torch.zeros(1, 68, 2)
        >>> average_keypoint_distance(real, real + torch.tensor([3.0, 0.0]))
        tensor(1.5000)
    """
    return masked_frame_mean(*keypoint_distances(real, fake, real_found, fake_found))


class AverageKeypointDistance(FrameAverage):
    """AKD accumulated over batches (and processes): :func:`keypoint_distances` averaged over frames.

    ``skipped`` counts the frames with no keypoint found in both frames.

    Example:
        >>> metric = AverageKeypointDistance()
        >>> metric.update(torch.zeros(4, 5, 2), torch.full((4, 5, 2), 2.0))
        >>> metric.compute()
        tensor(2., dtype=torch.float64)
    """

    def update(
        self, real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
    ) -> None:
        """Add a batch: keypoints (B, K, 2) pixels and optional (B, K) bool ``found`` masks."""
        self._accumulate(*keypoint_distances(real, fake, real_found, fake_found))


def missing_keypoint_rates(real_found: Tensor, fake_found: Tensor) -> tuple[Tensor, Tensor]:
    """Per-frame MKR.

    Args:
        real_found: (B, K) bool, keypoints found in the real frames.
        fake_found: (B, K) bool, keypoints found in the generated frames.

    Returns:
        rates: (B,) float in [0, 1], the share of the real frame's keypoints missing in the generated
            frame (0 for frames not scored).
        scored: (B,) bool, frames whose real frame has at least one keypoint.
    """
    if real_found.ndim != 2 or real_found.shape != fake_found.shape:
        raise ValueError(
            f"real_found and fake_found must both be (B, K); "
            f"got {tuple(real_found.shape)} and {tuple(fake_found.shape)}"
        )
    if real_found.dtype != torch.bool or fake_found.dtype != torch.bool:
        raise ValueError(f"found masks must be bool; got {real_found.dtype} and {fake_found.dtype}")
    in_real = real_found.sum(dim=-1)
    lost = (real_found & ~fake_found).sum(dim=-1)
    return lost.float() / in_real.clamp(min=1), in_real > 0


def missing_keypoint_rate(real_found: Tensor, fake_found: Tensor) -> Tensor:
    """MKR over a batch of frame pairs (see :func:`missing_keypoint_rates`); NaN if no frame is scored.

    Example:
        >>> real_found = torch.ones(2, 4, dtype=torch.bool)
        >>> fake_found = torch.tensor([[True, True, True, False], [True, True, True, True]])
        >>> missing_keypoint_rate(real_found, fake_found)
        tensor(0.1250)
    """
    return masked_frame_mean(*missing_keypoint_rates(real_found, fake_found))


class MissingKeypointRate(FrameAverage):
    """MKR accumulated over batches (and processes): :func:`missing_keypoint_rates` averaged over frames.

    ``skipped`` counts the frames whose real frame has no keypoint.
    """

    def update(self, real_found: Tensor, fake_found: Tensor) -> None:
        """Add a batch of (B, K) bool ``found`` masks."""
        self._accumulate(*missing_keypoint_rates(real_found, fake_found))
