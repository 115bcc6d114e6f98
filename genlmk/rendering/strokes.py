"""Sampling the template's lines into the ink samples that make up painted strokes."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


class StrokeSampling(NamedTuple):
    """Where along which segment each ink sample sits (fixed by the template).

    Sample ``k`` lies at ``(1 - t[k]) * p[start[k]] + t[k] * p[end[k]]`` and stands for the
    fraction ``share[k]`` of its segment's length. All tensors have shape (S,).
    """

    start: Tensor
    end: Tensor
    t: Tensor
    share: Tensor


def sample_segments(points: np.ndarray, edges: np.ndarray, spacing: float) -> StrokeSampling:
    """Place ink samples along every segment, about ``spacing`` pixels apart.

    Each segment of template length ``L`` gets ``ceil(L / spacing)`` samples at the midpoints
    of equal sub-segments (midpoint rule), so the ink line integral is exact for straight strokes.

    Args:
        points: (N, 2) template landmarks, pixels.
        edges: (E, 2) landmark index pairs.
        spacing: target distance between samples, pixels (> 0).
    """
    starts, ends, ts, shares = [], [], [], []
    for a, b in edges:
        length = float(np.linalg.norm(points[b] - points[a]))
        count = max(1, math.ceil(length / spacing))
        starts.append(np.full(count, a))
        ends.append(np.full(count, b))
        ts.append((np.arange(count) + 0.5) / count)
        shares.append(np.full(count, 1.0 / count))
    return StrokeSampling(
        start=torch.from_numpy(np.concatenate(starts)).long(),
        end=torch.from_numpy(np.concatenate(ends)).long(),
        t=torch.from_numpy(np.concatenate(ts)).float(),
        share=torch.from_numpy(np.concatenate(shares)).float(),
    )


def ink_samples(
    landmarks: Tensor, sampling: StrokeSampling, visibility: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Positions and ink amounts of the samples for a batch of landmark sets.

    Args:
        landmarks: (B, N, 2) pixels.
        sampling: from :func:`sample_segments` (on the same device).
        visibility: optional (B, N) in [0, 1], how much of each landmark's paint shows; each
            sample's ink is scaled by the visibility interpolated between its segment's two
            endpoints (:func:`sample_visibility`), so a line fades out towards its hidden points.
            None: every landmark fully visible.

    Returns:
        positions: (B, S, 2) pixels.
        lengths: (B, S) ink of each sample: the arc length it stands for, pixels (follows the
            current, deformed segment lengths, so a stretched stroke keeps its density), times
            its visibility.
    """
    a = landmarks[:, sampling.start]
    b = landmarks[:, sampling.end]
    t = sampling.t[None, :, None]
    positions = a + t * (b - a)
    # eps keeps the gradient finite when two landmarks coincide
    lengths = torch.sqrt(((b - a) ** 2).sum(-1) + 1e-12) * sampling.share
    if visibility is not None:
        lengths = lengths * sample_visibility(visibility, sampling)
    return positions, lengths


def sample_visibility(visibility: Tensor, sampling: StrokeSampling) -> Tensor:
    """Each sample's visibility (B, S): its segment's endpoint visibilities (B, N) interpolated
    linearly at the sample's place ``t`` along the segment."""
    start, end = visibility[:, sampling.start], visibility[:, sampling.end]
    # written so that equal ends give exactly their value: all-ones visibility leaves ink unchanged
    return start + sampling.t[None, :] * (end - start)
