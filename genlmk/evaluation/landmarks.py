"""Scoring predicted landmarks against ground truth: NME and flicker (see genlmk.metrics.landmarks)."""

from __future__ import annotations

import fnmatch
import warnings
from pathlib import Path

import numpy as np

from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.landmark_files import read_landmarks, read_visibility
from genlmk.data.realistic_face import read_visibility_csv, visibility_path
from genlmk.errors import ConfigError, InputDataError
from genlmk.geometry.polylines import line_tangents
from genlmk.metrics.landmarks import (
    box_diagonal,
    flicker,
    flicker_along_across,
    mean_signed_error,
    motion_gain,
    nme,
)
from genlmk.template import Template


def _group(names: list[str], pattern: str, source: str) -> list[int]:
    matched = [i for i, name in enumerate(names) if fnmatch.fnmatchcase(name, pattern)]
    if not matched:
        raise ConfigError(f"--norm: {pattern!r} matches no landmark of {source}")
    return matched


def normalizer(gt: np.ndarray, names: list[str], norm: str | None, source: str) -> tuple[np.ndarray, str]:
    """Per-frame normaliser (F,) and its description.

    ``norm`` is ``None`` (ground-truth box diagonal) or ``"A,B"``: the distance between landmarks
    ``A`` and ``B``, where each side may be a glob pattern standing for the centre of the landmarks
    it matches (``eye_r_*,eye_l_*`` is the distance between the two eye centres).
    """
    if not norm:
        return box_diagonal(gt), "ground-truth box diagonal"
    parts = [p.strip() for p in norm.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"--norm must be NAME_A,NAME_B (globs allowed), got {norm!r}")
    a = gt[:, _group(names, parts[0], source)].mean(axis=1)
    b = gt[:, _group(names, parts[1], source)].mean(axis=1)
    return np.linalg.norm(a - b, axis=-1), f"distance {parts[0]} - {parts[1]}"


def evaluate_landmark_files(
    pred_path: str | Path, gt_path: str | Path, norm: str | None = None, template: Template | None = None
) -> dict:
    """Compare predicted landmarks (``.csv``, COCO ``.json`` or ``.npz``, see
    :func:`genlmk.data.landmark_files.read_landmarks`) with a ground-truth CSV, frame by frame.

    Frames are matched by number; every ground-truth frame and landmark must be predicted.
    Flicker and motion gain use the pairs of consecutive frame numbers.

    Args:
        template: optional; its lines (landmarks matched by name) split the scores per line, and
            the flicker into its parts along and across the lines.

    Returns:
        ``{"frames", "landmarks", "nme_percent", "bias_x_px", "bias_y_px", "flicker_percent",
        "motion_gain", "normalizer",
        "pred", "gt"}``; when a ``<set>_visible.csv`` lies beside a ``<set>_gt.csv`` (photo-face
        footage) also :func:`visibility_scores`, and when the predictions carry visibility (a
        landmarker with visibility; every COCO file has ``v``) :func:`visibility_flag_scores`
        (flicker and gain NaN without consecutive frames, gain NaN without motion);
        with a template also ``"along_percent"``, ``"across_percent"`` and ``"lines"``, one
        ``{"line", "points", "nme_percent", "flicker_percent", "along_percent", "across_percent",
        "motion_gain"}`` per template line.
    """
    gt, names, gt_frames = read_landmark_csv(gt_path)
    pred, _, pred_frames = read_landmarks(pred_path, names)
    position = {f: i for i, f in enumerate(pred_frames)}
    missing = [f for f in gt_frames if f not in position]
    if missing:
        raise InputDataError(
            f"{pred_path}: no prediction for frame {missing[0]} of {gt_path} ({len(missing)} missing)"
        )
    pred = pred[[position[f] for f in gt_frames]]
    lacking = np.isnan(pred).any(axis=(0, 2)) & ~np.isnan(gt).all(axis=(0, 2))
    if lacking.any():
        raise InputDataError(f"{pred_path}: landmark {names[int(np.argmax(lacking))]!r} is not predicted")
    scale, description = normalizer(gt, names, norm, str(gt_path))
    frames = np.array(gt_frames)
    consecutive = np.flatnonzero(np.diff(frames) == 1)
    tangents = lines = None
    if template is not None:
        lines = template_lines_in(template, names, str(gt_path))
        tangents = line_tangents(gt, lines)
    result = {
        "pred": str(pred_path),
        "gt": str(gt_path),
        "frames": len(gt_frames),
        "landmarks": len(names),
        "normalizer": description,
        **landmark_scores(pred, gt, scale, consecutive, tangents),
    }
    flags = visibility_path(gt_path)
    if flags.is_file():
        visible = read_visibility_csv(flags, names, gt_frames)
        result.update(visibility_scores(pred, gt, scale, visible))
        predicted = read_visibility(pred_path, names)
        if predicted is not None:
            result.update(visibility_flag_scores(predicted[[position[f] for f in gt_frames]], visible))
    if template is not None:
        result["lines"] = []
        for k, line in enumerate(lines):
            idx = sorted(set(line))
            scores = landmark_scores(pred[:, idx], gt[:, idx], scale, consecutive, tangents[:, idx])
            result["lines"].append({"line": _line_label(template, k), "points": len(idx), **scores})
    return result


def visibility_scores(pred: np.ndarray, gt: np.ndarray, scale: np.ndarray, visible: np.ndarray) -> dict:
    """NME of the visible and of the hidden landmarks apart (the normaliser stays the whole face's).

    Args:
        pred, gt: (F, N, 2) pixels. scale: (F,) normaliser. visible: (F, N) bool.

    Returns:
        ``{"visible_fraction", "nme_visible_percent", "nme_hidden_percent"}``; an NME is NaN where
        no landmark is in its group.
    """
    scores = {"visible_fraction": float(visible.mean())}
    for key, group in (("nme_visible_percent", visible), ("nme_hidden_percent", ~visible)):
        masked = np.where(group[..., None], gt, np.nan)
        with warnings.catch_warnings():  # frames without a landmark in the group are left out
            warnings.simplefilter("ignore", RuntimeWarning)
            scores[key] = nme(pred, masked, scale) if group.any() else float("nan")
    return scores


def visibility_flag_scores(predicted: np.ndarray, visible: np.ndarray, threshold: float = 0.5) -> dict:
    """How well predicted visibility tells hidden landmarks from visible ones.

    A landmark is predicted hidden where its visibility is below ``threshold``; NaN predictions
    (frames where the subject was lost) are left out.

    Args:
        predicted: (F, N) visibility in [0, 1]. visible: (F, N) bool ground truth.

    Returns:
        ``{"visibility_accuracy", "hidden_recall", "hidden_precision", "predicted_hidden_fraction"}``
        in [0, 1]: the share of landmarks whose flag is right, the share of hidden landmarks
        predicted hidden, the share of those predicted hidden that are, and the share predicted
        hidden; recall is NaN without hidden landmarks, precision without any predicted hidden.
    """
    nan = float("nan")
    known = np.isfinite(predicted)
    if not known.any():
        return dict.fromkeys(
            ("visibility_accuracy", "hidden_recall", "hidden_precision", "predicted_hidden_fraction"), nan
        )
    said_hidden = predicted[known] < threshold
    hidden = ~np.asarray(visible, dtype=bool)[known]
    both = float((said_hidden & hidden).sum())
    return {
        "visibility_accuracy": float((said_hidden == hidden).mean()),
        "hidden_recall": both / hidden.sum() if hidden.any() else nan,
        "hidden_precision": both / said_hidden.sum() if said_hidden.any() else nan,
        "predicted_hidden_fraction": float(said_hidden.mean()),
    }


def landmark_scores(
    pred: np.ndarray,
    gt: np.ndarray,
    scale: np.ndarray,
    consecutive: np.ndarray,
    tangents: np.ndarray | None = None,
) -> dict:
    """NME, mean signed error (pixels), flicker and motion gain; with ``tangents`` (F, N, 2) also
    flicker along and across them."""
    nan = float("nan")
    bias_x, bias_y = mean_signed_error(pred, gt)
    scores = {
        "nme_percent": nme(pred, gt, scale),
        "bias_x_px": float(bias_x),
        "bias_y_px": float(bias_y),
        "flicker_percent": nan,
        "motion_gain": nan,
    }
    if tangents is not None:
        scores.update(along_percent=nan, across_percent=nan)
    if len(consecutive):
        scores["flicker_percent"] = flicker(pred, gt, scale, consecutive)
        scores["motion_gain"] = motion_gain(pred, gt, consecutive)
        if tangents is not None:
            along, across = flicker_along_across(pred, gt, scale, tangents, consecutive)
            scores.update(along_percent=along, across_percent=across)
    return scores


def template_lines_in(template: Template, names: list[str], source: str) -> list[list[int]]:
    """The template's lines as columns of a landmark file with landmark ``names`` (matched by name).

    Raises:
        ConfigError: a template landmark is not in the file (``source`` names it).
    """
    missing = [name for name in template.names if name not in names]
    if missing:
        raise ConfigError(
            f"--template {template.source}: landmark {missing[0]!r} is not in {source} "
            f"({len(missing)} of {len(template.names)} missing)"
        )
    columns = [names.index(name) for name in template.names]
    return [[columns[i] for i in line] for line in template.lines]


def _line_label(template: Template, k: int) -> str:
    """A line's part name, or its index and end landmarks (``#0 jaw_00..jaw_16``)."""
    if template.parts[k]:
        return template.parts[k]
    line = template.lines[k]
    last = line[-2] if template.is_closed(k) else line[-1]
    return f"#{k} {template.names[line[0]]}..{template.names[last]}"
