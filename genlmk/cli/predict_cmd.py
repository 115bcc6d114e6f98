"""``genlmk predict``: run a trained landmarker on footage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from genlmk.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "predict",
        help="run a trained landmarker on a video or frames: landmark files and an overlay video",
        description="Writes OUT/landmarks.csv (frame,name,x,y in pixels of the input frames; frames in "
        "decode order or sorted file-name order, from 0), optionally landmarks.json (COCO keypoints) and "
        "landmarks.npz, and OUT/overlay.mp4. With --smooth, the filtered landmarks go to "
        "landmarks_smoothed.* next to the model's own. A folder of several videos or frame folders "
        "gives one OUT/<name>/ each.",
    )
    parser.add_argument("--ckpt", required=True, help="landmarks checkpoint from genlmk fit")
    parser.add_argument("--input", required=True, help="video, folder of frames, or folder of either")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per batch (64)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    parser.add_argument("--no-overlay", action="store_true", help="skip the overlay video")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the network first (needs a C++ compiler; tens of seconds once per run, "
        "then about 2x the heatmap preset's network frames/s on a CPU): for long footage",
    )
    parser.add_argument(
        "--formats", default="csv", help="landmark files, comma-separated: csv, coco, npz (csv)"
    )
    crop = parser.add_mutually_exclusive_group()
    crop.add_argument(
        "--crop",
        metavar="X,Y,W,H",
        help="look only at this box of every frame (pixels, top-left corner and size)",
    )
    crop.add_argument("--boxes", metavar="FILE", help="a box per frame: CSV with columns frame,x,y,w,h")
    parser.add_argument(
        "--roi",
        choices=("none", "auto"),
        default=None,
        help="auto: find the subject, then crop every frame around it (frames where it is lost are "
        "written as missing); none: --crop/--boxes or whole frames (default: as the model was "
        "trained, data.roi; none for models that do not say)",
    )
    parser.add_argument(
        "--roi-margin",
        type=float,
        default=0.0,
        help="auto: extra context per side of the crop, share of the side the landmarker was trained "
        "on (0: framed like the training inputs)",
    )
    parser.add_argument(
        "--roi-min-size",
        type=float,
        default=0.15,
        help="auto: smallest subject to look for, share of the frame's short side, in (0, 1] (0.15)",
    )
    parser.add_argument(
        "--roi-smoothing",
        type=float,
        default=0.6,
        help="auto: weight of the past in the crop's filter, [0, 1) (0.6)",
    )
    parser.add_argument(
        "--smooth",
        choices=("none", "one-euro"),
        default="none",
        help="temporal filter for landmarks_smoothed.*",
    )
    parser.add_argument("--min-cutoff", type=float, default=1.0, help="one-euro: cutoff at rest, Hz (1.0)")
    parser.add_argument(
        "--beta", type=float, default=0.05, help="one-euro: cutoff increase per pixel/s of speed (0.05)"
    )
    parser.add_argument("--d-cutoff", type=float, default=1.0, help="one-euro: speed cutoff, Hz (1.0)")
    parser.set_defaults(func=run)


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` -> a (4,) int64 box, rounded to whole pixels.

    Raises:
        ConfigError: not four finite numbers, or a box smaller than one pixel.
    """
    from genlmk.geometry.boxes import check_boxes

    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not np.isfinite(values).all():
        raise ConfigError(f"--crop: expected x,y,w,h (four numbers), got {text!r}")
    return check_boxes(np.array(values)[None], "--crop")[0]


def options_from_args(args: argparse.Namespace):
    """The :class:`genlmk.inference.predict.PredictOptions` the command line asks for."""
    from genlmk.data.boxes import read_box_csv
    from genlmk.inference.outputs import parse_formats
    from genlmk.inference.predict import PredictOptions
    from genlmk.inference.smoothing import OneEuroSettings

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    smoothing = None
    if args.smooth == "one-euro":
        try:
            smoothing = OneEuroSettings(args.min_cutoff, args.beta, args.d_cutoff)
        except ValueError as exc:
            raise ConfigError(f"--smooth one-euro: {exc}") from None
    if args.roi != "none" and (args.crop or args.boxes):
        raise ConfigError(f"--roi {args.roi}: give either --roi or --crop/--boxes, not both")
    if (
        not 0.0 <= args.roi_smoothing < 1.0
        or not args.roi_margin >= 0.0
        or not 0.0 < args.roi_min_size <= 1.0
    ):
        raise ConfigError(
            f"--roi-smoothing must be in [0, 1), --roi-margin at least 0 and --roi-min-size in (0, 1], "
            f"got {args.roi_smoothing}, {args.roi_margin}, {args.roi_min_size}"
        )
    crop = parse_box(args.crop) if args.crop else read_box_csv(args.boxes) if args.boxes else None
    return PredictOptions(
        batch_size=args.batch_size,
        formats=parse_formats(args.formats),
        overlay=not args.no_overlay,
        crop=crop,
        smoothing=smoothing,
        roi=args.roi,
        roi_margin=args.roi_margin,
        roi_smoothing=args.roi_smoothing,
        roi_min_size=args.roi_min_size,
    )


def roi_as_trained(args: argparse.Namespace, training_roi: str | None) -> str:
    """``--roi`` as given, else as the model was trained: a model trained on crops around the
    part (``data.roi auto``) mis-reads whole frames, so it gets crops unless told otherwise."""
    boxes_given = bool(args.crop or args.boxes)
    if args.roi is None:
        if training_roi == "auto" and not boxes_given:
            print(f"genlmk: {args.ckpt} was trained on crops around the part (data.roi auto): --roi auto")
            return "auto"
        return "none"
    if args.roi == "none" and training_roi == "auto" and not boxes_given:
        print(
            f"genlmk: warning: {args.ckpt} was trained on crops around the part (data.roi auto); "
            "whole frames will be framed unlike its training inputs (use --roi auto or --crop/--boxes)",
            file=sys.stderr,
        )
    return args.roi


def run(args: argparse.Namespace) -> int:
    from genlmk.data.footage import find_footage
    from genlmk.inference.landmarker import Landmarker
    from genlmk.inference.predict import predict_footage

    landmarker = Landmarker.from_checkpoint(args.ckpt, device=args.device)
    args.roi = roi_as_trained(args, landmarker.training_roi)
    options = options_from_args(args)
    if options.roi == "auto" and landmarker.appearance is None:
        print(
            f"genlmk: warning: {args.ckpt} predates subject search by appearance; --roi auto falls back "
            "to ranking the landmarker's answers, which can lock onto background (retrain to find "
            "subjects reliably)",
            file=sys.stderr,
        )
    if args.compile:
        seconds = landmarker.compile(options.batch_size)
        print(f"compiled the landmark network for batches of {options.batch_size} in {seconds:.1f} s")
    footages = find_footage(args.input)
    if args.boxes and len(footages) > 1:
        raise ConfigError(
            f"--boxes {args.boxes}: one box file fits one video or frame folder, not {len(footages)}"
        )
    out = Path(args.out)
    for footage in footages:
        target = out if len(footages) == 1 else out / footage.name
        count = predict_footage(landmarker, footage, target, options)
        print(f"{footage.name}: {count} frames -> {target}")
    return 0
