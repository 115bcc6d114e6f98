"""How well the flow loss's optical flow moves ground-truth landmarks from frame t to frame t+1.

The flow loss can only make a landmarker as steady as its flow is right: its target for frame t+1 is
frame t's landmarks carried by the flow. This prints, for each OpenCV method and Farneback window,
``100 * sqrt(mean ||GT(t) + flow(GT(t)) - GT(t+1)||^2 / s^2)`` over a video with ground truth
(``s``: the ground-truth box diagonal), the same normalisation as the flicker metric, next to the
ground truth's own frame-to-frame motion.

With ``--template`` it also prints the flow's *along-line gain*, the least-squares slope of the flow's
motion along each landmark's template line on the true one (below 1: the flow falls short along
the lines, the aperture problem), and both figures again for the motion that the flow loss uses with
``model.losses.flow.aperture`` on, its default (the along-line part from an affine motion fitted
across the lines; every landmark counted as trusted here).

Usage:
    .venv/bin/python scripts/bench_flow.py --video runs/synth_face/train_unmarked_video.mp4 \
        --template runs/synth_face/template.yaml
    (ground truth: VIDEO's stem + _gt.csv beside it, or --gt FILE; --windows 15 31 41)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.video import read_video
from genlmk.errors import GenlmkError
from genlmk.evaluation.landmarks import template_lines_in
from genlmk.geometry.flow import aperture_corrected_motion, dense_flow
from genlmk.geometry.polylines import line_tangents
from genlmk.losses.temporal import sample_at
from genlmk.metrics.landmarks import box_diagonal
from genlmk.template import load_template


def rms_percent(displacement: np.ndarray, gt: np.ndarray) -> float:
    """RMS length of per-transition displacements (F-1, N, 2), percent of the box diagonal of ``gt``
    (F, N, 2), averaged over the two frames of each transition as in the flicker metric."""
    size = 0.5 * (box_diagonal(gt[1:]) + box_diagonal(gt[:-1]))
    return float(100 * np.sqrt(np.mean(np.sum(displacement**2, axis=-1).mean(axis=1) / size**2)))


def flow_motion(frames: torch.Tensor, gt: np.ndarray, method: str, window: int) -> np.ndarray:
    """frames: (F, 3, H, W) in [0, 1]; gt: (F, N, 2) pixels. The flow t -> t+1 at GT(t): (F-1, N, 2)."""
    points = torch.as_tensor(gt, dtype=torch.float32)
    motion = []
    for start in range(0, len(frames) - 1, 32):
        stop = min(start + 32, len(frames) - 1)
        flow = dense_flow(frames[start:stop], frames[start + 1 : stop + 1], method, window)
        motion.append(sample_at(flow, points[start:stop]))
    return torch.cat(motion).numpy()


def along_gain(motion: np.ndarray, true: np.ndarray, tangents: np.ndarray) -> float:
    """Least-squares slope of ``motion``'s along-line part on ``true``'s, landmarks on a line only.

    All (F-1, N, 2); ``tangents`` NaN for a landmark on no line.
    """
    on_line = ~np.isnan(tangents).any(-1)
    estimated = (motion * tangents).sum(-1)[on_line]
    actual = (true * tangents).sum(-1)[on_line]
    return float((estimated * actual).sum() / (actual * actual).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="runs/synth_face/train_unmarked_video.mp4")
    parser.add_argument("--gt", help="ground-truth CSV (default: VIDEO stem + _gt.csv)")
    parser.add_argument("--windows", type=int, nargs="+", default=[15, 21, 31, 41])
    parser.add_argument("--template", help="template (YAML or built-in name) whose lines the landmarks form")
    args = parser.parse_args()
    video = Path(args.video)
    gt_path = args.gt or video.with_name(f"{video.stem}_gt.csv")
    gt, names, _ = read_landmark_csv(gt_path)
    frames = torch.from_numpy(read_video(video)).permute(0, 3, 1, 2).float().div(255.0)
    if len(frames) != len(gt):
        raise SystemExit(f"{video}: {len(frames)} frames but {len(gt)} in its ground truth")
    true = gt[1:] - gt[:-1]
    tangents = None
    if args.template:
        try:
            lines = template_lines_in(load_template(args.template), names, str(gt_path))
        except GenlmkError as error:
            raise SystemExit(f"error: {error}") from None
        tangents = line_tangents(gt[:-1], lines)
    print(f"{video}: {len(frames)} frames, ground-truth motion {rms_percent(true, gt):.3f} % per frame (RMS)")
    header = f"{'method':10s} {'window':>6s} {'flow error %':>13s}"
    if tangents is not None:
        header += f" {'along gain':>11s} {'aperture error %':>17s} {'aperture along gain':>20s}"
    print(header)
    settings = [("farneback", window) for window in args.windows] + [("dis", 15)]
    for method, window in settings:
        motion = flow_motion(frames, gt, method, window)
        shown_window = window if method == "farneback" else "-"
        row = f"{method:10s} {shown_window:>6} {rms_percent(motion - true, gt):13.3f}"
        if tangents is not None:
            corrected = aperture_corrected_motion(
                torch.as_tensor(gt[:-1]),
                torch.as_tensor(motion, dtype=torch.float64),
                torch.as_tensor(tangents),
                torch.ones(true.shape[:2], dtype=torch.bool),
            ).numpy()
            row += f" {along_gain(motion, true, tangents):11.3f} {rms_percent(corrected - true, gt):17.3f}"
            row += f" {along_gain(corrected, true, tangents):20.3f}"
        print(row)


if __name__ == "__main__":
    main()
