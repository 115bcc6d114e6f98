"""Landmark accuracy and temporal stability (pure functions on arrays or tensors).

Conventions (see the reference facts): NME is the mean Euclidean error divided by a
per-frame normaliser (the ground-truth bounding-box diagonal, or the distance between two named
landmarks such as the eye centres), in percent. Flicker (LDEQ, CVPR 2023) is the change of the
error vector between consecutive frames, per keypoint, scaled by the subject size, RMS over
keypoints, then RMS over frame transitions, in percent. On a static subject it is pure jitter.
"""

from __future__ import annotations

import numpy as np


def box_diagonal(gt: np.ndarray) -> np.ndarray:
    """Diagonal of each frame's ground-truth bounding box. gt: (F, N, 2) -> (F,)."""
    lo = np.nanmin(gt, axis=1)
    hi = np.nanmax(gt, axis=1)
    return np.linalg.norm(hi - lo, axis=-1)


def pair_distance(gt: np.ndarray, a: int, b: int) -> np.ndarray:
    """Distance between landmarks ``a`` and ``b`` in each frame. gt: (F, N, 2) -> (F,)."""
    return np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred and gt must both be (F, N, 2); got {pred.shape} and {gt.shape}")


def _check(pred: np.ndarray, gt: np.ndarray, normalizer: np.ndarray) -> None:
    _check_pair(pred, gt)
    if normalizer.shape != (gt.shape[0],):
        raise ValueError(f"normalizer must be ({gt.shape[0]},), got {normalizer.shape}")
    if not np.all(normalizer > 0):
        raise ValueError("normalizer must be positive in every frame")


def nme(pred: np.ndarray, gt: np.ndarray, normalizer: np.ndarray) -> float:
    """Normalised mean error in percent.

    Args:
        pred, gt: (F, N, 2) pixels; NaN in ``gt`` marks landmarks without ground truth.
        normalizer: (F,) pixels.

    Returns:
        ``100 * mean_f( mean_n ||pred - gt|| / normalizer_f )`` over valid landmarks.
    """
    _check(pred, gt, normalizer)
    error = np.linalg.norm(pred - gt, axis=-1) / normalizer[:, None]
    return float(100.0 * np.nanmean(np.nanmean(error, axis=1)))


def _starts(frames: int, starts: np.ndarray | None) -> np.ndarray:
    """The frame indices ``t`` of the transitions ``t -> t+1`` to use: ``starts``, or every one."""
    return np.arange(frames - 1) if starts is None else np.asarray(starts)


def flicker(
    pred: np.ndarray, gt: np.ndarray, normalizer: np.ndarray, starts: np.ndarray | None = None
) -> float:
    """Temporal flicker in percent of the subject size.

    Args:
        pred, gt: (F, N, 2) pixels of one clip's frames (F >= 2).
        normalizer: (F,) subject size per frame, pixels.
        starts: (T,) frame indices ``t`` whose pair ``(t, t+1)`` is consecutive; default every t.

    Returns:
        ``100 * sqrt(mean_t mean_n ||e_{t+1,n} - e_{t,n}||^2 / s_t^2)`` with ``e = pred - gt``
        and ``s_t`` the mean subject size of the two frames.
    """
    _check(pred, gt, normalizer)
    if pred.shape[0] < 2:
        raise ValueError("flicker needs at least two frames")
    starts = _starts(len(gt), starts)
    error = pred - gt
    change = np.linalg.norm(error[starts + 1] - error[starts], axis=-1)  # (T, N)
    size = 0.5 * (normalizer[starts + 1] + normalizer[starts])
    per_transition = np.nanmean(change**2, axis=1) / size**2
    return float(100.0 * np.sqrt(np.nanmean(per_transition)))


def motion_gain(pred: np.ndarray, gt: np.ndarray, starts: np.ndarray | None = None) -> float:
    """How much of the true frame-to-frame motion the predictions follow.

    The least-squares slope of the predicted motion on the ground truth's,
    ``sum <dp, dg> / sum ||dg||^2`` with ``dp = pred[t+1] - pred[t]`` and ``dg`` likewise: 1 when
    landmarks move exactly as the subject does, below 1 when they lag or damp the motion (a cause
    of flicker on moving footage that a static clip cannot show), above 1 when they overshoot.

    Args:
        pred, gt: (F, N, 2) pixels; NaN in ``gt`` marks landmarks without ground truth.
        starts: (T,) frame indices ``t`` whose pair ``(t, t+1)`` is consecutive; default every t.

    Returns:
        The slope, or NaN where the ground truth does not move.
    """
    _check_pair(pred, gt)
    starts = _starts(len(gt), starts)
    moved_pred = pred[starts + 1] - pred[starts]
    moved_gt = gt[starts + 1] - gt[starts]
    valid = np.isfinite(moved_gt).all(axis=-1)
    power = float(np.sum(moved_gt[valid] ** 2))
    if power == 0.0:
        return float("nan")
    return float(np.sum(moved_pred[valid] * moved_gt[valid]) / power)
