"""Spring potential: neighbouring template points keep their template spacing."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def spring_loss(landmarks: Tensor, template_points: Tensor, edges: Tensor, stiffness: float = 1.0) -> Tensor:
    """Spring potential ``K * mean_edges (|p_i - p_j| - |t_i - t_j|)^2``, averaged over the batch.

    The mean over edges (rather than the paper's sum) keeps ``K`` comparable across templates
    with different numbers of edges.

    Args:
        landmarks: (B, N, 2) predicted landmarks, pixels.
        template_points: (N, 2) template landmarks, pixels.
        edges: (E, 2) long, neighbouring landmark pairs (``Template.edges``).
        stiffness: the spring constant K.

    Returns:
        Scalar, pixels squared times K.
    """
    if landmarks.ndim != 3 or landmarks.shape[1:] != template_points.shape:
        raise ValueError(
            f"landmarks must be (B, {template_points.shape[0]}, 2), got {tuple(landmarks.shape)}"
        )
    i, j = edges[:, 0], edges[:, 1]
    rest = torch.linalg.vector_norm(template_points[i] - template_points[j], dim=-1)
    # eps keeps the gradient finite if two landmarks coincide
    length = torch.sqrt(((landmarks[:, i] - landmarks[:, j]) ** 2).sum(-1) + 1e-12)
    return stiffness * ((length - rest) ** 2).mean()


class SpringLoss(nn.Module):
    """Module form of :func:`spring_loss`; holds the template's rest state."""

    def __init__(self, template_points: Tensor, edges: Tensor, stiffness: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("template_points", torch.as_tensor(template_points, dtype=torch.float32))
        self.register_buffer("edges", torch.as_tensor(edges, dtype=torch.long))
        self.stiffness = stiffness

    def forward(self, landmarks: Tensor) -> Tensor:
        return spring_loss(landmarks, self.template_points, self.edges, self.stiffness)
