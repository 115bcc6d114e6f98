"""Keeping the points of a line in their template order.

A closed line (an eye, a lip) drawn from any of its points covers the same strokes, so the
paint chamfer, the spring potential and the adversarial terms all accept landmarks that have
slid round the line: each point sits where its neighbour belongs, along the whole line or along
a stretch of it. An open line's ends are held by the ends of its strokes, but its points can
still slide along a stretch of it, bunched before and spread after. This term gives the ordering
cue they lack: each point of the line, taken relative to the line's centroid, must be clearly
nearer its own place in the template than either neighbour's place. It is a hinge, zero while
the order is right, so expressions that change a line's shape are left to the other terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def similarity_to_template(landmarks: Tensor, template_points: Tensor) -> Tensor:
    """The rotation and scale that best map the centred template onto the centred landmarks.

    Least squares over all landmarks (2-D orthogonal Procrustes with scale), as the complex
    factor ``z = a + ib``: template offset ``(u, v)`` maps to ``(a u - b v, b u + a v)``.

    Args:
        landmarks: (B, N, 2) predicted landmarks, pixels.
        template_points: (N, 2) template landmarks, pixels.

    Returns:
        (B, 2) ``(a, b)`` per image.
    """
    predicted = landmarks - landmarks.mean(dim=1, keepdim=True)
    template = template_points - template_points.mean(dim=0)
    tx, ty = template[:, 0], template[:, 1]
    px, py = predicted[..., 0], predicted[..., 1]
    energy = (template**2).sum()
    a = (tx * px + ty * py).sum(dim=1) / energy
    b = (tx * py - ty * px).sum(dim=1) / energy
    return torch.stack((a, b), dim=-1)


def line_order_loss(
    landmarks: Tensor,
    template_points: Tensor,
    lines: Sequence[Tensor],
    closed: Sequence[bool],
    ratio: float = 0.5,
) -> Tensor:
    """Hinge on each point of a line being nearer its own template place than a neighbour's.

    For a line with points ``p_k`` and template points ``t_k`` (k = 0..K-1), both taken relative
    to the line's centroid, the template's offsets are first rotated and scaled like the whole
    face (:func:`similarity_to_template`, detached: the term does not turn the face). With
    ``e_s(k) = |p_k - t_(k+s)|^2``, the loss is ``max(0, e_0(k) - ratio * min(e_1(k), e_-1(k)))``,
    averaged over points, lines and images: each point must be at least ``1 / sqrt(ratio)`` times
    nearer its own place than either neighbour's, which also catches a slide along part of a
    line. A closed line's neighbours wrap round (index ``k + s`` modulo K); an open line's end
    points have one neighbour each (a slide along an open line, its ends held by the strokes,
    bunches the points on one side and spreads them on the other).

    Args:
        landmarks: (B, N, 2) predicted landmarks, pixels.
        template_points: (N, 2) template landmarks, pixels.
        lines: each line's distinct landmark indices in order (long tensors of length K >= 2;
            a closed line without its repeated first index, length K >= 3).
        closed: for each line, whether it is closed.
        ratio: in (0, 1); smaller asks for a clearer margin.

    Returns:
        Scalar, pixels squared (0 when there is no line).
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be in (0, 1), got {ratio}")
    if len(lines) != len(closed):
        raise ValueError(f"{len(lines)} lines but {len(closed)} closed flags")
    if not lines:
        return landmarks.sum() * 0.0
    a, b = similarity_to_template(landmarks, template_points).detach().unbind(-1)
    a, b = a[:, None], b[:, None]
    losses = []
    for line, is_closed in zip(lines, closed):
        predicted = landmarks[:, line]
        predicted = predicted - predicted.mean(dim=1, keepdim=True)  # (B, K, 2)
        offsets = template_points[line] - template_points[line].mean(dim=0)  # (K, 2)
        u, v = offsets[:, 0], offsets[:, 1]
        expected = torch.stack((a * u - b * v, b * u + a * v), dim=-1)  # (B, K, 2)
        own = _squared_distance(predicted, expected)  # (B, K)
        previous = _squared_distance(predicted, expected.roll(1, dims=1))
        following = _squared_distance(predicted, expected.roll(-1, dims=1))
        if not is_closed:
            # an open line does not wrap: its first point has no previous neighbour, its last no next
            previous = torch.cat((torch.full_like(previous[:, :1], torch.inf), previous[:, 1:]), dim=1)
            following = torch.cat((following[:, :-1], torch.full_like(following[:, :1], torch.inf)), dim=1)
        losses.append(torch.relu(own - ratio * torch.minimum(previous, following)).mean(dim=1))
    return torch.stack(losses).mean()


def _squared_distance(first: Tensor, second: Tensor) -> Tensor:
    """(..., 2), (..., 2) -> (...) squared distances."""
    return ((first - second) ** 2).sum(-1)
