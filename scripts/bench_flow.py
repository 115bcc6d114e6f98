"""How well the flow loss's optical flow moves ground-truth landmarks from frame t to frame t+1.

The flow loss can only make a landmarker as steady as its flow is right: its target for frame t+1 is
frame t's landmarks carried by the flow. This prints, for each OpenCV method and Farneback window,
``100 * sqrt(mean ||GT(t) + flow(GT(t)) - GT(t+1)||^2 / s^2)`` over a video with ground truth
(``s``: the ground-truth box diagonal), the same normalisation as the flicker metric, next to the
ground truth's own frame-to-frame motion.

Usage:
    .venv/bin/python scripts/bench_flow.py --video runs/synth_face/train_unmarked_video.mp4
    (ground truth: VIDEO's stem + _gt.csv beside it, or --gt FILE; --windows 15 31 41)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.video import read_video
from genlmk.geometry.flow import dense_flow
from genlmk.losses.temporal import sample_at
from genlmk.metrics.landmarks import box_diagonal


def rms_percent(displacement: np.ndarray, gt: np.ndarray) -> float:
    """RMS length of per-transition displacements (F-1, N, 2), percent of the box diagonal of ``gt``
    (F, N, 2), averaged over the two frames of each transition as in the flicker metric."""
    size = 0.5 * (box_diagonal(gt[1:]) + box_diagonal(gt[:-1]))
    return float(100 * np.sqrt(np.mean(np.sum(displacement**2, axis=-1).mean(axis=1) / size**2)))


def flow_error_percent(frames: torch.Tensor, gt: np.ndarray, method: str, window: int) -> float:
    """frames: (F, 3, H, W) in [0, 1]; gt: (F, N, 2) pixels. RMS error in percent of the box diagonal."""
    points = torch.as_tensor(gt, dtype=torch.float32)
    moved = []
    for start in range(0, len(frames) - 1, 32):
        stop = min(start + 32, len(frames) - 1)
        flow = dense_flow(frames[start:stop], frames[start + 1 : stop + 1], method, window)
        moved.append(points[start:stop] + sample_at(flow, points[start:stop]))
    return rms_percent(torch.cat(moved).numpy() - gt[1:], gt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="runs/synth_face/train_unmarked_video.mp4")
    parser.add_argument("--gt", help="ground-truth CSV (default: VIDEO stem + _gt.csv)")
    parser.add_argument("--windows", type=int, nargs="+", default=[15, 21, 31, 41])
    args = parser.parse_args()
    video = Path(args.video)
    gt, _, _ = read_landmark_csv(args.gt or video.with_name(f"{video.stem}_gt.csv"))
    frames = torch.from_numpy(read_video(video)).permute(0, 3, 1, 2).float().div(255.0)
    if len(frames) != len(gt):
        raise SystemExit(f"{video}: {len(frames)} frames but {len(gt)} in its ground truth")
    motion = rms_percent(gt[1:] - gt[:-1], gt)
    print(f"{video}: {len(frames)} frames, ground-truth motion {motion:.3f} % per frame (RMS)")
    print(f"{'method':10s} {'window':>6s} {'flow error %':>13s}")
    for window in args.windows:
        print(f"{'farneback':10s} {window:6d} {flow_error_percent(frames, gt, 'farneback', window):13.3f}")
    print(f"{'dis':10s} {'-':>6s} {flow_error_percent(frames, gt, 'dis', 15):13.3f}")


if __name__ == "__main__":
    main()
