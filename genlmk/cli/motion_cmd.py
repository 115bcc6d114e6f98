"""``genlmk reconstruct`` and ``genlmk animate``: run a motion-transfer model on footage."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from genlmk.data.footage import find_footage
from genlmk.data.images import read_image, write_image
from genlmk.data.video import VideoWriter, is_video_path
from genlmk.errors import ConfigError, InputDataError, OutputError

CKPT_HELP = (
    "genlmk motion checkpoint (genlmk fit) or a released First Order Motion Model file (vox-cpk.pth.tar)"
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--batch-size", type=int, default=4, help="frames per network pass (default 4)")


def register(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser(
        "reconstruct",
        help="redraw videos from their first frame and each frame's keypoints; report L1",
        description="Frame 0 of each video is the source; every frame is driven with its absolute keypoints. "
        "Writes OUT/<video>/<frame>.png and OUT/reconstruction.csv (per-video and mean L1, pixels in [0, 1], "
        "next to the L1 of just copying frame 0).",
    )
    _common(rec)
    rec.add_argument("--input", required=True, help="a video, a frame folder, or a folder of them")
    rec.add_argument("--out", required=True, help="output folder")
    rec.set_defaults(func=run_reconstruct)

    ani = sub.add_parser(
        "animate",
        help="animate a still image with the motion of a driving video",
        description="Animate SOURCE with the motion of DRIVING. Frames are resized to the model's frame size "
        "(256 px for released models).",
    )
    _common(ani)
    ani.add_argument("--source", required=True, help="the image to animate")
    ani.add_argument("--driving", required=True, help="driving video or frame folder")
    ani.add_argument("--out", required=True, help="OUT.mp4 (any video suffix) or a folder for PNG frames")
    ani.add_argument(
        "--relative",
        action="store_true",
        help="transfer keypoint motion relative to an initial driving frame (keeps the source's shape) "
        "instead of absolute keypoint positions",
    )
    ani.add_argument(
        "--adapt-scale",
        action="store_true",
        help="with --relative: scale the motion by the ratio of the keypoints' convex hull areas",
    )
    ani.add_argument(
        "--best-frame",
        action="store_true",
        help="with --relative: start from the driving frame whose keypoints are closest in shape to "
        "the source's (keypoints from this model's own detector, centred and normalized by hull area; "
        "no face-alignment library needed)",
    )
    ani.set_defaults(func=run_animate)


def _load(args: argparse.Namespace):
    from genlmk.inference.motion import MotionTransfer

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    return MotionTransfer.from_checkpoint(args.ckpt, device=args.device, batch_size=args.batch_size)


def run_reconstruct(args: argparse.Namespace) -> int:
    from genlmk.inference.motion import to_uint8

    model = _load(args)
    out = Path(args.out)
    rows = []
    for footage in find_footage(args.input):
        frames = model.prepare(list(footage.frames()))
        truth = frames.astype(np.float32) / 255.0
        errors = []
        for index, predicted in enumerate(model.reconstruct(frames)):
            errors.append(float(np.abs(predicted - truth[index]).mean()))
            write_image(out / footage.name / f"{index:05d}.png", to_uint8(predicted))
        copy = float(np.abs(truth - truth[:1]).mean())
        rows.append((footage.name, len(frames), float(np.mean(errors)), copy))
        print(f"{footage.name}: {len(frames)} frames, L1 {rows[-1][2]:.4f} (copying frame 0: {copy:.4f})")
    mean_l1, mean_copy = (float(np.mean([r[i] for r in rows])) for i in (2, 3))
    try:
        with open(out / "reconstruction.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["video", "frames", "l1", "l1_copy_source"])
            writer.writerows([(n, f, f"{a:.6f}", f"{b:.6f}") for n, f, a, b in rows])
            writer.writerow(["mean", sum(r[1] for r in rows), f"{mean_l1:.6f}", f"{mean_copy:.6f}"])
    except OSError as exc:
        raise OutputError(f"{out / 'reconstruction.csv'}: cannot write ({exc.strerror or exc})") from None
    print(f"mean over {len(rows)} videos: L1 {mean_l1:.4f} (copying frame 0: {mean_copy:.4f}); wrote {out}")
    return 0


def run_animate(args: argparse.Namespace) -> int:
    from genlmk.inference.motion import to_uint8

    if (args.adapt_scale or args.best_frame) and not args.relative:
        raise ConfigError("--adapt-scale and --best-frame only apply with --relative")
    footage = find_footage(args.driving)
    if len(footage) != 1:
        raise InputDataError(
            f"{args.driving}: expected one driving video or frame folder, found {len(footage)}"
        )
    model = _load(args)
    driving = model.prepare(list(footage[0].frames()))
    frames, initial = model.animate(
        read_image(args.source), driving, args.relative, args.adapt_scale, args.best_frame
    )
    if args.best_frame:
        print(f"best frame: {initial} (driving frame closest in keypoint shape to the source)")
    out = Path(args.out)
    if is_video_path(out):
        with VideoWriter(out, fps=footage[0].fps) as writer:
            for frame in frames:
                writer.write(to_uint8(frame))
    else:
        for index, frame in enumerate(frames):
            write_image(out / f"{index:05d}.png", to_uint8(frame))
    print(f"wrote {out} ({len(driving)} frames)")
    return 0
