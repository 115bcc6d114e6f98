"""Landmark accuracy and temporal stability (pure functions on arrays or tensors).

Conventions (see the reference facts): NME is the mean Euclidean error divided by a
per-frame normaliser (the ground-truth bounding-box diagonal, or the distance between two named
landmarks such as the eye centres), in percent. Flicker (LDEQ, CVPR 2023) is the change of the
error vector between consecutive frames, per keypoint, scaled by the subject size, RMS over
keypoints, then RMS over frame transitions, in percent. On a static subject it is pure jitter.
Split along and across the template's lines (:func:`flicker_along_across`), it tells a landmark
sliding along its line (which a line's own paint cannot pin down) from one leaving it.
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
    return _rms_percent(_error_changes(pred, gt, normalizer, starts) ** 2)


def _error_changes(
    pred: np.ndarray, gt: np.ndarray, normalizer: np.ndarray, starts: np.ndarray | None
) -> np.ndarray:
    """(T, N, 2) change of the error vector over each transition, in units of the subject size."""
    _check(pred, gt, normalizer)
    if pred.shape[0] < 2:
        raise ValueError("flicker needs at least two frames")
    starts = _starts(len(gt), starts)
    error = pred - gt
    size = 0.5 * (normalizer[starts + 1] + normalizer[starts])
    return (error[starts + 1] - error[starts]) / size[:, None, None]


def _rms_percent(squared: np.ndarray) -> float:
    """``100 * sqrt(mean_t mean_n squared)`` of (T, N, 2) squared components, NaN ignored."""
    per_transition = np.nanmean(squared.sum(axis=-1), axis=1)
    return float(100.0 * np.sqrt(np.nanmean(per_transition)))


def flicker_along_across(
    pred: np.ndarray,
    gt: np.ndarray,
    normalizer: np.ndarray,
    tangents: np.ndarray,
    starts: np.ndarray | None = None,
) -> tuple[float, float]:
    """:func:`flicker` split into its part along the landmarks' lines and its part across them.

    Args:
        pred, gt, normalizer, starts: as in :func:`flicker`.
        tangents: (F, N, 2) unit line directions
            (:func:`genlmk.geometry.polylines.line_tangents` of ``gt``); each transition
            ``t -> t+1`` is split along frame t's.

    Returns:
        ``(along, across)`` in percent, with ``along**2 + across**2 == flicker**2`` when every
        landmark has a direction (landmarks without one are left out of both).
    """
    change = _error_changes(pred, gt, normalizer, starts)
    direction = tangents[_starts(len(gt), starts)]
    along = np.sum(change * direction, axis=-1, keepdims=True)
    across = np.sum(change * direction[..., ::-1] * np.array([1.0, -1.0]), axis=-1, keepdims=True)
    return _rms_percent(along**2), _rms_percent(across**2)


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


def mean_signed_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The systematic offset of predictions, ``mean(pred - gt)`` per axis, in pixels.

    Args:
        pred, gt: (F, N, 2) pixels; NaN in ``gt`` marks landmarks without ground truth.

    Returns:
        (2,) ``(x, y)`` bias: positive x means predictions sit right of the truth, positive y below.
    """
    _check_pair(pred, gt)
    return np.nanmean((pred - gt).reshape(-1, 2), axis=0)
