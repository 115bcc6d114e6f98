"""``genlmk synth``: write synthetic marked / unmarked footage with ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genlmk.data.realistic_face import PhotoSynthConfig, PoseRange, write_photo_face_dataset
from genlmk.data.synthetic import MotionRange, SynthConfig, write_synthetic_dataset
from genlmk.errors import ConfigError
from genlmk.template import load_template


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "synth",
        help="write synthetic unpaired marked/unmarked frames, a test set and two clips, with ground truth",
    )
    parser.add_argument(
        "--subject",
        choices=("cartoon", "photo-face"),
        default="cartoon",
        help="cartoon: a drawn 2D subject for any template (fast); photo-face: a real face photo lifted "
        "to 3D, turned, talking, two capture sessions, with visibility flags (face template only)",
    )
    parser.add_argument("--template", help="template YAML or built-in name (face, hand, ...); cartoon only")
    parser.add_argument("--yaw", type=float, default=PoseRange().yaw, help="photo-face: max head yaw, deg")
    parser.add_argument("--out", required=True, help="output folder")
    defaults = SynthConfig()
    parser.add_argument("--size", type=int, default=defaults.size, help="frame size in pixels (square)")
    parser.add_argument("--train", type=int, default=defaults.train_marked, help="frames per training set")
    parser.add_argument("--test", type=int, default=defaults.test, help="held-out test frames")
    parser.add_argument(
        "--train-video", type=int, help="frames of the unmarked training video (default: --train)"
    )
    parser.add_argument("--clip-frames", type=int, default=defaults.clip_frames, help="frames per clip")
    parser.add_argument(
        "--rotation", type=float, default=defaults.motion.rotation_deg, help="max rotation, deg"
    )
    parser.add_argument(
        "--scale", type=float, default=defaults.motion.scale, help="max relative scale change"
    )
    parser.add_argument(
        "--shift", type=float, default=defaults.motion.shift, help="max shift, fraction of size"
    )
    parser.add_argument(
        "--warp", type=float, default=defaults.motion.warp, help="non-rigid amplitude, fraction"
    )
    parser.add_argument(
        "--noise", type=float, help="sensor noise std, fraction of 255 (default: the subject's)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.set_defaults(func=run)


def _footage_counts(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`FootageCounts` fields the command line sets (the subject's noise unless given)."""
    counts = {
        "size": args.size,
        "train_marked": args.train,
        "train_unmarked": args.train,
        "test": args.test,
        "train_video": args.train_video,
        "clip_frames": args.clip_frames,
        "seed": args.seed,
    }
    if args.noise is not None:
        counts["noise"] = args.noise
    return counts


def run(args: argparse.Namespace) -> int:
    if args.subject == "photo-face":
        return _run_photo_face(args)
    if args.template is None:
        raise ConfigError("synth: --template is required for the cartoon subject")
    template = load_template(args.template)
    config = SynthConfig(
        **_footage_counts(args), motion=MotionRange(args.rotation, args.scale, args.shift, args.warp)
    )
    summary = write_synthetic_dataset(template, Path(args.out), config)
    counts = ", ".join(f"{k} {v}" for k, v in summary.items())
    print(f"wrote {args.out}: {counts} frames (ground truth in *_gt.csv)")
    return 0


def _run_photo_face(args: argparse.Namespace) -> int:
    if args.template not in (None, "face"):
        raise ConfigError(f"synth: the photo-face subject uses the face template, not {args.template}")
    config = PhotoSynthConfig(**_footage_counts(args), motion=PoseRange(yaw=args.yaw))
    summary = write_photo_face_dataset(Path(args.out), config)
    counts = ", ".join(f"{k} {v}" for k, v in summary.items())
    print(f"wrote {args.out}: {counts} frames (ground truth in *_gt.csv, visibility in *_visible.csv)")
    return 0
