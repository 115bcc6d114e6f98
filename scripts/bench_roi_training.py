"""Training from large frames with ``data.roi auto`` against training on the same frames pre-cropped.

1. Two smooth-motion clips of the cartoon face (``--size`` px renders; one marked, one unmarked)
   and held-out test frames, drawn by :class:`genlmk.data.synthetic.SyntheticSubject`;
2. the clips pasted on ``--canvas`` videos (default 1920x1080) where the subject moves across
   the frame, framed differently in the two sessions (``--marked-side``, ``--unmarked-side`` px),
   and those videos pre-cropped as by hand: their decoded frames cut at the pasted squares and
   resized to ``--size`` (the same pixels the roi run crops from, framed by the truth);
3. ``genlmk fit`` (cpu preset, ``--steps``) on the small clips, and on the large videos with
   ``--data.roi auto``, the same seed;
4. both checkpoints on the same test frames: NME (% of the box diagonal), mean signed error (px),
   and the training time;
5. both checkpoints as a user runs them on a new 1080p video: ``genlmk predict --roi auto`` on a
   third canvas clip (``--test-side`` px subject, ``--test`` frames), NME in frame pixels (% of the
   box diagonal) and the frames lost.

Usage:
    .venv/bin/python scripts/bench_roi_training.py --out runs/bench_roi [--steps 400] [--frames 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_landmarks import train
from bench_predict import track_video

from genlmk.data.canvas import canvas_background, moving_boxes, place_on_canvas
from genlmk.data.images import resize_rgb
from genlmk.data.synthetic import MotionRange, SyntheticSubject
from genlmk.data.video import VideoWriter, iter_video_frames
from genlmk.geometry.boxes import crop_image, crop_to_frame
from genlmk.inference.landmarker import Landmarker
from genlmk.metrics.landmarks import box_diagonal, nme
from genlmk.template import load_template

ROOT = Path(__file__).resolve().parents[1]


def write_clips(out: Path, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write ``small_{marked,unmarked}.mp4``, their ``large_*.mp4`` canvas versions, the template
    and ``large_test.mp4``; returns (T, size, size, 3) test frames, (T, N, 2) their ground truth
    and (T, N, 2) the ground truth of ``large_test.mp4`` in its frame pixels."""
    subject = SyntheticSubject(load_template("face"), args.size, seed=args.seed)
    subject.template.save(out / "template.yaml")
    rng = np.random.default_rng(args.seed + 1)
    for name, marked, side, phase in (
        ("marked", True, args.marked_side, 0.0),
        ("unmarked", False, args.unmarked_side, 2.0),
    ):
        poses = subject.clip_poses(rng, MotionRange(), args.frames, moving=True)
        boxes = moving_boxes(args.frames, args.canvas, side, phase=phase)
        background = canvas_background(args.canvas, np.random.default_rng(args.seed + len(name)), args.block)
        with VideoWriter(out / f"large_{name}.mp4", fps=25.0) as large:
            for pose, box in zip(poses, boxes, strict=True):
                image, _ = subject.render(pose, rng, marked=marked)
                large.write(place_on_canvas(image, background, box, rng))
        # pre-cropped as by a user who crops the same videos by hand: the decoded frames, cut at
        # the pasted squares (the same pixels the roi run crops from, only framed by the truth)
        with VideoWriter(out / f"small_{name}.mp4", fps=25.0) as small:
            for frame, box in zip(iter_video_frames(out / f"large_{name}.mp4"), boxes, strict=True):
                small.write(resize_rgb(crop_image(frame, box), (args.size, args.size)))
    tests = [
        subject.render(subject.random_pose(rng, MotionRange()), rng, marked=False) for _ in range(args.test)
    ]
    # as fast as bench_predict's clip: one sweep across the canvas in 1000 frames
    boxes = moving_boxes(args.test, args.canvas, args.test_side, phase=4.0, sweeps=args.test / 1000)
    background = canvas_background(args.canvas, np.random.default_rng(args.seed + 3), args.block)
    in_frame = []
    with VideoWriter(out / "large_test.mp4", fps=25.0) as writer:
        for pose, box in zip(
            subject.clip_poses(rng, MotionRange(), args.test, moving=True), boxes, strict=True
        ):
            image, truth = subject.render(pose, rng, marked=False)
            writer.write(place_on_canvas(image, background, box, rng))
            in_frame.append(crop_to_frame(truth[None], box[None], (args.size, args.size))[0])
    return (
        np.stack([image for image, _ in tests]),
        np.stack([truth for _, truth in tests]),
        np.stack(in_frame),
    )


def fit(out: Path, marked: Path, unmarked: Path, args: argparse.Namespace, *extra: str) -> tuple[Path, float]:
    return train(
        out,
        [
            "fit",
            "--config",
            str(ROOT / "configs/landmarks/cpu.yaml"),
            "--data.marked",
            str(marked),
            "--data.unmarked",
            str(unmarked),
            "--model.template",
            str(marked.parent / "template.yaml"),
            "--model.image_size",
            f"[{args.size}, {args.size}]",
            "--trainer.max_steps",
            str(args.steps),
            "--seed_everything",
            str(args.seed),
            "--trainer.logger.init_args.save_dir",
            str(out),
            *extra,
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--frames", type=int, default=300, help="frames per training clip")
    parser.add_argument("--test", type=int, default=100, help="held-out test frames")
    parser.add_argument("--size", type=int, default=128, help="model input and small clips, px")
    parser.add_argument("--canvas", type=lambda s: tuple(int(v) for v in s.split("x")), default=(1920, 1080))
    parser.add_argument("--marked-side", type=int, default=420, help="subject side in the large marked video")
    parser.add_argument(
        "--unmarked-side", type=int, default=340, help="subject side in the large unmarked video"
    )
    parser.add_argument(
        "--block",
        type=int,
        default=64,
        help="the backdrop's colour blocks, px (a room's scale, not a speckle's)",
    )
    parser.add_argument(
        "--test-side", type=int, help="subject side in the large test video (default: between the two)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-data", action="store_true", help="write the footage and stop")
    args = parser.parse_args()
    if args.test_side is None:
        args.test_side = (args.marked_side + args.unmarked_side) // 2
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    images, truth, test_truth = write_clips(data, args)
    if args.only_data:
        return
    rows = []
    for label, prefix, extra in (
        ("1080p + data.roi auto", "large", ("--data.roi", "auto")),
        ("pre-cropped clips", "small", ()),
    ):
        checkpoint, seconds = fit(
            args.out / prefix, data / f"{prefix}_marked.mp4", data / f"{prefix}_unmarked.mp4", args, *extra
        )
        predicted = Landmarker.from_checkpoint(checkpoint).predict(images)
        signed = (predicted - truth).mean(axis=(0, 1))
        tracked, found, _ = track_video(checkpoint, data / "large_test.mp4", args.out / prefix / "tracked")
        tracked_error = nme(tracked[found], test_truth[found], box_diagonal(test_truth[found]))
        rows.append(
            (
                label,
                nme(predicted, truth, box_diagonal(truth)),
                signed,
                tracked_error,
                len(found) - found.sum(),
                seconds / 60,
            )
        )
    print(
        f"\n{args.steps} steps, {args.frames} frames per clip, {args.test} test frames, canvas {args.canvas}"
    )
    print(
        f"{'training footage':<24} {'test NME %':>10} {'bias x/y px':>14} "
        f"{'1080p --roi auto NME %':>22} {'lost':>5} {'minutes':>8}"
    )
    for label, error, signed, tracked_error, lost, minutes in rows:
        print(
            f"{label:<24} {error:>10.3f} {signed[0]:>+7.2f}/{signed[1]:<+6.2f} "
            f"{tracked_error:>22.3f} {lost:>5d} {minutes:>8.1f}"
        )


if __name__ == "__main__":
    main()
